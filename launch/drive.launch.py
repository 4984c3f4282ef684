"""ROS 2 launch: the cav_stack node graph of one vehicle.

    ros2 launch cav_stack drive.launch.py [namespace:=cav_0] [controller:=idm_baseline]
        [use_sim_time:=true] [seed:=0] [net_file:=/path/to/network.net.xml]

The nodes and their arguments come from cav_stack.app.graph.launch_node_arguments, the same
graph (executables, parameter files, remappings) the in-process runner and the DDS / rclpy
launchers (`cav-stack launch drive --backend dds|ros2`) use. The vehicle's identity (its V2X
station index and credentials) follows from the namespace, cav_<K>; its nodes' random
generators from seed and their names; net_file gives the road map and signal IDs.
"""
from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from cav_stack.app.graph import CONTROLLERS, launch_node_arguments


def _nodes(context):
    def value(name):
        return LaunchConfiguration(name).perform(context)
    return [Node(**arguments) for arguments in launch_node_arguments(
        value("controller"), namespace=value("namespace"), share=get_package_share_directory("cav_stack"),
        use_sim_time=value("use_sim_time") == "true", seed=int(value("seed")), net_file=value("net_file"))]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("namespace", default_value="cav_0", description="vehicle namespace (cav_<K>)"),
        DeclareLaunchArgument("controller", default_value="idm_baseline",
                              description="controller configuration: " + ", ".join(sorted(CONTROLLERS))),
        DeclareLaunchArgument("use_sim_time", default_value="false", description="follow /clock"),
        DeclareLaunchArgument("seed", default_value="0", description="the run's random seed"),
        DeclareLaunchArgument("net_file", default_value="", description="SUMO network of the road map"),
        OpaqueFunction(function=_nodes),
    ])
