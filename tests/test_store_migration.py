"""today's realtime.db files (main's schema version 1, written by a verbatim copy of its
store code in tests/legacy_store_v1.py) are migrated in place by Alembic, every row kept;
the migrations and the SQLAlchemy tables agree; PostgreSQL gets the same schema."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import sqlalchemy as sa

from realtime.store import schema as S
from realtime.store.db import HEAD, SCHEMA_VERSION, Store
from realtime.types import Cue, Step
from tests.legacy_store_v1 import Store as StoreV1


def _old_db(path: Path) -> list[tuple]:
    old = StoreV1(path)
    old.add_runner("anna")
    old.add_runner("ben")
    for k, runner in enumerate(("anna", "ben", None)):
        sid = old.begin_session(runner=runner, kind="live" if k else "analyze",
                                source=f"camera {k}", views=["side"], folder=None,
                                profile="[cues]\n", config={"cues": {"schedule": "faded"}},
                                version="0.1.0", session_index=k)
        for i in range(40):
            old.add_step(sid, i, "drill" if i > 10 else "baseline",
                         Step(leg="LR"[i % 2], t_contact_s=0.3 * i, knee_drive_deg=20.0 + i,
                              hip_sway_pct=math.nan, confidence=0.8,
                              unreliable=frozenset({"knee_drive_deg"}) if i == 3 else
                              frozenset()))
        old.add_cue(sid, 0, "drill", Cue("knee_drive", "drive the knee", 5, 4 * 10**9), True)
        old.set_t0(sid, 1.5)
        if k < 2:
            old.end_session(sid, {"steps": 40})
    old.close()
    db = sqlite3.connect(path)
    rows = db.execute("SELECT * FROM steps ORDER BY session_id, seq").fetchall()
    assert db.execute("PRAGMA user_version").fetchone() == (1,)
    db.close()
    return rows


def test_a_single_station_realtime_db_is_migrated_in_place_keeping_every_row(
        tmp_path: Path) -> None:
    path = tmp_path / "realtime.db"
    old_steps = _old_db(path)
    store = Store(path, station="treadmill-1")
    rows = store.sessions()
    assert [(r.id, r.runner, r.status, r.steps) for r in rows] == [
        (1, "anna", "done", 40), (2, "ben", "done", 40), (3, None, "recording", 40)]
    assert all(r.station == "treadmill-1" and r.metrics_version == "1" for r in rows)
    assert len({r.uuid for r in rows}) == 3 and all(len(r.uuid) == 36 for r in rows)
    assert rows[0].config == {"cues": {"schedule": "faded"}} and rows[0].t0_s == 1.5
    assert store.earlier_sessions("anna", "faded") == 1
    db = sqlite3.connect(path)
    cols = [c[1] for c in db.execute("PRAGMA table_info(steps)")]
    new = db.execute(f"SELECT {', '.join(c for c in cols if c != 'metrics_version')} "
                     "FROM steps ORDER BY session_id, seq").fetchall()
    assert new == old_steps  # every value, NULLs and 'unreliable' as they were
    assert set(db.execute("SELECT metrics_version FROM steps")) == {("1",)}
    assert db.execute("SELECT count(*) FROM cues").fetchone() == (3,)
    assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert db.execute("PRAGMA foreign_keys").fetchone() == (0,)  # a fresh connection
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD,)
    db.close()
    assert path.stat().st_mode & 0o777 == 0o600
    # it goes on working: a new session, a new runner; opening again changes nothing
    sid = store.begin_session(runner="ben", kind="live", source="c", views=["side"],
                              folder=None, profile=None, config={}, version="0",
                              session_index=0)
    assert sid == 4 and Store(path).session(1).uuid == rows[0].uuid


def test_migrations_build_what_the_tables_say_on_sqlite_and_postgresql(
        tmp_path: Path, pg_url: str) -> None:
    """Alembic's own comparison of the migrated database with realtime.store.schema
    finds nothing to change, on a fresh SQLite file, a migrated one, and PostgreSQL."""
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(S.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD
    _old_db(tmp_path / "old.db")
    migrated = Store(tmp_path / "old.db")
    insp = sa.inspect(migrated.engine)  # main's inline DDL reflects differently: names only
    for t in S.metadata.tables.values():
        assert {c["name"] for c in insp.get_columns(t.name)} == set(t.c.keys()), t.name
        assert insp.get_pk_constraint(t.name)["constrained_columns"] == \
            [c.name for c in t.primary_key.columns], t.name
    for store in (Store(tmp_path / "new.db"), Store(pg_url)):
        with store.engine.connect() as c:
            diff = compare_metadata(MigrationContext.configure(c), S.metadata)
        # SQLite cannot name a reflected unique constraint on an inline UNIQUE column, and
        # main's file says REAL where the tables say FLOAT (the same type in SQLite)
        flat = [d for x in diff for d in (x if isinstance(x, list) else [x])]
        diff = [d for d in flat if not (store.dialect == "sqlite" and (
            d[0] in ("add_constraint", "remove_constraint") or
            (d[0] == "modify_type" and str(d[5]) == "REAL" and str(d[6]) == "FLOAT")))]
        assert diff == [], (store.name, diff)
        with store.engine.connect() as c:
            assert c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == HEAD
