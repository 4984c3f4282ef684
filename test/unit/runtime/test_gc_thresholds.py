"""The run's garbage-collector thresholds: set inside the block, restored after it (also on error)."""
import gc

import pytest

from cav_stack.runtime.gc_thresholds import RUN_YOUNG_THRESHOLD, run_thresholds


def test_young_threshold_inside_the_run_and_the_previous_ones_after():
    before = gc.get_threshold()
    with run_thresholds():
        assert gc.get_threshold() == (RUN_YOUNG_THRESHOLD, *before[1:])
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), run_thresholds(5_000):
        assert gc.get_threshold()[0] == 5_000
        raise RuntimeError("a run that fails")
    assert gc.get_threshold() == before
