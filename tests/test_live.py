"""Live sessions: a video played like a camera, and a camera that dies mid-session."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import threading
import time

import cv2
import numpy as np

from realtime.capture import CameraSource
from realtime.config import load_config
from realtime.live import run_live
from realtime.pipeline import ModelPoses
from realtime.pose import stream as ps
from realtime.pose.mediapipe_pose import MediaPipePose
from tests.conftest import data_file
from tests.test_capture import FakeCapture


def test_run_video_realtime_headless_logs_cues_with_times(tmp_path) -> None:
    video = data_file("videos/treadmill_side_male.mp4")
    out = tmp_path / "session"
    # no warm-up or baseline (the default plan starts with 3 silent minutes)
    r = subprocess.run([sys.executable, "-m", "realtime", "run", "--video", str(video),
                        "--realtime", "--headless", "--mute", "--out", str(out),
                        "--set", "drill.warmup_s=0", "--set", "drill.baseline_s=0"],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    assert "session:" in r.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] + summary["processing"]["dropped_frames"] == 360
    # frames dropped while the model loaded are told apart from those dropped later
    assert 0 <= summary["processing"]["dropped_while_starting"] \
        <= summary["processing"]["dropped_frames"]
    assert "while the pose model started" in r.stdout
    # What was processed depends on the machine's load (stale frames are dropped), so the
    # check is against what was processed: the recorded poses, re-measured, give the very
    # same steps (the phase column aside: the re-analysis has the default plan).
    from realtime.analyze import analyze

    again = analyze(out / "pose.npz", tmp_path / "again", load_config(), progress=False)
    assert again.steps == summary["steps"] > 0

    def without_phase(path):
        return [r.rsplit(",", 1)[0] for r in path.read_text().splitlines()]

    assert without_phase(tmp_path / "again" / "steps.csv") == without_phase(out / "steps.csv")
    lat = summary["processing"]["latency"]
    assert lat["capture_to_pose"]["n"] == summary["frames"]
    with (out / "cues.csv").open() as fh:
        cues = list(csv.DictReader(fh))
    header = (out / "cues.csv").read_text().splitlines()[0]
    assert header == "t_s,kind,text,priority,spoken,phase"
    assert {row["phase"] for row in cues} == {"drill"}
    assert cues, "the runner's knee drive is well below the default target: cues expected"
    for row in cues:  # every printed cue is logged with its stream time
        assert f"cue: {row['text']}" in r.stdout
        assert 0.0 <= float(row["t_s"]) <= 12.5
    assert len(cues) == summary["cues"]
    assert len(ps.load(out / "pose.npz")) == summary["frames"]


def test_camera_dying_mid_session_keeps_what_was_recorded(tmp_path) -> None:
    """A "camera" replaying real frames, then failing: exit 1, every file kept."""
    cap = cv2.VideoCapture(str(data_file("videos/treadmill_side_male.mp4")))
    frames = []
    while len(frames) < 150:
        ok, img = cap.read()
        assert ok
        frames.append(img)
    cap.release()
    model_ready = threading.Event()  # the "camera" starts once the model is loaded
    fake = FakeCapture([*frames, *([None] * 40)], delay_s=1 / 30, gate=model_ready)
    cfg = load_config(overrides=["capture.lost_after_s=0.3", "capture.reconnect_for_s=0"])

    def estimator() -> MediaPipePose:
        est = MediaPipePose(cfg.pose)
        model_ready.set()
        return est

    source = ModelPoses(CameraSource(cfg.capture, capture_factory=lambda i: fake), estimator)
    code = run_live(cfg, source, "side", tmp_path, headless=True, mute=True, seconds=None)
    assert code == 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert "stopped delivering frames after 150 good ones" in summary["error"]
    assert 0 < summary["frames"] <= 150
    stream = ps.load(tmp_path / "pose.npz")
    assert len(stream) == summary["frames"]
    assert np.isfinite(stream.landmarks[:, 23, 0]).mean() > 0.95
    rows = (tmp_path / "steps.csv").read_text().splitlines()
    assert len(rows) - 1 == summary["steps"] and summary["steps"] >= 5


def test_sigterm_ends_a_session_cleanly_and_keeps_its_files(tmp_path) -> None:
    """An unattended session stopped by a service manager still writes everything."""
    video = data_file("videos/treadmill_side_male.mp4")
    out = tmp_path / "s"
    proc = subprocess.Popen([sys.executable, "-m", "realtime", "run", "--video", str(video),
                             "--realtime", "--headless", "--mute", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the session records steps
        steps = out / "steps.csv"
        if steps.exists() and steps.read_text().count("\n") >= 3:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    stdout, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "session:" in stdout
    summary = json.loads((out / "summary.json").read_text())
    assert 0 < summary["frames"] < 360  # stopped early, not at the end of the clip
    assert len(ps.load(out / "pose.npz")) == summary["frames"]


def test_a_killed_session_keeps_its_poses_for_recover(tmp_path) -> None:
    """Power cut / SIGKILL: no Python cleanup runs, yet the poses can be rebuilt."""
    video = data_file("videos/treadmill_side_male.mp4")
    out = tmp_path / "s"
    args = [sys.executable, "-m", "realtime", "run", "--video", str(video), "--realtime",
            "--headless", "--mute", "--out", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait for at least 2 s of spilled poses
        spill = out / "pose.partial.bin"
        if spill.exists() and spill.stat().st_size > 60 * ps.SPILL_DTYPE.itemsize:
            break
        time.sleep(0.2)
    proc.kill()
    proc.wait(timeout=10)
    assert not (out / "pose.npz").exists()
    steps_before = (out / "steps.csv").read_text()  # written as it went, kept
    # the folder is protected: a new session there would overwrite the recording
    again = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "unfinished recording" in again.stderr
    r = subprocess.run([sys.executable, "-m", "realtime", "recover", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    stream = ps.load(out / "pose.npz")
    assert len(stream) >= 60 and stream.frames_with_pose >= 0.95 * len(stream)
    assert np.all(np.diff(stream.t) > 0) and stream.fps == 30.0
    assert not (out / "pose.partial.bin").exists()
    assert (out / "steps.csv").read_text() == steps_before
    # and the recovered stream re-measures like any recording
    r2 = subprocess.run([sys.executable, "-m", "realtime", "analyze", str(out / "pose.npz"),
                         "--out", str(tmp_path / "re"), "--quiet"], capture_output=True,
                        text=True, timeout=60)
    assert r2.returncode == 0, r2.stderr
