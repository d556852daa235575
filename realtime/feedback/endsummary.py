"""What the end-of-session screen says: pure, from the session's phased steps.

The runner and therapist see, before the window closes: how many steps and cues, each
main metric's median against its target (a zone, as the gauges show it), and what
changed from the baseline to the retest (both without cues, so the change is the
runner's own, not the cue's).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from realtime.config import CuesConfig
from realtime.feedback.cues import zone
from realtime.metrics.summary import phase_values
from realtime.types import Step


@dataclass(frozen=True, slots=True)
class MainMetric:
    column: str
    label: str
    unit: str
    target_key: str
    band_key: str
    higher_is_better: bool


MAIN_METRICS: tuple[MainMetric, ...] = (
    MainMetric("knee_drive_deg", "knee drive", "°", "knee_drive_target_deg",
               "knee_drive_band_deg", True),
    MainMetric("hip_sway_pct", "hip sway", " % leg", "hip_sway_limit_pct",
               "hip_sway_band_pct", False),
    MainMetric("pelvic_drop_deg", "pelvic drop", "°", "pelvic_drop_limit_deg",
               "pelvic_drop_band_deg", False),
    MainMetric("overstride_pct", "overstride", " % leg", "overstride_limit_pct",
               "overstride_band_pct", False),
    MainMetric("cadence_spm", "cadence", " steps/min", "cadence_target_spm",
               "cadence_band_spm", True),
)


def reliable(steps: Sequence[tuple[str, Step]], column: str,
             phases: Sequence[str] | None = None) -> np.ndarray:
    """The trusted values of one metric (in the given phases)."""
    return np.asarray(phase_values(steps, column, phases), float)


def _med(a: np.ndarray) -> float:
    return float(np.median(a)) if a.size else math.nan


def end_lines(steps: Sequence[tuple[str, Step]], cues: CuesConfig, n_cues: int,
              duration_s: float, min_steps: int = 7) -> list[tuple[str, str]]:
    """(text, zone) lines: zone is good/near/bad against the target, '' for plain text.

    A metric gets a verdict only from `min_steps` trusted steps or more (as the baseline
    to retest change does); fewer are shown as a value without one.
    """
    m, s = divmod(max(0, round(duration_s)), 60)
    out: list[tuple[str, str]] = [(f"{len(steps)} steps in {m}:{s:02d}, {n_cues} cues", "")]
    for mm in MAIN_METRICS:
        vals = reliable(steps, mm.column)
        if not vals.size:
            continue
        med = _med(vals)
        target = getattr(cues, mm.target_key)
        word = "target" if mm.higher_is_better else "limit"
        if vals.size >= min_steps:
            z = zone(med, target, getattr(cues, mm.band_key), mm.higher_is_better)
            out.append((f"{mm.label} {med:.1f}{mm.unit}  ({word} {target:.1f}, median of "
                        f"{vals.size} steps)", z))
        else:  # a verdict from a handful of steps would be a coin toss shown as a fact
            out.append((f"{mm.label} {med:.1f}{mm.unit}  ({word} {target:.1f}; only "
                        f"{vals.size} trusted of {len(steps)} steps: no verdict)", ""))
        base = reliable(steps, mm.column, ("baseline",))
        ret = reliable(steps, mm.column, ("retest",))
        if base.size >= min_steps and ret.size >= min_steps:
            d = _med(ret) - _med(base)
            out.append((f"  baseline {_med(base):.1f} -> retest {_med(ret):.1f} "
                        f"({d:+.1f}{mm.unit})", ""))
        elif base.size >= min_steps:
            out.append((f"  baseline {_med(base):.1f} (no retest with {min_steps}+ steps)",
                        ""))
    if len(out) == 1:
        out.append(("no trusted steps: was the runner in view?", "near"))
    return out
