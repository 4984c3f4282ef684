"""String-stability figures: peak speed deviation over a window and the trajectories.csv reader."""
from __future__ import annotations

import numpy as np
import pytest

from cav_stack.control.string_stability import peak_speed_deviation, string_figures


def test_peak_deviation_is_the_largest_excursion_inside_the_window_only():
    t = np.arange(0.0, 10.0, 0.5)
    v = np.full(t.size, 25.0)
    v[(t >= 3.0) & (t < 6.0)] = 19.0          # 6 m/s below, inside the window
    v[t >= 8.0] = 35.0                        # 10 m/s above, after the window
    assert peak_speed_deviation(t, v, 25.0, 2.0, 8.0) == pytest.approx(6.0)
    assert peak_speed_deviation(t, v, 25.0, 0.0, 3.0) == pytest.approx(0.0)
    assert peak_speed_deviation(t, v, 20.0, 0.0, 3.0) == pytest.approx(5.0)


@pytest.mark.parametrize("time, speed, window, message", [
    ([0.0, 1.0], [1.0], (0.0, 2.0), "equal length"),
    ([0.0, 1.0], [1.0, 2.0], (5.0, 6.0), "no samples"),
    ([0.0, 1.0], [1.0, np.nan], (0.0, 2.0), "non-finite"),
])
def test_peak_deviation_rejects_bad_traces(time, speed, window, message):
    with pytest.raises(ValueError, match=message):
        peak_speed_deviation(np.array(time), np.array(speed), 25.0, *window)


def test_string_figures_read_a_run_directory_in_string_order(tmp_path):
    path = tmp_path / "trajectories.csv"
    rows = ["cav_id,time,speed,gap"]
    for t in np.arange(0.0, 4.0, 0.5):
        rows.append(f"a,{t},{25.0 - (2.0 if 1.0 <= t < 2.0 else 0.0)},{30.0 - t}")
        rows.append(f"b,{t},{25.0 - (1.0 if 1.5 <= t < 2.5 else 0.0)},")
    path.write_text("\n".join(rows) + "\n")
    a, b = string_figures(path, ("a", "b"), 25.0, 1.0, 3.0)
    assert (a.vehicle_id, a.peak_speed_deviation, a.min_gap) == ("a", pytest.approx(2.0), pytest.approx(26.5))
    assert (b.vehicle_id, b.peak_speed_deviation, b.min_gap) == ("b", pytest.approx(1.0), float("inf"))
    with pytest.raises(ValueError, match="no trace"):
        string_figures(path, ("a", "c"), 25.0, 1.0, 3.0)
