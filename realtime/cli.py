"""The `realtime` command: analyze a recording, run a live session, or try the demo."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from realtime.errors import UserError

if TYPE_CHECKING:
    from realtime.config import Config
    from realtime.store.db import Store
    from realtime.store.recorder import StoreTarget
    from realtime.store.sessiondata import SessionData
    from realtime.store.sync import Syncer

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

Therapists: each runner has a profile (targets, cue schedule, drill plan) and a history
of sessions, kept in the user data folder ($REALTIME_HOME):
  realtime runner add ANNA               a new runner with a profile to edit
  realtime run --camera 0 --runner ANNA  baseline -> drill -> retest, recorded
  realtime sessions --runner ANNA        the recorded sessions
  realtime report 12 --out r.html        one session: plots, phases, targets, cues
  realtime compare 3 12 --out c.html     before/after, real change vs noise (SDD)
  realtime serve                         all of it in a web browser (the clinic's dashboard)
One value can be changed for one session with --set cues.knee_drive_target_deg=30.
"""


def _check_args(args: argparse.Namespace) -> None:
    """Numbers argparse accepts but a session cannot use: one line naming the option."""
    seconds = getattr(args, "seconds", None)
    if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
        raise UserError(f"--seconds must be positive, got {seconds}")
    for opt in ("camera", "rear_camera"):
        v = getattr(args, opt, None)
        if v is not None and v < 0:
            raise UserError(f"--{opt.replace('_', '-')} must be 0 or more, got {v}")


def _common(p: argparse.ArgumentParser, runner: bool = False) -> None:
    g = p.add_argument_group("settings")
    if runner:
        g.add_argument("--runner", metavar="NAME",
                       help="the runner (see `realtime runner list`): their profile is used "
                            "and the session is recorded in their history")
    g.add_argument("--profile", metavar="NAME",
                   help="a profile: a name in the data folder's profiles/, an example in "
                        "config/profiles/, or a .toml file")
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
    a.add_argument("--force", action="store_true",
                   help="replace the results already in --out (otherwise refused)")
    _common(a, runner=True)

    r = sub.add_parser(
        "run", help="a live session: camera (or a video played live), display and cues",
        description="A live feedback session. Shows the video with your skeleton, gauges "
                    "and cues, and speaks the cues. Keys: space pause, m mute, f fullscreen, "
                    "up/down knee-drive target, left/right hip-sway limit, q quit. Every "
                    "session is recorded to --out (pose.npz, steps.csv, cues.csv, "
                    "summary.json).",
    )
    src = r.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, metavar="N",
                     help="camera index (default: 0)")
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
                   help="session folder (default: sessions/RUNNER/<date-time> in the data "
                        "folder)")
    r.add_argument("--force", action="store_true",
                   help="replace the results already in --out (otherwise refused)")
    r.add_argument("--screenshot", metavar="PNG", default=None,
                   help="save the last displayed frame to this file (and the end-of-session "
                        "summary to PNG-summary.png)")
    _common(r, runner=True)

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
        "recover", help="rebuild what a live session could not write (killed, or its disk "
                        "full): pose.npz, summary.json, its rows in the session store",
        description="A live session writes its poses to DIR/pose.partial.bin as it goes; "
                    "after a crash, a power cut or a full disk this turns them into "
                    "DIR/pose.npz (then `realtime analyze DIR/pose.npz` re-measures the "
                    "session), writes a missing summary.json from them, and adds to the "
                    "session store the steps and cues it could not take (from DIR's CSVs).",
    )
    rc.add_argument("dir", metavar="DIR", help="the session folder")

    c = sub.add_parser(
        "config", help="print the settings in effect (after --profile and --set) as TOML",
        description="Print the effective settings as commented TOML: a therapist can copy "
                    "this into config/profiles/NAME.toml and edit it.",
    )
    c.add_argument("--defaults", action="store_true",
                   help="ignore config/default.toml and profiles: the built-in defaults")
    _common(c, runner=True)

    ru = sub.add_parser("runner", help="add or list runners (each has a profile and sessions)",
                        description="Runners live in the session store; each has a profile "
                                    "(PROFILES/NAME.toml in the data folder) to edit.")
    rus = ru.add_subparsers(dest="runner_command", metavar="ACTION", required=True)
    ra = rus.add_parser("add", help="a new runner and their profile")
    ra.add_argument("name", metavar="NAME")
    ra.add_argument("--from", dest="template", metavar="PROFILE",
                    help="start the profile from this one (default: the shipped example)")
    rus.add_parser("list", help="every runner, their profile and number of sessions")

    se = sub.add_parser("sessions", help="list recorded sessions (ids for report/compare)")
    se.add_argument("--runner", metavar="NAME", help="only this runner's sessions")

    rp = sub.add_parser("report", help="one session as an HTML report",
                        description="Per-step plots of each metric with the phases shaded "
                                    "and targets drawn, left/right, baseline vs retest, the "
                                    "cues given; one self-contained HTML file.")
    rp.add_argument("session", metavar="SESSION", help="an id from `realtime sessions`, or "
                    "a session folder")
    rp.add_argument("--out", metavar="FILE.html", required=True)

    cp = sub.add_parser("compare", help="before/after of two sessions as an HTML report",
                        description="Each metric's change from SESSION_A to SESSION_B, "
                                    "called real only beyond the smallest detectable "
                                    "difference, and the runner's progress over all "
                                    "sessions.")
    cp.add_argument("session_a", metavar="SESSION_A")
    cp.add_argument("session_b", metavar="SESSION_B")
    cp.add_argument("--out", metavar="FILE.html", required=True)
    cp.add_argument("--phase", choices=("baseline", "retest", "drill", "all"),
                    default="baseline",
                    help="which part of each session to compare (default: baseline, the "
                         "runner's own running without cues; the whole session if it has "
                         "too few baseline steps)")

    ca = sub.add_parser("calibrate", help="targets from a session's baseline; --save keeps "
                        "them in the runner's profile",
                        description="Shows each metric's baseline value and the target "
                                    "the profile's [calibration] rules make of it.")
    ca.add_argument("session", metavar="SESSION")
    ca.add_argument("--save", action="store_true",
                    help="the therapist confirms: write the targets to the runner's profile")
    sy = sub.add_parser("sync", help="send this station's sessions to the clinic database",
                        description="Copies to the clinic database (REALTIME_DB_URL or "
                                    "[store] url) every session, step and cue it does not "
                                    "have yet; safe to run again or after an interruption "
                                    "(each row arrives once).")
    sy.add_argument("--quiet", action="store_true", help="no progress bar")

    sv = sub.add_parser("serve", help="the therapists' dashboard in a web browser",
                        description="Runners, sessions, reports, comparisons and profiles in "
                                    "a browser, from the clinic database (or this station's). "
                                    "Bound to 127.0.0.1 by default; on any other address it "
                                    "requires the password set with `realtime password`.")
    sv.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default: 127.0.0.1, this machine only)")
    sv.add_argument("--port", type=int, default=8719, help="port (default: 8719)")
    sv.add_argument("--tls-cert", type=Path, default=None, metavar="PEM",
                    help="serve HTTPS with this certificate (with --tls-key): on a shared "
                         "network the password and health data are then encrypted")
    sv.add_argument("--tls-key", type=Path, default=None, metavar="PEM",
                    help="the certificate's private key")

    pw = sub.add_parser("password", help="set the dashboard's login password (stored hashed)",
                        description="Asks for the password twice (or reads one line from "
                                    "standard input when it is not a terminal) and stores "
                                    "its scrypt hash in the data folder.")
    pw.add_argument("--user", default="therapist", help="the login name (default: therapist)")

    ra2 = sub.add_parser("reanalyze", help="re-measure stored sessions with the current "
                         "metrics version",
                         description="Recomputes the steps of stored sessions from their "
                                     "pose streams (pose.npz in the session folder) with this "
                                     "program's metrics, in parallel; the previous steps are "
                                     "kept under their metrics version.")
    ra2.add_argument("--runner", metavar="NAME", help="only this runner's sessions")
    ra2.add_argument("--since", metavar="DATE", help="only sessions started on or after "
                     "DATE (YYYY-MM-DD)")
    ra2.add_argument("--workers", type=int, default=None, metavar="N",
                     help="processes (default: the number of cores)")
    ra2.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _store() -> Store:
    """This station's own session store (ids as `realtime sessions` lists them)."""
    from realtime.config import load_config
    from realtime.store.where import local_store

    return local_store(load_config().store)


def _load_cfg(args: argparse.Namespace) -> Config:
    from realtime.config import load_config

    runner = getattr(args, "runner", None)
    if not runner:
        return load_config(profile=args.profile, config_file=args.config,
                           overrides=args.overrides)
    return _runner_cfg(args)[0]


def _runner_cfg(args: argparse.Namespace) -> tuple[Config, StoreTarget]:
    """The runner's profile as the profile layer, and the faded schedule's session number
    from their history in the store."""
    import dataclasses

    from realtime.config import load_config
    from realtime.store.home import check_runner_name, home
    from realtime.store.recorder import StoreTarget

    if args.profile:
        raise UserError("--runner uses the runner's own profile; drop --profile (or edit "
                        "the runner's profile, see `realtime runner list`)")
    from realtime.store.station import prepare_runner

    name = check_runner_name(args.runner)
    path = home().profile(name)
    station_cfg = load_config(config_file=args.config, overrides=args.overrides).store
    store = prepare_runner(station_cfg, name, path)  # the clinic's runner and profile
    store.runner_id(name)  # unknown runner: one line naming it
    if not path.is_file():
        raise UserError(f"runner {name!r} has no profile at {path}; create it with "
                        f"`realtime config --defaults > {path}` and edit it")
    cfg = load_config(profile=str(path), config_file=args.config, overrides=args.overrides)
    if cfg.cues.schedule == "faded" and not any(
            o.strip().startswith("cues.session_index") for o in args.overrides):
        cfg = dataclasses.replace(cfg, cues=dataclasses.replace(
            cfg.cues, session_index=store.earlier_sessions(name, "faded")))
    return cfg, StoreTarget(store, name, path)


def _cmd_analyze(args: argparse.Namespace) -> int:
    from realtime.analyze import analyze

    store = None
    if args.runner:
        cfg, store = _runner_cfg(args)
    else:
        cfg = _load_cfg(args)
    from realtime.live import restore_sigterm, stop_on_sigterm

    previous = stop_on_sigterm()  # a service manager's stop ends it like Ctrl-C
    syncer = _start_sync(cfg, store)
    try:
        res = analyze(args.input, args.out, cfg, view=args.view, progress=not args.quiet,
                      rear=args.rear, store=store, force=args.force)
    finally:
        restore_sigterm(previous)
        _stop_sync(syncer)
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
    if "session_id" in res.summary:
        print(f"recorded as session {res.summary['session_id']} of {args.runner} "
              f"(realtime report {res.summary['session_id']} --out report.html)")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from realtime.store.recorder import StoreTarget

    if args.runner:
        cfg, store = _runner_cfg(args)
    else:
        cfg = _load_cfg(args)
        try:
            store = StoreTarget(_store(), None, None)  # every live session is recorded
        except UserError as exc:  # a full disk stops recording, never the feedback
            print(f"realtime: {exc}; this session is kept in its folder only",
                  file=sys.stderr)
            store = None
    if args.realtime and not args.video:
        raise UserError("--realtime only applies with --video PATH")
    if args.rear_video and not args.video:
        raise UserError("--rear-video goes with --video (two recordings played together); "
                        "with cameras use --rear-camera N")
    if args.rear_camera is not None and args.video:
        raise UserError("--rear-camera goes with a side camera, not with --video; "
                        "use --rear-video PATH")
    syncer = _start_sync(cfg, store)
    try:
        return _run_session(args, cfg, store)
    finally:
        _stop_sync(syncer)


def _start_sync(cfg: Config, target: StoreTarget | None) -> Syncer | None:
    """With a clinic database, this station's sessions go there as they are recorded."""
    if target is None:
        return None
    from realtime.store.station import start_syncer

    return start_syncer(cfg.store, target.store)


def _stop_sync(syncer: Syncer | None) -> None:
    if syncer is not None and not syncer.stop():
        print("realtime: not everything reached the clinic database yet; run `realtime "
              "sync` when it is back (`realtime sessions` shows what is left)",
              file=sys.stderr)


def _run_session(args: argparse.Namespace, cfg: Config, store: StoreTarget | None) -> int:
    from realtime.live import run_session

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
        store=store,
        force=args.force,
    )


def _cmd_demo(args: argparse.Namespace) -> int:
    from realtime.demo import run_demo

    cfg = _load_cfg(args)
    return run_demo(args.seconds, headless=args.headless, cfg=cfg, mute=args.mute,
                    out_dir=args.out, screenshot=args.screenshot)


def _cmd_recover(args: argparse.Namespace) -> int:
    """Rebuild what a live session could not write (killed, or its disk or store full):
    pose files from their spills, summary.json from the poses, and the store's rows and
    end from the folder's CSVs and summary.json."""
    from realtime.errors import PoseStreamError
    from realtime.pose.stream import load, recover_all

    d = Path(args.dir)
    if not d.is_dir():
        raise UserError(f"{d} is not a folder")
    did = False
    if any(d.glob("*.partial.bin")) or any(d.glob("*.partial.json")):
        try:
            results = recover_all(d)
        except PoseStreamError as exc:
            raise UserError(str(exc)) from None
        for r in results:
            if r.kept_existing:
                print(f"{r.path} is already complete ({r.frames} frames): left as it is, "
                      f"and its spill too")
                continue
            did = True
            stream = load(r.path)
            print(f"wrote {r.path}: {len(stream)} frames, {stream.frames_with_pose} with a "
                  f"pose" + (f"; {r.skipped} corrupt records skipped" if r.skipped else ""))
    from realtime.store.db import Store
    from realtime.store.home import home

    store = Store(home().db) if home().db.is_file() else None
    try:
        if not (d / "summary.json").exists():
            did = _write_missing_summary(d, store) or did
        did = (store is not None and _complete_store_record(store, d)) or did
    finally:
        if store is not None:
            store.close()
    if not did:
        raise UserError(f"{d}: no unfinished pose recording here (no pose.partial.bin), and "
                        "nothing missing from its summary or the session store")
    return 0


def _write_missing_summary(d: Path, store: Store | None) -> bool:
    """summary.json that the session could not write: the one it gave the session store
    (the same dict), else rebuilt from the recovered poses."""
    from realtime.pipeline import write_json

    sid = store.session_of_folder(d) if store is not None else None
    row = store.session(sid) if store is not None and sid is not None else None
    if row is not None and row.summary and "steps" in row.summary:
        summary = dict(row.summary)
        summary["recovered"] = (f"written by `realtime recover` from session {sid} in the "
                                "session store (the summary the session ended with)")
        write_json(d / "summary.json", summary)
        print(f"wrote {d}/summary.json (from session {sid} in the session store)")
        return True
    if (d / "pose.npz").exists():
        _summarize_recovered(d / "pose.npz", d)
        return True
    return False


def _complete_store_record(store: Store, d: Path) -> bool:
    """The session store's rows of the session in `d` that the store could not take."""
    from realtime.store.repair import complete_session

    done = complete_session(store, d)
    if done is None:
        return False
    print(f"session store: session {done.session_id} completed from {d} "
          f"({done.steps_added} steps and {done.cues_added} cues added"
          + ("; ended" if done.ended else "") + ")")
    return True


def _summarize_recovered(pose: Path, d: Path) -> None:
    """A recovered session gets the summary.json (and steps.csv, if the session had not
    written one) that its end would have written, from the recovered poses."""
    from realtime.config import load_config
    from realtime.metrics import analyze_stream, summarize, write_steps_csv
    from realtime.pipeline import write_json
    from realtime.pose.stream import load

    stream = load(pose)
    steps, _ = analyze_stream(stream, load_config().metrics)
    summary = summarize(steps, frames=len(stream), frames_with_pose=stream.frames_with_pose,
                        view=stream.view, event_delay_s=0.0, fps_processing=0.0)
    summary["recovered"] = ("rebuilt by `realtime recover` from the poses (default "
                            "settings; the session's own cues and phases are in its CSVs)")
    write_json(d / "summary.json", summary)
    wrote = ["summary.json"]
    if not (d / "steps.csv").exists():
        write_steps_csv(d / "steps.csv", steps)
        wrote.append("steps.csv")
    print(f"wrote {d}/" + ", ".join(wrote) + f" ({len(steps)} steps)")


def _cmd_config(args: argparse.Namespace) -> int:
    from realtime.config import Config, to_toml

    print(to_toml(Config() if args.defaults else _load_cfg(args)), end="")
    return 0


def _cmd_runner(args: argparse.Namespace) -> int:
    from realtime.config import profile_path
    from realtime.store.home import check_runner_name, home
    from realtime.store.profiles import create_profile

    h = home().ensure()
    store = _store()
    if args.runner_command == "list":
        rows = store.runners()
        if not rows:
            print(f"no runners yet in {h.root}; add one with `realtime runner add NAME`")
        for name, created, n in rows:
            print(f"{name:20s} {n:3d} sessions  since {created[:10]}  profile "
                  f"{h.profile(name)}")
        return 0
    name = check_runner_name(args.name)
    path = h.profile(name)
    template = profile_path(args.template) if args.template else None
    if not path.exists():
        create_profile(path, template)
    elif template is not None:
        raise UserError(f"{path} already exists; edit it, or remove it to start from "
                        f"{args.template}")
    store.add_runner(name, path.read_text(encoding="utf-8"))
    print(f"runner {name} added; profile {path} (edit the targets and the drill plan there)")
    return 0


def _cmd_sessions(args: argparse.Namespace) -> int:
    from realtime.config import load_config
    from realtime.store.sync import pending
    from realtime.store.where import clinic_url

    store = _store()
    rows = store.sessions(args.runner)
    if not rows:
        print("no sessions recorded" + (f" for {args.runner}" if args.runner else ""))
        return 0
    url = clinic_url(load_config().store)
    todo = {p.id: p for p in pending(store)} if url else {}
    print(f"{'id':>4}  {'runner':12s} {'started (UTC)':20s} {'kind':8s} {'views':10s} "
          f"{'steps':>6}  {'status':9s} " + ("synced?      " if url else "") + "folder")
    for r in rows:
        status = "no end" if r.status == "recording" else r.status  # crashed or running
        sync = ""
        if url:
            p = todo.get(r.id)
            sync = ("yes" if p is None else "NOT SYNCED" if p.steps_to_send < 0
                    else f"{p.steps_to_send} steps to send" if p.steps_to_send
                    else "changes to send")
            sync = f"{sync:12s} "
        print(f"{r.id:>4}  {(r.runner or '-'):12s} {r.started[:19]:20s} {r.kind:8s} "
              f"{'+'.join(r.views):10s} {r.steps:>6}  {status:9s} {sync}{r.folder or ''}")
    if url:
        print(f"{len(todo)} of {len(rows)} sessions not yet fully in the clinic database"
              + (" (`realtime sync` sends them)" if todo else ""))
    return 0


def _cmd_sync(args: argparse.Namespace) -> int:
    from realtime.config import load_config
    from realtime.store.db import safe_url
    from realtime.store.sync import pending, sync
    from realtime.store.where import clinic_store, clinic_url

    cfg = load_config().store
    url = clinic_url(cfg)
    if url is None:
        raise UserError("no clinic database is configured: set REALTIME_DB_URL or [store] url "
                        "in the data folder's config.toml")
    local = _store()
    todo = len(pending(local))
    clinic = clinic_store(cfg)
    if args.quiet or not todo:
        res = sync(local, clinic)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        with Progress(TextColumn("[bold]sync"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("sessions")) as bar:
            task = bar.add_task("sync", total=todo)
            res = sync(local, clinic,
                       on_session=lambda i, n, _s: bar.update(task, completed=i, total=n))
    print(f"synced to {safe_url(url)}: {res.sessions} sessions, {res.steps} steps, "
          f"{res.cues} cues sent; {res.runners} runners added")
    return 0


def _session(ref: str) -> SessionData:
    from realtime.store import sessiondata

    return sessiondata.load(ref, _store() if ref.isdigit() else None)


def _cmd_report(args: argparse.Namespace) -> int:
    from realtime.config import ReportConfig
    from realtime.report.html import session_report

    data = _session(args.session)
    out = session_report(data, _out_file(args.out), ReportConfig())
    print(f"wrote {out} ({data.ref}: {len(data.steps)} steps, {len(data.cues)} cues)")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from realtime.config import ReportConfig
    from realtime.report.change import compare
    from realtime.report.html import compare_report
    from realtime.store.sessiondata import check_comparable

    a, b = _session(args.session_a), _session(args.session_b)
    check_comparable(a, b)
    history = [a, b]
    if a.runner and a.runner == b.runner:
        from realtime.store import sessiondata

        store = _store()
        history = [sessiondata.from_store(store, r.id) for r in store.sessions(a.runner)
                   if r.steps and r.metrics_version == a.metrics_version]
    cfg = ReportConfig()
    changes, used_a, used_b = compare(a.steps, b.steps, cfg, args.phase)
    out = compare_report(a, b, history, cfg, _out_file(args.out), args.phase)
    print(f"wrote {out}: {a.ref} ({used_a}) -> {b.ref} ({used_b})")
    for c in changes:
        m = c.metric
        if c.verdict == "no trusted steps":
            continue
        if c.verdict == "too few steps":
            print(f"  {m.label:24s} too few reliable steps ({c.a.n} and {c.b.n}; "
                  f"needs {cfg.min_steps})")
            continue
        print(f"  {m.label:24s} {c.a.mean:7.2f} -> {c.b.mean:7.2f} {m.unit:9s} change "
              f"{c.diff:+.2f} (SDD {c.threshold:.2f}): {c.verdict}")
    return 0


def _out_file(path: str) -> Path:
    out = Path(path)
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; give a file name such as report.html")
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: folder {out.parent} does not exist")
    return out


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from realtime.config import load_config
    from realtime.feedback.calibration import propose
    from realtime.store.home import home
    from realtime.store.profiles import save_targets

    data = _session(args.session)
    base = [s for p, s in data.steps if p == "baseline"]
    if not base:
        raise UserError(f"{data.ref} has no baseline steps (its plan's baseline_s is 0, or "
                        "the runner was not seen then)")
    profile = home().profile(data.runner) if data.runner else None
    cfg = load_config(profile=str(profile)) if profile and profile.is_file() else load_config()
    cal = propose(base, cfg.cues, cfg.calibration)
    print(f"{data.ref}: {len(base)} baseline steps")
    for line in cal.lines():
        print(f"  {line}")
    if not cal.targets:
        print(f"no target calibrated: each metric needs {cfg.calibration.min_steps} reliable "
              "baseline steps")
        return 0
    if not args.save:
        print("not saved; add --save to write these targets to the runner's profile")
        return 0
    if profile is None:
        raise UserError(f"{data.ref} has no runner, so there is no profile to save to")
    saved = save_targets(profile, cal.apply(cfg.cues))
    print(f"saved to {profile}: " + ", ".join(f"{k} = {v:g}" for k, v in saved.items()))
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from realtime.clinic.server import serve

    return serve(args.host, args.port, args.tls_cert, args.tls_key)


def _cmd_password(args: argparse.Namespace) -> int:
    import getpass

    from realtime.clinic.auth import set_password
    from realtime.store.home import home

    if sys.stdin.isatty():
        first = getpass.getpass("new dashboard password: ")
        if getpass.getpass("again: ") != first:
            raise UserError("the two passwords differ; nothing changed")
    else:
        first = sys.stdin.readline().rstrip("\n")
    path = set_password(home().ensure(), args.user, first)
    print(f"password for {args.user} saved (scrypt hash) in {path}")
    return 0


def _cmd_reanalyze(args: argparse.Namespace) -> int:
    from realtime.reanalyze import reanalyze_command

    return reanalyze_command(_store(), args.runner, args.since, args.workers,
                             progress=not args.quiet)


def main(argv: Sequence[str] | None = None) -> int:
    # Gait and video-derived data are health data: every file and folder this process
    # creates (session folders, CSVs, pose streams, the store, profiles) is private to
    # the user (0600 files, 0700 folders).
    os.umask(0o077)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    handler = {"analyze": _cmd_analyze, "run": _cmd_run, "demo": _cmd_demo,
               "config": _cmd_config, "recover": _cmd_recover, "runner": _cmd_runner,
               "sessions": _cmd_sessions, "report": _cmd_report, "compare": _cmd_compare,
               "calibrate": _cmd_calibrate, "sync": _cmd_sync, "serve": _cmd_serve,
               "password": _cmd_password, "reanalyze": _cmd_reanalyze}[args.command]
    try:
        _check_args(args)
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
