"""Binding of temporary station IDs to the certificates that use them.

The first verified signer (certificate HashedId8) heard with a station ID owns that ID for as
long as it keeps using it: another certificate claiming the same ID meanwhile is refused. An ID
is released once its owner has not used it for ``hold`` [s] (pseudonym change, out of range),
so IDs are bound for the lifetime of the pseudonym that first used them. ``now`` [s] is the
stack clock.
"""
from __future__ import annotations

from collections.abc import Hashable


class StationIdBinding:
    """Station ID -> (owning signer, last use [s]); see the module docstring."""

    def __init__(self, hold: float):
        if not hold > 0.0:
            raise ValueError(f"hold must be > 0 s, got {hold}")
        self._hold = hold
        self._owner: dict[int, tuple[Hashable, float]] = {}
        self._swept_at = float("-inf")

    def claim(self, station_id: int, signer: Hashable, now: float) -> bool:
        """Record ``signer`` using ``station_id`` at ``now``; False (nothing recorded) when the ID
        is bound to another signer that used it within ``hold``."""
        self._sweep(now)
        owner = self._owner.get(station_id)
        if owner is not None and owner[0] != signer and now - owner[1] <= self._hold:
            return False
        self._owner[station_id] = (signer, now)
        return True

    def owner(self, station_id: int) -> Hashable | None:
        """The signer ``station_id`` is bound to (None: unbound)."""
        owner = self._owner.get(station_id)
        return None if owner is None else owner[0]

    def _sweep(self, now: float) -> None:
        """Forget released bindings (at most once per ``hold``, so memory stays bounded)."""
        if now - self._swept_at < self._hold:
            return
        self._swept_at = now
        self._owner = {sid: owner for sid, owner in self._owner.items() if now - owner[1] <= self._hold}
