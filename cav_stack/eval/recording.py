"""Recording every published message to an MCAP file of ROS 2 CDR messages, without ROS.

:class:`TopicRecorder` is an executor tap (``executor.add_tap(recorder)``): each message is
written on its topic as the ROS 2 type it travels as on the ROS backend
(:func:`cav_stack.runtime.ros_conversions.conversion_for`: nav_msgs/Odometry for ego states,
ackermann_msgs/AckermannDriveStamped for commands, sensor_msgs/PointCloud2 for LiDAR,
diagnostic_msgs/DiagnosticArray, std_msgs/String holding lossless JSON for the rest), so a
recording matches what ``ros2 bag record`` would capture. Messages with views
(:func:`~cav_stack.runtime.ros_conversions.views_for`) are also written on ``<topic>/<suffix>``:
tracks as vision_msgs/Detection3DArray, V2X frames as their encoded bytes in
std_msgs/UInt8MultiArray. Log and publish times are the simulation time [ns].

Schemas are the ROS 2 interface definitions of :mod:`cav_stack.runtime.ros_interfaces`,
concatenated with their dependencies in the ``ros2msg`` format, which ``mcap_ros2`` reads. Needs
the ``record`` extra (``mcap``, ``mcap-ros2-support``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from cav_stack.runtime.ros_interfaces import scalar_byte_fields, schema_text
from cav_stack.runtime.ros_conversions import conversion_for, views_for

RECORDING_METADATA = "cav_stack"
"""Name of the MCAP metadata record describing the run (scenario, controller, seed, cavs)."""


def _cdr_ready(value: Any, byte_fields: frozenset[str]) -> Any:
    """``value`` with the rclpy representation of scalar ``byte`` fields (a 1-byte ``bytes``, as
    :mod:`~cav_stack.runtime.ros_conversions` produces) turned into the int the CDR writer takes."""
    if isinstance(value, dict):
        return {k: (v[0] if k in byte_fields and isinstance(v, bytes) and len(v) == 1 else _cdr_ready(v, byte_fields))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_cdr_ready(v, byte_fields) for v in value]
    return value


def _nanoseconds(seconds: float) -> int:
    return max(round(seconds * 1e9), 0)


class TopicRecorder:
    """Executor tap writing every message to the MCAP file ``path`` (see the module docstring).

    metadata: written as the MCAP metadata record :data:`RECORDING_METADATA` (string values),
    e.g. scenario, controller, seed and ``cavs`` (comma-separated), which replay uses.
    Call :meth:`close` (or use as a context manager) to finish the file.
    """

    def __init__(self, path: str | Path, metadata: dict[str, str] | None = None):
        try:
            from mcap_ros2.writer import Writer
        except ImportError as exc:
            raise ImportError("recording needs the 'record' extra: pip install 'cav_stack[record]'") from exc
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._stream = self.path.open("wb")
        self._writer = Writer(self._stream)
        self._schemas: dict[str, Any] = {}
        self._sequence = 0
        self._byte_fields = scalar_byte_fields()
        self.message_count = 0
        if metadata:
            self._writer.add_metadata(RECORDING_METADATA, {k: str(v) for k, v in metadata.items()})

    def _schema(self, ros_type_name: str) -> Any:
        schema = self._schemas.get(ros_type_name)
        if schema is None:
            schema = self._schemas[ros_type_name] = self._writer.register_msgdef(ros_type_name,
                                                                               schema_text(ros_type_name))
        return schema

    def _write(self, topic: str, ros_type_name: str, fields: dict, now: float) -> None:
        stamp = _nanoseconds(now)
        self._writer.write_message(topic, self._schema(ros_type_name), _cdr_ready(fields, self._byte_fields),
                                   log_time=stamp,
                                   publish_time=stamp, sequence=self._sequence)
        self._sequence += 1
        self.message_count += 1

    def __call__(self, topic: str, msg: Any, now: float) -> None:
        """Record ``msg`` published on ``topic`` at simulation time ``now`` [s]."""
        if self._stream.closed:
            raise RuntimeError(f"recorder of {self.path} is closed")
        conversion = conversion_for(type(msg))
        self._write(topic, conversion.ros_type_name, conversion.to_fields(msg), now)
        for view in views_for(type(msg)):
            self._write(f"{topic.rstrip('/')}/{view.suffix}", view.ros_type_name, view.to_fields(msg), now)

    def close(self) -> None:
        """Finish the MCAP file (summary and index) and close it. Idempotent."""
        if self._stream.closed:
            return
        try:
            self._writer.finish()
        finally:
            self._stream.close()

    def __enter__(self) -> TopicRecorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def run_metadata(scenario: str, controller: str, seed: int, cav_ids: list[str] | tuple[str, ...]) -> dict[str, str]:
    """The metadata replay needs: scenario name, controller, seed and the driven CAVs."""
    return {"scenario": scenario, "controller": controller, "seed": str(seed), "cavs": ",".join(cav_ids)}
