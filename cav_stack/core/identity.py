"""A vehicle's identity from its ROS namespace.

A CAV's nodes run under the namespace ``/cav_<K>``; K is the vehicle's station index: which
credentials of the simulated PKI it signs with (its pseudonym pool) and, with the run's seed,
which random generators its nodes get (so its V2X temporary ID differs from every other
vehicle's). Launchers pass the index explicitly; a node started on its own (``ros2 run``,
``ros2 launch``) derives it from its namespace.
"""
from __future__ import annotations

import re

_CAV_NAMESPACE = re.compile(r"^/?[A-Za-z_]*?_?(\d+)/?$")


def station_from_namespace(namespace: str) -> int:
    """The station index K of namespace ``/cav_<K>`` (any name ending in ``_<K>`` or digits);
    ValueError for a namespace without one."""
    match = _CAV_NAMESPACE.match(namespace)
    if match is None:
        raise ValueError(f"namespace '{namespace}' holds no vehicle index (expected e.g. /cav_0): "
                         "pass the station index explicitly")
    return int(match.group(1))
