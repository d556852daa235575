"""When the drag rule fires on the motion-capture runners, against their force plates.

    python tools/drag_on_force.py [--level 0.5]

Why: contacts on real video are timed when the shoe's velocity comes within `level` belt
speeds of the belt's (metrics/drag.py), the contact labels' own rule.  Motion capture has
no pixels, so the validation cannot score that rule against force; this restates it on
the feet's markers (the mean of heel, toe and ankle, every sample of the 100-250 Hz
recordings) and prints how long after the force onset (50 N) it fires, per runner and
over all treadmill contacts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from realtime.validation.catalog import load_truth, runner_of, trials


def crossing(t: np.ndarray, d: np.ndarray, level: float, t0: float) -> float:
    """First downward crossing of `level` by d within -0.12..+0.15 s of t0 (linear)."""
    idx = np.flatnonzero((t > t0 - 0.12) & (t < t0 + 0.15))
    for i in idx[1:]:
        if d[i - 1] > level >= d[i]:
            return float(t[i - 1] + (d[i - 1] - level) / (d[i - 1] - d[i]) * (t[i] - t[i - 1]))
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--level", type=float, default=0.5)
    args = ap.parse_args()
    per: dict[str, list[float]] = {}
    for name in trials():
        if name.startswith("dorn"):
            continue  # overground: no belt
        truth = load_truth(name)
        b = truth.body
        for leg in "LR":
            foot = (b.p[f"heel_{leg}"] + b.p[f"toe_{leg}"] + b.p[f"ankle_{leg}"]) / 3
            vu, vv = np.gradient(foot[:, 0], b.t), np.gradient(foot[:, 1], b.t)
            ics = [e.t_s for e in truth.events if e.kind == "IC" and e.leg == leg]
            # the belt: the feet's velocity 0.1 s into each stance
            bu = float(np.nanmedian([np.interp(t + 0.1, b.t, vu) for t in ics]))
            bv = float(np.nanmedian([np.interp(t + 0.1, b.t, vv) for t in ics]))
            d = np.hypot(vu - bu, vv - bv) / abs(bu)
            per.setdefault(runner_of(name), []).extend(
                (crossing(b.t, d, args.level, t) - t) * 1e3 for t in ics)
    print(f"drag rule at {args.level} belt speeds on the feet's markers, minus the force "
          "onset (50 N), ms:")
    for runner, v in per.items():
        a = np.asarray(v)
        print(f"  {runner}: median {np.nanmedian(a):+.1f} (IQR {np.nanpercentile(a, 25):+.1f} "
              f"to {np.nanpercentile(a, 75):+.1f}), {np.isfinite(a).sum()} contacts")
    a = np.concatenate([np.asarray(v) for v in per.values()])
    print(f"  all: median {np.nanmedian(a):+.1f} ms over {np.isfinite(a).sum()} contacts")


if __name__ == "__main__":
    main()
