"""Scoring the metrics stage on real video against contacts labelled by hand from frames.

The labels file (e.g. tests/fixtures/treadmill_side_male_contacts.json) names its clip
under the shared data folder and lists each contact's leg and time (t = frame / fps);
see tests/fixtures/README.md for how they were made.  One command prints the figures:

    python -m realtime.validation --labels tests/fixtures/treadmill_side_male_contacts.json

(add `--pose OUT/pose.npz` to reuse a recorded pose stream instead of running BlazePose).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from realtime.config import MetricsConfig
from realtime.errors import UserError
from realtime.pose.stream import PoseStream
from realtime.types import GaitEvent
from realtime.validation.datadir import data_dir
from realtime.validation.score import EDGE_S, WARMUP_S

MATCH_S = 0.18  # a reported contact further than this from a label is not its report
WITHIN_S = 0.060  # the bar: reported within 60 ms


@dataclass(frozen=True, slots=True)
class Labels:
    clip: Path
    fps: float
    contacts: tuple[tuple[str, float], ...]  # (leg, t_s), by time


def load_labels(path: str | Path) -> Labels:
    p = Path(path)
    try:
        d = json.loads(p.read_text())
        contacts = tuple(sorted(((c["leg"], float(c["t_s"])) for c in d["contacts"]
                                 if c.get("t_s") is not None), key=lambda x: x[1]))
        return Labels(data_dir() / d["clip"], float(d["fps"]), contacts)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{p}: not a contact-labels file ({exc})") from None


def blazepose_stream(clip: Path, view: str = "side") -> PoseStream:
    """The clip through the real BlazePose model, every frame (as `realtime analyze`)."""
    from realtime.capture import VideoFileSource
    from realtime.config import PoseConfig
    from realtime.pipeline import ModelPoses
    from realtime.pose.mediapipe_pose import MediaPipePose

    if not clip.exists():
        raise UserError(f"clip not found: {clip}")
    src = ModelPoses(VideoFileSource(clip), lambda: MediaPipePose(PoseConfig())).start()
    t, lms = [], []
    try:
        while (item := src.read(timeout=30.0)) is not None:
            frame, sample = item
            assert frame is not None
            t.append(frame.seq / src.fps)
            lms.append(sample.landmarks)
    finally:
        src.stop()
    return PoseStream(np.asarray(t), np.stack(lms), src.size, view, src.fps)  # type: ignore[arg-type]


def contact_errors(stream: PoseStream, events: Sequence[GaitEvent],
                   labels: Labels) -> np.ndarray:
    """Per judged label (past the warm-up, before the end margin, as in the force
    validation): the same leg's nearest reported contact minus the label, s (NaN when
    none is within MATCH_S)."""
    t0, t1 = float(stream.t[0]), float(stream.t[-1])
    ics = [e for e in events if e.kind == "IC"]
    errs = []
    for leg, t in labels.contacts:
        if t0 + WARMUP_S <= t <= t1 - EDGE_S:
            d = [e.t_s - t for e in ics if e.leg == leg and abs(e.t_s - t) < MATCH_S]
            errs.append(min(d, key=abs) if d else math.nan)
    return np.asarray(errs, dtype=float)


def score_labels(stream: PoseStream, labels: Labels,
                 cfg: MetricsConfig | None = None) -> dict[str, Any]:
    """The figures of the issue's real-video bars for one labelled stream."""
    from realtime.metrics import analyze_stream, summarize

    cfg = cfg or MetricsConfig()
    steps, ga = analyze_stream(stream, cfg)
    t0, t1 = float(stream.t[0]), float(stream.t[-1])
    ics = [e for e in ga.events if e.kind == "IC"]
    e = contact_errors(stream, ga.events, labels)
    judged = e.size
    ok = np.isfinite(e)
    dur = np.array([60.0 / s.cadence_spm for s in steps])
    summ = summarize(steps, frames=len(stream), frames_with_pose=stream.frames_with_pose,
                     view=stream.view, event_delay_s=ga.event_delay_s, fps_processing=0.0,
                     contacts=[(x.leg, x.t_s) for x in ics],
                     toe_offs=[(x.leg, x.t_s) for x in ga.events if x.kind == "TO"],
                     body_minima=ga.body_minima, hidden_legs=ga.hidden_legs)
    asym = {k: m["asymmetry_pct"] for k, m in summ["metrics"].items()
            if m["asymmetry_pct"] is not None}
    false = [x for x in ics if t0 + WARMUP_S <= x.t_s <= t1 - EDGE_S and not any(
        x.leg == leg and abs(x.t_s - t) < MATCH_S for leg, t in labels.contacts)]
    # contacts timed from the foot, and how far each is from its label: a foot-timed
    # contact is what makes knee flexion at contact and overstride trusted
    foot = [min((x.t_s - t for leg, t in labels.contacts if leg == x.leg), key=abs,
                default=math.inf)
            for x in ics if x.source == "foot" and t0 + WARMUP_S <= x.t_s <= t1 - EDGE_S]
    foot = [d for d in foot if abs(d) < MATCH_S]
    return {
        "labels": len(labels.contacts),
        "judged": judged,
        "reported": int(ok.sum()),
        "within_60ms": int((np.abs(e[ok]) <= WITHIN_S).sum()),
        "within_60ms_share": float((np.abs(e[ok]) <= WITHIN_S).sum() / max(1, judged)),
        "mae_ms": float(np.mean(np.abs(e[ok])) * 1e3) if ok.any() else math.nan,
        "bias_ms": float(np.mean(e[ok]) * 1e3) if ok.any() else math.nan,
        "false": len(false),
        "steps": len(steps),
        "step_cv_pct": float(100 * dur.std() / dur.mean()) if dur.size else math.nan,
        "cadence_spm": summ["cadence_spm"],
        "timed_from_body": sum(1 for x in ics if x.source == "body"),
        "hidden_legs": list(ga.hidden_legs),
        "asymmetry_pct": asym,
        "unreliable_steps": sum(1 for s in steps if s.unreliable),
        "foot_timed": len(foot),
        "foot_timed_mae_ms": float(np.mean(np.abs(foot)) * 1e3) if foot else math.nan,
        "contact_metrics_trusted_steps": sum(
            1 for s in steps if "knee_flexion_ic_deg" not in s.unreliable
            and math.isfinite(s.knee_flexion_ic_deg)),
    }
