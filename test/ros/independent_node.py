"""A plain rclpy node with stock settings that knows nothing of cav_stack (imports none of it).

    python independent_node.py --topic /cav_0/truth/ego_state=nav_msgs/msg/Odometry ... [--seconds S] [--min N]

Subscribes each topic with the default QoS (reliable, keep last 10) and its standard type, and
prints one JSON line: per topic the messages received and the type the ROS graph lists for it,
and the last Odometry pose. Ends when every topic has ``--min`` messages or after ``--seconds``.
"""
import argparse
import importlib
import json
import sys
import time

import rclpy
from rclpy.node import Node


def message_class(type_name):
    package, _, name = type_name.split("/")
    return getattr(importlib.import_module(f"{package}.msg"), name)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--topic", action="append", required=True, metavar="NAME=TYPE")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--min", type=int, default=20)
    args = parser.parse_args()
    rclpy.init()
    node = Node("independent_listener")
    counts, last = {}, {}
    for spec in args.topic:
        topic, type_name = spec.split("=")
        counts[topic] = 0

        def on_message(msg, topic=topic):
            counts[topic] += 1
            last[topic] = msg
        node.create_subscription(message_class(type_name), topic, on_message, 10)
    give_up = time.monotonic() + args.seconds
    while time.monotonic() < give_up and min(counts.values()) < args.min:
        rclpy.spin_once(node, timeout_sec=0.1)
    graph = dict(node.get_topic_names_and_types())
    result = {"counts": counts, "types": {topic: graph.get(topic, []) for topic in counts}}
    odometry = next((m for m in last.values() if hasattr(m, "pose") and hasattr(m, "twist")), None)
    if odometry is not None:
        result["odometry"] = {"x": odometry.pose.pose.position.x, "speed": odometry.twist.twist.linear.x,
                              "frame_id": odometry.header.frame_id}
    print(json.dumps(result), flush=True)
    node.destroy_node()
    rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
