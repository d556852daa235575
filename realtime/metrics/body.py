"""Stage 2b: the body-bounce detector: the body's lowest point in every stance.

Hips, shoulders and head bottom out once in every stance, whichever foot is on the
ground and whether or not that foot can be seen (a treadmill console hides the far
foot's landing from a side camera).  The signal is the mean vertical offset of those
points from their own running means (condition.py); a lowest point (below the mean
level) is confirmed once the body has risen `body_hysteresis` leg lengths above it, and
timed by a parabola through the samples
within `body_halfwin_s` of the lowest sample.  The fusion stage turns these into
contacts of a foot it cannot see, using the delay from contact to lowest point that it
learns on the foot it can see.

State: `bs[B_*]`.
"""

from __future__ import annotations

import numpy as np

from realtime.metrics._jit import jit
from realtime.metrics.fit import frames_in, quad_peak
from realtime.metrics.layout import P_BODY_HW, P_BODY_HYST, R_BODY, R_T

B_PHASE = 0  # 0 unknown, 1 descending (looking for the lowest point), 2 rising
B_EXT = 1  # current extreme of the signal, px (image y: larger is lower)
B_EXT_N = 2  # its ring position
B_LAST_T = 3  # time of the last confirmed lowest point
B_N = 4  # lowest points so far
N_BODY = 5


@jit
def new_body_state() -> np.ndarray:
    bs = np.full(N_BODY, np.nan)
    bs[B_PHASE] = 0.0
    bs[B_N] = 0.0
    return bs


@jit
def body_update(bs: np.ndarray, ring: np.ndarray, n: int, prm: np.ndarray, leg_len: float,
                dt_frame: float) -> float:
    """Advance by the frame at ring position n-1; the time of a newly confirmed lowest
    point of the body, else NaN."""
    rows = ring.shape[0]
    y = ring[(n - 1) % rows, R_BODY]
    if y != y:
        return np.nan
    hyst = prm[P_BODY_HYST] * leg_len
    ph = bs[B_PHASE]
    if ph == 0.0:
        bs[B_PHASE] = 2.0  # a highest point first: the first lowest point must follow one
        bs[B_EXT] = y
        bs[B_EXT_N] = n - 1
        return np.nan
    if ph == 1.0:
        if y > bs[B_EXT]:
            bs[B_EXT] = y
            bs[B_EXT_N] = n - 1
            return np.nan
        if bs[B_EXT] - y <= hyst:
            return np.nan
        if bs[B_EXT] <= 0.0:
            # a wobble in the upper half (the signal is relative to the body's mean
            # level, and a stance's lowest point lies below it): rising again
            bs[B_PHASE] = 2.0
            bs[B_EXT] = y
            bs[B_EXT_N] = n - 1
            return np.nan
        t_min = _vertex(ring, int(bs[B_EXT_N]), n, prm[P_BODY_HW], dt_frame)
        bs[B_PHASE] = 2.0
        bs[B_EXT] = y
        bs[B_EXT_N] = n - 1
        bs[B_LAST_T] = t_min
        bs[B_N] += 1.0
        return t_min
    if y < bs[B_EXT]:
        bs[B_EXT] = y
        bs[B_EXT_N] = n - 1
    elif y - bs[B_EXT] > hyst and bs[B_EXT] < 0.0:
        bs[B_PHASE] = 1.0  # past a highest point (above the mean level): descending
        bs[B_EXT] = y
        bs[B_EXT_N] = n - 1
    return np.nan


@jit
def _vertex(ring: np.ndarray, n_best: int, n: int, halfwin_s: float, dt_frame: float
            ) -> float:
    """Time of the parabola vertex through the samples around ring position n_best (only
    positions below n: causal)."""
    rows = ring.shape[0]
    k = frames_in(halfwin_s, dt_frame)
    lo = max(n_best - k, n - rows, 0)
    hi = min(n_best + k, n - 1)
    m = hi - lo + 1
    tt = np.empty(m)
    yy = np.empty(m)
    for i in range(m):
        r = (lo + i) % rows
        tt[i] = ring[r, R_T]
        yy[i] = ring[r, R_BODY]
    return quad_peak(tt, yy, 0, m - 1, k, 1.0)[1]
