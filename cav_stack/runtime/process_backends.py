"""The middleware a node process runs on: Cyclone DDS (``dds``) or rclpy (``ros2``).

Both give a :class:`~cav_stack.runtime.dds_backend.DdsRuntime` (the rclpy one is
:class:`~cav_stack.runtime.rclpy_runtime.RclpyRuntime`), so launchers, node processes and the
lockstep protocol are the same for both.
"""
from __future__ import annotations

import os

from cav_stack.runtime.dds_backend import DdsRuntime
from cav_stack.runtime.dds_config import with_fastdds_interop
from cav_stack.runtime.dds_import import DdsUnavailableError
from cav_stack.runtime.rclpy_backend import RclpyUnavailableError

BACKENDS = ("dds", "ros2")
MiddlewareUnavailableError = (DdsUnavailableError, RclpyUnavailableError)
"""What opening a runtime raises when its middleware is not installed."""


def open_runtime(backend: str, domain_id: int, *, node_name: str, namespace: str = "", clock: str = "wall",
                 seed: int = 0, deliver_all: bool = False) -> DdsRuntime:
    """The runtime of one process on ``backend`` (node_name, namespace: the rclpy node's name; DDS ignores them).

    ``dds``: the process's ``CYCLONEDDS_URI`` gets the Fast DDS interoperability setting first
    (:func:`~cav_stack.runtime.dds_config.with_fastdds_interop`), so stock ROS 2 nodes receive its topics.
    """
    if backend == "dds":
        os.environ["CYCLONEDDS_URI"] = with_fastdds_interop(os.environ.get("CYCLONEDDS_URI"))
        return DdsRuntime(domain_id, clock=clock, seed=seed, deliver_all=deliver_all)
    if backend == "ros2":
        from cav_stack.runtime.rclpy_runtime import RclpyRuntime

        return RclpyRuntime(domain_id, node_name=node_name, namespace=namespace, clock=clock, seed=seed,
                            deliver_all=deliver_all)
    raise ValueError(f"unknown backend '{backend}' (known: {', '.join(BACKENDS)})")
