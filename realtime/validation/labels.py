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
    toe_offs: tuple[tuple[str, float], ...] = ()  # (leg, t_s), by time
    path: Path | None = None  # the labels file (its siblings hold the per-step labels)


def load_labels(path: str | Path) -> Labels:
    p = Path(path)
    try:
        d = json.loads(p.read_text())

        def events(key: str) -> tuple[tuple[str, float], ...]:
            return tuple(sorted(((c["leg"], float(c["t_s"])) for c in d.get(key, ())
                                 if c.get("t_s") is not None), key=lambda x: x[1]))

        return Labels(data_dir() / d["clip"], float(d["fps"]), events("contacts"),
                      events("toe_offs"), p)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{p}: not a contact-labels file ({exc})") from None


def blazepose_stream(clip: Path, view: str = "side") -> PoseStream:
    """The clip through the real BlazePose model, every frame (as `realtime analyze`)."""
    from realtime.capture import VideoFileSource
    from realtime.config import PoseConfig
    from realtime.pipeline import ModelPoses
    from realtime.pose.footflow import no_flow
    from realtime.pose.mediapipe_pose import MediaPipePose

    if not clip.exists():
        raise UserError(f"clip not found: {clip}")
    src = ModelPoses(VideoFileSource(clip), lambda: MediaPipePose(PoseConfig())).start()
    t, lms, flows = [], [], []
    try:
        while (item := src.read(timeout=30.0)) is not None:
            frame, sample = item
            assert frame is not None
            t.append(frame.seq / src.fps)
            lms.append(sample.landmarks)
            flows.append(no_flow() if sample.foot_flow is None else sample.foot_flow)
    finally:
        src.stop()
    return PoseStream(np.asarray(t), np.stack(lms), src.size, view, src.fps,  # type: ignore[arg-type]
                      np.stack(flows))


def contact_errors(stream: PoseStream, events: Sequence[GaitEvent],
                   labels: Labels, kind: str = "IC") -> np.ndarray:
    """Per judged label (past the warm-up, before the end margin, as in the force
    validation): the same leg's nearest reported event minus the label, s (NaN when
    none is within MATCH_S); `kind` "TO" scores toe-offs."""
    t0, t1 = float(stream.t[0]), float(stream.t[-1])
    evs = [e for e in events if e.kind == kind]
    errs = []
    for leg, t in (labels.contacts if kind == "IC" else labels.toe_offs):
        if t0 + WARMUP_S <= t <= t1 - EDGE_S:
            d = [e.t_s - t for e in evs if e.leg == leg and abs(e.t_s - t) < MATCH_S]
            errs.append(min(d, key=abs) if d else math.nan)
    return np.asarray(errs, dtype=float)


def _matched(ics: Sequence[GaitEvent], labels: Labels, t0: float, t1: float
             ) -> list[tuple[str, float, GaitEvent]]:
    """(leg, label time, the reported contact nearest to it) of every judged label with
    a report within MATCH_S."""
    out = []
    for leg, t in labels.contacts:
        if t0 + WARMUP_S <= t <= t1 - EDGE_S:
            near = [e for e in ics if e.leg == leg and abs(e.t_s - t) < MATCH_S]
            if near:
                out.append((leg, t, min(near, key=lambda e: abs(e.t_s - t))))
    return out


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
    pairs = _matched(ics, labels, t0, t1)
    body = [e.t_s - t for _, t, e in pairs if e.source == "body"]
    per_leg = {g: [e.t_s - t for leg, t, e in pairs if leg == g] for g in "LR"}
    to = contact_errors(stream, ga.events, labels, "TO")
    to_ok = np.isfinite(to)
    return {
        "bias_ms_per_leg": {g: float(np.mean(v) * 1e3) if v else math.nan
                            for g, v in per_leg.items()},
        "body_timed_judged": len(body),
        "body_timed_mean_ms": float(np.mean(body) * 1e3) if body else math.nan,
        "toe_offs_judged": int(to.size),
        "toe_offs_reported": int(to_ok.sum()),
        "toe_off_mae_ms": float(np.mean(np.abs(to[to_ok])) * 1e3) if to_ok.any() else math.nan,
        "toe_off_bias_ms": float(np.mean(to[to_ok]) * 1e3) if to_ok.any() else math.nan,
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
