"""A live session's rows into the store, each in its own transaction, off the hot path.

The worker thread only puts a row on a queue; this recorder's thread commits it (WAL,
fsync) at once.  A crash loses at most the row being committed; the worker never waits
for the disk.  If the store fails (disk full, file removed), recording to it stops with
one line and the session goes on (steps.csv and the pose stream keep everything).
"""

from __future__ import annotations

import queue
import sqlite3
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from realtime.errors import UserError
from realtime.outdir import Unwritten, counted
from realtime.store.db import Store
from realtime.types import Cue, LiveState, PoseSample, Step, Swing

_STOP = object()


@dataclass(frozen=True, slots=True)
class StoreTarget:
    """Where a session is recorded in the session store, and for whom."""

    store: Store
    runner: str | None
    profile: Path | None  # the runner's profile: confirmed targets are saved there
    source: str = ""  # what was recorded: "camera 0", a file

    def begin(self, kind: str, config: dict, views: Sequence[str], folder: Path,
              session_index: int, phase_of: Callable[[float], str]
              ) -> tuple[int, StoreRecorder]:
        """The session's row (with a snapshot of the profile as it is now) and the
        recorder that adds its rows as they happen."""
        from realtime import __version__

        profile = None
        if self.profile is not None and self.profile.is_file():
            profile = self.profile.read_text(encoding="utf-8", errors="replace")
        sid = self.store.begin_session(runner=self.runner, kind=kind, source=self.source,
                                       views=views, folder=folder, profile=profile,
                                       config=config, version=__version__,
                                       session_index=session_index)
        return sid, StoreRecorder(self.store, sid, phase_of)


class StoreRecorder:
    """FeedbackSink for steps, plus `cue(cue, spoken)` for the cue log's rows."""

    def __init__(self, store: Store, session_id: int, phase_of: Callable[[float], str]) -> None:
        self.store, self.session_id, self.phase_of = store, session_id, phase_of
        self._q: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._seq_lock = threading.Lock()
        self._steps = 0
        self._cues = 0
        self.written = 0
        self.steps_written = 0
        self.error: str | None = None
        self.unwritten: Unwritten | None = None  # what stopped, for the session's end
        self._thread = threading.Thread(target=self._run, name="store", daemon=True)
        self._thread.start()

    # FeedbackSink
    def on_pose(self, sample: PoseSample, live: LiveState) -> None:
        pass

    def on_step(self, step: Step, cues: Sequence[Cue]) -> None:
        with self._seq_lock:
            seq, self._steps = self._steps, self._steps + 1
        phase = self.phase_of(step.t_contact_s)
        self._q.put(("step", lambda: self.store.add_step(self.session_id, seq, phase, step)))

    def on_swing(self, swing: Swing, cues: Sequence[Cue]) -> None:
        pass

    def cue(self, cue: Cue, spoken: bool) -> None:
        """A cue whose fate is known (called by the cue log, from any thread)."""
        with self._seq_lock:
            seq, self._cues = self._cues, self._cues + 1
        phase = self.phase_of(cue.t_ns * 1e-9)
        self._q.put(("cue", lambda: self.store.add_cue(self.session_id, seq, phase, cue,
                                                        spoken)))

    def submit(self, job: Callable[[], None]) -> None:
        """Any other write (the calibration), in order with the rows."""
        self._q.put(("other", job))

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is _STOP:
                return
            if self.error is not None:
                continue
            kind, job = item  # type: ignore[misc]
            try:
                job()
                self.written += 1
                self.steps_written += kind == "step"
            except (sqlite3.Error, sa.exc.SQLAlchemyError, UserError, OSError) as exc:
                self.error = f"the session store stopped recording: {exc}"
                self.unwritten = Unwritten(
                    f"the session store after {counted(self.steps_written, 'step')}", str(exc))
                print(f"realtime: {self.error} (steps.csv goes on)", file=sys.stderr,
                      flush=True)

    def close(self) -> None:
        """As a sink: nothing (cue rows may still come while the other sinks close);
        the session calls `drain` last."""

    def drain(self) -> None:
        """Commit what is queued, then stop the thread."""
        if self._thread.is_alive():
            self._q.put(_STOP)
            self._thread.join(timeout=30.0)
