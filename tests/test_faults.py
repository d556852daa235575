"""Faults an unattended session meets, injected for real: a full disk, a kill, a restart."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from realtime.pose import stream as ps
from tests.conftest import data_file

CLIP = "videos/treadmill_side_male.mp4"


def _limit_files(max_bytes: int):
    """A child whose every file stops growing at max_bytes (RLIMIT_FSIZE), like a full
    disk: writes past it fail with EFBIG (SIGXFSZ ignored so the process lives)."""

    def pre() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    return pre


def test_a_full_disk_stops_recording_not_feedback(tmp_path: Path) -> None:
    """Files capped at 48 KB (the pose spill fills after ~90 frames): the session runs to
    the end with its cues, says in one line that recording stopped, and what was written
    stays readable: steps.csv rows whole, the spill recoverable."""
    out = tmp_path / "full"
    r = subprocess.run(
        [sys.executable, "-m", "realtime", "run", "--video", str(data_file(CLIP)),
         "--headless", "--mute", "--out", str(out), "--set", "drill.warmup_s=0",
         "--set", "drill.baseline_s=0"],
        capture_output=True, text=True, timeout=300, preexec_fn=_limit_files(48_000))
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    assert "pose recording to disk stopped" in r.stderr
    assert r.stderr.count("pose recording to disk stopped") == 1
    assert "cue: drive the knee" in r.stdout  # feedback went on after the disk filled
    assert "session:" in r.stdout  # and the session reached its end
    (end,) = [ln for ln in _realtime_lines(r.stderr) if "incomplete" in ln]
    # EFBIG: every file of the process is capped, the store's too (SQLite: disk I/O error)
    assert end.startswith("realtime: the recording is incomplete (File too large")
    assert "not written: pose.npz (the poses up to " in end
    assert end.endswith(f"run `realtime recover {out}`") and r.returncode == 3
    with (out / "steps.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) >= 25 and all(row["leg"] in ("L", "R") for row in rows)
    if (out / "summary.json").exists():  # all or nothing: never a torn file
        json.loads((out / "summary.json").read_text())
    assert not list(out.glob(".*.tmp"))  # no temporary left behind
    if not (out / "pose.npz").exists():  # too big for the cap: the spill is kept
        res = ps.recover(out)
        assert 50 < res.frames < 100  # what fitted in 48 KB, whole records only


@contextlib.contextmanager
def _tmpfs(where: Path, size: str):
    """A real small filesystem at `where` (tmpfs, `size` like "96k"), unmounted after.
    Mounting needs root with the right to mount (as in CI): skipped with the reason
    otherwise."""
    where.mkdir(parents=True, exist_ok=True)
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                        str(where)], capture_output=True, text=True)
    if m.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {m.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _realtime_lines(stderr: str) -> list[str]:
    """The program's own lines on stderr (MediaPipe's native start-up lines aside)."""
    return [ln for ln in stderr.splitlines() if ln.startswith("realtime:")]


def _cue_times(stdout: str) -> list[float]:
    return [float(ln[1:ln.index(" s]")]) for ln in stdout.splitlines() if "] cue: " in ln]


def test_a_real_full_filesystem_stops_recording_not_feedback(tmp_path: Path) -> None:
    """--out on a real 96 KB tmpfs (ENOSPC, as a full disk): the pose spill fills after
    ~5 s; the session runs to its end with its cues, one line says recording stopped,
    no traceback; at the end ONE line says what was not written and names `realtime
    recover DIR`, exit code 3.  What was written stays valid (steps.csv rows whole, the
    spill whole records), and once there is space, `recover` rebuilds pose.npz and the
    summary.json the session ended with."""
    with _tmpfs(tmp_path / "disk", "96k") as disk:
        out = disk / "S"
        r = subprocess.run(
            [sys.executable, "-m", "realtime", "run", "--video", str(data_file(CLIP)),
             "--headless", "--mute", "--out", str(out), "--set", "drill.warmup_s=0",
             "--set", "drill.baseline_s=0"],
            capture_output=True, text=True, timeout=300)
        assert "Traceback" not in r.stderr, r.stderr[-3000:]
        assert r.returncode == 3, r.stderr[-2000:]
        said = _realtime_lines(r.stderr)
        assert said[0] == ("realtime: pose recording to disk stopped (No space left on "
                           "device); feedback goes on, what was written stays valid")
        (end,) = [ln for ln in said if "incomplete" in ln]  # one line at the end
        assert said[-1] == end and len(said) <= 4  # plus one per writer that stopped
        assert end.startswith("realtime: the recording is incomplete (No space left on "
                              "device): not written: pose.npz (the poses up to ")
        assert end.endswith(f"Free space, then run `realtime recover {out}`")
        spilled = (out / ps.SPILL_BIN).stat().st_size
        assert spilled % ps.SPILL_DTYPE.itemsize == 0  # whole records only
        kept_s = spilled // ps.SPILL_DTYPE.itemsize / 30.0
        assert 2.0 < kept_s < 8.0  # what fitted in 96 KB
        assert any(t > kept_s + 1.0 for t in _cue_times(r.stdout))  # feedback went on
        n_steps = int(r.stdout.split(" steps, cadence")[0].rsplit(" ", 1)[1])
        with (out / "steps.csv").open() as fh:  # every row whole
            rows = list(csv.DictReader(fh))
        assert rows and all(row["leg"] in ("L", "R") and row["phase"] for row in rows)
        if "steps.csv after" not in end:
            assert len(rows) == n_steps
        assert not list(out.glob(".*.tmp"))  # no temporary left behind
        assert not (out / "pose.npz").exists()

        subprocess.run(["mount", "-o", "remount,size=4m", str(disk)], check=True)
        rec = subprocess.run([sys.executable, "-m", "realtime", "recover", str(out)],
                             capture_output=True, text=True, timeout=120)
        assert rec.returncode == 0, rec.stderr
        assert len(ps.load(out / "pose.npz")) == spilled // ps.SPILL_DTYPE.itemsize
        summary = json.loads((out / "summary.json").read_text())
        assert summary["steps"] == n_steps  # the session's own summary, via the store
        assert "session store" in summary["recovered"]
        again = subprocess.run([sys.executable, "-m", "realtime", "recover", str(out)],
                               capture_output=True, text=True, timeout=60)
        assert again.returncode == 2 and "no unfinished pose recording" in again.stderr


FREE_KB = 120  # room for the session row and a few steps (WAL pages) of the clinic schema


def test_a_full_session_store_is_completed_by_recover(tmp_path: Path) -> None:
    """$REALTIME_HOME (the SQLite store) on a real tmpfs with FREE_KB left: the store stops
    after the first steps with one line, the session goes on (steps.csv complete, on
    another disk), one line at the end names recover, exit 3; once there is space,
    `recover` adds every missing step and cue and ends the session."""
    from realtime.metrics.summary import read_steps_csv, step_row
    from realtime.store.db import Store

    with _tmpfs(tmp_path / "home", "256k") as home:
        env = {**os.environ, "REALTIME_HOME": str(home)}
        subprocess.run([sys.executable, "-m", "realtime", "sessions"], env=env, check=True,
                       capture_output=True)  # the store exists, empty
        free_kb = os.statvfs(home).f_bavail * os.statvfs(home).f_frsize // 1024
        (home / "filler").write_bytes(bytes(1024 * (free_kb - FREE_KB)))
        out = tmp_path / "S"
        r = subprocess.run(
            [sys.executable, "-m", "realtime", "run", "--video", str(data_file(CLIP)),
             "--headless", "--mute", "--out", str(out), "--set", "drill.warmup_s=0",
             "--set", "drill.baseline_s=0"],
            capture_output=True, text=True, timeout=300, env=env)
        assert "Traceback" not in r.stderr, r.stderr[-3000:]
        assert r.returncode == 3, r.stderr[-2000:]
        said = _realtime_lines(r.stderr)
        assert said[0].startswith("realtime: the session store stopped recording: ")
        assert said[0].endswith("database or disk is full (steps.csv goes on)")
        assert len(said) == 2 and said[1].startswith("realtime: the recording is incomplete (")
        assert "database or disk is full): not written: the session store after " in said[1]
        assert said[1].endswith(f"run `realtime recover {out}`")
        assert "cue: drive the knee" in r.stdout
        csv_steps = read_steps_csv(out / "steps.csv")
        store = Store(home / "realtime.db")
        ((sid, held),) = [(s.id, s.steps) for s in store.sessions()]
        assert 0 < held < len(csv_steps) and store.session(sid).status == "recording"
        store.close()

        (home / "filler").unlink()
        rec = subprocess.run([sys.executable, "-m", "realtime", "recover", str(out)],
                             capture_output=True, text=True, timeout=120, env=env)
        assert rec.returncode == 0, rec.stderr
        assert f"session {sid} completed" in rec.stdout
        store = Store(home / "realtime.db")
        try:
            row = store.session(sid)
            assert row.status == "done" and row.summary["steps"] == len(csv_steps)
            held_steps = store.steps(sid)  # every row, in order, with its phase
            assert len(held_steps) == len(csv_steps)
            for (p1, s1), (p2, s2) in zip(held_steps, csv_steps, strict=True):
                assert (p1, s1.leg, s1.unreliable) == (p2, s2.leg, s2.unreliable)
                assert all(x == y or abs(float(x) - float(y)) < 1e-3  # csv: 4 decimals
                           for x, y in zip(step_row(s1)[1:-1], step_row(s2)[1:-1],
                                           strict=True))
            with (out / "cues.csv").open() as fh:
                assert len(store.cues(sid)) == len(list(csv.DictReader(fh))) > 0
            import sqlite3

            with sqlite3.connect(home / "realtime.db") as db:
                assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            store.close()


def test_sigkill_loses_no_processed_frame(tmp_path: Path) -> None:
    """A live replay killed with SIGKILL: `realtime recover` gives back every frame the
    session had processed (the spill is written per frame, unbuffered) and the summary
    the end would have written."""
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "realtime", "run", "--video", str(data_file(CLIP)),
         "--realtime", "--headless", "--mute", "--out", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    spill = out / ps.SPILL_BIN
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (
            spill.exists() and spill.stat().st_size > 150 * ps.SPILL_DTYPE.itemsize):
        assert proc.poll() is None, "the session ended before it was killed"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    processed = spill.stat().st_size // ps.SPILL_DTYPE.itemsize  # what the OS holds
    r = subprocess.run([sys.executable, "-m", "realtime", "recover", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    back = ps.load(out / "pose.npz")
    assert processed - 1 <= len(back) <= processed
    assert json.loads((out / "summary.json").read_text())["recovered"]
    again = subprocess.run([sys.executable, "-m", "realtime", "recover", str(out)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "no unfinished pose recording" in again.stderr


def test_falling_behind_is_said_within_two_seconds(tmp_path: Path) -> None:
    """More than capture.behind_share of the camera's frames dropped over ~2 s: a notice
    naming the share and what to do; none when keeping up."""

    from realtime.config import CaptureConfig
    from realtime.live import FallingBehind

    watch = FallingBehind(CaptureConfig(), live_timing=True)
    dropped = 0
    t0 = time.monotonic()
    frames = 0
    said = ""
    while time.monotonic() - t0 < 2.5 and not said:  # 30 fps camera, 15 processed
        time.sleep(1 / 30)
        if int((time.monotonic() - t0) * 30) % 2:
            frames += 1
        else:
            dropped += 1
        said = watch.check(frames, dropped, 30.0)
    assert said.startswith("falling behind:") and said.endswith("set capture.fps = 24")
    assert time.monotonic() - t0 <= 2.5
    # already at the lowest accurate rate: a smaller picture instead
    assert watch.check(frames, dropped, 24.0).endswith("lower capture.width")
    watch.clear()
    for _ in range(40):  # keeping up: nothing dropped
        time.sleep(1 / 30)
        frames += 1
        assert watch.check(frames, dropped, 30.0) == ""


def test_the_plan_waits_while_the_runner_is_away() -> None:
    from realtime.config import DrillConfig
    from realtime.feedback.cues import PlanClock

    plan = PlanClock(DrillConfig(warmup_s=10, baseline_s=0, blocks=1, block_s=10,
                                 retest_s=0, cooldown_s=0))
    plan.start(0.0)
    plan.pause(4.0)
    assert plan.plan_time(9.0) == 4.0 and plan.name_at(20.0) == "warm-up"
    plan.resume(30.0)
    assert plan.plan_time(31.0) == 5.0 and plan.pauses == ((4.0, 30.0),)
    assert plan.name_at(36.0) == "drill" and plan.name_at(46.0) == "done"


def _gap_session(tmp_path: Path, sets: list[str], gap: tuple[float, float]) -> dict:
    from realtime.config import load_config
    from realtime.live import run_live
    from realtime.pipeline import RecordedPoses
    from realtime.synthetic import synthetic_run

    stream, _ = synthetic_run(30.0, 30.0, gaps=[gap])
    cfg = load_config(overrides=sets)
    code = run_live(cfg, RecordedPoses(stream), "side", tmp_path / "s", headless=True,
                    mute=True, seconds=None, record=False, live_timing=False)
    assert code == 0
    return json.loads((tmp_path / "s" / "summary.json").read_text())


def test_an_unattended_session_ends_after_its_plan_and_pauses_for_an_absence(tmp_path):
    """A 30 s stream, the runner away from 4 to 9 s, a plan of 10 s: the plan waits from
    5 s (1 s after the runner left) to 9 s, so the session ends by itself at ~14 s."""
    s = _gap_session(tmp_path, ["drill.warmup_s=2", "drill.baseline_s=0", "drill.blocks=1",
                                "drill.block_s=8", "drill.retest_s=0", "drill.cooldown_s=0",
                                "drill.pause_after_absent_s=1"], (4.0, 9.0))
    assert s["ended"] == "the drill plan is done"
    ((a, b),) = s["runner_away_s"]
    assert abs(a - 5.0) < 0.1 and abs(b - 9.0) < 0.1
    assert 13.5 < s["frames"] / 30.0 < 14.5  # not the whole 30 s


def test_a_runner_gone_for_good_ends_the_session(tmp_path: Path) -> None:
    s = _gap_session(tmp_path, ["drill.pause_after_absent_s=1",
                                "drill.end_after_absent_min=0.05"], (6.0, 30.0))
    assert s["ended"] == "the runner was away for 0.05 min"
    assert 8.5 < s["frames"] / 30.0 < 9.5  # 3 s after leaving at 6 s


# ------------------------------------------------------------------ camera faults


def _camera(script_factory, **cfg):
    from realtime.capture import CameraSource
    from realtime.config import CaptureConfig

    return CameraSource(CaptureConfig(**cfg), capture_factory=script_factory)


def _frames(n: int, start: int = 0):
    import numpy as np

    return [np.full((48, 64, 3), (start + i) % 256, np.uint8) for i in range(n)]


def _read_all(src, until_s: float, n: int = 10**9) -> list:
    from realtime.capture import FrameTimeout
    from realtime.errors import SourceError

    got, t_end = [], time.monotonic() + until_s
    while time.monotonic() < t_end and len(got) < n:
        try:
            f = src.read(timeout=0.1)
        except FrameTimeout:
            continue
        except SourceError:
            break
        if f is None:
            break
        got.append((time.monotonic(), f))
    return got


def test_a_short_dropout_of_a_fast_failing_driver_is_not_a_loss() -> None:
    """50 failed reads in a row within 0.25 s: under a second, so nothing is lost (the old
    count-based rule ended the session on 30)."""
    from tests.test_capture import FakeCapture

    fake = FakeCapture([*_frames(30), *([None] * 50), *_frames(30, 30)], delay_s=0.005)
    src = _camera(lambda i: fake, reconnect_for_s=0.0).start()
    last, t_end = -1, time.monotonic() + 3.0
    while last != 59 and time.monotonic() < t_end:
        f = src.read(timeout=1.0)
        last = int(f.image[0, 0, 0]) if f is not None else last
    assert last == 59  # the frames after the dropout came through
    assert src.losses == 0 and src.gaps == [] and src.failed_reads == 50
    src.stop()


def test_a_frozen_driver_is_lost_reopened_and_the_same_source_goes_on() -> None:
    """A driver repeating one picture for 2 s is lost; reopened, it delivers again and
    the same source goes on (the gap is recorded with its end)."""
    from tests.test_capture import FakeCapture

    frozen = FakeCapture([*_frames(10), *([_frames(1, 7)[0]] * 120)], delay_s=1 / 30)
    fresh = FakeCapture(_frames(250, 100), delay_s=1 / 30)
    devices = iter([frozen, fresh])
    src = _camera(lambda i: next(devices, fresh), frozen_after_s=2.0, reconnect_for_s=30.0)
    src.start()
    got = _read_all(src, 6.0)
    src.stop()
    assert src.losses == 1
    ((lost, back),) = src.gaps
    assert back > lost and back - lost < 2.0  # reopened after a short back-off
    values = [int(f.image[0, 0, 0]) for _, f in got]
    assert 100 in values and values[-1] > 130  # the fresh device's frames, same source
    assert frozen.released


def test_an_unplugged_camera_is_reopened_and_resumes_within_2_s() -> None:
    """The device fails (no frames), cannot be opened for 3 s (unplugged), then is back:
    frames resume in the same source within 2 s of its return."""
    import threading

    from tests.test_capture import FakeCapture

    plugged = threading.Event()
    back_at = [0.0]
    first = FakeCapture(_frames(20), delay_s=1 / 30)  # then None: unplugged

    def factory(i: int):
        if not plugged.is_set():
            return first if not first.released else FakeCapture([], opened=False)
        return FakeCapture(_frames(200, 50), delay_s=1 / 30)

    src = _camera(factory, lost_after_s=1.0, reconnect_for_s=60.0).start()

    def replug() -> None:
        time.sleep(3.0)
        back_at[0] = time.monotonic()
        plugged.set()

    threading.Thread(target=replug, daemon=True).start()
    got = _read_all(src, 7.0)
    src.stop()
    after = [t for t, f in got if int(f.image[0, 0, 0]) >= 50]
    assert after and after[0] - back_at[0] <= 2.0
    assert src.losses == 1 and src.status == ""


def test_a_lost_camera_is_said_once_on_screen_and_in_the_session_record(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """In a live session: "camera lost" announced once, the notice on the display state,
    one line each for lost and back on stderr (a headless, muted session's log), the
    session goes on when the camera is back, and summary.json shows the gap."""
    from realtime.config import load_config
    from realtime.live import LiveRun
    from realtime.pipeline import ModelPoses
    from realtime.types import PoseSample
    from tests.test_capture import FakeCapture

    class NoPose:
        def estimate(self, frame):
            return PoseSample.no_pose(frame.seq, frame.t_capture_ns, frame.t_capture_ns,
                                      frame.size)

        def close(self) -> None:
            pass

    devices = iter([FakeCapture(_frames(30), delay_s=1 / 30),
                    FakeCapture([], opened=False)])

    def factory(i: int):
        return next(devices, None) or FakeCapture(_frames(300, 100), delay_s=1 / 30)

    from realtime.capture import CameraSource

    cfg = load_config(overrides=["capture.lost_after_s=0.5", "capture.reconnect_for_s=30",
                                 "capture.read_timeout_s=0.3"])
    source = ModelPoses(CameraSource(cfg.capture, capture_factory=factory), NoPose)
    run = LiveRun(cfg, source, "side", tmp_path / "s", seconds=None, record=False)
    said: list[str] = []
    run.announce = said.append
    run.start()
    notices: list[str] = []
    t_end = time.monotonic() + 6.0
    while time.monotonic() < t_end:
        with contextlib.suppress(TimeoutError):
            notices.append(run.states.get(timeout=0.2).notice)
    summary = run.finish()
    assert said == ["camera lost"]
    assert any(n.startswith("camera lost (no frame for 0.5 s): reconnecting") for n in notices)
    assert any("camera back after" in n for n in notices)
    err = [ln for ln in capsys.readouterr().err.splitlines() if "camera" in ln]
    assert len(err) == 2, err
    assert err[0] == ("realtime: camera lost (no frame for 0.5 s): reconnecting for up to "
                      "30 s")
    assert err[1].startswith("realtime: camera back after ") and \
        err[1].endswith(" s: the session goes on")
    ((lost, back),) = summary["camera_gaps_s"]["side"]
    assert back is not None and back > lost
    assert summary["frames"] > 60  # frames before and after the gap, one session


def test_an_output_folder_on_a_read_only_filesystem_is_one_line(tmp_path: Path) -> None:
    """A real read-only mount (tmpfs, ro) as --out: one line, exit 2, no traceback.
    Needs root with the right to mount (as in CI); skipped where mounting is refused."""
    import pytest

    from realtime.synthetic import synthetic_run

    ro = tmp_path / "ro"
    ro.mkdir()
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)],
                       capture_output=True, text=True)
    if m.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {m.stderr.strip()}")
    try:
        src = tmp_path / "in.npz"
        ps.save(src, synthetic_run(3.0, 30.0)[0])
        for cmd in (["analyze", str(src), "--out", str(ro / "OUT"), "--quiet"],
                    ["run", "--video", str(src), "--headless", "--mute", "--out",
                     str(ro / "S")]):
            r = subprocess.run([sys.executable, "-m", "realtime", *cmd], capture_output=True,
                               text=True, timeout=120)
            assert r.returncode == 2, r.stderr
            assert "Read-only file system" in r.stderr and "Traceback" not in r.stderr
            assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    finally:
        subprocess.run(["umount", str(ro)], check=False)


def test_a_second_ctrl_c_while_saving_names_recover(tmp_path: Path, monkeypatch,
                                                     capsys) -> None:
    """Ctrl-C twice: the second lands while the session is being saved (here: made to
    land there by raising it from `finish`); the user is told how to get the poses back."""
    from realtime.config import load_config
    from realtime.live import LiveRun, run_live
    from realtime.pipeline import RecordedPoses
    from realtime.synthetic import synthetic_run

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(LiveRun, "finish", interrupted)
    stream, _ = synthetic_run(2.0, 30.0)
    code = run_live(load_config(), RecordedPoses(stream), "side", tmp_path / "s",
                    headless=True, mute=True, seconds=None, record=False, live_timing=False)
    err = capsys.readouterr().err
    assert code == 130
    assert f"run `realtime recover {tmp_path / 's'}`" in err
    assert (tmp_path / "s" / "steps.csv").exists()  # written as it went
