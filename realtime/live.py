"""A live session: the threads of `realtime run` (and of the demo).

- capture thread (inside the FrameSource): camera -> newest-frame slot, drops counted;
- worker thread: newest frame -> pose -> metrics -> cue rules -> sinks (speech queue, CSV
  logs), then publishes the newest DisplayState into a one-slot holder;
- main thread: the pygame loop, which reads the newest state without blocking and turns
  keys into actions (quit, pause, mute, threshold changes);
- speech thread (inside the speech sink): owns the pyttsx3 engine.

Shutdown: the main thread sets `stop`; the worker finishes its frame and ends; the sources
and sinks are closed with timeouts; whatever was recorded (steps.csv and cues.csv as they
happen, pose.npz and summary.json at the end) is kept even when a stage fails.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from realtime.capture import CameraSource, FrameTimeout, LatestSlot
from realtime.capture.latest import Closed
from realtime.clock import now_ns
from realtime.config import Config, CuesConfig, as_dict
from realtime.errors import UserError
from realtime.feedback import FeedbackSink
from realtime.feedback.cues import CueState, decide, decide_swing, phase_at
from realtime.feedback.display import Display, Mute, Pause, Quit, ThresholdChange
from realtime.feedback.steps_csv import StepsCsvSink
from realtime.pipeline import (
    Latency,
    ModelPoses,
    PoseSource,
    Session,
    settle_memory,
    write_json,
)
from realtime.types import Cue, DisplayState, LiveState, PoseSample, Step, Swing, View

HISTORY_STEPS = 60


class CueController:
    """Holds the cue rules' state between steps; thresholds can change from the keyboard.

    The rules themselves are pure (`realtime.feedback.cues.decide`); this object only keeps
    their state on the worker thread and takes new thresholds from the main thread (an
    attribute swap of a frozen config, which is atomic in CPython).
    """

    def __init__(self, cfg: Config) -> None:
        self.cues_cfg: CuesConfig = cfg.cues
        self.drill_cfg = cfg.drill
        self.state = CueState()

    def step(self, step: Step, t_s: float, cadence_spm: float) -> list[Cue]:
        silent = phase_at(t_s, self.drill_cfg).silent
        self.state, cues = decide(self.state, step, t_s, self.cues_cfg, silent=silent,
                                  cadence_spm=cadence_spm)
        return cues

    def swing(self, swing: Swing, t_s: float) -> list[Cue]:
        silent = phase_at(t_s, self.drill_cfg).silent
        self.state, cues = decide_swing(self.state, swing, t_s, self.cues_cfg, silent=silent)
        return cues


class PrintCues:
    """Headless sink: cues and a line per step on stdout, so a headless run still shows them."""

    def on_pose(self, sample: PoseSample, live: LiveState) -> None:
        pass

    def on_step(self, step: Step, cues: Sequence[Cue]) -> None:
        for cue in cues:
            print(f"[{step.t_detected_s:7.2f} s] cue: {cue.text}", flush=True)

    def on_swing(self, swing: Swing, cues: Sequence[Cue]) -> None:
        for cue in cues:
            print(f"[{swing.t_detected_s:7.2f} s] cue: {cue.text}", flush=True)

    def close(self) -> None:
        pass


class LiveRun:
    """Runs one live session over any PoseSource (camera, video, recorded or synthetic)."""

    def __init__(
        self,
        cfg: Config,
        source: PoseSource,
        view: View,
        out_dir: Path,
        sinks: Sequence[FeedbackSink] = (),
        seconds: float | None = None,
        record: bool = True,
        live_timing: bool = True,
    ) -> None:
        self.cfg = cfg
        self.live_timing = live_timing
        self.source = source
        self.view = view
        self.out_dir = out_dir
        self.seconds = seconds
        self.cues = CueController(cfg)
        self.extra_sinks = list(sinks)
        self.record = record
        self.states: LatestSlot[DisplayState] = LatestSlot()
        self.stop = threading.Event()
        self.paused = threading.Event()
        self.error: str | None = None
        self.session: Session | None = None
        self.capture_to_display = Latency("capture->display")
        self._history: deque[Step] = deque(maxlen=HISTORY_STEPS)
        self._last_cue: Cue | None = None
        self._knee = math.nan  # the newest trusted swing's knee drive
        self._worker: threading.Thread | None = None
        self._t_start = 0.0
        self._opened = False

    # ---------------------------------------------------------------- worker thread

    def open(self) -> None:
        """Open the camera or file first: a missing camera fails before any window opens."""
        if not self._opened:
            self.source.start()
            self._opened = True

    def start(self) -> None:
        check_session_dir(self.out_dir)
        self.open()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        sinks = [StepsCsvSink(self.out_dir / "steps.csv"), *self.extra_sinks]
        self.session = Session(self.cfg, self.view, self.source.size, self.source.fps,
                               sinks=sinks, decide_cues=self.cues, record=self.record,
                               spill_dir=self.out_dir)
        settle_memory()
        self._t_start = time.monotonic()
        self._worker = threading.Thread(target=self._work, name="worker", daemon=True)
        self._worker.start()

    def _work(self) -> None:
        session = self.session
        assert session is not None
        t0_wall = now_ns()
        try:
            while not self.stop.is_set():
                if self.paused.is_set():
                    time.sleep(0.02)
                    continue
                try:
                    item = self.source.read(timeout=self.cfg.capture.read_timeout_s)
                except FrameTimeout as exc:
                    self.error = f"{exc}: is the camera still connected?"
                    break
                if item is None:
                    break
                frame, sample = item
                live, steps, cues = session.process(sample)
                self._history.extend(steps)
                if cues:
                    self._last_cue = cues[-1]
                phase = phase_at(live.t_s, self.cues.drill_cfg)
                label = phase.text
                dt = (now_ns() - t0_wall) * 1e-9
                for sw in reversed(session.swings[-2:]):
                    if sw.reliable:
                        self._knee = sw.knee_drive_deg
                        break
                self.states.put(DisplayState(
                    t_s=live.t_s, frame=frame, pose=sample, live=live,
                    steps=tuple(self._history), cue=self._last_cue, phase=label,
                    fps=session.frames / dt if dt > 0 else 0.0, dropped=self.source.dropped,
                    cadence_spm=session.analyzer.current_cadence_spm, knee_drive_deg=self._knee,
                ))
                if self.seconds is not None and live.t_s >= self.seconds:
                    break
        except UserError as exc:
            self.error = str(exc)
        except Exception as exc:  # keep what was recorded; report the bug
            self.error = f"internal error in the worker: {exc!r}"
            import traceback

            traceback.print_exc()
        finally:
            self.states.close()

    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    # ---------------------------------------------------------------- main-thread loops

    def display_loop(self, display: Display, on_action: Callable[[object], None]) -> None:
        """Main thread: draw the newest state at the display rate until quit or the end."""
        period = 1.0 / 60.0
        idle_redraw_s = 0.1  # without new states: keys and the clock still answer
        last: DisplayState | None = None
        drawn_at = -1.0
        while not self.stop.is_set():
            fresh = False
            try:
                last = self.states.get(timeout=period)
                fresh = True
            except TimeoutError:
                pass
            except Closed:
                break
            if not fresh and time.monotonic() - drawn_at < idle_redraw_s:
                continue  # nothing new: a full redraw would only take CPU from the model
            drawn_at = time.monotonic()
            actions = display.render(last)
            if fresh and last is not None and last.frame is not None:  # drawn and flipped
                self.capture_to_display.add(now_ns() - last.frame.t_capture_ns)
            for action in actions:
                if isinstance(action, Quit):
                    self.stop.set()
                elif isinstance(action, Pause):
                    if action.paused:
                        self.paused.set()
                    else:
                        self.paused.clear()
                elif isinstance(action, ThresholdChange):
                    self.cues.cues_cfg = action.cues
                on_action(action)

    def wait_loop(self) -> None:
        """Main thread when headless: wait for the end (or Ctrl-C)."""
        while self.running:
            time.sleep(0.05)

    # ---------------------------------------------------------------- shutdown

    def finish(self) -> dict:
        """Stop the worker, close everything, write pose.npz and summary.json.

        Order matters for "nothing recorded is lost": the source is stopped first (that
        ends a read blocked on a camera), the worker is joined, then the poses are saved
        before anything that could fail, and summary.json is written whatever happened.
        """
        self.stop.set()
        self.source.stop()
        if self._worker is not None:
            self._worker.join(timeout=10.0)
            if self._worker.is_alive():  # stuck in a driver: leave its state untouched
                self.error = (self.error or "") + " (the worker did not stop: run " \
                    f"`realtime recover {self.out_dir}` for the poses)"
                write_json(self.out_dir / "summary.json", {"error": self.error})
                return {"error": self.error, "processing": {}}
        session = self.session
        assert session is not None
        problems: list[str] = []
        if session.recorder is not None and len(session.recorder):
            try:
                session.recorder.save(self.out_dir / "pose.npz")
            except OSError as exc:
                problems.append(f"pose.npz not written ({exc}); the spill is kept")
        try:
            session.finish()
        except Exception as exc:
            problems.append(f"finishing the last step failed: {exc!r}")
        for sink in session.sinks:
            try:
                sink.close()
            except Exception as exc:
                problems.append(f"closing {type(sink).__name__} failed: {exc!r}")
        if problems:
            self.error = "; ".join(filter(None, [self.error, *problems]))
        elapsed = time.monotonic() - self._t_start
        summary = session.summary(fps_processing=session.frames / elapsed if elapsed else 0.0,
                                  live_timing=self.live_timing)
        if self.live_timing:
            summary["processing"]["latency"]["capture_to_display"] = \
                self.capture_to_display.summary()
        summary["processing"]["dropped_frames"] = self.source.dropped
        summary["cues"] = len(session.cues)
        summary["thresholds"] = as_dict(self.cues.cues_cfg)  # as they ended (hotkeys)
        if self.error:
            summary["error"] = self.error
        write_json(self.out_dir / "summary.json", summary)
        return summary


def check_session_dir(out_dir: Path) -> None:
    """Never overwrite a recorded session: a live session needs a folder of its own."""
    from realtime.pose.stream import SPILL_BIN

    if (out_dir / SPILL_BIN).exists():
        raise UserError(f"{out_dir} holds an unfinished recording: run `realtime recover "
                        f"{out_dir}` first, or choose another --out")
    if (out_dir / "steps.csv").exists():
        raise UserError(f"{out_dir} already holds a session; choose another --out")


def default_session_dir() -> Path:
    # A folder name for people, so wall-clock date here (never used for timing).
    return Path("sessions") / time.strftime("%Y%m%d-%H%M%S")


def run_session(
    cfg: Config,
    *,
    camera: int | None = None,
    video: Path | None = None,
    realtime: bool = False,
    headless: bool = False,
    mute: bool = False,
    view: View | None = None,
    seconds: float | None = None,
    out_dir: Path | None = None,
    screenshot: Path | None = None,
) -> int:
    """`realtime run`: a camera or a video through the live path; returns the exit code."""
    from realtime.analyze import open_input
    from realtime.metrics import warmup
    from realtime.pose.mediapipe_pose import MediaPipePose

    if video is not None:
        source, view, record = open_input(video, cfg, view, realtime=realtime)
    else:
        frames = CameraSource(cfg.capture, index=camera)
        source, view, record = ModelPoses(frames, lambda: MediaPipePose(cfg.pose)), \
            view or "side", True
    warmup()  # compile/load every numba kernel before the first frame
    return run_live(cfg, source, view, out_dir or default_session_dir(), headless=headless,
                    mute=mute, seconds=seconds, record=record,
                    live_timing=video is None or realtime, screenshot=screenshot)


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
) -> int:
    """The live path over any PoseSource: display (or headless), speech, tones, logs.

    Used by `realtime run` (camera or video) and `realtime demo` (synthetic runner).
    """
    from realtime.feedback.sessionlog import CueLogSink
    from realtime.feedback.speech import init_mixer, make_speaker
    from realtime.feedback.tones import TonePlayer

    check_session_dir(out_dir)  # before the camera, the model or a window
    run = LiveRun(cfg, source, view, out_dir, seconds=seconds, record=record,
                  live_timing=live_timing)
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
        tones = TonePlayer(cfg.tones, cfg.cues)
        tones.muted = mute
        run.extra_sinks = [CueLogSink(out_dir / "cues.csv", speaker), tones]
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

        try:
            run.start()
        except OSError as exc:
            raise UserError(f"cannot write the session to {out_dir}: {exc}") from None
        started = True
        previous_term = _stop_on_sigterm()
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
            summary = run.finish()  # closes the sinks: the speaker stops first
        else:  # failed before the session began: release what was opened
            source.stop()
            if speaker is not None:
                speaker.stop()
        if display is not None:
            display.close()
    if not started:  # interrupted before the session began
        return 130
    _print_summary(summary, out_dir)
    if run.error:
        print(f"realtime: session ended early: {run.error} (recorded data kept in {out_dir})",
              file=sys.stderr)
        return 1
    return 0


def _stop_on_sigterm() -> signal.Handlers | None:
    """Make SIGTERM (a service manager, `kill`) end a session like Ctrl-C, so an unattended
    session that is stopped still writes pose.npz and summary.json.  Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, handler)


def open_display(cfg: Config, title: str) -> Display | None:
    """A pygame window, or None (with a message) when this machine has no screen."""
    import os

    if os.environ.get("SDL_VIDEODRIVER") != "dummy" and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform in
        ("win32", "darwin")
    ):
        print("no screen found (DISPLAY is not set): running headless; cues are printed "
              "and spoken", file=sys.stderr)
        return None
    try:
        return Display(cfg, title=title)
    except Exception as exc:  # pygame.error: no video device
        print(f"cannot open a window ({exc}): running headless", file=sys.stderr)
        return None


def _print_summary(summary: dict, out_dir: Path) -> None:
    cad = summary.get("cadence_spm")
    cad_txt = f"{cad:.1f} steps/min" if isinstance(cad, float) and cad == cad else "n/a"
    dropped = summary["processing"].get("dropped_frames", 0)
    print(f"session: {summary.get('frames', 0)} frames, {summary.get('steps', 0)} steps, "
          f"cadence {cad_txt}, {summary.get('cues', 0)} cues, "
          f"{dropped} stale frames dropped; saved in {out_dir}")
    from realtime.metrics import warnings

    for line in warnings(summary):
        print(f"note: {line}")
