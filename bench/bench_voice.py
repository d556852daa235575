"""Spoken cues heard through a real sound server: decision -> first audible sample.

    python bench/bench_voice.py [--cues 20] [--json]

Starts a private PulseAudio server with a null sink (tests/audio_server.py), waits until
its monitor is being recorded, then opens the product's mixer on it (SDL's pulseaudio
driver, as on a desktop), starts the real speech thread (pyttsx3 + espeak-ng phrases,
pre-rendered, `speech.*` defaults), and says each cue kind in turn, one every 1.5 s, the
first as soon as the speech thread is ready (is the first cue as quick as the others?).
`parec` records the sink's monitor; the time from `Speaker.say` (the cue decision) to the
first sample above the noise floor in the monitor is the latency.  It includes the
monitor's capture latency (5 ms requested), so it is an upper bound.  Also prints each
phrase's audible length (goal: "drive the knee" <= 0.8 s).
Needs pulseaudio, pulseaudio-utils and espeak-ng (Debian packages).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.audio_server import RATE, pulse_available, pulse_null_sink


def measure(n: int, gap_s: float = 1.5) -> dict:
    """Say `n` cues through the null sink; latencies (ms) and phrase lengths (s)."""
    from realtime.clock import now_ns
    from realtime.config import CUE_KINDS, DEFAULT_PHRASES, SpeechConfig
    from realtime.types import Cue

    with pulse_null_sink() as rec:
        import pygame

        from realtime.feedback.speech import Speaker, init_mixer

        # The rig first: parec's recording of the monitor takes about a second to start
        # delivering (before that, a sound is stamped late, as if the product were slow).
        # A desktop's sound server runs long before the product starts, so the product's
        # mixer is opened only once the monitor records: its first cue is then measured
        # like any other.
        t_rig = now_ns()
        while sum(len(d) for _, d in list(rec.chunks)) < RATE and now_ns() - t_rig < 10e9:
            time.sleep(0.02)
        driver = init_mixer()
        cfg = SpeechConfig()
        results: list[tuple[str, bool]] = []
        speaker = Speaker(cfg, DEFAULT_PHRASES,
                          on_result=lambda c, s, _l: results.append((c.kind, s))).start()
        try:
            if not speaker.wait_ready(10.0):
                raise RuntimeError("the speech thread did not start")
            lat_ms: list[float] = []
            lengths: dict[str, float] = {}
            heard = 0
            first_heard = False
            for k in range(n):  # the first right after the speech thread is ready
                kind = CUE_KINDS[k % len(CUE_KINDS)]
                t = now_ns()
                speaker.say(Cue(kind, DEFAULT_PHRASES[kind], 5, t), t)
                time.sleep(gap_s)
                onset = rec.onset_after(t)
                if onset is None:
                    continue
                first_heard = first_heard or k == 0
                heard += 1
                lat_ms.append((onset - t) / 1e6)
                audio = rec.audio_between(t, now_ns())
                loud = np.flatnonzero(np.abs(audio) > 300)
                if loud.size:
                    lengths.setdefault(kind, (loud[-1] - loud[0]) / RATE)
        finally:
            speaker.stop()
            pygame.mixer.quit()
    return {"driver": driver, "cues": n, "heard": heard, "first_heard": first_heard,
            "spoken_reported": sum(1 for _, s in results if s),
            "latency_ms": lat_ms, "phrase_s": lengths, "rate_wpm": cfg.rate_wpm}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cues", type=int, default=20)
    ap.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = ap.parse_args()
    if not pulse_available():
        sys.exit("needs pulseaudio and pulseaudio-utils (apt-get install pulseaudio "
                 "pulseaudio-utils)")
    res = measure(args.cues)
    if args.json:
        print(json.dumps(res))
        return
    lat = np.asarray(res["latency_ms"])
    print(f"audio server: PulseAudio null sink via SDL driver {res['driver']!r}; "
          f"heard {res['heard']}/{res['cues']} cues (speaker reported "
          f"{res['spoken_reported']} spoken)")
    if lat.size:
        print(f"cue decision -> first audible sample in the sink's monitor: p50 "
              f"{np.percentile(lat, 50):.1f} ms, p95 {np.percentile(lat, 95):.1f} ms, max "
              f"{lat.max():.1f} ms (n={lat.size}; includes the monitor's ~5 ms capture "
              "latency)")
    if res["first_heard"] and lat.size > 1:
        print(f"the first cue, said as soon as the speech thread was ready: {lat[0]:.1f} ms "
              f"(the others {lat[1:].min():.1f}-{lat[1:].max():.1f} ms)")
    print(f"phrase lengths at {res['rate_wpm']} words/min: " + ", ".join(
        f"{k} {v:.2f} s" for k, v in res["phrase_s"].items()))


if __name__ == "__main__":
    main()
