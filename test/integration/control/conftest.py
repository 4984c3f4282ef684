"""Closed-loop acceptance runs of the control layer on real SUMO (``controller='stack'``)."""
from __future__ import annotations

import pytest

pytest.importorskip("libsumo")
