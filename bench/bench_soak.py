"""An unattended hour: the live path (worker thread, cue rules, logs, recorder) over one
hour of synthetic running, as fast as it goes, watching memory and threads.

A home session runs for an hour with nobody watching, so the live path must not grow
without bound or leak threads.  This drives `realtime.live.LiveRun` (headless, no speech)
with a synthetic side-view runner (with noise, dropouts and a few tracking gaps) and
prints resident memory over stream time.

    python bench/bench_soak.py [--minutes 60] [--fps 30]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--fps", type=float, default=30.0)
    args = ap.parse_args()

    from realtime.config import load_config
    from realtime.feedback.sessionlog import CueLogSink
    from realtime.live import LiveRun
    from realtime.metrics import warmup
    from realtime.pipeline import RecordedPoses
    from realtime.synthetic import synthetic_run

    warmup()
    seconds = args.minutes * 60
    gaps = [(t, t + 3.0) for t in range(600, int(seconds), 900)]  # runner steps off
    stream, truth = synthetic_run(seconds, args.fps, noise_px=2.0, dropout_rate=0.01,
                                  gaps=gaps, knee_drive_deg=lambda t: 45 + 15 * (t % 300 > 150))
    # an hour of one session: the plan must not end it after its 17 minutes
    cfg = load_config(overrides=["drill.end_when_done=false"])
    base_rss = rss_mb()
    threads0 = threading.active_count()
    with tempfile.TemporaryDirectory() as out:
        run = LiveRun(cfg, RecordedPoses(stream), "side", Path(out), seconds=None,
                      live_timing=False)
        run.prepare()  # the folder first: it must hold no results when the logs open
        run.extra_sinks = [CueLogSink(Path(out) / "cues.csv", None)]
        t0 = time.perf_counter_ns()
        run.start()
        marks = []
        pace: list[tuple[int, float]] = []  # (frames, wall s): the path's cost per frame
        next_mark = 0.0
        while run.running:
            time.sleep(0.05)
            s = run.session
            t_s = s.frames / args.fps if s else 0.0
            pace.append((s.frames if s else 0, time.perf_counter()))
            if t_s >= next_mark:
                marks.append((t_s, rss_mb()))
                next_mark += seconds / 6
        summary = run.finish()
        wall = (time.perf_counter_ns() - t0) * 1e-9
        files = {p.name: p.stat().st_size for p in Path(out).iterdir()}
    marks.append((seconds, rss_mb()))  # after finish: pose.npz written, spill read back
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}")
    print(f"stream: {args.minutes:.0f} min at {args.fps:.0f} fps = {len(stream)} frames, "
          f"{len(truth)} true steps, {len(gaps)} gaps")
    print(f"processed in {wall:.1f} s ({len(stream) / wall:.0f} frames/s); steps "
          f"{summary['steps']}, cues {summary['cues']}")
    print(f"RSS before start {base_rss:.0f} MB (includes the synthetic stream)")
    for t_s, mb in marks:
        print(f"  t = {t_s / 60:5.1f} min  RSS {mb:6.0f} MB")
    print(f"growth over the session {marks[-2][1] - marks[0][1]:+.0f} MB (the poses are "
          f"spilled to disk, not kept: {len(stream) * 33 * 4 * 4 / 1e6:.0f} MB of landmarks); "
          f"after saving {marks[-1][1] - marks[0][1]:+.0f} MB; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (saving reads "
          "the spill back)")
    # does a frame cost more late in the hour than early (anything growing with the
    # session, e.g. a scan over all steps so far)?  Cost per frame per tenth of the stream.
    tenth = len(stream) // 10
    costs = []
    for k in range(10):
        a = next(p for p in pace if p[0] >= k * tenth)
        b = next((p for p in pace if p[0] >= (k + 1) * tenth), pace[-1])
        costs.append(1e6 * (b[1] - a[1]) / max(1, b[0] - a[0]))
    print("cost per frame by tenth of the stream (us): "
          + " ".join(f"{c:.0f}" for c in costs))
    print(f"threads before {threads0}, after {threading.active_count()}")
    print("files: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sorted(files.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
