"""Session outputs: steps.csv rows and the summary.json dict."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from realtime.types import STEP_COLUMNS, STEP_METRICS, Step, View


def _cell(v: object) -> object:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.4f}"
    return v


def write_steps_csv(path: str | Path, steps: Sequence[Step]) -> Path:
    """One row per step: the STEP_COLUMNS (leg first); NaN is an empty cell."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(STEP_COLUMNS)
        for s in steps:
            wr.writerow([_cell(getattr(s, c)) for c in STEP_COLUMNS])
    return path


def _median(vals: Sequence[float]) -> float | None:
    a = np.asarray([v for v in vals if v == v], float)
    return float(np.median(a)) if a.size else None


def summarize(
    steps: Sequence[Step], *, frames: int, frames_with_pose: int, view: View,
    event_delay_s: float, fps_processing: float, min_confidence: float = 0.5,
) -> dict[str, Any]:
    """summary.json content.  Medians use the steps with confidence >= min_confidence
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
        "cadence_spm": metrics["cadence_spm"]["median"],
        "mean_confidence": _median([s.confidence for s in steps]),
        "metrics": metrics,
        "event_delay_s": fin(event_delay_s),
        "fps_processing": fin(fps_processing),
    }
