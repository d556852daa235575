"""The session store: SQLite (one file, `realtime.db` in the data folder, the default) or
a clinic's PostgreSQL server, through SQLAlchemy Core with one schema (realtime.store.schema).

Why SQLite in WAL mode with `synchronous=FULL` on a station: a live session commits each
step in its own transaction as it happens, so a crash, a SIGKILL or a power cut loses at
most the step in progress, and a reader (`realtime sessions`, a report, the dashboard) can
open the file while a session writes.  The session folders (pose streams, CSVs) stay; the
store points to them.

The schema is built and upgraded by Alembic (realtime/store/migrations).  A realtime.db
of the single-station program (`PRAGMA user_version` 1, no Alembic table) is upgraded in
place, every row kept; the upgrade is one transaction, so an interrupted one leaves the
file as it was.  A database from a newer program is refused with one line instead of
being misread (SQLite also records `user_version` 2, so the older program refuses this
one).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import math
import os
import sqlite3
import statistics
import threading
import uuid as uuidlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from realtime.errors import UserError
from realtime.metrics import version as _metrics
from realtime.metrics.version import METRICS_VERSION
from realtime.store import schema as S
from realtime.types import STEP_METRICS, Cue, Step

SCHEMA_VERSION = 2  # SQLite's PRAGMA user_version: 1 was the single-station schema
HEAD = "0002"  # the newest Alembic revision (a test checks it is the scripts' head)
_REVISIONS = ("0001", "0002")
_REAL_COLUMNS = S.REAL_COLUMNS
_STEP_KEYS = ("session_id", "metrics_version", "seq", "phase", "leg", *_REAL_COLUMNS,
              "unreliable")
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_PG_LOCK = 19_190_019  # advisory lock: one process migrates a clinic database at a time


class StoreUnavailable(UserError):
    """The database cannot be reached (a clinic server that is down or unreachable)."""


def utc_now() -> str:
    """A wall-clock label for people (start/end of a session); never used for timing."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _num(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def step_values(session_id: int, version: str, seq: int, phase: str, step: Step
                ) -> dict[str, Any]:
    """One `steps` row as a dict (NaN stored as NULL)."""
    row: dict[str, Any] = {"session_id": session_id, "metrics_version": version, "seq": seq,
                           "phase": phase, "leg": step.leg,
                           "unreliable": ",".join(sorted(step.unreliable))}
    for c in _REAL_COLUMNS:
        row[c] = _num(getattr(step, c))
    return row


@dataclass(frozen=True, slots=True)
class PhaseSums:
    """One phase of a session: its steps, and per metric (count, sum, sum of squares) of
    the trusted values.  Why: a mean ± sd over any of a session's phases then needs no
    steps, so a runner's progress over 40 sessions reads 40 small rows, not 120 000 steps."""

    steps: int
    sums: dict[str, tuple[int, float, float]]  # only metrics with a trusted value


def sums_of_steps(rows: Iterable[tuple[str, Step]]) -> dict[str, PhaseSums]:
    """Per phase sums from (phase, step) rows (a session folder); the store computes the
    same in SQL (`Store.phase_sums`)."""
    steps: dict[str, int] = {}
    acc: dict[str, dict[str, list[float]]] = {}
    for phase, st in rows:
        steps[phase] = steps.get(phase, 0) + 1
        per = acc.setdefault(phase, {})
        for m in STEP_METRICS:
            if st.reliable(m):
                v = float(getattr(st, m))
                a = per.setdefault(m, [0, 0.0, 0.0])
                a[0] += 1
                a[1] += v
                a[2] += v * v
    return {p: PhaseSums(n, {m: (int(a[0]), a[1], a[2]) for m, a in acc[p].items()})
            for p, n in steps.items()}


def sums_to_json(sums: dict[str, PhaseSums]) -> dict:
    """As kept in `session_stats.stats` under "phases": {phase: [steps, {metric: [n,
    sum, sum of squares]}]}."""
    return {p: [ps.steps, {m: list(t) for m, t in ps.sums.items()}] for p, ps in sums.items()}


def sums_from_json(js: dict) -> dict[str, PhaseSums]:
    return {p: PhaseSums(int(n), {m: (int(t[0]), float(t[1]), float(t[2]))
                                  for m, t in per.items()}) for p, (n, per) in js.items()}


def _medians(text: str) -> dict:
    """A kept stats row's medians (without the phase sums kept beside them)."""
    med = json.loads(text)
    med.pop("phases", None)
    return med


def row_step(r: Any) -> tuple[str, Step]:
    """(phase, Step) from a `steps` row."""
    vals = {c: (math.nan if getattr(r, c) is None else float(getattr(r, c)))
            for c in _REAL_COLUMNS}
    unrel = frozenset(x for x in (r.unreliable or "").split(",") if x in STEP_METRICS)
    return r.phase, Step(leg=r.leg, unreliable=unrel, **vals)


_NO_METRIC: frozenset[str] = frozenset()
# Step's fields in order are leg, the real columns, unreliable (a test keeps it so)
_STEP_SELECT = (S.steps.c.phase, S.steps.c.leg, *(S.steps.c[c] for c in _REAL_COLUMNS),
                S.steps.c.unreliable)


def _tuple_step(t: Sequence[Any]) -> tuple[str, Step]:
    """(phase, Step) from a row of `_STEP_SELECT`: by position, 3x faster than by name
    (a 3000-step session loads in 16 ms instead of 46, most of a report page's time)."""
    vals = [math.nan if v is None else float(v) for v in t[2:-1]]
    u = t[-1]
    unrel = frozenset(x for x in u.split(",") if x in STEP_METRICS) if u else _NO_METRIC
    return t[0], Step(t[1], *vals, unreliable=unrel)


def is_url(target: str | os.PathLike[str]) -> bool:
    return isinstance(target, str) and "://" in target


def safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(not a database URL)"


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One row of `sessions`, with its runner's name and step count (of the version
    shown)."""

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
    uuid: str = ""
    station: str = ""
    metrics_version: str = METRICS_VERSION
    rev: int = 0


@dataclass(frozen=True, slots=True)
class CueRecord:
    """One decided cue as recorded (cues table or cues.csv)."""

    t_s: float
    phase: str
    kind: str
    text: str
    priority: int
    spoken: bool


@dataclass(frozen=True, slots=True)
class RunnerRow:
    """A runner as the dashboard lists them."""

    id: int
    name: str
    created: str
    sessions: int
    last: str | None  # start of their latest session


def _sqlite_engine(path: Path) -> Engine:
    eng = sa.create_engine(f"sqlite:///{path}",
                           connect_args={"timeout": 10.0, "check_same_thread": False})

    @sa.event.listens_for(eng, "connect")
    def _connect(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" below says BEGIN
        dbapi_conn.execute("PRAGMA foreign_keys = ON")
        dbapi_conn.execute("PRAGMA busy_timeout = 10000")

    @sa.event.listens_for(eng, "begin")
    def _begin(conn: Connection) -> None:
        # a writer takes the lock at once (no deadlock upgrading a read lock)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write")
                             else "BEGIN")

    return eng


class Store:
    """The session database.  Thread-safe: SQLAlchemy's pool gives each thread its own
    connection (a live session writes from its store thread while another reads)."""

    def __init__(self, target: str | os.PathLike[str], station: str = "",
                 connect_timeout_s: float = 5.0) -> None:
        self.station = station or "unknown"
        self._ids_lock = threading.Lock()
        if is_url(target):
            self.url = str(target)
            self.path: Path | None = None
            self.name = safe_url(self.url)
            try:
                url = sa.engine.make_url(self.url)
            except sa.exc.ArgumentError:
                raise UserError(f"database URL {self.url!r} is not a URL such as "
                                "postgresql://user@host/clinic or sqlite:////path/file.db"
                                ) from None
            if url.get_backend_name() == "sqlite" and url.database:
                self.path = Path(url.database)
                self._init_sqlite_file()
                self.engine = _sqlite_engine(self.path)
            else:
                if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
                    url = url.set(drivername="postgresql+psycopg")
                args = ({"connect_timeout": max(1, round(connect_timeout_s))}
                        if url.get_backend_name() == "postgresql" else {})
                try:
                    self.engine = sa.create_engine(url, connect_args=args, pool_pre_ping=True)
                except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
                    raise UserError(f"database URL {self.name}: {exc}") from None
        else:
            self.path = Path(target)
            self.url = f"sqlite:///{self.path}"
            self.name = str(self.path)
            self._init_sqlite_file()
            self.engine = _sqlite_engine(self.path)
        self.dialect = self.engine.dialect.name
        try:
            self._upgrade()
        except sa.exc.OperationalError as exc:
            self.engine.dispose()
            if self.path is not None:
                raise UserError(f"session store {self.name} cannot be opened: "
                                f"{exc.orig}") from None
            raise StoreUnavailable(f"database {self.name} is unreachable: "
                                   f"{str(exc.orig).strip().splitlines()[0]}") from None
        except sa.exc.DatabaseError as exc:
            self.engine.dispose()
            raise UserError(f"session store {self.name} cannot be opened: {exc.orig}"
                            ) from None
        except sqlite3.DatabaseError as exc:  # PRAGMAs on the driver's own connection
            self.engine.dispose()
            raise UserError(f"session store {self.name} cannot be opened: {exc}") from None

    # ------------------------------------------------------------------ opening

    def _init_sqlite_file(self) -> None:
        assert self.path is not None
        if not self.path.parent.is_dir():
            raise UserError(f"no data folder {self.path.parent} for the session store")
        if not self.path.exists():  # 0600: gait data is health data
            try:
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            except OSError as exc:
                raise UserError(f"session store {self.path} cannot be created: "
                                f"{exc.strerror}") from None

    def _upgrade(self) -> None:
        """Build a new database, or bring an older one to HEAD (one transaction)."""
        with self.engine.connect() as c:
            if self.dialect == "sqlite":
                raw = c.connection.driver_connection
                (uv,) = raw.execute("PRAGMA user_version").fetchone()
                if uv > SCHEMA_VERSION:
                    raise UserError(f"session store {self.name} has schema version {uv}, "
                                    f"newer than this program's ({SCHEMA_VERSION}): upgrade "
                                    "realtime-runform")
                raw.execute("PRAGMA journal_mode = WAL")
                raw.execute("PRAGMA synchronous = FULL")
            else:
                uv = -1
            current = self._revision(c)
            c.rollback()
            if current == HEAD:
                return
            if self.dialect == "sqlite":  # a table rebuild must not cascade-delete rows
                c.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")
            try:
                with c.execution_options(write=True).begin():
                    if self.dialect == "postgresql":
                        c.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
                    current = self._revision(c)  # another process may have done it
                    if current == HEAD:
                        return
                    tables = set(sa.inspect(c).get_table_names())
                    if current is None and tables:
                        if uv == 1 and {"runners", "sessions", "steps", "cues"} <= tables:
                            current = "0001"
                            self._alembic(c, "stamp", "0001")
                        else:
                            raise UserError(f"{self.name} is a database but not a session "
                                            "store (it has tables and no schema version)")
                    if current is not None and current not in _REVISIONS:
                        raise UserError(f"session store {self.name} has schema revision "
                                        f"{current}, newer than this program's ({HEAD}): "
                                        "upgrade realtime-runform")
                    self._alembic(c, "upgrade", HEAD)
                    if self.dialect == "sqlite":
                        c.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")
            finally:
                if self.dialect == "sqlite":
                    c.connection.driver_connection.execute("PRAGMA foreign_keys = ON")

    @staticmethod
    def _revision(c: Connection) -> str | None:
        if not sa.inspect(c).has_table("alembic_version"):
            return None
        return c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

    def _alembic(self, c: Connection, what: str, rev: str) -> None:
        from alembic import command
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        cfg.attributes["connection"] = c
        cfg.attributes["station"] = self.station
        getattr(command, what)(cfg, rev)

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """A write transaction (committed on leaving, rolled back on an error)."""
        try:
            with self.engine.connect() as c, c.execution_options(write=True).begin():
                yield c
        except sa.exc.OperationalError as exc:
            raise self._unavailable(exc) from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as c:
                yield c
        except sa.exc.OperationalError as exc:
            raise self._unavailable(exc) from None

    def _unavailable(self, exc: sa.exc.OperationalError) -> UserError:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        if self.path is None:
            return StoreUnavailable(f"database {self.name} is unreachable: {first}")
        return UserError(f"session store {self.name} cannot be used: {first}")

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ runners

    def add_runner(self, name: str, profile: str | None = None) -> int:
        with self._tx() as c:
            if c.execute(sa.select(S.runners.c.id).where(S.runners.c.name == name)).first():
                raise UserError(f"runner {name!r} already exists")
            res = c.execute(S.runners.insert().values(
                name=name, created=utc_now(), profile=profile,
                profile_updated=utc_now() if profile is not None else None))
            return int(res.inserted_primary_key[0])

    def runner_id(self, name: str) -> int:
        with self._read() as c:
            rid = c.execute(sa.select(S.runners.c.id).where(S.runners.c.name == name)).scalar()
            if rid is None:
                known = c.execute(sa.select(S.runners.c.name).order_by(S.runners.c.name)
                                  ).scalars().all()
        if rid is None:
            shown = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
            raise UserError(f"unknown runner {name!r} (known: {shown or 'none'}); "
                            f"add one with `realtime runner add {name}`")
        return int(rid)

    def has_runner(self, name: str) -> bool:
        with self._read() as c:
            return c.execute(sa.select(S.runners.c.id).where(S.runners.c.name == name)
                             ).first() is not None

    def runners(self) -> list[tuple[str, str, int]]:
        """(name, created, sessions) of every runner."""
        return [(r.name, r.created, r.sessions) for r in self.runner_rows()]

    def runner_rows(self, name_filter: str = "") -> list[RunnerRow]:
        """Every runner (whose name contains `name_filter`) with their session count and
        latest session start."""
        s = S.sessions
        counts = (sa.select(s.c.runner_id, sa.func.count().label("n"),
                            sa.func.max(s.c.started).label("last"))
                  .group_by(s.c.runner_id).subquery())
        q = (sa.select(S.runners.c.id, S.runners.c.name, S.runners.c.created, counts.c.n,
                       counts.c.last)
             .outerjoin(counts, counts.c.runner_id == S.runners.c.id)
             .order_by(S.runners.c.name))
        if name_filter:
            q = q.where(S.runners.c.name.ilike(f"%{name_filter}%"))
        with self._read() as c:
            return [RunnerRow(r.id, r.name, r.created, int(r.n or 0), r.last)
                    for r in c.execute(q)]

    def runner_by_id(self, runner_id: int) -> RunnerRow:
        with self._read() as c:
            r = c.execute(sa.select(S.runners).where(S.runners.c.id == runner_id)).first()
        if r is None:
            raise UserError(f"unknown runner id {runner_id}")
        return RunnerRow(r.id, r.name, r.created, 0, None)

    def profile(self, name: str) -> tuple[str | None, str | None]:
        """(profile TOML text, when it last changed) of a runner, as this database has it."""
        with self._read() as c:
            r = c.execute(sa.select(S.runners.c.profile, S.runners.c.profile_updated)
                          .where(S.runners.c.name == name)).first()
        if r is None:
            self.runner_id(name)  # raises, naming the known runners
        return (r.profile, r.profile_updated) if r else (None, None)

    def set_profile(self, name: str, text: str, updated: str | None = None) -> None:
        """Replace a runner's profile (one statement: all of it or nothing)."""
        with self._tx() as c:
            n = c.execute(S.runners.update().where(S.runners.c.name == name).values(
                profile=text, profile_updated=updated or utc_now())).rowcount
        if not n:
            self.runner_id(name)

    # ------------------------------------------------------------------ sessions

    def begin_session(self, *, runner: str | None, kind: str, source: str,
                      views: Sequence[str], folder: Path | None, profile: str | None,
                      config: dict, version: str, session_index: int,
                      session_uuid: str | None = None, started: str | None = None) -> int:
        rid = self.runner_id(runner) if runner else None
        with self._tx() as c:
            res = c.execute(S.sessions.insert().values(
                runner_id=rid, kind=kind, started=started or utc_now(), status="recording",
                source=source, views=",".join(views),
                folder=str(folder.resolve()) if folder else None, profile=profile,
                config=json.dumps(config, allow_nan=False), version=version,
                session_index=session_index, uuid=session_uuid or str(uuidlib.uuid4()),
                station=self.station, metrics_version=_metrics.METRICS_VERSION, rev=0))
            return int(res.inserted_primary_key[0])

    def _update(self, session_id: int, **values: Any) -> None:
        s = S.sessions
        with self._tx() as c:
            c.execute(s.update().where(s.c.id == session_id).values(rev=s.c.rev + 1, **values))

    def set_t0(self, session_id: int, t0_s: float) -> None:
        self._update(session_id, t0_s=t0_s)

    def set_calibration(self, session_id: int, calibration: dict) -> None:
        self._update(session_id, calibration=json.dumps(calibration))

    def end_session(self, session_id: int, summary: dict, failed: bool = False) -> None:
        self._update(session_id, ended=utc_now(), status="failed" if failed else "done",
                     summary=json.dumps(summary, default=str))
        with contextlib.suppress(UserError):  # the dashboard's list then scans no steps
            self.stats(session_id)

    def add_step(self, session_id: int, seq: int, phase: str, step: Step,
                 version: str | None = None) -> None:
        """One step in its own transaction (committed, fsynced) as it happens."""
        v = version or _metrics.METRICS_VERSION
        with self._tx() as c:
            c.execute(S.steps.insert(), step_values(session_id, v, seq, phase, step))

    def add_steps(self, session_id: int, version: str,
                  rows: Iterable[tuple[str, Step]], start_seq: int = 0) -> int:
        """Many steps of one version in one transaction (re-analysis); returns how many."""
        vals = [step_values(session_id, version, start_seq + i, p, s)
                for i, (p, s) in enumerate(rows)]
        if vals:
            with self._tx() as c:
                c.execute(S.steps.insert(), vals)
        return len(vals)

    def add_cue(self, session_id: int, seq: int, phase: str, cue: Cue, spoken: bool) -> None:
        with self._tx() as c:
            c.execute(S.cues.insert().values(
                session_id=session_id, seq=seq, t_s=cue.t_ns / 1e9, phase=phase, kind=cue.kind,
                text=cue.text, priority=cue.priority, spoken=int(spoken)))

    def _session_query(self, count: bool = True) -> sa.Select:
        s, st = S.sessions, S.steps
        n = (sa.select(sa.func.count()).select_from(st)
             .where(st.c.session_id == s.c.id, st.c.metrics_version == s.c.metrics_version)
             .scalar_subquery() if count else sa.literal(-1))
        return (sa.select(s, S.runners.c.name.label("runner_name"), n.label("n_steps"))
                .outerjoin(S.runners, S.runners.c.id == s.c.runner_id))

    @staticmethod
    def _row(r: Any) -> SessionRow:
        return SessionRow(
            id=r.id, runner=r.runner_name, kind=r.kind, started=r.started, ended=r.ended,
            status=r.status, source=r.source, views=tuple(v for v in r.views.split(",") if v),
            folder=r.folder, profile=r.profile, config=json.loads(r.config),
            version=r.version, session_index=r.session_index, t0_s=r.t0_s,
            calibration=json.loads(r.calibration) if r.calibration else None,
            summary=json.loads(r.summary) if r.summary else None, steps=int(r.n_steps),
            uuid=r.uuid, station=r.station, metrics_version=r.metrics_version, rev=r.rev)

    def sessions(self, runner: str | None = None) -> list[SessionRow]:
        """Every session (of one runner), oldest first."""
        q = self._session_query().order_by(S.sessions.c.id)
        if runner is not None:
            q = q.where(S.sessions.c.runner_id == self.runner_id(runner))
        with self._read() as c:
            return [self._row(r) for r in c.execute(q)]

    def session(self, session_id: int) -> SessionRow:
        with self._read() as c:
            r = c.execute(self._session_query().where(S.sessions.c.id == session_id)).first()
            if r is None:
                last = c.execute(sa.select(sa.func.max(S.sessions.c.id))).scalar()
        if r is None:
            raise UserError(f"unknown session id {session_id} (ids go up to {last or 0}; "
                            "see `realtime sessions`)")
        return self._row(r)

    def session_rows(self, session_ids: Sequence[int]) -> list[SessionRow]:
        """The rows of these sessions, oldest first, without counting their steps
        (`steps` is -1): what a progress plot needs of the sessions it shows."""
        q = (self._session_query(count=False).where(S.sessions.c.id.in_(session_ids))
             .order_by(S.sessions.c.id))
        with self._read() as c:
            return [self._row(r) for r in c.execute(q)]

    def session_list(self, runner_id: int, since: str = "", until: str = "", status: str = "",
                     station: str = "") -> list[tuple[SessionRow, dict | None]]:
        """One runner's sessions, newest first, filtered (dates as YYYY-MM-DD, inclusive),
        each with its kept medians (None until computed)."""
        s, ss = S.sessions, S.session_stats
        q = (self._session_query(count=False)
             .add_columns(ss.c.stats.label("stats"), ss.c.steps.label("stat_steps"))
             .outerjoin(ss, sa.and_(ss.c.session_id == s.c.id,
                                    ss.c.metrics_version == s.c.metrics_version))
             .where(s.c.runner_id == runner_id).order_by(s.c.started.desc(), s.c.id.desc()))
        if since:
            q = q.where(s.c.started >= since)
        if until:
            q = q.where(s.c.started < until + "~")  # the whole day: '~' sorts after 'T...'
        if status:
            q = q.where(s.c.status == status)
        if station:
            q = q.where(s.c.station == station)
        with self._read() as c:
            rows = list(c.execute(q))
        out = []
        for r in rows:  # kept counts and medians; computed (and kept) where missing
            if r.stats is not None and r.status != "recording":
                n, med = int(r.stat_steps), _medians(r.stats)
            else:
                n, med = self.stats(r.id, r.metrics_version)
            out.append((dataclasses.replace(self._row(r), steps=n), med))
        return out

    def session_choices(self, runner_id: int) -> list[tuple[int, str, str]]:
        """(id, started, station) of a runner's sessions, newest first (the compare form)."""
        s = S.sessions
        with self._read() as c:
            return [(r.id, r.started, r.station) for r in c.execute(
                sa.select(s.c.id, s.c.started, s.c.station).where(s.c.runner_id == runner_id)
                .order_by(s.c.started.desc(), s.c.id.desc()))]

    def session_keys(self, runner_id: int, version: str) -> list[tuple]:
        """(id, rev, status, steps) of a runner's sessions shown at `version`, oldest
        first: what a cached comparison depends on.  Steps are counted only while a
        session records (-1 otherwise: a finished session changes only with its rev;
        0 when it has none: left out of the progress)."""
        s, st = S.sessions, S.steps
        has = sa.exists().where(st.c.session_id == s.c.id,
                                st.c.metrics_version == s.c.metrics_version)
        q = (sa.select(s.c.id, s.c.rev, s.c.status, has.label("has"))
             .where(s.c.runner_id == runner_id, s.c.metrics_version == version)
             .order_by(s.c.id))
        with self._read() as c:
            rows = list(c.execute(q))
        return [(r.id, r.rev, r.status,
                 (self.step_count(r.id) if r.status == "recording" else -1) if r.has else 0)
                for r in rows]

    def stations(self) -> list[str]:
        with self._read() as c:
            return list(c.execute(sa.select(S.sessions.c.station).distinct()
                                  .order_by(S.sessions.c.station)).scalars())

    def session_by_uuid(self, session_uuid: str) -> int | None:
        with self._read() as c:
            return c.execute(sa.select(S.sessions.c.id)
                             .where(S.sessions.c.uuid == session_uuid)).scalar()

    def session_version(self, session_id: int) -> str:
        with self._read() as c:
            v = c.execute(sa.select(S.sessions.c.metrics_version)
                          .where(S.sessions.c.id == session_id)).scalar()
        if v is None:
            self.session(session_id)  # raises
        return str(v)

    def steps(self, session_id: int, version: str | None = None,
              after_seq: int = -1) -> list[tuple[str, Step]]:
        """(phase, step) in order, of `version` (default: the one the session shows)."""
        if version is None:
            version = self.session_version(session_id)
        st = S.steps
        q = (sa.select(*_STEP_SELECT).where(st.c.session_id == session_id,
                                            st.c.metrics_version == version,
                                            st.c.seq > after_seq)
             .order_by(st.c.seq))
        with self._read() as c:
            return [_tuple_step(r) for r in c.execute(q)]

    def last_steps(self, session_id: int, n: int) -> list[tuple[int, str, Step]]:
        """The latest `n` steps (seq, phase, step) of the version shown, oldest first (a
        live page: no need to read the whole session)."""
        version = self.session_version(session_id)
        st = S.steps
        q = (sa.select(st).where(st.c.session_id == session_id,
                                 st.c.metrics_version == version)
             .order_by(st.c.seq.desc()).limit(n))
        with self._read() as c:
            rows = list(c.execute(q))
        return [(r.seq, *row_step(r)) for r in reversed(rows)]

    def step_versions(self, session_id: int) -> dict[str, int]:
        """{metrics version: steps} of every version kept for a session."""
        st = S.steps
        with self._read() as c:
            return {r[0]: int(r[1]) for r in c.execute(
                sa.select(st.c.metrics_version, sa.func.count())
                .where(st.c.session_id == session_id).group_by(st.c.metrics_version))}

    def step_count(self, session_id: int) -> int:
        """Steps of the version shown (a live page polls this)."""
        s, st = S.sessions, S.steps
        with self._read() as c:
            return int(c.execute(
                sa.select(sa.func.count()).select_from(st).join(s, s.c.id == st.c.session_id)
                .where(st.c.session_id == session_id,
                       st.c.metrics_version == s.c.metrics_version)).scalar() or 0)

    def cues(self, session_id: int) -> list[CueRecord]:
        q = (sa.select(S.cues).where(S.cues.c.session_id == session_id)
             .order_by(S.cues.c.seq))
        with self._read() as c:
            return [CueRecord(r.t_s, r.phase, r.kind, r.text, r.priority, bool(r.spoken))
                    for r in c.execute(q)]

    def set_metrics_version(self, session_id: int, version: str) -> None:
        """The session now shows the steps of `version` (after a re-analysis)."""
        self._update(session_id, metrics_version=version)

    def session_of_folder(self, folder: Path) -> int | None:
        """The newest session recorded into `folder`, or None."""
        q = sa.select(sa.func.max(S.sessions.c.id)).where(
            S.sessions.c.folder == str(folder.resolve()))
        with self._read() as c:
            sid = c.execute(q).scalar()
        return int(sid) if sid is not None else None

    def counts(self, session_id: int) -> tuple[int, int]:
        """(steps of the version the session shows, cues) the store holds for it."""
        with self._read() as c:
            cues = c.execute(sa.select(sa.func.count()).select_from(S.cues)
                             .where(S.cues.c.session_id == session_id)).scalar()
        return self.step_count(session_id), int(cues or 0)

    def add_missing(self, session_id: int, steps: Sequence[tuple[str, Step]],
                    cues: Sequence[CueRecord]) -> tuple[int, int]:
        """The session's steps and cues (all of them, in order, as its folder has them)
        that the store lacks, in one transaction; (steps, cues) added.  Rows the store
        has are kept: a row's seq is its place in steps.csv or cues.csv, and the steps are
        those of the version the session shows."""
        version = self.session(session_id).metrics_version
        st, cu = S.steps, S.cues
        with self._tx() as c:
            have_s = {r[0] for r in c.execute(sa.select(st.c.seq).where(
                st.c.session_id == session_id, st.c.metrics_version == version))}
            have_c = {r[0] for r in c.execute(sa.select(cu.c.seq).where(
                cu.c.session_id == session_id))}
            new_s = [step_values(session_id, version, seq, phase, step)
                     for seq, (phase, step) in enumerate(steps) if seq not in have_s]
            new_c = [{"session_id": session_id, "seq": seq, "t_s": x.t_s, "phase": x.phase,
                      "kind": x.kind, "text": x.text, "priority": x.priority,
                      "spoken": int(x.spoken)}
                     for seq, x in enumerate(cues) if seq not in have_c]
            if new_s:
                c.execute(st.insert(), new_s)
            if new_c:
                c.execute(cu.insert(), new_c)
        return len(new_s), len(new_c)

    def earlier_sessions(self, runner: str, schedule: str | None = None) -> int:
        """How many sessions of `runner` reached a drill (with `schedule`, only those
        whose cue schedule it was): the faded schedule's session number."""
        rid = self.runner_id(runner)
        s, st = S.sessions, S.steps
        q = sa.select(s.c.config).where(s.c.runner_id == rid, sa.exists().where(
            st.c.session_id == s.c.id, st.c.phase == "drill"))
        n = 0
        with self._read() as c:
            for (cfg,) in c.execute(q):
                if schedule is None or json.loads(cfg).get("cues", {}).get("schedule") == \
                        schedule:
                    n += 1
        return n

    # ------------------------------------------------------------------ stats

    def stats(self, session_id: int, version: str | None = None) -> tuple[int, dict]:
        """(steps, {metric: median of reliable values}) of a session's version, computed
        once and kept with the per-phase sums (`phase_sums`); a session still recording
        is computed each time."""
        from realtime.metrics.summary import phase_values

        if version is None:
            version = self.session_version(session_id)
        ss = S.session_stats
        with self._read() as c:
            r = c.execute(sa.select(ss.c.steps, ss.c.stats).where(
                ss.c.session_id == session_id, ss.c.metrics_version == version)).first()
            status = c.execute(sa.select(S.sessions.c.status)
                               .where(S.sessions.c.id == session_id)).scalar()
        if r is not None:
            return int(r.steps), _medians(r.stats)
        rows = self.steps(session_id, version)
        med: dict[str, float] = {}
        for m in STEP_METRICS:
            v = phase_values(rows, m)
            if v:
                med[m] = round(float(statistics.median(v)), 3)
        if status != "recording":
            with self._read() as c:
                sums = self._phase_sums_sql(c, [(session_id, version)]).get(session_id, {})
            self.put_stats(session_id, version, len(rows),
                           {**med, "phases": sums_to_json(sums)})
        return len(rows), med

    def put_stats(self, session_id: int, version: str, n: int, med: dict) -> None:
        ss = S.session_stats
        with self._tx() as c:
            c.execute(ss.delete().where(ss.c.session_id == session_id,
                                        ss.c.metrics_version == version))
            c.execute(ss.insert().values(session_id=session_id, metrics_version=version,
                                         steps=n, stats=json.dumps(med)))

    def phase_sums(self, sessions: Sequence[tuple[int, str]]
                   ) -> dict[int, dict[str, PhaseSums]]:
        """{session id: {phase: sums}} of the (session id, metrics version) given: kept
        with the session's stats, computed in SQL (and kept) where a database from
        before they were kept lacks them, every time for a session still recording."""
        ss, s = S.session_stats, S.sessions
        ids = [sid for sid, _ in sessions]
        with self._read() as c:
            kept = {(r.session_id, r.metrics_version): r.stats for r in c.execute(
                sa.select(ss.c.session_id, ss.c.metrics_version, ss.c.stats)
                .where(ss.c.session_id.in_(ids)))}
            status = {r.id: r.status for r in c.execute(
                sa.select(s.c.id, s.c.status).where(s.c.id.in_(ids)))}
        out: dict[int, dict[str, PhaseSums]] = {}
        todo: list[tuple[int, str]] = []
        for sid, version in sessions:
            text = kept.get((sid, version))
            js = json.loads(text) if text is not None and status.get(sid) != "recording" \
                else None
            if js is not None and "phases" in js:
                out[sid] = sums_from_json(js["phases"])
            else:
                todo.append((sid, version))
        if not todo:
            return out
        with self._read() as c:
            new = self._phase_sums_sql(c, todo)
        updates = []
        for sid, version in todo:
            out[sid] = new.get(sid, {})
            if status.get(sid) == "recording":
                continue
            text = kept.get((sid, version))
            if text is None:  # no stats kept at all: medians and sums, as a session's end
                self.stats(sid, version)
            else:  # medians kept from before: the sums beside them
                updates.append({"sid": sid, "version": version, "text": json.dumps(
                    {**json.loads(text), "phases": sums_to_json(out[sid])})})
        if updates:
            with self._tx() as c:  # one transaction (one fsync), not one per session
                c.execute(ss.update().where(ss.c.session_id == sa.bindparam("sid"),
                                            ss.c.metrics_version == sa.bindparam("version"))
                          .values(stats=sa.bindparam("text")), updates)
        return out

    @staticmethod
    def _phase_sums_sql(c: Connection, sessions: Sequence[tuple[int, str]]
                        ) -> dict[int, dict[str, PhaseSums]]:
        """The per-phase sums computed by the database (one query per metrics version):
        a value counts when it is not NULL (NaN) and its metric is not named in the
        step's comma-separated `unreliable`, as `Step.reliable` says."""
        st = S.steps
        wrapped = sa.literal(",") + st.c.unreliable + sa.literal(",")
        cols: list[Any] = [st.c.session_id, st.c.phase, sa.func.count().label("n")]
        for m in STEP_METRICS:
            x = sa.case((sa.or_(st.c.unreliable == "",
                                ~wrapped.contains(f",{m},", autoescape=True)), st.c[m]))
            cols += [sa.func.count(x), sa.func.sum(x), sa.func.sum(x * x)]
        by_version: dict[str, list[int]] = {}
        for sid, version in sessions:
            by_version.setdefault(version, []).append(sid)
        out: dict[int, dict[str, PhaseSums]] = {}
        for version, ids in by_version.items():
            q = (sa.select(*cols).where(st.c.session_id.in_(ids),
                                        st.c.metrics_version == version)
                 .group_by(st.c.session_id, st.c.phase))
            for r in c.execute(q):
                sums = {m: (int(r[3 + 3 * k]), float(r[4 + 3 * k]), float(r[5 + 3 * k]))
                        for k, m in enumerate(STEP_METRICS) if r[3 + 3 * k]}
                out.setdefault(r[0], {})[r[1]] = PhaseSums(int(r[2]), sums)
        return out
