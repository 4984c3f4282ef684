"""The standard-type conversions the DDS backend added to ros_conversions (no DDS needed)."""
from __future__ import annotations

import numpy as np
import pytest

from cav_stack.core import messages as core
from cav_stack.runtime.ros_conversions import POINT_FIELD_FLOAT32, conversion_for

CLOUD = conversion_for(core.PointCloud)
DIAGNOSTIC = conversion_for(core.DiagnosticStatus)


def cloud_fields(points: np.ndarray, names, *, point_step: int, big_endian: bool = False, datatype=7) -> dict:
    """A PointCloud2 field dict written independently of the conversion under test."""
    records = np.zeros(len(points), dtype=np.dtype({
        "names": list(names), "formats": [(">f4" if big_endian else "<f4")] * len(names),
        "offsets": [4 * i for i in range(len(names))], "itemsize": point_step}))
    for i, name in enumerate(names):
        records[name] = points[:, i]
    return {"header": {"stamp": {"sec": 1, "nanosec": 0}, "frame_id": "lidar"}, "height": 1, "width": len(points),
            "fields": [{"name": n, "offset": 4 * i, "datatype": datatype, "count": 1} for i, n in enumerate(names)],
            "is_bigendian": big_endian, "point_step": point_step, "row_step": point_step * len(points),
            "data": records.tobytes(), "is_dense": True}


def test_point_cloud_is_point_cloud2_with_float32_fields():
    assert CLOUD.ros_type_name == "sensor_msgs/msg/PointCloud2"
    points = np.arange(12, dtype=np.float32).reshape(3, 4)
    fields = CLOUD.to_fields(core.PointCloud(core.Header(1.0, "lidar"), points))
    assert [f["datatype"] for f in fields["fields"]] == [POINT_FIELD_FLOAT32] * 4
    assert np.array_equal(np.frombuffer(fields["data"], "<f4").reshape(3, 4), points)


def test_foreign_point_cloud2_layouts_are_read():
    points = np.random.default_rng(1).normal(size=(50, 5)).astype(np.float32)
    # padded points with an extra field (e.g. a LiDAR driver's ring/time), big endian
    fields = cloud_fields(points, ("x", "y", "z", "intensity", "time"), point_step=32, big_endian=True)
    back = CLOUD.from_fields(fields)
    assert back.points.dtype == np.float32 and back.points.shape == (50, 4)
    np.testing.assert_array_equal(back.points, points[:, :4])


def test_point_cloud2_without_needed_fields_is_refused():
    points = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="intensity"):
        CLOUD.from_fields(cloud_fields(points, ("x", "y", "z"), point_step=12))
    with pytest.raises(ValueError, match="float32"):
        CLOUD.from_fields(cloud_fields(np.zeros((2, 4), np.float32), ("x", "y", "z", "intensity"),
                                       point_step=16, datatype=8))


def test_malformed_point_cloud_is_refused():
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        CLOUD.to_fields(core.PointCloud(core.Header(0.0, "lidar"), np.zeros((5, 3), np.float32)))


def test_diagnostic_status_round_trip_and_rclpy_byte_level():
    status = core.DiagnosticStatus(core.Header(4.5, ""), "/cav_0/v2x/output/objects", 3, "stale",
                                   (("alive_publishers", "0"),))
    fields = DIAGNOSTIC.to_fields(status)
    assert DIAGNOSTIC.ros_type_name == "diagnostic_msgs/msg/DiagnosticArray"
    assert fields["status"][0]["level"] == b"\x03"          # rclpy's type for a ROS `byte`
    assert DIAGNOSTIC.from_fields(fields) == status
    fields["status"][0]["level"] = 3                        # what a CDR decoder gives
    assert DIAGNOSTIC.from_fields(fields) == status


def test_diagnostic_array_must_hold_one_status():
    fields = DIAGNOSTIC.to_fields(core.DiagnosticStatus(core.Header(0.0, ""), "a", 0))
    fields["status"] = fields["status"] * 2
    with pytest.raises(ValueError, match="exactly one status"):
        DIAGNOSTIC.from_fields(fields)
