"""`steps.csv`: one row per step, appended and flushed as each step completes.

Written incrementally so that a session that crashes or is killed keeps every step it
already recorded.  NaN (a metric the view cannot measure) is an empty cell.
"""

from __future__ import annotations

import contextlib
import csv
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from realtime.metrics.summary import step_row
from realtime.types import STEP_COLUMNS, Cue, LiveState, PoseSample, Step, Swing


class StepsCsvSink:
    """FeedbackSink writing steps.csv; with `phase_of`, a last column `phase` holds the
    drill phase at each step's contact."""

    def __init__(self, path: str | Path, phase_of: Callable[[float], str] | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.phase_of = phase_of
        self._fh = self.path.open("w", newline="")
        self._w = csv.writer(self._fh)
        self._w.writerow((*STEP_COLUMNS, "phase") if phase_of else STEP_COLUMNS)
        self._fh.flush()
        self.error: str | None = None

    def on_pose(self, sample: PoseSample, live: LiveState) -> None:
        pass

    def on_step(self, step: Step, cues: Sequence[Cue]) -> None:
        if self.error is not None:
            return
        row = step_row(step)
        if self.phase_of is not None:
            row = [*row, self.phase_of(step.t_contact_s)]
        try:
            self._w.writerow(row)
            self._fh.flush()
        except OSError as exc:  # disk full: stop writing, keep the session going
            self.error = f"{self.path.name} stopped ({exc.strerror or exc}); feedback goes on"
            print(f"realtime: {self.error}", file=sys.stderr, flush=True)

    def on_swing(self, swing: Swing, cues: Sequence[Cue]) -> None:
        pass

    def close(self) -> None:
        if not self._fh.closed:
            with contextlib.suppress(OSError):  # disk full: what was flushed stays
                self._fh.close()
