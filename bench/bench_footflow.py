"""What the feet's pixel evidence costs per frame, beside the pose model it rides with.

    python bench/bench_footflow.py [--clip PATH] [--repeat 3]

Decodes the shared treadmill clip once, runs BlazePose on every frame (its landmarks
place the feet's boxes), then times `FootFlow.measure` on every frame, `repeat` times,
and the model itself on the same frames in the same sitting (the budget the flow shares:
the live path has one frame period, 33 ms at 30 fps, for decode + model + everything
else).  Prints p50 / p95 / max per frame and the share of the model's time.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_soak_live import decode  # noqa: E402  (the clip's frames, in memory)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", type=Path,
                    default=ROOT.parent / "shared" / "data" / "videos" / "treadmill_side_male.mp4")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()


    from realtime.config import PoseConfig
    from realtime.pose.footflow import FootFlow
    from realtime.pose.mediapipe_pose import MediaPipePose
    from realtime.types import Frame

    frames, fps = decode(args.clip)
    model = MediaPipePose(PoseConfig(foot_flow=False))
    lms = []
    model_ns = []
    for k, img in enumerate(frames):
        t0 = time.perf_counter_ns()
        s = model.estimate(Frame(k, round(k / fps * 1e9), img))
        model_ns.append(time.perf_counter_ns() - t0)
        lms.append(s.landmarks)
    model.close()
    flow_ns = []
    measured = 0
    for _ in range(args.repeat):
        ff = FootFlow()
        for k, img in enumerate(frames):
            t0 = time.perf_counter_ns()
            out = ff.measure(img, round(k / fps * 1e9), lms[k])
            flow_ns.append(time.perf_counter_ns() - t0)
            measured += int(np.isfinite(out[:, 0]).sum())
    f = np.asarray(flow_ns[len(frames):] or flow_ns) * 1e-3  # first pass warms caches
    m = np.asarray(model_ns[5:]) * 1e-3
    h, w = frames[0].shape[:2]
    print(f"{date.today()} {platform.machine()} {os.cpu_count()} cores; {args.clip.name} "
          f"{w}x{h}, {len(frames)} frames, flow {args.repeat} passes")
    print(f"foot flow per frame (both feet): p50 {np.percentile(f, 50):.0f} us, p95 "
          f"{np.percentile(f, 95):.0f} us, max {f.max():.0f} us; feet measured in "
          f"{measured / (2 * len(frames) * args.repeat):.0%} of frame x foot")
    print(f"BlazePose per frame (same sitting): p50 {np.percentile(m, 50) / 1e3:.1f} ms, "
          f"p95 {np.percentile(m, 95) / 1e3:.1f} ms; the flow adds "
          f"{np.percentile(f, 50) / np.percentile(m, 50):.1%} of the model's median time")


if __name__ == "__main__":
    main()
