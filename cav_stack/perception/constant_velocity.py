"""Constant-velocity prediction of an object list to a later time (for consumers of late lists)."""
from __future__ import annotations

import math
from dataclasses import replace

from cav_stack.core.messages import Header, TrackList


def predict_tracks(tracks: TrackList, now: float) -> TrackList:
    """``tracks`` moved along their headings at their speeds to ``now`` [s] (no change if not later)."""
    age = now - tracks.header.stamp
    if age <= 0.0:
        return tracks
    moved = tuple(replace(o, x=o.x + o.speed * age * math.cos(o.yaw), y=o.y + o.speed * age * math.sin(o.yaw))
                  for o in tracks.objects)
    return TrackList(Header(now, tracks.header.frame_id), moved)
