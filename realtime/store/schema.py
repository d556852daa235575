"""The session store's one schema, for SQLite and PostgreSQL alike (SQLAlchemy Core).

    runners        id, name (unique), created, profile (TOML text), profile_updated
    sessions       id, uuid (unique), station, runner_id -> runners, kind, started, ended,
                   status, source, views, folder, profile, config, version, session_index,
                   t0_s, calibration, summary, metrics_version (of the steps shown), rev
    steps          (session_id, metrics_version, seq) primary key, phase, leg, every
                   steps.csv column, unreliable
    cues           (session_id, seq) primary key, t_s, phase, kind, text, priority, spoken
    session_stats  (session_id, metrics_version) primary key, steps, stats (JSON medians)
    sync_marks     session_id primary key: what of a session the clinic database has
                   (rev, steps, cues); kept on a station only

Ids are local to one database: a session is known everywhere by its `uuid` and the
`station` that recorded it, so sessions from many stations never collide; `realtime sync`
maps them.  `rev` goes up on every change of a session row after it began, so a station
knows what it has not sent yet.  Alembic (realtime/store/migrations) builds and upgrades
this schema; a test checks that the migrations and these tables agree.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from realtime.types import STEP_COLUMNS

REAL_COLUMNS: tuple[str, ...] = tuple(c for c in STEP_COLUMNS if c not in ("leg", "unreliable"))

metadata = MetaData()

runners = Table(
    "runners", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("created", Text, nullable=False),
    Column("profile", Text),
    Column("profile_updated", Text),
)

sessions = Table(
    "sessions", metadata,
    Column("id", Integer, primary_key=True),
    Column("runner_id", Integer, ForeignKey("runners.id")),
    Column("kind", Text, CheckConstraint("kind IN ('live', 'analyze')"), nullable=False),
    Column("started", Text, nullable=False),
    Column("ended", Text),
    Column("status", Text, CheckConstraint("status IN ('recording', 'done', 'failed')"),
           nullable=False),
    Column("source", Text, nullable=False),
    Column("views", Text, nullable=False),
    Column("folder", Text),
    Column("profile", Text),
    Column("config", Text, nullable=False),
    Column("version", Text, nullable=False),
    Column("session_index", Integer, nullable=False, server_default="0"),
    Column("t0_s", Float),
    Column("calibration", Text),
    Column("summary", Text),
    Column("uuid", String(36), nullable=False),
    Column("station", Text, nullable=False),
    Column("metrics_version", Text, nullable=False, server_default="1"),
    Column("rev", Integer, nullable=False, server_default="0"),
    UniqueConstraint("uuid", name="uq_sessions_uuid"),
)
Index("sessions_runner", sessions.c.runner_id, sessions.c.started)

steps = Table(
    "steps", metadata,
    Column("session_id", Integer, ForeignKey("sessions.id", ondelete="CASCADE"),
           nullable=False),
    Column("metrics_version", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("phase", Text, nullable=False),
    Column("leg", Text, CheckConstraint("leg IN ('L', 'R')"), nullable=False),
    *(Column(c, Float) for c in REAL_COLUMNS),
    Column("unreliable", Text, nullable=False, server_default=""),
    PrimaryKeyConstraint("session_id", "metrics_version", "seq", name="pk_steps"),
    sqlite_with_rowid=False,  # SQLite: the rows live in their key's order, no second index
)

cues = Table(
    "cues", metadata,
    Column("session_id", Integer, ForeignKey("sessions.id", ondelete="CASCADE"),
           nullable=False),
    Column("seq", Integer, nullable=False),
    Column("t_s", Float, nullable=False),
    Column("phase", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("spoken", Integer, nullable=False),
    PrimaryKeyConstraint("session_id", "seq", name="pk_cues"),
)

session_stats = Table(
    "session_stats", metadata,
    Column("session_id", Integer, ForeignKey("sessions.id", ondelete="CASCADE"),
           nullable=False),
    Column("metrics_version", Text, nullable=False),
    Column("steps", Integer, nullable=False),
    Column("stats", Text, nullable=False),
    PrimaryKeyConstraint("session_id", "metrics_version", name="pk_session_stats"),
)

sync_marks = Table(
    "sync_marks", metadata,
    Column("session_id", Integer, ForeignKey("sessions.id", ondelete="CASCADE"),
           primary_key=True),
    Column("rev", Integer, nullable=False),
    Column("steps", Integer, nullable=False),
    Column("cues", Integer, nullable=False),
    Column("synced", Text, nullable=False),
)
