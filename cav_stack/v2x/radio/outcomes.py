"""Per-receiver outcome of one transmitted frame, shared by the DSRC and C-V2X models."""
from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np


class Outcome(enum.IntEnum):
    """What happened to a frame at one receiver (codes stored as int8 in :class:`TxReport`).

    Losses are attributed in the order of the analytical models: half-duplex (C-V2X: the
    receiver transmits in the same subframe), sensing (received power below the sensing /
    decoding threshold), receiver busy (802.11p: the receiver transmits or is locked on
    another frame), propagation (error with noise only), collision (error only because of
    interference).
    """

    NOT_ADDRESSED = -1
    DELIVERED = 0
    HALF_DUPLEX = 1
    SENSING = 2
    RECEIVER_BUSY = 3
    PROPAGATION = 4
    COLLISION = 5


#: Loss types each technology can produce, in the order of its analytical model.
LOSS_TYPES = {
    "cv2x": (Outcome.HALF_DUPLEX, Outcome.SENSING, Outcome.PROPAGATION, Outcome.COLLISION),
    "dsrc": (Outcome.SENSING, Outcome.RECEIVER_BUSY, Outcome.PROPAGATION, Outcome.COLLISION),
}


@dataclass(frozen=True, eq=False)
class TxReport:
    """One transmitted frame and its outcome at every node slot.

    sender: node slot of the transmitter; packet: caller's packet reference;
    generated: generation time [s]; start / end: air time of the frame [s];
    outcome: int8 array (n_slots,) of :class:`Outcome` codes (NOT_ADDRESSED for the sender and
    inactive slots).
    """

    sender: int
    packet: int
    generated: float
    start: float
    end: float
    outcome: np.ndarray
