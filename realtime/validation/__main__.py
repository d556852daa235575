"""`python -m realtime.validation`: score the metrics stage against force and mocap.

Generates synthetic pose streams from the mocap trials (side and rear views, each frame
rate and noise level), runs the analyzer on them frame by frame, scores contacts and
toe-offs against the force plates and per-step metrics against the mocap truth, prints
one table per condition and writes the streams, per-step CSVs and `validation.json` to
--out.  By default every runner is scored with the event calibration fitted on the
other runners (leave one runner out).  Exit status 1 when a target is missed at
30 fps / 2 px (or the 60 fps contact-timing targets).

`--calibrate` fits the event calibration on all treadmill runners and prints it as the
[metrics] TOML that config/default.toml ships.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from realtime.errors import UserError
from realtime.validation.catalog import trials
from realtime.validation.score import (
    TARGETS,
    TARGETS_60,
    VIEW_METRICS,
    WARMUP_S,
    AnalyzerFactory,
    conditions,
    run_validation,
)

SHORT = {
    "knee_drive_deg": "drive°", "knee_height_pct": "kneeH%", "knee_flexion_ic_deg": "flexIC°",
    "overstride_pct": "overstr%", "trunk_lean_deg": "lean°",
    "vertical_oscillation_pct": "vosc%", "hip_sway_pct": "sway%", "pelvic_drop_deg": "drop°",
}  # fmt: skip


def _load_factory(spec: str | None) -> AnalyzerFactory | None:
    if not spec:
        try:
            from realtime.metrics import GaitAnalyzer  # noqa: F401
        except ImportError as exc:
            raise UserError(
                f"realtime.metrics.GaitAnalyzer is not available ({exc}); pass "
                "--analyzer module:factory to score another analyzer"
            ) from None
        return None
    mod, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(mod), name or "make_analyzer")
    except (ImportError, AttributeError) as exc:
        raise UserError(f"--analyzer {spec!r}: {exc}") from None


def _fmt(v: Any, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.{digits}f}"


def _row(s: dict[str, Any], metrics: tuple[str, ...]) -> list[str]:
    share = s.get("found_share")
    cells = [
        str(s["n_true"]),
        "-" if share is None else f"{100 * share:.0f}%",
        str(s["n_false"]),
        _fmt(s["ic_mae_ms"]),
        _fmt(s["ic_bias_ms"]),
        _fmt(s["ic_p95_ms"], 0),
        _fmt(s["to_mae_ms"]),
        _fmt(s["cadence_step_err_pct"], 2),
        _fmt(s["cadence_session_err_pct"], 2),
    ]
    for m in metrics:
        mm = s["metrics"][m]
        miss = f" ({mm['n_missing']}∅)" if mm["n_missing"] else ""
        cells.append(_fmt(mm["mae"], 2) + miss)
    return cells


def print_tables(results: dict[str, Any]) -> bool:
    """One rich table per condition; returns whether the target condition passed."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 150)
    ok_all = True
    for key, c in results["conditions"].items():
        metrics = VIEW_METRICS[c["view"]]
        title = f"{key}" + ("  [bold](target condition)[/bold]" if c["is_target_condition"]
                            else "")
        t = Table(title=title, title_justify="left")
        for col in ("trial", "contacts", "found", "false", "IC MAE ms", "IC bias ms",
                    "IC p95 ms", "TO MAE ms", "cad/step %", "cad sess %",
                    *(SHORT[m] for m in metrics)):
            if col == "trial":
                t.add_column(col, no_wrap=True, min_width=15)
            else:
                t.add_column(col, justify="right")
        for name, s in c["trials"].items():
            t.add_row(name, *_row(s, metrics))
        t.add_row("[bold]all[/bold]", *_row(c["overall"], metrics), end_section=True)
        verdict = c["verdict"]
        marks = {k: ("[green]pass[/green]" if v else "[red]FAIL[/red]")
                 for k, v in verdict.items()}
        lim = TARGETS if c["is_target_condition"] else TARGETS_60
        t.caption = ("contacts and toe-offs against force (50 N); cad sess % = error of "
                     "summary.json's session cadence (row 'all': median trial); metric "
                     "columns: mean absolute error at the true events, (n∅) = matched steps "
                     "the analyzer left empty or marked unreliable.\ntargets: ") + ", ".join(
            f"{k} {'≥' if k == 'found_share' else '≤'} {lim[k]:g}: {m}"
            for k, m in marks.items()
        )
        t.caption_justify = "left"
        console.print(t)
        if not all(verdict.values()):
            ok_all = False
    return ok_all


def markdown_table(results: dict[str, Any]) -> str:
    """The 'all' row of every condition as one Markdown table (the README's table)."""

    def f(x: float | None, digits: int = 1) -> str:
        return "–" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"

    cols = ("knee_drive_deg", "knee_flexion_ic_deg", "overstride_pct", "hip_sway_pct",
            "pelvic_drop_deg")
    lines = [
        "| condition | contacts found | false | contact MAE (bias) ms | contact p95 ms "
        "| toe-off MAE ms | session cadence % | knee drive ° | knee flex. IC ° "
        "| overstride % | hip sway % | pelvic drop ° |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, c in results["conditions"].items():
        o = c["overall"]
        m = o["metrics"]
        cells = [f(m[k]["mae"], 2) if k in m else "" for k in cols]
        name = key.replace("_", " ") + (" **(target)**" if c["is_target_condition"] else "")
        lines.append(
            f"| {name} | {o['n_found']}/{o['n_true']} | {o['n_false']} | "
            f"{f(o['ic_mae_ms'])} ({f(o['ic_bias_ms'], 1)}) | {f(o['ic_p95_ms'], 0)} | "
            f"{f(o['to_mae_ms'])} | {f(o['cadence_session_err_pct'], 2)} | "
            + " | ".join(cells) + " |"
        )
    t = results["targets"]
    t60 = results["targets_60fps"]
    lines.append("")
    lines.append(
        f"Targets (30 fps, 2 px): contacts found ≥ {100 * t['found_share']:.0f} %, false ≤ "
        f"{100 * t['false_share']:g} %, contact MAE ≤ {t['ic_mae_ms']:g} ms (60 fps: ≤ "
        f"{t60['ic_mae_ms']:g} ms, |bias| ≤ {t60['ic_abs_bias_ms']:g} ms), toe-off ≤ "
        f"{t['to_mae_ms']:g} ms, session cadence ≤ {t['cadence_session_err_pct']:g} % "
        f"(median trial), knee drive ≤ {t['knee_drive_deg']:g}°, knee flexion at contact ≤ "
        f"{t['knee_flexion_ic_deg']:g}°, overstride ≤ {t['overstride_pct']:g} % leg, hip "
        f"sway ≤ {t['hip_sway_pct']:g} % leg, pelvic drop ≤ {t['pelvic_drop_deg']:g}°. "
        "Metric columns are mean absolute errors at the force events."
    )
    return "\n".join(lines)


def calibration_toml(cal: Any) -> str:
    """The fitted values as the [metrics] lines of config/default.toml."""
    lines = [f"# calibrated on {len(cal.trials)} treadmill trials: contact scatter "
             f"{cal.contact_mae_ms:.1f} ms, toe-off {cal.toe_off_mae_ms:.1f} ms (training)"]
    lines += [f"{k} = {v!r}" for k, v in cal.as_dict().items()]
    return "\n".join(lines)


def _labels(labels_path: Path, pose: Path | None, keep: list[float], seed: int,
            draws: int) -> int:
    import json

    from realtime.pose.stream import load
    from realtime.validation.labels import blazepose_stream, load_labels, score_labels

    labels = load_labels(labels_path)
    stream = load(pose) if pose is not None else blazepose_stream(labels.clip)
    res = score_labels(stream, labels)
    print(f"{labels.clip.name}: {res['judged']} of {res['labels']} labelled contacts judged "
          f"(not in the first {WARMUP_S} s or the last 0.25 s)")
    print(f"  reported within 60 ms: {res['within_60ms']}/{res['judged']} "
          f"({100 * res['within_60ms_share']:.0f} %); mean abs error {res['mae_ms']:.1f} ms "
          f"(bias {res['bias_ms']:+.1f} ms; left {res['bias_ms_per_leg']['L']:+.1f}, right "
          f"{res['bias_ms_per_leg']['R']:+.1f}); {res['false']} reported contacts match no "
          "label")
    print(f"  step times: coefficient of variation {res['step_cv_pct']:.1f} % over "
          f"{res['steps']} steps; session cadence {res['cadence_spm']:.1f} steps/min")
    print(f"  contacts timed from the body: {res['timed_from_body']} (hidden legs: "
          f"{', '.join(res['hidden_legs']) or 'none'}); of the judged ones "
          f"{res['body_timed_judged']}, mean error {res['body_timed_mean_ms']:+.1f} ms; "
          f"steps with an unreliable metric: {res['unreliable_steps']}")
    print(f"  toe-offs: {res['toe_offs_reported']}/{res['toe_offs_judged']} reported within "
          f"180 ms, mean abs error {res['toe_off_mae_ms']:.1f} ms (bias "
          f"{res['toe_off_bias_ms']:+.1f} ms)")
    print("  reported left/right asymmetries (reliable values only): " + json.dumps(
        {k: round(v, 1) for k, v in res["asymmetry_pct"].items()}))
    _step_labels(stream, labels)
    if any(k < 1.0 for k in keep):
        _labels_dropped(stream, labels, keep, seed, draws, res)
    return 0


def _step_labels(stream: Any, labels: Any) -> None:
    """Per-step metrics, leg identity and where BlazePose puts the joints, against the
    labels beside the contact labels (when the clip has them)."""
    from realtime.config import MetricsConfig
    from realtime.metrics import analyze_stream
    from realtime.validation.identity import load_identity, score_identity
    from realtime.validation.score import EDGE_S
    from realtime.validation.steplabels import (
        landmark_offsets,
        load_step_labels,
        score_steps,
        sibling,
    )

    if labels.path is None:
        return
    cfg = MetricsConfig()
    steps, ga = analyze_stream(stream, cfg)
    sl = load_step_labels(labels.path)
    if sl is not None:
        t0, t1 = float(stream.t[0]), float(stream.t[-1])
        res = score_steps(steps, sl, t0, t1, WARMUP_S, EDGE_S)
        print("per-step metrics against joint centres placed by eye (trusted steps only):")
        units = {"knee_drive_deg": "°", "knee_flexion_ic_deg": "°", "overstride_pct": " % leg"}
        for name, r in res.items():
            u = units[name]
            print(f"  {name}: trusted on {r['trusted']}/{r['labelled']} "
                  f"({100 * r['trusted_share']:.0f} %); mean abs error {r['mae']:.1f}{u}, "
                  f"offset {r['bias']:+.1f}{u}, with the offset removed "
                  f"{r['mae_offset_removed']:.1f}{u}; largest error {r['max_abs']:.1f}{u}")
        near = "L" if ga.facing < 0 else "R"
        off = landmark_offsets(stream.landmarks, stream.image_size, near, labels.path,
                               ga.leg_length_px)
        print(f"  BlazePose's hips against the labelled joint centres: the forward shift that "
              f"makes its thigh point like the labelled one, median over every labelled "
              f"frame, near {off['thigh_shift']['near']:.3f}, far "
              f"{off['thigh_shift']['far']:.3f} leg lengths (metrics.hip_near_forward = "
              f"{cfg.hip_near_forward}, hip_far_forward = {cfg.hip_far_forward}); each "
              "labeller's landmark-minus-label medians (forward, down; leg lengths):")
        for kind in ("swings", "contact_poses"):
            print(f"    {kind}: " + "; ".join(
                f"{k} {v['forward']:+.3f}, {v['down']:+.3f}" for k, v in off[kind].items()
                if isinstance(v, dict)))
    ip = sibling(labels.path, "leg_identity")
    if ip.exists():
        r = score_identity(stream, load_identity(ip), cfg)
        print(f"leg identity ({r['frames']} frames labelled by eye, {r['ambiguous_frames']} "
              f"ambiguous): a knee or ankle off its own leg in {r['wrong_frames_before']} "
              f"frames ({100 * r['wrong_share_before']:.1f} %; {r['folded_frames']} with both "
              f"legs on one) as BlazePose draws them, in {r['wrong_frames_after']} "
              f"({100 * r['wrong_share_after']:.1f} %) after the repair; points gated out: "
              f"{r['wrong_points_gated']} wrong, {r['right_points_gated']} right")


def _labels_dropped(stream: Any, labels: Any, keep: list[float], seed: int, draws: int,
                    full: dict[str, Any]) -> None:
    """The real clip's figures when frames go missing at random, `draws` times a share:
    the same labels, the same frozen thresholds, only fewer frames."""
    import numpy as np

    from realtime.validation.labels import score_labels
    from realtime.validation.score import drop_frames

    rng = np.random.default_rng(seed)
    print(f"with frames dropped at random ({draws} draws a share, seed {seed}); each cell "
          "median [worst]:")
    print("  kept | within 60 ms | MAE ms | false | foot-timed contacts (MAE ms) | steps "
          "with knee flexion at contact trusted")

    def cells(rs: list[dict[str, Any]]) -> str:
        def mw(key: str, worst: Any, fmt: str = ".0f") -> str:
            v = np.array([r[key] for r in rs], float)
            return f"{np.nanmedian(v):{fmt}} [{worst(v):{fmt}}]"

        foot_mae = [r["foot_timed_mae_ms"] for r in rs if r["foot_timed"]]
        return (f"{mw('within_60ms', np.nanmin)} of {rs[0]['judged']} | "
                f"{mw('mae_ms', np.nanmax, '.1f')} | {mw('false', np.nanmax)} | "
                f"{mw('foot_timed', np.nanmax)} ("
                + (f"{np.median(foot_mae):.0f} [{max(foot_mae):.0f}]" if foot_mae else "-")
                + f") | {mw('contact_metrics_trusted_steps', np.nanmax)} of "
                f"{rs[0]['steps']}")

    print(f"  100% | {cells([full])}")
    for k in keep:
        if k < 1.0:
            rs = [score_labels(drop_frames(stream, k, rng), labels) for _ in range(draws)]
            print(f"  {100 * k:3.0f}% | {cells(rs)}")


def _two_view(names: list[str] | None, out: Path, seed: int,
              say: Callable[[str], None] | None) -> int:
    import json

    from realtime.validation.calibrate import treadmill_trials
    from realtime.validation.twoview import TARGETS, markdown, run_pairs

    res = run_pairs(treadmill_trials(names or trials()), seed=seed, progress=say)
    print(markdown(res))
    ok = True
    for key, r in res["rates"].items():
        good = (r["offset_err_ms_max"] <= TARGETS["offset_err_ms"]
                and r["matched_share"] >= TARGETS["matched_share"])
        ok &= good
        print(f"{key}: {r['pairs']} pairs; offset from {', '.join(r['offset_source'])}, "
              f"median uncertainty {r['offset_uncertainty_ms_median']:.1f} ms, "
              f"{r['offset_ambiguous']} said ambiguous (a stride-shifted offset fits within "
              f"a few contacts; 4-6 s trials); {'meets' if good else 'MISSES'} the targets "
              f"(offset within {TARGETS['offset_err_ms']:g} ms, matched >= "
              f"{100 * TARGETS['matched_share']:g} %)")
    out.mkdir(parents=True, exist_ok=True)
    (out / "two_view.json").write_text(json.dumps(res, indent=1, default=float))
    print(f"results: {out / 'two_view.json'}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m realtime.validation", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fps", type=float, nargs="+", default=[30.0, 60.0])
    ap.add_argument("--noise", type=float, nargs="+", default=[0.0, 2.0],
                    help="Gaussian landmark noise, pixels (sigma)")
    ap.add_argument("--views", nargs="+", choices=("side", "rear"), default=["side", "rear"])
    ap.add_argument("--facing", nargs="+", choices=("left", "right"), default=["left"],
                    help="side view: runner faces image-left (like the treadmill clip) or right")
    ap.add_argument("--keep", type=float, nargs="+", default=[1.0],
                    help="shares of frames the analyzer gets (each frame dropped at random, "
                    "as a live camera drops them when the model falls behind); 1: all")
    ap.add_argument("--draws", type=int, default=20,
                    help="with --labels and --keep: random drops per share")
    ap.add_argument("--trials", nargs="+", choices=trials(), default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("out/validation"))
    ap.add_argument("--analyzer", default=None,
                    help="module:factory(view, image_size, fps) -> analyzer (default: "
                         "realtime.metrics.GaitAnalyzer)")
    ap.add_argument("--warmup", type=float, default=WARMUP_S,
                    help="seconds at the start of each stream whose steps are not judged")
    ap.add_argument("-q", "--quiet", action="store_true")
    ap.add_argument("--markdown", action="store_true",
                    help="also print the summary as a Markdown table (for the README)")
    ap.add_argument("--shipped", action="store_true",
                    help="score every runner with the shipped config instead of leaving "
                    "each runner out of its own calibration")
    ap.add_argument("--calibrate", action="store_true",
                    help="fit the event calibration on all treadmill runners and print it")
    ap.add_argument("--labels", type=Path, default=None,
                    help="score a real clip against contacts labelled by hand from its "
                    "frames (a labels JSON, e.g. tests/fixtures/treadmill_side_male_contacts"
                    ".json) instead of the motion capture")
    ap.add_argument("--two-view", action="store_true",
                    help="pair each treadmill trial's side and rear streams (rear clock "
                    "+0.137 s; 30/15, 15/30 and 30/20 fps): clock offset, steps matched, "
                    "fused accuracy")
    ap.add_argument("--pose", type=Path, default=None,
                    help="with --labels: a recorded pose stream of the clip (else BlazePose "
                    "runs on it)")
    args = ap.parse_args(argv)
    say = None if args.quiet else (lambda m: print(m, file=sys.stderr))
    try:
        if not all(0.0 < k <= 1.0 for k in args.keep):
            raise UserError(f"--keep {args.keep}: each share must be in (0, 1]")
        if args.labels is not None:
            return _labels(args.labels, args.pose, args.keep, args.seed, args.draws)
        if args.two_view:
            return _two_view(args.trials, args.out, args.seed, say)
        if args.calibrate:
            from realtime.validation.calibrate import calibrate, treadmill_trials

            cal = calibrate(treadmill_trials(args.trials or trials()), seed=args.seed)
            print(calibration_toml(cal))
            return 0
        factory = _load_factory(args.analyzer)
        conds = conditions(args.views, args.fps, args.noise, args.facing, args.keep)
        results = run_validation(args.trials, conds, factory, args.out, args.seed, say,
                                 args.warmup, loro=not args.shipped)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ok = print_tables(results)
    if args.markdown:
        print(markdown_table(results))
    print(f"results: {args.out / 'validation.json'}; streams: {args.out / 'streams'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
