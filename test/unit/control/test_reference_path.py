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


def test_a_short_joint_does_not_tilt_the_long_segment_after_it():
    """A ramp's end joined to a 245 m lane by a 1.5 m step (motorway_bottleneck's route of a
    merging car): 60 m into the lane the heading is the lane's (it was 0.43 rad with headings
    interpolated between segment midpoints, and the MPC steered the car off the road); the turn
    stays near the joint and the curvature still integrates to the whole turn."""
    path = ReferencePath(np.array([[850.0, -10.8], [1000.0, -10.8], [1001.5, -9.0], [1246.0, -9.0]]))
    s_joint = path.s_vertices[2]
    assert path.heading(s_joint + 60.0) == pytest.approx(0.0, abs=1e-12)
    assert path.heading(path.s_vertices[1] - 10.0) == pytest.approx(0.0, abs=1e-12)
    s = np.linspace(0.0, path.length, 400_001)
    turned = np.sum(path.curvature(s[:-1]) * np.diff(s))
    assert turned == pytest.approx(path.segment_headings[-1] - path.segment_headings[0], abs=1e-3)
    _, lateral, heading_error = path.project(1063.0, -9.0, 0.0)
    assert lateral == pytest.approx(0.0, abs=1e-9) and heading_error == pytest.approx(0.0, abs=1e-12)
