"""UE <-> REP 103 conversion with real carla.Transform / Location / Rotation / Vector3D objects."""
import math

import carla
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from cav_stack.sim.carla_frames import (CarlaFrame, Pose3, angular_to_rep103, points_to_rep103, rotation_to_rpy,
                                        rpy_to_rotation, vector_to_rep103)

S = np.diag([1.0, -1.0, 1.0])
angles = st.floats(-179.0, 179.0)
coords = st.floats(-5000.0, 5000.0)


@settings(max_examples=60, deadline=None)
@given(pitch=st.floats(-80.0, 80.0), yaw=angles, roll=angles)
def test_rotation_matrix_is_the_reflected_ue_matrix(pitch, yaw, roll):
    """R_rep from our (roll, pitch, yaw) equals S R_ue S, R_ue from CARLA's own get_matrix()."""
    ue = np.array(carla.Transform(carla.Location(), carla.Rotation(pitch=pitch, yaw=yaw, roll=roll)).get_matrix())
    r, p, y = rotation_to_rpy(carla.Rotation(pitch=pitch, yaw=yaw, roll=roll))
    rep = Rotation.from_euler("ZYX", [y, p, r]).as_matrix()
    np.testing.assert_allclose(rep, S @ ue[:3, :3] @ S, atol=2e-6)


@settings(max_examples=60, deadline=None)
@given(x=coords, y=coords, z=st.floats(-50.0, 50.0), pitch=st.floats(-80.0, 80.0), yaw=angles, roll=angles,
       ox=st.floats(-1000.0, 1000.0), oy=st.floats(-1000.0, 1000.0))
def test_transform_round_trip(x, y, z, pitch, yaw, roll, ox, oy):
    frame = CarlaFrame(ox, oy)
    transform = carla.Transform(carla.Location(x=x, y=y, z=z), carla.Rotation(pitch=pitch, yaw=yaw, roll=roll))
    back = frame.to_transform(frame.to_pose(transform))
    assert isinstance(back, carla.Transform)
    np.testing.assert_allclose([back.location.x, back.location.y, back.location.z], [x, y, z], atol=1e-3)
    np.testing.assert_allclose(np.array(back.get_matrix())[:3, :3], np.array(transform.get_matrix())[:3, :3],
                               atol=1e-5)


def test_pose_round_trip_from_rep103():
    frame = CarlaFrame(100.0, -20.0)
    pose = Pose3(12.5, -3.25, 1.5, 0.05, -0.1, 2.9)
    back = frame.to_pose(frame.to_transform(pose))
    np.testing.assert_allclose([back.x, back.y, back.z, back.roll, back.pitch, back.yaw],
                               [pose.x, pose.y, pose.z, pose.roll, pose.pitch, pose.yaw], atol=1e-5)


def test_left_in_carla_is_positive_y_and_ccw_yaw():
    """A point 1 m to the vehicle's left (UE y = -1) is at +y; turning left (UE yaw -90) is +pi/2."""
    assert CarlaFrame().to_map(carla.Location(x=0.0, y=-1.0, z=0.0)) == (0.0, 1.0, 0.0)
    assert rotation_to_rpy(carla.Rotation(yaw=-90.0))[2] == pytest.approx(math.pi / 2)
    assert rotation_to_rpy(carla.Rotation(pitch=10.0))[1] == pytest.approx(-math.radians(10.0))  # nose up


def test_map_offset_matches_carla_sumo_bridge_convention():
    """CARLA's BridgeHelper: carla_x = sumo_x - ox, carla_y = -(sumo_y - oy)."""
    frame = CarlaFrame(7.0, 3.0)
    loc = frame.to_location(10.0, 5.0, 1.0)
    assert (loc.x, loc.y, loc.z) == pytest.approx((3.0, -2.0, 1.0))


def test_forward_vector_agrees_with_yaw():
    """The heading from our yaw equals CARLA's own forward vector, mirrored."""
    rotation = rpy_to_rotation(0.0, 0.0, 0.7)
    forward = carla.Transform(carla.Location(), rotation).get_forward_vector()
    assert vector_to_rep103(forward)[:2] == pytest.approx((math.cos(0.7), math.sin(0.7)), abs=1e-6)


def test_angular_velocity_is_an_axial_vector():
    """Yawing left in REP (+z) is a negative UE z rate; roll rates flip too, pitch rates do not."""
    assert angular_to_rep103(carla.Vector3D(0.1, 0.2, -0.3)) == pytest.approx((-0.1, 0.2, 0.3))


def test_points_mirror_only_y_and_copy():
    points = np.array([[1.0, 2.0, 3.0, 0.5]], dtype=np.float32)
    out = points_to_rep103(points)
    np.testing.assert_array_equal(out, [[1.0, -2.0, 3.0, 0.5]])
    assert points[0, 1] == 2.0
