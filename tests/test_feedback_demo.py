"""The demo end to end: synthetic runner -> metrics -> cues -> display/speech/log."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from realtime.config import Config
from realtime.demo import IMAGE_SIZE, SyntheticRunner, render_frame, run_demo

ROOT = Path(__file__).resolve().parent.parent


def test_synthetic_runner_knee_drive_ramps_and_frames_render() -> None:
    r = SyntheticRunner()
    assert r.knee_drive_at(0.0) < 45.0 < 60.0 < r.knee_drive_at(20.0)
    lm, live = r.landmarks(1.0)
    assert lm.shape == (33, 4) and lm.dtype == np.float32
    assert np.isfinite(lm[:, :2]).all() and (lm[:, :2] >= 0).all() and (lm[:, :2] <= 1).all()
    assert live.has_pose
    img = render_frame(lm, 1.0)
    assert img.shape == (IMAGE_SIZE[1], IMAGE_SIZE[0], 3) and img.dtype == np.uint8
    assert img.std() > 10  # a picture, not a flat fill


def test_demo_with_window_cues_the_knee_and_logs(tmp_path: Path) -> None:
    shot = tmp_path / "demo.png"
    code = run_demo(3.5, headless=False, cfg=Config(), out_dir=tmp_path, screenshot=shot)
    assert code == 0
    with (tmp_path / "cues.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["kind"] for r in rows][:1] == ["knee_drive"]  # poor knee drive comes first
    assert float(rows[0]["t_s"]) < 3.5
    assert shot.exists() and shot.stat().st_size > 10_000


def test_demo_without_a_screen_falls_back_to_headless(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    env["PYTHONPATH"] = str(ROOT)
    code = ("import sys; from realtime.demo import run_demo; "
            f"sys.exit(run_demo(3.0, headless=False, mute=True, out_dir={str(tmp_path)!r}))")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "running headless" in proc.stderr
    assert "cue: drive the knee" in proc.stdout
    assert (tmp_path / "cues.csv").read_text().count("knee_drive") == 1
