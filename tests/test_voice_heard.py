"""The cues are heard: spoken through a real PulseAudio server and recorded from its
null sink's monitor (bench/bench_voice.py does the measuring; its latency figures are in
the README, never asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_cue_is_heard_through_a_sound_server_and_is_short(pulse: None,
                                                                 espeak: None) -> None:
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_voice.py"), "--cues",
                        "10", "--json"], capture_output=True, text=True, timeout=180,
                       cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["driver"] == "pulseaudio"
    assert res["heard"] == res["cues"] == 10  # each one reached the sink as sound
    assert res["spoken_reported"] == 10  # and the speech thread knew it
    assert len(res["latency_ms"]) == 10 and all(x > 0 for x in res["latency_ms"])
    # the first cue, said as soon as the speech thread is ready, is as quick as the others:
    # no start-up delay in the mixer or the stream (a relative check, not a target)
    first, others = res["latency_ms"][0], res["latency_ms"][1:]
    assert res["first_heard"] and first <= max(others) + 15.0, res["latency_ms"]
    # every default phrase is short enough to act on within a stride or two
    assert set(res["phrase_s"]) == {"knee_drive", "level_hips", "overstride", "cadence",
                                    "good_knee"}
    assert all(0.3 < s <= 0.8 for s in res["phrase_s"].values()), res["phrase_s"]
