"""Session outputs: steps.csv rows and the summary.json dict."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from realtime.types import STEP_COLUMNS, STEP_METRICS, Step, View


def step_row(step: Step) -> list[str]:
    """One steps.csv row: the STEP_COLUMNS in order, NaN as an empty cell."""
    row: list[str] = []
    for name in STEP_COLUMNS:
        v = getattr(step, name)
        row.append(("" if math.isnan(v) else f"{v:.4f}") if isinstance(v, float) else str(v))
    return row


def write_steps_csv(path: str | Path, steps: Sequence[Step]) -> Path:
    """Write a whole steps.csv at once (live sessions append with StepsCsvSink)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(STEP_COLUMNS)
        wr.writerows(step_row(s) for s in steps)
    return path


def _median(vals: Sequence[float]) -> float | None:
    a = np.asarray([v for v in vals if v == v], float)
    return float(np.median(a)) if a.size else None


JOIN_S = 0.002  # a step "follows" another when it starts within this of the other's end


def follows(prev: Step, step: Step, join_s: float = JOIN_S) -> bool:
    """True when `step` starts where `prev` ended: the same chain, no gap between them."""
    return prev.cadence_spm > 0 and abs(
        prev.t_contact_s + 60.0 / prev.cadence_spm - step.t_contact_s) <= join_s


def session_cadence_spm(steps: Sequence[Step], max_join_s: float = JOIN_S) -> float:
    """The session's cadence: steps per minute from a least-squares line through the
    contact times against step number, pooled over unbroken chains of steps.

    Why not the median of per-step cadence: when one leg's contacts are timed a few ms
    later than the other's, step durations alternate long/short and the median lands on
    one side (1-3 % at 30 fps on the motion-capture validation).  The fitted slope uses
    every contact, the offset cancels, and jitter averages out.  A chain breaks where a
    step does not start at the previous step's end (a gap, a rejected step); each chain
    keeps its own intercept.  Falls back to the per-step median with no chain of 3.
    """
    chains: list[list[float]] = []
    prev_end = math.nan
    for st in steps:
        if not math.isfinite(st.cadence_spm) or st.cadence_spm <= 0:
            prev_end = math.nan
            continue
        if not (abs(st.t_contact_s - prev_end) <= max_join_s):
            chains.append([st.t_contact_s])
        prev_end = st.t_contact_s + 60.0 / st.cadence_spm
        chains[-1].append(prev_end)  # the step's end is the next contact
    sxy = sxx = 0.0
    for ch in chains:
        if len(ch) < 3:
            continue
        t = np.asarray(ch)
        i = np.arange(t.size, dtype=float)
        i -= i.mean()
        sxy += float(i @ (t - t.mean()))
        sxx += float(i @ i)
    if sxx > 0 and sxy > 0:
        return 60.0 * sxx / sxy
    med = _median([s.cadence_spm for s in steps])
    return math.nan if med is None else med


def summarize(
    steps: Sequence[Step], *, frames: int, frames_with_pose: int, view: View,
    event_delay_s: float, fps_processing: float, min_confidence: float = 0.5,
) -> dict[str, Any]:
    """summary.json content.  `cadence_spm` is the session cadence fitted to all contact
    times (`session_cadence_spm`); `metrics.cadence_spm` keeps the per-step medians.
    Medians use the steps with confidence >= min_confidence
    (all steps if none qualifies, flagged by `confident_steps` = 0); asymmetry is
    (L - R) / mean(|L|, |R|) in %, None when a side has no value.  JSON-safe: no NaN."""
    good = [s for s in steps if s.confidence >= min_confidence]
    use = good or list(steps)
    metrics: dict[str, Any] = {}
    for name in STEP_METRICS:
        allv = _median([getattr(s, name) for s in use])
        lv = _median([getattr(s, name) for s in use if s.leg == "L"])
        rv = _median([getattr(s, name) for s in use if s.leg == "R"])
        asym = None
        if lv is not None and rv is not None:
            mean = 0.5 * (abs(lv) + abs(rv))
            asym = 100.0 * (lv - rv) / mean if mean > 1e-9 else 0.0
        metrics[name] = {"median": allv, "L": lv, "R": rv, "asymmetry_pct": asym}

    def fin(x: float) -> float | None:
        return float(x) if x == x and math.isfinite(x) else None

    return {
        "view": view,
        "frames": int(frames),
        "frames_with_pose": int(frames_with_pose),
        "steps": len(steps),
        "confident_steps": len(good),
        "steps_L": sum(1 for s in steps if s.leg == "L"),
        "steps_R": sum(1 for s in steps if s.leg == "R"),
        # every step's contacts: a low-confidence step breaks no chain (a slightly mistimed
        # contact barely moves the fitted line, a broken chain loses all its strides)
        "cadence_spm": fin(session_cadence_spm(steps)),
        "mean_confidence": _median([s.confidence for s in steps]),
        "metrics": metrics,
        "event_delay_s": fin(event_delay_s),
        "fps_processing": fin(fps_processing),
    }
