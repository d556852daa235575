"""`steps.csv`: one row per step, appended and flushed as each step completes.

Written incrementally so that a session that crashes or is killed keeps every step it
already recorded.  NaN (a metric the view cannot measure) is an empty cell.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from realtime.metrics.summary import step_row
from realtime.types import STEP_COLUMNS, Cue, LiveState, PoseSample, Step, Swing


class StepsCsvSink:
    """FeedbackSink writing steps.csv."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("w", newline="")
        self._w = csv.writer(self._fh)
        self._w.writerow(STEP_COLUMNS)
        self._fh.flush()

    def on_pose(self, sample: PoseSample, live: LiveState) -> None:
        pass

    def on_step(self, step: Step, cues: Sequence[Cue]) -> None:
        self._w.writerow(step_row(step))
        self._fh.flush()

    def on_swing(self, swing: Swing, cues: Sequence[Cue]) -> None:
        pass

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()
