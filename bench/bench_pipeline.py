"""Pipeline throughput on the treadmill clip: decode-only, pose-only and full `analyze` fps.

The goal is full / pose-only >= 0.9: everything around the model (decode, metrics, files)
may add no more than 10 % to the model's own cost.  All are measured in one run, on the
same machine state; the model on a half-size picture too (what the "falling behind"
notice's "lower capture.width" saves).

    python bench/bench_pipeline.py [VIDEO] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT.parent / "shared" / "data" / "videos" / "treadmill_side_male.mp4"


def decode_only(path: Path) -> tuple[int, float]:
    from realtime.capture import VideoFileSource

    src = VideoFileSource(path).start()
    t0 = time.perf_counter_ns()
    n = 0
    while src.read(timeout=30) is not None:
        n += 1
    dt = (time.perf_counter_ns() - t0) * 1e-9
    src.stop()
    return n, n / dt


def pose_only(path: Path, scale: float = 1.0) -> tuple[int, float]:
    """The model alone, on frames decoded (and scaled by `scale`) beforehand into memory."""
    from dataclasses import replace

    import cv2

    from realtime.capture import VideoFileSource
    from realtime.config import PoseConfig
    from realtime.pose.mediapipe_pose import MediaPipePose

    src = VideoFileSource(path).start()
    frames = []
    while (f := src.read(timeout=30)) is not None:
        if scale != 1.0:
            f = replace(f, image=cv2.resize(f.image, None, fx=scale, fy=scale,
                                            interpolation=cv2.INTER_AREA))
        frames.append(f)
    src.stop()
    est = MediaPipePose(PoseConfig())
    est.estimate(frames[0])  # model start-up is not throughput
    t0 = time.perf_counter_ns()
    for f in frames:
        est.estimate(f)
    dt = (time.perf_counter_ns() - t0) * 1e-9
    est.close()
    return len(frames), len(frames) / dt


def full(path: Path) -> tuple[int, float, int]:
    from realtime.analyze import analyze
    from realtime.config import load_config

    with tempfile.TemporaryDirectory() as out:
        res = analyze(path, out, load_config(), view="side", progress=False)
    return res.frames, res.fps, res.steps


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?", default=str(DEFAULT))
    ap.add_argument("--repeat", type=int, default=1, help="repeat and keep the best")
    args = ap.parse_args()
    path = Path(args.video)
    if not path.exists():
        print(f"video not found: {path}", file=sys.stderr)
        return 2
    from realtime.metrics import warmup

    warmup()
    dec, pose, half, fullr = [], [], [], []
    for _ in range(args.repeat):
        dec.append(decode_only(path))
        pose.append(pose_only(path))
        half.append(pose_only(path, 0.5))  # what lowering capture.width saves
        fullr.append(full(path))
    n_dec, f_dec = max(dec, key=lambda x: x[1])
    n_pose, f_pose = max(pose, key=lambda x: x[1])
    n_full, f_full, steps = max(fullr, key=lambda x: x[1])
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; {time.strftime('%Y-%m-%d')}")
    print(f"clip: {path.name}")
    print(f"decode only : {f_dec:7.1f} fps  ({n_dec} frames)")
    print(f"pose only   : {f_pose:7.1f} fps  ({n_pose} frames, pre-decoded)")
    n_half, f_half = max(half, key=lambda x: x[1])
    print(f"pose only, half-size picture: {f_half:7.1f} fps  ({n_half} frames; "
          f"{100 * (1 - f_pose / f_half):.0f} % less time a frame)")
    print(f"full analyze: {f_full:7.1f} fps  ({n_full} frames, {steps} steps)")
    print(f"ratio full / pose-only: {f_full / f_pose:.3f}  (goal >= 0.9)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
