"""Combined longitudinal and lateral MPC shaped by a comfort profile.

Each tick the controller projects the ego onto the reference path (lane centre in ``map``),
builds per-stage parameters (path curvature along the predicted motion, lateral reference of a
lane change, speed reference capped by curve and stop-line approach speeds, the leader's
predicted position; in ECO_APPROACH the advised speed is also a soft ceiling reached by
gliding), warm-starts the NLP of :mod:`mpc_problem` from the previous solution shifted by the
elapsed time and solves it. The first stage's commands are applied.

The main solver is by default the real-time iteration (:mod:`cav_stack.control.rti`: one
Gauss-Newton SQP step per tick from that warm start, its QP solved by HPIPM). A solve that
yields no usable plan is repeated once with the rescue solver (``rescue_solver``, a full NLP
solve).
If that fails too, or the solve overruns its time budget, the controller replays the previous plan
(``fallback_shifted``) while it is younger than ``fallback_plan_max_age``, then brakes at a
bounded deceleration with pure-pursuit steering (``fallback_brake``). It never raises for
solver trouble; malformed inputs (path shape, non-finite ego state) raise ValueError.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from cav_stack.control.comfort_profile import ComfortProfile
from cav_stack.control.fallback import braking_trajectory, pure_pursuit_steer
from cav_stack.control.lane_change import LateralManoeuvre, LateralReference
from cav_stack.control.leader_prediction import LeaderPrediction, predict_leader_motion
from cav_stack.control.mpc_params import FATROP, MpcParams
from cav_stack.control.mpc_problem import NU, MpcProblem, SolveResult
from cav_stack.control.reference_path import ReferencePath
from cav_stack.control.steer_bias import SteerBiasObserver
from cav_stack.control.vehicle_models import VehicleParams
from cav_stack.core.messages import (
    BASE_LINK_FRAME,
    ControlCommand,
    DrivingMode,
    EgoState,
    Header,
    ModeCommand,
    Trajectory,
    TrajectoryPoint,
)

STATUS_OK = "ok"
STATUS_FALLBACK_SHIFTED = "fallback_shifted"
STATUS_FALLBACK_BRAKE = "fallback_brake"
CONTROLLER_SOURCE = "mpc"
COMFORT_ENVELOPE_TOLERANCE = 0.05
"""[m/s^2] an initial acceleration this far beyond the comfort bounds is outside the envelope."""
MAX_USUAL_HEADING_ERROR = 0.5
"""[rad] (~29 deg) largest heading error to the path a plan usually starts with (lane changes
stay well below 0.2 rad)."""
#: Arc length [m] standing in for "no leader" / "no stop line" in the constraints.
_FAR_AWAY = 1.0e4
#: Curvature [1/m] below which no curve speed limit applies.
_STRAIGHT_CURVATURE = 1.0e-4


@dataclass(frozen=True)
class MpcOutput:
    """Result of one MPC tick.

    command: the actuator request (``fallback`` set on fallback paths); trajectory: the plan in
    ``map`` (stamped at the tick; share it over V2X); status: ``ok`` | ``fallback_shifted`` |
    ``fallback_brake``; solve_time_s: the solver's own wall time [s] for this tick (0 if it did
    not run); iterations: solver iterations; solver_status: the solver's return status;
    converged: the solver converged (``ok`` with False: a feasible unconverged iterate was used);
    max_slack: largest slack of the plan per soft-constraint group (position [m], comfort accel
    [m/s^2], comfort jerk [m/s^3], speed range [m/s]); zeros on fallback paths.
    """

    command: ControlCommand
    trajectory: Trajectory
    status: str
    solve_time_s: float
    iterations: int
    solver_status: str
    converged: bool
    max_slack: tuple[float, float, float, float]


@dataclass(frozen=True)
class _Plan:
    """The last applied plan: its start time [s], inputs (N, NU) and map trajectory."""

    time: float
    inputs: np.ndarray
    trajectory: Trajectory


class MpcController:
    """Receding-horizon controller; one instance per vehicle, the NLP is built once here."""

    def __init__(self, params: MpcParams, vehicle: VehicleParams, comfort: ComfortProfile,
                 enforce_time_budget: bool = True):
        """enforce_time_budget: treat a solve slower than ``params.solve_time_budget`` (the solver's
        own wall-time measurement) as an overrun. On the vehicle it is on; simulations turn it off
        so that a run is a function of its seed alone (the iteration limit still bounds a solve)."""
        self.enforce_time_budget = enforce_time_budget
        if params.fallback_decel > vehicle.max_decel:
            raise ValueError(f"fallback_decel ({params.fallback_decel}) exceeds the vehicle's "
                             f"max_decel ({vehicle.max_decel})")
        self.params = params
        self.vehicle = vehicle
        self.comfort = comfort
        self.problem = MpcProblem(params, vehicle)
        self._times = params.step * np.arange(params.horizon_steps + 1)
        self._lateral = LateralReference()
        self._steer_bias = SteerBiasObserver(vehicle, params.steer_bias_time_constant,
                                             params.steer_bias_limit, params.steer_bias_min_speed)
        self._warm: tuple[float, SolveResult] | None = None
        self._warm_path: tuple[float, ...] | None = None
        self._ref: tuple[np.ndarray, ReferencePath] | None = None
        self._plan: _Plan | None = None

    def set_comfort_profile(self, comfort: ComfortProfile) -> None:
        """Switch the active comfort profile (takes effect at the next tick, no rebuild)."""
        self.comfort = comfort

    def reset(self) -> None:
        """Forget warm start, last plan and lane-change state (e.g. after a manual takeover)."""
        self._warm = None
        self._plan = None
        self._lateral.reset()
        self._steer_bias.reset()

    # --- the tick ---------------------------------------------------------------------------
    def step(self, now: float, ego: EgoState, path: np.ndarray, target: ModeCommand,
             leader: LeaderPrediction | None) -> MpcOutput:
        """Compute the command for time ``now`` [s].

        ego: state in ``map`` (rear axle); path: (M, 2) lane centre in ``map``, in driving
        direction (never modified in place: its parametrisation is kept while the same array
        comes back); target: mode and targets (``stop_distance`` is measured from the ego's front
        bumper along the path); leader: the vehicle to follow, or None.
        """
        state = (ego.x, ego.y, ego.yaw, ego.speed, ego.accel, ego.steer)
        if not all(math.isfinite(v) for v in state):
            raise ValueError(f"ego state has non-finite values: {state}")
        if self._ref is None or self._ref[0] is not path:
            self._ref = (path, ReferencePath(path))
        ref = self._ref[1]
        path_key = (*ref.vertices[0], *ref.vertices[-1], ref.length)
        if path_key != self._warm_path:
            # a plan in another path's frame (lane changed, run-out path of an ending lane) is no
            # warm start: fatrop hung in its first iteration from one (dense_lane_change, seed 17)
            self._warm, self._warm_path = None, path_key
        s0, lateral, heading_error = ref.project(ego.x, ego.y, ego.yaw)
        x0 = np.array([0.0, lateral, heading_error, ego.speed, ego.accel, ego.steer])
        guess = self._initial_guess(now, x0)
        manoeuvre = self._lateral.update(now, target.target_lane_offset, lateral, self.comfort)
        steer_bias = self._steer_bias.update(now, ego)
        stage, glob, stop_s, speed_cap = self._parameters(now, ref, s0, guess[0], manoeuvre, steer_bias,
                                                          target, leader, ego.speed)
        bounds = self.problem.bounds(x0, self.comfort, target.standstill_gap, stop_s, speed_cap)
        w0 = self.problem.pack(*guess)
        lam = (self._warm[1].lam_g, self._warm[1].lam_x) if self._warm is not None else (None, None)
        has_rescue = self.problem.rescue_solver is not None
        if has_rescue and self.params.solver == FATROP and self._unusual_start(ego.accel, heading_error):
            # fatrop's restoration phase has hung (> 30 s on one tick, ignoring its iteration
            # limit) on plans starting braking harder than the comfort profile allows or at a
            # large heading error (dense_lane_change, a lane change into a short gap and the
            # off-ramp): the rescue solver takes such ticks.
            result = self.problem.solve(stage, glob, bounds, w0, rescue=True)
        else:
            result = self.problem.solve(stage, glob, bounds, w0, *lam)
            if not result.usable and has_rescue:
                # A real-time iteration from a plan far from the new situation, or fatrop stalling
                # (iteration limit, initial-state equality not met) when an abrupt change (a leader
                # braking hard) leaves the comfort bounds far from the plan: the rescue solver
                # solves the full NLP of the tick from the same guess.
                retry = self.problem.solve(stage, glob, bounds, w0, rescue=True)
                result = replace(retry, solve_time_s=result.solve_time_s + retry.solve_time_s,
                                 iterations=result.iterations + retry.iterations)

        if result.usable:
            self._warm = (now, result)
        else:
            self._warm = None
        in_time = not self.enforce_time_budget or result.solve_time_s <= self.params.solve_time_budget
        if result.usable and in_time:
            trajectory = self._trajectory(now, ego, ref, s0, result.states)
            self._plan = _Plan(now, result.inputs, trajectory)
            pos_slack, accel_slack, jerk_slack, speed_slack = (float(v) for v in result.inputs[:, 2:].max(axis=0))
            command = ControlCommand(Header(now, BASE_LINK_FRAME), float(result.inputs[0, 0]),
                                     float(result.inputs[0, 1]), CONTROLLER_SOURCE, False)
            return MpcOutput(command, trajectory, STATUS_OK, result.solve_time_s, result.iterations,
                             result.return_status, result.success,
                             (pos_slack, accel_slack, jerk_slack, speed_slack))
        return self._fallback(now, ego, ref, float(manoeuvre.offset(now)), result)

    # --- helpers ----------------------------------------------------------------------------
    def _unusual_start(self, accel: float, heading_error: float) -> bool:
        """The initial acceleration [m/s^2] lies beyond the comfort bounds by more than
        COMFORT_ENVELOPE_TOLERANCE, or the heading error [rad] exceeds MAX_USUAL_HEADING_ERROR."""
        c = self.comfort
        tolerance = COMFORT_ENVELOPE_TOLERANCE
        return (not -c.max_decel - tolerance <= accel <= c.max_accel + tolerance
                or abs(heading_error) > MAX_USUAL_HEADING_ERROR)

    def _initial_guess(self, now: float, x0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """States (N+1, NX) and inputs (N, NU): the previous solution shifted by the elapsed
        time, or constant speed along the path."""
        if self._warm is not None and 0.0 <= now - self._warm[0] <= self.params.fallback_plan_max_age:
            prev_time, prev = self._warm
            t = self._times + (now - prev_time)
            states = _interp_rows(t, self._times, prev.states)
            inputs = _interp_rows(t[:-1], self._times[:-1], prev.inputs)
            states[:, 0] -= states[0, 0]
            states[0] = x0
            return states, inputs
        n = self.params.horizon_steps
        states = np.tile(x0, (n + 1, 1))
        states[:, 0] = max(x0[3], 0.0) * self._times
        states[:, 4] = 0.0
        return states, np.zeros((n, NU))

    def _parameters(self, now: float, ref: ReferencePath, s0: float, states_guess: np.ndarray,
                    manoeuvre: LateralManoeuvre, steer_bias: float, target: ModeCommand,
                    leader: LeaderPrediction | None,
                    speed: float) -> tuple[np.ndarray, np.ndarray, float, np.ndarray | None]:
        """Stage parameters (N+1, 5), global parameters, the stop-line arc length [m] of
        the rear-axle-relative path frame (``inf``: no stop line) and the speed ceiling [m/s] per
        stage (None: none beyond the vehicle's); ``speed`` [m/s]: the ego's now."""
        p, c = self.params, self.comfort
        n = p.horizon_steps
        front = self.problem.front_offset
        s_guess = s0 + states_guess[:, 0]
        curvature = ref.curvature(s_guess)

        lateral_ref = manoeuvre.offset(now + self._times)
        speed_guess = np.maximum(states_guess[:, 3], 1.0)
        heading_ref = np.arctan2(manoeuvre.rate(now + self._times), speed_guess)

        stop_s = math.inf if target.stop_distance is None else front + target.stop_distance
        if target.mode is DrivingMode.ECO_APPROACH:
            speed_cap = self._speed_ceiling(target.target_speed, speed)
            speed_ref = self._speed_reference(speed_cap, curvature, states_guess[:, 0], stop_s - front,
                                              p.eco_glide_decel)
        else:
            speed_cap = None
            speed_ref = self._speed_reference(np.full(n + 1, target.target_speed), curvature, states_guess[:, 0],
                                              stop_s - front, p.approach_decel_ratio * c.max_decel)

        if leader is not None:
            use_accel = leader.source == "v2x" or p.sensor_leader_model == "constant_acceleration"
            travelled, _ = predict_leader_motion(leader, self._times, use_accel)
            leader_s = leader.gap + front + travelled
            weight_gap = p.weight_gap
            faster = (leader.speed - target.target_speed) / p.gap_pull_release_speed
            weight_pull = p.weight_gap * min(max(1.0 - faster, 0.0), 1.0)
        else:
            leader_s = np.full(n + 1, _FAR_AWAY)
            weight_gap = weight_pull = 0.0

        time_gap = self._time_gap_profile(target, leader, float(states_guess[0, 3]))
        stage = np.column_stack([curvature, lateral_ref, heading_ref, speed_ref, leader_s, time_gap])
        glob = np.array([target.standstill_gap, weight_gap, weight_pull, c.max_decel,
                         c.weight_jerk, c.weight_steer_rate, c.weight_accel, c.weight_lateral_accel,
                         steer_bias])
        return stage, glob, stop_s, speed_cap

    def _time_gap_profile(self, target: ModeCommand, leader: LeaderPrediction | None,
                          speed: float) -> np.ndarray:
        """Time gap [s] per stage of the gap constraint and gap tracking.

        The target's, unless the ego is inside it now or will be on braking comfortably to the
        leader's speed (a cut-in, a switch to a larger gap, a start from a shorter spacing, a
        slower car appearing ahead): then the profile starts at the time gap left after such a
        braking (the gap minus closing² / (2 b), b = approach_decel_ratio * comfort decel, at the
        ego's ``speed`` [m/s]) and, once that braking is over (closing / b), grows to the target
        as if the gap opened at ``gap_recovery_speed``.
        The plan opens the gap gradually instead of braking beyond the comfort bounds on the
        exact penalty of a constraint it cannot meet at once; the standstill gap always holds.
        """
        full = np.full(self.params.horizon_steps + 1, target.time_gap)
        if leader is None:
            return full
        speed = max(speed, 1e-3)
        closing = max(speed - leader.speed, 0.0)
        comfortable = self.params.approach_decel_ratio * self.comfort.max_decel
        reachable = leader.gap - closing**2 / (2.0 * comfortable) - target.standstill_gap
        start = max(reachable, 0.0) / speed
        recovering = np.maximum(self._times - closing / comfortable, 0.0)
        time_gap: np.ndarray = np.minimum(full, start + self.params.gap_recovery_speed * recovering / speed)
        return time_gap

    def _speed_ceiling(self, advised_speed: float, speed: float) -> np.ndarray:
        """Speed ceiling [m/s] per stage of an ECO_APPROACH: the advised speed, reached from the
        current ``speed`` [m/s] above it by gliding at ``eco_glide_decel``.

        Eco-driving at signals (e.g. Asadi & Vahidi, IEEE TCST 19(3), 2011; Mensing et al.,
        Transp. Res. D 18, 2013): kinetic energy that the car would later brake away is not
        bought in the first place, and the speed is shed by coasting in fuel cut-off rather than
        by braking after cruising; the car never speeds past the advice (e.g. to close up to a
        leader) only to slow down again before the line."""
        glide = speed - self.params.eco_glide_decel * self._times
        ceiling: np.ndarray = np.maximum(max(advised_speed, 0.0), glide)
        return ceiling

    def _speed_reference(self, target_speed: np.ndarray, curvature: np.ndarray, s: np.ndarray,
                         stop_s: float, decel: float) -> np.ndarray:
        """Speed reference [m/s] per stage: the target speed per stage, capped by the curve speed
        at each stage and by a stop at arc length ``stop_s`` [m] (inf: none), each approached from
        the stages before at ``decel`` [m/s^2]. ``s`` [m]: the predicted arc length per stage."""
        p, c = self.params, self.comfort
        limit: np.ndarray = np.clip(target_speed, 0.0, self.vehicle.max_speed)
        curvy = np.abs(curvature) > _STRAIGHT_CURVATURE
        limit[curvy] = np.minimum(limit[curvy], np.sqrt(
            p.curve_lateral_accel_ratio * c.max_lateral_accel / np.abs(curvature[curvy])))
        limit = np.minimum(limit, np.sqrt(2.0 * decel * np.maximum(stop_s - s, 0.0)))
        for k in range(s.size - 2, -1, -1):   # reachable by braking at `decel` (v² = v_next² + 2 b Δs)
            limit[k] = min(limit[k], math.sqrt(limit[k + 1] ** 2 + 2.0 * decel * max(s[k + 1] - s[k], 0.0)))
        return limit

    def _trajectory(self, now: float, ego: EgoState, ref: ReferencePath, s0: float,
                    states: np.ndarray) -> Trajectory:
        s = s0 + states[:, 0]
        x, y = ref.to_map(s, states[:, 1])
        yaw = ref.heading(s) + states[:, 2]
        points = tuple(TrajectoryPoint(*values) for values in zip(
            self._times.tolist(), x.tolist(), y.tolist(), yaw.tolist(), states[:, 3].tolist(), states[:, 4].tolist(),
            strict=True))
        return Trajectory(Header(now, ego.header.frame_id), points)

    def _fallback(self, now: float, ego: EgoState, ref: ReferencePath, lateral_target: float,
                  result: SolveResult) -> MpcOutput:
        p = self.params
        zero_slack = (0.0, 0.0, 0.0, 0.0)
        plan = self._plan
        if plan is not None and 0.0 <= now - plan.time <= p.fallback_plan_max_age:
            k = min(int((now - plan.time) / p.step), p.horizon_steps - 1)
            command = ControlCommand(Header(now, BASE_LINK_FRAME), float(plan.inputs[k, 0]),
                                     float(plan.inputs[k, 1]), CONTROLLER_SOURCE, True)
            return MpcOutput(command, plan.trajectory, STATUS_FALLBACK_SHIFTED, result.solve_time_s,
                             result.iterations, result.return_status, result.success, zero_slack)
        lookahead = max(p.fallback_min_lookahead, ego.speed * p.fallback_lookahead_time)
        steer = pure_pursuit_steer(ref, ego, lateral_target, lookahead, self.vehicle)
        accel = -p.fallback_decel if ego.speed > 0.0 else 0.0
        command = ControlCommand(Header(now, BASE_LINK_FRAME), accel, steer, CONTROLLER_SOURCE, True)
        trajectory = braking_trajectory(ref, ego, p.fallback_decel, p.step, p.horizon_steps + 1)
        return MpcOutput(command, trajectory, STATUS_FALLBACK_BRAKE, result.solve_time_s,
                         result.iterations, result.return_status, result.success, zero_slack)


def _interp_rows(t: np.ndarray, grid: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Rows of ``values`` (one per point of the increasing ``grid``) linearly interpolated at
    ``t`` >= grid[0], held at the last row beyond the grid (``np.interp`` on every column)."""
    idx = np.clip(np.searchsorted(grid, t, side="right") - 1, 0, grid.size - 2)
    frac = np.clip((t - grid[idx]) / (grid[idx + 1] - grid[idx]), 0.0, 1.0)[:, None]
    rows: np.ndarray = values[idx] + frac * (values[idx + 1] - values[idx])
    return rows
