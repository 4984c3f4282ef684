"""Per-neighbour V2X information quality: delivery ratio, latency and age of information.

Inputs are receptions of decoded vehicle reports: the sender's station ID, its message counter
(J2735 MsgCount, 0..127, incremented per message and wrapping), its generation time and our
reception time, all on the stack clock [s]. Nothing here reads a clock: ``now`` is an argument.

Definitions over the window of receptions received in ``(now - window, now]``:
- sequence numbers are the message counters unwrapped along each neighbour's history; a jump
  ``d = (count - previous) mod 128`` is taken as ``d + 128 k`` with ``k`` chosen so the sequence
  advance best matches ``expected_rate`` times the generation-time gap (long outages);
- expected messages = ``s_last - s_first + 1`` (first and last received in the window) plus
  ``floor((now - L - g_last) * r)`` messages due after the newest one, where ``L`` is the mean
  latency of the window (they would have arrived by ``now``) and ``r`` the sender's rate measured
  over the window (``expected_rate`` until two receptions are in it);
- PDR = distinct sequence numbers received in the window / expected messages;
- latency = mean of (reception time - generation time) over the window;
- age of information = ``now`` - newest generation time ever received from the neighbour.
A neighbour with no reception in the window has PDR 0 and the latency of its last reception.
"""
from __future__ import annotations

import collections
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from cav_stack.core.messages import Header, LinkQuality, MAP_FRAME
from cav_stack.core.params import validate_positive

#: J2735 MsgCount ::= INTEGER (0..127).
MSG_COUNT_MODULUS = 128
#: Absorbs floating-point error when counting messages due in a time span (1e-9 messages).
_COUNT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class LinkQualityParams:
    """``link_quality`` section of ``v2x/security.yaml``.

    window: length of the evaluation window [s]; expected_rate: nominal message rate of a
    neighbour [Hz] (used only to resolve long outages and for losses after the last reception);
    neighbour_timeout: a neighbour not heard for this long is forgotten [s].
    """

    window: float
    expected_rate: float
    neighbour_timeout: float

    def __post_init__(self) -> None:
        validate_positive(window=self.window, expected_rate=self.expected_rate,
                          neighbour_timeout=self.neighbour_timeout)


class _Reception(NamedTuple):
    """One recorded message: unwrapped sequence number, generation and reception time [s]."""

    sequence: int
    generation_time: float
    reception_time: float


class _Neighbour:
    """A neighbour's receptions in reception order and, alongside, each one's latency [s]
    (reception - generation time), so the window's mean sums plain floats; ``stats``: the mean
    latency [s] and sender rate [Hz] over all of the receptions, kept until they change (None)."""

    def __init__(self, msg_count: int, generation_time: float, reception_time: float):
        self.last_count = msg_count
        self.last_sequence = msg_count
        self.last_generation = generation_time
        self.receptions: collections.deque[_Reception] = collections.deque()
        self.latencies: collections.deque[float] = collections.deque()
        self.stats: tuple[float, float] | None = None
        self.record(msg_count, generation_time, reception_time)

    def record(self, sequence: int, generation_time: float, reception_time: float) -> None:
        self.receptions.append(_Reception(sequence, generation_time, reception_time))
        self.latencies.append(reception_time - generation_time)
        self.stats = None

    def drop_oldest(self) -> None:
        self.receptions.popleft()
        self.latencies.popleft()
        self.stats = None


class LinkQualityEstimator:
    """Tracks receptions per neighbour and reports :class:`LinkQuality` at a given ``now``."""

    def __init__(self, params: LinkQualityParams):
        self.params = params
        self._neighbours: dict[int, _Neighbour] = {}

    def on_reception(self, station_id: int, msg_count: int, generation_time: float, reception_time: float) -> None:
        """Record one received message.

        msg_count: the sender's MsgCount (0..127; ValueError otherwise); generation_time and
        reception_time: stack clock [s]. Messages generated no later than the newest one
        already recorded (reordered), or repeating its counter, are ignored.
        """
        if not 0 <= msg_count < MSG_COUNT_MODULUS:
            raise ValueError(f"msg_count must be in 0..127, got {msg_count}")
        neighbour = self._neighbours.get(station_id)
        if neighbour is None:
            self._neighbours[station_id] = _Neighbour(msg_count, generation_time, reception_time)
            return
        if generation_time <= neighbour.last_generation:
            return
        step = (msg_count - neighbour.last_count) % MSG_COUNT_MODULUS
        expected_step = (generation_time - neighbour.last_generation) * self.params.expected_rate
        wraps = max(0, round((expected_step - step) / MSG_COUNT_MODULUS))
        step += wraps * MSG_COUNT_MODULUS
        if step == 0:
            return
        neighbour.last_count = msg_count
        neighbour.last_sequence += step
        neighbour.last_generation = generation_time
        neighbour.record(neighbour.last_sequence, generation_time, reception_time)

    def quality(self, station_id: int, now: float) -> LinkQuality | None:
        """Link quality of one neighbour at ``now`` [s], or None if it is unknown or forgotten."""
        self._forget(now)
        neighbour = self._neighbours.get(station_id)
        if neighbour is None:
            return None
        return self._quality(station_id, neighbour, now, Header(now, MAP_FRAME))

    def qualities(self, now: float) -> tuple[LinkQuality, ...]:
        """Link quality of every neighbour heard within ``neighbour_timeout``, by station ID."""
        self._forget(now)
        header = Header(now, MAP_FRAME)
        return tuple(self._quality(sid, self._neighbours[sid], now, header) for sid in sorted(self._neighbours))

    def _forget(self, now: float) -> None:
        start, timeout = now - self.params.window, self.params.neighbour_timeout
        silent = []
        for station_id, neighbour in self._neighbours.items():
            receptions = neighbour.receptions
            if now - receptions[-1].reception_time > timeout:
                silent.append(station_id)
                continue
            while len(receptions) > 1 and receptions[0].reception_time <= start:
                neighbour.drop_oldest()
        for station_id in silent:
            del self._neighbours[station_id]

    def _sender_rate(self, window: Sequence[_Reception]) -> float:
        """The neighbour's message rate [Hz] measured over the window (sequence advance over
        generation-time span), or ``expected_rate`` with fewer than two receptions. Senders whose
        rate follows their dynamics (CAM triggers, congestion control) are not charged for
        messages they never sent."""
        span = window[-1].generation_time - window[0].generation_time
        if len(window) < 2 or span <= 0.0:
            return self.params.expected_rate
        return (window[-1].sequence - window[0].sequence) / span

    def _quality(self, station_id: int, neighbour: _Neighbour, now: float, header: Header) -> LinkQuality:
        """The neighbour's link quality at ``now`` [s], stamped with ``header`` (``now``, ``map``)."""
        receptions, start = neighbour.receptions, now - self.params.window
        age = now - neighbour.last_generation
        if start < receptions[0].reception_time and receptions[-1].reception_time <= now:
            window: Sequence[_Reception] = receptions    # the usual case after _forget: all of them
            if neighbour.stats is None:     # the generation check runs more often than messages arrive
                neighbour.stats = (sum(neighbour.latencies) / len(window), self._sender_rate(window))
            latency, rate = neighbour.stats
        else:
            window = [r for r in receptions if start < r.reception_time <= now]
            if not window:
                return LinkQuality(header, station_id, 0.0, neighbour.latencies[-1], age)
            latency = sum(r.reception_time - r.generation_time for r in window) / len(window)
            rate = self._sender_rate(window)
        newest = window[-1]
        due = (now - latency - newest.generation_time) * rate
        due_after = max(0, math.floor(due + _COUNT_TOLERANCE))
        expected = newest.sequence - window[0].sequence + 1 + due_after
        received = len(window)   # sequence numbers strictly increase along the receptions: all distinct
        return LinkQuality(header, station_id, received / expected, latency, age)

