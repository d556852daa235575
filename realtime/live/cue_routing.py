"""Cue routing: one set of cue rules heard by every camera of a session, and the sinks the
cues go to.

The rules themselves are pure (`realtime.feedback.cues.decide`); `CueController` keeps
their state between steps, `ViewCues` is how one camera of two calls them (each only
with what it measures, on the side camera's clock), `LockedSink` lets both cameras'
workers share one sink, and `PrintCues` shows cues on stdout when there is no window.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from realtime.config import Config, CuesConfig
from realtime.feedback import FeedbackSink
from realtime.feedback.calibration import Calibration, propose
from realtime.feedback.cues import CueState, Phase, PlanClock, decide, decide_swing
from realtime.live.channel import Channel
from realtime.types import REAR_METRICS, SIDE_METRICS, Cue, LiveState, PoseSample, Step, Swing, View


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


class SharedCues(Protocol):
    """What `ViewCues` needs of the session: its cameras, lock, rules and clock offset."""

    channels: list[Channel]
    lock: threading.Lock
    cues: CueController

    def offset_of(self, view: str) -> float: ...


class ViewCues:
    """The cue rules as one camera of a two-camera session calls them.

    Both cameras feed the same `CueController` (one hysteresis, one rate limit, one
    priority order across "drive the knee" and "level hips"), each only with what it
    measures: the side its steps, swings and cadence, the rear hip sway and pelvic drop.
    If the other camera is lost, this one gives everything it measures.  Times go onto
    the side's clock (the rear's minus the clock offset).
    """

    def __init__(self, run: SharedCues, view: View) -> None:
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
