"""The person in a CAV's seat, in simulation: answers takeover requests, reports on ``driver/state``.

The driver watches the stack's HMI (its ``planning/mode``). On a takeover request an available,
responsive driver takes the controls after a reaction time drawn uniformly from the scenario's
``driver.reaction_time`` [s] with the run's seeded generator; a driver who is not available (from
the start, or from ``driver.unavailable_from`` on) or does not respond never does. The driver state
reports availability as a driver-monitoring camera would see it. A request counts as
answered-or-pending while the stack shows TAKEOVER_REQUEST or the MINIMAL_RISK stop that follows
it; any other mode withdraws it. When the bridge hands the CAV to the world's
own driver model (SUMO: after a takeover, or at the end of its route) the driver state
says the controls are held, so the stack knows it no longer drives.
"""
from __future__ import annotations

import numpy as np

from cav_stack.core.messages import BASE_LINK_FRAME, DriverState, DrivingMode, Header, ModeCommand
from cav_stack.world.scenario import DriverSpec

_REQUEST_MODES = (DrivingMode.TAKEOVER_REQUEST, DrivingMode.MINIMAL_RISK)


#: The driver of a scenario that names none: seen as attentive by the monitoring, never answers a
#: takeover request (the stack's own fallbacks are what such a scenario exercises).
UNRESPONSIVE_DRIVER = DriverSpec(available=True, reaction_time=(0.0, 0.0), responds=False)


class DriverModel:
    """One CAV's driver. spec: the scenario's driver (None: :data:`UNRESPONSIVE_DRIVER`)."""

    def __init__(self, spec: DriverSpec | None):
        self._spec = spec if spec is not None else UNRESPONSIVE_DRIVER
        self._takes_over_at: float | None = None
        self._requested = False
        self._in_control = False

    def available(self, now: float) -> bool:
        """Awake and able to take over at ``now`` [s]."""
        spec = self._spec
        return spec.available and (spec.unavailable_from is None or now < spec.unavailable_from)

    def observe(self, mode: ModeCommand, rng: np.random.Generator) -> None:
        """See the stack's mode (stamped [s]); a new takeover request starts the reaction."""
        if mode.mode is DrivingMode.TAKEOVER_REQUEST and not self._requested:
            self._requested = True
            if self.available(mode.header.stamp) and self._spec.responds:
                low, high = self._spec.reaction_time
                self._takes_over_at = mode.header.stamp + float(rng.uniform(low, high))
        elif mode.mode not in _REQUEST_MODES and not self._in_control:
            self._requested, self._takes_over_at = False, None

    def hand_over(self) -> None:
        """The world's driver model drives the CAV from now on."""
        self._in_control = True

    def state(self, now: float) -> DriverState:
        """The driver state at ``now`` [s]; takes the controls once the reaction time has passed."""
        if self._takes_over_at is not None and now >= self._takes_over_at:
            self._in_control = True
        return DriverState(Header(now, BASE_LINK_FRAME), self.available(now), self._in_control)
