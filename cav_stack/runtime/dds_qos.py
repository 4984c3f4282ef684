"""ROS 2 names and QoS mapped to DDS, as rmw_cyclonedds_cpp does it.

Topic names: a fully resolved ROS topic ``/cav_0/truth/ego_state`` is the DDS topic
``rt/cav_0/truth/ego_state``. QoS: :class:`~cav_stack.runtime.node.QoS` maps to DDS history
KEEP_LAST(depth), RELIABLE / BEST_EFFORT, TRANSIENT_LOCAL / VOLATILE and DEADLINE(period).
Writers of a topic with a deadline also offer AUTOMATIC liveliness with that lease, so that a
silent or dead publisher is reported to readers (liveliness changed) within one deadline;
readers request the ROS default (AUTOMATIC, infinite lease) and so match any writer.
Every entity uses plain CDR (XCDR1), the representation ROS 2 uses.
"""
from __future__ import annotations

from cav_stack.runtime.dds_import import cyclonedds_module
from cav_stack.runtime.node import QoS

ROS_TOPIC_PREFIX = "rt"
"""Prefix rmw implementations put before ROS topic names in DDS."""

MAX_BLOCKING_TIME_S = 1.0
"""How long a reliable writer may block on a full history [s] (KEEP_LAST never blocks)."""


def dds_topic_name(ros_topic: str) -> str:
    """The DDS topic name of a fully resolved ROS topic name (``/a/b`` -> ``rt/a/b``)."""
    if not ros_topic.startswith("/") or ros_topic.endswith("/") or "//" in ros_topic:
        raise ValueError(f"'{ros_topic}' is not a fully resolved ROS topic name (/namespace/name)")
    return ROS_TOPIC_PREFIX + ros_topic


def _nanoseconds(seconds: float) -> int:
    return round(seconds * 1e9)


def dds_qos(qos: QoS, *, writer: bool, keep_all: bool = False):
    """The DDS QoS of a ROS-style :class:`QoS` for a writer (``writer=True``) or a reader.

    keep_all: KEEP_ALL history instead of KEEP_LAST(depth) (history is not a request/offer
    policy, so such a reader still matches every writer).
    """
    if qos.depth < 1:
        raise ValueError(f"QoS history depth must be >= 1, got {qos.depth}")
    if qos.deadline < 0.0:
        raise ValueError(f"QoS deadline must be >= 0 s, got {qos.deadline}")
    qos_module = cyclonedds_module("cyclonedds.qos")
    policy = qos_module.Policy
    policies = [
        policy.History.KeepAll if keep_all else policy.History.KeepLast(qos.depth),
        policy.Reliability.Reliable(_nanoseconds(MAX_BLOCKING_TIME_S)) if qos.reliable
        else policy.Reliability.BestEffort,
        policy.Durability.TransientLocal if qos.transient_local else policy.Durability.Volatile,
        policy.DataRepresentation(use_cdrv0_representation=True),
    ]
    if qos.deadline > 0.0:
        policies.append(policy.Deadline(_nanoseconds(qos.deadline)))
        if writer:
            policies.append(policy.Liveliness.Automatic(_nanoseconds(qos.deadline)))
    return qos_module.Qos(*policies)
