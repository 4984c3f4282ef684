"""Bounded per-station transmit queues shared by the DSRC and C-V2X access models."""
from __future__ import annotations

from collections import deque

import numpy as np


class PacketQueues:
    """FIFO of (generation time [s], packet reference, payload size [bytes]) per node slot.

    head_time: generation time of each slot's oldest queued packet [s] (inf when empty), kept
    as an array so the access models can select stations with a packet in one vector test.
    A push onto a full queue drops the oldest packet and counts it in ``dropped``.
    """

    def __init__(self, n_slots: int, max_length: int):
        if max_length < 1:
            raise ValueError(f"queue length must be >= 1, got {max_length}")
        self.max_length = max_length
        self._queues: list[deque[tuple[float, int, int]]] = [deque() for _ in range(n_slots)]
        self.head_time = np.full(n_slots, np.inf)
        self.dropped = 0

    def push(self, slot: int, generated: float, packet: int, size_bytes: int) -> int | None:
        """Queue ``packet`` of ``size_bytes`` generated at ``generated`` [s] at ``slot``; return
        the reference of the packet dropped to make room, if any."""
        queue = self._queues[slot]
        dropped = None
        if len(queue) == self.max_length:
            dropped = queue.popleft()[1]
            self.dropped += 1
        queue.append((generated, packet, size_bytes))
        self.head_time[slot] = queue[0][0]
        return dropped

    def pop(self, slot: int) -> tuple[float, int, int]:
        """Remove and return the oldest (generation time, packet, size) of ``slot``."""
        item = self._queues[slot].popleft()
        queue = self._queues[slot]
        self.head_time[slot] = queue[0][0] if queue else np.inf
        return item

    def clear(self, slot: int) -> list[int]:
        """Discard everything queued at ``slot``; return the discarded packet references."""
        packets = [packet for _, packet, _ in self._queues[slot]]
        self._queues[slot].clear()
        self.head_time[slot] = np.inf
        return packets

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues)
