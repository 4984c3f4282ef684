"""ROS 2 launch: the cav_stack node graph of one vehicle.

    ros2 launch cav_stack drive.launch.py [namespace:=cav_0] [controller:=idm_baseline]

The graph (executables, parameter files, remappings) comes from cav_stack.app.graph, the
same data the in-process runner and the DDS launcher use.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from cav_stack.app.graph import CONTROLLERS


def _nodes(context):
    share = get_package_share_directory("cav_stack")
    namespace = LaunchConfiguration("namespace").perform(context)
    controller = LaunchConfiguration("controller").perform(context)
    use_sim_time = LaunchConfiguration("use_sim_time").perform(context) == "true"
    return [
        Node(package="cav_stack", executable=spec.executable, namespace=namespace, output="screen",
             parameters=[os.path.join(share, f) for f in spec.params_files] + [{"use_sim_time": use_sim_time}],
             remappings=[(f"~/{node_topic}", topic) for node_topic, topic in spec.remappings])
        for spec in CONTROLLERS[controller]
    ]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("namespace", default_value="cav_0", description="vehicle namespace"),
        DeclareLaunchArgument("controller", default_value="idm_baseline",
                              description="controller configuration: " + ", ".join(sorted(CONTROLLERS))),
        DeclareLaunchArgument("use_sim_time", default_value="false", description="follow /clock"),
        OpaqueFunction(function=_nodes),
    ])
