"""Did a metric really change between two sessions, or is it noise?  Pure functions.

A change is called real only when (1) both sessions have at least `report.min_steps`
reliable steps of the metric (a stable mean of 2D running kinematics needs >= 7 steps,
Dingenen et al. 2018) and (2) the difference of the two means exceeds the smallest
detectable difference: the larger of
- the published 2D test-retest SDD for that metric (Dingenen 2018: pelvic drop
  2.7-2.8 deg, knee flexion 2.3-3.8 deg; `report.sdd_*`, 0 where none is published), and
- the 95 % interval of the difference of two means from the sessions' own step-to-step
  spread, 1.96 * sqrt(sA^2/nA + sB^2/nB) (a noisy session needs a larger change).
The second alone understates day-to-day variation (camera placement, shoes, fatigue),
which is why metrics without a published SDD are flagged as such in the report.

Means, not medians, because the published SDDs are for means of steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from realtime.config import ReportConfig
from realtime.metrics.summary import phase_values
from realtime.types import Step


@dataclass(frozen=True, slots=True)
class Metric:
    column: str
    label: str
    unit: str
    higher_is_better: bool
    sdd_key: str  # ReportConfig field


COMPARED: tuple[Metric, ...] = (
    Metric("knee_drive_deg", "knee drive", "°", True, "sdd_knee_drive_deg"),
    Metric("knee_flexion_ic_deg", "knee flexion at contact", "°", True,
           "sdd_knee_flexion_ic_deg"),
    Metric("overstride_pct", "overstride", "% leg", False, "sdd_overstride_pct"),
    Metric("cadence_spm", "cadence", "steps/min", True, "sdd_cadence_spm"),
    Metric("hip_sway_pct", "hip sway", "% leg", False, "sdd_hip_sway_pct"),
    Metric("pelvic_drop_deg", "pelvic drop", "°", False, "sdd_pelvic_drop_deg"),
)


@dataclass(frozen=True, slots=True)
class Stats:
    mean: float
    sd: float
    n: int

    @staticmethod
    def of(values: Sequence[float]) -> Stats:
        a = np.asarray([v for v in values if math.isfinite(v)], float)
        if a.size == 0:
            return Stats(math.nan, math.nan, 0)
        return Stats(float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0, a.size)


@dataclass(frozen=True, slots=True)
class Change:
    metric: Metric
    a: Stats
    b: Stats
    published_sdd: float  # 0: none published
    noise: float  # 95 % interval of the difference of the two means
    # "better", "worse", "no real change", "too few steps", "no trusted steps" (in neither)
    verdict: str

    @property
    def diff(self) -> float:
        return self.b.mean - self.a.mean

    @property
    def threshold(self) -> float:
        return max(self.published_sdd, self.noise)

    @property
    def real(self) -> bool:
        return self.verdict in ("better", "worse")


def values(steps: Sequence[tuple[str, Step]], column: str,
           phases: Sequence[str] | None) -> list[float]:
    """Trusted values of one metric, in the given phases (None: all)."""
    return phase_values(steps, column, phases)


def compare_metric(metric: Metric, a: Sequence[float], b: Sequence[float],
                   cfg: ReportConfig) -> Change:
    """The SDD rule for one metric (see the module docstring)."""
    sa, sb = Stats.of(a), Stats.of(b)
    sdd = float(getattr(cfg, metric.sdd_key))
    if sa.n == 0 and sb.n == 0:
        return Change(metric, sa, sb, sdd, math.nan, "no trusted steps")
    if sa.n < cfg.min_steps or sb.n < cfg.min_steps:
        return Change(metric, sa, sb, sdd, math.nan, "too few steps")
    noise = 1.96 * math.sqrt(sa.sd ** 2 / sa.n + sb.sd ** 2 / sb.n)
    d = sb.mean - sa.mean
    if abs(d) <= max(sdd, noise):
        verdict = "no real change"
    else:
        verdict = "better" if (d > 0) == metric.higher_is_better else "worse"
    return Change(metric, sa, sb, sdd, noise, verdict)


def pick_phases(steps: Sequence[tuple[str, Step]], phase: str, min_steps: int
                ) -> tuple[str, ...] | None:
    """Which phases a session is judged on: `phase` ("baseline", "retest", "drill") if
    it holds enough steps, else the whole session (None); "all" is the whole session."""
    if phase == "all":
        return None
    n = sum(1 for p, _ in steps if p == phase)
    return (phase,) if n >= min_steps else None


def compare(a: Sequence[tuple[str, Step]], b: Sequence[tuple[str, Step]], cfg: ReportConfig,
            phase: str = "baseline") -> tuple[list[Change], str, str]:
    """Every compared metric of session A (before) against B (after), and the part of
    each session used (e.g. "baseline", "whole session")."""
    pa, pb = pick_phases(a, phase, cfg.min_steps), pick_phases(b, phase, cfg.min_steps)
    out = [compare_metric(m, values(a, m.column, pa), values(b, m.column, pb), cfg)
           for m in COMPARED]
    return out, (pa[0] if pa else "whole session"), (pb[0] if pb else "whole session")
