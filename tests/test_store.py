"""The session store (SQLite), the data folder, runner profiles and their one-line errors."""

from __future__ import annotations

import math
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from realtime.cli import main
from realtime.config import CuesConfig, load_config
from realtime.errors import UserError
from realtime.metrics.summary import step_row
from realtime.store.db import SCHEMA_VERSION, Store
from realtime.store.home import Home, home
from realtime.store.profiles import create_profile, save_targets
from realtime.types import Cue, Step


def _step(i: float, **kw: float) -> Step:
    return Step(leg="L" if int(i) % 2 == 0 else "R", t_contact_s=0.35 * i, confidence=0.9, **kw)


def test_steps_and_cues_round_trip_with_phase_nan_and_reliability(tmp_path: Path) -> None:
    store = Store(tmp_path / "realtime.db")
    store.add_runner("anna")
    sid = store.begin_session(runner="anna", kind="live", source="camera 0", views=["side"],
                              folder=tmp_path, profile="[cues]\n", config={"a": 1},
                              version="0", session_index=0)
    steps = [_step(0, knee_drive_deg=30.5, cadence_spm=170.0),
             _step(1, knee_drive_deg=31.0, knee_flexion_ic_deg=20.0),
             Step(leg="R", t_contact_s=1.0, knee_drive_deg=12.0, confidence=0.4,
                  unreliable=frozenset({"knee_drive_deg"}))]
    for i, s in enumerate(steps):
        store.add_step(sid, i, "baseline" if i < 2 else "drill", s)
    store.add_cue(sid, 0, "drill", Cue("knee_drive", "drive the knee", 5, 1_200_000_000), True)
    back = store.steps(sid)
    assert [p for p, _ in back] == ["baseline", "baseline", "drill"]
    for (_, b), s in zip(back, steps, strict=True):
        assert step_row(b) == step_row(s)  # NaN (not measured) stays NaN
    assert math.isnan(back[0][1].hip_sway_pct) and back[2][1].unreliable == {"knee_drive_deg"}
    (cue,) = store.cues(sid)
    assert (cue.t_s, cue.phase, cue.text, cue.spoken) == (1.2, "drill", "drive the knee", True)
    store.end_session(sid, {"steps": 3})
    row = store.session(sid)
    assert (row.runner, row.status, row.steps, row.views) == ("anna", "done", 3, ("side",))
    assert row.ended is not None and row.summary == {"steps": 3}
    assert (tmp_path / "realtime.db").stat().st_mode & 0o777 == 0o600
    mode = sqlite3.connect(tmp_path / "realtime.db").execute("PRAGMA journal_mode").fetchone()
    assert mode == ("wal",)


def test_store_errors_are_one_line_naming_the_problem(tmp_path: Path) -> None:
    store = Store(tmp_path / "realtime.db")
    with pytest.raises(UserError, match=r"unknown runner 'bob'.*realtime runner add bob"):
        store.runner_id("bob")
    with pytest.raises(UserError, match="unknown session id 7"):
        store.session(7)
    store.close()
    db = sqlite3.connect(tmp_path / "realtime.db")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(UserError, match=f"schema version {SCHEMA_VERSION + 1}, newer"):
        Store(tmp_path / "realtime.db")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x (a)").connection.commit()
    with pytest.raises(UserError, match="not a session store"):
        Store(other)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UserError, match="cannot be opened"):
        Store(junk)


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["run", "--video", "x.npz", "--runner", "nobody"], "unknown runner 'nobody'"),
     (["analyze", "x.mp4", "--runner", "nobody"], "unknown runner 'nobody'"),
     (["report", "42", "--out", "r.html"], "unknown session id 42"),
     (["compare", "1", "2", "--out", "c.html"], "unknown session id 1"),
     (["sessions", "--runner", "nobody"], "unknown runner 'nobody'"),
     (["report", "no/such/folder", "--out", "r.html"], "neither a session id"),
     (["runner", "add", "../evil"], "runner name '../evil' is not usable"),
     (["run", "--video", "x.npz", "--runner", "anna", "--profile", "default"],
      "drop --profile")],
)
def test_cli_errors_are_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture,
                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["runner", "add", "anna"]) == 0
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_newer_schema_and_unwritable_data_dir_from_the_command_line(tmp_path: Path) -> None:
    env_home = tmp_path / "home"
    run = [sys.executable, "-m", "realtime", "sessions"]
    r = subprocess.run(run, env={**_env(), "REALTIME_HOME": str(env_home)},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "no sessions recorded" in r.stdout
    db = sqlite3.connect(env_home / "realtime.db")
    db.execute("PRAGMA user_version = 99")
    db.close()
    r = subprocess.run(run, env={**_env(), "REALTIME_HOME": str(env_home)},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "schema version 99, newer than this program's" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    r = subprocess.run(run, env={**_env(), "REALTIME_HOME": str(blocker / "home")},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "cannot be created" in r.stderr and "REALTIME_HOME" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_data_dir_that_is_not_writable_is_named(tmp_path: Path) -> None:
    """A read-only data folder: one line naming it.  Root ignores permissions, so when
    the tests run as root the check runs in a forked child that became an unprivileged
    user."""
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp())  # in /tmp itself: the unprivileged user can reach it
    base.chmod(0o755)
    ro = base / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        _check_read_only(ro)
    finally:
        shutil.rmtree(base)


def _check_read_only(ro: Path) -> None:
    import os

    if os.geteuid() != 0:
        with pytest.raises(UserError, match=f"data folder {ro} is not writable"):
            Home(ro).ensure()
        return
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        try:
            os.setgid(65534)
            os.setuid(65534)
            Home(ro).ensure()
            msg = "no error"
        except UserError as exc:
            msg = str(exc)
        except BaseException as exc:
            msg = repr(exc)
        os.write(wr, msg.encode())
        os._exit(0)
    os.close(wr)
    os.waitpid(pid, 0)
    msg = os.read(rd, 4096).decode()
    os.close(rd)
    assert msg.startswith(f"data folder {ro} is not writable"), msg
    assert "REALTIME_HOME" in msg and "\n" not in msg


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "REALTIME_HOME"}


def test_runner_profile_lives_in_the_data_folder_and_saving_keeps_comments(
        realtime_home: Path) -> None:
    assert main(["runner", "add", "anna"]) == 0
    path = home().profile("anna")
    assert path.parent == realtime_home / "profiles" and path.is_file()
    assert "# Example runner profile" in path.read_text()
    cfg = load_config(profile="anna")  # a name finds the data folder's profile
    assert cfg.calibration.targets == "baseline"
    new = CuesConfig(knee_drive_target_deg=31.5, hip_sway_limit_pct=3.2)
    saved = save_targets(path, new)
    assert saved["knee_drive_target_deg"] == 31.5
    text = path.read_text()
    assert "# Example runner profile" in text and "# amber this far below" in text
    cfg = load_config(profile=str(path))
    assert cfg.cues.knee_drive_target_deg == 31.5 and cfg.cues.hip_sway_limit_pct == 3.2
    assert cfg.calibration.targets == "profile"  # saved targets are the ones used now
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(UserError, match="already exists"):
        create_profile(path)


def test_faded_schedule_session_number_comes_from_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "realtime.db")
    store.add_runner("anna")
    for schedule, phases in (("faded", ["drill"]), ("faded", ["warm-up"]),
                             ("continuous", ["drill"]), ("faded", ["baseline", "drill"])):
        sid = store.begin_session(runner="anna", kind="live", source="s", views=["side"],
                                  folder=None, profile=None,
                                  config={"cues": {"schedule": schedule}}, version="0",
                                  session_index=0)
        for i, p in enumerate(phases):
            store.add_step(sid, i, p, _step(i))
    # only sessions that reached a drill with the faded schedule count
    assert store.earlier_sessions("anna", "faded") == 2
    assert store.earlier_sessions("anna") == 3


def test_the_wheel_ships_the_default_config(tmp_path: Path) -> None:
    """A wheel install has config/default.toml and the example profile (inside the
    package), so nothing depends on the checkout."""
    import zipfile

    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(root),
                        "-w", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        shipped = z.read("realtime/defaults/default.toml").decode()
        assert "realtime/defaults/profiles/default.toml" in z.namelist()
    assert shipped == (root / "config" / "default.toml").read_text()


def test_a_store_that_fails_mid_session_stops_recording_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The database file destroyed under a recording session: the recorder says so once
    and stops writing to it; the session (and steps.csv) would go on."""
    from realtime.store.recorder import StoreRecorder

    path = tmp_path / "realtime.db"
    store = Store(path)
    sid = store.begin_session(runner=None, kind="live", source="camera 0", views=["side"],
                              folder=None, profile=None, config={}, version="0",
                              session_index=0)
    rec = StoreRecorder(store, sid, lambda t: "drill")
    rec.on_step(_step(0, knee_drive_deg=30.0), ())
    rec.drain()
    assert store.steps(sid)[0][1].knee_drive_deg == 30.0
    rec = StoreRecorder(store, sid, lambda t: "drill")
    with path.open("r+b") as fh:  # the disk returns garbage from now on
        fh.write(b"\xff" * path.stat().st_size)
    for i in range(1, 4):
        rec.on_step(_step(i, knee_drive_deg=30.0), ())
    rec.drain()
    err = capsys.readouterr().err
    assert rec.error is not None and rec.error.startswith("the session store stopped recording")
    assert err.count("the session store stopped recording") == 1 and "Traceback" not in err
