"""Scoring detected steps against mocap truth, and the whole validation run.

The harness drives any object with `update(t_s, landmarks) -> list[Step]` and
`finish() -> list[Step]` (the metrics stage's GaitAnalyzer by default), so it can be used
before, and independently of, a particular implementation.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from realtime.metrics.summary import session_cadence_spm, write_steps_csv
from realtime.pose.stream import PoseStream, save
from realtime.types import GaitEvent, Step, View
from realtime.validation.catalog import load_truth, trials
from realtime.validation.project import Camera, Facing, SyntheticStream, synthesize

SIDE_METRICS: tuple[str, ...] = (
    "knee_drive_deg", "knee_height_pct", "knee_flexion_ic_deg", "overstride_pct",
    "trunk_lean_deg", "vertical_oscillation_pct",
)  # fmt: skip
REAR_METRICS: tuple[str, ...] = ("hip_sway_pct", "pelvic_drop_deg")
VIEW_METRICS: dict[str, tuple[str, ...]] = {"side": SIDE_METRICS, "rear": REAR_METRICS}

# What the metrics stage must reach at 30 fps with 2 px noise.  Cadence is judged on the
# median over a trial: a per-step 0.3 % would be 1 ms of a 0.35 s step.
TARGETS: dict[str, float] = {
    "found_share": 0.99,
    "n_false": 0,
    "ic_mae_ms": 15.0,
    "cadence_median_err_pct": 0.3,
    "knee_drive_deg": 2.0,
    "knee_flexion_ic_deg": 3.0,
    "overstride_pct": 2.0,
    "pelvic_drop_deg": 2.0,
    "hip_sway_pct": 1.0,
}
TARGET_FPS, TARGET_NOISE_PX = 30.0, 2.0


class Analyzer(Protocol):
    def update(self, t_s: float, landmarks: np.ndarray) -> list[Step]: ...

    def finish(self) -> list[Step]: ...


AnalyzerFactory = Callable[[View, tuple[int, int], float], Analyzer]


def default_analyzer(view: View, image_size: tuple[int, int], fps: float) -> Analyzer:
    """The project's metrics stage with the default config."""
    from realtime.config import load_config
    from realtime.metrics import GaitAnalyzer

    return GaitAnalyzer(load_config().metrics, view=view, image_size=image_size)


def run_analyzer(analyzer: Analyzer, stream: PoseStream) -> list[Step]:
    """Feed a stream frame by frame, as the live pipeline would."""
    steps: list[Step] = []
    for i in range(len(stream)):
        steps.extend(analyzer.update(float(stream.t[i]), stream.landmarks[i]))
    steps.extend(analyzer.finish())
    return steps


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Matched pairs and raw errors of one stream (pooled later across trials)."""

    view: View
    n_true: int
    n_found: int
    n_false: int
    n_edge: int  # detections not judged (warm-up, last contact, outside the truth's span)
    ic_err_s: np.ndarray
    ic_true_s: np.ndarray  # matched true ICs (same order as ic_err_s)
    ic_index: np.ndarray  # their step numbers in the trial (gaps where a step was missed)
    cadence_true: np.ndarray  # per matched step
    cadence_det: np.ndarray
    cadence_all_true: np.ndarray  # every true step (for the median)
    cadence_all_det: np.ndarray  # every judged detected step
    session_cadence_true: float = math.nan  # summary.json's cadence, from the true steps
    session_cadence_det: float = math.nan  # ... and from the judged detected steps
    metric_err: dict[str, np.ndarray] = field(default_factory=dict)
    metric_missing: dict[str, int] = field(default_factory=dict)


def match(
    detected: Sequence[Step], truth_steps: Sequence[Step],
    unjudged_ics: Sequence[tuple[str, float]] = (),
) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """One-to-one matches (detected index, truth index) by nearest IC of the same leg.

    A detection matches a true IC within half the median true step duration, nearest
    pairs first.  `unjudged_ics` are true contacts that start no judged step (the last
    contact of the trial, contacts in the warm-up): a detection there is neither found
    nor false.  Returns (pairs, false detections, unjudged detections).
    """
    ics = [(s.leg, s.t_contact_s) for s in truth_steps] + list(unjudged_ics)
    if not ics:
        return [], [], list(range(len(detected)))
    durations = [60.0 / s.cadence_spm for s in truth_steps]
    tol = 0.5 * float(np.median(durations)) if durations else 0.2
    lo, hi = min(t for _, t in ics) - tol, max(t for _, t in ics) + tol
    cands = sorted(
        (abs(d.t_contact_s - t), i, k)
        for i, d in enumerate(detected)
        for k, (leg, t) in enumerate(ics)
        if d.leg == leg and abs(d.t_contact_s - t) <= tol
    )
    used_d: dict[int, int] = {}
    used_t: set[int] = set()
    for _, i, k in cands:
        if i in used_d or k in used_t:
            continue
        used_d[i] = k
        used_t.add(k)
    pairs = sorted((i, k) for i, k in used_d.items() if k < len(truth_steps))
    unjudged = [i for i, k in used_d.items() if k >= len(truth_steps)]
    rest = [i for i in range(len(detected)) if i not in used_d]
    unjudged += [i for i in rest if not lo <= detected[i].t_contact_s <= hi]
    false = [i for i in rest if lo <= detected[i].t_contact_s <= hi]
    return pairs, false, sorted(unjudged)


WARMUP_S = 0.5  # true steps starting this early in a stream are not judged


def evaluate(
    detected: Sequence[Step], truth_steps: Sequence[Step], view: View,
    truth_events: Sequence[GaitEvent] = (), warmup_s: float = WARMUP_S,
) -> Evaluation:
    """Raw per-step errors of one stream; see `score` for the summary.

    An online analyzer cannot know the floor before the first contact it sees, and these
    clips are only 3-6 s long, so steps that start in the first `warmup_s` seconds are
    not judged (a live session runs for minutes).  Pass 0 to judge every step.
    """
    judged = [s for s in truth_steps if s.t_contact_s >= warmup_s]
    unjudged = [(s.leg, s.t_contact_s) for s in truth_steps if s.t_contact_s < warmup_s]
    last = max((s.t_contact_s for s in truth_steps), default=-math.inf)
    unjudged += [(e.leg, e.t_s) for e in truth_events if e.kind == "IC" and e.t_s > last + 1e-9]
    pairs, false, edge = match(detected, judged, unjudged)
    truth_steps = judged
    di = [i for i, _ in pairs]
    ti = [k for _, k in pairs]
    errs: dict[str, np.ndarray] = {}
    missing: dict[str, int] = {}
    for m in VIEW_METRICS[view]:
        d = np.array([getattr(detected[i], m) for i in di], dtype=float)
        t = np.array([getattr(truth_steps[k], m) for k in ti], dtype=float)
        ok = np.isfinite(t)
        errs[m] = (d - t)[ok & np.isfinite(d)]
        missing[m] = int((ok & ~np.isfinite(d)).sum())
    judged = [i for i in range(len(detected)) if i not in set(edge)]
    return Evaluation(
        view=view,
        n_true=len(truth_steps),
        n_found=len(pairs),
        n_false=len(false),
        n_edge=len(edge),
        ic_err_s=np.array([detected[i].t_contact_s - truth_steps[k].t_contact_s
                           for i, k in pairs]),
        ic_true_s=np.array([truth_steps[k].t_contact_s for _, k in pairs]),
        ic_index=np.array([k for _, k in pairs], dtype=float),
        cadence_true=np.array([truth_steps[k].cadence_spm for k in ti]),
        cadence_det=np.array([detected[i].cadence_spm for i in di], dtype=float),
        cadence_all_true=np.array([s.cadence_spm for s in truth_steps]),
        cadence_all_det=np.array([detected[i].cadence_spm for i in judged], dtype=float),
        session_cadence_true=session_cadence_spm(truth_steps),
        session_cadence_det=session_cadence_spm([detected[i] for i in judged]),
        metric_err=errs,
        metric_missing=missing,
    )


def _f(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


def _mean(a: np.ndarray) -> float:
    return float(np.mean(a)) if a.size else math.nan


def summarize(evals: Sequence[Evaluation]) -> dict[str, Any]:
    """Pooled summary of one or more evaluations of the same view."""
    if not evals:
        return {}
    view = evals[0].view
    cat = np.concatenate
    ic = cat([e.ic_err_s for e in evals])
    ct, cd = cat([e.cadence_true for e in evals]), cat([e.cadence_det for e in evals])
    okc = np.isfinite(cd)
    n_true = sum(e.n_true for e in evals)
    n_found = sum(e.n_found for e in evals)
    # The session cadence a runner sees in summary.json (fitted to contacts), per trial.
    med_err = [
        100.0 * abs(e.session_cadence_det / e.session_cadence_true - 1.0)
        for e in evals
        if math.isfinite(e.session_cadence_true) and math.isfinite(e.session_cadence_det)
    ]
    span_err = []
    for e in evals:
        if e.ic_true_s.size >= 3:
            # step period = slope of contact time against step number, least squares
            true_period = np.polyfit(e.ic_index, e.ic_true_s, 1)[0]
            det_period = np.polyfit(e.ic_index, e.ic_true_s + e.ic_err_s, 1)[0]
            span_err.append(100.0 * abs(true_period / det_period - 1.0))
    out: dict[str, Any] = {
        "view": view,
        "n_true": n_true,
        "n_found": n_found,
        "found_share": n_found / n_true if n_true else math.nan,
        "n_false": sum(e.n_false for e in evals),
        "n_edge": sum(e.n_edge for e in evals),
        "ic_mae_ms": 1000.0 * _mean(np.abs(ic)),
        "ic_bias_ms": 1000.0 * _mean(ic),
        "cadence_step_err_pct": _mean(100.0 * np.abs(cd[okc] - ct[okc]) / ct[okc]),
        # the worst trial's error of summary.json's session cadence
        "cadence_median_err_pct": max(med_err) if med_err else math.nan,
        # trial cadence from a least-squares line through the matched contact times
        # against step number (worst trial): the session cadence, free of per-step jitter
        "cadence_span_err_pct": max(span_err) if span_err else math.nan,
        "cadence_median_true_spm": float(np.median(cat([e.cadence_all_true for e in evals]))),
        "metrics": {},
    }
    for m in VIEW_METRICS[view]:
        err = cat([e.metric_err[m] for e in evals])
        out["metrics"][m] = {
            "mae": _mean(np.abs(err)),
            "bias": _mean(err),
            "n": int(err.size),
            "n_missing": sum(e.metric_missing[m] for e in evals),
        }
    return out


def score(
    detected_steps: Sequence[Step], truth_steps: Sequence[Step], view: View,
    truth_events: Sequence[GaitEvent] = (), warmup_s: float = WARMUP_S,
) -> dict[str, Any]:
    """Summary of detected vs true steps for one stream (dict, see `summarize`)."""
    return summarize([evaluate(detected_steps, truth_steps, view, truth_events, warmup_s)])


def verdict(summary: dict[str, Any]) -> dict[str, bool]:
    """Target name -> met? for the targets that apply to this summary's view."""
    res: dict[str, bool] = {}
    for key, lim in TARGETS.items():
        if key == "found_share":
            res[key] = summary["found_share"] >= lim
        elif key == "n_false":
            res[key] = summary["n_false"] <= lim
        elif key in summary:
            v = summary[key]
            res[key] = bool(math.isfinite(v) and v <= lim)
        elif key in summary["metrics"]:
            v = summary["metrics"][key]["mae"]
            res[key] = bool(math.isfinite(v) and v <= lim and
                            summary["metrics"][key]["n_missing"] == 0)
    return res


def seed_for(trial: str, view: str, fps: float, noise_px: float, facing: str,
             seed: int) -> int:
    """A stable per-stream seed, so a rerun gives the same phases and noise."""
    return zlib.crc32(f"{trial}|{view}|{fps:g}|{noise_px:g}|{facing}|{seed}".encode())


def make_stream(
    trial: str, view: View = "side", fps: float = 30.0, noise_px: float = 2.0,
    facing: Facing = "left", seed: int = 0,
) -> tuple[PoseStream, list[Step], tuple[GaitEvent, ...]]:
    """A synthetic pose stream of a mocap trial and its true steps and events.

    Times of the truth are stream times (the stream's first frame is t = 0).
    """
    syn = synthesize_trial(trial, view, fps, noise_px, facing, seed)
    return syn.stream, list(syn.steps), syn.events


def synthesize_trial(trial: str, view: View, fps: float, noise_px: float, facing: Facing,
                     seed: int) -> SyntheticStream:
    rng = np.random.default_rng(seed_for(trial, view, fps, noise_px, facing, seed))
    return synthesize(load_truth(trial), Camera(view=view, facing=facing), fps, noise_px, rng)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return _f(float(obj))
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


@dataclass(frozen=True, slots=True)
class Condition:
    view: View
    fps: float
    noise_px: float
    facing: Facing

    @property
    def key(self) -> str:
        face = f"_{self.facing}" if self.view == "side" else ""
        return f"{self.view}{face}_{self.fps:g}fps_{self.noise_px:g}px"

    @property
    def is_target(self) -> bool:
        return self.fps == TARGET_FPS and self.noise_px == TARGET_NOISE_PX


def conditions(views: Sequence[View], fps: Sequence[float], noise: Sequence[float],
               facings: Sequence[Facing]) -> list[Condition]:
    out = []
    for v in views:
        for f in fps:
            for n in noise:
                for face in facings if v == "side" else ("left",):
                    out.append(Condition(v, float(f), float(n), face))
    return out


def run_validation(
    trial_names: Sequence[str] | None = None,
    conds: Sequence[Condition] | None = None,
    factory: AnalyzerFactory = default_analyzer,
    out_dir: Path | None = None,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    warmup_s: float = WARMUP_S,
) -> dict[str, Any]:
    """Generate every stream, run the analyzer, score; write streams and JSON to out_dir."""
    names = list(trial_names or trials())
    conds = list(conds or conditions(("side", "rear"), (30.0, 60.0), (0.0, 2.0), ("left",)))
    results: dict[str, Any] = {"conditions": {}, "targets": TARGETS, "warmup_s": warmup_s,
                               "target_condition": {"fps": TARGET_FPS,
                                                    "noise_px": TARGET_NOISE_PX}}
    for c in conds:
        evals: list[Evaluation] = []
        per_trial: dict[str, Any] = {}
        for name in names:
            syn = synthesize_trial(name, c.view, c.fps, c.noise_px, c.facing, seed)
            detected = run_analyzer(factory(c.view, syn.stream.image_size, c.fps), syn.stream)
            ev = evaluate(detected, syn.steps, c.view, syn.events, warmup_s)
            evals.append(ev)
            per_trial[name] = summarize([ev])
            if out_dir is not None:
                base = out_dir / "streams" / f"{name}_{c.key}"
                save(base.with_suffix(".npz"), syn.stream)
                write_steps_csv(base.parent / f"{base.name}.truth.csv", syn.steps)
                write_steps_csv(base.parent / f"{base.name}.detected.csv", detected)
            if progress:
                progress(f"{c.key} {name}: {ev.n_found}/{ev.n_true} found, {ev.n_false} false")
        overall = summarize(evals)
        results["conditions"][c.key] = {
            "view": c.view, "fps": c.fps, "noise_px": c.noise_px, "facing": c.facing,
            "is_target_condition": c.is_target,
            "overall": overall, "verdict": verdict(overall), "trials": per_trial,
        }
    results = _jsonable(results)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "validation.json").write_text(json.dumps(results, indent=1))
    return results
