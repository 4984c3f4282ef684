"""Cyclone DDS configurations the project uses (passed as ``CYCLONEDDS_URI``).

:func:`ros2_default_config` (the default of launched runs outside tests) matches what a stock
ROS 2 node uses, so that ROS 2 tools and nodes on the machine or the network see the vehicle's
topics: Cyclone's own defaults (multicast SPDP discovery on the machine's interface), or with
``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` (or ``OFF``) localhost only. :func:`loopback_config`
keeps all DDS traffic on 127.0.0.1 with unicast discovery only (no multicast, explicit peer):
what tests and benchmarks use so that they never touch another network and never see another
machine's participants. :func:`loopback_multicast_config` is ROS 2's default discovery
(multicast SPDP) confined to the loopback interface: what interoperability tests use beside
ROS 2 nodes whose Fast DDS is confined to loopback too (:func:`fastdds_loopback_profile`).
:func:`config_uri` turns a vehicle's own file (``--dds-config FILE``) into a ``CYCLONEDDS_URI``.

Whatever the network configuration, every DDS node process also gets
:func:`with_fastdds_interop`: Cyclone ignores the XTypes type information of Fast DDS
participants (the default middleware of ROS 2) and matches their endpoints by topic and type
name alone, as Fast DDS matches rmw_cyclonedds (which announces no type information). Without
it a stock ROS 2 node discovers the topics of a type with an array or sequence member
(nav_msgs/Odometry, PointCloud2, DiagnosticArray) but never matches them: Fast DDS 3.2 announces
such types with collection element flags 0 (no try-construct kind), so their type hashes differ
from Cyclone's; Cyclone asks for Fast DDS's minimal type object, gets only the complete one, and
defers the match until the type resolves, i.e. forever (Cyclone's ``finest`` trace:
``unresolved rd type``). Types without collections (String, Clock, Header) hash alike and match
either way.
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


def loopback_multicast_config() -> str:
    """ROS 2's default discovery (SPDP multicast to 239.255.0.1, unicast data) on the loopback
    interface only: stock ROS 2 nodes confined to loopback (:func:`fastdds_loopback_profile`)
    discover these participants and are discovered by them."""
    return (
        "<CycloneDDS><Domain id=\"any\"><General><Interfaces>"
        f"<NetworkInterface address=\"{LOOPBACK_ADDRESS}\" multicast=\"true\"/>"
        "</Interfaces><AllowMulticast>spdp</AllowMulticast></General></Domain></CycloneDDS>"
    )


DISCOVERY_RANGE_VARIABLE = "ROS_AUTOMATIC_DISCOVERY_RANGE"


def ros2_default_config(env: dict[str, str]) -> str | None:
    """The Cyclone DDS configuration a stock ROS 2 node would use in environment ``env``
    (None: Cyclone's defaults, which are ROS 2's: multicast discovery on the machine's
    interface). ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` or ``OFF``: localhost only, unicast
    discovery among the participants of this machine (as rmw_cyclonedds configures it).
    The domain is the launcher's ``--domain-id`` (default ``ROS_DOMAIN_ID``)."""
    discovery_range = env.get(DISCOVERY_RANGE_VARIABLE, "").upper()
    if discovery_range in ("LOCALHOST", "OFF"):
        return loopback_config(max_participants=32)
    if discovery_range not in ("", "SUBNET", "SYSTEM_DEFAULT"):
        raise ValueError(f"{DISCOVERY_RANGE_VARIABLE}={env[DISCOVERY_RANGE_VARIABLE]} is not one of "
                         "SUBNET, LOCALHOST, OFF, SYSTEM_DEFAULT")
    return None


FASTDDS_VENDOR_ID = "1.15"
"""RTPS vendor id of eProsima Fast DDS (rmw_fastrtps, ROS 2's default middleware)."""


def fastdds_interop_config() -> str:
    """The Cyclone DDS configuration fragment ignoring the type information of Fast DDS participants."""
    return ("<CycloneDDS><Domain id=\"any\"><Compatibility>"
            f"<IgnoreTypeInformation>{FASTDDS_VENDOR_ID}</IgnoreTypeInformation>"
            "</Compatibility></Domain></CycloneDDS>")


def with_fastdds_interop(uri: str | None) -> str:
    """``CYCLONEDDS_URI`` ``uri`` (None or empty: Cyclone's defaults) preceded by
    :func:`fastdds_interop_config`. Cyclone merges the comma-separated sources in order, so a
    setting of ``uri`` (a vehicle's own file) still wins; ``uri`` already preceded by it is returned as is."""
    interop = fastdds_interop_config()
    if not uri:
        return interop
    return uri if uri.startswith(interop) else f"{interop},{uri}"


def config_uri(path: str) -> str:
    """``CYCLONEDDS_URI`` of a configuration file (ValueError when it cannot be read)."""
    from pathlib import Path

    file = Path(path)
    if not file.is_file():
        raise ValueError(f"DDS configuration file {path} does not exist")
    return file.resolve().as_uri()


def fastdds_loopback_profile() -> str:
    """A Fast DDS XML profile file's text confining every participant of the process (the default
    profile, via ``FASTDDS_DEFAULT_PROFILES_FILE``) to the loopback interface and shared memory,
    with ROS 2's default discovery (multicast SPDP, now on loopback only): tests of rclpy nodes."""
    return (
        '<?xml version="1.0" encoding="UTF-8" ?>\n'
        '<dds xmlns="http://www.eprosima.com"><profiles><transport_descriptors>'
        '<transport_descriptor><transport_id>udp_loopback</transport_id><type>UDPv4</type>'
        f'<interfaces><allowlist><interface name="{LOOPBACK_ADDRESS}"/></allowlist></interfaces>'
        '</transport_descriptor>'
        '<transport_descriptor><transport_id>shm</transport_id><type>SHM</type></transport_descriptor>'
        '</transport_descriptors>'
        '<participant profile_name="loopback" is_default_profile="true"><rtps>'
        '<useBuiltinTransports>false</useBuiltinTransports>'
        '<userTransports><transport_id>udp_loopback</transport_id><transport_id>shm</transport_id></userTransports>'
        '</rtps></participant></profiles></dds>\n'
    )
