"""Two cameras on one motion-capture trial: the clock offset and the fused steps, scored.

The virtual camera projects the same trial from the side and from behind, at two frame
rates; the rear stream's clock is shifted by a known offset (as two recordings started
by hand would be).  Each stream goes through its own `GaitAnalyzer`; the offset is
estimated from the gait (`realtime.metrics.twoview`), the steps fused, and the fused
rows scored against the force-plate truth exactly like each view alone.

    python -m realtime.validation --two-view            # the table below, ~30 s

Figures: offset error; steps matched in both views (inside the span both views
report steps, whose ends depend on each view's own warm-up); the share of steps.csv
rows with both knee drive and hip sway; each metric's mean absolute error alone and
fused.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from realtime.config import Config
from realtime.metrics.twoview import (
    ClockOffset,
    body_trace,
    estimate_clock_offset,
    fuse_steps,
)
from realtime.pose.stream import PoseStream
from realtime.types import VIEW_METRICS, Step
from realtime.validation.score import Evaluation, evaluate, summarize
from realtime.validation.streams import synthesize_trial

OFFSET_S = 0.137  # the example: rear clock = side clock + 0.137 s
TARGETS = {"offset_err_ms": 5.0, "matched_share": 0.99, "both_share": 0.95}


@dataclass(frozen=True, slots=True)
class PairResult:
    trial: str
    side_fps: float
    rear_fps: float
    true_offset_s: float
    offset: ClockOffset | None
    rows: tuple[Step, ...]
    sources: tuple[str, ...]  # per row: "both", "side" or "rear"
    in_span: int  # rows inside the span both views report steps
    matched_in_span: int
    alone: dict[str, Evaluation]  # view -> that view's own steps, scored
    fused: dict[str, Evaluation]  # view -> the fused rows, scored on that view's metrics

    @property
    def offset_err_ms(self) -> float:
        return math.nan if self.offset is None else \
            1000.0 * (self.offset.offset_s - self.true_offset_s)

    @property
    def both(self) -> int:
        """Rows carrying both knee drive and hip sway."""
        return sum(1 for r in self.rows if r.knee_drive_deg == r.knee_drive_deg
                   and r.hip_sway_pct == r.hip_sway_pct)


def pair_streams(trial: str, side_fps: float, rear_fps: float, offset_s: float,
                 noise_px: float, seed: int = 0):  # -> tuple[SyntheticStream, SyntheticStream]
    """The side and rear streams of one trial; the rear's clock shifted by offset_s (its
    truth stays on the motion capture's clock, which is the side's)."""
    side = synthesize_trial(trial, "side", side_fps, noise_px, "left", seed)
    rear = synthesize_trial(trial, "rear", rear_fps, noise_px, "left", seed)
    shifted = dataclasses.replace(rear.stream, t=rear.stream.t + offset_s)
    return side, dataclasses.replace(rear, stream=shifted)


def run_pair(trial: str, cfg: Config, side_fps: float = 30.0, rear_fps: float = 15.0,
             offset_s: float = OFFSET_S, noise_px: float = 2.0, seed: int = 0) -> PairResult:
    from realtime.metrics import analyze_stream

    side, rear = pair_streams(trial, side_fps, rear_fps, offset_s, noise_px, seed)
    s_steps, s_ga = analyze_stream(side.stream, cfg.metrics)
    r_steps, r_ga = analyze_stream(rear.stream, cfg.metrics)
    off = estimate_clock_offset(s_ga.events, r_ga.events, cfg.two_view,
                                _trace(side.stream), _trace(rear.stream))
    rows, fuser = fuse_steps(s_steps, r_steps, off.offset_s if off else 0.0, cfg.two_view)
    lo = max(s_steps[0].t_contact_s, r_steps[0].t_contact_s - offset_s) if (
        s_steps and r_steps) else math.inf
    hi = min(s_steps[-1].t_contact_s, r_steps[-1].t_contact_s - offset_s) if (
        s_steps and r_steps) else -math.inf
    inside = [src for r, src in zip(rows, fuser.sources, strict=True)
              if lo - 0.05 <= r.t_contact_s <= hi + 0.05]
    t0, t1 = float(side.stream.t[0]), float(side.stream.t[-1])
    rear_on_side = [dataclasses.replace(s, t_contact_s=s.t_contact_s - offset_s) for s in r_steps]
    alone = {"side": evaluate(s_steps, side.steps, "side", side.events, t0=t0, t_end=t1),
             "rear": evaluate(rear_on_side, rear.steps, "rear", rear.events, t0=t0, t_end=t1)}
    fused = {"side": evaluate(rows, side.steps, "side", side.events, t0=t0, t_end=t1),
             "rear": evaluate(rows, rear.steps, "rear", rear.events, t0=t0, t_end=t1)}
    return PairResult(trial, side_fps, rear_fps, offset_s, off, tuple(rows),
                      tuple(fuser.sources), len(inside),
                      sum(1 for src in inside if src == "both"), alone, fused)


def _trace(stream: PoseStream):  # -> BodyTrace
    return body_trace(stream.t, stream.landmarks)


def run_pairs(trials: Sequence[str], cfg: Config | None = None,
              rates: Sequence[tuple[float, float]] = ((30.0, 15.0), (15.0, 30.0),
                                                        (30.0, 20.0)),
              offset_s: float = OFFSET_S, noise_px: float = 2.0, seed: int = 0,
              progress: Callable[[str], None] | None = None, loro: bool = True
              ) -> dict[str, Any]:
    """Every trial at every (side fps, rear fps): pooled figures per rate pair.  With
    `loro`, each runner's streams are analysed with the event calibration fitted on the
    other runners (as the single-view table), so no figure is on a runner the settings
    were tuned on."""
    from realtime.validation.calibrate import fold_configs

    cfg = cfg or Config()
    per_trial = {t: cfg for t in trials}
    if loro:
        folds, _ = fold_configs(trials, cfg.metrics, seed, progress)
        per_trial = {t: dataclasses.replace(cfg, metrics=folds[t]) for t in trials}
    out: dict[str, Any] = {"offset_s": offset_s, "noise_px": noise_px, "targets": TARGETS,
                           "leave_one_runner_out": loro, "rates": {}}
    for side_fps, rear_fps in rates:
        res = [run_pair(t, per_trial[t], side_fps, rear_fps, offset_s, noise_px, seed)
               for t in trials]
        errs = np.array([abs(r.offset_err_ms) for r in res])
        rows = sum(len(r.rows) for r in res)
        key = f"side {side_fps:g} fps, rear {rear_fps:g} fps"
        metrics: dict[str, Any] = {}
        for view in ("side", "rear"):
            a = summarize([r.alone[view] for r in res])
            f = summarize([r.fused[view] for r in res])
            for m in VIEW_METRICS[view]:
                metrics[m] = {"alone_mae": a["metrics"][m]["mae"], "alone_n": a["metrics"][m]["n"],
                              "fused_mae": f["metrics"][m]["mae"], "fused_n": f["metrics"][m]["n"]}
        out["rates"][key] = {
            "pairs": len(res),
            "offset_err_ms_max": float(np.nanmax(errs)) if errs.size else math.nan,
            "offset_err_ms_median": float(np.nanmedian(errs)) if errs.size else math.nan,
            "offset_uncertainty_ms_median": float(np.median(
                [1000 * r.offset.uncertainty_s for r in res if r.offset])),
            "offset_source": sorted({r.offset.source for r in res if r.offset}),
            "offset_ambiguous": sum(1 for r in res if r.offset and r.offset.ambiguous),
            "offset_missing": sum(1 for r in res if r.offset is None),
            "rows": rows,
            "rows_in_span": sum(r.in_span for r in res),
            "matched_in_span": sum(r.matched_in_span for r in res),
            "matched_share": sum(r.matched_in_span for r in res) / max(1, sum(
                r.in_span for r in res)),
            "both_share": sum(r.both for r in res) / max(1, rows),
            "both_share_after_first_stride": sum(
                sum(1 for x in r.rows[2:] if x.knee_drive_deg == x.knee_drive_deg
                    and x.hip_sway_pct == x.hip_sway_pct) for r in res)
            / max(1, sum(max(0, len(r.rows) - 2) for r in res)),
            "metrics": metrics,
            "per_trial": {r.trial: {"offset_err_ms": r.offset_err_ms, "rows": len(r.rows),
                                    "both": r.both, "in_span": r.in_span,
                                    "matched_in_span": r.matched_in_span} for r in res},
        }
        if progress:
            progress(f"{key}: offset error max {out['rates'][key]['offset_err_ms_max']:.1f} ms")
    return out


def markdown(res: dict[str, Any]) -> str:
    """The README's two-camera table."""
    lines = [
        "| side / rear rate | offset error, max (median) ms | steps matched | rows with knee "
        "drive and hip sway | knee drive ° alone / fused | knee flex. IC ° | overstride % | "
        "hip sway % | pelvic drop ° |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, r in res["rates"].items():
        m = r["metrics"]

        def pair(name: str, m: dict[str, Any] = m) -> str:
            return f"{m[name]['alone_mae']:.2f} / {m[name]['fused_mae']:.2f}"

        lines.append(
            f"| {key.replace('side ', '').replace(', rear ', ' / ')} | "
            f"{r['offset_err_ms_max']:.1f} ({r['offset_err_ms_median']:.1f}) | "
            f"{r['matched_in_span']}/{r['rows_in_span']} ({100 * r['matched_share']:.1f} %) | "
            f"{100 * r['both_share']:.1f} % ({100 * r['both_share_after_first_stride']:.1f} % "
            f"after the first stride) | {pair('knee_drive_deg')} | "
            f"{pair('knee_flexion_ic_deg')} | {pair('overstride_pct')} | "
            f"{pair('hip_sway_pct')} | {pair('pelvic_drop_deg')} |")
    return "\n".join(lines)
