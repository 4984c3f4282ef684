"""How the storyboard moves an entity: transition shapes and the running private actions.

A :class:`Mover` is an entity the world moves itself (not the stack's ego): it has a road state
(SUMO ``edge``, road ``s`` [m], lateral ``u`` [m], see :mod:`cav_stack.sim.openscenario_road`) and a
``speed`` [m/s] along its lane, or follows a map polyline. Each running action updates it once per
step; an action reports when it is complete. Transition shapes map progress x in [0, 1] to [0, 1]:
step (1), linear (x), cubic (3x^2 - 2x^3), sinusoidal ((1 - cos(pi x)) / 2); their peak slopes are 1,
1.5 and pi/2, which turn a rate (peak m/s^2 of a speed change, peak lateral m/s of a lane change)
into a duration.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Callable

import numpy as np

from cav_stack.world.openscenario.storyboard import TransitionDynamics

SHAPES: dict[str, Callable[[float], float]] = {
    "step": lambda x: 1.0, "linear": lambda x: x, "cubic": lambda x: 3.0 * x * x - 2.0 * x ** 3,
    "sinusoidal": lambda x: 0.5 * (1.0 - math.cos(math.pi * x)),
}
PEAK_SLOPE = {"step": 0.0, "linear": 1.0, "cubic": 1.5, "sinusoidal": math.pi / 2.0}
#: Peak lateral acceleration of a displacement of 1 m over 1 s per shape [m/s^2] (linear: a
#: bang-bang profile), used to turn LaneOffsetAction's maxLateralAcc into a duration.
PEAK_ACCEL = {"step": 0.0, "linear": 4.0, "cubic": 6.0, "sinusoidal": math.pi ** 2 / 2.0}


def transition_duration(dynamics: TransitionDynamics, change: float, speed: float) -> float:
    """Duration [s] of a transition of size ``change`` (m/s or m) at travel ``speed`` [m/s]:
    by time: the value; by distance: the time to travel it; by rate: from the shape's peak
    slope (infinite for a zero rate)."""
    if dynamics.shape == "step":
        return 0.0
    if dynamics.dimension == "time":
        return max(dynamics.value, 0.0)
    if dynamics.dimension == "distance":
        return dynamics.value / max(speed, 0.1)
    rate = abs(dynamics.value)
    return math.inf if rate == 0.0 else abs(change) * PEAK_SLOPE[dynamics.shape] / rate


def offset_duration(shape: str, change: float, max_lateral_acc: float) -> float:
    """Duration [s] of a lateral offset change [m] whose peak acceleration is ``max_lateral_acc``."""
    if shape == "step" or change == 0.0:
        return 0.0
    if max_lateral_acc <= 0.0:
        return math.inf
    return math.sqrt(abs(change) * PEAK_ACCEL[shape] / max_lateral_acc)


@dataclass
class Transition:
    """A value moving from ``start`` to ``end`` along ``shape`` over ``duration`` [s] from ``t0`` [s]."""

    t0: float
    start: float
    end: float
    duration: float
    shape: str

    def value(self, t: float) -> float:
        if self.duration <= 0.0:
            return self.end
        if math.isinf(self.duration):
            return self.start
        x = min(max((t - self.t0) / self.duration, 0.0), 1.0)
        return self.start + (self.end - self.start) * SHAPES[self.shape](x)

    def done(self, t: float) -> bool:
        return t >= self.t0 + self.duration - 1e-9


@dataclass
class Polyline:
    """A map polyline ``points`` (N, 2) [m] with optional vertex ``times`` [s, simulation time]."""

    points: np.ndarray
    times: np.ndarray | None
    travelled: float = 0.0

    def __post_init__(self) -> None:
        self.cumulative = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(self.points, axis=0).T))])

    def at_distance(self, distance: float) -> tuple[float, float, float]:
        """(x, y, yaw) at ``distance`` [m] along the line (clamped to its ends)."""
        k = int(np.clip(np.searchsorted(self.cumulative, distance) - 1, 0, len(self.points) - 2))
        a, b = self.points[k], self.points[k + 1]
        length = max(self.cumulative[k + 1] - self.cumulative[k], 1e-9)
        f = min(max((distance - self.cumulative[k]) / length, 0.0), 1.0)
        point = a + (b - a) * f
        return float(point[0]), float(point[1]), math.atan2(b[1] - a[1], b[0] - a[0])

    def distance_at_time(self, t: float) -> float:
        """Distance [m] along the line at time ``t`` [s] (linear between vertex times)."""
        assert self.times is not None
        return float(np.interp(t, self.times, self.cumulative))

    @property
    def length(self) -> float:
        return float(self.cumulative[-1])


@dataclass
class Mover:
    """An entity the storyboard moves (module docstring). ``front``: distance [m] from its reference
    point to its front bumper (SUMO places front bumpers); ``sign``: +1 when its edge runs in +s."""

    name: str
    edge: str
    s: float
    u: float
    speed: float
    sign: int
    front: float
    speed_transition: Transition | None = None
    lateral_transition: Transition | None = None
    polyline: Polyline | None = None
    released: bool = False
    pose: tuple[float, float, float] = (0.0, 0.0, 0.0)
