"""The unattended-hour rig (bench/bench_soak_live.py) in a shortened form: the real clip
looped seamlessly through `run_live` with the real model, window, speech and store.

The hour itself is a benchmark (its figures are in the README); here a 45 s run checks
that the rig measures what it says: every frame's latency, the step chain across the
loop's seams, cues heard at the sound server."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.conftest import data_file

ROOT = Path(__file__).resolve().parent.parent


def _bench():
    spec = importlib.util.spec_from_file_location("bench_soak_live",
                                                  ROOT / "bench" / "bench_soak_live.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_loop_seam_is_where_the_picture_repeats() -> None:
    """A picture sequence with a known 23-frame period and a slow drift: the seam found
    from pixels alone joins two frames a whole number of periods apart."""
    bench = _bench()
    rng = np.random.default_rng(5)
    base = rng.integers(0, 255, (23, 64, 36, 3)).astype(np.float32)
    frames = [np.clip(base[i % 23] + 0.05 * i, 0, 255).astype(np.uint8) for i in range(200)]
    a, b, seam, step = bench.find_seam(frames, 10.0)
    assert (b - a) % 23 == 0 and b - a >= 90
    assert seam < 0.1 * step


def test_a_short_soak_keeps_the_chain_across_the_seams(tmp_path: Path, pulse: None,
                                                        espeak: None) -> None:
    clip = data_file("videos/treadmill_side_male.mp4")
    out = tmp_path / "soak.json"
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_soak_live.py"),
                        "--minutes", "0.75", "--window", "0.25", "--clip", str(clip),
                        "--json", str(out)], capture_output=True, text=True, timeout=300,
                       cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads(out.read_text())
    assert res["exit_code"] == 0
    assert res["minutes"] > 0.6  # the plan ended the session, not an error
    assert res["steps"] > 60  # ~168 steps a minute on this clip
    assert res["chain_breaks"] == 0, res["break_at_s"]  # 4-5 seams crossed
    assert res["cues"] >= 1 and res["spoken"] == res["cues"] == res["onsets"]
    assert res["latency_first"]["n"] > 100 and res["latency_last"]["n"] > 100
    assert len(res["rss_marks"]) > 10
