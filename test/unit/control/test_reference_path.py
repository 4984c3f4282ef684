"""Path-frame geometry of a reference polyline."""
from __future__ import annotations

import numpy as np
import pytest

from cav_stack.control.reference_path import ReferencePath


def _arc(radius=50.0, points=200):
    theta = np.linspace(0.0, np.pi / 2, points)
    return ReferencePath(np.column_stack([radius * np.sin(theta), radius - radius * np.cos(theta)]))


def test_arc_length_curvature_and_heading_of_a_circle():
    path = _arc()
    assert path.length == pytest.approx(np.pi / 2 * 50.0, rel=1e-4)
    np.testing.assert_allclose(path.curvature([5.0, 40.0, 70.0]), 1 / 50.0, rtol=1e-3)
    assert path.heading(np.pi / 4 * 50.0) == pytest.approx(np.pi / 4, abs=1e-3)


def test_projection_signs_and_round_trip():
    path = _arc()
    x, y = path.to_map(30.0, 1.5)          # 1.5 m left of the path (towards the centre)
    s, lateral, heading_error = path.project(float(x), float(y), float(path.heading(30.0)) + 0.1)
    assert s == pytest.approx(30.0, abs=0.02)
    assert lateral == pytest.approx(1.5, abs=1e-3)
    assert heading_error == pytest.approx(0.1, abs=1e-3)
    assert np.hypot(float(x), float(y) - 50.0) == pytest.approx(48.5, abs=1e-3)


def test_path_extends_straight_beyond_its_ends():
    path = ReferencePath(np.array([[0.0, 0.0], [10.0, 0.0]]))
    assert path.project(-5.0, 1.0, 0.0) == pytest.approx((-5.0, 1.0, 0.0))
    x, y = path.point(25.0)
    assert (float(x), float(y)) == pytest.approx((25.0, 0.0))
    assert float(path.curvature(25.0)) == 0.0


@pytest.mark.parametrize("vertices, error", [
    (np.zeros((3, 3)), "shape"),
    (np.array([[0.0, 0.0], [0.0, 0.0]]), "two distinct"),
    (np.array([[0.0, 0.0], [np.nan, 1.0]]), "non-finite"),
])
def test_malformed_paths_are_rejected(vertices, error):
    with pytest.raises(ValueError, match=error):
        ReferencePath(vertices)
