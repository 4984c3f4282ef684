"""Tunables of the MPC (``controllers/mpc.yaml``: ``mpc_controller: ros__parameters: mpc:``)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cav_stack.core.params import ParamsError, bind_params, read_yaml, validate_positive

MPC_NODE = "mpc_controller"
#: Key of the MPC's own section under the node's ``ros__parameters``.
MPC_SECTION = "mpc"

#: Solver configurations the controller can build (see ``benchmarks/mpc.py`` for the comparison).
SOLVER_RTI = "rti_hpipm"
FATROP = "fatrop"
SOLVERS = (SOLVER_RTI, FATROP, "ipopt", "sqpmethod_qrqp", "sqpmethod_osqp")
#: ``rescue_solver`` value for "no rescue solver".
RESCUE_NONE = "none"
#: How a leader seen only by onboard sensors is extrapolated over the horizon.
SENSOR_LEADER_MODELS = ("constant_acceleration", "constant_speed")


@dataclass(frozen=True)
class MpcParams:
    """MPC horizon, solver, tracking weights, penalties and fallback behaviour.

    horizon_steps: number of MPC stages N; step [s]: stage length; integration_substeps: RK4
    steps per stage; solver: one of :data:`SOLVERS`; rescue_solver: one of :data:`SOLVERS`
    (other than ``solver``) that re-solves a tick whose main solve gave no usable plan, or
    :data:`RESCUE_NONE`; max_iterations, tolerance: solver limits;
    acceptable_constraint_violation: a solve that stops unconverged is still used when its
    iterate violates no constraint by more than this (mixed units: m, m/s, ...);
    rti_max_iterations, rti_step_tolerance: Gauss-Newton SQP steps per tick at most, and the
    largest step component (mixed units) ending them early, of the ``rti_hpipm`` solver
    (:mod:`cav_stack.control.rti`; 1 step: the real-time iteration); from a cold start it takes
    up to ``max_iterations`` steps, as it does while a step leaves a constraint violated by more
    than ``rti_feasibility_tolerance`` (mixed units; an abrupt change of the situation), the
    largest violation its plans may have;
    solve_time_budget [s] (YAML ``solve_time_budget_ms``): a solve taking longer counts as overrun.
    codegen: the main solver evaluates the NLP's functions compiled to C
    (:mod:`cav_stack.control.nlp_codegen`) instead of CasADi's SX virtual machine; same solution,
    1.4-1.8x faster solves; codegen_compiler: C compiler command (gcc, clang, a path); when it is
    missing or fails the solver stays interpreted, with a warning; codegen_cache_dir: directory
    of the compiled libraries ("" = :func:`~cav_stack.control.nlp_codegen.default_cache_dir`).
    weight_lateral_offset [1/m^2], weight_heading [1/rad^2], weight_speed [1/(m/s)^2],
    weight_gap [1/m^2] (only with a leader): tracking weights per stage; gap_pull_range [m]: a gap
    larger than desired pulls the ego forward only up to this excess (the cost saturates beyond it,
    so a leader far ahead does not make the car exceed its target speed; a gap too short is
    penalised quadratically without limit); gap_pull_release_speed [m/s]: the pull fades out as
    the leader's speed exceeds the target speed by up to this much (a target speed below the
    traffic ahead, e.g. while letting a gap of the next lane come alongside or opening a gap for
    a merging car, is driven, not traded against the pull: an ACC's set speed below the leader's
    speed, ISO 15622); terminal_weight_factor:
    multiplies the tracking weights at the last stage. gap_recovery_speed [m/s]: the relative speed
    at which the plan opens a gap shorter than the target's time gap
    (:meth:`MpcController._time_gap_profile`).
    slack_weight_linear, slack_weight_quadratic: exact-penalty weights of the soft constraints'
    slack (gap/stop-line [m], comfort accel [m/s^2], comfort jerk [m/s^3], speed range [m/s]).
    sensor_leader_model: one of :data:`SENSOR_LEADER_MODELS`.
    leader_accel_filter_time_constant [s]: a leader's acceleration measured by onboard sensors is
    low-passed with this time constant before it is predicted, 0: not at all;
    leader_accel_manoeuvre_gate [m/s^2]: when the mean of the last two measurements differs from
    the low-passed estimate by more, the latest is taken as it is (the leader brakes or releases)
    (:class:`~cav_stack.control.leader_prediction.LeaderAccelEstimate`).
    approach_decel_ratio: fraction of the comfort deceleration with which the speed reference
    approaches a stop line or a curve's speed (the constraints allow the full comfort value);
    curve_lateral_accel_ratio: the speed reference in a curve keeps the lateral acceleration at
    this fraction of the comfort bound (margin for tracking transients).
    eco_glide_decel [m/s^2] (positive): in ECO_APPROACH the advised speed is a ceiling that a
    faster car reaches by gliding at this deceleration (above the engine's fuel cut-off threshold,
    below braking), and stop lines and curves are approached at it instead of
    ``approach_decel_ratio`` (:meth:`MpcController._speed_ceiling`).
    steer_bias_time_constant [s], steer_bias_limit [rad] (YAML ``_deg``), steer_bias_min_speed
    [m/s]: the steering-offset observer (:mod:`cav_stack.control.steer_bias`).
    fallback_decel [m/s^2] (positive): braking of the last-resort fallback;
    fallback_plan_max_age [s]: oldest previous plan the shifted fallback may replay;
    fallback_lookahead_time [s], fallback_min_lookahead [m]: pure-pursuit steering in fallback.
    """

    horizon_steps: int
    step: float
    integration_substeps: int
    solver: str
    rescue_solver: str
    max_iterations: int
    tolerance: float
    acceptable_constraint_violation: float
    rti_max_iterations: int
    rti_step_tolerance: float
    rti_feasibility_tolerance: float
    solve_time_budget: float
    codegen: bool
    codegen_compiler: str
    codegen_cache_dir: str
    weight_lateral_offset: float
    weight_heading: float
    weight_speed: float
    weight_gap: float
    gap_pull_range: float
    gap_pull_release_speed: float
    terminal_weight_factor: float
    gap_recovery_speed: float
    slack_weight_linear: float
    slack_weight_quadratic: float
    sensor_leader_model: str
    leader_accel_filter_time_constant: float
    leader_accel_manoeuvre_gate: float
    approach_decel_ratio: float
    curve_lateral_accel_ratio: float
    eco_glide_decel: float
    steer_bias_time_constant: float
    steer_bias_limit: float
    steer_bias_min_speed: float
    fallback_decel: float
    fallback_plan_max_age: float
    fallback_lookahead_time: float
    fallback_min_lookahead: float

    def __post_init__(self) -> None:
        validate_positive(
            step=self.step, tolerance=self.tolerance,
            acceptable_constraint_violation=self.acceptable_constraint_violation,
            solve_time_budget=self.solve_time_budget,
            rti_step_tolerance=self.rti_step_tolerance, rti_feasibility_tolerance=self.rti_feasibility_tolerance,
            leader_accel_manoeuvre_gate=self.leader_accel_manoeuvre_gate,
            slack_weight_linear=self.slack_weight_linear, gap_recovery_speed=self.gap_recovery_speed,
            gap_pull_range=self.gap_pull_range, gap_pull_release_speed=self.gap_pull_release_speed,
            approach_decel_ratio=self.approach_decel_ratio,
            curve_lateral_accel_ratio=self.curve_lateral_accel_ratio,
            eco_glide_decel=self.eco_glide_decel,
            steer_bias_time_constant=self.steer_bias_time_constant,
            steer_bias_limit=self.steer_bias_limit, steer_bias_min_speed=self.steer_bias_min_speed,
            fallback_decel=self.fallback_decel,
            fallback_plan_max_age=self.fallback_plan_max_age,
            fallback_lookahead_time=self.fallback_lookahead_time,
            fallback_min_lookahead=self.fallback_min_lookahead,
        )
        if self.horizon_steps < 2:
            raise ValueError(f"horizon_steps must be >= 2, got {self.horizon_steps}")
        if self.integration_substeps < 1 or self.max_iterations < 1 or self.rti_max_iterations < 1:
            raise ValueError("integration_substeps, max_iterations and rti_max_iterations must be >= 1")
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {self.solver!r}")
        if self.rescue_solver != RESCUE_NONE and (self.rescue_solver not in SOLVERS
                                                  or self.rescue_solver == self.solver):
            raise ValueError(f"rescue_solver must be '{RESCUE_NONE}' or one of {SOLVERS} other than "
                             f"solver ({self.solver!r}), got {self.rescue_solver!r}")
        if self.codegen and not self.codegen_compiler.strip():
            raise ValueError("codegen_compiler must name a C compiler when codegen is true")
        if self.sensor_leader_model not in SENSOR_LEADER_MODELS:
            raise ValueError(
                f"sensor_leader_model must be one of {SENSOR_LEADER_MODELS}, got {self.sensor_leader_model!r}")
        for name in ("weight_lateral_offset", "weight_heading", "weight_speed", "weight_gap",
                     "terminal_weight_factor", "slack_weight_quadratic"):
            if getattr(self, name) < 0.0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")


def load_mpc_params(path: str | Path, node_name: str = MPC_NODE) -> MpcParams:
    """Load :class:`MpcParams` from ``node_name: ros__parameters: mpc:`` of a ROS 2 params file
    (the node's other keys are the node's business). Raises ParamsError on bad input."""
    data, lines = read_yaml(path)
    section = data.get(node_name) if isinstance(data, dict) else None
    params = section.get("ros__parameters") if isinstance(section, dict) else None
    if not isinstance(params, dict) or MPC_SECTION not in params:
        raise ParamsError(path, f"{node_name}.ros__parameters.{MPC_SECTION}", "missing section",
                          lines.get(node_name))
    return bind_params(MpcParams, params[MPC_SECTION], path, lines,
                       f"{node_name}.ros__parameters.{MPC_SECTION}")
