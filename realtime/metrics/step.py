"""Per-step form metrics from the ring, at the step's contacts (numba).

A step runs from a contact of leg A (t_a) to the next contact, of leg B (t_b).  Peaks
(knee drive, knee height, vertical oscillation, hip-sway extremes, pelvic drop) come from
a least-squares parabola through `peak_halfwin_s` of unsmoothed samples either side of
the best one; values at the contact (knee flexion, overstride's ankle) from a shorter
parabola (`contact_halfwin_s`) evaluated at t_a, overstride's mid-hip from a longer one
(`hip_halfwin_s`: the hip moves slowly and its landmark jitters).  Only frames already
in the ring are read, so a step is causal.  The definitions mirror the motion-capture
truth (realtime/validation/truth.py).
"""

from __future__ import annotations

import math

import numpy as np

from realtime.metrics._jit import jit
from realtime.metrics.fit import frames_in, local_value, quad_peak
from realtime.metrics.layout import (
    ANKLE,
    HIP,
    KNEE,
    R_FOLD,
    R_T,
    R_VALID,
    R_VIS,
    R_XY,
    SHOULDER,
)

# out[] layout of step_metrics
O_KNEE_DRIVE, O_KNEE_HEIGHT, O_FLEX_IC, O_OVERSTRIDE, O_LEAN, O_VOSC, O_SWAY, O_DROP = range(8)
O_VIS_CONTACT = 8  # visibility of leg A's hip, knee and ankle around t_a
O_VIS_SWING = 9  # of leg B's hip and knee over the step
O_VIS_TRUNK = 10  # of the shoulders and hips over the step
O_VIS_HIPS = 11  # of the hips over the stride (rear metrics)
O_VALID = 12  # share of usable frames in the step
N_OUT = 13


@jit
def step_window(ring: np.ndarray, n: int, t_lo: float) -> tuple[np.ndarray, np.ndarray]:
    """Ring rows with t >= t_lo among the first n frames, oldest first: (t [m], rows [m])
    as (times, ring row indices)."""
    rows = ring.shape[0]
    first = n
    lim = max(n - rows, 0)
    while first > lim and ring[(first - 1) % rows, R_T] >= t_lo:
        first -= 1
    m = n - first
    tt = np.empty(m)
    idx = np.empty(m, np.int64)
    for i in range(m):
        r = (first + i) % rows
        tt[i] = ring[r, R_T]
        idx[i] = r
    return tt, idx


@jit
def _col(ring: np.ndarray, idx: np.ndarray, c: int) -> np.ndarray:
    out = np.empty(idx.shape[0])
    for i in range(idx.shape[0]):
        out[i] = ring[idx[i], c]
    return out


@jit
def _mean_vis(ring: np.ndarray, idx: np.ndarray, lo: int, hi: int, p0: int, p1: int,
              p2: int) -> float:
    """Mean visibility of up to three points (-1 = unused) over positions lo..hi."""
    s = 0.0
    c = 0
    for i in range(max(lo, 0), min(hi, idx.shape[0] - 1) + 1):
        for p in (p0, p1, p2):
            if p >= 0:
                s += ring[idx[i], R_VIS + p]
                c += 1
    return s / c if c > 0 else 0.0


@jit
def knee_flexion(hx: float, hy: float, kx: float, ky: float, ax: float, ay: float) -> float:
    """180 minus the hip-knee-ankle angle, degrees (NaN if a point is missing)."""
    ux = hx - kx
    uy = hy - ky
    vx = ax - kx
    vy = ay - ky
    nu = math.sqrt(ux * ux + uy * uy)
    nv = math.sqrt(vx * vx + vy * vy)
    if not (nu > 0 and nv > 0):
        return np.nan
    c = (ux * vx + uy * vy) / (nu * nv)
    return 180.0 - math.degrees(math.acos(min(1.0, max(-1.0, c))))


@jit
def step_metrics(
    ring: np.ndarray, n: int, t_a: float, t_b: float, t_s0: float, to_a: float,
    leg_a: int, facing: float, is_side: bool, thigh_b: float, leg_len: float,
    halfwin_s: float, contact_halfwin_s: float, hip_halfwin_s: float, out: np.ndarray,
) -> None:
    """Metrics of the step from contact t_a (leg_a) to contact t_b (the other leg).

    `t_s0` is the contact that starts the stride ending at t_b (NaN if unknown; hip
    sway needs the whole stride), `to_a` leg A's toe-off (NaN if not seen; pelvic drop
    is a stance metric).  Writes the O_* entries of `out` (NaN where not measured).
    """
    out[:] = np.nan
    t_lo = t_a if t_s0 != t_s0 else min(t_a, t_s0)
    tt, idx = step_window(ring, n, t_lo - 0.25)
    m = tt.shape[0]
    if m < 3:
        return
    dtf = (tt[m - 1] - tt[0]) / (m - 1)
    halfwin = frames_in(halfwin_s, dtf)
    chw = frames_in(contact_halfwin_s, dtf)
    hhw = frames_in(hip_halfwin_s, dtf)
    lo = 0
    while lo < m and tt[lo] < t_a:
        lo += 1
    hi = lo
    while hi < m and tt[hi] < t_b:
        hi += 1
    hi -= 1  # [lo, hi]: frames inside the step
    if hi < lo:
        return
    a = leg_a
    b = 1 - leg_a
    hax = _col(ring, idx, R_XY + 2 * (HIP + a))
    hay = _col(ring, idx, R_XY + 2 * (HIP + a) + 1)
    hbx = _col(ring, idx, R_XY + 2 * (HIP + b))
    hby = _col(ring, idx, R_XY + 2 * (HIP + b) + 1)
    mhx = 0.5 * (hax + hbx)
    mhy = 0.5 * (hay + hby)
    valid = 0
    for i in range(lo, hi + 1):
        if ring[idx[i], R_VALID] == 1.0 and mhx[i] == mhx[i]:
            valid += 1
    out[O_VALID] = valid / (hi - lo + 1)
    # around the contact: the parabola's samples
    k0 = lo - chw - 1
    k1 = lo + chw
    out[O_VIS_CONTACT] = _mean_vis(ring, idx, k0, k1, HIP + a, KNEE + a, ANKLE + a)
    for i in range(max(k0, 0), min(k1, m - 1) + 1):
        if ring[idx[i], R_FOLD] == a + 1.0:  # leg A drawn on the other leg at its contact
            out[O_VIS_CONTACT] = 0.0
    out[O_VIS_SWING] = _mean_vis(ring, idx, lo, hi, HIP + b, KNEE + b, -1)
    out[O_VIS_TRUNK] = 0.5 * (_mean_vis(ring, idx, lo, hi, SHOULDER, SHOULDER + 1, -1)
                              + _mean_vis(ring, idx, lo, hi, HIP, HIP + 1, -1))
    if is_side:
        kbx = _col(ring, idx, R_XY + 2 * (KNEE + b))
        kby = _col(ring, idx, R_XY + 2 * (KNEE + b) + 1)
        thigh = np.empty(m)
        kh = np.empty(m)
        for i in range(m):
            thigh[i] = math.degrees(math.atan2(facing * (kbx[i] - hbx[i]), kby[i] - hby[i]))
            kh[i] = (hby[i] - kby[i]) / thigh_b * 100.0
        out[O_KNEE_DRIVE] = quad_peak(tt, thigh, lo, hi, halfwin, 1.0)[0]
        out[O_KNEE_HEIGHT] = quad_peak(tt, kh, lo, hi, halfwin, 1.0)[0]
        kx = _col(ring, idx, R_XY + 2 * (KNEE + a))
        ky = _col(ring, idx, R_XY + 2 * (KNEE + a) + 1)
        ax = _col(ring, idx, R_XY + 2 * (ANKLE + a))
        ay = _col(ring, idx, R_XY + 2 * (ANKLE + a) + 1)
        flex = np.empty(m)
        for i in range(m):
            flex[i] = knee_flexion(hax[i], hay[i], kx[i], ky[i], ax[i], ay[i])
        out[O_FLEX_IC] = local_value(tt, flex, t_a, chw)
        # the ankle moves fast at the contact (short fit), the hip slowly (a longer one
        # averages out its landmark's jitter)
        out[O_OVERSTRIDE] = facing * (local_value(tt, ax, t_a, chw)
                                      - local_value(tt, mhx, t_a, hhw)) / leg_len * 100.0
        sx = 0.5 * (_col(ring, idx, R_XY + 2 * SHOULDER)
                    + _col(ring, idx, R_XY + 2 * (SHOULDER + 1)))
        sy = 0.5 * (_col(ring, idx, R_XY + 2 * SHOULDER + 1)
                    + _col(ring, idx, R_XY + 2 * (SHOULDER + 1) + 1))
        lean = 0.0
        nl = 0
        for i in range(lo, hi + 1):
            v = math.degrees(math.atan2(facing * (sx[i] - mhx[i]), mhy[i] - sy[i]))
            if v == v:
                lean += v
                nl += 1
        if nl > 0:
            out[O_LEAN] = lean / nl
        ylow = quad_peak(tt, mhy, lo, hi, halfwin, 1.0)[0]
        yhigh = quad_peak(tt, mhy, lo, hi, halfwin, -1.0)[0]
        out[O_VOSC] = (ylow - yhigh) / leg_len * 100.0
        return
    if t_s0 == t_s0:
        slo = 0
        while slo < m and tt[slo] < t_s0:
            slo += 1
        out[O_VIS_HIPS] = _mean_vis(ring, idx, slo, hi, HIP, HIP + 1, -1)
        out[O_SWAY] = _sway(tt, mhx, slo, hi, t_s0, halfwin) / leg_len * 100.0
    else:
        out[O_VIS_HIPS] = _mean_vis(ring, idx, lo, hi, HIP, HIP + 1, -1)
    te = to_a if (to_a == to_a and t_a < to_a < t_b) else t_a + 0.6 * (t_b - t_a)
    shi = lo
    while shi < m and tt[shi] <= te:
        shi += 1
    shi -= 1
    drop = np.empty(m)
    for i in range(m):
        drop[i] = math.degrees(math.atan2(hby[i] - hay[i], abs(hbx[i] - hax[i])))
    if shi >= lo:
        out[O_DROP] = quad_peak(tt, drop, lo, shi, halfwin, 1.0)[0]


@jit
def _sway(tt: np.ndarray, x: np.ndarray, lo: int, hi: int, t0: float, halfwin: int) -> float:
    """Peak-to-peak of x over [lo, hi] after removing its least-squares line (treadmill
    drift), extremes refined by parabolas; px."""
    s0 = s1 = s2 = b0 = b1 = 0.0
    for i in range(lo, hi + 1):
        if x[i] == x[i]:
            u = tt[i] - t0
            s0 += 1.0
            s1 += u
            s2 += u * u
            b0 += x[i]
            b1 += x[i] * u
    det = s0 * s2 - s1 * s1
    if s0 < 3.0 or det <= 0.0:
        return np.nan
    c0 = (b0 * s2 - s1 * b1) / det
    c1 = (s0 * b1 - s1 * b0) / det
    res = np.empty(tt.shape[0])
    for i in range(tt.shape[0]):
        res[i] = x[i] - (c0 + c1 * (tt[i] - t0))
    top = quad_peak(tt, res, lo, hi, halfwin, 1.0)[0]
    return top - quad_peak(tt, res, lo, hi, halfwin, -1.0)[0]
