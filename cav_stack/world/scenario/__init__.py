"""Scenarios: what a run is about (road network, traffic, CAVs, scripted events), simulator-free.

A scenario is ``scenarios/<name>.yaml``; its road network is a directory of SUMO plain XML
(see :mod:`cav_stack.sim.network_build`). All values are SI (m, s, m/s, m/s^2) unless the key
carries a unit suffix (``_kph``...), which :mod:`cav_stack.core.params` converts. Positions along
a road are SUMO lane positions [m] from the start of the edge, of the vehicle's front bumper.

Schema (every key required unless marked optional)::

    name: highway_cut_in               # must equal the file stem
    description: One line.
    metrics: [min_ttc, collisions]     # report keys that matter for this scenario
    network: networks/highway_3lane    # source dir, relative to this file (or absolute)
    duration: 80.0                     # [s]
    seed: 7                            # default seed of a run
    lane_change_duration: 3.0          # [s] SUMO lateral manoeuvre time (0: instantaneous)
    vehicle_types:                     # SUMO vTypes (Krauss car following)
      - {id: car, vclass: passenger, length: 4.5, width: 1.8, height: 1.5, max_speed: 40.0,
         accel: 2.6, decel: 4.5, emergency_decel: 9.0, sigma: 0.5, tau: 1.0, min_gap: 2.5,
         speed_factor: 1.0, speed_dev: 0.1, emission_class: HBEFA4/PC_petrol_Euro-4}
    demand:
      flows:                           # optional; SUMO <flow>, evenly spaced departures
        - {id: f0, type: car, route: [e0, e1], begin: 0.0, end: 90.0, vehs_per_hour: 1200.0,
           depart_lane: random, depart_speed: desired}
      prefill:                         # optional; vehicles placed along a route at t = 0
        - {id: p0, type: car, route: [e0, e1], lanes: [0, 1], start: 0.0, end: 3000.0,
           spacing: 60.0, spacing_jitter: 15.0, speed: 25.0, keep_clear: [[150.0, 350.0]]}
      vehicles:                        # optional; individually named background vehicles
        - {id: cutter, type: car, route: [e0, e1], depart: 0.0, depart_lane: 2,
           depart_pos: 280.0, depart_speed: 27.0}
    cavs:                              # vehicles driven by this stack (may be empty: the
      - {id: cav_0, type: cav, route: [e0, e1], depart: 0.0, depart_lane: 1,   # 0 % CAV reference)
         depart_pos: 250.0, depart_speed: 27.0}
    detector: {edge: e1, position: 200.0}   # optional; section where lane throughput is counted;
                                       # end_after: 20 ends the run once 20 vehicles passed it
    odd: {edges: [], exit_edges: [e1], exit_positions: [600.0]}   # optional; the CAVs' operating
                                       # design domain (world/odd.py); omitted: the whole network
    driver: {available: true, reaction_time: [2.0, 4.0]}   # optional; the person in each CAV's seat
                                       # (sim/driver.py); omitted: seen attentive, never takes over;
                                       # also responds: false (never answers), unavailable_from: 20.0 [s]
    connected_traffic: 0.3             # optional; share [0..1] of background vehicles broadcasting
                                       # BSMs (default: v2x/connected_traffic.yaml's penetration)
    events:                            # optional; each item has a ``type``, and optionally ``expect``
      - {type: cut_in, time: 20.0, vehicle: cutter, target: cav_0, gap: 15.0, approach: 8.0,
         speed_after: 24.0, expect: {gap_m: [10.0, 20.0]}}   # tolerance: 2.0, timeout: 20.0
      - {type: hard_brake, time: 30.0, vehicle: "leader_of:cav_0", decel: 6.0, to_speed: 5.0,
         hold: 5.0}
      - {type: speed_profile, vehicle: leader, points: [[0.0, 25.0], [20.0, 25.0], [22.0, 20.0]]}
      - {type: incident, time: 20.0, edge: e1, closes: true, position: 120.0, vehicle_type: car}
      # Events below change nothing in SUMO: the stack's models (radio, sensors, V2X) consume
      # them through the Scenario queries link_loss(), sensor_dropouts() and active_ghosts().
      - {type: link_loss, time: 20.0, duration: 5.0, sender: cav_0, receivers: [cav_1, cav_2],
         loss_start: 0.0, loss_end: 1.0}
      - {type: sensor_fault, time: 25.0, cav: cav_0, sensors: [lidar, radar_front], mode: dropout}
      - {type: ghost_vehicle, time: 15.0, duration: 20.0, attacker: cav_1, offset: [30.0, 3.5]}

``prefill`` positions are distances [m] along the route from the start of its first edge; vehicles
are spaced ``spacing`` +- uniform ``spacing_jitter`` (drawn from the run's seeded generator) in
each listed lane, skipping the ``keep_clear`` [start, end] intervals. Events are described on their
dataclasses (:mod:`.events`). Every event must happen in a run (the report's ``events`` says whether it
did and what it measured at its start, :mod:`.situation`); ``expect`` bounds that situation
(:class:`~.events.EventExpectation`: ``gap_m``, ``ttc_s``, ``speed_mps``, ``cav_speed_mps``, ``cav_lane``, each
[min, max]); a run in which either fails, fails. Loading errors are :class:`~cav_stack.core.params.ParamsError`
naming file, line and key. The schema lives in :mod:`.spec`, the events in :mod:`.events`, the
YAML loader in :mod:`.loader`; this package re-exports their public names.
"""
from cav_stack.world.scenario.events import (CLOSED_EDGE_TRAVEL_TIME, EVENT_TYPES, EXPECTATION_KEYS,
                                             SENSOR_FAULT_MODES, CutInEvent, EventExpectation, GhostVehicleEvent,
                                             HardBrakeEvent, IncidentEvent, LinkLossEvent, ScenarioEvent,
                                             SensorFaultEvent, SpeedProfileEvent,
                                             event_active, INSIDER_ATTACK_KINDS, InsiderAttackEvent,
                                             RevocationEvent, offset_state)
from cav_stack.world.scenario.loader import UnknownScenarioError, list_scenarios, load_scenario, scenarios_dir
from cav_stack.world.scenario.situation import LEADER_OF_PREFIX, EventRoles, event_roles, situation
from cav_stack.world.scenario.spec import (CavSpec, DemandSpec, DetectorSpec, DriverSpec, FlowSpec, PrefillSpec,
                                           Scenario, VehicleSpec, VehicleTypeSpec)

__all__ = [
    "CLOSED_EDGE_TRAVEL_TIME", "EVENT_TYPES", "EXPECTATION_KEYS", "EventExpectation", "EventRoles", "event_roles",
    "situation", "LEADER_OF_PREFIX", "SENSOR_FAULT_MODES", "CavSpec", "CutInEvent",
    "DemandSpec", "DetectorSpec", "DriverSpec", "FlowSpec", "GhostVehicleEvent", "HardBrakeEvent",
    "IncidentEvent", "LinkLossEvent", "PrefillSpec", "Scenario", "ScenarioEvent", "SensorFaultEvent",
    "SpeedProfileEvent", "InsiderAttackEvent", "RevocationEvent", "INSIDER_ATTACK_KINDS", "offset_state",
    "UnknownScenarioError", "VehicleSpec", "VehicleTypeSpec", "event_active",
    "list_scenarios", "load_scenario", "scenarios_dir",
]
