"""World bridge to SUMO: background traffic, signals and scripted events; CAVs pushed in.

:class:`SumoWorld` runs a :class:`~cav_stack.world.scenario.Scenario` headless with a fixed step,
seeded (``--seed`` and the pre-populated traffic). CAVs are SUMO vehicles that SUMO never drives:
their speed and lane-change modes are 0 and :meth:`SumoWorld.set_cav_state` places them each step
(``moveToXY``), so other traffic still reacts to them. Teleports are disabled and SUMO only warns
on collisions (metrics detect collisions from the truth boxes).

Truth (:mod:`cav_stack.core.truth`) is in ``map`` [m] with the box centre as position and REP 103
yaw; SUMO's own convention (front-bumper position, heading clockwise from north in degrees) is
converted here only. Fuel rate is SUMO's emission model output converted from mg/s to kg/s.

Backends: ``libsumo`` (in-process, one simulation per process at a time) or ``traci`` (starts the
``sumo`` executable and talks to it over a local socket). Both are imported lazily.
"""
from __future__ import annotations

import math
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from cav_stack.core.frames import sumo_angle_to_yaw, yaw_to_sumo_angle
from cav_stack.core.params import validate_positive
from cav_stack.core.truth import SignalTruth, VehicleTruth, WorldTruth
from cav_stack.world.scenario import CLOSED_EDGE_TRAVEL_TIME, CutInEvent, Scenario, drawn_vehicles
from cav_stack.world.road_map import RoadMap
from cav_stack.sim.network_build import (SumoNotAvailableError, build_network, sumo_binary,
                                         sumo_environment)
from cav_stack.sim.sumo_events import EventRecord, EventRunner, make_runner
from cav_stack.sim.sumo_routes import SumoCavDriver, write_route_file

__all__ = ["SumoWorld", "SumoCavDriver", "SumoNotAvailableError", "SumoStartError", "SumoTerminatedError",
           "EventRecord"]

BACKENDS = ("libsumo", "traci")
_MG_PER_KG = 1.0e6
#: laneChangeMode of a cut-in vehicle: no own lane changes; TraCI requests avoid immediate collisions.
_LC_MODE_SCRIPTED = 0b01_00_00_00_00
#: laneChangeMode of a CAV driven by SUMO: strategic changes only (no speed-gain, keep-right or
#: cooperative changes), so that merges and exits complete while the lane is otherwise kept.
_LC_MODE_STRATEGIC_ONLY = 0b01_00_00_00_01
#: speedMode of a vehicle SUMO drives itself: every safety check of its car-following model on.
_SPEED_MODE_DEFAULT = 0b01_11_11
_TRACI_CONNECT_RETRIES = 20
_TRACI_CLOSE_TIMEOUT_S = 10.0
_SUMO_EXIT_WAIT_S = 2.0  # a failing SUMO exits within milliseconds; bounded for one that does not

_libsumo_owner: SumoWorld | None = None


class SumoStartError(RuntimeError):
    """SUMO refused the scenario (bad network/routes/options) or could not be started."""


class SumoTerminatedError(RuntimeError):
    """SUMO stopped or failed while running (message has SUMO's error log)."""


def _vehicle_variables(tc: Any) -> tuple[int, ...]:
    return (tc.VAR_POSITION, tc.VAR_ANGLE, tc.VAR_SPEED, tc.VAR_ACCELERATION, tc.VAR_ROAD_ID,
            tc.VAR_LANE_INDEX, tc.VAR_LANEPOSITION, tc.VAR_FUELCONSUMPTION)


class SumoWorld:
    """A running SUMO simulation of one scenario (see the module docstring).

    Use as a context manager or call :meth:`close`; SUMO is closed on every exit path.
    """

    def __init__(self, scenario: Scenario, seed: int, *, backend: str = "libsumo",
                 cache_dir: str | Path, step_length: float = 0.05, cav_driver: SumoCavDriver | None = None):
        """``seed`` seeds SUMO and the pre-populated traffic; ``cache_dir`` holds built networks
        and per-run temporary files; ``step_length`` [s] is the fixed simulation step;
        ``cav_driver``: None when the stack drives the CAVs (pushed with :meth:`set_cav_state`),
        else SUMO's own car-following model drives them (the SUMO baselines)."""
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got '{backend}'")
        validate_positive(step_length=step_length)
        self.scenario = scenario
        self.seed = int(seed)
        self.backend = backend
        self.step_length = float(step_length)
        self.cav_driver = cav_driver
        self._cache_dir = Path(cache_dir)
        self._sim: Any = None
        self._tc: Any = None
        self._process: subprocess.Popen | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._road_map: RoadMap | None = None
        self._time = 0.0
        self._static: dict[str, tuple[float, float, float, str]] = {}
        #: vehicles of the flows that carry CAVs, drawn from the seed (CAVs among them)
        self.drawn = drawn_vehicles(scenario, self.seed)
        self._cav_ids = {cav.id for cav in scenario.cavs} | {v.id for v in self.drawn if v.is_cav}
        self._cut_in_vehicles = {e.vehicle for e in scenario.events if isinstance(e, CutInEvent)}
        self._cav_initial: dict[str, VehicleTruth] = {}
        self._cav_gone: set[str] = set()
        self._tls_ids: tuple[str, ...] = ()
        self._truth = WorldTruth(stamp=0.0)
        self._event_runners: list[EventRunner] = []
        self._storyboard: Any = None          # StoryboardRunner of an OpenSCENARIO scenario
        self._object_classes = {t.id: t.object_class for t in scenario.vehicle_types if t.object_class}
        self._closed_edges: set[str] = set()
        self._incident_vehicles: set[str] = set()
        self.event_log: list[EventRecord] = []
        self._error_log: Path | None = None
        self._sumo_errors: tuple[type[BaseException], ...] = ()
        self._started = False
        self._closed = False

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> WorldTruth:
        """Build the network, start SUMO and run its insertion step; return the truth after it.

        The returned stamp is one ``step_length``: SUMO inserts vehicles departing at 0 during its
        first step, at their depart positions. Raises :class:`SumoNotAvailableError`,
        :class:`SumoStartError` or :class:`~cav_stack.core.params.ParamsError` (scenario routes
        not in the network); SUMO is closed before any of these propagate.
        """
        if self._started:
            raise RuntimeError("SumoWorld.start() was already called")
        self._started = True
        try:
            return self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> WorldTruth:
        net_file = build_network(self.scenario.network_dir, self._cache_dir)
        self._road_map = RoadMap.from_net_file(net_file)
        self._net_file = net_file
        self._tmp = tempfile.TemporaryDirectory(dir=self._cache_dir, prefix="run-")
        run_dir = Path(self._tmp.name)
        routes = run_dir / "routes.rou.xml"
        write_route_file(self.scenario, self._road_map, np.random.default_rng(self.seed), routes,
                         self.cav_driver, self.drawn)
        error_log = run_dir / "sumo-errors.log"
        self._error_log = error_log
        options = [
            "-n", str(net_file), "-r", str(routes),
            "--step-length", repr(self.step_length), "--begin", "0", "--seed", str(self.seed),
            "--lanechange.duration", repr(self.scenario.lane_change_duration),
            "--collision.action", "warn", "--time-to-teleport", "-1",
            "--no-step-log", "true", "--no-warnings", "true", "--duration-log.disable", "true",
            "--xml-validation", "never", "--error-log", str(error_log),
        ]
        if self.backend == "libsumo":
            self._sim = self._start_libsumo(options, error_log)
        else:
            self._sim = self._start_traci(options, error_log)
        try:
            return self._initialise()
        except self._sumo_errors as exc:
            raise SumoStartError(f"SUMO failed while loading the scenario: {exc}\n"
                                 f"{self._error_log_text()}".strip()) from exc
        except SumoTerminatedError as exc:
            raise SumoStartError(f"SUMO failed while loading the scenario: {exc}") from exc

    def _initialise(self) -> WorldTruth:
        from traci import constants as tc
        self._tc = tc
        self._sim.simulation.subscribe([tc.VAR_DEPARTED_VEHICLES_IDS, tc.VAR_ARRIVED_VEHICLES_IDS])
        self._tls_ids = tuple(sorted(self._sim.trafficlight.getIDList()))
        for tls_id in self._tls_ids:
            self._sim.trafficlight.subscribe(tls_id, [tc.TL_RED_YELLOW_GREEN_STATE, tc.TL_CURRENT_PHASE,
                                                      tc.TL_NEXT_SWITCH])
        self._event_runners = [make_runner(event, index, self) for index, event in enumerate(self.scenario.events)]
        if self.scenario.storyboard is not None:
            from cav_stack.sim.openscenario_road import RoadFrame
            from cav_stack.sim.storyboard_runner import StoryboardRunner
            frame = RoadFrame(self._net_file, self.road_map(), RoadFrame.road_lengths_of(
                Path(self.scenario.storyboard.opendrive)))
            self._storyboard = StoryboardRunner(self.scenario.storyboard, frame, self.step_length,
                                                lambda kind, vehicle, detail, **values: self.event_log.append(
                                                    EventRecord(self._time, kind, vehicle, detail, values)))
        truth = self.step()
        missing = [c.id for c in self.scenario.cavs if c.depart == 0.0 and c.id not in self._cav_initial]
        if missing:
            raise SumoStartError(f"SUMO could not insert CAV(s) {', '.join(missing)} at their depart "
                                 f"positions (blocked?); check 'cavs' in {self.scenario.source}")
        return truth

    def _start_libsumo(self, options: list[str], error_log: Path) -> Any:
        global _libsumo_owner
        try:
            import libsumo
        except ImportError as exc:
            raise SumoNotAvailableError("the 'libsumo' Python module is not installed") from exc
        if _libsumo_owner is not None or libsumo.simulation.isLoaded():
            raise SumoStartError("libsumo already runs a simulation in this process (one per process); "
                                 "close it first or use backend='traci'")
        try:
            libsumo.start(["sumo", *options])
        except libsumo.TraCIException as exc:
            if libsumo.simulation.isLoaded():  # a failed load can leave libsumo half-initialised
                libsumo.close()
            raise SumoStartError(f"SUMO failed to start: {exc}\n{_read(error_log)}") from exc
        _libsumo_owner = self
        self._sumo_errors = (libsumo.TraCIException,)
        return libsumo

    def _start_traci(self, options: list[str], error_log: Path) -> Any:
        try:
            import traci
        except ImportError as exc:
            raise SumoNotAvailableError("the 'traci' Python module is not installed") from exc
        binary = sumo_binary("sumo")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self._process = subprocess.Popen([str(binary), *options, "--remote-port", str(port)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         env=sumo_environment(binary))
        self._sumo_errors = (traci.TraCIException, traci.FatalTraCIError, OSError)
        try:
            return traci.connect(port, numRetries=_TRACI_CONNECT_RETRIES, host="127.0.0.1", proc=self._process)
        except self._sumo_errors as exc:
            raise SumoStartError(f"SUMO failed to start: {exc}\n{_read(error_log)}") from exc

    def close(self) -> None:
        """Close SUMO and remove the run's temporary files. Idempotent."""
        global _libsumo_owner
        if self._closed:
            return
        self._closed = True
        sim, self._sim = self._sim, None
        try:
            if sim is not None:
                sim.close()
        except Exception:  # noqa: BLE001 - SUMO may already be gone; closing must not fail
            pass
        finally:
            if _libsumo_owner is self:
                _libsumo_owner = None
            if self._process is not None:
                try:
                    self._process.wait(timeout=_TRACI_CLOSE_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            if self._tmp is not None:
                self._tmp.cleanup()

    def __enter__(self) -> SumoWorld:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # --- stepping -------------------------------------------------------------------------

    @property
    def time(self) -> float:
        """Simulation time [s] of the last truth."""
        return self._time

    @property
    def storyboard_done(self) -> bool:
        """Whether an OpenSCENARIO scenario's StopTrigger fired (False for other scenarios)."""
        return self._storyboard is not None and self._storyboard.done

    def pending_events(self) -> dict[int, str]:
        """Scenario events (by index) that have neither started nor been given up, each with what
        it is still waiting for (see :mod:`cav_stack.sim.sumo_events`)."""
        return {r.index: r.waiting_for() for r in self._event_runners if not r.started and not r.finished}

    @property
    def truth(self) -> WorldTruth:
        """The last truth returned by :meth:`start` or :meth:`step`."""
        return self._truth

    def step(self) -> WorldTruth:
        """Apply the scripted events due now, advance one ``step_length``, return the new truth.

        Raises :class:`SumoTerminatedError` (with SUMO's error log) if SUMO fails meanwhile.
        """
        self._require_running()
        try:
            return self._step()
        except self._sumo_errors as exc:
            raise SumoTerminatedError(f"{exc}\n{self._error_log_text()}".strip()) from exc

    def _step(self) -> WorldTruth:
        sim = self._sim
        for runner in self._event_runners:
            runner.apply(self._time)
        if self._storyboard is not None:
            self._storyboard.apply(self._time, self._truth, sim)
        sim.simulationStep()
        self._time = float(sim.simulation.getTime())
        departures = sim.simulation.getSubscriptionResults()
        entered = []
        for vehicle_id in departures[self._tc.VAR_DEPARTED_VEHICLES_IDS]:
            self._on_departed(vehicle_id)
            if vehicle_id in self._cav_ids:
                entered.append(vehicle_id)
        for vehicle_id in departures[self._tc.VAR_ARRIVED_VEHICLES_IDS]:
            self._static.pop(vehicle_id, None)
            if vehicle_id in self._cav_ids:
                self._cav_gone.add(vehicle_id)
                self.event_log.append(EventRecord(self._time, "cav_left", vehicle_id,
                                                  "reached the end of its route and left SUMO"))
        self._truth = self._read_truth()
        for cav_id in entered:
            vehicle = self._truth.vehicle(cav_id)
            if vehicle is not None:
                self._cav_initial[cav_id] = vehicle
        return self._truth

    def _on_departed(self, vehicle_id: str) -> None:
        sim, tc = self._sim, self._tc
        sim.vehicle.subscribe(vehicle_id, _vehicle_variables(tc))
        vclass = (self._object_classes.get(sim.vehicle.getTypeID(vehicle_id))
                  or sim.vehicle.getVehicleClass(vehicle_id))
        self._static[vehicle_id] = (sim.vehicle.getLength(vehicle_id), sim.vehicle.getWidth(vehicle_id),
                                    sim.vehicle.getHeight(vehicle_id), vclass)
        if self._storyboard is not None and vehicle_id in self._storyboard.movers:
            sim.vehicle.setSpeedMode(vehicle_id, 0)      # the storyboard places it; SUMO never drives it
            sim.vehicle.setLaneChangeMode(vehicle_id, 0)
        if vehicle_id in self._cav_ids:
            # A SUMO-driven CAV (baselines) makes only the lane changes its route needs (merge, exit).
            sim.vehicle.setLaneChangeMode(vehicle_id, 0 if self.cav_driver is None else _LC_MODE_STRATEGIC_ONLY)
            if self.cav_driver is None:  # SUMO never drives a CAV: it holds its speed until placed
                sim.vehicle.setSpeedMode(vehicle_id, 0)
                sim.vehicle.setSpeed(vehicle_id, sim.vehicle.getSpeed(vehicle_id))
        if vehicle_id in self._cut_in_vehicles:
            sim.vehicle.setLaneChangeMode(vehicle_id, _LC_MODE_SCRIPTED)
        if vehicle_id in self._incident_vehicles:  # an incident: stopped where it appeared, for good
            sim.vehicle.setLaneChangeMode(vehicle_id, 0)
            sim.vehicle.setSpeed(vehicle_id, 0.0)
        elif vehicle_id not in self._cav_ids:
            self._avoid_closed_edges(vehicle_id)

    def _avoid_closed_edges(self, vehicle_id: str) -> None:
        """Re-route a background vehicle by travel time if its remaining route uses a closed edge."""
        if not self._closed_edges:
            return
        vehicle = self._sim.vehicle
        remaining = vehicle.getRoute(vehicle_id)[vehicle.getRouteIndex(vehicle_id) + 1:]
        if self._closed_edges.intersection(remaining):
            vehicle.rerouteTraveltime(vehicle_id, False)

    def close_edge(self, edge_id: str) -> int:
        """Close ``edge_id`` for routing (see :class:`~cav_stack.world.scenario.IncidentEvent`):
        re-route the background vehicles now in the world; return how many changed their route."""
        self._sim.edge.adaptTraveltime(edge_id, CLOSED_EDGE_TRAVEL_TIME)
        self._closed_edges.add(edge_id)
        changed = 0
        for vehicle_id in sorted(self._static):
            if vehicle_id in self._cav_ids or vehicle_id in self._incident_vehicles:
                continue
            before = self._sim.vehicle.getRoute(vehicle_id)
            self._avoid_closed_edges(vehicle_id)
            changed += self._sim.vehicle.getRoute(vehicle_id) != before
        return changed

    def _read_truth(self) -> WorldTruth:
        tc = self._tc
        results = self._sim.vehicle.getAllSubscriptionResults()
        position, angle, speed, accel = tc.VAR_POSITION, tc.VAR_ANGLE, tc.VAR_SPEED, tc.VAR_ACCELERATION
        road, lane, lane_position, fuel = tc.VAR_ROAD_ID, tc.VAR_LANE_INDEX, tc.VAR_LANEPOSITION, tc.VAR_FUELCONSUMPTION
        static, cav_ids, cos, sin = self._static, self._cav_ids, math.cos, math.sin
        vehicles = []
        for vehicle_id in sorted(results):   # once per vehicle and step: ~40 % of SUMO's step, kept lean
            values = results[vehicle_id]
            length, width, height, vclass = static[vehicle_id]
            front_x, front_y = values[position]
            yaw = sumo_angle_to_yaw(values[angle])
            half = 0.5 * length
            vehicles.append(VehicleTruth(
                vehicle_id, front_x - half * cos(yaw), front_y - half * sin(yaw), yaw, values[speed],
                values[accel], length, width, height, values[road], values[lane], values[lane_position],
                vclass, vehicle_id in cav_ids, values[fuel] / _MG_PER_KG))
        signals = []
        for tls_id in self._tls_ids:
            values = self._sim.trafficlight.getSubscriptionResults(tls_id)
            signals.append(SignalTruth(tls_id, values[tc.TL_RED_YELLOW_GREEN_STATE],
                                       values[tc.TL_CURRENT_PHASE], values[tc.TL_NEXT_SWITCH]))
        return WorldTruth(stamp=self._time, vehicles=tuple(vehicles), signals=tuple(signals))

    # --- CAVs -----------------------------------------------------------------------------

    def set_cav_state(self, cav_id: str, x: float, y: float, yaw: float, speed: float) -> None:
        """Place CAV ``cav_id`` for the next :meth:`step`: box centre (x, y) in ``map`` [m], REP 103
        ``yaw`` [rad], ``speed`` [m/s] (the state at ``time + step_length``).

        A CAV not placed before a step keeps its speed along its lane. Raises LookupError when the
        CAV is not in the world (not departed yet, or left the network) and ValueError for a
        non-finite state.
        """
        sim = self._require_running()
        if cav_id not in self._cav_ids:
            raise LookupError(f"'{cav_id}' is not a CAV of scenario '{self.scenario.name}'")
        if cav_id in self._cav_gone or cav_id not in self._cav_initial:
            raise LookupError(f"CAV '{cav_id}' is not in the SUMO world at t={self._time:.2f} s")
        if not all(math.isfinite(v) for v in (x, y, yaw, speed)):
            raise ValueError(f"non-finite state for CAV '{cav_id}': x={x}, y={y}, yaw={yaw}, speed={speed}")
        half = 0.5 * self._static[cav_id][0]
        sim.vehicle.setSpeed(cav_id, max(speed, 0.0))
        sim.vehicle.moveToXY(cav_id, "", -1, x + half * math.cos(yaw), y + half * math.sin(yaw),
                             yaw_to_sumo_angle(yaw), 2)

    def hand_over(self, cav_id: str) -> None:
        """SUMO's own driver model (the CAV's vehicle type: car following with its safety checks,
        strategic lane changes only) drives CAV ``cav_id`` from the next step on; it is no longer
        placed. Raises LookupError when the CAV is not in the world."""
        sim = self._require_running()
        if cav_id not in self._cav_ids or cav_id in self._cav_gone or cav_id not in self._cav_initial:
            raise LookupError(f"CAV '{cav_id}' is not in the SUMO world at t={self._time:.2f} s")
        sim.vehicle.setSpeedMode(cav_id, _SPEED_MODE_DEFAULT)
        sim.vehicle.setSpeed(cav_id, -1.0)          # release the held speed
        sim.vehicle.setLaneChangeMode(cav_id, _LC_MODE_STRATEGIC_ONLY)
        self.event_log.append(EventRecord(self._time, "cav_handed_over", cav_id, "SUMO's driver model drives it"))

    def signal_programs(self) -> dict[str, tuple[tuple[str, float], ...]]:
        """Each traffic light's running fixed-time program as (state, duration [s]) per phase."""
        sim = self._require_running()
        programs = {}
        for tls_id in self._tls_ids:
            current = sim.trafficlight.getProgram(tls_id)
            logic = next(lg for lg in sim.trafficlight.getAllProgramLogics(tls_id) if lg.programID == current)
            programs[tls_id] = tuple((phase.state, float(phase.duration)) for phase in logic.phases)
        return programs

    def junction_positions(self) -> tuple[tuple[float, float], ...]:
        """Centres [m, map] of the network's junctions (not the internal ones), ordered by ID."""
        sim = self._require_running()
        return tuple((float(x), float(y)) for x, y in (sim.junction.getPosition(j) for j in
                                                       sorted(sim.junction.getIDList()) if not j.startswith(":")))

    def set_cav_route(self, cav_id: str, edges: tuple[str, ...]) -> None:
        """Give CAV ``cav_id`` the route ``edges`` (SUMO edge IDs, the first the one it is on), so that
        SUMO maps it onto, and ends its trip at the end of, the route its stack planned. Raises
        LookupError when the CAV is not in the world, ValueError when SUMO refuses the route."""
        sim = self._require_running()
        if cav_id not in self._cav_ids or cav_id in self._cav_gone or cav_id not in self._cav_initial:
            raise LookupError(f"CAV '{cav_id}' is not in the SUMO world at t={self._time:.2f} s")
        try:
            sim.vehicle.setRoute(cav_id, list(edges))
        except self._sumo_errors as exc:
            raise ValueError(f"SUMO refused route {edges} for '{cav_id}': {exc}") from exc

    def cav_initial_state(self, cav_id: str) -> VehicleTruth:
        """Truth of ``cav_id`` when SUMO inserted it (LookupError before its departure)."""
        if cav_id not in self._cav_initial:
            raise LookupError(f"CAV '{cav_id}' has not been inserted (yet) at t={self._time:.2f} s")
        return self._cav_initial[cav_id]

    def road_map(self) -> RoadMap:
        """The static map of the scenario's network (available after :meth:`start`)."""
        if self._road_map is None:
            raise RuntimeError("the road map is available after SumoWorld.start()")
        return self._road_map

    def _require_running(self) -> Any:
        if self._sim is None:
            state = "closed" if self._closed else "not started"
            raise RuntimeError(f"SumoWorld is {state}")
        return self._sim

    def _error_log_text(self) -> str:
        """SUMO's error log; with traci first waits (bounded) for a dying SUMO to finish writing it."""
        if self._process is not None:
            try:
                self._process.wait(timeout=_SUMO_EXIT_WAIT_S)
            except subprocess.TimeoutExpired:
                pass
        return _read(self._error_log) if self._error_log is not None else ""


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""
