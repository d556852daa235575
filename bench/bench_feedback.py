"""Feedback-layer figures: display frame time, cue -> audio latency, decide() time.

    python bench/bench_feedback.py [--frames 300] [--trials 12]

- Display: `Display.render` of a 1280x720 camera frame with skeleton, gauges, history and
  cue into a 1280x720 and a 1920x1080 window; offscreen (SDL dummy video) unless DISPLAY
  is set, e.g. `xvfb-run -a python bench/bench_feedback.py` for a real X11 flip.
- Speech latency, decision -> first audio sample:
  * prerender: SDL's disk audio driver writes what a sound card would be fed, in real
    time; a thread watches the file and stamps the first non-silent sample after `say()`.
  * live pyttsx3: its espeak driver synthesises the whole phrase, then runs `aplay`; an
    `aplay` stand-in on PATH stamps its own start through a FIFO.  That is a lower bound
    (a real aplay still opens the ALSA device) and the audio cannot start earlier.
- Cue rules: `decide_swing()` + `decide()` per step (event delays: bench_cue_delay.py).
Prints figures only; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import math
import os
import stat
import sys
import tempfile
import threading
import time
from pathlib import Path

TMP = Path(tempfile.mkdtemp(prefix="bench-feedback-"))
RAW = TMP / "audio.raw"
if not os.environ.get("DISPLAY"):  # under X (e.g. xvfb-run) the display flips for real
    os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "disk"
os.environ["SDL_DISKAUDIOFILE"] = str(RAW)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from realtime.clock import now_ns  # noqa: E402
from realtime.config import DEFAULT_PHRASES, Config, CuesConfig, SpeechConfig  # noqa: E402
from realtime.types import (  # noqa: E402
    Cue,
    DisplayState,
    Frame,
    LiveState,
    PoseSample,
    Step,
    ViewImage,
)


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if xs else math.nan


def bench_display(n: int, window: tuple[int, int] = (1280, 720), two: bool = False) -> None:
    """One display frame; with `two`, a two-camera frame: a 720x1280 portrait side picture
    and a 960x540 rear picture beside it, both with skeletons."""
    import dataclasses

    from realtime.demo import demo_stream
    from realtime.feedback.display import Display

    cfg = Config()
    cfg = dataclasses.replace(cfg, display=dataclasses.replace(
        cfg.display, width=window[0], height=window[1]))
    d = Display(cfg)
    stream, _ = demo_stream((n + 20) / 30.0 + 1.0)
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (1280, 720, 3) if two else (720, 1280, 3), dtype=np.uint8)
    rear = rng.integers(0, 255, (540, 960, 3), dtype=np.uint8)
    steps = tuple(Step("L" if i % 2 else "R", i * 0.35, cadence_spm=170.0 + i % 5,
                       knee_drive_deg=40.0 + i * 0.5, hip_sway_pct=2.0 + (i % 7) * 0.5,
                       confidence=0.9) for i in range(60))
    times = []
    for i in range(n + 20):
        t = i / 30.0
        lm, live = stream.landmarks[i], LiveState(t, True)
        img = np.roll(base, i, axis=1)  # new pixels every frame
        cue = Cue("knee_drive", "drive the knee", 5, int((t - 0.5) * 1e9))
        size = (img.shape[1], img.shape[0])
        second = ViewImage("rear", Frame(i, 0, np.roll(rear, i, axis=1)),
                           PoseSample(i, 0, 0, lm, None, (960, 540)), True) if two else None
        st = DisplayState(t, Frame(i, 0, img), PoseSample(i, 0, 0, lm, None, size),
                          live, steps[i % 30: i % 30 + 30], cue, "drill 2/4", 30.0,
                          second=second)
        t0 = now_ns()
        d.render(st)
        if i >= 20:  # first frames fill the font caches
            times.append((now_ns() - t0) / 1e6)
    import pygame

    driver = pygame.display.get_driver()
    what = "720x1280 side + 960x540 rear frames" if two else "1280x720 frame"
    print(f"display ({driver}) {what} -> {window[0]}x{window[1]} window: "
          f"p50 {pct(times, 50):.2f} ms, "
          f"p99 {pct(times, 99):.2f} ms, max {max(times):.2f} ms  (n={n})")
    d.close()


def watch_disk(stop: threading.Event, marks: list[tuple[int, int]]) -> None:
    """Stamp (time, byte offset) of the first non-silent sample after each quiet gap."""
    while not RAW.exists() and not stop.is_set():
        time.sleep(0.001)
    pos = 0
    loud_until = 0
    with RAW.open("rb") as fh:
        while not stop.is_set():
            fh.seek(pos)
            chunk = fh.read()
            if len(chunk) < 2:
                time.sleep(0.0005)
                continue
            t = now_ns()
            usable = len(chunk) - len(chunk) % 2
            data = np.frombuffer(chunk[:usable], np.int16)
            loud = np.flatnonzero(np.abs(data) > 300)
            if loud.size and pos + 2 * int(loud[0]) >= loud_until:
                marks.append((t, pos + 2 * int(loud[0])))
            if loud.size:
                loud_until = pos + 2 * int(loud[-1]) + 2 * 22050 // 5  # 200 ms of quiet
            pos += usable


def bench_prerender(trials: int) -> None:
    from realtime.feedback.speech import Speaker

    done = threading.Event()
    sp = Speaker(SpeechConfig(mode="prerender"), DEFAULT_PHRASES,
                 on_result=lambda c, s, lat: done.set()).start()
    sp.wait_ready(30.0)
    import pygame

    print(f"prerender: {len(DEFAULT_PHRASES)} phrases rendered in {sp.render_s * 1e3:.0f} ms; "
          f"mixer {pygame.mixer.get_init()}, driver {sp.driver}")
    stop = threading.Event()
    marks: list[tuple[int, int]] = []
    th = threading.Thread(target=watch_disk, args=(stop, marks), daemon=True)
    th.start()
    time.sleep(0.3)
    lat = []
    rng = np.random.default_rng(1)
    kinds = list(DEFAULT_PHRASES)
    for i in range(trials):
        n0 = len(marks)
        done.clear()
        t_dec = now_ns()
        kind = kinds[i % len(kinds)]
        sp.say(Cue(kind, DEFAULT_PHRASES[kind], 5, 0), t_dec)
        done.wait(10.0)
        time.sleep(0.25 + rng.uniform(0, 0.05))  # de-phase from the mixer's buffer clock
        new = [m for m in marks[n0:] if m[0] >= t_dec]
        if new:
            lat.append((new[0][0] - t_dec) / 1e6)
    stop.set()
    sp.stop()
    hop = [x / 1e6 for x in sp.latencies_ns]
    print(f"cue latency, prerender + pygame.mixer (decision -> first sample out of SDL): "
          f"p50 {pct(lat, 50):.1f} ms, p95 {pct(lat, 95):.1f} ms (n={len(lat)}/{trials}); "
          f"decision -> Channel.play p50 {pct(hop, 50):.2f} ms")


def bench_live(trials: int) -> None:
    from realtime.feedback.speech import Speaker

    fifo = TMP / "aplay.fifo"
    os.mkfifo(fifo)
    shim_dir = TMP / "bin"
    shim_dir.mkdir()
    shim = shim_dir / "aplay"
    shim.write_text(f'#!/bin/sh\necho go > "{fifo}"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    os.environ["PATH"] = f"{shim_dir}{os.pathsep}{os.environ['PATH']}"
    stamps: list[int] = []

    def reader() -> None:
        while True:
            with fifo.open() as fh:
                if fh.readline():
                    stamps.append(now_ns())

    threading.Thread(target=reader, daemon=True).start()
    done = threading.Event()
    sp = Speaker(SpeechConfig(mode="live"), DEFAULT_PHRASES,
                 on_result=lambda c, s, lat: done.set()).start()
    sp.wait_ready(30.0)
    assert sp.mode == "live", sp.mode
    lat = []
    kinds = list(DEFAULT_PHRASES)
    for i in range(trials):
        n0 = len(stamps)
        done.clear()
        t_dec = now_ns()
        kind = kinds[i % len(kinds)]
        sp.say(Cue(kind, DEFAULT_PHRASES[kind], 5, 0), t_dec)
        done.wait(10.0)
        time.sleep(0.05)
        if len(stamps) > n0:
            lat.append((stamps[n0] - t_dec) / 1e6)
    sp.stop()
    print(f"cue latency, live pyttsx3 say() (decision -> aplay exec, a lower bound): "
          f"p50 {pct(lat, 50):.1f} ms, p95 {pct(lat, 95):.1f} ms (n={len(lat)}/{trials})")


def bench_decide(n: int) -> None:
    import math

    from realtime.feedback.cues import CueState, decide, decide_swing
    from realtime.types import Swing

    cfg = CuesConfig()
    rng = np.random.default_rng(2)
    steps = [Step("L" if i % 2 else "R", i * 0.35, cadence_spm=float(rng.normal(168, 5)),
                  knee_drive_deg=float(rng.normal(52, 8)), overstride_pct=float(rng.normal(8, 4)),
                  hip_sway_pct=float(abs(rng.normal(3, 1.5))), confidence=0.9)
             for i in range(n)]
    state = CueState()
    times = []
    n_cues = 0
    for i, s in enumerate(steps):
        t0 = now_ns()
        sw = Swing(s.leg, i * 0.35, s.knee_drive_deg, math.nan, True, i * 0.35)
        state, cues = decide_swing(state, sw, i * 0.35, cfg)
        state, more = decide(state, s, i * 0.35, cfg, cadence_spm=s.cadence_spm)
        times.append((now_ns() - t0) / 1e3)
        n_cues += len(cues) + len(more)
    print(f"cue rules decide_swing() + decide(): p50 {pct(times, 50):.1f} µs, p99 "
          f"{pct(times, 99):.1f} µs per step ({n} steps, {n_cues} cues)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--trials", type=int, default=12)
    args = ap.parse_args()
    bench_decide(5000)
    bench_display(args.frames)
    bench_display(args.frames // 2, (1920, 1080))
    bench_display(args.frames, two=True)
    bench_prerender(args.trials)
    bench_live(args.trials)
    os._exit(0)  # the FIFO reader thread blocks in open(); nothing left to flush


if __name__ == "__main__":
    main()
