"""Leg identity on real video: where BlazePose drew each leg, against labels made by eye.

The labels (tests/fixtures/treadmill_side_male_leg_identity.json) say, frame by frame,
on which real leg (near "N", far "F", or neither "X") BlazePose put its left and right
knee and ankle.  BlazePose never swaps the legs on the shared clip; it folds one leg onto
the other (the far leg onto the near one in every near-leg stance, the near leg onto the
landing far leg at some far-leg contacts).

*Before* is the model's own output: a frame is wrong when any of the four points is off
its own leg.  *After* is what the metrics stage reads once the conditioning stage has
repaired and gated the frame (realtime.metrics.condition): a point it gated out is no
longer wrong but missing (every metric that needs it there is left out or marked
unreliable), a point left on the wrong leg is still wrong, and a good point gated out
is a loss.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from realtime.config import MetricsConfig
from realtime.errors import UserError
from realtime.pose.stream import PoseStream

POINTS = ("LK", "LA", "RK", "RA")  # BlazePose's left/right knee and ankle
# ring point index p (realtime.metrics.layout: hip 0/1, knee 2/3, ankle 4/5)
_RING_P = {"LK": 2, "RK": 3, "LA": 4, "RA": 5}


@dataclass(frozen=True, slots=True)
class IdentityLabels:
    near_leg: str  # "L" or "R": the runner's leg nearer the camera
    frames: tuple[dict[str, str], ...]  # per frame: point -> "N" / "F" / "X"
    ambiguous: tuple[bool, ...]


def load_identity(path: str | Path) -> IdentityLabels:
    p = Path(path)
    try:
        d = json.loads(p.read_text())
        frames = sorted(d["frames"], key=lambda f: int(f["frame"]))
        if [int(f["frame"]) for f in frames] != list(range(len(frames))):
            raise ValueError("frames must be 0..n-1, each once")
        labels = tuple({k: str(f[k]) for k in POINTS} for f in frames)
        bad = {v for f in labels for v in f.values()} - {"N", "F", "X"}
        if bad:
            raise ValueError(f"unknown leg labels {sorted(bad)}")
        return IdentityLabels(str(d["near_leg"]), labels,
                              tuple(bool(f.get("ambiguous", False)) for f in frames))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{p}: not a leg-identity labels file ({exc})") from None


def _own(point: str, near_leg: str) -> str:
    """The label a point of BlazePose's leg `point[0]` must have to be on its own leg."""
    return "N" if point[0] == near_leg else "F"


def score_identity(stream: PoseStream, labels: IdentityLabels,
                   cfg: MetricsConfig | None = None) -> dict[str, Any]:
    """Shares of frames with a wrong or folded leg before and after the repair."""
    from realtime.metrics import analyze_stream
    from realtime.metrics.layout import R_VALID, R_XY

    n = min(len(stream), len(labels.frames))
    _, ga = analyze_stream(stream, cfg or MetricsConfig())
    ring = ga._ring
    # which BlazePose point ended up where: the repair may exchange the legs (a swap),
    # so each repaired point is matched back to the raw point it came from
    w, h = stream.image_size
    before_wrong = after_wrong = gated_right = gated_wrong = folded = 0
    wrong_points_before = wrong_points_after = 0
    for i in range(n):
        lab = labels.frames[i]
        wrong = {p for p in POINTS if lab[p] != _own(p, labels.near_leg)}
        both_on_one = len({lab["LK"], lab["LA"]} | {lab["RK"], lab["RA"]}) == 1 and "X" not in (
            lab["LA"], lab["RA"])
        folded += both_on_one
        before_wrong += bool(wrong)
        wrong_points_before += len(wrong)
        if ring[i, R_VALID] != 1.0:
            continue  # the frame was not used at all
        raw = stream.landmarks[i]
        still = set()
        for p in POINTS:
            x, y = ring[i, R_XY + 2 * _RING_P[p]], ring[i, R_XY + 2 * _RING_P[p] + 1]
            if x != x:
                if p in wrong:
                    gated_wrong += 1
                else:
                    gated_right += 1
                continue
            # the raw point this repaired point came from (itself, or the other leg's)
            other = ("R" if p[0] == "L" else "L") + p[1]
            src = p
            idx = {"LK": 25, "RK": 26, "LA": 27, "RA": 28}
            d_self = np.hypot(raw[idx[p], 0] * w - x, raw[idx[p], 1] * h - y)
            d_swap = np.hypot(raw[idx[other], 0] * w - x, raw[idx[other], 1] * h - y)
            if d_swap < d_self:
                src = other
            # a swapped-back point is right if its raw label was the *other* leg's own
            ok = lab[src] == _own(p, labels.near_leg)
            if not ok:
                still.add(p)
        after_wrong += bool(still)
        wrong_points_after += len(still)
    return {
        "frames": n,
        "wrong_frames_before": before_wrong,
        "wrong_share_before": before_wrong / max(1, n),
        "folded_frames": folded,
        "wrong_frames_after": after_wrong,
        "wrong_share_after": after_wrong / max(1, n),
        "wrong_points_before": wrong_points_before,
        "wrong_points_after": wrong_points_after,
        "wrong_points_gated": gated_wrong,
        "right_points_gated": gated_right,
        "ambiguous_frames": sum(labels.ambiguous[:n]),
    }
