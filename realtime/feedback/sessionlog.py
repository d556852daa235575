"""Session logs of the feedback stage: `cues.csv` and the sink that speaks and logs cues."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from realtime.feedback.speech import Speaker
from realtime.feedback.steps_csv import csv_line
from realtime.outdir import AppendFile, Unwritten, counted
from realtime.types import Cue, LiveState, PoseSample, Step, Swing

CUE_COLUMNS = ("t_s", "kind", "text", "priority", "spoken", "phase")
CueListener = Callable[[Cue, bool], None]


class CueLog:
    """`cues.csv`: one row per decided cue (t_s = stream time of the decision), with the
    drill phase it was decided in (`phase_of(t_s)`).

    Rows are written when the cue's fate is known (spoken or not), each whole and at once
    (`AppendFile`), so a crashed session keeps its log and a full disk stops it after its
    last whole row; safe to call from several threads.  Each `listener`
    (the session store) gets the same rows.
    """

    def __init__(self, path: str | os.PathLike[str],
                 phase_of: Callable[[float], str] | None = None,
                 listeners: Sequence[CueListener] = ()) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = AppendFile(self.path)
        self._file.append(csv_line(CUE_COLUMNS))
        self._lock = threading.Lock()
        self.phase_of = phase_of
        self.listeners = list(listeners)
        self.rows = 0
        self.error: str | None = None
        self.unwritten: Unwritten | None = None  # what stopped, for the session's end

    def write(self, cue: Cue, spoken: bool) -> None:
        with self._lock:
            if self._file.closed:
                return
            t_s = cue.t_ns * 1e-9
            phase = self.phase_of(t_s) if self.phase_of is not None else ""
            if self.error is None:
                try:  # a whole row or none (AppendFile)
                    self._file.append(csv_line((f"{t_s:.3f}", cue.kind, cue.text,
                                                cue.priority, int(spoken), phase)))
                    self.rows += 1
                except OSError as exc:  # disk full: the cues are still spoken
                    self.error = (f"cues.csv stopped after {counted(self.rows, 'row')} "
                                  f"({exc.strerror or exc}); cues go on")
                    self.unwritten = Unwritten(f"cues.csv after {counted(self.rows, 'row')}",
                                               exc.strerror or str(exc))
                    print(f"realtime: {self.error}", file=sys.stderr, flush=True)
            for listener in self.listeners:
                listener(cue, spoken)

    def close(self) -> None:
        with self._lock:
            self._file.close()


class CueLogSink:
    """FeedbackSink: hands the first cue of each step or swing to the speaker and logs
    every cue.

    `spoken` in the log is the cue's real fate, reported by the speech thread (0 when
    muted, replaced by a newer cue, stale, stopped, or with no audible output); without a
    speaker every cue is logged with spoken = 0.  `close()` stops the speaker first, so
    nothing is said after it and every cue has its row.
    """

    def __init__(self, path: str | os.PathLike[str], speaker: Speaker | None = None,
                 phase_of: Callable[[float], str] | None = None,
                 listeners: Sequence[CueListener] = ()) -> None:
        self.log = CueLog(path, phase_of, listeners)
        self.speaker = speaker
        if speaker is not None:
            prev = speaker.on_result

            def on_result(cue: Cue, spoken: bool, latency_ns: int | None) -> None:
                self.log.write(cue, spoken)
                if prev is not None:
                    prev(cue, spoken, latency_ns)

            speaker.on_result = on_result

    def on_pose(self, sample: PoseSample, live: LiveState) -> None:
        pass

    def on_step(self, step: Step, cues: Sequence[Cue]) -> None:
        self._say(cues)

    def on_swing(self, swing: Swing, cues: Sequence[Cue]) -> None:
        self._say(cues)

    def _say(self, cues: Sequence[Cue]) -> None:
        for i, cue in enumerate(cues):
            if i == 0 and self.speaker is not None:
                self.speaker.say(cue)
            else:
                self.log.write(cue, False)

    @property
    def unwritten(self) -> Unwritten | None:
        """What a full disk kept out of cues.csv (None: every row is there)."""
        return self.log.unwritten

    def close(self) -> None:
        if self.speaker is not None:
            self.speaker.stop()
        self.log.close()
