"""`realtime analyze` end to end on the real treadmill clip, and re-analysis of its pose stream."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from realtime.pose import stream as ps
from tests.conftest import data_file

RUN_ONLY = ("processing", "input")  # how fast and from where: not a property of the gait


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory):
    video = data_file("videos/treadmill_side_male.mp4")
    out = tmp_path_factory.mktemp("analyze")
    r = subprocess.run([sys.executable, "-m", "realtime", "analyze", str(video), "--out",
                        str(out / "OUT"), "--quiet"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return out, r


def test_video_analysis_processes_every_frame(analyzed) -> None:
    out, r = analyzed
    stream = ps.load(out / "OUT" / "pose.npz")
    assert len(stream) == 360
    assert stream.frames_with_pose / len(stream) >= 0.99
    assert stream.view == "side" and stream.image_size == (720, 1280) and stream.fps == 30.0
    np.testing.assert_allclose(stream.t, np.arange(360) / 30.0, atol=1e-9)
    assert "fps" in r.stdout and "360 frames" in r.stdout
    summary = json.loads((out / "OUT" / "summary.json").read_text())
    assert summary["frames"] == 360 and summary["frames_with_pose"] >= 357
    assert summary["processing"]["fps"] > 0
    header = (out / "OUT" / "steps.csv").read_text().splitlines()[0]
    assert header.startswith("leg,t_contact_s,cadence_spm,knee_drive_deg")


def test_reanalysing_the_pose_stream_gives_identical_steps_and_summary(analyzed) -> None:
    out, _ = analyzed
    r = subprocess.run([sys.executable, "-m", "realtime", "analyze", str(out / "OUT" / "pose.npz"),
                        "--out", str(out / "OUT2"), "--quiet"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    steps1 = (out / "OUT" / "steps.csv").read_text()
    steps2 = (out / "OUT2" / "steps.csv").read_text()
    assert steps1.count("\n") > 20  # a real clip of ~34 steps, not an empty file
    assert steps1 == steps2
    s1 = json.loads((out / "OUT" / "summary.json").read_text())
    s2 = json.loads((out / "OUT2" / "summary.json").read_text())
    for key in RUN_ONLY:
        s1.pop(key, None)
        s2.pop(key, None)
    assert s1 == s2
    assert not (out / "OUT2" / "pose.npz").exists()  # nothing new to record
