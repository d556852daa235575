"""Plain-numpy references of the metrics kernels (slow, obviously right)."""

from __future__ import annotations

import math

import numpy as np


def one_euro_filter(x, t, scale, min_cutoff, beta, d_cutoff, max_gap):
    """Casiez et al. (2012) One Euro filter; beta per (scale units)/s; NaN holds state."""
    out = np.empty(len(x))
    xh = dxh = tp = None
    for k in range(len(x)):
        if math.isnan(x[k]):
            out[k] = xh if xh is not None else np.nan
            continue
        if tp is None or t[k] - tp > max_gap or t[k] <= tp:
            xh, dxh, tp = x[k], 0.0, t[k]
            out[k] = xh
            continue
        dt = t[k] - tp

        def alpha(fc, dt=dt):
            tau = 1.0 / (2 * math.pi * fc)
            return 1.0 / (1.0 + tau / dt)

        dx = (x[k] - xh) / dt
        dxh = alpha(d_cutoff) * dx + (1 - alpha(d_cutoff)) * dxh
        a = alpha(min_cutoff + beta * abs(dxh) / scale)
        xh = a * x[k] + (1 - a) * xh
        tp = t[k]
        out[k] = xh
    return out


def quad_peak(tt, y, lo, hi, halfwin, sign):
    """Best sample in [lo, hi], refined by np.polyfit's parabola around it."""
    idx = [i for i in range(max(lo, 0), min(hi, len(y) - 1) + 1) if not math.isnan(y[i])]
    if not idx:
        return math.nan, math.nan
    best = max(idx, key=lambda i: sign * y[i])
    win = [i for i in range(max(best - halfwin, 0), min(best + halfwin, len(y) - 1) + 1)
           if not math.isnan(y[i])]
    if len(win) < 3:
        return y[best], tt[best]
    u = tt[win] - tt[best]
    c2, c1, c0 = np.polyfit(u, y[win], 2)
    if c2 * sign < 0:
        v = -c1 / (2 * c2)
        if abs(v) <= np.abs(u).max():
            return c0 + c1 * v + c2 * v * v, tt[best] + v
    return c0, tt[best]


def local_value(tt, y, t, halfwin):
    """np.polyfit parabola (line if < 4 samples) through the samples around t, at t."""
    k = int(np.searchsorted(tt, t, side="left"))
    win = [i for i in range(max(k - halfwin - 1, 0), min(k + halfwin, len(y) - 1) + 1)
           if not math.isnan(y[i])]
    if not win:
        return math.nan
    u = tt[win] - t
    if len(win) >= 4:
        return float(np.polyval(np.polyfit(u, y[win], 2), 0.0))
    if len(win) >= 2:
        return float(np.polyval(np.polyfit(u, y[win], 1), 0.0))
    return float(y[win[0]])


def swap_costs(obs, hist1, hist2, r):
    """Distances of observed L/R knee, ankle, heel and toe from constant-velocity
    predictions, as labelled and exchanged.  obs/hist: [12, 2] points."""
    pred = hist1 + (hist1 - hist2) * r
    keep = swap = 0.0
    m = 0
    for k in range(1, 5):
        pl, pr = 2 * k, 2 * k + 1
        q = np.concatenate([pred[pl], pred[pr], obs[pl], obs[pr]])
        if np.isnan(q).any():
            continue
        keep += np.linalg.norm(obs[pl] - pred[pl]) + np.linalg.norm(obs[pr] - pred[pr])
        swap += np.linalg.norm(obs[pr] - pred[pl]) + np.linalg.norm(obs[pl] - pred[pr])
        m += 1
    return keep, swap, m


def thigh_flexion_deg(hip, knee, facing):
    """Angle of hip->knee from the image's downward vertical, + when the knee is ahead."""
    d = knee - hip
    return np.degrees(np.arctan2(facing * d[..., 0], d[..., 1]))


def knee_flexion_deg(hip, knee, ankle):
    a = hip - knee
    b = ankle - knee
    c = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return 180.0 - np.degrees(np.arccos(np.clip(c, -1, 1)))


def pelvic_drop_deg(stance_hip, swing_hip):
    """Hip line vs horizontal, + when the swing side is lower (image y down)."""
    return np.degrees(np.arctan2(swing_hip[..., 1] - stance_hip[..., 1],
                                 np.abs(swing_hip[..., 0] - stance_hip[..., 0])))


def window_max(t, y, t_now, window):
    """Max of y over samples with t_now - window <= t <= t_now (NaN if none finite)."""
    sel = (t >= t_now - window) & (t <= t_now) & ~np.isnan(y)
    return float(np.max(y[sel])) if sel.any() else math.nan


def raw_crossing(t, heel_y, toe_y, g_heel, g_toe, leg_len, thr, last=5):
    """Newest downward crossing of `thr` by min(heel, toe height above its floor)
    among the last `last` samples, linearly interpolated; NaN if none."""
    h = np.fmin((g_heel - heel_y) / leg_len, (g_toe - toe_y) / leg_len)
    n = len(t)
    for k in range(n - 1, max(n - last, 0), -1):
        if np.isnan(h[k]) or np.isnan(h[k - 1]):
            return math.nan
        if h[k - 1] >= thr > h[k]:
            return float(t[k - 1] + (t[k] - t[k - 1]) * (h[k - 1] - thr) / (h[k - 1] - h[k]))
    return math.nan
