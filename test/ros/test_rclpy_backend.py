"""The rclpy backend on real rclpy (the 'ros' extra; see conftest.py for CI)."""
import numpy as np
import pytest
import rclpy


def test_conversions_fill_real_ros_messages():
    from cav_stack.core.messages import ControlCommand, EgoState, Header
    from cav_stack.runtime.ros_conversions import installed_conversion

    ego = EgoState(Header(1.5, "map"), 1.0, 2.0, 0.3, 12.0)
    conversion = installed_conversion(EgoState)
    back = conversion.from_ros(conversion.to_ros(ego))
    assert back.x == pytest.approx(1.0) and back.yaw == pytest.approx(0.3)
    command = ControlCommand(Header(2.0, "base_link"), -1.0, 0.05)
    conversion = installed_conversion(ControlCommand)
    assert conversion.from_ros(conversion.to_ros(command)).accel == pytest.approx(-1.0)


def test_rclpy_context_publishes_and_receives():
    from cav_stack.core.messages import ControlCommand, Header
    from cav_stack.runtime.node import QoS
    from cav_stack.runtime.rclpy_backend import RclpyContext

    rclpy.init()
    try:
        ros_node = rclpy.create_node("cav_stack_test")
        context = RclpyContext(ros_node, None, np.random.default_rng(0))
        received = []
        context.create_subscription(ControlCommand, "/cav_stack_test/cmd", received.append, QoS())
        publisher = context.create_publisher(ControlCommand, "/cav_stack_test/cmd", QoS())
        for _ in range(50):
            publisher.publish(ControlCommand(Header(0.0, "base_link"), 1.0, 0.0))
            rclpy.spin_once(ros_node, timeout_sec=0.1)
            if received:
                break
        assert received and received[0].accel == pytest.approx(1.0)
    finally:
        rclpy.shutdown()


def test_nodes_started_on_their_own_draw_per_vehicle():
    from cav_stack.runtime.rclpy_backend import node_rng

    draws = {ns: node_rng(3, ns, "v2x_node").integers(0, 2**32) for ns in ("/cav_0", "/cav_1")}
    assert draws["/cav_0"] != draws["/cav_1"]                       # distinct temporary IDs, not one seed 0
    assert node_rng(3, "/cav_0", "v2x_node").integers(0, 2**32) == draws["/cav_0"]
