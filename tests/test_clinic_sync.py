"""One database for many stations: stations record into their own realtime.db and send
their sessions to the clinic database (a real PostgreSQL server started by the tests, or
an SQLite file), idempotently: every step arrives once, whatever stops in between."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from realtime.cli import main
from realtime.store import schema as S
from realtime.store.db import Store
from realtime.store.sync import pending, sync
from realtime.types import Cue, Step
from tests.pg import wait_until
from tests.test_therapist import SHORT_PLAN, _sets


def _steps(n: int, t0: float = 0.0) -> list[tuple[str, Step]]:
    return [("drill" if i % 3 else "baseline",
             Step(leg="LR"[i % 2], t_contact_s=t0 + 0.33 * i, cadence_spm=170.0 + i % 7,
                  knee_drive_deg=20.0 + (i % 11) * 0.5, confidence=0.9,
                  hip_sway_pct=math.nan if i % 5 == 0 else 3.0 + (i % 3) * 0.1,
                  unreliable=frozenset({"knee_drive_deg"}) if i % 13 == 0 else frozenset()))
            for i in range(n)]


def _station(tmp: Path, name: str, sessions: int, steps: int, runner: str = "anna") -> Store:
    """A station's realtime.db with `sessions` sessions of `steps` steps each (bulk)."""
    tmp.mkdir(parents=True, exist_ok=True)
    store = Store(tmp / "realtime.db", station=name)
    if not store.has_runner(runner):
        store.add_runner(runner, "[cues]\nknee_drive_target_deg = 31.0\n")
    for k in range(sessions):
        sid = store.begin_session(runner=runner, kind="live", source=f"{name} camera 0",
                                  views=["side"], folder=None, profile=None,
                                  config={"cues": {"schedule": "continuous"}}, version="0.1.0",
                                  session_index=k)
        store.add_steps(sid, "1", _steps(steps))
        store.add_cue(sid, 0, "drill", Cue("knee_drive", "drive the knee", 5, 2 * 10**9), True)
        store.end_session(sid, {"steps": steps})
    return store


def _clinic_steps(clinic_url: str, session_uuid: str) -> list[tuple]:
    eng = sa.create_engine(clinic_url.replace("postgresql://", "postgresql+psycopg://", 1))
    s, st = S.sessions, S.steps
    with eng.connect() as c:
        rows = c.execute(sa.select(st.c.seq, st.c.phase, st.c.leg, st.c.t_contact_s,
                                   st.c.knee_drive_deg, st.c.unreliable)
                         .join(s, s.c.id == st.c.session_id)
                         .where(s.c.uuid == session_uuid).order_by(st.c.seq)).all()
    eng.dispose()
    return [tuple(r) for r in rows]


def _local_steps(store: Store, sid: int) -> list[tuple]:
    st = S.steps
    with store.engine.connect() as c:
        return [tuple(r) for r in c.execute(
            sa.select(st.c.seq, st.c.phase, st.c.leg, st.c.t_contact_s, st.c.knee_drive_deg,
                      st.c.unreliable).where(st.c.session_id == sid).order_by(st.c.seq))]


def _count(url: str, table: sa.Table) -> int:
    eng = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with eng.connect() as c:
            n = c.execute(sa.select(sa.func.count()).select_from(table)).scalar()
    except sa.exc.ProgrammingError:  # no tables yet: the first sync makes them
        n = 0
    finally:
        eng.dispose()
    return int(n or 0)


def test_two_stations_sync_into_one_sqlite_clinic_database_idempotently(tmp_path: Path) -> None:
    """No server needed: the clinic database as an SQLite URL.  Two stations' sessions
    (same runner name, separate ids) arrive once each, a second sync sends nothing, and
    steps recorded after a sync follow with the next one."""
    a = _station(tmp_path / "a", "treadmill-1", 3, 200)
    b = _station(tmp_path / "b", "treadmill-2", 2, 150)
    clinic = Store(f"sqlite:///{tmp_path / 'clinic.db'}", station="server")
    assert len(pending(a)) == 3
    ra, rb = sync(a, clinic), sync(b, clinic)
    assert (ra.sessions, ra.steps, ra.cues, ra.runners) == (3, 600, 3, 1)
    assert (rb.sessions, rb.steps, rb.runners) == (2, 300, 0)  # anna is matched by name
    assert sync(a, clinic).steps == 0 and pending(a) == [] and pending(b) == []
    rows = clinic.sessions()
    assert len(rows) == 5 and len({r.uuid for r in rows}) == 5
    assert sorted(r.station for r in rows) == ["treadmill-1"] * 3 + ["treadmill-2"] * 2
    assert {r.runner for r in rows} == {"anna"} and all(r.status == "done" for r in rows)
    for local in (a, b):
        for r in local.sessions():
            assert _clinic_steps(clinic.url, r.uuid) == _local_steps(local, r.id)
    # a session still recording: new steps after a sync are sent by the next one
    sid = a.begin_session(runner="anna", kind="live", source="c", views=["side"], folder=None,
                          profile=None, config={}, version="0", session_index=0)
    for i, (p, s) in enumerate(_steps(30)):
        a.add_step(sid, i, p, s)
        if i == 9:
            assert sync(a, clinic).steps == 10
            assert clinic.session(clinic.session_by_uuid(a.session(sid).uuid)).status == \
                "recording"
    assert pending(a)[0].steps_to_send == 20
    a.end_session(sid, {})
    assert sync(a, clinic).steps == 20 and pending(a) == []
    uuid = a.session(sid).uuid
    assert clinic.session(clinic.session_by_uuid(uuid)).status == "done"
    assert _clinic_steps(clinic.url, uuid) == _local_steps(a, sid)


def _station_home(root: Path, name: str, url: str) -> dict[str, str]:
    root.mkdir(parents=True)
    (root / "config.toml").write_text(f'[store]\nurl = "{url}"\nstation = "{name}"\n')
    env = {k: v for k, v in os.environ.items() if k != "REALTIME_DB_URL"}
    env["REALTIME_HOME"] = str(root)
    return env


def test_two_stations_record_at_once_while_the_server_stops_and_comes_back(
        pg_server, pg_url: str, real_clip_stream: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Two `realtime run` processes (the real clip's poses played live) record for the
    same runner into one PostgreSQL database.  The server is stopped mid-session: each
    station says so in one line and keeps recording; the server comes back; a sync runs:
    every step of both sessions is in the clinic database exactly once."""
    envs, procs = [], []
    for k in (1, 2):
        env = _station_home(tmp_path / f"station{k}", f"treadmill-{k}", pg_url)
        r = subprocess.run([sys.executable, "-m", "realtime", "runner", "add", "anna"], env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        envs.append(env)
    for k, env in enumerate(envs, 1):
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "realtime", "run", "--video", str(real_clip_stream),
             "--realtime", "--headless", "--mute", "--runner", "anna",
             "--out", str(tmp_path / f"s{k}"), *_sets(SHORT_PLAN)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))

    def rows(k: int) -> int:
        p = tmp_path / f"s{k}" / "steps.csv"
        return len(p.read_text().splitlines()) - 1 if p.exists() else 0

    try:
        # both record, and their steps reach the server while they run (the live page)
        assert wait_until(lambda: rows(1) >= 8 and rows(2) >= 8, 120)
        assert wait_until(lambda: _count(pg_url, S.steps) >= 8, 30)
        assert all(p.poll() is None for p in procs)
        pg_server.stop()
        at_stop = (rows(1), rows(2))
        assert wait_until(lambda: rows(1) >= at_stop[0] + 6 and rows(2) >= at_stop[1] + 6, 60)
        pg_server.start()
        errs = [p.communicate(timeout=180)[1] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, err in zip(procs, errs, strict=True):
        assert p.returncode == 0, err
        said = [ln for ln in err.splitlines() if "unreachable" in ln]
        assert len(said) == 1 and "recording on this station" in said[0], err
    for env in envs:
        r = subprocess.run([sys.executable, "-m", "realtime", "sync"], env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and "synced to postgresql://" in r.stdout, r.stderr
    clinic = Store(pg_url, station="server")
    got = clinic.sessions()
    assert sorted(r.station for r in got) == ["treadmill-1", "treadmill-2"]
    assert {r.runner for r in got} == {"anna"} and all(r.status == "done" for r in got)
    for k, env in enumerate(envs, 1):
        local = Store(Path(env["REALTIME_HOME"]) / "realtime.db", station=f"treadmill-{k}")
        (mine,) = local.sessions()
        assert mine.steps == rows(k) >= 25 and pending(local) == []
        theirs = _clinic_steps(pg_url, mine.uuid)
        assert theirs == _local_steps(local, mine.id)
        assert [t[0] for t in theirs] == list(range(mine.steps))  # each once, none missing
        assert len(clinic.cues(clinic.session_by_uuid(mine.uuid))) == len(local.cues(mine.id))


def test_a_sync_killed_mid_way_then_run_again_sends_every_step_once(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`realtime sync` (a real subprocess) killed with SIGKILL while it sends 24 sessions
    of 3000 steps; the second sync completes: every step once, values equal."""
    home = tmp_path / "station"
    env = _station_home(home, "treadmill-9", pg_url)
    local = _station(home, "treadmill-9", 24, 3000)
    total = 24 * 3000
    proc = subprocess.Popen([sys.executable, "-m", "realtime", "sync", "--quiet"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: _count(pg_url, S.steps) >= 6000, 120, 0.02), \
            proc.stderr.read() if proc.poll() is not None else "no steps arrived"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    partial = _count(pg_url, S.steps)
    assert 6000 <= partial < total, partial  # killed mid-way
    assert proc.returncode == -signal.SIGKILL
    monkeypatch.setenv("REALTIME_HOME", str(home))
    assert main(["sync", "--quiet"]) == 0
    assert _count(pg_url, S.steps) == total
    assert main(["sync", "--quiet"]) == 0 and _count(pg_url, S.steps) == total
    clinic = Store(pg_url, station="server")
    assert len(clinic.sessions()) == 24 and pending(local) == []
    for r in local.sessions():
        assert _clinic_steps(pg_url, r.uuid) == _local_steps(local, r.id)


def test_sessions_shows_what_is_not_synced_and_sync_sends_it(
        realtime_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    _station(realtime_home, "treadmill-3", 2, 50)
    assert main(["sessions"]) == 0
    assert "synced?" not in capsys.readouterr().out  # no clinic database: nothing to say
    monkeypatch.setenv("REALTIME_DB_URL", f"sqlite:///{tmp_path / 'clinic.db'}")
    assert main(["sessions"]) == 0
    out = capsys.readouterr().out
    assert out.count("NOT SYNCED") == 2 and "2 of 2 sessions not yet fully" in out
    assert main(["sync", "--quiet"]) == 0
    assert "2 sessions, 100 steps, 2 cues sent; 1 runners added" in capsys.readouterr().out
    assert main(["sessions"]) == 0
    out = capsys.readouterr().out
    assert "NOT SYNCED" not in out and "0 of 2 sessions not yet fully" in out
    monkeypatch.setenv("REALTIME_DB_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert main(["sync"]) == 2
    err = capsys.readouterr().err
    assert "is unreachable" in err and len(err.strip().splitlines()) == 1
