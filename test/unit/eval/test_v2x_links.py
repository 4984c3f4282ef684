"""Ground-truth V2X PDR and age of information between CAVs against hand-counted references."""
import pytest

from cav_stack.eval.v2x_links import SETTLE_S, V2xLinkMetrics

STEP = 0.05


def test_pdr_counts_intended_receivers_by_true_distance():
    metrics = V2xLinkMetrics()
    positions = {"a": (0.0, 0.0), "b": (100.0, 0.0), "c": (0.0, 400.0)}
    for k in range(10):                                        # a sends 10 frames, 0.1 s apart
        now = 0.1 * k
        payload = bytes([k])
        delivered = [("a", "b", payload)] + ([("a", "c", payload)] if k % 2 == 0 else [])
        metrics(now, positions, [("a", payload, now)], delivered)
    metrics(1.0 + SETTLE_S + 0.5, positions, [("a", b"late", 2.5)], [])  # too late to count
    summary = metrics.summary()
    assert summary["v2x_pdr"] == 1.0 and summary["v2x_pdr_samples"] == 10     # c is beyond 300 m
    by_distance = summary["v2x_pdr_by_distance"]
    assert by_distance["distance_m"] == [100.0, 400.0]
    assert by_distance["pdr"] == [1.0, 0.5] and by_distance["samples"] == [10, 10]


def test_age_of_information_is_the_sawtooth_of_the_newest_generation_time():
    """Frames generated every 0.1 s and delivered one 0.05 s air step later: the age seen at the
    steps alternates 0.05, 0.10 s; a 1 s outage lets it grow to 1.1 s."""
    metrics = V2xLinkMetrics()
    positions = {"a": (0.0, 0.0), "b": (50.0, 0.0)}
    pending = None
    outage = (3.0, 4.0)
    for k in range(200):
        now = k * STEP
        delivered = [("a", "b", pending)] if pending is not None else []
        sent = []
        pending = None
        if k % 2 == 0:
            payload = k.to_bytes(2, "big")
            sent = [("a", payload, now)]
            if not outage[0] <= now < outage[1]:
                pending = payload
        metrics(now, positions, sent, delivered)
    summary = metrics.summary()
    assert summary["v2x_max_aoi_s"] == pytest.approx(1.1)
    steady = V2xLinkMetrics()
    pending = None
    for k in range(200):
        now = k * STEP
        delivered = [("a", "b", pending)] if pending is not None else []
        pending = k.to_bytes(2, "big") if k % 2 == 0 else None
        steady(now, positions, [("a", pending, now)] if pending else [], delivered)
    assert steady.summary()["v2x_mean_aoi_s"] == pytest.approx(0.075, abs=1e-3)
    assert steady.summary()["v2x_max_aoi_s"] == pytest.approx(0.1)


def test_out_of_range_pairs_are_not_sampled_and_time_must_not_go_back():
    metrics = V2xLinkMetrics()
    far = {"a": (0.0, 0.0), "b": (1000.0, 0.0)}
    metrics(0.0, far, [("a", b"x", 0.0)], [])
    metrics(0.05, far, [], [("a", "b", b"x")])
    assert metrics.summary()["v2x_mean_aoi_s"] is None
    with pytest.raises(ValueError, match="back in time"):
        metrics(0.01, far, [], [])
