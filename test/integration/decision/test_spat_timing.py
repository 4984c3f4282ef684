"""SPaT as the stack sees it (RSU content -> UPER -> v2x_node's SignalTiming) against SUMO's signals."""
import pytest

from cav_stack.world.scenario import load_scenario
from cav_stack.nodes.v2x_node import signal_timing_from_spat
from cav_stack.sim.sumo import SumoWorld
from cav_stack.v2x.codec import decode_frame, encode_spat
from cav_stack.v2x.generation import spat_from_signal
from cav_stack.v2x.geodesy import GeodeticOrigin

ORIGIN = GeodeticOrigin(0.85, 0.12, 0.0)
STATE = {"G": "green", "g": "green", "y": "yellow", "r": "red"}


def test_signal_timing_windows_match_the_sumo_program(tmp_path):
    scenario = load_scenario("signalized_corridor")
    checked = 0
    with SumoWorld(scenario, scenario.seed, cache_dir=tmp_path) as world:
        world.start()
        programs = world.signal_programs()
        tls_ids = tuple(world.road_map().tls_ids())
        states: dict[tuple[str, int], list[tuple[float, str]]] = {}
        snapshots = []
        for _ in range(int(130.0 / world.step_length)):
            truth = world.step()
            for signal in truth.signals:
                for link in (4, 11):              # westbound and eastbound arterial through links
                    states.setdefault((signal.tls_id, link), []).append((truth.stamp, signal.state[link]))
            if round(truth.stamp * 20) % 100 == 0 and truth.stamp < 60.0:
                snapshots.append(truth)
    for truth in snapshots:
        for signal in truth.signals:
            spat = spat_from_signal(signal, now=truth.stamp, intersection_id=tls_ids.index(signal.tls_id),
                                    program=programs[signal.tls_id])
            message = decode_frame(encode_spat(spat), origin=ORIGIN, now=truth.stamp)
            for timing in signal_timing_from_spat(message, tls_ids, truth.stamp):
                if timing.link_index not in (4, 11):
                    continue
                history = states[(timing.intersection, timing.link_index)]
                assert timing.phases[0].start == pytest.approx(truth.stamp, abs=0.1)
                for phase in timing.phases:
                    assert phase.end > phase.start
                    # SUMO shows the predicted state over the whole window (TimeMark: 0.1 s)
                    inside = [STATE[c] for t, c in history if phase.start + 0.15 <= t <= phase.end - 0.15]
                    assert inside and set(inside) == {phase.state}
                    checked += 1
    assert checked > 50
