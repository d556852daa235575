"""Scoring detected contacts, toe-offs and steps against force and mocap truth, and the
whole validation run (leave-one-runner-out by default).

The harness drives any object with `update(t_s, landmarks) -> list[Step]` and
`finish() -> list[Step]` (the metrics stage's GaitAnalyzer by default); if it also has
`events` (GaitEvents), contacts and toe-offs are scored from them, else contacts from the
steps.  Truth times and stream times are both the motion capture's own clock.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from realtime.config import MetricsConfig
from realtime.metrics.cadence import cadence_spm
from realtime.metrics.summary import write_steps_csv
from realtime.metrics.twoview import match_pairs
from realtime.pose.stream import PoseStream, save
from realtime.types import VIEW_METRICS, GaitEvent, Leg, Step, View
from realtime.validation.catalog import DORN, runner_of, trials
from realtime.validation.project import Facing
from realtime.validation.streams import seed_for, synthesize_trial

# What the metrics stage must reach at 30 fps with 2 px noise, leave-one-runner-out.
# Cadence is the session cadence (summary.json) on the median trial.
TARGETS: dict[str, float] = {
    "found_share": 0.99,
    "false_share": 0.01,
    "ic_mae_ms": 20.0,
    "to_mae_ms": 25.0,
    "cadence_session_err_pct": 0.3,
    "knee_drive_deg": 1.0,
    "knee_flexion_ic_deg": 3.0,
    "overstride_pct": 2.0,
    "pelvic_drop_deg": 2.0,
    "hip_sway_pct": 0.5,
}
# ... and at 60 fps with 2 px noise: contact timing
TARGETS_60: dict[str, float] = {"ic_mae_ms": 15.0, "ic_abs_bias_ms": 5.0}
TARGET_FPS, TARGET_NOISE_PX = 30.0, 2.0
AT_LEAST = ("found_share",)
MAX_MISSING = 0.02  # share of matched steps whose metric may be left out as unreliable
WARMUP_S = 0.5  # true contacts this early in a stream are not judged
EDGE_S = 0.25  # nor those this close to its end (no frames yet show the landing)


class Analyzer(Protocol):
    def update(self, t_s: float, landmarks: np.ndarray,
               foot_flow: np.ndarray | None = None) -> list[Step]: ...

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
    flow = stream.foot_flow
    for i in range(len(stream)):
        if flow is None:  # an analyzer that knows nothing of pixel evidence still runs
            steps.extend(analyzer.update(float(stream.t[i]), stream.landmarks[i]))
        else:
            steps.extend(analyzer.update(float(stream.t[i]), stream.landmarks[i], flow[i]))
    steps.extend(analyzer.finish())
    return steps


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Matched pairs and raw errors of one stream (pooled later across trials)."""

    view: View
    n_true: int  # judged true contacts
    n_found: int
    n_false: int
    n_edge: int  # detections not judged (warm-up, stream end, outside the truth's span)
    ic_err_s: np.ndarray
    n_true_to: int
    n_found_to: int
    to_err_s: np.ndarray
    cadence_true: np.ndarray  # per matched step
    cadence_det: np.ndarray
    session_cadence_true: float = math.nan  # summary.json's cadence, from the true steps
    session_cadence_det: float = math.nan  # ... and from the judged detected steps
    metric_err: dict[str, np.ndarray] = field(default_factory=dict)
    metric_missing: dict[str, int] = field(default_factory=dict)  # NaN or unreliable


def _contacts(truth_steps: Sequence[Step], truth_events: Sequence[GaitEvent]
              ) -> list[tuple[Leg, float]]:
    ics = {(s.leg, s.t_contact_s) for s in truth_steps}
    ics |= {(e.leg, e.t_s) for e in truth_events if e.kind == "IC"}
    return sorted(ics, key=lambda x: x[1])


def evaluate(
    detected: Sequence[Step], truth_steps: Sequence[Step], view: View,
    truth_events: Sequence[GaitEvent] = (), warmup_s: float = WARMUP_S,
    detected_events: Sequence[GaitEvent] | None = None, t0: float = 0.0,
    t_end: float = math.inf,
) -> Evaluation:
    """Raw errors of one stream that starts at t0 and ends at t_end; see `score`.

    A true contact is judged when it lies in [t0 + warmup_s, t_end - EDGE_S]: an online
    analyzer cannot know the floor before it has seen a stance, nor report a landing the
    stream ends on.  Detections matched to unjudged contacts, or outside the span of the
    judged ones, are neither found nor false.
    """
    if detected_events is None:
        # contacts only as the starts of steps: a contact that starts no true step (the
        # trial's last) cannot be detected that way
        true_ic = sorted({(s.leg, s.t_contact_s) for s in truth_steps}, key=lambda x: x[1])
    else:
        true_ic = _contacts(truth_steps, truth_events)
    durations = [60.0 / s.cadence_spm for s in truth_steps]
    tol = 0.5 * float(np.median(durations)) if durations else 0.2
    lo_t, hi_t = t0 + warmup_s, t_end - EDGE_S
    judged = [lo_t <= t <= hi_t for _, t in true_ic]
    if detected_events is not None:
        det_ic = [(e.leg, e.t_s) for e in detected_events if e.kind == "IC"]
    else:
        det_ic = [(s.leg, s.t_contact_s) for s in detected]
    pairs = match_pairs(det_ic, true_ic, tol)
    j_times = [t for (_, t), j in zip(true_ic, judged, strict=True) if j]
    span = (min(j_times) - tol, max(j_times) + tol) if j_times else (math.inf, -math.inf)
    matched_d = {i: k for i, k in pairs}
    found = [(i, k) for i, k in pairs if judged[k]]
    n_false = sum(1 for i, (_, t) in enumerate(det_ic)
                  if i not in matched_d and span[0] <= t <= span[1])
    n_edge = len(det_ic) - len(found) - n_false
    ic_err = np.array([det_ic[i][1] - true_ic[k][1] for i, k in found])

    # toe-offs (only from an analyzer that reports events)
    true_to = [(e.leg, e.t_s) for e in truth_events if e.kind == "TO" and lo_t <= e.t_s <= hi_t]
    to_err = np.zeros(0)
    n_found_to = 0
    if detected_events is not None:
        det_to = [(e.leg, e.t_s) for e in detected_events if e.kind == "TO"]
        tp = match_pairs(det_to, true_to, tol)
        to_err = np.array([det_to[i][1] - true_to[k][1] for i, k in tp])
        n_found_to = len(tp)

    # steps: a detected step whose contact matched a judged true step's contact
    step_of = {(s.leg, s.t_contact_s): s for s in truth_steps}
    by_contact = {(det_ic[i][0], det_ic[i][1]): true_ic[k] for i, k in found}
    spairs: list[tuple[Step, Step]] = []
    for d in detected:
        tk = by_contact.get((d.leg, d.t_contact_s))
        if tk is not None and tk in step_of:
            spairs.append((d, step_of[tk]))
    errs: dict[str, np.ndarray] = {}
    missing: dict[str, int] = {}
    for m in VIEW_METRICS[view]:
        ok_pairs = [(d, t) for d, t in spairs if getattr(t, m) == getattr(t, m)]
        good = [(d, t) for d, t in ok_pairs if d.reliable(m)]
        errs[m] = np.array([getattr(d, m) - getattr(t, m) for d, t in good], dtype=float)
        missing[m] = len(ok_pairs) - len(good)
    judged_det = [s for s in detected if lo_t <= s.t_contact_s <= hi_t]
    judged_true = [s for s in truth_steps if lo_t <= s.t_contact_s <= hi_t]
    return Evaluation(
        view=view,
        n_true=sum(judged),
        n_found=len(found),
        n_false=n_false,
        n_edge=n_edge,
        ic_err_s=ic_err,
        n_true_to=len(true_to),
        n_found_to=n_found_to,
        to_err_s=to_err,
        cadence_true=np.array([t.cadence_spm for _, t in spairs]),
        cadence_det=np.array([d.cadence_spm for d, _ in spairs], dtype=float),
        session_cadence_true=cadence_spm(judged_true),
        session_cadence_det=cadence_spm(judged_det),
        metric_err=errs,
        metric_missing=missing,
    )


def _mean(a: np.ndarray) -> float:
    return float(np.mean(a)) if a.size else math.nan


def summarize(evals: Sequence[Evaluation]) -> dict[str, Any]:
    """Pooled summary of one or more evaluations of the same view."""
    if not evals:
        return {}
    view = evals[0].view
    cat = np.concatenate
    ic = cat([e.ic_err_s for e in evals])
    to = cat([e.to_err_s for e in evals])
    ct, cd = cat([e.cadence_true for e in evals]), cat([e.cadence_det for e in evals])
    okc = np.isfinite(cd)
    n_true = sum(e.n_true for e in evals)
    n_found = sum(e.n_found for e in evals)
    n_false = sum(e.n_false for e in evals)
    sess = [
        100.0 * abs(e.session_cadence_det / e.session_cadence_true - 1.0)
        for e in evals
        if math.isfinite(e.session_cadence_true) and math.isfinite(e.session_cadence_det)
    ]
    n_to = sum(e.n_true_to for e in evals)
    out: dict[str, Any] = {
        "view": view,
        "n_true": n_true,
        "n_found": n_found,
        "found_share": n_found / n_true if n_true else math.nan,
        "n_false": n_false,
        "false_share": n_false / (n_found + n_false) if (n_found + n_false) else 0.0,
        "n_edge": sum(e.n_edge for e in evals),
        "ic_mae_ms": 1000.0 * _mean(np.abs(ic)),
        "ic_bias_ms": 1000.0 * _mean(ic),
        "ic_abs_bias_ms": abs(1000.0 * _mean(ic)),
        "ic_p95_ms": 1000.0 * float(np.percentile(np.abs(ic), 95)) if ic.size else math.nan,
        "n_true_to": n_to,
        "n_found_to": sum(e.n_found_to for e in evals),
        "to_mae_ms": 1000.0 * _mean(np.abs(to)),
        "to_bias_ms": 1000.0 * _mean(to),
        "cadence_step_err_pct": _mean(100.0 * np.abs(cd[okc] - ct[okc]) / ct[okc]),
        # summary.json's session cadence, per trial: the median and the worst trial
        "cadence_session_err_pct": float(np.median(sess)) if sess else math.nan,
        "cadence_session_worst_pct": max(sess) if sess else math.nan,
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
    detected_events: Sequence[GaitEvent] | None = None, t0: float = 0.0,
    t_end: float = math.inf,
) -> dict[str, Any]:
    """Summary of detected vs true steps for one stream (dict, see `summarize`)."""
    return summarize([evaluate(detected_steps, truth_steps, view, truth_events, warmup_s,
                               detected_events, t0, t_end)])


def verdict(summary: dict[str, Any], targets: dict[str, float] | None = None
            ) -> dict[str, bool]:
    """Target name -> met? for the targets that apply to this summary's view."""
    res: dict[str, bool] = {}
    for key, lim in (TARGETS if targets is None else targets).items():
        if key in summary:
            v = summary[key]
            ok = v >= lim if key in AT_LEAST else v <= lim
            res[key] = bool(v is not None and math.isfinite(v) and ok)
        elif key in summary["metrics"]:
            m = summary["metrics"][key]
            # a value the analyzer marks unreliable is not an error, but too many of them
            # would hide one: at most MAX_MISSING of the matched steps
            missing_ok = m["n_missing"] <= MAX_MISSING * (m["n"] + m["n_missing"])
            res[key] = bool(math.isfinite(m["mae"]) and m["mae"] <= lim and missing_ok)
    return res


def _f(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


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
    keep: float = 1.0  # share of frames that reach the analyzer (a live camera drops some)

    @property
    def key(self) -> str:
        face = f"_{self.facing}" if self.view == "side" else ""
        kept = "" if self.keep >= 1.0 else f"_keep{round(100 * self.keep)}"
        return f"{self.view}{face}_{self.fps:g}fps_{self.noise_px:g}px{kept}"

    @property
    def is_target(self) -> bool:
        return self.fps == TARGET_FPS and self.noise_px == TARGET_NOISE_PX and self.keep >= 1.0

    @property
    def targets(self) -> dict[str, float]:
        if self.is_target:
            return TARGETS
        if self.fps == 60.0 and self.noise_px == TARGET_NOISE_PX and self.keep >= 1.0:
            return TARGETS_60
        return {}


def conditions(views: Sequence[View], fps: Sequence[float], noise: Sequence[float],
               facings: Sequence[Facing], keep: Sequence[float] = (1.0,)) -> list[Condition]:
    out = []
    for v in views:
        for f in fps:
            for n in noise:
                for face in facings if v == "side" else ("left",):
                    for k in keep:
                        out.append(Condition(v, float(f), float(n), face, float(k)))
    return out


def drop_frames(stream: PoseStream, keep: float, rng: np.random.Generator) -> PoseStream:
    """The stream with each frame kept with probability `keep`, independently: what a
    live camera's newest-only slot does when the model is sometimes slower than a frame
    (`capture.latest`).  The first and last frames stay, so the judged span is the same."""
    if keep >= 1.0:
        return stream
    kept = rng.random(len(stream)) < keep
    kept[0] = kept[-1] = True
    flow = stream.foot_flow
    if flow is not None:
        # a live camera's flow spans the frames it dropped: each kept frame gets the mean
        # velocity over the intervals since the previous kept frame
        idx = np.flatnonzero(kept)
        out = np.full((idx.size, 2, 4), np.nan, np.float32)
        for j in range(1, idx.size):
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out[j] = np.nanmean(flow[idx[j - 1] + 1: idx[j] + 1], axis=0)
        flow = out
    return replace(stream, t=stream.t[kept], landmarks=stream.landmarks[kept], foot_flow=flow)


def run_validation(
    trial_names: Sequence[str] | None = None,
    conds: Sequence[Condition] | None = None,
    factory: AnalyzerFactory | None = None,
    out_dir: Path | None = None,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    warmup_s: float = WARMUP_S,
    loro: bool = True,
) -> dict[str, Any]:
    """Generate every stream, run the analyzer, score; write streams and JSON to out_dir.

    With the project's analyzer (no `factory`) and `loro`, each runner is scored with the
    configuration calibrated on the other runners (`calibrate.fold_configs`); without
    `loro`, with the shipped defaults.
    """
    from realtime.metrics import GaitAnalyzer
    from realtime.validation.calibrate import fold_configs

    names = list(trial_names or trials())
    conds = list(conds or conditions(("side", "rear"), (30.0, 60.0), (0.0, 2.0), ("left",)))
    results: dict[str, Any] = {
        "conditions": {}, "targets": TARGETS, "targets_60fps": TARGETS_60,
        "warmup_s": warmup_s, "edge_s": EDGE_S, "truth": "force (50 N)",
        "target_condition": {"fps": TARGET_FPS, "noise_px": TARGET_NOISE_PX},
        "leave_one_runner_out": bool(factory is None and loro),
    }
    configs: dict[str, MetricsConfig] = {}
    if factory is None:
        if loro:
            configs, cals = fold_configs(names, seed=seed, progress=progress)
            results["calibration"] = {
                k: {"trials": len(c.trials), **c.as_dict(),
                    "train_contact_mae_ms": c.contact_mae_ms,
                    "train_toe_off_mae_ms": c.toe_off_mae_ms} for k, c in cals.items()}
        else:
            from realtime.config import load_config

            shipped = load_config().metrics
            configs = {n: shipped for n in names}
    for c in conds:
        evals: list[Evaluation] = []
        per_trial: dict[str, Any] = {}
        for name in names:
            syn = synthesize_trial(name, c.view, c.fps, c.noise_px, c.facing, seed)
            size = syn.stream.image_size
            an: Analyzer = (factory(c.view, size, c.fps) if factory is not None
                            else GaitAnalyzer(configs[name], c.view, size))
            fed = drop_frames(syn.stream, c.keep, np.random.default_rng(
                seed_for(name, c.view, c.fps, c.noise_px, c.facing, seed) ^ 0x5EED))
            detected = run_analyzer(an, fed)
            events = getattr(an, "events", None)
            ev = evaluate(detected, syn.steps, c.view, syn.events, warmup_s, events,
                          float(syn.stream.t[0]), float(syn.stream.t[-1]))
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
        tread = [e for e, n in zip(evals, names, strict=True) if n not in DORN]
        results["conditions"][c.key] = {
            "view": c.view, "fps": c.fps, "noise_px": c.noise_px, "facing": c.facing,
            "keep": c.keep, "is_target_condition": c.is_target,
            "overall": overall, "treadmill": summarize(tread),
            "verdict": verdict(overall, c.targets), "trials": per_trial,
            "runners": {r: summarize([e for e, n in zip(evals, names, strict=True)
                                      if runner_of(n) == r])
                        for r in dict.fromkeys(runner_of(n) for n in names)},
        }
    results = _jsonable(results)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "validation.json").write_text(json.dumps(results, indent=1))
    return results
