"""Per motion-capture trial: how long after the force contact the body bottoms out.

Why this exists: a hidden foot's contact is timed as `body_delay_prior` step periods before
the body's lowest point (realtime/metrics/fuse.py).  The shipped prior is one pooled median;
this prints the share trial by trial (30 fps, 2 px noise, side view, shipped settings) so a
reader can see how it varies with runner and speed before changing that rule.

    python tools/body_delay.py
"""

from __future__ import annotations

import itertools

import numpy as np

from realtime.config import MetricsConfig
from realtime.metrics import analyze_stream
from realtime.validation.catalog import HAMNER, load_truth
from realtime.validation.streams import synthesize_trial


def main() -> None:
    print(f"{'trial':24s} {'cadence':>8s} {'share':>6s} {'delay ms':>8s}")
    for name in HAMNER:
        ics = sorted(c.t_ic for c in load_truth(name).contacts if c.t_ic == c.t_ic)
        syn = synthesize_trial(name, "side", 30, 2.0, "left", 0)
        _, ga = analyze_stream(syn.stream, MetricsConfig())
        t_from = float(syn.stream.t[0]) + 0.5
        share, period = [], []
        for a, b in itertools.pairwise(ics):
            after = [m for m in ga.body_minima if 0.0 < m - a < b - a]
            if after and a >= t_from and b - a < 0.5:
                share.append((after[0] - a) / (b - a))
                period.append(b - a)
        s, p = np.asarray(share), np.asarray(period)
        print(f"{name:24s} {60 / np.median(p):8.1f} {np.median(s):6.3f} "
              f"{1000 * np.median(s * p):8.0f}")


if __name__ == "__main__":
    main()
