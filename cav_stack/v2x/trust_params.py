"""Parameters of V2X trust: security, reception checks, misbehaviour detection, link quality, seeded test PKI.

All live in ``v2x/security.yaml`` under ``v2x: ros__parameters:`` (the v2x node's section).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cav_stack.core.params import load_node_params
from cav_stack.v2x.link_quality import LinkQualityParams
from cav_stack.v2x.misbehaviour import MisbehaviourParams
from cav_stack.v2x.pki import SeededPkiParams
from cav_stack.v2x.reception import ReceptionParams
from cav_stack.v2x.security import SecurityParams

#: Node section the trust parameters are read from.
V2X_NODE_NAME = "v2x"


@dataclass(frozen=True)
class V2xTrustParams:
    """The five parameter groups of ``v2x/security.yaml``."""

    security: SecurityParams
    reception: ReceptionParams
    misbehaviour: MisbehaviourParams
    link_quality: LinkQualityParams
    seeded_pki: SeededPkiParams


def load_trust_params(path: str | Path) -> V2xTrustParams:
    """Load and validate ``v2x/security.yaml``; raises ParamsError naming file, line and key."""
    return load_node_params(path, V2X_NODE_NAME, V2xTrustParams)
