"""Two views, one step: the side and rear cameras' steps fused into one steps.csv row per
step as they come, and the clock offset between recordings played live.

Cameras share the monotonic clock (offset 0).  Two recordings do not: their offset is
estimated from the gait (`realtime.metrics.twoview.estimate_clock_offset`) every second
until there is one, then every `two_view.offset_every_s`, from the last
`OFFSET_WINDOW_S` of both views' contacts and body motion.  Runs under the session's
lock (both workers call it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from realtime.config import TwoViewConfig
from realtime.feedback import FeedbackSink
from realtime.feedback.steps_csv import StepsCsvSink
from realtime.live.channel import Channel
from realtime.metrics.twoview import ClockOffset, StepFuser, estimate_clock_offset
from realtime.types import Step, View

OFFSET_WINDOW_S = 60.0  # recordings played live: the offset from the last minute


class TwoViewFusion:
    """Pairs the side's and the rear's steps (`StepFuser`) and writes the fused rows to
    steps.csv and the session store."""

    def __init__(self, cfg: TwoViewConfig, clock_known: bool, side: Channel,
                 rear: Channel) -> None:
        self.cfg, self.clock_known = cfg, clock_known
        self.side, self.rear = side, rear
        self.fuser = StepFuser(cfg, 0.0 if clock_known else None)
        self.offset: ClockOffset | None = None  # the newest estimate (recordings)
        self.rows: list[Step] = []  # the fused steps.csv rows
        self.preview: tuple[Step, ...] = ()  # steps still waiting for the other view
        self._next_offset_t = 1.0
        self._csv: StepsCsvSink | None = None
        self._store: FeedbackSink | None = None

    def open(self, path: Path, phase_of: Callable[[float], str],
             store: FeedbackSink | None) -> None:
        """The fused steps.csv, and the store's recorder the rows also go to."""
        self._csv = StepsCsvSink(path, phase_of)
        self._store = store

    @property
    def csv(self) -> StepsCsvSink | None:
        return self._csv

    def offset_of(self, view: str) -> float:
        """This view's clock minus the side's: 0 for the side."""
        return (self.fuser.offset_s or 0.0) if view == "rear" else 0.0

    def close(self, view: View) -> None:
        """A camera ended: its steps will not come, the other's are written alone."""
        self.fuser.close(view)

    def add(self, view: View, steps: list[Step], t_s: float) -> list[Step]:
        """One camera's new steps at its stream time `t_s`; the rows now complete,
        written."""
        self.fuser.add(view, steps)
        self.fuser.advance(view, t_s)
        if view == "rear" and not self.clock_known and t_s >= self._next_offset_t:
            # every second until there is one, then every offset_every_s
            found = self.estimate_offset() is not None
            self._next_offset_t = t_s + (self.cfg.offset_every_s if found else 1.0)
        rows = self.fuser.pop()
        self.write(rows)
        if steps or rows:
            self.preview = tuple(self.fuser.preview())
        return rows

    def add_final(self, view: View, steps: list[Step]) -> None:
        """The steps a camera's analyzer completes at the end of the session."""
        self.fuser.add(view, steps)

    def flush(self) -> list[Step]:
        """The end: every step still waiting is written (alone if unpaired)."""
        if not self.clock_known:
            self.estimate_offset(window=False)
        rows = self.fuser.flush()
        self.write(rows)
        return rows

    def write(self, rows: list[Step]) -> None:
        self.rows.extend(rows)
        if self._csv is not None:
            for row in rows:
                self._csv.on_step(row, ())
        if self._store is not None:
            for row in rows:
                self._store.on_step(row, ())

    def estimate_offset(self, window: bool = True, apply: bool = True) -> ClockOffset | None:
        """The offset from both views' contacts and body motion (the last OFFSET_WINDOW_S
        of them with `window`; the body traces hold that much).  With `apply`, the fuser
        pairs steps with it from now on (recordings played live)."""
        side, rear = self.side, self.rear
        if side.session is None or rear.session is None or side.body is None or \
                rear.body is None:
            return None
        t_from = -math.inf
        if window and side.live is not None:
            t_from = side.live.t_s - OFFSET_WINDOW_S
        margin = self.cfg.max_clock_offset_s
        sev = [e for e in list(side.session.analyzer.events) if e.t_s >= t_from]
        rev = [e for e in list(rear.session.analyzer.events) if e.t_s >= t_from - margin]
        est = estimate_clock_offset(sev, rev, self.cfg, side.body.trace(), rear.body.trace())
        if est is not None and apply:
            self.offset = est
            self.fuser.set_offset(est.offset_s)
        return est
