"""Connecting: no package, unreachable server (real client, unused port), version mismatch."""
import socket
import time

import carla
import pytest

from cav_stack.sim import carla_client
from cav_stack.sim.carla_client import CarlaConnectionError, CarlaVersionMismatchError, connect, release


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_server_fails_within_the_timeout_naming_everything():
    port = unused_port()
    started = time.monotonic()
    with pytest.raises(CarlaConnectionError) as error:
        connect("127.0.0.1", port, 1.0)
    elapsed = time.monotonic() - started
    assert elapsed < 3.0
    message = str(error.value)
    assert f"127.0.0.1:{port}" in message and "1 s timeout" in message and "0.9.16" in message


class _OtherServer:
    def __init__(self, host, port):
        pass

    def set_timeout(self, seconds):
        pass

    def get_client_version(self):
        return "0.9.16"

    def get_server_version(self):
        return "0.9.15"


def test_version_mismatch_is_said(monkeypatch):
    monkeypatch.setattr(carla, "Client", _OtherServer)
    with pytest.raises(CarlaVersionMismatchError, match="runs 0.9.15 but the client package is 0.9.16"):
        connect("127.0.0.1", 2000, 1.0)


def test_argument_errors():
    with pytest.raises(ValueError, match="port"):
        connect("127.0.0.1", 70000, 1.0)
    with pytest.raises(ValueError, match="timeout"):
        connect("127.0.0.1", 2000, 0.0)


def test_release_parsing():
    assert release("0.9.16-dirty") == "0.9.16"
    assert release(carla.Client("127.0.0.1", 1).get_client_version()) == carla_client.SUPPORTED_CARLA_VERSION
