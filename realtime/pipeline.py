"""Wires capture -> pose -> metrics -> feedback, for both `analyze` and `run`.

One path serves both: a `PoseSource` yields (frame, pose) pairs — from a camera or video
through the model, or from a recorded pose stream — and `Session.process` turns each pair
into live metrics, completed steps and cues, which go to every sink.  `analyze` drives it
as fast as possible on one thread (decode runs ahead in its own thread); `run` drives it
on a worker thread while pygame owns the main thread (see `realtime.live`).
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import threading
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Self

import numpy as np

from realtime.capture import FrameSource
from realtime.clock import now_ns
from realtime.config import Config
from realtime.feedback import FeedbackSink
from realtime.feedback.cues import PlanClock
from realtime.metrics.twoview import BodyTraceRecorder, ClockOffset, StepFuser
from realtime.outdir import write_atomic
from realtime.pose import PoseEstimator
from realtime.pose.stream import PoseStream, PoseStreamRecorder
from realtime.types import Cue, Frame, LiveState, PoseSample, Step, Swing, View

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}


# --------------------------------------------------------------------------- sources


class PoseSource(Protocol):
    """Yields (frame or None, pose sample) pairs; None at the end of the stream."""

    fps: float
    size: tuple[int, int]

    def start(self) -> Self: ...
    def read(self, timeout: float | None = None) -> tuple[Frame | None, PoseSample] | None: ...
    def stop(self) -> None: ...

    @property
    def dropped(self) -> int: ...


class ModelPoses:
    """Frames from a FrameSource, poses from the model.

    `stop()` may be called from another thread while `read()` runs (a live session's
    shutdown): it stops the frames first, which ends a blocked read, and closes the model
    only once the estimate in progress has finished.
    """

    def __init__(self, frames: FrameSource, estimator_factory: Callable[[], PoseEstimator]):
        self.frames = frames
        self._factory = estimator_factory
        self._estimator: PoseEstimator | None = None
        self._busy = threading.Lock()
        self.fps = 0.0
        self.size = (0, 0)
        self.pose_ns = 0  # total time inside the model
        self.model = Latency("model")  # each frame's time inside the model
        # two cameras may make their models take turns (two_view.one_model_at_a_time)
        self.model_lock: threading.Lock | None = None

    @property
    def dropped(self) -> int:
        return self.frames.dropped

    def start(self) -> Self:
        self.frames.start()  # a missing camera or file fails before the model loads
        try:
            self._estimator = self._factory()  # loaded before the first frame is read
        except BaseException:
            self.frames.stop()
            raise
        self.fps, self.size = self.frames.fps, self.frames.size
        return self

    @property
    def status(self) -> str:
        """The camera's own status ("camera lost (...)" while it is reopened), else ''."""
        return str(getattr(self.frames, "status", ""))

    @property
    def reconnecting(self) -> bool:
        return bool(getattr(self.frames, "reconnecting", False))

    @property
    def can_reconnect(self) -> bool:
        """A camera reopens itself when lost; a file does not."""
        return hasattr(self.frames, "reconnecting")

    @property
    def gaps(self) -> list[tuple[float, float]]:
        return list(getattr(self.frames, "gaps", []))

    def read(self, timeout: float | None = None) -> tuple[Frame | None, PoseSample] | None:
        frame = self.frames.read(timeout)
        if frame is None:
            return None
        with self._busy:
            if self._estimator is None:  # stopped meanwhile
                return None
            with self.model_lock or contextlib.nullcontext():
                t0 = now_ns()
                sample = self._estimator.estimate(frame)
            dt = now_ns() - t0
            self.pose_ns += dt
            self.model.add(dt)
        return frame, sample

    def stop(self) -> None:
        self.frames.stop()
        if self._busy.acquire(timeout=5.0):  # never close the model under an estimate
            try:
                if self._estimator is not None:
                    self._estimator.close()
                    self._estimator = None
            finally:
                self._busy.release()


Renderer = Callable[[np.ndarray, float], np.ndarray]


class RecordedPoses:
    """Samples from a pose stream: no model (re-analysis, replay, the synthetic demo).

    With `realtime=True` samples are released at their recorded times, stamped on the
    monotonic clock, like a live camera; after a pause the clock is re-based instead of
    rushing through the backlog.  `render(landmarks, t_s)`, if given, draws a picture for
    each sample (the demo's synthetic camera).
    """

    MAX_LATE_S = 0.25

    def __init__(self, stream: PoseStream, realtime: bool = False,
                 render: Renderer | None = None) -> None:
        self.stream = stream
        self.realtime = realtime
        self.render = render
        self.fps = stream.fps
        self.size = stream.image_size
        self._i = 0
        self._t0_ns = 0

    dropped = 0

    def start(self) -> Self:
        self._i = 0
        self._t0_ns = now_ns()
        return self

    def read(self, timeout: float | None = None) -> tuple[Frame | None, PoseSample] | None:
        i = self._i
        if i >= len(self.stream):
            return None
        self._i += 1
        t_s = float(self.stream.t[i])
        t_ns = round(t_s * 1e9)
        if self.realtime:
            late = (now_ns() - (self._t0_ns + t_ns)) * 1e-9
            if late > self.MAX_LATE_S:
                self._t0_ns += round(late * 1e9)
            t_ns += self._t0_ns
            wait = (t_ns - now_ns()) * 1e-9
            if wait > 0:
                time.sleep(wait)
        lm = self.stream.landmarks[i]
        flow = None if self.stream.foot_flow is None else self.stream.foot_flow[i]
        frame = None if self.render is None else Frame(i, t_ns, self.render(lm, t_s))
        return frame, PoseSample(i, t_ns, t_ns, lm, None, self.size, t_source_s=t_s,
                                 foot_flow=flow)

    def stop(self) -> None:
        self._i = len(self.stream)


# --------------------------------------------------------------------------- latency


@dataclass
class Latency:
    """Collects durations (ns) of one pipeline hop and reports percentiles in ms."""

    name: str
    # 8 bytes a value (a list of ints takes ~36): an unattended hour is 108 000 frames
    values_ns: array[int] = field(default_factory=lambda: array("q"))

    def add(self, ns: int) -> None:
        self.values_ns.append(ns)

    def summary(self, start: int = 0, stop: int | None = None) -> dict[str, float | int]:
        """Percentiles of values[start:stop] (a window of a session: bench_soak_live.py)."""
        # a slice is a copy: another thread may append (resize) while this one reads
        window = self.values_ns[start:stop]
        if not window:
            return {"n": 0}
        a = np.frombuffer(window, np.int64).astype(np.float64) * 1e-6
        return {
            "n": int(a.size),
            "p50_ms": round(float(np.percentile(a, 50)), 3),
            "p95_ms": round(float(np.percentile(a, 95)), 3),
            "max_ms": round(float(a.max()), 3),
        }


# --------------------------------------------------------------------------- session


class SharedClock:
    """Seconds since the first frame, for the sessions that share it: the two cameras of
    one live session are stamped on one monotonic clock, so their times agree (offset 0).
    A recorded pose stream keeps its own clock instead (`PoseSample.t_source_s`)."""

    def __init__(self) -> None:
        self._t0_ns: int | None = None
        self._lock = threading.Lock()

    def seconds(self, t_ns: int) -> float:
        if self._t0_ns is None:
            with self._lock:
                if self._t0_ns is None:
                    self._t0_ns = t_ns
        return (t_ns - self._t0_ns) * 1e-9


class CueDecider(Protocol):
    """The cue rules as the session calls them (live.CueController)."""

    def step(self, step: Step, t_s: float, cadence_spm: float) -> Sequence[Cue]: ...
    def swing(self, swing: Swing, t_s: float) -> Sequence[Cue]: ...


class Session:
    """Pose samples in, live state + steps + cues out, to every sink.

    `t_s` is the input's own clock: a pose stream's `t` as recorded (so results line up
    with the instrument that made it), a video's or camera's seconds since its first
    frame.  The same float is recorded in the pose stream, so re-analysing the recorded
    file reproduces the steps exactly.
    """

    def __init__(
        self,
        cfg: Config,
        view: View,
        image_size: tuple[int, int],
        fps: float,
        sinks: Sequence[FeedbackSink] = (),
        decide_cues: CueDecider | None = None,
        record: bool = True,
        spill_dir: Path | None = None,
        body: BodyTraceRecorder | None = None,
        clock: SharedClock | None = None,
        pose_file: str = "pose.npz",
        plan: PlanClock | None = None,
    ) -> None:
        from realtime.metrics import GaitAnalyzer

        self.cfg = cfg
        self.view = view
        self.analyzer = GaitAnalyzer(cfg.metrics, view, image_size)
        self.image_size = image_size
        self.size_changes = 0  # frames whose size differed from the one measured on
        self.sinks = list(sinks)
        self.decide_cues = decide_cues
        self.recorder = PoseStreamRecorder(view, fps, spill_dir,
                                           Path(pose_file).stem) if record else None
        self.body = body  # the trunk's motion, for a two-camera session's clock offset
        self.clock = clock or SharedClock()
        self.plan = plan  # the drill plan's clock starts at the first frame
        self.steps: list[Step] = []
        self.swings: list[Swing] = []
        self.cues: list[Cue] = []
        self.frames = 0
        self.frames_with_pose = 0
        self.metrics_ns = 0
        self.capture_to_pose = Latency("capture->pose")
        self.step_to_cue = Latency("step->cue decision")

    def process(self, sample: PoseSample) -> tuple[LiveState, list[Step], list[Cue]]:
        t_s = sample.t_source_s
        if not math.isfinite(t_s):
            t_s = self.clock.seconds(sample.t_capture_ns)
        if self.plan is not None:
            self.plan.start(t_s)
        if sample.image_size != self.image_size and 0 not in sample.image_size:
            self._resize(sample.image_size)
        self.frames += 1
        if sample.has_pose:
            self.frames_with_pose += 1
        if self.recorder is not None:
            self.recorder.add(sample, t_s)
        if self.body is not None:
            self.body.add(t_s, sample.landmarks)
        self.capture_to_pose.add(sample.t_pose_ns - sample.t_capture_ns)
        t0 = now_ns()
        steps = self.analyzer.update(t_s, sample.landmarks, sample.foot_flow)
        swings = self.analyzer.pop_swings()
        self.metrics_ns += now_ns() - t0
        live = self.analyzer.live
        for sink in self.sinks:
            sink.on_pose(sample, live)
        cues: list[Cue] = []
        for swing in swings:
            self._emit_swing(swing, cues)
        for step in steps:
            self._emit(step, cues)
        return live, steps, cues

    def _resize(self, size: tuple[int, int]) -> None:
        """The frames are not the size the source announced (a camera driver that reports
        the requested size, a resolution switch): angles and lengths are measured in
        pixels, so the metrics restart on the real size (before the first frame nothing
        is lost; later, the step in progress)."""
        from realtime.metrics import GaitAnalyzer

        if self.frames:
            self.size_changes += 1
            for step in self.analyzer.finish():
                self._emit(step, [])
        self.analyzer = GaitAnalyzer(self.cfg.metrics, self.view, size)
        self.image_size = size

    def _emit_swing(self, swing: Swing, cues_out: list[Cue]) -> None:
        self.swings.append(swing)
        cues: Sequence[Cue] = ()
        if self.decide_cues is not None:
            t0 = now_ns()
            cues = self.decide_cues.swing(swing, swing.t_detected_s)
            self.step_to_cue.add(now_ns() - t0)
        self.cues.extend(cues)
        cues_out.extend(cues)
        for sink in self.sinks:
            sink.on_swing(swing, cues)

    def _emit(self, step: Step, cues_out: list[Cue]) -> None:
        if self.recorder is not None:
            self.recorder.sync()  # every completed step's poses are on disk
        self.steps.append(step)
        cues: Sequence[Cue] = ()
        if self.decide_cues is not None:
            t0 = now_ns()
            cues = self.decide_cues.step(step, step.t_detected_s,
                                         self.analyzer.current_cadence_spm)
            self.step_to_cue.add(now_ns() - t0)
        self.cues.extend(cues)
        cues_out.extend(cues)
        for sink in self.sinks:
            sink.on_step(step, cues)

    def finish(self) -> list[Step]:
        steps = self.analyzer.finish()
        tail: list[Cue] = []
        for step in steps:
            self._emit(step, tail)
        return steps

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()

    def summary(self, fps_processing: float, live_timing: bool = False,
                steps: Sequence[Step] | None = None) -> dict:
        """summary.json of this session's steps (or of `steps`: a two-camera session's
        fused rows, with this view's events for gait kind and hidden legs)."""
        from realtime.metrics import summarize

        ga = self.analyzer
        out = summarize(
            self.steps if steps is None else steps,
            frames=self.frames,
            frames_with_pose=self.frames_with_pose,
            view=self.view,
            event_delay_s=ga.event_delay_s,
            fps_processing=fps_processing,
            contacts=[(e.leg, e.t_s) for e in ga.events if e.kind == "IC"],
            toe_offs=[(e.leg, e.t_s) for e in ga.events if e.kind == "TO"],
            body_minima=ga.body_minima,
            hidden_legs=ga.hidden_legs,
        )
        out["swings"] = len(self.swings)
        # How fast, not what the gait was: kept apart so that re-analysing a recording
        # reproduces everything outside "processing" exactly.
        out.pop("fps_processing", None)
        latency = {"step_to_cue_decision": self.step_to_cue.summary()}
        if live_timing:  # file replay stamps frames with file time: no latency to report
            latency["capture_to_pose"] = self.capture_to_pose.summary()
        out["processing"] = {
            "fps": round(fps_processing, 2),
            "metrics_us_per_frame": round(self.metrics_ns / max(1, self.frames) * 1e-3, 2),
            "latency": latency,
        }
        return out


def two_view_summary(side: Session, rows: Sequence[Step], fuser: StepFuser,
                     offset: ClockOffset | None, min_pairs: int) -> dict:
    """summary.json of a two-camera session (analyze and run): the fused rows' medians on
    the side's events, the clock offset and how the rows were fused; the caller adds
    each view's own summary under "views"."""
    out = side.summary(fps_processing=0.0, steps=rows)
    out.pop("processing")
    out["view"] = "side+rear"
    if offset is not None:
        out.update(offset.as_dict())
    else:
        out["clock_offset_s"] = None
        out["clock_offset_note"] = (
            f"fewer than {min_pairs} contacts were seen in both views: the steps could not "
            "be paired, each view's steps are written alone")
    out["fusion"] = fuser.counts()
    return out


def settle_memory() -> None:
    """Before the first frame: collect, then freeze every object alive (the model, the
    compiled kernels, the window).  Python's full garbage collections otherwise scan all
    of them and pause the worker for 30-45 ms now and then (measured on the metrics
    stage alone: bench/bench_metrics.py); frozen, they are never scanned again."""
    gc.collect()
    gc.freeze()


def write_json(path: Path, data: dict) -> None:
    """JSON with NaN written as null (summary.json must be valid JSON for other tools)."""

    def clean(x: object) -> object:
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        if isinstance(x, np.generic):
            return clean(x.item())
        return x

    text = json.dumps(clean(data), indent=2) + "\n"
    write_atomic(path, lambda fh: fh.write(text))
