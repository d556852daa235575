"""The demo end to end: synthetic runner -> metrics -> cues -> display/speech/log."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from realtime.config import Config
from realtime.demo import (
    IMAGE_SIZE,
    demo_stream,
    knee_drive_schedule,
    render_frame,
    run_demo,
)

ROOT = Path(__file__).resolve().parent.parent


def test_demo_runner_knee_drive_is_poor_then_good_and_frames_render() -> None:
    assert knee_drive_schedule(0.0) < 45.0 < 60.0 < knee_drive_schedule(10.0)
    assert knee_drive_schedule(22.0) < 45.0  # tiring again in a longer demo
    stream, truth = demo_stream(3.0)
    assert len(stream) == 90 and stream.image_size == IMAGE_SIZE
    assert truth and all(s.knee_drive_deg < 45.0 for s in truth)
    img = render_frame(stream.landmarks[10], float(stream.t[10]))
    assert img.shape == (IMAGE_SIZE[1], IMAGE_SIZE[0], 3) and img.dtype == np.uint8
    assert img.std() > 10  # a picture, not a flat fill
    # the runner is drawn where the landmarks are: skin-coloured pixels near the knee
    x, y = (stream.landmarks[10, 25, :2] * IMAGE_SIZE).astype(int)
    patch = img[max(0, y - 12):y + 12, max(0, x - 12):x + 12].reshape(-1, 3)
    assert (np.abs(patch.astype(int) - (140, 170, 214)).sum(axis=1) < 60).any()  # BGR skin


def test_demo_with_window_cues_the_knee_and_logs(tmp_path: Path) -> None:
    shot = tmp_path / "demo.png"
    # the promise: a new user sees and hears a cue within seconds (the poor phase is 5 s)
    code = run_demo(7.0, headless=False, cfg=Config(), out_dir=tmp_path, screenshot=shot)
    assert code == 0
    with (tmp_path / "cues.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["kind"] for r in rows][:1] == ["knee_drive"]  # poor knee drive comes first
    assert float(rows[0]["t_s"]) < 7.0
    assert shot.exists() and shot.stat().st_size > 10_000


def test_demo_without_a_screen_falls_back_to_headless(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    env["PYTHONPATH"] = str(ROOT)
    code = ("import sys; from realtime.demo import run_demo; "
            f"sys.exit(run_demo(7.0, headless=False, mute=True, out_dir={str(tmp_path)!r}))")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "running headless" in proc.stderr
    assert "cue: drive the knee" in proc.stdout
    assert (tmp_path / "cues.csv").read_text().count("knee_drive") >= 1
