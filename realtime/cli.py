"""The `realtime` command: analyze a recording, run a live session, or try the demo."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from realtime.errors import UserError

if TYPE_CHECKING:
    from realtime.config import Config

DESCRIPTION = """\
Running-form feedback on the treadmill. A webcam beside the treadmill films you; the
program finds your joints (MediaPipe BlazePose), detects every foot contact and measures,
step by step, knee drive, knee bend at landing, overstride, cadence and, from behind, hip
sway and pelvic drop. During a drill it shows gauges and speaks short cues such as
"drive the knee" or "level hips".

Start here:
  realtime demo                          see and hear it with no camera (synthetic runner)
  realtime run --camera 0                a live session with your webcam
  realtime analyze clip.mp4 --out OUT    measure a recorded video (or a saved pose.npz)

Therapists: thresholds and cues live in a profile (config/profiles/NAME.toml); choose it
with --profile NAME, or change one value with --set cues.knee_drive_target_deg=55.
"""


def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("settings")
    g.add_argument("--profile", metavar="NAME",
                   help="runner profile: a name in config/profiles/ or a .toml file")
    g.add_argument("--config", metavar="FILE", help="an extra TOML config file")
    g.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="SECTION.KEY=VALUE",
                   help="override one setting, e.g. --set pose.min_detection_confidence=0.6"
                        " (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="realtime", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    a = sub.add_parser(
        "analyze", help="measure a recorded video or pose stream, as fast as possible",
        description="Process every frame of INPUT and write OUT/pose.npz (for a video), "
                    "OUT/steps.csv (one row per step) and OUT/summary.json (medians, "
                    "left/right asymmetry).",
    )
    a.add_argument("input", metavar="INPUT", help="a video file or a .npz pose stream")
    a.add_argument("--rear", metavar="REAR",
                   help="a rear-view recording of the same run (video or pose stream): "
                        "INPUT is then the side view, the clocks are aligned from the gait "
                        "and steps.csv has one row per step with both views' metrics")
    a.add_argument("--view", choices=("side", "rear"),
                   help="where the camera stood (default: side; a pose stream knows its own)")
    a.add_argument("--out", metavar="DIR", default="out", help="output folder (default: out)")
    a.add_argument("--quiet", action="store_true", help="no progress bar")
    _common(a)

    r = sub.add_parser(
        "run", help="a live session: camera (or a video played live), display and cues",
        description="A live feedback session. Shows the video with your skeleton, gauges "
                    "and cues, and speaks the cues. Keys: space pause, m mute, f fullscreen, "
                    "up/down knee-drive target, left/right hip-sway limit, q quit. Every "
                    "session is recorded to --out (pose.npz, steps.csv, cues.csv, "
                    "summary.json).",
    )
    src = r.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, metavar="N", help="camera index (default: 0)")
    src.add_argument("--video", metavar="PATH",
                     help="use a video file (or pose stream) instead of a camera")
    rear = r.add_mutually_exclusive_group()
    rear.add_argument("--rear-camera", type=int, metavar="N",
                      help="a second camera behind the treadmill (hip sway, pelvic drop); "
                           "the first is then the side camera")
    rear.add_argument("--rear-video", metavar="PATH",
                      help="a rear-view video (or pose stream) played as the second camera")
    r.add_argument("--realtime", action="store_true",
                   help="with --video: play at the file's own speed, like a live camera")
    r.add_argument("--headless", action="store_true", help="no window (cues still spoken)")
    r.add_argument("--mute", action="store_true", help="no speech or tones")
    r.add_argument("--view", choices=("side", "rear"), default=None,
                   help="where the camera stands (default: side)")
    r.add_argument("--seconds", type=float, default=None, metavar="N",
                   help="stop after N seconds (default: until quit or end of video)")
    r.add_argument("--out", metavar="DIR", default=None,
                   help="session folder (default: sessions/<date-time>)")
    r.add_argument("--screenshot", metavar="PNG", default=None,
                   help="save the last displayed frame to this file")
    _common(r)

    d = sub.add_parser(
        "demo", help="see and hear the product with no camera (synthetic runner)",
        description="A built-in synthetic runner whose knee drive starts poor and improves, "
                    "through the real metrics, cues, display and speech.",
    )
    d.add_argument("--seconds", type=float, default=20.0, metavar="N",
                   help="how long (default: 20)")
    d.add_argument("--headless", action="store_true", help="no window (cues still spoken)")
    d.add_argument("--mute", action="store_true", help="no speech")
    d.add_argument("--out", metavar="DIR", default=None,
                   help="where to keep the demo's session files (default: a temp folder)")
    d.add_argument("--screenshot", metavar="PNG", default=None,
                   help="save the last displayed frame to this file")
    _common(d)

    rc = sub.add_parser(
        "recover", help="rebuild pose.npz of a live session that did not end normally",
        description="A live session writes its poses to DIR/pose.partial.bin as it goes; "
                    "after a crash or power cut this turns them into DIR/pose.npz (then "
                    "`realtime analyze DIR/pose.npz` re-measures the session).",
    )
    rc.add_argument("dir", metavar="DIR", help="the session folder")

    c = sub.add_parser(
        "config", help="print the settings in effect (after --profile and --set) as TOML",
        description="Print the effective settings as commented TOML: a therapist can copy "
                    "this into config/profiles/NAME.toml and edit it.",
    )
    c.add_argument("--defaults", action="store_true",
                   help="ignore config/default.toml and profiles: the built-in defaults")
    _common(c)
    return parser


def _load_cfg(args: argparse.Namespace) -> Config:
    from realtime.config import load_config

    return load_config(profile=args.profile, config_file=args.config, overrides=args.overrides)


def _cmd_analyze(args: argparse.Namespace) -> int:
    from realtime.analyze import analyze

    cfg = _load_cfg(args)
    res = analyze(args.input, args.out, cfg, view=args.view, progress=not args.quiet,
                  rear=args.rear)
    pct = 100.0 * res.frames_with_pose / res.frames if res.frames else 0.0
    cad = res.summary.get("cadence_spm")
    cad_txt = f"{cad:.1f} steps/min" if isinstance(cad, float) and cad == cad else "n/a"
    print(f"{res.frames} frames in {res.seconds:.1f} s ({res.fps:.1f} fps); pose in "
          f"{res.frames_with_pose} ({pct:.1f} %); {res.steps} steps; cadence {cad_txt}")
    if args.rear:
        off, unc = res.summary.get("clock_offset_s"), res.summary.get("clock_offset_uncertainty_s")
        fu = res.summary["fusion"]
        if off is None:
            print("clock offset: not found (too few contacts seen in both views); "
                  "steps not paired")
        else:
            amb = res.summary.get("clock_offset_ambiguous")
            print(f"clock offset rear - side: {off:+.3f} s +- {1000 * unc:.1f} ms "
                  f"(from {res.summary['clock_offset_source']})"
                  + (f"; AMBIGUOUS, also fits {res.summary['clock_offset_alternatives_s']} s"
                     if amb else ""))
        print(f"steps.csv: {fu['rows']} rows, {fu['both_views']} seen in both views, "
              f"{fu['side_only']} side only, {fu['rear_only']} rear only")
    written = [f for f in ("steps.csv", "steps_side.csv", "steps_rear.csv", "summary.json",
                           "pose.npz", "pose_rear.npz") if (res.out_dir / f).exists()]
    print(f"wrote {res.out_dir}/" + ", ".join(written))
    from realtime.metrics import warnings

    for line in warnings(res.summary):
        print(f"note: {line}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from realtime.live import run_session

    cfg = _load_cfg(args)
    if args.realtime and not args.video:
        raise UserError("--realtime only applies with --video PATH")
    if args.rear_video and not args.video:
        raise UserError("--rear-video goes with --video (two recordings played together); "
                        "with cameras use --rear-camera N")
    if args.rear_camera is not None and args.video:
        raise UserError("--rear-camera goes with a side camera, not with --video; "
                        "use --rear-video PATH")
    return run_session(
        cfg,
        camera=args.camera,
        video=Path(args.video) if args.video else None,
        rear_camera=args.rear_camera,
        rear_video=Path(args.rear_video) if args.rear_video else None,
        realtime=args.realtime,
        headless=args.headless,
        mute=args.mute,
        view=args.view,
        seconds=args.seconds,
        out_dir=Path(args.out) if args.out else None,
        screenshot=Path(args.screenshot) if args.screenshot else None,
    )


def _cmd_demo(args: argparse.Namespace) -> int:
    from realtime.demo import run_demo

    cfg = _load_cfg(args)
    if args.seconds <= 0:
        raise UserError(f"--seconds must be positive, got {args.seconds}")
    return run_demo(args.seconds, headless=args.headless, cfg=cfg, mute=args.mute,
                    out_dir=args.out, screenshot=args.screenshot)


def _cmd_recover(args: argparse.Namespace) -> int:
    from realtime.pose.stream import load, recover_all

    for path in recover_all(args.dir):
        stream = load(path)
        print(f"wrote {path}: {len(stream)} frames, {stream.frames_with_pose} with a pose")
    return 0


def _cmd_config(args: argparse.Namespace) -> int:
    from realtime.config import Config, to_toml

    print(to_toml(Config() if args.defaults else _load_cfg(args)), end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    handler = {"analyze": _cmd_analyze, "run": _cmd_run, "demo": _cmd_demo,
               "config": _cmd_config, "recover": _cmd_recover}[args.command]
    try:
        return handler(args)
    except UserError as exc:
        print(f"realtime: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("realtime: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `realtime analyze ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
