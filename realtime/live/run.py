"""`realtime run` and `realtime demo`: a live session with its window, voice, tones and logs,
from the command line's options to the exit code.

`run_session` opens the camera(s) or recording(s); `run_live` sets up the window (or
headless), the speech thread and the cue log around a `LiveRun`, runs it on the main
thread until quit or the end, and ends with the summary: the end screen (or printed),
the lines on stdout, and the exit code.
"""

from __future__ import annotations

import dataclasses
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from realtime.capture import CameraSource
from realtime.clock import now_ns
from realtime.config import Config, CuesConfig
from realtime.errors import EXIT_INCOMPLETE, UserError
from realtime.feedback.display import Display, Mute, Pause, SaveTargets, ThresholdChange
from realtime.feedback.endsummary import end_lines
from realtime.live.cue_routing import PrintCues
from realtime.live.recording import incomplete_line
from realtime.live.screen import end_screen, open_display
from realtime.live.session import LiveRun
from realtime.live.summary import print_summary
from realtime.pipeline import ModelPoses, PoseSource
from realtime.store.recorder import StoreTarget
from realtime.types import Cue, View


def default_session_dir(runner: str | None = None) -> Path:
    """sessions/RUNNER/DATE-TIME in the user's data folder (never in the checkout)."""
    from realtime.store.home import home

    return home().ensure().session_dir(runner)


def run_session(
    cfg: Config,
    *,
    camera: int | None = None,
    video: Path | None = None,
    rear_camera: int | None = None,
    rear_video: Path | None = None,
    realtime: bool = False,
    headless: bool = False,
    mute: bool = False,
    view: View | None = None,
    seconds: float | None = None,
    out_dir: Path | None = None,
    screenshot: Path | None = None,
    store: StoreTarget | None = None,
    force: bool = False,
) -> int:
    """`realtime run`: a camera or a video through the live path; returns the exit code.

    With `store`, the session is recorded in the session store as it happens (its
    folder defaults to the data folder's sessions/RUNNER/DATE-TIME)."""
    from realtime.analyze import open_input
    from realtime.metrics import warmup
    from realtime.pose.mediapipe_pose import MediaPipePose

    two = rear_camera is not None or rear_video is not None
    if two and view not in (None, "side"):
        raise UserError("with a rear camera, the main camera is the side view (drop --view)")
    if video is not None:
        source, view, record = open_input(video, cfg, "side" if two else view,
                                          realtime=realtime)
    else:
        frames = CameraSource(cfg.capture, index=camera)
        source, view, record = ModelPoses(frames, lambda: MediaPipePose(cfg.pose)), \
            view or "side", True
    rear: PoseSource | None = None
    if rear_video is not None:
        rear, _, _ = open_input(rear_video, cfg, "rear", realtime=realtime,
                                pose=cfg.two_view.rear_pose(cfg.pose))
    elif rear_camera is not None:
        if rear_camera == (camera or cfg.capture.camera_index) and video is None:
            raise UserError(f"--rear-camera {rear_camera} is also the side camera")
        rear_pose = cfg.two_view.rear_pose(cfg.pose)
        rear = ModelPoses(CameraSource(cfg.capture, index=rear_camera),
                          lambda: MediaPipePose(rear_pose))
    warmup()  # compile/load every numba kernel before the first frame
    if out_dir is None:
        out_dir = default_session_dir(store.runner if store else None)
    if store is not None:
        cam = camera if camera is not None else cfg.capture.camera_index
        store = dataclasses.replace(store, source=str(video) if video is not None
                                    else f"camera {cam}")
    return run_live(cfg, source, view, out_dir, headless=headless,
                    mute=mute, seconds=seconds, record=record,
                    live_timing=video is None or realtime, screenshot=screenshot, rear=rear,
                    clock_known=video is None and rear_video is None, store=store,
                    force=force)


def run_live(
    cfg: Config,
    source: PoseSource,
    view: View,
    out_dir: Path,
    *,
    headless: bool,
    mute: bool,
    seconds: float | None,
    record: bool = True,
    live_timing: bool = True,
    title: str = "Running form",
    screenshot: Path | None = None,
    rear: PoseSource | None = None,
    clock_known: bool = True,
    store: StoreTarget | None = None,
    force: bool = False,
    observer: Callable[[LiveRun], None] | None = None,
) -> int:
    """The live path over any PoseSource: display (or headless), speech, tones, logs.

    Used by `realtime run` (camera or video) and `realtime demo` (synthetic runner).
    `observer` is called once the session has started (main thread; it must return at
    once): bench/bench_soak_live.py watches memory and latency through it.
    """
    from realtime.feedback.sessionlog import CueLogSink
    from realtime.feedback.speech import init_mixer, make_speaker
    from realtime.feedback.tones import TonePlayer

    run = LiveRun(cfg, source, view, out_dir, seconds=seconds, record=record,
                  live_timing=live_timing, rear=rear, clock_known=clock_known, store=store)
    run.prepare(force)  # the folder, before the camera, the model or a window
    run.open()  # fails fast (no camera) before a window, a voice or a file appears
    display: Display | None = None
    speaker = None
    started = False
    previous_term = None
    try:
        if not headless:
            display = open_display(cfg, title)
            headless = display is None
        if not mute and (cfg.speech.mode != "off" or cfg.tones.mode != "off"):
            init_mixer()  # once, on this thread: the speech thread and tones share it
        speaker = None if mute else make_speaker(cfg.speech, cfg.cues.phrases)
        if speaker is not None:
            def announce(text: str) -> None:
                speaker.say(Cue("notice", text, 9, now_ns()))

            run.announce = announce
        tones = TonePlayer(cfg.tones, cfg.cues)
        tones.muted = mute
        try:  # the folder exists already (run.prepare)
            run.begin_record()
        except OSError as exc:
            raise UserError(f"cannot write the session to {out_dir}: {exc}") from None
        run.extra_sinks = [
            CueLogSink(out_dir / "cues.csv", speaker, phase_of=run.plan.name_at,
                       listeners=[run.recorder.cue] if run.recorder is not None else []),
            tones]
        if headless:
            run.extra_sinks.append(PrintCues())

        user_muted = [mute]

        def on_action(action: object) -> None:
            if isinstance(action, Mute | Pause):
                if isinstance(action, Mute):
                    user_muted[0] = mute or action.muted
                    if speaker is not None:
                        speaker.set_muted(action.muted)
                quiet = user_muted[0] or run.paused.is_set()
                tones.muted = quiet
                if quiet:  # the continuous tone loops until told to stop
                    tones.silence()
            elif isinstance(action, ThresholdChange):
                tones.cues = action.cues
            elif isinstance(action, SaveTargets):
                run.flash(save_profile_targets(store, run.cues.cues_cfg))

        try:
            run.start()
        except OSError as exc:
            raise UserError(f"cannot write the session to {out_dir}: {exc}") from None
        started = True
        previous_term = stop_on_sigterm()
        if observer is not None:
            observer(run)
        if display is not None:
            run.display_loop(display, on_action)
        else:
            run.wait_loop()
    except KeyboardInterrupt:
        print("stopping…", file=sys.stderr)
    finally:
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)
        if display is not None and screenshot is not None and started:
            display.screenshot(screenshot)
        if started:
            try:
                summary = run.finish()  # closes the sinks: the speaker stops first
            except KeyboardInterrupt:  # a second Ctrl-C while saving
                print(f"realtime: interrupted while saving; steps.csv and cues.csv are "
                      f"complete, and the poses are in the spill: run `realtime recover "
                      f"{out_dir}`", file=sys.stderr)
                if display is not None:
                    display.close()
                return 130
            lines = end_lines(run.phased_steps(), run.cues.cues_cfg, summary.get("cues", 0),
                              _duration(run))
            if display is not None and cfg.display.summary_s > 0:
                title = "Session summary" + (f" - {store.runner}" if store and store.runner
                                             else "")
                ref = f"realtime report {run.session_id}" if run.session_id is not None \
                    else f"realtime report {run.out_dir}"
                end_screen(display, lines, title, ref,
                           lambda: save_profile_targets(store, run.cues.cues_cfg),
                           cfg.display.summary_s, screenshot)
            else:
                for text, z in lines:
                    mark = {"good": "[met] ", "near": "[close] ", "bad": "[not met] "}.get(z, "")
                    print(mark + text, flush=True)
        else:  # failed before the session began: release what was opened
            for ch in run.channels:
                ch.source.stop()
            if speaker is not None:
                speaker.stop()
        if display is not None:
            display.close()
    if not started:  # interrupted before the session began
        return 130
    if run.end_reason:
        print(f"session ended by itself: {run.end_reason}")
    print_summary(summary, out_dir)
    if run.error:
        if run.two and run.channels[0].error is None:
            print(f"realtime: {run.error}; the side camera went on (recorded data kept in "
                  f"{out_dir})", file=sys.stderr)
        else:
            print(f"realtime: session ended early: {run.error} (recorded data kept in "
                  f"{out_dir})", file=sys.stderr)
    if run.unwritten:  # a full disk or store: one line, and what to run once there is room
        print(incomplete_line(run.unwritten, out_dir), file=sys.stderr, flush=True)
        return EXIT_INCOMPLETE
    return 1 if run.error else 0


def _duration(run: LiveRun) -> float:
    ch = run.channels[0]
    return ch.live.t_s - (run.plan.t0_s or 0.0) if ch.live is not None else 0.0


def save_profile_targets(store: StoreTarget | None, cues: CuesConfig) -> str:
    """Key S: the therapist confirms the targets in effect; they go to the runner's
    profile.  Returns what the display says."""
    from realtime.store.profiles import save_targets

    if store is None or store.runner is None or store.profile is None:
        return "no runner: start with --runner NAME to save targets to a profile"
    try:
        saved = save_targets(store.profile, cues)
    except (UserError, OSError) as exc:
        return f"targets NOT saved: {exc}"
    print(f"saved to {store.runner}'s profile ({store.profile}): "
          + ", ".join(f"{k} = {v:g}" for k, v in saved.items()), flush=True)
    return (f"saved to {store.runner}'s profile: knee drive "
            f"{saved['knee_drive_target_deg']:g}°, hip sway {saved['hip_sway_limit_pct']:g} %")


def restore_sigterm(previous: signal.Handlers | None) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def stop_on_sigterm() -> signal.Handlers | None:
    """Make SIGTERM (a service manager, `kill`) end a session like Ctrl-C, so an unattended
    session that is stopped still writes pose.npz and summary.json.  Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, handler)
