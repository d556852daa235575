"""`steps.csv`: one row per step, appended as each step completes.

Written incrementally so that a session that crashes or is killed keeps every step it
already recorded.  Each row is written whole or not at all (`AppendFile`): a full disk
stops the file after its last whole row, with one line, and the session goes on.  NaN (a
metric the view cannot measure) is an empty cell.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from realtime.metrics.summary import step_row
from realtime.outdir import AppendFile, Unwritten, counted
from realtime.types import STEP_COLUMNS, Cue, LiveState, PoseSample, Step, Swing


def csv_line(row: Iterable[object]) -> bytes:
    """One CSV row as the bytes to append (UTF-8, "\\r\\n" as the csv module ends rows)."""
    buf = io.StringIO()
    csv.writer(buf).writerow(row)
    return buf.getvalue().encode("utf-8")


class StepsCsvSink:
    """FeedbackSink writing steps.csv; with `phase_of`, a last column `phase` holds the
    drill phase at each step's contact."""

    def __init__(self, path: str | Path, phase_of: Callable[[float], str] | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.phase_of = phase_of
        self._file = AppendFile(self.path)
        self._file.append(csv_line((*STEP_COLUMNS, "phase") if phase_of else STEP_COLUMNS))
        self.rows = 0  # whole rows written
        self.error: str | None = None
        self.unwritten: Unwritten | None = None  # what stopped, for the session's end

    def on_pose(self, sample: PoseSample, live: LiveState) -> None:
        pass

    def on_step(self, step: Step, cues: Sequence[Cue]) -> None:
        if self.error is not None:
            return
        row = step_row(step)
        if self.phase_of is not None:
            row = [*row, self.phase_of(step.t_contact_s)]
        try:
            self._file.append(csv_line(row))
            self.rows += 1
        except OSError as exc:  # disk full: stop writing, keep the session going
            self.error = (f"{self.path.name} stopped after {counted(self.rows, 'row')} "
                          f"({exc.strerror or exc}); feedback goes on")
            self.unwritten = Unwritten(f"{self.path.name} after {counted(self.rows, 'row')}",
                                       exc.strerror or str(exc))
            print(f"realtime: {self.error}", file=sys.stderr, flush=True)

    def on_swing(self, swing: Swing, cues: Sequence[Cue]) -> None:
        pass

    def close(self) -> None:
        self._file.close()
