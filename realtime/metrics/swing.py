"""Stage 2c: the knee-drive detector (side view): each swing's peak thigh flexion.

A knee-drive cue is only useful while the runner still feels the swing it is about:
waiting for the step to end (the next contact is detected ~100-150 ms after the peak)
makes the cue late.  So each leg's thigh flexion (hip-to-knee angle from straight down,
forward positive) is tracked on its own: a peak is final once the thigh has come back
`knee_peak_hysteresis_deg` below it and `peak_halfwin_s` of samples after it are in
(a second peak of the same leg within two shortest steps is the thigh wobbling at
landing, not a swing, unless it is higher: then the first was a flicker of the
landmarks and the swing is reported again with its real peak; a peak must lie in the
upper part of the thigh's oscillation and follow a low in its lower part, so that
landmark jitter is not a swing); a peak whose samples include a frame where the leg was
drawn on the other leg's knee (condition.fold_repair) within a frame and a half of it
is reported with visibility 0, so that it is never trusted;
its value and time come from the same least-squares parabola the step metrics use, so
the step's knee drive is exactly this value.

State: `ws[leg, W_*]`.
"""

from __future__ import annotations

import math

import numpy as np

from realtime.metrics._jit import jit
from realtime.metrics.fit import frames_in, quad_peak
from realtime.metrics.layout import (
    HIP,
    KNEE,
    P_KNEE_HYST,
    P_KNEE_TAU,
    P_MIN_STEP,
    P_PEAK_HW,
    R_FACING,
    R_FOLD,
    R_T,
    R_VIS,
    R_XY,
)

W_PHASE = 0  # 0 unknown, 1 rising (looking for the peak), 2 falling (looking for the low)
W_EXT = 1  # current extreme, degrees
W_EXT_N = 2  # its ring position
W_DUE = 3  # 1 once the peak is past the hysteresis, waiting for its samples
W_LAST_T = 4  # time of the last reported peak
W_MEAN = 5  # running mean of the thigh angle, deg
W_SPREAD = 6  # running mean of |angle - mean|, deg
W_LAST_V = 7  # value of the last reported peak, deg
N_SWING = 8


@jit
def new_swing_state() -> np.ndarray:
    ws = np.full((2, N_SWING), np.nan)
    for leg in range(2):
        ws[leg, W_PHASE] = 0.0
        ws[leg, W_DUE] = 0.0
    return ws


@jit
def thigh_flexion(ring: np.ndarray, r: int, leg: int, facing: float) -> float:
    """Thigh angle from straight down, forward positive, degrees (NaN if unseen)."""
    hx = ring[r, R_XY + 2 * (HIP + leg)]
    hy = ring[r, R_XY + 2 * (HIP + leg) + 1]
    kx = ring[r, R_XY + 2 * (KNEE + leg)]
    ky = ring[r, R_XY + 2 * (KNEE + leg) + 1]
    return math.degrees(math.atan2(facing * (kx - hx), ky - hy))


@jit
def knee_height(ring: np.ndarray, r: int, leg: int, thigh: float) -> float:
    """Knee height above the hip, % of thigh length (negative below the hip)."""
    hy = ring[r, R_XY + 2 * (HIP + leg) + 1]
    return (hy - ring[r, R_XY + 2 * (KNEE + leg) + 1]) / thigh * 100.0


@jit
def swing_peak(ring: np.ndarray, n_lo: int, n_hi: int, leg: int, facing: float, thigh: float,
               k: int) -> tuple[float, float, float, float]:
    """(peak thigh flexion, its time, peak knee height, mean hip+knee visibility) over
    ring positions n_lo..n_hi, each peak refined by a parabola through 2k+1 samples."""
    rows = ring.shape[0]
    m = n_hi - n_lo + 1
    tt = np.empty(m)
    th = np.empty(m)
    kh = np.empty(m)
    vis = 0.0
    for i in range(m):
        r = (n_lo + i) % rows
        tt[i] = ring[r, R_T]
        th[i] = thigh_flexion(ring, r, leg, facing)
        kh[i] = knee_height(ring, r, leg, thigh)
        vis += 0.5 * (ring[r, R_VIS + HIP + leg] + ring[r, R_VIS + KNEE + leg])
    v, tp = quad_peak(tt, th, 0, m - 1, k, 1.0)
    hv = quad_peak(tt, kh, 0, m - 1, k, 1.0)[0]
    # a peak in a gap where the knee was drawn on the other leg (and gated out) is
    # guessed across the gap, not measured: the samples nearest to it must be its own
    dt = (tt[m - 1] - tt[0]) / max(1, m - 1)
    gap = False
    before = 0
    after = 0
    for i in range(m):
        if abs(tt[i] - tp) <= (k + 0.5) * dt:
            r = (n_lo + i) % rows
            if ring[r, R_FOLD] == leg + 1.0 and ring[r, R_VIS + KNEE + leg] == 0.0:
                if abs(tt[i] - tp) <= 1.5 * dt:
                    gap = True
            elif th[i] == th[i]:
                if tt[i] < tp:
                    before += 1
                else:
                    after += 1
    if gap and (before < 2 or after < 2):
        return v, tp, hv, 0.0
    return v, tp, hv, vis / m


@jit
def swing_update(ws: np.ndarray, leg: int, ring: np.ndarray, n: int, prm: np.ndarray,
                 thigh: float, dt_frame: float, out: np.ndarray) -> bool:
    """Advance leg `leg` by the frame at ring position n-1; True when a swing's peak is
    final, with (value deg, time, knee height %, visibility) in `out`."""
    rows = ring.shape[0]
    r = (n - 1) % rows
    facing = ring[r, R_FACING]
    if facing == 0.0 or facing != facing:
        return False
    th = thigh_flexion(ring, r, leg, facing)
    if th != th:
        return False
    k = frames_in(prm[P_PEAK_HW], dt_frame)
    hyst = prm[P_KNEE_HYST]
    # the swing's peak lies in the upper part of the thigh's oscillation, its lowest
    # point (extension at toe-off) in the lower part: wobbles elsewhere are not swings
    a = min(1.0, dt_frame / prm[P_KNEE_TAU])
    mu = ws[leg, W_MEAN]
    if mu != mu:
        ws[leg, W_MEAN] = th
        ws[leg, W_SPREAD] = 0.0
        mu = th
    else:
        ws[leg, W_MEAN] = mu + a * (th - mu)
        ws[leg, W_SPREAD] += a * (abs(th - mu) - ws[leg, W_SPREAD])
    upper = mu + 0.5 * ws[leg, W_SPREAD]
    ph = ws[leg, W_PHASE]
    if ph == 0.0:
        ws[leg, W_PHASE] = 2.0
        ws[leg, W_EXT] = th
        ws[leg, W_EXT_N] = n - 1
        return False
    if ph == 1.0:
        if th > ws[leg, W_EXT]:
            ws[leg, W_EXT] = th
            ws[leg, W_EXT_N] = n - 1
            ws[leg, W_DUE] = 0.0
            return False
        if ws[leg, W_EXT] - th > hyst:
            if ws[leg, W_EXT] < upper:
                ws[leg, W_PHASE] = 2.0  # a wobble below the upper part: not a peak
                ws[leg, W_EXT] = th
                ws[leg, W_EXT_N] = n - 1
                return False
            ws[leg, W_DUE] = 1.0
        nb = int(ws[leg, W_EXT_N])
        if ws[leg, W_DUE] == 1.0 and n - 1 >= nb + k:
            lo = max(nb - k, n - rows, 0)
            v, tp, hv, vis = swing_peak(ring, lo, n - 1, leg, facing, thigh, k)
            ws[leg, W_PHASE] = 2.0
            ws[leg, W_DUE] = 0.0
            ws[leg, W_EXT] = th
            ws[leg, W_EXT_N] = n - 1
            last = ws[leg, W_LAST_T]
            if last == last and tp - last < 2.0 * prm[P_MIN_STEP] and not v > ws[leg, W_LAST_V]:
                return False  # a bump of the same swing (the thigh wobbles at landing)
            ws[leg, W_LAST_T] = tp
            ws[leg, W_LAST_V] = v
            out[0] = v
            out[1] = tp
            out[2] = hv
            out[3] = vis
            return True
        return False
    if th < ws[leg, W_EXT]:
        ws[leg, W_EXT] = th
        ws[leg, W_EXT_N] = n - 1
    elif th - ws[leg, W_EXT] > hyst and ws[leg, W_EXT] < mu:
        ws[leg, W_PHASE] = 1.0
        ws[leg, W_EXT] = th
        ws[leg, W_EXT_N] = n - 1
    return False
