"""Application permissions of V2X signers: which PSID and SSP each message type needs.

IEEE 1609.2 certificates grant permissions as PSID + Service Specific Permissions (SSP,
``appPermissions``). Roles follow the US SCMS split: vehicles hold pseudonym certificates for
vehicle-to-vehicle safety (PSID 0x20: BSM and the shared manoeuvre), roadside units hold
application certificates for intersection safety (PSID 0x82: SPaT, MAP) and traveller
information (PSID 0x83: RoadSideAlert); revocation lists are signed under PSID 0x100 (the
1609.2 security-management PSID of CRLs) by a CRL signer the root issues.

SSP layout (our own, opaque in 1609.2 and defined per application): byte 0 is the SSP version
(1), byte 1 a bit map of the message types of that PSID the holder may send (bit i: the i-th
type of :data:`MESSAGE_TYPES_OF_PSID`). A message is permitted when it travels under its
type's PSID and the signer's SSP for that PSID sets its bit. A certificate without an SSP for a
PSID permits nothing of it but CRLs (which have no SSP).
"""
from __future__ import annotations

from collections.abc import Mapping

PSID_V2V = 0x20
"""Vehicle-to-vehicle safety and awareness: BSM, shared manoeuvre (messageId 240)."""
PSID_INTERSECTION = 0x82
"""Intersection safety and awareness: SPaT, MAP."""
PSID_TRAVELER_INFO = 0x83
"""Traveller information and roadside signage: RoadSideAlert."""
PSID_CRL = 0x100
"""Certificate revocation lists (1609.2 security management)."""

SSP_VERSION = 1
#: Message types (codec short names) each PSID carries, in SSP bit order.
MESSAGE_TYPES_OF_PSID: dict[int, tuple[str, ...]] = {
    PSID_V2V: ("BSM", "MANEUVER"),
    PSID_INTERSECTION: ("SPAT", "MAP"),
    PSID_TRAVELER_INFO: ("RSA",),
}
#: Message type -> the PSID it travels under.
PSID_OF_MESSAGE: dict[str, int] = {t: psid for psid, types in MESSAGE_TYPES_OF_PSID.items() for t in types}

#: Permission sets: PSID -> SSP (None: no SSP).
Permissions = Mapping[int, "bytes | None"]


def ssp_for(psid: int, message_types: tuple[str, ...]) -> bytes:
    """The SSP granting ``message_types`` (all of PSID ``psid``); ValueError for a foreign type."""
    known = MESSAGE_TYPES_OF_PSID[psid]
    bits = 0
    for message_type in message_types:
        if message_type not in known:
            raise ValueError(f"{message_type} is not carried under PSID {psid:#x}")
        bits |= 1 << known.index(message_type)
    return bytes([SSP_VERSION, bits])


def vehicle_permissions() -> dict[int, bytes | None]:
    """appPermissions of a vehicle's pseudonym certificates: BSM and manoeuvre only."""
    return {PSID_V2V: ssp_for(PSID_V2V, MESSAGE_TYPES_OF_PSID[PSID_V2V])}


def roadside_permissions() -> dict[int, bytes | None]:
    """appPermissions of an RSU's application certificate: SPaT, MAP and RoadSideAlert."""
    return {PSID_INTERSECTION: ssp_for(PSID_INTERSECTION, MESSAGE_TYPES_OF_PSID[PSID_INTERSECTION]),
            PSID_TRAVELER_INFO: ssp_for(PSID_TRAVELER_INFO, MESSAGE_TYPES_OF_PSID[PSID_TRAVELER_INFO])}


def crl_permissions() -> dict[int, bytes | None]:
    """appPermissions of the CRL signer."""
    return {PSID_CRL: None}


def permits(psid: int, ssp: bytes | None, message_type: str) -> bool:
    """True when a message of ``message_type`` signed under ``psid`` by a holder whose SSP for
    ``psid`` is ``ssp`` is permitted (right PSID for the type, version-1 SSP with its bit set)."""
    if PSID_OF_MESSAGE.get(message_type) != psid or ssp is None or len(ssp) != 2 or ssp[0] != SSP_VERSION:
        return False
    return bool(ssp[1] >> MESSAGE_TYPES_OF_PSID[psid].index(message_type) & 1)
