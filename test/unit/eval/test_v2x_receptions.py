"""BSMs accepted per receiving CAV and sender, from the CAVs' V2X topics."""
from cav_stack.core.messages import Header, V2xFrame, V2xReportList, V2xVehicleReport
from cav_stack.eval.v2x_receptions import V2xReceptions


def frame(station: int, t: float) -> V2xFrame:
    return V2xFrame(Header(t, "map"), station, b"\x00", "BSM")


def reports(t: float, *entries: tuple[int, int, float]) -> V2xReportList:
    """A report list at ``t`` holding (station ID, message count, generation time) reports."""
    return V2xReportList(Header(t, "map"), tuple(V2xVehicleReport(Header(stamp, "map"), station, count, 0.0, 0.0,
                                                                  0.0, 20.0) for station, count, stamp in entries))


def test_a_bsm_counts_once_however_many_lists_repeat_it():
    taps = V2xReceptions()
    taps("/cav_0/v2x/tx", frame(11, 0.1), 0.1)
    taps("/cav_1/v2x/tx", frame(22, 0.1), 0.1)
    taps("/cav_1/v2x/tx", frame(23, 5.0), 5.0)              # a new temporary ID: still cav_1
    taps("/cav_0/v2x/reports", reports(0.15, (22, 1, 0.1)), 0.15)
    taps("/cav_0/v2x/reports", reports(0.2, (22, 1, 0.1)), 0.2)             # the same BSM again
    taps("/cav_0/v2x/reports", reports(0.25, (22, 2, 0.2), (99, 5, 0.2)), 0.25)
    taps("/cav_0/v2x/reports", reports(5.05, (23, 7, 5.0)), 5.05)
    taps("/cav_0/planning/mode", reports(5.1, (22, 3, 5.1)), 5.1)           # not a reports topic
    summary = taps.summary()
    assert summary["cav_0"] == {"station_ids": [11], "accepted_bsms": {"cav_1": 3, "station 99": 1}}
    assert summary["cav_1"] == {"station_ids": [22, 23], "accepted_bsms": {}}
    assert V2xReceptions().summary() == {}
