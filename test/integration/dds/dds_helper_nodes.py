"""Small nodes the DDS integration tests run in child processes (``module:Class`` names)."""
from __future__ import annotations

from cav_stack.core.messages import EgoState, Header, TrackedObject, TrackList
from cav_stack.runtime.node import Node, NodeContext, QoS

PERCEPTION_QOS = QoS(depth=5, reliable=True, deadline=0.2)
"""Tracks at 20 Hz; a 0.2 s deadline is four missed frames."""


class OdometryEcho(Node):
    """Publishes every EgoState it receives on ``input/odom`` again on ``output/odom``."""

    node_name = "odometry_echo"

    def __init__(self, context: NodeContext):
        super().__init__(context)
        self._pub = self.create_publisher(EgoState, "output/odom")
        self.create_subscription(EgoState, "input/odom", self._pub.publish)


class FakePerception(Node):
    """Publishes a one-object TrackList on ``output/objects`` at 20 Hz (wall or sim time)."""

    node_name = "fake_perception"

    def __init__(self, context: NodeContext):
        super().__init__(context)
        self._pub = self.create_publisher(TrackList, "output/objects", PERCEPTION_QOS)
        self.create_timer(0.05, self._tick)

    def _tick(self) -> None:
        self._pub.publish(TrackList(Header(self.now(), "map"), (TrackedObject(1, 10.0, 0.0, 0.0, 20.0, 4.5, 1.8),)))
