"""Whether overstride could take its ankle from the planted foot: the force plates say no.

    python tools/plant_on_force.py [--windows 0.05 0.07 0.1 0.13 0.15 0.17 0.2]

Why: on real video BlazePose draws the landing ankle ahead of the blurred shoe in the
frame before contact, so overstride was tried from the planted foot instead: the ankle's
lead over the hip in the frames [IC, IC + W] after the contact, carried back to the
contact at belt speed (the median over those frames).  On the shared clip's labels that
scores 3.1-3.7 % leg (W = 0.1-0.17 s) against 4.3 % for the landmarks at the contact,
but it assumes the foot moves with the belt from the contact on.  This tests that
assumption where the contact is known from force (no detector): on the motion-capture
treadmill runners, with the force onset as IC, sampled at 30 fps with every phase of the
first frame, it prints the rule's error against ankle - mid-hip at IC, in % of leg
length (forward positive).  The belt is each trial's median toe-marker velocity in
mid-stance.  The foot reaches belt speed only 50-70 ms after the force onset, so the rule
reads 3-6 % long at W = 0.05 s and 5-11 % at 0.1 s, differently for each runner (still
5-10 % at 0.1 s with `--shift-ms 16`, where the clip's labels put the contact): on the
clip it agreed with the labels by cancelling BlazePose's own error, so it is not used.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from realtime.validation.catalog import load_truth, runner_of, trials
from realtime.validation.truth import Body

FPS = 30.0
PHASES = 6  # first-frame phases after the contact, spread over one frame interval


def mid_hip_u(b: Body, t: float | np.ndarray) -> np.ndarray:
    """The mid-hip's fore-aft position (mm, forward positive)."""
    return (b.at("hip_L", t) + b.at("hip_R", t))[..., 0] / 2


def print_by_runner(title: str, label: str, per: dict[str, dict[float, list[float]]],
                    columns: list[float]) -> None:
    """One row per runner: median (mean absolute) of its contacts' errors per column."""
    print(title)
    print(f"  {label:>13}: " + "  ".join(f"{w:>13.3f}" for w in columns))
    for runner, by_w in per.items():
        print(f"  {runner:>13}: " + "  ".join(
            f"{np.median(by_w[w]):+6.2f} ({np.mean(np.abs(by_w[w])):4.2f})" for w in columns))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=float, nargs="+",
                    default=[0.05, 0.07, 0.1, 0.13, 0.15, 0.17, 0.2])
    ap.add_argument("--shift-ms", type=float, default=0.0,
                    help="take the contact this long after the force onset (the drag rule "
                    "and the clip's labels fire ~16 ms after it: tools/drag_on_force.py)")
    args = ap.parse_args()
    per: dict[str, dict[float, list[float]]] = {}
    for name in trials():
        if name.startswith("dorn"):
            continue  # overground: no belt
        truth = load_truth(name)
        b = truth.body
        ics = [e for e in truth.events if e.kind == "IC"]
        tos = [e for e in truth.events if e.kind == "TO"]
        belt = []
        for e in ics:
            to = [x.t_s for x in tos if x.leg == e.leg and x.t_s > e.t_s]
            if not to:
                continue
            g = np.linspace(e.t_s + 0.05, to[0] - 0.05, 8)
            if g[-1] <= g[0]:
                continue
            toe = b.at(f"toe_{e.leg}", g)[:, 0]
            belt.append(np.median(np.diff(toe) / np.diff(g)))
        bu = float(np.median(belt))
        for e in ics:
            ic = e.t_s + args.shift_ms / 1e3
            lead0 = float(b.at(f"ankle_{e.leg}", ic)[0] - mid_hip_u(b, ic))
            if not np.isfinite(lead0):
                continue
            for w in args.windows:
                errs = []
                for ph in range(PHASES):
                    g = ic + (ph + 0.5) / PHASES / FPS + np.arange(0, w, 1 / FPS)
                    g = g[g <= ic + w]
                    if g.size == 0:
                        continue
                    lead = b.at(f"ankle_{e.leg}", g)[:, 0] - mid_hip_u(b, g) - bu * (g - ic)
                    errs.append(float(np.median(lead)) - lead0)
                if errs:
                    per.setdefault(runner_of(name), {}).setdefault(w, []).append(
                        100.0 * float(np.mean(errs)) / b.leg_mm)
    print_by_runner("planted ankle carried back at belt speed, minus the ankle's lead over "
                    "the hip at the force onset, % leg: median (mean abs)", "window s", per,
                    args.windows)

if __name__ == "__main__":
    main()
