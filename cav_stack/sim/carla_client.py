"""Connecting to a CARLA server: the lazy ``carla`` import, timeouts, version check, clear errors.

The bridge targets CARLA 0.9.16 (client package ``carla==0.9.16``, the ``carla`` extra). Every
RPC of the ``carla`` client waits at most the client timeout and then raises ``RuntimeError``;
:func:`connect` turns that into :class:`CarlaConnectionError` naming host, port, timeout and the
client version, and refuses a server whose version differs from the client's.
"""
from __future__ import annotations

import re
from typing import Any

SUPPORTED_CARLA_VERSION = "0.9.16"
CARLA_EXTRA_HINT = "pip install 'cav_stack[carla]'"


class CarlaNotAvailableError(RuntimeError):
    """The ``carla`` client package is not installed."""

    def __init__(self) -> None:
        super().__init__(f"the CARLA client package is not installed; install it with: {CARLA_EXTRA_HINT}")


class CarlaConnectionError(RuntimeError):
    """The CARLA server did not answer within the client timeout."""


class CarlaVersionMismatchError(RuntimeError):
    """The CARLA server runs another version than the client package."""


def require_carla() -> Any:
    """The ``carla`` module; :class:`CarlaNotAvailableError` when it is not installed."""
    try:
        import carla
    except ImportError as exc:
        raise CarlaNotAvailableError() from exc
    return carla


def release(version: str) -> str:
    """The ``major.minor.patch`` part of a CARLA version string (``0.9.16-dirty`` -> ``0.9.16``)."""
    match = re.match(r"\s*(\d+\.\d+\.\d+)", version)
    return match.group(1) if match else version.strip()


def connect(host: str, port: int, timeout: float) -> Any:
    """A ``carla.Client`` connected to ``host:port`` whose server version matches the client.

    timeout [s]: client timeout for this and every later RPC. Raises ValueError for a bad port
    or timeout, :class:`CarlaNotAvailableError`, :class:`CarlaConnectionError` (no answer within
    ``timeout``) or :class:`CarlaVersionMismatchError`.
    """
    if not 0 < int(port) < 65536:
        raise ValueError(f"CARLA port must be in 1..65535, got {port}")
    if not timeout > 0.0:
        raise ValueError(f"CARLA client timeout must be > 0 s, got {timeout}")
    carla = require_carla()
    client = carla.Client(host, int(port))
    client.set_timeout(float(timeout))
    client_version = client.get_client_version()
    try:
        server_version = client.get_server_version()
    except RuntimeError as exc:
        raise CarlaConnectionError(
            f"no CARLA server answered at {host}:{port} within the {timeout:g} s timeout "
            f"(carla client {client_version}): {exc}") from exc
    if release(server_version) != release(client_version):
        raise CarlaVersionMismatchError(
            f"CARLA server at {host}:{port} runs {server_version} but the client package is "
            f"{client_version}; install the matching client (pip install carla=={release(server_version)}) "
            f"or run a {release(client_version)} server")
    return client
