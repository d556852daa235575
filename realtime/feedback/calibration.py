"""Targets from the runner's own baseline: pure functions, no I/O.

A fixed target (the 45 deg knee drive of the defaults) fits an average runner and no one
in particular: the runner of the real clip reaches ~22 deg, so "drive the knee" would
repeat all session.  The baseline phase (no corrective cues) measures the runner's own
steady values; `propose` turns each into a target a step beyond it (`[calibration]`:
knee drive + 8 deg, hip sway and pelvic drop 20 % less, cadence no more than 3 % below
it).  A metric
with fewer than `min_steps` reliable baseline steps keeps the profile's target.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from realtime.config import CalibrationConfig, CuesConfig
from realtime.types import Step

# metric -> (cues key it sets, how: "above_abs" adds degrees, "below"/"above" scale by %)
TARGETS: dict[str, tuple[str, str]] = {
    "knee_drive_deg": ("knee_drive_target_deg", "above_abs"),
    "hip_sway_pct": ("hip_sway_limit_pct", "below"),
    "pelvic_drop_deg": ("pelvic_drop_limit_deg", "below"),
    "overstride_pct": ("overstride_limit_pct", "below"),
    "cadence_spm": ("cadence_target_spm", "above"),
}
TARGET_KEYS: tuple[str, ...] = tuple(k for k, _ in TARGETS.values())


@dataclass(frozen=True, slots=True)
class Calibration:
    """What the baseline measured and the targets it proposes.

    `baseline[metric] = (median of reliable steps, their number)`; `targets[key]` only
    for metrics with enough steps; `previous[key]` the profile's value it replaces.
    """

    baseline: dict[str, tuple[float, int]]
    targets: dict[str, float]
    previous: dict[str, float]

    def apply(self, cfg: CuesConfig) -> CuesConfig:
        return dataclasses.replace(cfg, **self.targets)

    def lines(self) -> list[str]:
        """One line per metric for the display, the terminal and the report."""
        out = []
        for metric, (key, _) in TARGETS.items():
            med, n = self.baseline.get(metric, (math.nan, 0))
            if key in self.targets:
                out.append(f"{_label(key)}: baseline {med:.1f} ({n} steps) -> target "
                           f"{self.targets[key]:.1f} (was {self.previous[key]:.1f})")
            elif n:
                out.append(f"{_label(key)}: baseline {med:.1f} from only {n} steps: "
                           f"target kept at {self.previous[key]:.1f}")
        return out

    def short(self) -> str:
        """One short line for the screen, e.g. "new targets from your baseline: knee drive
        31 (baseline 23), cadence 175 (baseline 167)"."""
        parts = []
        for metric, (key, _) in TARGETS.items():
            if key in self.targets:
                name = _label(key).rsplit(" ", 1)[0]  # "knee drive target" -> "knee drive"
                parts.append(f"{name} {self.targets[key]:.0f} "
                             f"(baseline {self.baseline[metric][0]:.0f})")
        if not parts:
            return "baseline: too few trusted steps; targets kept"
        return "new targets from your baseline: " + ", ".join(parts)

    def as_dict(self) -> dict:
        return {"baseline": {m: {"median": round(v, 3), "steps": n}
                             for m, (v, n) in self.baseline.items()},
                "targets": self.targets, "previous": self.previous}


def _label(key: str) -> str:
    return key.rsplit("_", 1)[0].replace("_", " ")


def baseline_values(steps: Sequence[Step]) -> dict[str, tuple[float, int]]:
    """Median and count of each target metric's reliable values."""
    out: dict[str, tuple[float, int]] = {}
    for metric in TARGETS:
        vals = [getattr(s, metric) for s in steps if s.reliable(metric)]
        if vals:
            out[metric] = (float(np.median(vals)), len(vals))
    return out


def _clamp(key: str, value: float) -> float:
    f = {x.name: x for x in dataclasses.fields(CuesConfig)}[key]
    lo, hi = f.metadata.get("min"), f.metadata.get("max")
    if lo is not None:
        value = max(lo, value)
    if hi is not None:
        value = min(hi, value)
    return round(value, 1)


def propose(steps: Sequence[Step], cues: CuesConfig, cfg: CalibrationConfig) -> Calibration:
    """The targets the baseline `steps` call for (see the module docstring)."""
    base = baseline_values(steps)
    share = {"knee_drive_deg": cfg.knee_drive_above_deg,
             "hip_sway_pct": cfg.hip_sway_below_pct / 100.0,
             "pelvic_drop_deg": cfg.pelvic_drop_below_pct / 100.0,
             "overstride_pct": cfg.overstride_below_pct / 100.0,
             "cadence_spm": cfg.cadence_above_pct / 100.0}
    targets: dict[str, float] = {}
    for metric, (key, how) in TARGETS.items():
        med, n = base.get(metric, (math.nan, 0))
        if n < cfg.min_steps:
            continue
        if how == "above_abs":
            value = med + share[metric]
        elif how == "above":
            value = med + abs(med) * share[metric]  # a negative share: "no slower than"
        else:
            value = med - abs(med) * share[metric]
        targets[key] = _clamp(key, value)
    return Calibration(base, targets, {k: getattr(cues, k) for k in TARGET_KEYS})
