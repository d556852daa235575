"""How much this machine's speed moves by itself: the pose model alone, for a long while.

    python bench/bench_model_steadiness.py [--minutes 20] [--window 1] [--clip VIDEO]

Why this exists: the unattended-hour soak (`bench_soak_live.py`) compares capture->display
latency of its first and last 5 minutes, and the model's own time per frame makes up
most of that latency.  This runs nothing but the model (BlazePose full, the product's
`MediaPipePose`) on the same looping clip, released at the clip's rate through the same
newest-only slot, with no metrics, display, speech or files.  Whatever its time per frame
does over the run is the machine, not the program.

Printed per window: the model's p50 and p90 wall time per frame, the process's CPU time
per frame (if that rises with the wall time, the cores themselves ran slower; if only
the wall time rises, the model waited for a core), frames dropped, and the CPU steal and
other processes' CPU as a share of the machine.  At the end: the largest and smallest
window p50, and the last window's p50 against the first's.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_soak_live import (  # a sibling script, not a package
    CLIP,
    LoopedClip,
    machine_cpu_s,
    own_cpu_s,
    seamless_loop,
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--window", type=float, default=1.0, help="minutes per printed window")
    ap.add_argument("--clip", type=Path, default=CLIP)
    args = ap.parse_args()

    from realtime.config import PoseConfig
    from realtime.pose.mediapipe_pose import MediaPipePose

    loop, fps = seamless_loop(args.clip)
    print(f"the model alone at {fps:.2f} fps for {args.minutes:g} min, windows of "
          f"{args.window:g} min")
    model = MediaPipePose(PoseConfig())
    source = LoopedClip(loop, fps).start()
    ncpu = os.cpu_count() or 1
    rows: list[tuple[float, float, float, float, float, float]] = []
    t0 = time.monotonic()
    end = t0 + 60.0 * args.minutes
    print(" min | model p50  p90 ms | CPU ms/frame | dropped % | steal % | others %")
    try:
        while time.monotonic() < end:
            w_end = min(end, time.monotonic() + 60.0 * args.window)
            walls: list[float] = []
            st0, busy0 = machine_cpu_s()
            own0, drop0, w0 = own_cpu_s(), source.dropped, time.monotonic()
            while time.monotonic() < w_end:
                frame = source.read(2.0)
                t = time.perf_counter_ns()
                model.estimate(frame)  # type: ignore[arg-type]
                walls.append((time.perf_counter_ns() - t) / 1e6)
            st1, busy1 = machine_cpu_s()
            own = own_cpu_s() - own0
            span = max(1e-9, (time.monotonic() - w0) * ncpu)
            lost = source.dropped - drop0
            n = len(walls)
            row = (
                (w0 - t0) / 60, float(np.percentile(walls, 50)), float(np.percentile(walls, 90)),
                1000 * own / max(1, n), 100 * lost / max(1, n + lost),
                100 * (st1 - st0) / span,
            )
            others = 100 * ((busy1 - busy0) - own) / span
            rows.append(row)
            print(f"{row[0]:4.0f} | {row[1]:9.1f} {row[2]:4.1f}    | {row[3]:12.1f} | "
                  f"{row[4]:9.1f} | {row[5]:7.1f} | {others:8.1f}", flush=True)
    finally:
        source.stop()
        model.close()
    p50 = [r[1] for r in rows]
    cpu = [r[3] for r in rows]
    print(f"window p50: min {min(p50):.1f} ms, max {max(p50):.1f} ms (max/min "
          f"{max(p50) / min(p50):.2f}); last/first {p50[-1] / p50[0]:.3f}; CPU per frame "
          f"min {min(cpu):.1f}, max {max(cpu):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
