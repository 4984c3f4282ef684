"""A plain rclpy node with stock settings that knows nothing of cav_stack (imports none of it).

    python independent_node.py --topic /cav_0/truth/ego_state=nav_msgs/msg/Odometry ... [--seconds S] [--min N]
        [--stop TOPIC --stop-after K]

Subscribes each topic with the default QoS (reliable, keep last 10) and its standard type, and
prints one JSON line: per topic the messages received and the type the ROS graph lists for it,
and the last Odometry pose and the lowest speed seen after the stop request. Ends when every
topic has ``--min`` messages or after ``--seconds``. ``--stop``: once the first topic has ``K``
messages, publish std_msgs/Bool ``true`` (a stop request) on TOPIC.
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
    parser.add_argument("--stop", default=None, metavar="TOPIC")
    parser.add_argument("--stop-after", type=int, default=100, metavar="K")
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
    stop = None
    if args.stop is not None:
        from std_msgs.msg import Bool

        stop, stop_msg = node.create_publisher(Bool, args.stop, 10), Bool(data=True)
    first = next(iter(counts))
    sent_stop_at = None
    give_up = time.monotonic() + args.seconds
    while time.monotonic() < give_up and min(counts.values()) < args.min:
        rclpy.spin_once(node, timeout_sec=0.1)
        # the request is sent once the stack's subscriber is matched (a message published before
        # discovery completes is lost)
        if stop is not None and sent_stop_at is None and counts[first] >= args.stop_after \
                and stop.get_subscription_count() > 0:
            stop.publish(stop_msg)
            sent_stop_at = counts[first]
    graph = dict(node.get_topic_names_and_types())
    result = {"counts": counts, "types": {topic: graph.get(topic, []) for topic in counts}}
    odometry = next((m for m in last.values() if hasattr(m, "pose") and hasattr(m, "twist")), None)
    if odometry is not None:
        result["odometry"] = {"x": odometry.pose.pose.position.x, "speed": odometry.twist.twist.linear.x,
                              "frame_id": odometry.header.frame_id, "stamp": odometry.header.stamp.sec}
    result["stop_sent_after"] = sent_stop_at
    print(json.dumps(result), flush=True)
    node.destroy_node()
    rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
