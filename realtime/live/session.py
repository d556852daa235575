"""`LiveRun`: one live session, wired from its rooms.

It owns the shared state (the stop and pause events, the lock both workers take, the cue
rules, the plan) and connects: each camera's `Channel` and worker (channel.py), the
watchdogs (watchdogs.py), cue routing across views (cue_routing.py), two-view fusion
(fusion.py), what the screen shows (screen.py) and the summary (summary.py).  Nothing
here measures, decides or draws.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from realtime.capture import LatestSlot
from realtime.config import Config, as_dict
from realtime.errors import UserError
from realtime.feedback import FeedbackSink
from realtime.feedback.calibration import Calibration
from realtime.feedback.cues import PlanClock
from realtime.feedback.display import Display, Pause, Quit, ThresholdChange
from realtime.feedback.steps_csv import StepsCsvSink
from realtime.live.channel import Channel, run_worker
from realtime.live.cue_routing import CueController, LockedSink, ViewCues
from realtime.live.fusion import OFFSET_WINDOW_S, TwoViewFusion
from realtime.live.recording import pose_file_unwritten
from realtime.live.screen import StatePublisher, display_loop
from realtime.live.summary import phased_steps, session_summary
from realtime.live.watchdogs import CameraWatch, FallingBehind, RunnerWatch
from realtime.metrics.twoview import BodyTraceRecorder, StepFuser
from realtime.outdir import Unwritten, prepare_out_dir
from realtime.pipeline import (
    CueDecider,
    Latency,
    ModelPoses,
    PoseSource,
    Session,
    SharedClock,
    settle_memory,
    write_json,
)
from realtime.store.recorder import StoreRecorder, StoreTarget
from realtime.types import Cue, DisplayState, Frame, LiveState, PoseSample, Step, View


class LiveRun:
    """Runs one live session over one PoseSource, or two (side and `rear`).

    With two, each camera has its own worker thread (capture -> pose -> metrics; the rear
    at most `two_view.rear_max_fps`), both feed one cue controller, and their steps are
    fused into one steps.csv row per step (`TwoViewFusion`) as they come.  Cameras share
    the monotonic clock (`clock_known`: offset 0); recordings played live have their
    offset estimated from the gait.  If a camera fails or ends, the other goes on, and
    the display and summary say which metrics are unavailable.
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
        self.end_reason = ""  # why the session ended by itself
        self.extra_sinks = list(sinks)
        self.record = record
        self.stop = threading.Event()
        self.paused = threading.Event()
        self.lock = threading.Lock()  # cue rules, fusion, display state: both workers
        self.error: str | None = None
        self.unwritten: list[Unwritten] = []  # what a full disk or store kept out
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
        self.fusion = TwoViewFusion(cfg.two_view, clock_known, *self.channels) \
            if self.two else None
        self.behind = FallingBehind(cfg.capture, live_timing)
        self.screen = StatePublisher(self.channels, self.plan, self.cues, self.behind,
                                     self.offset_of)
        self.cameras = CameraWatch(cfg.capture, self.plan, self.two, self.screen.flash)
        self.runner = RunnerWatch(cfg.drill, self.plan)
        self._t_start = 0.0
        self._opened = False
        self._prepared = False

    # ---------------------------------------------------------------- what others read

    @property
    def states(self) -> LatestSlot[DisplayState]:
        return self.screen.states

    @property
    def source(self) -> PoseSource:
        return self.channels[0].source

    @property
    def session(self) -> Session | None:
        return self.channels[0].session

    @property
    def capture_to_display(self) -> Latency:
        return self.channels[0].capture_to_display

    @property
    def fuser(self) -> StepFuser:
        """The two-camera session's step fuser (tests set its offset)."""
        assert self.fusion is not None, "a one-camera session fuses nothing"
        return self.fusion.fuser

    @property
    def announce(self) -> Callable[[str], None] | None:
        """Speaks a notice ("camera lost"); set by run_live."""
        return self.cameras.announce

    @announce.setter
    def announce(self, say: Callable[[str], None] | None) -> None:
        self.cameras.announce = say

    @property
    def running(self) -> bool:
        return any(ch.worker is not None and ch.worker.is_alive() for ch in self.channels)

    def offset_of(self, view: str) -> float:
        """This view's clock minus the session's (the side's): 0 for the side."""
        return self.fusion.offset_of(view) if self.fusion is not None else 0.0

    def flash(self, text: str, seconds: float = 5.0) -> None:
        """A short notice on the display (any thread)."""
        self.screen.flash(text, seconds)

    # ---------------------------------------------------------------- start

    def prepare(self, force: bool = False) -> None:
        """The session folder, once: refused if it holds results (unless `force`) or an
        unfinished recording; created 0700.  Call it before opening sinks that write into
        the folder (cues.csv); `start` calls it otherwise."""
        if not self._prepared:
            prepare_out_dir(self.out_dir, force)
            self._prepared = True

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

    def begin_record(self) -> None:
        """The session's row in the store (once), and the recorder that adds its steps
        and cues as they happen."""
        if self.store is None or self.session_id is not None:
            return
        self.session_id, self.recorder = self.store.begin(
            "live", as_dict(self.cfg), [ch.view for ch in self.channels], self.out_dir,
            self.cfg.cues.session_index, self.plan.name_at)

    def start(self) -> None:
        self.prepare()
        self.open()
        self.begin_record()
        phase_of = self.plan.name_at
        if self.fusion is not None:
            self.fusion.open(self.out_dir / "steps.csv", phase_of, self.recorder)
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
            if ch.ended and self.fusion is not None:  # never opened
                self.fusion.close(ch.view)
        settle_memory()
        self._t_start = self.screen.t_start = time.monotonic()
        for ch in self.channels:
            if not ch.ended:
                ch.worker = threading.Thread(
                    target=run_worker, args=(ch, self, self.cfg.capture, self._t_start),
                    name=f"worker-{ch.view}", daemon=True)
                ch.worker.start()
        if all(ch.ended for ch in self.channels):
            self.states.close()

    def _calibrated(self, cal: Calibration) -> None:
        """Worker thread: the drill's targets now come from the baseline."""
        self.screen.thresholds_version += 1
        self.screen.flash(cal.short(), 10.0)
        if self.recorder is not None and self.session_id is not None:
            sid, store = self.session_id, self.recorder.store
            self.recorder.submit(lambda: store.set_calibration(sid, cal.as_dict()))
        print("calibration: " + ("; ".join(cal.lines()) or "no trusted baseline steps"),
              flush=True)

    # ---------------------------------------------------------------- the workers report

    def on_frame(self, ch: Channel, frame: Frame | None, sample: PoseSample, live: LiveState,
                 steps: list[Step], cues: list[Cue]) -> bool:
        """A worker processed a frame: history or fusion, watchdogs, the display state;
        True when this channel should end (the plan is done, the runner gone, --seconds)."""
        now = time.monotonic()
        with self.lock:
            if ch.t_first != ch.t_first:  # the first frame: what was dropped until now
                ch.t_first = now  # was dropped while the pose model started
                ch.dropped_at_start = ch.source.dropped
            ch.t_last = now
            ch.frame, ch.pose, ch.live = frame, sample, live
            if ch.said_back < ch.said_lost:
                self.cameras.back(ch)
            self.screen.note(ch, cues)
            if self.fusion is None:
                self.screen.history.extend(steps)
            else:
                rows = self.fusion.add(ch.view, steps, live.t_s)
                self.screen.history.extend(rows)
                if steps or rows:
                    self.screen.preview = self.fusion.preview
            self.screen.publish(ch)
        if ch is self.channels[0]:
            reason = self.runner.check(live)
            if reason:  # the plan is over, or the runner has gone: end, saved
                self.end_reason = reason
                self.stop.set()
                return True
        return self.seconds is not None and live.t_s - self.offset_of(ch.view) >= self.seconds

    def on_waiting(self, ch: Channel) -> None:
        """A camera gave no frame in time and is being reopened: said once."""
        with self.lock:
            if getattr(ch.source, "reconnecting", False):
                self.cameras.lost(ch, main=ch is self.channels[0])
            self.screen.publish(ch)

    def on_ended(self, ch: Channel) -> None:
        with self.lock:
            ch.ended = True
            ch.stopped = ch.stopped or (self.stop.is_set() and not ch.error)
            if self.fusion is not None:
                self.fusion.close(ch.view)
            self.screen.publish(ch)
            if all(c.ended for c in self.channels):
                self.states.close()

    # ---------------------------------------------------------------- main-thread loops

    def display_loop(self, display: Display, on_action: Callable[[object], None]) -> None:
        """Main thread: draw the newest state at the display rate until quit or the end."""

        def act(action: object) -> None:
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

        display_loop(display, self.states, self.stop, self.channels, act)

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
        Nothing here raises for a full disk or store: what could not be written is listed
        in `unwritten` (the caller says it in one line and names `realtime recover`).
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
                    self._write_summary({"error": self.error})
                    return {"error": self.error, "processing": {}}
        problems = self._save_poses()
        for ch in self.channels:
            session = ch.session
            assert session is not None
            try:
                steps = session.finish()
                if self.fusion is not None:
                    self.fusion.add_final(ch.view, steps)
            except Exception as exc:
                problems.append(f"finishing the last {ch.view} step failed: {exc!r}")
        if self.fusion is not None:
            self.fusion.flush()
        problems += self._close_writers()
        errors = [f"{ch.view}: {ch.error}" if self.two else ch.error
                  for ch in self.channels if ch.error]
        if problems or errors:
            self.error = "; ".join(filter(None, [self.error, *errors, *problems]))
        summary = self.summary()
        if self.unwritten:
            summary["not_written"] = [u.what for u in self.unwritten]
        self._write_summary(summary)
        if self.store is not None and self.session_id is not None:
            try:
                if self.plan.t0_s is not None:
                    self.store.store.set_t0(self.session_id, self.plan.t0_s)
                self.store.store.end_session(self.session_id, summary,
                                             failed=bool(self.error))
            except Exception as exc:  # the folder has everything; recover adds it later
                self.unwritten.append(Unwritten(
                    f"the end of session {self.session_id} in the session store", str(exc)))
        return summary

    def _save_poses(self) -> list[str]:
        """Each camera's pose file from its spill (and the poses it could not spill)."""
        problems: list[str] = []
        for ch in self.channels:
            rec = ch.session.recorder if ch.session is not None else None
            if rec is None or not len(rec):
                continue
            try:
                rec.save(self.out_dir / ch.pose_file)
            except OSError as exc:  # a full disk: the spill stays for `recover`
                self.unwritten.append(pose_file_unwritten(
                    ch.pose_file, rec.spilled_until_s, exc.strerror or str(exc)))
            except Exception as exc:  # a spill that cannot be read back: a bug, said
                problems.append(f"{ch.pose_file} not written ({exc!r}); the spill is kept")
        return problems

    def _close_writers(self) -> list[str]:
        """Close every sink (the speaker stops first: nothing is said after it), drain
        the store's queue, and note each writer a full disk stopped."""
        problems: list[str] = []
        sinks = [*(sink for ch in self.channels for sink in ch.session.sinks  # type: ignore[union-attr]
                   if not isinstance(sink, LockedSink)),
                 *(self.extra_sinks if self.two else []),
                 *([self.fusion.csv] if self.fusion is not None and self.fusion.csv else [])]
        for s in sinks:
            try:
                s.close()
            except Exception as exc:
                problems.append(f"closing {type(s).__name__} failed: {exc!r}")
        if self.recorder is not None:  # after the cue log: every cue's row is queued
            self.recorder.drain()
        writers = {id(w): w for w in [*sinks, *([self.recorder] if self.recorder else [])]}
        self.unwritten += [u for w in writers.values()
                           if (u := getattr(w, "unwritten", None)) is not None]
        return problems

    def _write_summary(self, summary: dict) -> None:
        try:
            write_json(self.out_dir / "summary.json", summary)
        except OSError as exc:  # a full disk: `recover` rebuilds it from the poses
            self.unwritten.append(Unwritten("summary.json", exc.strerror or str(exc)))

    def summary(self) -> dict:
        """summary.json as it stands now."""
        return session_summary(
            self.channels, self.fusion, cfg=self.cfg, cues=self.cues, plan=self.plan,
            live_timing=self.live_timing, elapsed_s=time.monotonic() - self._t_start,
            t_start=self._t_start, end_reason=self.end_reason, session_id=self.session_id,
            error=self.error)

    def phased_steps(self) -> list[tuple[str, Step]]:
        """(phase, step) of every steps.csv row, for the end screen."""
        if self.fusion is not None:
            rows = self.fusion.rows
        else:
            session = self.channels[0].session
            rows = session.steps if session is not None else []
        return phased_steps(rows, self.plan)
