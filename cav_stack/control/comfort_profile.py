"""Driver comfort profiles: the bounds and weights that shape the MPC's ride.

Profiles live in ``controllers/comfort.yaml`` under ``comfort_profiles: ros__parameters:
profiles: <name>: {...}``. Bounds are soft in the MPC (penalised slack) so that an emergency can
exceed them; the vehicle's physical limits stay hard.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cav_stack.core.params import ParamsError, bind_params, read_yaml, validate_positive

COMFORT_NODE = "comfort_profiles"


@dataclass(frozen=True)
class ComfortProfile:
    """Comfort bounds and weights of one driver profile.

    max_accel, max_decel (positive) [m/s^2]: longitudinal acceleration bounds;
    max_jerk [m/s^3]: longitudinal jerk bound; max_lateral_accel [m/s^2]; max_lateral_jerk [m/s^3];
    lane_change_lateral_accel [m/s^2], lane_change_lateral_jerk [m/s^3]: peaks of the lateral
    reference profile of a lane change (they set its duration), lane_change_min_duration [s];
    weight_jerk [1/(m/s^3)^2], weight_steer_rate [1/(rad/s)^2], weight_accel [1/(m/s^2)^2],
    weight_lateral_accel [1/(m/s^2)^2]: MPC cost weights per stage.
    """

    max_accel: float
    max_decel: float
    max_jerk: float
    max_lateral_accel: float
    max_lateral_jerk: float
    lane_change_lateral_accel: float
    lane_change_lateral_jerk: float
    lane_change_min_duration: float
    weight_jerk: float
    weight_steer_rate: float
    weight_accel: float
    weight_lateral_accel: float

    def __post_init__(self) -> None:
        validate_positive(
            max_accel=self.max_accel, max_decel=self.max_decel, max_jerk=self.max_jerk,
            max_lateral_accel=self.max_lateral_accel, max_lateral_jerk=self.max_lateral_jerk,
            lane_change_lateral_accel=self.lane_change_lateral_accel,
            lane_change_lateral_jerk=self.lane_change_lateral_jerk,
            lane_change_min_duration=self.lane_change_min_duration,
        )
        for name in ("weight_jerk", "weight_steer_rate", "weight_accel", "weight_lateral_accel"):
            if getattr(self, name) < 0.0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class ComfortProfiles:
    """All profiles of a comfort file, by name."""

    profiles: dict[str, ComfortProfile]


def load_comfort_profile(path: str | Path, name: str) -> ComfortProfile:
    """Load profile ``name`` (e.g. ``comfort``, ``normal``, ``sporty``) from a comfort YAML file.

    Raises :class:`ParamsError` naming the file and key when the file, the section or the
    profile is missing or malformed.
    """
    data, lines = read_yaml(path)
    section = data.get(COMFORT_NODE) if isinstance(data, dict) else None
    if not isinstance(section, dict) or "ros__parameters" not in section:
        raise ParamsError(path, COMFORT_NODE, "expected 'comfort_profiles: ros__parameters:'")
    profiles = bind_params(ComfortProfiles, section["ros__parameters"], path, lines,
                           f"{COMFORT_NODE}.ros__parameters").profiles
    if name not in profiles:
        raise ParamsError(path, f"{COMFORT_NODE}.ros__parameters.profiles.{name}",
                          f"no such profile (known: {', '.join(sorted(profiles))})")
    return profiles[name]
