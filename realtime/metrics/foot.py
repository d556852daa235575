"""Stage 2a: the foot detector, one per leg: contact and toe-off from the ankle's height.

What a camera sees of a landing is the ankle coming down to the level it keeps while the
foot is on the belt; shoe soles and heel markers at millimetre level are not observable
(BlazePose's heel and toe are not markers).  So:

- the ankle's *floor* is the mean of its lowest points in the last few stances (each a
  parabola through the samples around the lowest one, so noise averages out instead of
  biasing a plain maximum); before the first stance is seen, the lowest point of the
  last `floor_window_s` stands in, once `floor_min_span_s` of data is in;
- its height h is (floor - y) in leg lengths;
- a swing that lifted the ankle above `swing_height` and then brings it below
  `contact_height` is a contact; the crossing is timed by a least-squares line through
  the samples within `crossing_halfwin_s` of it (sub-frame, noise averaged), and the
  contact is that crossing minus `contact_delay_s` (the ankle is still sinking after
  first touch while the foot rolls flat);
- a stance whose ankle rises above `toe_off_height` ends: toe-off is that crossing plus
  `toe_off_delay_s` (the heel lifts before the toes leave).  It is reported once its
  time has come, never ahead of the stream.

The two delays are calibrated against the force plates of the motion-capture runners
(`python -m realtime.validation --calibrate`), scored leave-one-runner-out.

State: `fs[leg, F_*]`.
"""

from __future__ import annotations

import numpy as np

from realtime.metrics._jit import jit
from realtime.metrics.fit import frames_in, line_crossing, quad_peak
from realtime.metrics.layout import (
    ANKLE,
    EV_IC,
    EV_TO,
    P_CROSS_HW,
    P_FLOOR_SPAN,
    P_FLOOR_TAU,
    P_FLOOR_WIN,
    P_IC_DELAY,
    P_IC_H,
    P_MIN_STEP,
    P_PEAK_HW,
    P_SWING_H,
    P_TO_DELAY,
    P_TO_H,
    P_TO_HW,
    R_H,
    R_T,
    R_VALID,
    R_VIS,
    R_XY,
    SRC_FOOT,
    put_event,
)

F_PHASE = 0  # 0 unknown, 1 stance, 2 swing
F_SWMAX = 1  # highest point of the current swing, leg lengths
F_PEND = 2  # 0 none, 1 a contact crossing awaits its fit, 2 a toe-off crossing
F_PEND_N = 3  # frame count (ring position) of the first sample past the crossing
F_LAST_IC = 4  # time of this leg's last contact
F_LAST_TO = 5  # time of its last toe-off
F_TO_DUE = 6  # a toe-off time not reached yet by the stream (NaN: none)
F_TO_CONF = 7
F_FLOOR = 8  # current floor, px (image y)
F_N_IC = 9  # contacts so far
F_V_PHASE = 10  # valley tracker: 1 looking for the lowest point, 2 for the highest
F_V_EXT = 11  # current extreme of the ankle's image y, px
F_V_EXT_N = 12  # its ring position
F_V_N = 13  # lowest points seen
N_FOOT = 14

MAX_FLOOR_ROWS = 512


@jit
def new_foot_state() -> np.ndarray:
    fs = np.full((2, N_FOOT), np.nan)
    for leg in range(2):
        fs[leg, F_PHASE] = 0.0
        fs[leg, F_PEND] = 0.0
        fs[leg, F_N_IC] = 0.0
        fs[leg, F_V_PHASE] = 0.0
        fs[leg, F_V_N] = 0.0
    return fs


@jit
def window_floor(ring: np.ndarray, n: int, leg: int, t: float, window: float,
                 min_span: float) -> float:
    """The ankles' lowest image point (max y) over the last `window` seconds of the first
    n frames, once they span at least `min_span` seconds (NaN before): the start-up floor
    of a leg whose own stance has not been seen yet."""
    rows = ring.shape[0]
    best = -np.inf
    t_old = t
    for k in range(min(n, rows, MAX_FLOOR_ROWS)):
        r = (n - 1 - k) % rows
        tk = ring[r, R_T]
        if tk < t - window:
            break
        t_old = tk
        if ring[r, R_VALID] != 1.0:
            continue
        # either ankle: within a step one of the feet has been on the belt
        for g in range(2):
            v = ring[r, R_XY + 2 * (ANKLE + g) + 1]
            if v > best:
                best = v
    if t - t_old < min_span or best == -np.inf:
        return np.nan
    return best


@jit
def _valley(fs: np.ndarray, leg: int, ring: np.ndarray, n: int, y: float, hyst: float,
            k: int, tau_stances: float) -> None:
    """Track the ankle's lowest point of each stance (max image y) and average it into
    the floor (a parabola through 2k+1 samples around the lowest sample)."""
    ph = fs[leg, F_V_PHASE]
    if ph == 0.0:
        # look for a highest point first: the first lowest point must follow a swing
        fs[leg, F_V_PHASE] = 2.0
        fs[leg, F_V_EXT] = y
        fs[leg, F_V_EXT_N] = n - 1
    elif ph == 1.0:
        if y > fs[leg, F_V_EXT]:
            fs[leg, F_V_EXT] = y
            fs[leg, F_V_EXT_N] = n - 1
        elif fs[leg, F_V_EXT] - y > hyst and n - 1 >= fs[leg, F_V_EXT_N] + k:
            rows = ring.shape[0]
            nb = int(fs[leg, F_V_EXT_N])
            lo = max(nb - k, n - rows, 0)
            m = nb + k - lo + 1
            tt = np.empty(m)
            yy = np.empty(m)
            for i in range(m):
                r = (lo + i) % rows
                tt[i] = ring[r, R_T]
                yy[i] = ring[r, R_XY + 2 * (ANKLE + leg) + 1]
            low = quad_peak(tt, yy, 0, m - 1, k, 1.0)[0]
            cnt = fs[leg, F_V_N] + 1.0
            fs[leg, F_V_N] = cnt
            fl = fs[leg, F_FLOOR]
            a = max(1.0 / cnt, 1.0 / tau_stances)
            fs[leg, F_FLOOR] = low if (fl != fl or cnt == 1.0) else fl + a * (low - fl)
            fs[leg, F_V_PHASE] = 2.0
            fs[leg, F_V_EXT] = y
            fs[leg, F_V_EXT_N] = n - 1
    elif y < fs[leg, F_V_EXT]:
        fs[leg, F_V_EXT] = y
        fs[leg, F_V_EXT_N] = n - 1
    elif y - fs[leg, F_V_EXT] > hyst:
        fs[leg, F_V_PHASE] = 1.0
        fs[leg, F_V_EXT] = y
        fs[leg, F_V_EXT_N] = n - 1


@jit
def _fit_crossing(ring: np.ndarray, n_first: int, k: int, leg: int, level: float) -> float:
    """Crossing time of `level` by the ankle height: a line through the k samples either
    side of the crossing (between frames n_first-1 and n_first), in ring positions."""
    rows = ring.shape[0]
    m = 2 * k
    tt = np.empty(m)
    hh = np.empty(m)
    for i in range(m):
        r = (n_first - k + i) % rows
        tt[i] = ring[r, R_T]
        hh[i] = ring[r, R_H + leg]
    tc = line_crossing(tt, hh, 0, m - 1, level)
    a = hh[k - 1]
    b = hh[k]
    lo = tt[k - 1]
    hi = tt[k]
    if a == a and b == b and a != b:
        lin = lo + (a - level) / (a - b) * (hi - lo)
        if tc != tc or abs(tc - lin) > hi - lo:
            tc = lin  # a fit far from the straddling pair is a glitch, not a crossing
    elif tc != tc or tc < lo - (hi - lo) or tc > hi + (hi - lo):
        tc = 0.5 * (lo + hi)
    return tc


@jit
def foot_update(
    fs: np.ndarray, leg: int, t: float, ring: np.ndarray, n: int, prm: np.ndarray,
    leg_len: float, dt_frame: float, ev: np.ndarray, n_ev: int,
) -> int:
    """Advance leg `leg` by the frame just written (ring position n-1); append IC/TO
    candidates (kind, leg, time, confidence, source) to `ev`; return the event count."""
    rows = ring.shape[0]
    row = (n - 1) % rows
    y = ring[row, R_XY + 2 * (ANKLE + leg) + 1]
    k = frames_in(prm[P_CROSS_HW], dt_frame)
    if y == y:
        kp = frames_in(prm[P_PEAK_HW], dt_frame)
        _valley(fs, leg, ring, n, y, prm[P_SWING_H] * leg_len, kp, prm[P_FLOOR_TAU])
    floor = fs[leg, F_FLOOR]
    if fs[leg, F_V_N] == 0.0:
        floor = window_floor(ring, n, leg, t, prm[P_FLOOR_WIN], prm[P_FLOOR_SPAN])
    h = (floor - y) / leg_len
    ring[row, R_H + leg] = h

    # a due toe-off whose time has come
    due = fs[leg, F_TO_DUE]
    if due == due and t >= due and n_ev < ev.shape[0]:
        n_ev = put_event(ev, n_ev, EV_TO, leg, due, fs[leg, F_TO_CONF], SRC_FOOT, np.nan, np.nan)
        fs[leg, F_LAST_TO] = due
        fs[leg, F_TO_DUE] = np.nan

    # a crossing whose fit has all its samples
    pend = fs[leg, F_PEND]
    if pend == 2.0:
        k = frames_in(prm[P_TO_HW], dt_frame)
    if pend != 0.0 and n - 1 >= fs[leg, F_PEND_N] + k - 1:
        n_first = int(fs[leg, F_PEND_N])
        fs[leg, F_PEND] = 0.0
        vis = _leg_vis(ring, n_first, k, leg)
        if pend == 1.0:
            tc = _fit_crossing(ring, n_first, k, leg, prm[P_IC_H]) - prm[P_IC_DELAY]
            last = fs[leg, F_LAST_IC]
            if not (last == last and tc - last < 2.0 * prm[P_MIN_STEP]) and n_ev < ev.shape[0]:
                n_ev = put_event(ev, n_ev, EV_IC, leg, tc, vis, SRC_FOOT, np.nan, np.nan)
                fs[leg, F_LAST_IC] = tc
                fs[leg, F_N_IC] += 1.0
        else:
            tc = _fit_crossing(ring, n_first, k, leg, prm[P_TO_H]) + prm[P_TO_DELAY]
            if tc <= t and n_ev < ev.shape[0]:
                n_ev = put_event(ev, n_ev, EV_TO, leg, tc, vis, SRC_FOOT, np.nan, np.nan)
                fs[leg, F_LAST_TO] = tc
            else:
                fs[leg, F_TO_DUE] = tc
                fs[leg, F_TO_CONF] = vis

    if h != h:
        return n_ev
    ph = fs[leg, F_PHASE]
    if ph == 0.0:
        # start-up: a foot clearly above a floor that was just found is in the air
        if h > prm[P_SWING_H] or (fs[leg, F_V_N] == 0.0 and h > 2.0 * prm[P_IC_H]):
            fs[leg, F_PHASE] = 2.0
            fs[leg, F_SWMAX] = max(h, prm[P_SWING_H] + 1e-9)
        elif h < prm[P_IC_H]:
            fs[leg, F_PHASE] = 1.0
    elif ph == 2.0:
        if h > fs[leg, F_SWMAX]:
            fs[leg, F_SWMAX] = h
        if h < prm[P_IC_H] and fs[leg, F_SWMAX] > prm[P_SWING_H]:
            fs[leg, F_PHASE] = 1.0
            fs[leg, F_PEND] = 1.0
            fs[leg, F_PEND_N] = n - 1
    elif h > prm[P_TO_H]:
        fs[leg, F_PHASE] = 2.0
        fs[leg, F_SWMAX] = h
        fs[leg, F_PEND] = 2.0
        fs[leg, F_PEND_N] = n - 1
    return n_ev


@jit
def _leg_vis(ring: np.ndarray, n_first: int, k: int, leg: int) -> float:
    """Mean visibility of the leg's knee and ankle over the crossing's samples."""
    rows = ring.shape[0]
    s = 0.0
    for i in range(2 * k):
        r = (n_first - k + i) % rows
        s += ring[r, R_VIS + 2 + leg] + ring[r, R_VIS + ANKLE + leg]
    return min(1.0, s / (4.0 * k))

