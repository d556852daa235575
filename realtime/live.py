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

import dataclasses
import math
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from realtime.capture import CameraSource, FrameTimeout, LatestSlot
from realtime.capture.latest import Closed
from realtime.clock import now_ns
from realtime.config import Config, CuesConfig, as_dict
from realtime.errors import UserError
from realtime.feedback import FeedbackSink
from realtime.feedback.calibration import Calibration, propose
from realtime.feedback.cues import CueState, Phase, PlanClock, decide, decide_swing
from realtime.feedback.display import Display, Mute, Pause, Quit, SaveTargets, ThresholdChange
from realtime.feedback.endsummary import end_lines
from realtime.feedback.placement import mean_luma, placement
from realtime.feedback.steps_csv import StepsCsvSink
from realtime.metrics.twoview import (
    BodyTraceRecorder,
    ClockOffset,
    StepFuser,
    estimate_clock_offset,
)
from realtime.outdir import prepare_out_dir
from realtime.pipeline import (
    CueDecider,
    Latency,
    ModelPoses,
    PoseSource,
    Session,
    SharedClock,
    settle_memory,
    two_view_summary,
    write_json,
)
from realtime.store.recorder import StoreRecorder, StoreTarget
from realtime.types import (
    REAR_METRICS,
    SIDE_METRICS,
    VIEW_METRICS,
    Cue,
    DisplayState,
    Frame,
    LiveState,
    PoseSample,
    Step,
    Swing,
    View,
    ViewImage,
)

HISTORY_STEPS = 60
# The lowest frame rate at which every metric meets its target against force (24 fps does,
# 20 fps does not: python -m realtime.validation --fps 20 24 --noise 2).  A machine that
# falls behind at 30 fps drops frames unevenly; a steady 24 fps measures better (30 fps
# with 20 % dropped at random: knee flexion at contact 2.5 deg, at a steady 24: 1.9-2.0).
ACCURATE_FPS = 24
OFFSET_WINDOW_S = 60.0  # recordings played live: the offset from the last minute
# what a lost camera takes away, as the display says it
VIEW_NOUNS = {"side": "knee drive, knee flexion at contact, overstride",
              "rear": "hip sway, pelvic drop"}


class CueController:
    """Holds the cue rules' state between steps; thresholds can change from the keyboard
    and, once, from the runner's baseline.

    The rules themselves are pure (`realtime.feedback.cues.decide`); this object only keeps
    their state on the worker thread and takes new thresholds from the main thread (an
    attribute swap of a frozen config, which is atomic in CPython).  It also keeps the
    baseline phase's steps: when the baseline ends and `calibration.targets` is
    "baseline", the drill's targets come from them (`realtime.feedback.calibration`).
    """

    def __init__(self, cfg: Config, plan: PlanClock | None = None,
                 on_calibrated: Callable[[Calibration], None] | None = None) -> None:
        self.cues_cfg: CuesConfig = cfg.cues
        self.drill_cfg = cfg.drill
        self.calib_cfg = cfg.calibration
        self.plan = plan or PlanClock(cfg.drill)
        self.state = CueState()
        self.baseline: list[Step] = []
        self.calibration: Calibration | None = None
        self._calibrate = cfg.calibration.targets == "baseline" and cfg.drill.baseline_s > 0
        self.on_calibrated = on_calibrated

    def _phase(self, t_s: float) -> Phase:
        phase = self.plan.at(t_s)
        if self._calibrate and phase.name not in ("warm-up", "baseline"):
            self._calibrate = False
            self.calibration = propose(self.baseline, self.cues_cfg, self.calib_cfg)
            self.cues_cfg = self.calibration.apply(self.cues_cfg)
            if self.on_calibrated is not None:
                self.on_calibrated(self.calibration)
        return phase

    def step(self, step: Step, t_s: float, cadence_spm: float) -> list[Cue]:
        phase = self._phase(t_s)
        if phase.name == "baseline":
            self.baseline.append(step)
        self.state, cues = decide(self.state, step, t_s, self.cues_cfg, silent=phase.silent,
                                  cadence_spm=cadence_spm)
        return cues

    def swing(self, swing: Swing, t_s: float) -> list[Cue]:
        phase = self._phase(t_s)
        self.state, cues = decide_swing(self.state, swing, t_s, self.cues_cfg,
                                        silent=phase.silent)
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


class LockedSink:
    """One sink shared by both cameras' workers: calls are serialised, and only the main
    view's frames reach `on_pose` (the knee tone follows the side camera)."""

    def __init__(self, sink: FeedbackSink, lock: threading.Lock, poses: bool) -> None:
        self.sink, self.lock, self.poses = sink, lock, poses

    def on_pose(self, sample: PoseSample, live: LiveState) -> None:
        if self.poses:
            with self.lock:
                self.sink.on_pose(sample, live)

    def on_step(self, step: Step, cues: Sequence[Cue]) -> None:
        with self.lock:
            self.sink.on_step(step, cues)

    def on_swing(self, swing: Swing, cues: Sequence[Cue]) -> None:
        with self.lock:
            self.sink.on_swing(swing, cues)

    def close(self) -> None:
        pass  # the run closes the shared sink once


class ViewCues:
    """The cue rules as one camera of a two-camera session calls them.

    Both cameras feed the same `CueController` (one hysteresis, one rate limit, one
    priority order across "drive the knee" and "level hips"), each only with what it
    measures: the side its steps, swings and cadence, the rear hip sway and pelvic drop.
    If the other camera is lost, this one gives everything it measures.  Times go onto
    the side's clock (the rear's minus the clock offset).
    """

    def __init__(self, run: LiveRun, view: View) -> None:
        self.run, self.view = run, view

    def _mask(self, step: Step) -> tuple[Step, bool]:
        other_alive = any(c.view != self.view and not c.ended for c in self.run.channels)
        if not other_alive:
            return step, True
        drop = (*SIDE_METRICS, "cadence_spm") if self.view == "rear" else REAR_METRICS
        return dataclasses.replace(step, **dict.fromkeys(drop, math.nan)), \
            self.view == "side"

    def step(self, step: Step, t_s: float, cadence_spm: float) -> list[Cue]:
        masked, own_cadence = self._mask(step)
        with self.run.lock:
            return self.run.cues.step(masked, t_s - self.run.offset_of(self.view),
                                      cadence_spm if own_cadence else math.nan)

    def swing(self, swing: Swing, t_s: float) -> list[Cue]:
        if self.view == "rear" and any(c.view == "side" and not c.ended
                                       for c in self.run.channels):
            return []  # knee drive is the side camera's
        with self.run.lock:
            return self.run.cues.swing(swing, t_s - self.run.offset_of(self.view))


@dataclass(eq=False)
class Channel:
    """One camera (or file) of a live session: its source, session and worker thread."""

    view: View
    source: PoseSource
    max_fps: float = 0.0  # 0: every frame it can take
    pose_file: str = "pose.npz"
    session: Session | None = None
    worker: threading.Thread | None = None
    error: str | None = None
    ended: bool = False
    stopped: bool = False  # ended because the session was told to stop (quit, --seconds)
    frame: Frame | None = None  # the newest, for the display
    pose: PoseSample | None = None
    live: LiveState | None = None
    body: BodyTraceRecorder | None = None
    capture_to_display: Latency = field(default_factory=lambda: Latency("capture->display"))
    t_first: float = math.nan  # monotonic, first and last frame processed
    t_last: float = math.nan
    said_lost: int = 0  # camera losses already announced
    said_back: int = 0  # camera returns already announced

    @property
    def lost(self) -> str:
        """Why this camera gives nothing now ('' if it does)."""
        if self.stopped:
            return ""
        if self.ended and self.error:
            return f"{self.view} camera lost ({self.error})"
        if self.ended:
            return f"{self.view} camera ended"
        if self.live is not None and not self.live.has_pose:
            return f"{self.view} camera does not see the runner"
        return ""


class LiveRun:
    """Runs one live session over one PoseSource, or two (side and `rear`).

    With two, each camera has its own worker thread (capture -> pose -> metrics; the rear
    at most `two_view.rear_max_fps`), both feed one cue controller, and their steps are
    fused into one steps.csv row per step (`realtime.metrics.twoview.StepFuser`) as
    they come.  Cameras share the monotonic clock (`clock_known`: offset 0); recordings
    played live have their offset estimated from the gait every `offset_every_s`.  If a
    camera fails or ends, the other goes on, and the display and summary say which
    metrics are unavailable.
    """

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
        rear: PoseSource | None = None,
        clock_known: bool = True,
        store: StoreTarget | None = None,
    ) -> None:
        if rear is not None and view != "side":
            raise UserError("with a rear camera, the main camera must be the side view")
        self.cfg = cfg
        self.live_timing = live_timing
        self.view = view
        self.out_dir = out_dir
        self.seconds = seconds
        self.plan = PlanClock(cfg.drill)
        self.cues = CueController(cfg, self.plan, self._calibrated)
        self.store = store
        self.session_id: int | None = None
        self.recorder: StoreRecorder | None = None
        self._thresholds_version = 0
        self._flash: tuple[str, float] = ("", 0.0)  # a notice and until when (monotonic)
        self._drop_hist: deque[tuple[float, int, int]] = deque()  # falling behind
        self._last_seen = math.nan  # stream time the runner was last in the picture
        self.end_reason = ""  # why the session ended by itself
        self.announce: Callable[[str], None] | None = None  # speaks a notice (run_live)
        self.extra_sinks = list(sinks)
        self.record = record
        self.states: LatestSlot[DisplayState] = LatestSlot()
        self.stop = threading.Event()
        self.paused = threading.Event()
        self.lock = threading.Lock()  # cue rules, fusion, display state: both workers
        self.error: str | None = None
        self.two = rear is not None
        self.channels = [Channel(view, source)]
        if rear is not None:
            self.channels.append(Channel("rear", rear, cfg.two_view.rear_max_fps,
                                         "pose_rear.npz"))
        self.clock = SharedClock()
        self.clock_known = clock_known
        if rear is not None and cfg.two_view.one_model_at_a_time:
            model_lock = threading.Lock()
            for ch in self.channels:
                if isinstance(ch.source, ModelPoses):
                    ch.source.model_lock = model_lock
        self.fuser = StepFuser(cfg.two_view, 0.0 if clock_known else None)
        self.offset: ClockOffset | None = None
        self._next_offset_t = 1.0
        self._fused_csv: StepsCsvSink | None = None
        self._rows: list[Step] = []  # the fused steps.csv rows
        self._preview: tuple[Step, ...] = ()  # steps still waiting for the other view
        self._history: deque[Step] = deque(maxlen=HISTORY_STEPS)
        self._last_cue: Cue | None = None
        self._knee = math.nan  # the newest trusted swing's knee drive
        self._t_start = 0.0
        self._opened = False
        self._prepared = False

    @property
    def source(self) -> PoseSource:
        return self.channels[0].source

    @property
    def session(self) -> Session | None:
        return self.channels[0].session

    @property
    def capture_to_display(self) -> Latency:
        return self.channels[0].capture_to_display

    def offset_of(self, view: str) -> float:
        """This view's clock minus the session's (the side's): 0 for the side."""
        return (self.fuser.offset_s or 0.0) if view == "rear" else 0.0

    # ---------------------------------------------------------------- worker threads

    def open(self) -> None:
        """Open the cameras or files first: a missing camera fails before any window
        opens.  A second camera that cannot open leaves a one-camera session (said)."""
        if self._opened:
            return
        self.channels[0].source.start()
        for ch in self.channels[1:]:
            try:
                ch.source.start()
            except (UserError, OSError) as exc:
                ch.error, ch.ended = f"could not open: {exc}", True
                print(f"realtime: the {ch.view} camera could not be opened ({exc}); going on "
                      "with the side camera alone", file=sys.stderr)
        self._opened = True

    def start(self) -> None:
        self.prepare()
        self.open()
        self.begin_record()
        phase_of = self.plan.name_at
        if self.two:
            self._fused_csv = StepsCsvSink(self.out_dir / "steps.csv", phase_of)
        for k, ch in enumerate(self.channels):
            if self.two:
                sinks: list[FeedbackSink] = [
                    StepsCsvSink(self.out_dir / f"steps_{ch.view}.csv", phase_of),
                    *(LockedSink(s, self.lock, poses=k == 0) for s in self.extra_sinks)]
                decider: CueDecider = ViewCues(self, ch.view)
                ch.body = BodyTraceRecorder(window_s=OFFSET_WINDOW_S)
            else:
                sinks = [StepsCsvSink(self.out_dir / "steps.csv", phase_of),
                         *([self.recorder] if self.recorder is not None else []),
                         *self.extra_sinks]
                decider = self.cues
            ch.session = Session(self.cfg, ch.view, ch.source.size, ch.source.fps, sinks=sinks,
                                 decide_cues=decider, record=self.record,
                                 spill_dir=self.out_dir, body=ch.body, clock=self.clock,
                                 pose_file=ch.pose_file, plan=self.plan)
            if ch.ended:  # never opened
                self.fuser.close(ch.view)
        settle_memory()
        self._t_start = time.monotonic()
        for ch in self.channels:
            if not ch.ended:
                ch.worker = threading.Thread(target=self._work, args=(ch,),
                                             name=f"worker-{ch.view}", daemon=True)
                ch.worker.start()
        if all(ch.ended for ch in self.channels):
            self.states.close()

    def prepare(self, force: bool = False) -> None:
        """The session folder, once: refused if it holds results (unless `force`) or an
        unfinished recording; created 0700.  Call it before opening sinks that write into
        the folder (cues.csv); `start` calls it otherwise."""
        if not self._prepared:
            prepare_out_dir(self.out_dir, force)
            self._prepared = True

    def begin_record(self) -> None:
        """The session's row in the store (once), and the recorder that adds its steps
        and cues as they happen."""
        if self.store is None or self.session_id is not None:
            return
        self.session_id, self.recorder = self.store.begin(
            "live", as_dict(self.cfg), [ch.view for ch in self.channels], self.out_dir,
            self.cfg.cues.session_index, self.plan.name_at)

    def _calibrated(self, cal: Calibration) -> None:
        """Worker thread: the drill's targets now come from the baseline."""
        self._thresholds_version += 1
        self._flash = (cal.short(), time.monotonic() + 10.0)
        if self.recorder is not None and self.session_id is not None:
            sid, store = self.session_id, self.recorder.store
            self.recorder.submit(lambda: store.set_calibration(sid, cal.as_dict()))
        print("calibration: " + ("; ".join(cal.lines()) or "no trusted baseline steps"),
              flush=True)

    def flash(self, text: str, seconds: float = 5.0) -> None:
        """A short notice on the display (any thread)."""
        self._flash = (text, time.monotonic() + seconds)

    def _work(self, ch: Channel) -> None:
        session = ch.session
        assert session is not None
        slot_start = 0.0
        try:
            while not self.stop.is_set():
                if self.paused.is_set():
                    time.sleep(0.02)
                    continue
                if ch.max_fps > 0:  # one frame per slot: the frames meanwhile are dropped
                    self.stop.wait(max(0.0, slot_start + 1.0 / ch.max_fps - time.monotonic()))
                    slot_start = time.monotonic()
                try:
                    item = ch.source.read(timeout=self.cfg.capture.read_timeout_s)
                except FrameTimeout as exc:
                    if getattr(ch.source, "can_reconnect", False):
                        # a camera judges its own faults by time and reopens itself;
                        # only a driver that stopped answering altogether ends it here
                        silent = time.monotonic() - (ch.t_last if ch.t_last == ch.t_last
                                                     else self._t_start)
                        cap = self.cfg.capture
                        if not ch.source.reconnecting and \
                                silent > cap.lost_after_s + 2 * cap.read_timeout_s + 1.0:
                            ch.error = f"{exc}: the camera's driver stopped answering"
                            break
                        with self.lock:  # lost, being reopened: say so once, keep waiting
                            if ch.source.reconnecting:
                                self._camera_lost(ch)
                            self._publish(ch)
                        continue
                    ch.error = f"{exc}: is the camera still connected?"
                    break
                if item is None:
                    break
                frame, sample = item
                live, steps, cues = session.process(sample)
                now = time.monotonic()
                with self.lock:
                    ch.t_first = now if ch.t_first != ch.t_first else ch.t_first
                    ch.t_last = now
                    ch.frame, ch.pose, ch.live = frame, sample, live
                    if ch.said_back < ch.said_lost:
                        self._camera_back(ch)
                    self._after_frame(ch, live, steps, cues)
                if ch is self.channels[0]:
                    reason = self._attendance(live)
                    if reason:  # the plan is over, or the runner has gone: end, saved
                        self.end_reason = reason
                        ch.stopped = True
                        self.stop.set()
                        break
                if self.seconds is not None and live.t_s - self.offset_of(ch.view) >= \
                        self.seconds:
                    ch.stopped = True
                    break
        except UserError as exc:
            ch.error = str(exc)
        except Exception as exc:  # keep what was recorded; report the bug
            ch.error = f"internal error in the {ch.view} worker: {exc!r}"
            import traceback

            traceback.print_exc()
        finally:
            with self.lock:
                ch.ended = True
                ch.stopped = ch.stopped or (self.stop.is_set() and not ch.error)
                self.fuser.close(ch.view)
                self._publish(ch)
                if all(c.ended for c in self.channels):
                    self.states.close()

    def _after_frame(self, ch: Channel, live: LiveState, steps: list[Step],
                     cues: list[Cue]) -> None:
        """Under the lock: history, fusion, the clock offset, then the display state."""
        if cues:
            self._last_cue = cues[-1]
        if ch.view == self.view:
            session = ch.session
            assert session is not None
            for sw in reversed(session.swings[-2:]):
                if sw.reliable:
                    self._knee = sw.knee_drive_deg
                    break
        if not self.two:
            self._history.extend(steps)
        else:
            self.fuser.add(ch.view, steps)
            self.fuser.advance(ch.view, live.t_s)
            if ch.view == "rear" and not self.clock_known and live.t_s >= self._next_offset_t:
                # every second until there is one, then every offset_every_s
                found = self._estimate_offset() is not None
                self._next_offset_t = live.t_s + (self.cfg.two_view.offset_every_s if found
                                                  else 1.0)
            rows = self.fuser.pop()
            self._write_rows(rows)
            if steps or rows:
                self._preview = tuple(self.fuser.preview())
        self._publish(ch)

    def _write_rows(self, rows: list[Step]) -> None:
        self._rows.extend(rows)
        self._history.extend(rows)
        if self._fused_csv is not None:
            for row in rows:
                self._fused_csv.on_step(row, ())
        if self.recorder is not None:
            for row in rows:
                self.recorder.on_step(row, ())

    def _estimate_offset(self, window: bool = True, apply: bool = True) -> ClockOffset | None:
        """The offset from both views' contacts and body motion (the last OFFSET_WINDOW_S
        of them with `window`; the body traces hold that much).  With `apply`, the fuser
        pairs steps with it from now on (recordings played live)."""
        side, rear = self.channels[0], self.channels[1]
        if side.session is None or rear.session is None or side.body is None or \
                rear.body is None:
            return None
        t_from = -math.inf
        if window and side.live is not None:
            t_from = side.live.t_s - OFFSET_WINDOW_S
        margin = self.cfg.two_view.max_clock_offset_s
        sev = [e for e in list(side.session.analyzer.events) if e.t_s >= t_from]
        rev = [e for e in list(rear.session.analyzer.events) if e.t_s >= t_from - margin]
        est = estimate_clock_offset(sev, rev, self.cfg.two_view, side.body.trace(),
                                    rear.body.trace())
        if est is not None and apply:
            self.offset = est
            self.fuser.set_offset(est.offset_s)
        return est

    def _publish(self, fresh: Channel) -> None:
        """Under the lock: the display state from the main camera (or the one left)."""
        main = self.channels[0]
        if main.ended and len(self.channels) > 1 and not self.channels[1].ended:
            main = self.channels[1]
        other = next((c for c in self.channels if c is not main), None)
        if main.live is None:
            return
        session = main.session
        assert session is not None
        dt = time.monotonic() - self._t_start
        notices = [n for n in (c.lost for c in self.channels) if n] if self.two else []
        if self.two and notices:
            gone = [c.view for c in self.channels if c.lost]
            notices.append(" and ".join(VIEW_NOUNS[v] for v in gone) + " unavailable")
        flash, until = self._flash
        if flash and time.monotonic() < until:
            notices.insert(0, flash)
        behind = self._behind(main, session.frames)
        if behind:
            notices.insert(0, behind)
        lost = [f"{getattr(c.source, 'status', '')}: reconnecting" for c in self.channels
                if getattr(c.source, "status", "")]
        if lost:
            notices[:0] = lost
        elif self.plan.paused:
            notices.insert(0, "waiting for the runner: the plan, the metrics and the cues "
                              "go on when you are back")
        second = None
        if other is not None and (other.frame is not None or other.pose is not None):
            status = ("camera lost" if other.error else "camera ended") if (
                other.ended and not other.stopped) else ""
            second = ViewImage(other.view, other.frame, other.pose,
                               bool(other.live and other.live.has_pose), status)
        t_s = main.live.t_s - self.offset_of(main.view)
        phase = self.plan.at(t_s)
        self.states.put(DisplayState(
            t_s=t_s, frame=main.frame, pose=main.pose, live=main.live,
            steps=(*self._history, *self._preview)[-HISTORY_STEPS:], cue=self._last_cue,
            phase=phase.text,
            fps=session.frames / dt if dt > 0 else 0.0, dropped=main.source.dropped,
            cadence_spm=session.analyzer.current_cadence_spm, knee_drive_deg=self._knee,
            second=second, notice="; ".join(notices), fresh_view=fresh.view,
            thresholds=self.cues.cues_cfg if self._thresholds_version else None,
            thresholds_version=self._thresholds_version,
            views=tuple(c.view for c in self.channels if not (c.ended and c.error)),
            phase_name=phase.name,
            placement=self._placement(main) if phase.name == "warm-up" else (),
        ))

    def _camera_lost(self, ch: Channel) -> None:
        """Under the lock: the first time a loss is seen, say "camera lost" (spoken once
        per loss, and one line on stderr for a headless or muted session's log) and mark
        the plan paused (nothing to measure)."""
        losses = getattr(ch.source, "gaps", [])
        if len(losses) > ch.said_lost:
            ch.said_lost = len(losses)
            name = f"{ch.view} camera" if self.two else "camera"
            if self.announce is not None:
                self.announce(f"{name} lost")
            print(f"realtime: {getattr(ch.source, 'status', '') or name + ' lost'}: "
                  f"reconnecting for up to {self.cfg.capture.reconnect_for_s:g} s",
                  file=sys.stderr, flush=True)
            if ch is self.channels[0] and ch.live is not None:
                self.plan.pause(ch.live.t_s)

    def _camera_back(self, ch: Channel) -> None:
        """Under the lock, on a frame: a camera announced lost delivers again."""
        if ch.said_back < ch.said_lost:
            ch.said_back = ch.said_lost
            lost, back = getattr(ch.source, "gaps", [(math.nan, math.nan)])[-1]
            name = f"{ch.view} camera" if self.two else "camera"
            text = f"{name} back after {back - lost:.1f} s: the session goes on"
            self.flash(text)
            print(f"realtime: {text}", file=sys.stderr, flush=True)

    def _attendance(self, live: LiveState) -> str:
        """Main worker, every frame: pause the plan while the runner is away (metrics and
        cues have nothing to act on then), resume when they are back; the reason to end
        the session by itself, or ''."""
        d = self.cfg.drill
        t = live.t_s
        if live.has_pose:
            self._last_seen = t
            if self.plan.paused:
                self.plan.resume(t)
        else:
            since = self._last_seen if self._last_seen == self._last_seen else \
                (self.plan.t0_s if self.plan.t0_s is not None else t)
            away = t - since
            if away >= d.pause_after_absent_s:
                self.plan.pause(t)
            if away >= 60.0 * d.end_after_absent_min:
                return f"the runner was away for {d.end_after_absent_min:g} min"
        if d.end_when_done and d.blocks > 0 and self.plan.at(t).name == "done":
            return "the drill plan is done"
        return ""

    def _behind(self, ch: Channel, frames: int) -> str:
        """Live: the share of camera frames dropped over the last ~2 s; above
        `capture.behind_share`, what to do about it (empty otherwise)."""
        if not self.live_timing:
            return ""
        now = time.monotonic()
        hist = self._drop_hist
        hist.append((now, frames, ch.source.dropped))
        while len(hist) > 2 and now - hist[1][0] >= 2.0:
            hist.popleft()
        t0, f0, d0 = hist[0]
        if now - t0 < 1.0:
            return ""
        got, lost = frames - f0, ch.source.dropped - d0
        share = lost / (got + lost) if got + lost else 0.0
        if share <= self.cfg.capture.behind_share:
            return ""
        return f"falling behind: {100 * share:.0f} % of camera frames dropped; " + (
            f"close other programs, or set capture.fps = {ACCURATE_FPS}"
            if ch.source.fps > ACCURATE_FPS + 0.5 else
            "close other programs, or lower capture.width")

    @staticmethod
    def _placement(ch: Channel) -> tuple:
        """Warm-up: is the camera placed well (realtime.feedback.placement)?"""
        luma = mean_luma(ch.frame.image) if ch.frame is not None else math.inf
        lm = ch.pose.landmarks if ch.pose is not None and ch.pose.has_pose else None
        return placement(lm, luma)

    @property
    def running(self) -> bool:
        return any(ch.worker is not None and ch.worker.is_alive() for ch in self.channels)

    # ---------------------------------------------------------------- main-thread loops

    def display_loop(self, display: Display, on_action: Callable[[object], None]) -> None:
        """Main thread: draw the newest state at the display rate until quit or the end."""
        period = 1.0 / 60.0
        idle_redraw_s = 0.1  # without new states: keys and the clock still answer
        last: DisplayState | None = None
        drawn_at = -1.0
        by_view = {ch.view: ch for ch in self.channels}
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
            if fresh and last is not None:  # drawn and flipped: the fresh camera's frame
                second = last.second
                shown = second.frame if (second is not None and
                                         last.fresh_view == second.view) else last.frame
                ch = by_view.get(last.fresh_view)
                if shown is not None and ch is not None:
                    ch.capture_to_display.add(now_ns() - shown.t_capture_ns)
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
        """Stop the workers, close everything, write pose files and summary.json.

        Order matters for "nothing recorded is lost": the sources are stopped first (that
        ends a read blocked on a camera), the workers are joined, then the poses are saved
        before anything that could fail, and summary.json is written whatever happened.
        """
        self.stop.set()
        for ch in self.channels:
            ch.source.stop()
        for ch in self.channels:
            if ch.worker is not None:
                ch.worker.join(timeout=10.0)
                if ch.worker.is_alive():  # stuck in a driver: leave its state untouched
                    self.error = (self.error or "") + f" (the {ch.view} worker did not " \
                        f"stop: run `realtime recover {self.out_dir}` for the poses)"
                    write_json(self.out_dir / "summary.json", {"error": self.error})
                    return {"error": self.error, "processing": {}}
        problems: list[str] = []
        for ch in self.channels:
            session = ch.session
            assert session is not None
            if session.recorder is not None and len(session.recorder):
                try:
                    session.recorder.save(self.out_dir / ch.pose_file)
                except OSError as exc:
                    problems.append(f"{ch.pose_file} not written ({exc}); the spill is kept")
        for ch in self.channels:
            session = ch.session
            assert session is not None
            try:
                steps = session.finish()
                if self.two:
                    self.fuser.add(ch.view, steps)
            except Exception as exc:
                problems.append(f"finishing the last {ch.view} step failed: {exc!r}")
        if self.two:
            if not self.clock_known:
                self._estimate_offset(window=False)
            self._write_rows(self.fuser.flush())
        for s in [*(sink for ch in self.channels for sink in ch.session.sinks  # type: ignore[union-attr]
                    if not isinstance(sink, LockedSink)),
                  *(self.extra_sinks if self.two else []),
                  *([self._fused_csv] if self._fused_csv is not None else [])]:
            try:
                s.close()
            except Exception as exc:
                problems.append(f"closing {type(s).__name__} failed: {exc!r}")
        if self.recorder is not None:  # after the cue log: every cue's row is queued
            self.recorder.drain()
            if self.recorder.error:
                problems.append(self.recorder.error)
        errors = [f"{ch.view}: {ch.error}" if self.two else ch.error
                  for ch in self.channels if ch.error]
        if problems or errors:
            self.error = "; ".join(filter(None, [self.error, *errors, *problems]))
        summary = self._summary()
        write_json(self.out_dir / "summary.json", summary)
        if self.store is not None and self.session_id is not None:
            try:
                if self.plan.t0_s is not None:
                    self.store.store.set_t0(self.session_id, self.plan.t0_s)
                self.store.store.end_session(self.session_id, summary,
                                             failed=bool(self.error))
            except Exception as exc:  # the folder has everything; say so, keep going
                print(f"realtime: the session store could not close session "
                      f"{self.session_id}: {exc}", file=sys.stderr)
        return summary

    def phased_steps(self) -> list[tuple[str, Step]]:
        """(phase, step) of every steps.csv row, for the end screen."""
        rows = self._rows if self.two else (self.channels[0].session.steps  # type: ignore[union-attr]
                                            if self.channels[0].session else [])
        return [(self.plan.name_at(s.t_contact_s), s) for s in rows]

    def _view_summary(self, ch: Channel, fps: float) -> dict:
        """One camera's summary.json part, with its live latency and dropped frames."""
        session = ch.session
        assert session is not None
        out = session.summary(fps_processing=fps, live_timing=self.live_timing)
        if self.live_timing:
            out["processing"]["latency"]["capture_to_display"] = ch.capture_to_display.summary()
        out["processing"]["dropped_frames"] = ch.source.dropped
        return out

    def _summary(self) -> dict:
        main = self.channels[0]
        session = main.session
        assert session is not None
        elapsed = time.monotonic() - self._t_start
        if not self.two:
            summary = self._view_summary(main, session.frames / elapsed if elapsed else 0.0)
        else:
            summary = self._two_view_summary()
        summary["cues"] = sum(len(ch.session.cues) for ch in self.channels)  # type: ignore[union-attr]
        summary["thresholds"] = as_dict(self.cues.cues_cfg)  # as they ended (hotkeys)
        summary["t0_s"] = self.plan.t0_s  # the plan's phases count from here
        if self.plan.pauses:
            summary["runner_away_s"] = [[round(a, 3), round(b, 3)] for a, b in
                                        self.plan.pauses]
        if self.end_reason:
            summary["ended"] = self.end_reason
        gaps = {ch.view: [[round(a - self._t_start, 3),
                           None if b != b else round(b - self._t_start, 3)]
                          for a, b in getattr(ch.source, "gaps", [])] for ch in self.channels}
        if any(gaps.values()):  # seconds since the session started: lost, back (None: not)
            summary["camera_gaps_s"] = gaps
        summary["plan"] = as_dict(self.cfg.drill)
        if self.cues.calibration is not None:
            summary["calibration"] = self.cues.calibration.as_dict()
        if self.session_id is not None:
            summary["session_id"] = self.session_id
        if self.error:
            summary["error"] = self.error
        return summary

    def _two_view_summary(self) -> dict:
        side = self.channels[0].session
        assert side is not None
        offset = ClockOffset(0.0, 0.0, 0, 0.0, source="shared clock") if self.clock_known \
            else self.offset
        out = two_view_summary(side, self._rows, self.fuser, offset,
                               self.cfg.two_view.offset_min_pairs)
        if self.clock_known:  # the gait's own estimate, as a check of the shared clock
            check = self._estimate_offset(window=False, apply=False)
            if check is not None:
                out["clock_offset_measured_s"] = round(check.offset_s, 4)
                out["clock_offset_measured_uncertainty_s"] = round(check.uncertainty_s, 4)
        out["views"] = {}
        for ch in self.channels:
            assert ch.session is not None
            span = ch.t_last - ch.t_first if ch.t_last == ch.t_last else 0.0
            v = self._view_summary(ch, (ch.session.frames - 1) / span if span > 0 else 0.0)
            if ch.lost:
                v["unavailable"] = ch.lost
            out["views"][ch.view] = v
        lost = [ch for ch in self.channels if ch.ended and ch.error]
        out["unavailable"] = [f"{m} ({ch.view} camera lost)" for ch in lost
                              for m in VIEW_METRICS[ch.view]]
        out["processing"] = {"fps": {ch.view: out["views"][ch.view]["processing"]["fps"]
                                     for ch in self.channels},
                             "dropped_frames": sum(ch.source.dropped for ch in self.channels)}
        out["frames"] = side.frames
        return out

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
        rear, _, _ = open_input(rear_video, cfg, "rear", realtime=realtime)
    elif rear_camera is not None:
        if rear_camera == (camera or cfg.capture.camera_index) and video is None:
            raise UserError(f"--rear-camera {rear_camera} is also the side camera")
        rear = ModelPoses(CameraSource(cfg.capture, index=rear_camera),
                          lambda: MediaPipePose(cfg.pose))
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
                end_screen(display, lines, store, run, cfg.display.summary_s, screenshot)
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
    _print_summary(summary, out_dir)
    if run.error:
        if run.two and run.channels[0].error is None:
            print(f"realtime: {run.error}; the side camera went on (recorded data kept in "
                  f"{out_dir})", file=sys.stderr)
        else:
            print(f"realtime: session ended early: {run.error} (recorded data kept in "
                  f"{out_dir})", file=sys.stderr)
        return 1
    return 0


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


def end_screen(display: Display, lines: list[tuple[str, str]], store: StoreTarget | None,
               run: LiveRun, seconds: float, screenshot: Path | None) -> None:
    """The end-of-session summary, until a key (S saves the targets) or `seconds`."""
    title = "Session summary" + (f" - {store.runner}" if store and store.runner else "")
    ref = f"realtime report {run.session_id}" if run.session_id is not None else \
        f"realtime report {run.out_dir}"
    hint = f"any key closes   s save targets to the profile   report: {ref} --out FILE.html"
    shown: list[tuple[str, str]] = list(lines)
    t_end = time.monotonic() + seconds
    saved_shot = False
    while time.monotonic() < t_end:
        actions = display.render_summary(title, shown, hint)
        if screenshot is not None and not saved_shot:
            display.screenshot(screenshot.with_name(f"{screenshot.stem}-summary"
                                                    f"{screenshot.suffix}"))
            saved_shot = True
        done = False
        for a in actions:
            if isinstance(a, SaveTargets):
                shown = [*lines, (save_profile_targets(store, run.cues.cues_cfg), "")]
                t_end = max(t_end, time.monotonic() + 3.0)
            elif isinstance(a, Quit | Pause | Mute | ThresholdChange):
                done = True
        if done:
            break
        time.sleep(1 / 30)


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
    views = summary.get("views")
    if views:
        for v, vs in views.items():
            pr = vs.get("processing", {})
            print(f"  {v} camera: {vs.get('frames', 0)} frames at {pr.get('fps', 0):.1f} fps, "
                  f"{pr.get('dropped_frames', 0)} dropped, {vs.get('steps', 0)} steps"
                  + (f"; {vs['unavailable']}" if vs.get("unavailable") else ""))
        fu = summary.get("fusion", {})
        off = summary.get("clock_offset_s")
        print(f"  steps.csv: {fu.get('rows', 0)} rows, {fu.get('both_views', 0)} seen by both "
              "cameras; clock offset " + ("unknown" if off is None else
                                          f"{off:+.3f} s ({summary['clock_offset_source']})"))
        for item in summary.get("unavailable", []):
            print(f"note: unavailable: {item}")
    from realtime.metrics import warnings

    for line in warnings(summary):
        print(f"note: {line}")
