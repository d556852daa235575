"""Steps found in a recording when frames go missing at random, as a live camera drops them.

Why this exists: a live camera's frames reach the metrics unevenly (the newest-only slot
drops whatever the model could not take), while `realtime analyze` sees every frame.  A walk
seen from behind gives no running step with every frame, yet a two-camera test under load
once reported one.  This replays one recording's poses with a share of frames dropped at
random, many times, and prints how often any step appears and what those steps look like,
so a change to the gait rules can be judged on it.

    python tools/dropped_frames.py ../shared/data/videos/walk_rear.mp4 --view rear
    python tools/dropped_frames.py OUT/pose.npz          # a pose stream knows its view

A video is run through the pose model once (every frame), then only the metrics run, on
the frames `realtime.validation.score.drop_frames` keeps (the first and last always).
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from realtime.analyze import analyze
from realtime.config import Config
from realtime.metrics import GaitAnalyzer
from realtime.pose import stream as ps
from realtime.validation.score import drop_frames, run_analyzer


def poses(path: Path, view: str | None, cfg: Config) -> ps.PoseStream:
    if path.suffix == ".npz":
        return ps.load(path)
    with tempfile.TemporaryDirectory() as out:
        analyze(path, Path(out) / "a", cfg, view=view, progress=False)  # type: ignore[arg-type]
        return ps.load(Path(out) / "a" / "pose.npz")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", type=Path, help="a video or a .npz pose stream")
    ap.add_argument("--view", choices=("side", "rear"), help="for a video (default: side)")
    ap.add_argument("--keep", type=float, nargs="+", default=[1.0, 0.8, 0.66, 0.5, 0.4],
                    help="shares of frames kept")
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    cfg = Config()
    s = poses(args.input, args.view, cfg)
    rng = np.random.default_rng(args.seed)
    print(f"{args.input.name}: {len(s.t)} frames at {s.fps:.2f} fps, view {s.view}; "
          f"{args.trials} trials per share, seed {args.seed}")
    for keep_p in args.keep:
        counts, conf, flags = [], [], Counter()
        for _ in range(args.trials):
            found = run_analyzer(GaitAnalyzer(cfg.metrics, s.view, s.image_size),
                                 drop_frames(s, keep_p, rng))
            counts.append(len(found))
            conf += [st.confidence for st in found]
            flags.update(m for st in found for m in st.unreliable)
        c = np.array(counts)
        line = (f"keep {keep_p:4.0%}: trials with a step {np.mean(c > 0):6.1%}, steps per "
                f"trial median {np.median(c):.0f}, max {c.max()}")
        if conf:
            line += (f"; step confidence {min(conf):.2f}-{max(conf):.2f}; marked unreliable: "
                     + ", ".join(f"{k} {v / len(conf):.0%}" for k, v in flags.most_common()))
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
