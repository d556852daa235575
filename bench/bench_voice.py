"""Spoken cues heard through a real sound server: decision -> first audible sample.

    python bench/bench_voice.py [--cues 20] [--json]

Starts a private PulseAudio server with a null sink (tests/audio_server.py), opens the
product's mixer on it (SDL's pulseaudio driver, as on a desktop), starts the real speech
thread (pyttsx3 + espeak-ng phrases, pre-rendered, `speech.*` defaults), and says each
cue kind in turn, one every 1.5 s.  `parec` records the sink's monitor; the time from
`Speaker.say` (the cue decision) to the first sample above the noise floor in the monitor
is the latency.  It includes the monitor's capture latency (5 ms requested), so it is an
upper bound.  Also prints each phrase's audible length (goal: "drive the knee" <= 0.8 s).
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

        driver = init_mixer()
        cfg = SpeechConfig()
        results: list[tuple[str, bool]] = []
        speaker = Speaker(cfg, DEFAULT_PHRASES,
                          on_result=lambda c, s, _l: results.append((c.kind, s))).start()
        try:
            if not speaker.wait_ready(10.0):
                raise RuntimeError("the speech thread did not start")
            # The sound server's stream takes ~1.5 s to start after the mixer opens (a
            # session's warm-up is silent far longer): wait until the mixer's output
            # reaches the monitor, with a faint priming blip.
            blip = pygame.mixer.Sound(buffer=(np.sin(np.arange(2205) * 0.2) * 2000)
                                      .astype(np.int16).tobytes())
            t0 = now_ns()
            blip.play()
            while rec.onset_after(t0, 500) is None and now_ns() - t0 < 10e9:
                time.sleep(0.05)
            time.sleep(0.5)
            lat_ms: list[float] = []
            lengths: dict[str, float] = {}
            heard = 0
            for k in range(n):
                kind = CUE_KINDS[k % len(CUE_KINDS)]
                t = now_ns()
                speaker.say(Cue(kind, DEFAULT_PHRASES[kind], 5, t), t)
                time.sleep(gap_s)
                onset = rec.onset_after(t)
                if onset is None:
                    continue
                heard += 1
                lat_ms.append((onset - t) / 1e6)
                audio = rec.audio_between(t, now_ns())
                loud = np.flatnonzero(np.abs(audio) > 300)
                if loud.size:
                    lengths.setdefault(kind, (loud[-1] - loud[0]) / RATE)
        finally:
            speaker.stop()
            pygame.mixer.quit()
    return {"driver": driver, "cues": n, "heard": heard,
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
    print(f"phrase lengths at {res['rate_wpm']} words/min: " + ", ".join(
        f"{k} {v:.2f} s" for k, v in res["phrase_s"].items()))


if __name__ == "__main__":
    main()
