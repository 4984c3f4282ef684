"""Scenario runner: one closed-loop run of a scenario with a chosen controller.

Builds the world (SUMO), the bridge and one controller stack per CAV on the in-process
executor, spins it on simulated time, and writes the run directory (report, trajectories,
plot). SUMO is closed on every exit path.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Callable

from cav_stack.control.vehicle_models import VehicleParams, load_vehicle_params
from cav_stack.core.params import load_node_params, read_yaml
from cav_stack.eval.cooperation import cooperation_summary
from cav_stack.eval.closed_loop_tracking import ClosedLoopTracking
from cav_stack.eval.metrics import RunRecorder
from cav_stack.eval.mode_timeline import ModeTimeline
from cav_stack.eval.odd_exit import OddExitRecorder
from cav_stack.eval.post_encroachment import PostEncroachment
from cav_stack.eval.r157 import R157Recorder, family_of
from cav_stack.eval.route_log import RouteLog
from cav_stack.eval.v2x_receptions import V2xReceptions
from cav_stack.eval.recording import TopicRecorder, run_metadata
from cav_stack.eval.traffic_metrics import traffic_metrics_for
from cav_stack.eval.v2x_attacks import AttackLedger
from cav_stack.eval.v2x_links import V2xLinkMetrics
from cav_stack.eval.report import build_report, write_plot, write_report, write_trajectories
from cav_stack.eval.scenario_events import event_records, not_applicable, not_as_scripted
from cav_stack.eval.shield_report import SideRecord, shield_summary
from cav_stack.world.scenario import Scenario, flow_cavs, load_scenario
from cav_stack.app.run_args import RunArgumentError
from cav_stack.app.graph import CONTROLLERS, add_controller, controller_params, load_params
from cav_stack.nodes.sim_bridge_node import SimBridgeNode, SimBridgeParams
from cav_stack.runtime.callback_timing import CallbackTiming
from cav_stack.runtime.executor import InProcessExecutor
from cav_stack.runtime.gc_thresholds import run_thresholds
from cav_stack.world.scenario import CutInEvent, IncidentEvent, InsiderAttackEvent, LinkLossEvent, RevocationEvent
from cav_stack.nodes.perception_node import DEFAULT_RIG
from cav_stack.nodes.mode_selector_node import ModeSelectorNode
from cav_stack.nodes.v2x_node import V2xNode
from cav_stack.world.sensor_rig import load_rig
from cav_stack.sim.connected_traffic import ConnectedTraffic, load_connected_traffic_params
from cav_stack.sim.driver import DriverModel
from cav_stack.sim.onboard_sensors import OnboardSensors
from cav_stack.sim.sumo import SumoCavDriver, SumoWorld
from cav_stack.sim.v2x_air import RoadsideUnit, V2xAirInterface, incident_alerting_units
from cav_stack.v2x.radio.medium import RadioMedium
from cav_stack.v2x.trust_params import load_trust_params
from cav_stack.core.share import share_path


class TimedWorld:
    """Wraps a world and accumulates the wall time spent inside its ``step`` [s] (for the report)."""

    def __init__(self, world: SumoWorld):
        self._world = world
        self.step_wall_s = 0.0
        self.steps = 0

    def step(self):
        started = time.perf_counter()
        truth = self._world.step()
        self.step_wall_s += time.perf_counter() - started
        self.steps += 1
        return truth

    def __getattr__(self, name: str):
        return getattr(self._world, name)


def _sender_key(sender: object) -> object:
    """A flagged sender as the report names it: signer HashedId8 in hex, station ID when unsigned."""
    return sender.hex() if isinstance(sender, bytes) else sender


def v2x_summary(air: V2xAirInterface | None, nodes: list, attacks: AttackLedger | None = None) -> dict | None:
    """Frames sent and delivered by the air, receptions refused by the CAVs' V2X nodes (those of
    ``nodes`` that run in this process), the attack accounting (``attacks``: sent, accepted,
    acted upon) and the false alarms: the number of verdicts against honest senders
    (``false_alarms``) and those senders per CAV (``false_alarm_senders``)."""
    if air is None:
        return None
    refused: dict[str, int] = {}
    flagged: dict[str, dict[object, float]] = {}
    for node in nodes:
        for reason, count in getattr(node, "refusals", {}).items():
            refused[reason] = refused.get(reason, 0) + count
        if hasattr(node, "flagged"):
            flagged[node.namespace] = {_sender_key(k): t for k, t in node.flagged.items()}
    attackers = air.attacker_keys()
    ghosts = []
    for station, sent in air.ghost_stations.items():
        delays = {}
        for cav, verdicts in flagged.items():
            times = [t for key, t in verdicts.items() if key in attackers]
            if times:
                delays[cav] = round(min(times) - sent, 3)
        ghosts.append({"station_id": station, "first_sent_s": sent, "detection_delay_s": delays})
    false_alarms = {cav: sorted(str(k) for k in f if k not in attackers) for cav, f in flagged.items()}
    false_alarms = {cav: keys for cav, keys in false_alarms.items() if keys}
    return {"technology": air.technology.value, "frames_sent": air.sent, "frames_delivered": air.delivered,
            "refused": refused, "ghosts": ghosts,
            "attacks": attacks.summary() if attacks is not None else {"sent": air.attack_sent},
            "false_alarms": sum(len(keys) for keys in false_alarms.values()),
            "false_alarm_senders": false_alarms}


@dataclass(frozen=True)
class RunResult:
    """Where a run wrote its outputs and its report."""

    out_dir: Path
    report: dict


ProgressCallback = Callable[[float, float], None]
WorldFactory = Callable[[Scenario, int, Path], Any]

#: Scripted events whose surroundings are excluded from the "outside events" comfort figures,
#: and the window around each [s]: the manoeuvre and the reaction to it.
COMFORT_EXCLUDED_EVENTS = ("cut_in", "hard_brake")
EVENT_WINDOW_BEFORE = 1.0
EVENT_WINDOW_AFTER = 10.0

#: Node parameters the simulation runner sets: runs must be functions of their seed, so no
#: decision may depend on how long a computation took on this machine's wall clock.
SIMULATION_PARAM_OVERRIDES = {"enforce_time_budget": False}

#: Simulated time [s] between checks of the scenario's end condition (its detector's end_after).
_END_CHECK_INTERVAL_S = 1.0

#: Baselines in which SUMO's own car-following models drive the CAVs: name -> (SUMO model,
#: which time gap of controllers/mode_selector.yaml it uses). SUMO's ACC/CACC models follow
#: Milanés & Shladover (2014), as implemented in SUMO (Xiao et al. 2017).
SUMO_BASELINES = {"sumo_idm": ("IDM", "acc_time_gap"), "sumo_acc": ("ACC", "acc_time_gap"),
                  "sumo_cacc": ("CACC", "cacc_time_gap")}


def controller_names() -> list[str]:
    """Every selectable controller: the stack's graphs and the SUMO baselines."""
    return sorted(set(CONTROLLERS) | set(SUMO_BASELINES))


def _sumo_cav_driver(controller: str) -> SumoCavDriver | None:
    if controller not in SUMO_BASELINES:
        return None
    model, gap_key = SUMO_BASELINES[controller]
    selector = read_yaml(share_path("controllers", "mode_selector.yaml"))[0]["mode_selector"]["ros__parameters"]
    return SumoCavDriver(model, float(selector["selector"][gap_key]))


def uses_sensors(controller: str) -> bool:
    """Whether the controller's graph perceives through sensors (the bridge then runs the rig's models)."""
    return any(spec.executable == "perception_node" for spec in CONTROLLERS.get(controller, ()))


def onboard_sensors(plan: RunPlan) -> Callable[[str], OnboardSensors]:
    """The sensor models of a CAV, from the rig the perception node uses."""
    rig = load_rig(share_path(*DEFAULT_RIG))
    return lambda cav_id: OnboardSensors(rig, cav_id, 1.0 / plan.bridge_params.rate_hz)


def bridge_resources(plan: RunPlan, sumo: Any, driven: dict[str, tuple[str, ...]], radio: str) -> dict[str, Any]:
    """What the sim bridge needs besides the world for ``plan``'s controller: the CAVs it drives,
    the vehicle, the air interface (V2X graphs), the onboard sensors (sensing graphs), the
    scripted sensor dropouts and the person in each CAV's seat (the scenario's driver)."""
    controller = plan.controller
    return {
        "cav_routes": driven,
        "vehicle": plan.vehicle,
        "air": build_air_interface(plan.spec, sumo, radio) if uses_v2x(controller) else None,
        "onboard": onboard_sensors(plan) if uses_sensors(controller) else None,
        "objects_silenced": lambda cav_id, t: bool(plan.spec.sensor_dropouts(cav_id, t)),
        "sensor_dropouts": plan.spec.sensor_dropouts,
        "drivers": lambda cav_id: DriverModel(plan.spec.driver),
    }


def uses_v2x(controller: str) -> bool:
    """Whether the controller's graph has a V2X node (the run then needs the air interface)."""
    return any(spec.executable == "v2x_node" for spec in CONTROLLERS.get(controller, ()))


def build_air_interface(spec: Scenario, sumo: SumoWorld, radio: str) -> V2xAirInterface:
    """The scenario's air: the radio profile ``v2x/radio_<radio>.yaml``, one RSU per traffic
    light, the scenario's scripted link losses, the security settings of the V2X node, the
    connected background traffic (``v2x/connected_traffic.yaml``, the scenario's share if set,
    seeded with the world's seed), and for each incident the road operator's RSUs at the
    junctions around it, which broadcast its RoadSideAlert (worlds that know their junctions)."""
    road_map = sumo.road_map()
    programs = sumo.signal_programs() if hasattr(sumo, "signal_programs") else {}
    rsus = tuple(RoadsideUnit(tls_id, k, *road_map.tls_position(tls_id), programs.get(tls_id, ()))
                 for k, tls_id in enumerate(road_map.tls_ids()))
    node_params = load_node_params(share_path("v2x", "v2x_node.yaml"), "v2x_node", V2xNode.params_type)
    trust = load_trust_params(share_path("v2x", "security.yaml")) if node_params.security_enabled else None
    cav_ids = tuple(cav.id for cav in spec.cavs)
    entering = tuple(v.id for v in getattr(sumo, "drawn", ()) if v.is_cav)
    radio_of = {cav_id: i for i, cav_id in enumerate(cav_ids)}

    def link_loss(t: float) -> dict[tuple[int, int], float]:
        losses = {}
        for event in spec.events_of(LinkLossEvent):
            for receiver in event.receivers:
                p = spec.link_loss(event.sender, receiver, t)
                if p > 0.0:
                    losses[(radio_of[event.sender], radio_of[receiver])] = p
        return losses

    medium = RadioMedium.from_yaml(share_path("v2x", f"radio_{radio}.yaml"))
    traffic = load_connected_traffic_params(share_path("v2x", "connected_traffic.yaml"))
    penetration = traffic.penetration if spec.connected_traffic is None else spec.connected_traffic
    # a cut-in's car is placed by the scenario (SUMO moveTo): as a V2X sender its positions would jump
    placed = {event.vehicle for event in spec.events_of(CutInEvent)}
    connected = (ConnectedTraffic(traffic, penetration, getattr(sumo, "seed", spec.seed), radio,
                                  frozenset(cav_ids + entering) | placed)
                 if penetration > 0.0 else None)
    junctions = sumo.junction_positions() if hasattr(sumo, "junction_positions") else ()
    alerting = tuple(unit for event in spec.events_of(IncidentEvent) if junctions
                     for unit in incident_alerting_units(event, road_map, junctions))
    return V2xAirInterface(medium, cav_ids, rsus, trust, node_params.pki_seed, link_loss,
                           ghosts=spec.active_ghosts, origin=node_params.generation.origin(), connected=connected,
                           alerting=alerting, attacks=spec.events_of(InsiderAttackEvent),
                           revocations=spec.events_of(RevocationEvent), road_map=road_map,
                           attack_seed=getattr(sumo, "seed", spec.seed), entering=entering)


def shield_section(nodes: list, enabled: bool) -> dict[str, Any] | None:
    """The report's ``shield`` (:func:`~cav_stack.eval.shield_report.shield_summary`) from every
    CAV's mode selector; None when no CAV runs one (a baseline)."""
    selectors = [node for node in nodes if isinstance(node, ModeSelectorNode)]
    if not selectors:
        return None
    stations = {station: node.namespace.strip("/") for node in selectors for station in node.own_stations}
    records = [SideRecord(node.namespace.strip("/"), r.time, r.proceeds, r.yields, r.unsure, r.how)
               for node in selectors for r in node.shield_records]
    return shield_summary(records, stations, enabled)


def attack_ledger(controller: str, air: V2xAirInterface | None, executor: InProcessExecutor) -> AttackLedger | None:
    """The attack accounting of a run with V2X: watches every CAV's V2X node and the reports and
    objects its mode selector matches (the selector's own topic and matching parameters)."""
    if air is None:
        return None
    selector = next(spec for spec in CONTROLLERS[controller] if spec.executable == "mode_selector_node")
    params = load_params(selector, {})
    ledger = AttackLedger(air, dict(selector.remappings)["input/objects"], params.v2x_match_max_age,
                          params.v2x_match_distance)
    for node in executor.nodes:
        if isinstance(node, V2xNode):
            node.acceptance_observers.append(ledger.acceptance_observer(node.namespace.strip("/")))
    executor.add_tap(ledger.tap)
    return ledger


@dataclass
class FlowCavCount:
    """How many CAVs of flows with a CAV share the stack took over and released, and the most it
    drove at once (the report's ``flow_cavs``)."""

    taken_over: int = 0
    released_count: int = 0
    max_at_once: int = 0

    def entered(self) -> None:
        self.taken_over += 1
        self.max_at_once = max(self.max_at_once, self.taken_over - self.released_count)

    def released(self) -> None:
        self.released_count += 1

    def summary(self) -> dict[str, int]:
        return {"taken_over": self.taken_over, "released": self.released_count, "max_at_once": self.max_at_once}


@dataclass
class RunPlan:
    """Everything a run needs before the world starts, shared by every backend (in-process, DDS)."""

    spec: Scenario
    seed: int
    duration: float
    out_dir: Path
    controller: str
    vehicle: VehicleParams
    bridge_params: SimBridgeParams
    cav_routes: dict[str, tuple[str, ...]]
    entering: dict[str, tuple[str, ...]]
    recorder: RunRecorder
    timeline: ModeTimeline
    receptions: V2xReceptions
    routes: RouteLog
    wall_start: float


def plan_run(scenario: str | Scenario, *, seed: int | None, out_dir: Path, duration_s: float | None,
             controller: str) -> RunPlan:
    """Load the scenario and the parameter files of a run (seed and duration default to the scenario's)."""
    if controller not in controller_names():
        raise RunArgumentError(f"unknown controller '{controller}' (known: {', '.join(controller_names())})")
    spec = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    out_dir.mkdir(parents=True, exist_ok=True)
    seed = spec.seed if seed is None else seed
    cav_routes = {cav.id: tuple(cav.route) for cav in spec.cavs}
    entering = {cav.id: cav.route for cav in flow_cavs(spec, seed)}
    destinations = {cav_id: edges[-1] for cav_id, edges in {**cav_routes, **entering}.items()}
    return RunPlan(spec, seed, spec.duration if duration_s is None else duration_s,
                   out_dir, controller, load_vehicle_params(share_path("controllers", "vehicle.yaml")),
                   load_node_params(share_path("controllers", "sim_bridge.yaml"), "sim_bridge", SimBridgeParams),
                   cav_routes, entering,
                   RunRecorder(tuple(cav_routes), destinations, {**cav_routes, **entering}, frozenset(entering)),
                   ModeTimeline(), V2xReceptions(), RouteLog(), time.perf_counter())


def scenario_truth(plan: RunPlan, world: TimedWorld) -> dict[str, Any]:
    """The report's ``events`` (each scripted event: did it happen, in what situation; see
    :mod:`cav_stack.eval.scenario_events`) and ``events_not_as_scripted``: the lines of those that
    fail the run."""
    controller = plan.controller
    inapplicable = {i: reason for i, event in enumerate(plan.spec.events)
                    if (reason := not_applicable(event, v2x=uses_v2x(controller),
                                                 stack_drives=controller not in SUMO_BASELINES))}
    pending: dict[int, str] = getattr(world, "pending_events", dict)()
    records = event_records(plan.spec, getattr(world, "event_log", ()), pending, world.time, inapplicable)
    return {"events": records, "events_not_as_scripted": not_as_scripted(records)}


def finish_run(plan: RunPlan, *, world: TimedWorld, sim_time: float, air: V2xAirInterface | None,
               nodes: list, label: str = "", extra: dict | None = None,
               attacks: AttackLedger | None = None) -> RunResult:
    """Build and write the report, trajectories and plot of a finished run."""
    windows = tuple((e.time - EVENT_WINDOW_BEFORE, e.time + EVENT_WINDOW_AFTER)
                    for e in getattr(world, "event_log", ()) if e.kind in COMFORT_EXCLUDED_EVENTS)
    report = build_report(plan.recorder, scenario=plan.spec.name, seed=plan.seed, controller=plan.controller,
                          sim_time_s=sim_time, wall_time_s=time.perf_counter() - plan.wall_start,
                          extra={"world_step_wall_s": world.step_wall_s, "world_steps": world.steps,
                                 "v2x": v2x_summary(air, nodes, attacks),
                                 "modes": plan.timeline.summary(sim_time) if plan.timeline.switches else None,
                                 "v2x_receptions": plan.receptions.summary() or None,
                                 "cooperation": cooperation_summary(nodes),
                                 **plan.routes.summary(),
                                 **scenario_truth(plan, world),
                                 **(extra or {})},
                          event_windows=windows)
    write_report(report, plan.out_dir)
    write_trajectories(plan.recorder, plan.out_dir)
    suffix = f", {label}" if label else ""
    write_plot(plan.recorder, plan.out_dir, f"{plan.spec.name} (seed {plan.seed}, {plan.controller}{suffix})")
    return RunResult(plan.out_dir, report)


def run_scenario(scenario: str | Scenario, *, seed: int | None, out_dir: Path, duration_s: float | None = None,
                 controller: str = "stack", backend: str = "libsumo", radio: str = "dsrc",
                 progress: ProgressCallback | None = None, progress_interval_s: float = 5.0,
                 world_factory: WorldFactory | None = None,
                 param_overrides: dict[str, Any] | None = None, record: bool = False,
                 timing: CallbackTiming | None = None, shield: bool = True) -> RunResult:
    """Run ``scenario`` closed loop and write its outputs to ``out_dir``.

    seed: overrides the scenario's seed (None keeps it); duration_s: overrides its duration [s];
    radio: V2X technology of the radio model (``dsrc`` or ``cv2x``) when the controller uses V2X;
    progress(sim_time_s, duration_s) is called every ``progress_interval_s`` of simulated time;
    world_factory(scenario, seed, cache_dir): another world than SUMO (CARLA, co-simulation);
    param_overrides: node parameters set for every CAV's nodes that have them (e.g.
    ``{"comfort_profile": "comfort"}`` for the MPC node's driver profile); record: write every
    message of the run to ``recording.mcap`` (ROS 2 CDR, see eval/recording.py); timing: collects
    the wall time of each CAV's node callbacks (``benchmarks/stack_cycle.py``); shield: apply the
    joint-action shield (False: it only watches; the report's ``shield`` says so).
    """
    plan = plan_run(scenario, seed=seed, out_dir=out_dir, duration_s=duration_s, controller=controller)
    cav_driver = _sumo_cav_driver(controller)
    if world_factory is not None and cav_driver is not None:
        raise RunArgumentError(f"the SUMO baseline '{controller}' runs in SUMO only")
    world_factory = world_factory or (lambda s, seed, cache: SumoWorld(s, seed, backend=backend, cache_dir=cache,
                                                                          cav_driver=cav_driver))
    with run_thresholds(), world_factory(plan.spec, plan.seed, out_dir / "network") as sumo:
        initial = sumo.start()
        world = TimedWorld(sumo)
        executor = InProcessExecutor(plan.seed, start_time=world.time, timing=timing)
        executor.add_tap(plan.timeline)
        executor.add_tap(plan.receptions)
        executor.add_tap(plan.routes)
        driven = {} if cav_driver is not None else plan.cav_routes
        recorder = TopicRecorder(out_dir / "recording.mcap", run_metadata(
            plan.spec.name, controller, plan.seed, tuple(driven))) if record else None
        if recorder is not None:
            executor.add_tap(recorder)       # before the bridge: it publishes the latched route at once
        traffic = traffic_metrics_for(plan.spec, sumo.road_map())
        plan.recorder.watch_lanes(sumo.road_map())
        odd_exit = OddExitRecorder(plan.spec.odd, plan.cav_routes, sumo.road_map()) if plan.spec.odd else None
        bridge = bridge_resources(plan, sumo, driven, radio)
        air = bridge["air"]
        links = V2xLinkMetrics() if air is not None else None
        if links is not None:
            air.link_observers.append(links)
        encroachment = PostEncroachment()
        r157 = (R157Recorder(plan.spec.storyboard.ego, sumo.road_map(), family_of(plan.spec.name))
                if plan.spec.storyboard is not None else None)
        tracking = ClosedLoopTracking() if bridge["onboard"] is not None else None
        if tracking is not None:
            executor.add_tap(tracking.on_message)
        observers = ((plan.recorder, traffic, encroachment) + ((odd_exit,) if odd_exit else ())
                     + ((r157,) if r157 else ())
                     + ((tracking.observe_world,) if tracking else ()))
        try:
            road_map = world.road_map()
            scenario_params = {"odd": plan.spec.odd} if plan.spec.odd else {}
            overrides = {**SIMULATION_PARAM_OVERRIDES, **scenario_params, "joint_shield": shield,
                         **(param_overrides or {})}
            entering = {} if cav_driver is not None else plan.entering
            stations = {cav_id: station for station, cav_id in enumerate([*driven, *entering])}
            params = controller_params(controller, overrides) if controller in CONTROLLERS else None
            flow_cavs_driven = FlowCavCount()
            departed: list = []          # nodes of CAVs released mid-run: still read for the report

            def take_over(cav_id: str) -> None:
                add_controller(executor, controller, cav_id, params=params, vehicle=plan.vehicle,
                               road_map=road_map, station=stations[cav_id])

            def enter(cav_id: str) -> None:
                take_over(cav_id)
                flow_cavs_driven.entered()

            def leave(cav_id: str) -> None:
                departed.extend(executor.remove_nodes(cav_id))
                flow_cavs_driven.released()

            executor.add_node(SimBridgeNode, params=plan.bridge_params, world=world, initial_truth=initial,
                              observers=observers, entering=entering, on_enter=enter, on_leave=leave, **bridge)
            for cav_id in driven:
                take_over(cav_id)
            attacks = attack_ledger(controller, air, executor)
            end = world.time + plan.duration
            next_report = world.time + progress_interval_s
            while (executor.now() < end - 1e-9 and not traffic.detector_done()
                   and not getattr(sumo, "storyboard_done", False)):
                executor.spin_until(min(executor.now() + _END_CHECK_INTERVAL_S, next_report, end))
                if executor.now() >= min(next_report, end) - 1e-9:
                    next_report += progress_interval_s
                    if progress is not None:
                        progress(executor.now() - initial.stamp, plan.duration)
        finally:
            if recorder is not None:
                recorder.close()
        sim_time = executor.now() - initial.stamp
        every_node = [*executor.nodes, *departed]
    return finish_run(plan, world=world, sim_time=sim_time, air=air, nodes=every_node, attacks=attacks,
                      extra={"callback_errors": executor.callback_errors.summary(),
                             "shield": shield_section(every_node, shield),
                             "flow_cavs": flow_cavs_driven.summary() if entering else None,
                             **traffic.summary(), **encroachment.summary(), **(links.summary() if links else {}),
                             **(tracking.summary() if tracking else {}),
                             **(odd_exit.summary(plan.timeline) if odd_exit else {}),
                             **(r157.summary() if r157 else {})})
