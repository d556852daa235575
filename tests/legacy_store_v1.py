"""A verbatim copy of main's realtime/store/db.py at schema version 1 (kept to build
old realtime.db files for the migration test; do not edit).

The session store: one SQLite file (`realtime.db` in the data directory).

Tables: `runners`; `sessions` (runner, profile snapshot, effective config, start/end,
source, views, software version, the session folder, calibration, summary); `steps`
(one row per step: every steps.csv column plus its phase); `cues` (one row per decided
cue with its phase and whether it was spoken).

Why SQLite in WAL mode with `synchronous=FULL`: a live session commits each step in its
own transaction as it happens, so a crash, a SIGKILL or a power cut loses at most the
step in progress, and a reader (`realtime sessions`, a report) can open the file while a
session writes.  The session folders (pose streams, CSVs) stay; the store points to them.

The schema version is `PRAGMA user_version`; a file from a newer program is refused with
one line instead of being misread.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from realtime.errors import UserError
from realtime.types import STEP_COLUMNS, STEP_METRICS, Cue, Step

SCHEMA_VERSION = 1
_REAL_COLUMNS = tuple(c for c in STEP_COLUMNS if c not in ("leg", "unreliable"))

_SCHEMA = f"""
CREATE TABLE runners (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
);
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    runner_id INTEGER REFERENCES runners(id),
    kind TEXT NOT NULL CHECK (kind IN ('live', 'analyze')),
    started TEXT NOT NULL,
    ended TEXT,
    status TEXT NOT NULL CHECK (status IN ('recording', 'done', 'failed')),
    source TEXT NOT NULL,
    views TEXT NOT NULL,
    folder TEXT,
    profile TEXT,
    config TEXT NOT NULL,
    version TEXT NOT NULL,
    session_index INTEGER NOT NULL DEFAULT 0,
    t0_s REAL,
    calibration TEXT,
    summary TEXT
);
CREATE TABLE steps (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    phase TEXT NOT NULL,
    leg TEXT NOT NULL CHECK (leg IN ('L', 'R')),
    {", ".join(f"{c} REAL" for c in _REAL_COLUMNS)},
    unreliable TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (session_id, seq)
);
CREATE TABLE cues (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    t_s REAL NOT NULL,
    phase TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    priority INTEGER NOT NULL,
    spoken INTEGER NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE INDEX sessions_runner ON sessions(runner_id, started);
"""


def utc_now() -> str:
    """A wall-clock label for people (start/end of a session); never used for timing."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _num(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One row of `sessions`, with its runner's name and step count."""

    id: int
    runner: str | None
    kind: str
    started: str
    ended: str | None
    status: str
    source: str
    views: tuple[str, ...]
    folder: str | None
    profile: str | None
    config: dict
    version: str
    session_index: int
    t0_s: float | None
    calibration: dict | None
    summary: dict | None
    steps: int


@dataclass(frozen=True, slots=True)
class CueRecord:
    """One decided cue as recorded (cues table or cues.csv)."""

    t_s: float
    phase: str
    kind: str
    text: str
    priority: int
    spoken: bool


class Store:
    """The session database.  Thread-safe: one connection guarded by a lock (a live
    session writes from its store thread while the main thread may read)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise UserError(f"no data folder {self.path.parent} for the session store")
        new = not self.path.exists()
        try:
            if new:  # 0600: gait data is health data
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=10.0,
                                       isolation_level=None)
            self._db.execute("PRAGMA foreign_keys = ON")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
        except (sqlite3.DatabaseError, OSError) as exc:
            raise UserError(f"session store {self.path} cannot be opened: {exc}") from None
        if version > SCHEMA_VERSION:
            self._db.close()
            raise UserError(f"session store {self.path} has schema version {version}, newer "
                            f"than this program's ({SCHEMA_VERSION}): upgrade realtime-runform")
        self._lock = threading.Lock()
        try:
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            if version == 0:
                with self._tx():
                    if self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                        raise UserError(f"{self.path} is an SQLite file but not a session "
                                        "store (it has tables and no schema version)")
                    for stmt in _SCHEMA.split(";"):
                        if stmt.strip():
                            self._db.execute(stmt)
                    self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.OperationalError as exc:
            raise UserError(f"session store {self.path} cannot be written: {exc}") from None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ runners

    def add_runner(self, name: str) -> int:
        with self._tx() as db:
            if db.execute("SELECT 1 FROM runners WHERE name = ?", (name,)).fetchone():
                raise UserError(f"runner {name!r} already exists")
            return int(db.execute("INSERT INTO runners (name, created) VALUES (?, ?)",
                                  (name, utc_now())).lastrowid)

    def runner_id(self, name: str) -> int:
        row = self._query("SELECT id FROM runners WHERE name = ?", (name,))
        if not row:
            known = [r[0] for r in self._query("SELECT name FROM runners ORDER BY name")]
            raise UserError(f"unknown runner {name!r} (known: {', '.join(known) or 'none'}); "
                            f"add one with `realtime runner add {name}`")
        return int(row[0][0])

    def runners(self) -> list[tuple[str, str, int]]:
        """(name, created, sessions) of every runner."""
        return [(r[0], r[1], int(r[2])) for r in self._query(
            "SELECT r.name, r.created, count(s.id) FROM runners r LEFT JOIN sessions s "
            "ON s.runner_id = r.id GROUP BY r.id ORDER BY r.name")]

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # ------------------------------------------------------------------ sessions

    def begin_session(self, *, runner: str | None, kind: str, source: str,
                      views: Sequence[str], folder: Path | None, profile: str | None,
                      config: dict, version: str, session_index: int) -> int:
        rid = self.runner_id(runner) if runner else None
        with self._tx() as db:
            return int(db.execute(
                "INSERT INTO sessions (runner_id, kind, started, status, source, views, "
                "folder, profile, config, version, session_index) "
                "VALUES (?, ?, ?, 'recording', ?, ?, ?, ?, ?, ?, ?)",
                (rid, kind, utc_now(), source, ",".join(views),
                 str(folder.resolve()) if folder else None, profile,
                 json.dumps(config, allow_nan=False), version, session_index)).lastrowid)

    def set_t0(self, session_id: int, t0_s: float) -> None:
        with self._tx() as db:
            db.execute("UPDATE sessions SET t0_s = ? WHERE id = ?", (t0_s, session_id))

    def set_calibration(self, session_id: int, calibration: dict) -> None:
        with self._tx() as db:
            db.execute("UPDATE sessions SET calibration = ? WHERE id = ?",
                       (json.dumps(calibration), session_id))

    def end_session(self, session_id: int, summary: dict, failed: bool = False) -> None:
        with self._tx() as db:
            db.execute("UPDATE sessions SET ended = ?, status = ?, summary = ? WHERE id = ?",
                       (utc_now(), "failed" if failed else "done",
                        json.dumps(summary, default=str), session_id))

    def add_step(self, session_id: int, seq: int, phase: str, step: Step) -> None:
        """One step in its own transaction (committed, fsynced) as it happens."""
        cols = ("session_id", "seq", "phase", "leg", *_REAL_COLUMNS, "unreliable")
        vals = (session_id, seq, phase, step.leg,
                *(_num(getattr(step, c)) for c in _REAL_COLUMNS),
                ",".join(sorted(step.unreliable)))
        with self._tx() as db:
            db.execute(f"INSERT INTO steps ({', '.join(cols)}) VALUES "
                       f"({', '.join('?' * len(cols))})", vals)

    def add_cue(self, session_id: int, seq: int, phase: str, cue: Cue, spoken: bool) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO cues VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (session_id, seq, cue.t_ns / 1e9, phase, cue.kind, cue.text,
                        cue.priority, int(spoken)))

    _SESSION_SQL = (
        "SELECT s.id, r.name, s.kind, s.started, s.ended, s.status, s.source, s.views, "
        "s.folder, s.profile, s.config, s.version, s.session_index, s.t0_s, s.calibration, "
        "s.summary, (SELECT count(*) FROM steps WHERE session_id = s.id) "
        "FROM sessions s LEFT JOIN runners r ON r.id = s.runner_id")

    @staticmethod
    def _row(r: tuple) -> SessionRow:
        return SessionRow(
            id=r[0], runner=r[1], kind=r[2], started=r[3], ended=r[4], status=r[5],
            source=r[6], views=tuple(v for v in r[7].split(",") if v), folder=r[8],
            profile=r[9], config=json.loads(r[10]), version=r[11], session_index=r[12],
            t0_s=r[13], calibration=json.loads(r[14]) if r[14] else None,
            summary=json.loads(r[15]) if r[15] else None, steps=r[16])

    def sessions(self, runner: str | None = None) -> list[SessionRow]:
        """Every session (of one runner), oldest first."""
        if runner is None:
            rows = self._query(self._SESSION_SQL + " ORDER BY s.id")
        else:
            rid = self.runner_id(runner)
            rows = self._query(self._SESSION_SQL + " WHERE s.runner_id = ? ORDER BY s.id",
                               (rid,))
        return [self._row(r) for r in rows]

    def session(self, session_id: int) -> SessionRow:
        rows = self._query(self._SESSION_SQL + " WHERE s.id = ?", (session_id,))
        if not rows:
            last = self._query("SELECT max(id) FROM sessions")[0][0]
            raise UserError(f"unknown session id {session_id} (ids go up to {last or 0}; "
                            "see `realtime sessions`)")
        return self._row(rows[0])

    def steps(self, session_id: int) -> list[tuple[str, Step]]:
        """(phase, step) in order."""
        rows = self._query(f"SELECT phase, leg, {', '.join(_REAL_COLUMNS)}, unreliable "
                           "FROM steps WHERE session_id = ? ORDER BY seq", (session_id,))
        out = []
        for r in rows:
            vals = {c: (math.nan if v is None else float(v))
                    for c, v in zip(_REAL_COLUMNS, r[2:-1], strict=True)}
            unrel = frozenset(x for x in r[-1].split(",") if x in STEP_METRICS)
            out.append((r[0], Step(leg=r[1], unreliable=unrel, **vals)))
        return out

    def cues(self, session_id: int) -> list[CueRecord]:
        rows = self._query("SELECT t_s, phase, kind, text, priority, spoken FROM cues "
                           "WHERE session_id = ? ORDER BY seq", (session_id,))
        return [CueRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]

    def earlier_sessions(self, runner: str, schedule: str | None = None) -> int:
        """How many sessions of `runner` reached a drill (with `schedule`, only those
        whose cue schedule it was): the faded schedule's session number."""
        rid = self.runner_id(runner)
        n = 0
        for (cfg,) in self._query(
                "SELECT s.config FROM sessions s WHERE s.runner_id = ? AND EXISTS "
                "(SELECT 1 FROM steps WHERE session_id = s.id AND phase = 'drill')", (rid,)):
            if schedule is None or json.loads(cfg).get("cues", {}).get("schedule") == schedule:
                n += 1
        return n
