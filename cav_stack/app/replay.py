"""Replaying a recording: re-run a controller graph on the recorded inputs, compare its outputs.

``cav-stack replay FILE [--controller NAME] [--tolerance X]`` reads an MCAP written by
:class:`~cav_stack.eval.recording.TopicRecorder`, rebuilds the controller's node graph
(:data:`cav_stack.app.graph.CONTROLLERS`; default: the recorded controller) for every recorded
CAV on the in-process executor, feeds it the recorded messages of its input topics in time order
and compares what it publishes on its output topics with what was recorded there.

Inputs and outputs come from the graph's remappings: targets of ``input/...`` names that no
node of the graph publishes (``output/...``) are inputs, ``output/...`` targets are outputs, both
under ``/<cav id>/``. A source node, created before the graph so that it runs first at equal
times (as the simulation bridge did), publishes the recorded inputs at their log times on a
timer whose period is the smallest interval between recorded input times; messages recorded at
the first time were published while the graph was being built and are delivered latched.
Replayed outputs pass the same ROS conversion as the recorded ones before being compared,
message by message in order per topic, on every numeric field (max absolute difference).
"""
from __future__ import annotations

from itertools import pairwise
import argparse
import dataclasses
import enum
import math
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from cav_stack.app.exit_codes import ExitCode
from cav_stack.runtime.node import LATCHED_QOS, Node, NodeContext, QoS
from cav_stack.runtime.ros_conversions import conversion_for, conversion_for_ros_type

DEFAULT_TOLERANCE = 1e-4
"""Largest command difference [SI units of the field] reported as a faithful replay; above float32
rounding of AckermannDrive (~1e-7 relative) and below any physically meaningful difference."""


class RecordingError(ValueError):
    """The file is not a readable cav_stack recording (message says why)."""


@dataclass(frozen=True)
class Recording:
    """A decoded recording: ``metadata`` (scenario, controller, seed, cavs), ``messages`` as
    (log time [s], topic, core message) in log-time order (views are skipped)."""

    metadata: dict[str, str]
    messages: tuple[tuple[float, str, Any], ...]


def _as_fields(value: Any) -> Any:
    """A decoded mcap_ros2 message as the nested field dicts of ros_conversions."""
    if isinstance(value, (bytes, bytearray, str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_as_fields(v) for v in value]
    slots = getattr(type(value), "__slots__", None)
    if slots:
        return {name: _as_fields(getattr(value, name)) for name in slots}
    return value


def read_recording(path: str | Path) -> Recording:
    """Decode every transport channel of the MCAP at ``path``; raises :class:`RecordingError`."""
    from mcap.exceptions import McapError
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    from cav_stack.eval.recording import RECORDING_METADATA

    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"{path}: no such file")
    metadata: dict[str, str] = {}
    messages = []
    try:
        with path.open("rb") as stream:
            reader = make_reader(stream, decoder_factories=[DecoderFactory()])
            for record in reader.iter_metadata():
                if record.name == RECORDING_METADATA:
                    metadata = dict(record.metadata)
            for schema, channel, message, decoded in reader.iter_decoded_messages(log_time_order=True):
                if schema is None:
                    continue  # a channel without a schema carries no ROS message
                try:
                    conversion = conversion_for_ros_type(schema.name)
                except KeyError:
                    continue  # a view (e.g. Detection3DArray next to the lossless tracks)
                messages.append((message.log_time * 1e-9, channel.topic,
                                 conversion.from_fields(_as_fields(decoded))))
    except (McapError, OSError, ValueError, KeyError) as exc:
        raise RecordingError(f"{path}: not a readable cav_stack recording ({type(exc).__name__}: {exc})") from exc
    if not metadata:
        raise RecordingError(f"{path}: no '{RECORDING_METADATA}' metadata (not written by cav_stack's recorder)")
    return Recording(metadata, tuple(messages))


def graph_topics(controller: str, cav_id: str) -> tuple[frozenset[str], frozenset[str]]:
    """(inputs, outputs): absolute topics of ``controller``'s graph for ``cav_id`` (see module doc)."""
    from cav_stack.app.graph import CONTROLLERS

    inputs: set[str] = set()
    outputs: set[str] = set()
    for spec in CONTROLLERS[controller]:
        for name, target in spec.remappings:
            topic = target if target.startswith("/") else f"/{cav_id}/{target}"
            (outputs if name.startswith("output/") else inputs).add(topic)
    return frozenset(inputs - outputs), frozenset(outputs)


class RecordedSourceNode(Node):
    """Publishes recorded messages at their recorded times (see the module docstring)."""

    node_name = "recorded_source"

    def __init__(self, context: NodeContext, *, messages: list[tuple[float, str, Any]], period: float):
        super().__init__(context)
        self._messages = messages
        self._next = 0
        self._publishers: dict[str, Any] = {}
        first = messages[0][0] if messages else 0.0
        self._publish_due(first, LATCHED_QOS)
        self.create_timer(period, lambda: self._publish_due(self.now(), QoS()))

    def _publish_due(self, now: float, qos: QoS) -> None:
        while self._next < len(self._messages) and self._messages[self._next][0] <= now + 1e-9:
            _, topic, msg = self._messages[self._next]
            publisher = self._publishers.get(topic)
            if publisher is None:
                publisher = self._publishers[topic] = self.create_publisher(type(msg), topic, qos)
            publisher.publish(msg)
            self._next += 1


@dataclass
class TopicComparison:
    """Recorded against replayed messages on one output topic; ``max_abs_diff``: field path ->
    largest absolute difference over the compared pairs; ``mismatched_fields``: non-numeric
    fields that differ (path -> count)."""

    topic: str
    recorded: int = 0
    replayed: int = 0
    max_abs_diff: dict[str, float] = field(default_factory=dict)
    mismatched_fields: dict[str, int] = field(default_factory=dict)

    @property
    def worst(self) -> float:
        return max(self.max_abs_diff.values(), default=0.0)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if dataclasses.is_dataclass(value):
        out = {}
        for f in dataclasses.fields(value):
            if f.name != "header" or prefix:
                out.update(_flatten(getattr(value, f.name), f"{prefix}{f.name}."))
        return out
    if isinstance(value, (tuple, list)):
        out = {}
        for i, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}{i}."))
        return out
    if isinstance(value, enum.Enum):
        value = value.value
    return {prefix.rstrip("."): value}


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compare(topic: str, recorded: list[Any], replayed: list[Any]) -> TopicComparison:
    """Pair messages in order and take the max absolute difference per numeric field (the
    header is skipped: stamps are compared through the pairing)."""
    result = TopicComparison(topic, len(recorded), len(replayed))
    for a, b in zip(recorded, replayed, strict=False):
        fa, fb = _flatten(a), _flatten(b)
        for key in sorted(set(fa) | set(fb)):
            x, y = fa.get(key), fb.get(key)
            if _is_number(x) and _is_number(y):
                if math.isfinite(x) and math.isfinite(y):
                    result.max_abs_diff[key] = max(result.max_abs_diff.get(key, 0.0), abs(float(x) - float(y)))
                    continue
                if math.isnan(x) and math.isnan(y):
                    continue
            if x != y:
                result.mismatched_fields[key] = result.mismatched_fields.get(key, 0) + 1
    return result


def replay(recording: Recording, controller: str | None = None, cache_dir: Path | None = None) -> list[TopicComparison]:
    """Re-run ``controller`` (default: the recorded one) on ``recording``; one comparison per
    output topic that was recorded or replayed. Raises :class:`RecordingError` for a recording
    that lacks what replay needs and ValueError for an unknown controller."""
    from cav_stack.control.vehicle_models import load_vehicle_params
    from cav_stack.world.scenario import load_scenario
    from cav_stack.app.graph import CONTROLLERS, add_controller
    from cav_stack.world.road_map import RoadMap
    from cav_stack.runtime.executor import TIME_RESOLUTION, InProcessExecutor
    from cav_stack.core.share import share_path
    from cav_stack.sim.network_build import build_network

    meta = recording.metadata
    missing = [k for k in ("scenario", "controller", "seed", "cavs") if k not in meta]
    if missing:
        raise RecordingError(f"recording metadata lacks {', '.join(missing)}")
    controller = controller or meta["controller"]
    if controller not in CONTROLLERS:
        raise ValueError(f"controller '{controller}' has no node graph to replay (graphs: {', '.join(CONTROLLERS)})")
    cav_ids = [c for c in meta["cavs"].split(",") if c]
    inputs: set[str] = set()
    outputs: set[str] = set()
    for cav_id in cav_ids:
        cav_inputs, cav_outputs = graph_topics(controller, cav_id)
        inputs |= cav_inputs
        outputs |= cav_outputs
    fed = [m for m in recording.messages if m[1] in inputs]
    if not fed:
        raise RecordingError(f"the recording has none of the input topics of '{controller}' "
                             f"({', '.join(sorted(inputs))})")
    times = sorted({round(t / TIME_RESOLUTION) for t, _, _ in fed})
    period = min((b - a for a, b in pairwise(times)), default=round(1.0 / TIME_RESOLUTION)) * TIME_RESOLUTION
    scenario = load_scenario(meta["scenario"])
    with tempfile.TemporaryDirectory(prefix="replay-") as scratch:
        net_file = build_network(scenario.network_dir, cache_dir or Path(scratch))
        road_map = RoadMap.from_net_file(net_file)
    vehicle = load_vehicle_params(share_path("controllers", "vehicle.yaml"))
    executor = InProcessExecutor(int(meta["seed"]), start_time=fed[0][0])
    replayed: dict[str, list[Any]] = defaultdict(list)

    def tap(topic: str, msg: Any, now: float) -> None:
        if topic in outputs:
            conversion = conversion_for(type(msg))
            replayed[topic].append(conversion.from_fields(conversion.to_fields(msg)))

    executor.add_tap(tap)
    executor.add_node(RecordedSourceNode, messages=fed, period=period)
    for station, cav_id in enumerate(cav_ids):
        add_controller(executor, controller, cav_id, vehicle=vehicle, road_map=road_map, station=station)
    last = recording.messages[-1][0]
    executor.spin_until(last)
    recorded: dict[str, list[Any]] = defaultdict(list)
    for _, topic, msg in recording.messages:
        if topic in outputs:
            recorded[topic].append(msg)
    return [compare(topic, recorded[topic], replayed[topic]) for topic in sorted(set(recorded) | set(replayed))]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``cav-stack replay`` options."""
    parser.add_argument("file", type=Path, help="MCAP recording written with `cav-stack drive --record`")
    parser.add_argument("--controller", default=None,
                        help="controller graph to re-run (default: the recorded one)")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                        help=f"largest numeric difference still reported as identical (default: {DEFAULT_TOLERANCE})")


def run(args: argparse.Namespace) -> int:
    """Replay ``args.file`` and print the command differences; exit 0 when every output topic
    has as many messages as recorded and differs by at most ``--tolerance``, 1 otherwise, 2 for
    an unreadable recording or an unknown controller."""
    try:
        comparisons = replay(read_recording(args.file), args.controller)
    except (RecordingError, ValueError) as exc:
        print(f"cav-stack replay: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    faithful = True
    for c in comparisons:
        worst_field = max(c.max_abs_diff, key=lambda name: c.max_abs_diff[name], default="-")
        same = c.recorded == c.replayed and c.worst <= args.tolerance and not c.mismatched_fields
        faithful &= same
        mismatched = f", differing non-numeric fields: {c.mismatched_fields}" if c.mismatched_fields else ""
        print(f"{c.topic}: recorded {c.recorded}, replayed {c.replayed}, max |diff| {c.worst:.3g} "
              f"({worst_field}){mismatched}" + ("" if same else "  <-- differs"))
    print("replay matches the recording" if faithful else "replay differs from the recording")
    return ExitCode.OK if faithful else ExitCode.FAILURE
