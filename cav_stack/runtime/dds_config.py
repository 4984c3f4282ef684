"""Cyclone DDS configurations the project uses (passed as ``CYCLONEDDS_URI``).

:func:`loopback_config` keeps all DDS traffic on 127.0.0.1 with unicast discovery only (no
multicast, explicit peer): what tests and benchmarks use so that they never touch another
network and never see another machine's participants.
"""
from __future__ import annotations

import argparse

LOOPBACK_ADDRESS = "127.0.0.1"
MAX_DOMAIN_ID = 232
"""Largest DDS domain id (the RTPS port mapping of ROS 2 allows 0..232)."""


def check_domain_id(domain_id: int) -> int:
    """``domain_id`` if it is a valid DDS domain id, else ValueError."""
    if not 0 <= domain_id <= MAX_DOMAIN_ID:
        raise ValueError(f"DDS domain id must be in 0..{MAX_DOMAIN_ID}, got {domain_id}")
    return domain_id


def domain_id_argument(text: str) -> int:
    """argparse type of a ``--domain-id`` option (also parses a ROS_DOMAIN_ID default)."""
    try:
        return check_domain_id(int(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"invalid domain id '{text}': {exc}") from exc


def loopback_config(max_participants: int = 20) -> str:
    """A Cyclone DDS XML configuration restricted to unicast on the loopback interface.

    max_participants: processes per domain that can discover each other (unicast discovery
    probes one port per participant index on the peer).
    """
    if max_participants < 2:
        raise ValueError(f"max_participants must be >= 2, got {max_participants}")
    return (
        "<CycloneDDS><Domain id=\"any\">"
        "<General><Interfaces>"
        f"<NetworkInterface address=\"{LOOPBACK_ADDRESS}\"/>"
        "</Interfaces><AllowMulticast>false</AllowMulticast></General>"
        "<Discovery>"
        f"<Peers><Peer address=\"{LOOPBACK_ADDRESS}\"/></Peers>"
        "<ParticipantIndex>auto</ParticipantIndex>"
        f"<MaxAutoParticipantIndex>{max_participants - 1}</MaxAutoParticipantIndex>"
        "</Discovery>"
        "</Domain></CycloneDDS>"
    )
