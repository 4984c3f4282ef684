"""PDR of senders whose rate follows their dynamics (CAM triggers): no phantom losses."""
import pytest

from cav_stack.v2x.link_quality import LinkQualityEstimator, LinkQualityParams

PARAMS = LinkQualityParams(window=1.0, expected_rate=10.0, neighbour_timeout=5.0)


@pytest.mark.parametrize("rate_hz", [5.0, 10.0])
def test_full_delivery_at_any_sender_rate_is_pdr_one(rate_hz):
    estimator = LinkQualityEstimator(PARAMS)
    period = 1.0 / rate_hz
    for k in range(40):
        estimator.on_reception(7, k % 128, k * period, k * period + 0.002)
    for offset in (0.01, 0.5 * period, 0.95 * period):
        now = 39 * period + offset
        assert estimator.quality(7, now).pdr == pytest.approx(1.0)


def test_a_silent_sender_loses_pdr_at_its_own_rate():
    estimator = LinkQualityEstimator(PARAMS)
    for k in range(20):                          # 5 Hz for 4 s, then silence
        estimator.on_reception(7, k, k * 0.2, k * 0.2 + 0.002)
    last = 19 * 0.2
    # window (3.25, 4.25]: receptions generated at 3.4, 3.6, 3.8; 2 more due at 5 Hz by 4.25
    assert estimator.quality(7, last + 0.45).pdr == pytest.approx(3 / 5)
