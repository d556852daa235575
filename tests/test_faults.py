"""Faults an unattended session meets, injected for real: a full disk, a kill, a restart."""

from __future__ import annotations

import csv
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

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
    with (out / "steps.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) >= 25 and all(row["leg"] in ("L", "R") for row in rows)
    if (out / "summary.json").exists():  # all or nothing: never a torn file
        json.loads((out / "summary.json").read_text())
    assert not list(out.glob(".*.tmp"))  # no temporary left behind
    if not (out / "pose.npz").exists():  # too big for the cap: the spill is kept
        res = ps.recover(out)
        assert 50 < res.frames < 100  # what fitted in 48 KB, whole records only


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
    from types import SimpleNamespace

    from realtime.config import Config
    from realtime.live import LiveRun

    run = LiveRun.__new__(LiveRun)
    run.cfg, run.live_timing = Config(), True
    from collections import deque

    run._drop_hist = deque()
    src = SimpleNamespace(dropped=0)
    ch = SimpleNamespace(source=src)
    t0 = time.monotonic()
    frames = 0
    said = ""
    while time.monotonic() - t0 < 2.5 and not said:  # 30 fps camera, 15 processed
        time.sleep(1 / 30)
        if int((time.monotonic() - t0) * 30) % 2:
            frames += 1
        else:
            src.dropped += 1
        said = run._behind(ch, frames)
    assert said.startswith("falling behind:") and "lower capture.fps" in said
    assert time.monotonic() - t0 <= 2.5
    run._drop_hist.clear()
    for _ in range(40):  # keeping up: nothing dropped
        time.sleep(1 / 30)
        frames += 1
        assert run._behind(ch, frames) == ""
