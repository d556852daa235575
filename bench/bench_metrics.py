"""Metrics-stage figures: per-frame latency, batch throughput, numba start-up, lag, delay.

    python bench/bench_metrics.py [--seconds 3600] [--fps 60]

Prints numbers; asserts nothing (timings belong here, never in tests).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from realtime.config import MetricsConfig  # noqa: E402
from realtime.metrics import (  # noqa: E402
    GaitAnalyzer,
    analyze_stream,
    measure_filter_lag,
    warmup,
)
from realtime.pipeline import settle_memory  # noqa: E402
from realtime.synthetic import synthetic_run  # noqa: E402

FIRST_CALL = """
import time
t0 = time.perf_counter_ns()
from realtime.metrics import warmup
t1 = time.perf_counter_ns()
warmup()
t2 = time.perf_counter_ns()
print((t1 - t0) / 1e9, (t2 - t1) / 1e9)
"""


def per_frame(cfg: MetricsConfig, seconds: float, fps: float) -> np.ndarray:
    ps, _ = synthetic_run(seconds, fps, noise_px=2.0, seed=1)
    ga = GaitAnalyzer(cfg, ps.view, ps.image_size)
    lms = [np.ascontiguousarray(ps.landmarks[i]) for i in range(len(ps))]
    ts = [float(x) for x in ps.t]
    settle_memory()  # as a session does before its first frame
    dt = np.empty(len(ps), np.int64)
    clock = time.perf_counter_ns
    for i in range(len(ps)):
        t0 = clock()
        ga.update(ts[i], lms[i])
        dt[i] = clock() - t0
    return dt / 1e3


def live_state(cfg: MetricsConfig) -> np.ndarray:
    """Cost of reading `.live` (the pipeline reads it every frame)."""
    ps, _ = synthetic_run(20.0, 30.0, noise_px=2.0, seed=1)
    ga = GaitAnalyzer(cfg, ps.view, ps.image_size)
    dt = np.empty(len(ps), np.int64)
    clock = time.perf_counter_ns
    for i in range(len(ps)):
        ga.update(float(ps.t[i]), ps.landmarks[i])
        t0 = clock()
        _ = ga.live
        dt[i] = clock() - t0
    return dt / 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=3600.0, help="batch stream length")
    ap.add_argument("--fps", type=float, default=60.0)
    args = ap.parse_args()
    cfg = MetricsConfig()

    out = subprocess.run([sys.executable, "-c", FIRST_CALL], capture_output=True, text=True,
                         cwd=ROOT, check=True)  # fills the cache if it is cold
    out = subprocess.run([sys.executable, "-c", FIRST_CALL], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    imp, first = (float(x) for x in out.stdout.split())
    print(f"numba first call, warm cache (fresh process): warmup() {first * 1e3:.0f} ms "
          f"(import {imp * 1e3:.0f} ms)")

    warmup()
    us = per_frame(cfg, 120.0, 30.0)
    print(f"per-frame update, 30 fps, 2 px noise, {us.size} frames: p50 {np.percentile(us, 50):.1f}"
          f" us, p99 {np.percentile(us, 99):.1f} us, max {us.max():.0f} us")

    us = live_state(cfg)
    print(f"reading .live: p50 {np.percentile(us, 50):.1f} us, p99 {np.percentile(us, 99):.1f} us")

    t0 = time.perf_counter_ns()
    ps, _ = synthetic_run(args.seconds, args.fps, noise_px=2.0, seed=2)
    t1 = time.perf_counter_ns()
    steps, ga = analyze_stream(ps, cfg)
    t2 = time.perf_counter_ns()
    print(f"synthetic {args.seconds:.0f} s at {args.fps:.0f} fps ({len(ps)} frames): generate "
          f"{(t1 - t0) / 1e9:.2f} s, analyze_stream {(t2 - t1) / 1e9:.2f} s "
          f"({len(ps) / ((t2 - t1) / 1e9) / 1e3:.0f} k frames/s), {len(steps)} steps")

    for fps in (30.0, 60.0):
        lag = measure_filter_lag(cfg, fps)
        print(f"display smoothing (One Euro) lag on a 1.4 Hz foot-like signal at {fps:.0f} fps: "
              f"{lag * 1e3:.1f} ms (metrics read unsmoothed landmarks)")
        ps, _ = synthetic_run(60.0, fps, noise_px=2.0, seed=3)
        _, ga = analyze_stream(ps, cfg)
        d = [e.t_detected_s - e.t_s for e in ga.events if e.kind == "IC"]
        w = [s.t_detected_s - s.t_peak_s for s in ga.swings]
        print(f"synthetic runner at {fps:.0f} fps: contact reported after (frame - contact) "
              f"median {np.median(d) * 1e3:.0f} ms, p95 {np.percentile(d, 95) * 1e3:.0f} ms; "
              f"knee drive final after its peak: median {np.median(w) * 1e3:.0f} ms "
              "(against force and mocap truth: bench_cue_delay.py)")


if __name__ == "__main__":
    main()
