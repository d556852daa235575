"""Plain-numpy references of the metrics kernels: each restates a definition (whole
signals, offline, numpy/scipy), not the kernel's per-frame state machine."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

MAD_SD = 1.4826


# ----------------------------------------------------------------------------- fits


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


def line_crossing(tt, y, level):
    """When np.polyfit's line through the finite samples reaches `level`."""
    ok = ~np.isnan(y)
    if ok.sum() < 2:
        return math.nan
    slope, icpt = np.polyfit(tt[ok] - tt[0], y[ok], 1)
    return float(tt[0] + (level - icpt) / slope) if abs(slope) > 1e-12 else math.nan


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


# ------------------------------------------------------------------------- geometry


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


# ------------------------------------------------------------------------- detectors


def turning_points(y, rise, low_ok=lambda v: True, high_ok=lambda v: True):
    """Alternating highest and lowest points of a series with reversals larger than
    `rise` (a zig-zag), starting with a highest point: [(index, 'low'|'high', index at
    which the reversal was confirmed)].  Image sense: y grows downward, so a 'low'
    point is a maximum of y and a 'high' point a minimum.  A lowest point that fails
    `low_ok` is not one: the search turns round there to look for a highest point; a
    highest point that fails `high_ok` is not one either, and the search goes on for a
    higher one."""
    out = []
    looking = "high"
    ext = None
    for i, v in enumerate(y):
        if math.isnan(v):
            continue
        if ext is None:
            ext = i
            continue
        better = v < y[ext] if looking == "high" else v > y[ext]
        if better:
            ext = i
            continue
        if abs(v - y[ext]) <= rise:
            continue
        if looking == "high" and not high_ok(y[ext]):
            continue
        if looking == "high" or low_ok(y[ext]):
            out.append((ext, looking, i))
        looking = "low" if looking == "high" else "high"
        ext = i
    return out


def body_lowest_points(t, body, hyst, halfwin):
    """The body's lowest point of each stance: a turning point of the body signal (image
    y, relative to its mean level) that lies below the mean (y > 0), after a highest
    point above it (y < 0), timed by the parabola through `halfwin` samples either side
    among those already in when it was confirmed.  [(time, confirmed at index)]"""
    pts = turning_points(body, hyst, low_ok=lambda v: v > 0,
                         high_ok=lambda v: v < 0)
    out = []
    for i, kind, at in pts:
        if kind != "low":
            continue
        hi = min(i + halfwin, at)
        lo = max(i - halfwin, 0)
        tt, yy = t[lo:hi + 1], body[lo:hi + 1]
        out.append((quad_peak(tt, yy, 0, len(yy) - 1, halfwin, 1.0)[1], at))
    return out


def crossings(t, h, ic_h, to_h, swing_h, k_ic, k_to):
    """Contact and toe-off crossings of a foot height series h (leg lengths; NaN where
    unknown): a contact is the first fall below ic_h after the foot rose above swing_h,
    a toe-off the first rise above to_h after a contact; each crossing is timed by a
    line through the k samples either side of it (the two samples that straddle it for
    k = 1).  [('IC'|'TO', time, index of the first sample past it)]"""
    out = []
    phase = None
    top = -math.inf
    for i, v in enumerate(h):
        if math.isnan(v):
            continue
        if phase is None:
            if v > swing_h:
                phase, top = "swing", v
            elif v < ic_h:
                phase = "stance"
            continue
        if phase == "swing":
            top = max(top, v)
            if v < ic_h and top > swing_h:
                phase = "stance"
                out.append(("IC", _cross(t, h, i, k_ic, ic_h), i))
        elif v > to_h:
            phase, top = "swing", v
            out.append(("TO", _cross(t, h, i, k_to, to_h), i))
    return out


def _cross(t, h, i, k, level):
    """Line through samples i-k .. i+k-1 (the crossing lies between i-1 and i)."""
    lo, hi = i - k, i + k
    if lo < 0 or hi > len(h):
        return math.nan
    tc = line_crossing(t[lo:hi], h[lo:hi], level)
    a, b = h[i - 1], h[i]
    lin = t[i - 1] + (a - level) / (a - b) * (t[i] - t[i - 1])
    return lin if (math.isnan(tc) or abs(tc - lin) > t[i] - t[i - 1]) else tc


def swing_peaks(t, theta, hyst, halfwin, min_gap):
    """Each swing's peak thigh flexion: a highest turning point of the thigh angle,
    reversal `hyst` deg, lying in the upper part of the thigh's range and following a
    lowest point in its lower part (here: the range of the whole series), at least
    `min_gap` s after the previous one; value and time from the parabola through
    `halfwin` samples either side.  [(time, value)]"""
    ok = ~np.isnan(theta)
    mean = float(np.mean(theta[ok]))
    spread = float(np.mean(np.abs(theta[ok] - mean)))
    # the peak is a maximum of the angle: a 'low' point in turning_points' image sense
    pts = turning_points(theta, hyst, low_ok=lambda v: v > mean + 0.5 * spread,
                         high_ok=lambda v: v < mean)
    out: list[tuple[float, float]] = []
    for i, kind, _at in pts:
        if kind != "low":
            continue
        v, tp = quad_peak(t, theta, max(i - halfwin, 0), i + halfwin, halfwin, 1.0)
        if out and tp - out[-1][0] < min_gap:
            continue
        out.append((tp, v))
    return out


# --------------------------------------------------------------------------- fusion


def delay_stats(delays: Sequence[float]) -> tuple[float, float, int]:
    """Median and MAD (as an SD) of the last 8 delays."""
    d = np.asarray(delays[-8:], float)
    if d.size == 0:
        return math.nan, math.nan, 0
    med = float(np.median(d))
    return med, MAD_SD * float(np.median(np.abs(d - med))), int(d.size)


def parity_leg(readings: Sequence[int], k: int) -> int:
    """The leg down at lowest point k when legs alternate: the labelling (leg 0 down at
    even k, or at odd k) that most of the last 8 readings (-1 = none) agree with."""
    votes = 0
    for j in range(max(0, k - 7), k + 1):
        if readings[j] >= 0:
            votes += 1 if readings[j] == j % 2 else -1
    if votes == 0:
        return readings[k]
    return k % 2 if votes > 0 else 1 - k % 2


# --------------------------------------------------------------------------- drag


def belt_velocity(v: np.ndarray, facing: float, top: float = 0.3,
                  min_samples: int = 16) -> tuple[float, float]:
    """The belt's velocity: the median of the samples (rows vx, vy) moving backwards
    fastest, the top share of them (at least 3); backwards is against `facing`."""
    v = v[np.isfinite(v[:, 0])]
    if len(v) < min_samples:
        return math.nan, math.nan
    n_top = max(3, math.ceil(top * len(v)))
    sel = np.argsort(-facing * v[:, 0], kind="stable")[len(v) - n_top:]
    return float(np.median(v[sel, 0])), float(np.median(v[sel, 1]))


def drag_contacts(t: np.ndarray, d: np.ndarray, level: float, air: float, confirm: float,
                  delay: float, min_gap: float) -> list[float]:
    """Contacts by the drag rule, restated on a whole signal: d (distance of the foot's
    velocity from the belt's, in belt speeds) comes down through `level` after being
    above `air`, and the next sample is below `confirm`; timed where a least-squares line
    through the last four samples with 0.05 < d < 1.6 (the crossing one's successor
    included) crosses `level` (the two straddling samples' crossing if that line is
    more than 50 ms away), minus `delay`; one per leg within `min_gap`."""
    out: list[float] = []
    was_air = False
    for k in range(1, len(d) - 1):
        if d[k] > air:
            was_air = True
        if not (was_air and d[k - 1] > level >= d[k]):
            continue
        if not d[k + 1] <= confirm:
            was_air = False
            continue
        two = t[k - 1] + (d[k - 1] - level) / (d[k - 1] - d[k]) * (t[k] - t[k - 1])
        sel = [j for j in range(max(0, k - 2), k + 2) if 0.05 < d[j] < 1.6]
        tc = two
        if len(sel) >= 2:
            slope, icpt = np.polyfit(t[sel] - two, d[sel], 1)
            if slope < 0:
                cand = two + (level - icpt) / slope
                tc = cand if abs(cand - two) < 0.05 else two
        tc -= delay
        was_air = False
        if out and tc - out[-1] < min_gap:
            continue
        out.append(float(tc))
    return out
