"""Small least-squares fits shared by the detectors and the step metrics (numba).

Why fits rather than single samples: at 30 fps a landmark is a few pixels of noise on a
signal that moves tens of pixels a frame; a line or parabola through a handful of
samples averages the noise and gives a sub-frame time without the lag of a filter.
"""

from __future__ import annotations

import math

import numpy as np

from realtime.metrics._jit import jit


@jit
def frames_in(seconds: float, dt_frame: float) -> int:
    """How many frame intervals make `seconds` (at least 1): a window given in seconds
    covers the same time at any frame rate."""
    if not dt_frame > 0.0:
        return 1
    return max(1, math.floor(seconds / dt_frame + 0.5))


@jit
def quad_sums(
    tt: np.ndarray, y: np.ndarray, i0: int, i1: int, t0: float
) -> tuple[float, float, float, float, float, float, float, float, float]:
    """Sums of the normal equations of y = c0 + c1 u + c2 u^2, u = t - t0, over the finite
    samples i0..i1: (s0, s1, s2, s3, s4, b0, b1, b2, max |u|)."""
    s0 = s1 = s2 = s3 = s4 = b0 = b1 = b2 = umax = 0.0
    for i in range(i0, i1 + 1):
        v = y[i]
        if v != v:
            continue
        u = tt[i] - t0
        umax = max(umax, abs(u))
        s0 += 1.0
        s1 += u
        s2 += u * u
        s3 += u * u * u
        s4 += u * u * u * u
        b0 += v
        b1 += v * u
        b2 += v * u * u
    return s0, s1, s2, s3, s4, b0, b1, b2, umax


@jit
def quad_coefs(
    s0: float, s1: float, s2: float, s3: float, s4: float, b0: float, b1: float, b2: float
) -> tuple[float, float, float]:
    """(c0, c1, c2) of the least-squares parabola from its sums (NaN if singular)."""
    det = s0 * (s2 * s4 - s3 * s3) - s1 * (s1 * s4 - s3 * s2) + s2 * (s1 * s3 - s2 * s2)
    if abs(det) < 1e-300:
        return np.nan, np.nan, np.nan
    c0 = (b0 * (s2 * s4 - s3 * s3) - s1 * (b1 * s4 - s3 * b2) + s2 * (b1 * s3 - s2 * b2)) / det
    c1 = (s0 * (b1 * s4 - b2 * s3) - b0 * (s1 * s4 - s3 * s2) + s2 * (s1 * b2 - b1 * s2)) / det
    c2 = (s0 * (s2 * b2 - s3 * b1) - s1 * (s1 * b2 - b1 * s2) + b0 * (s1 * s3 - s2 * s2)) / det
    return c0, c1, c2


@jit
def quad_peak(
    tt: np.ndarray, y: np.ndarray, lo: int, hi: int, halfwin: int, sign: float
) -> tuple[float, float]:
    """Extremum (sign=+1 max, -1 min) of y over indices [lo, hi], refined by a least-
    squares parabola through the 2*halfwin+1 samples around the best sample.

    The fit averages noise without the peak loss of a smoothing filter, and its vertex
    gives the sub-frame time.  Returns (value, time); NaN if no sample is finite.
    """
    best = -1
    bv = -np.inf
    for i in range(max(lo, 0), min(hi, y.shape[0] - 1) + 1):
        v = y[i] * sign
        if v == v and v > bv:
            bv = v
            best = i
    if best < 0:
        return np.nan, np.nan
    t0 = tt[best]
    s0, s1, s2, s3, s4, b0, b1, b2, umax = quad_sums(
        tt, y, max(best - halfwin, 0), min(best + halfwin, y.shape[0] - 1), t0)
    if s0 < 3.0:
        return y[best], t0
    c0, c1, c2 = quad_coefs(s0, s1, s2, s3, s4, b0, b1, b2)
    if c0 != c0:
        return y[best], t0
    if c2 * sign < 0.0:
        u = -c1 / (2.0 * c2)
        if abs(u) <= umax:
            return c0 + c1 * u + c2 * u * u, t0 + u
    return c0, t0


@jit
def local_value(tt: np.ndarray, y: np.ndarray, t: float, halfwin: int) -> float:
    """y at time t from a least-squares parabola through the samples within `halfwin`
    frames of t (a line with fewer than 4, the sample itself with 1): sub-frame and less
    noisy than the nearest sample, and it does not flatten an extremum that falls at t."""
    n = y.shape[0]
    k = 0
    while k < n and tt[k] < t:
        k += 1
    s0, s1, s2, s3, s4, b0, b1, b2, _umax = quad_sums(
        tt, y, max(k - halfwin - 1, 0), min(k + halfwin, n - 1), t)
    if s0 < 1.0:
        return np.nan
    if s0 >= 4.0:
        c0, _c1, _c2 = quad_coefs(s0, s1, s2, s3, s4, b0, b1, b2)
        if c0 == c0:
            return c0
    det = s0 * s2 - s1 * s1
    if s0 < 2.0 or abs(det) < 1e-300:
        return b0 / s0
    return (b0 * s2 - s1 * b1) / det


@jit
def line_crossing(tt: np.ndarray, y: np.ndarray, i0: int, i1: int, level: float) -> float:
    """Time at which the least-squares line through the finite samples i0..i1 reaches
    `level` (NaN with fewer than two samples or a flat line)."""
    s0 = s1 = s2 = b0 = b1 = 0.0
    t0 = tt[i0]
    for i in range(i0, i1 + 1):
        v = y[i]
        if v != v:
            continue
        u = tt[i] - t0
        s0 += 1.0
        s1 += u
        s2 += u * u
        b0 += v
        b1 += v * u
    det = s0 * s2 - s1 * s1
    if s0 < 2.0 or abs(det) < 1e-300:
        return np.nan
    slope = (s0 * b1 - s1 * b0) / det
    icpt = (b0 - slope * s1) / s0
    if abs(slope) < 1e-12:
        return np.nan
    return t0 + (level - icpt) / slope


@jit
def quantile(x: np.ndarray, m: int, q: float) -> float:
    """The q-quantile (linear interpolation, like numpy's default) of x[:m], ignoring NaN."""
    v = np.empty(m)
    k = 0
    for i in range(m):
        if x[i] == x[i]:
            v[k] = x[i]
            k += 1
    if k == 0:
        return np.nan
    s = np.sort(v[:k])
    pos = q * (k - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, k - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)
