"""numba kernels of the metrics stage: pure functions on float arrays.

Everything that runs per frame is one call, `frame_update`, so the Python overhead per
frame is one dispatch.  Thresholds arrive in `prm` (built from MetricsConfig by the
analyzer); the module-level integers below are only the fixed memory layout of the
state/ring/param arrays, never tunable values.

Coordinates are pixels (image y down).  The 12 tracked points (index p):
0 hip L, 1 hip R, 2 knee L, 3 knee R, 4 ankle L, 5 ankle R, 6 heel L, 7 heel R,
8 toe L, 9 toe R, 10 shoulder L, 11 shoulder R.  Leg l (0 = L, 1 = R) owns p = 2k + l.
"""

from __future__ import annotations

import math

import numpy as np

from realtime.metrics._jit import jit

N_PTS = 12
N_LEG_PTS = 10  # hips..toes: what a BlazePose leg swap exchanges

# ---- ring columns (one row per frame)
R_T = 0
R_XY = 1  # 24 columns: x, y of the 12 points (gated, swap-repaired, unsmoothed)
R_CONF = 25  # mean visibility of the leg points this frame
R_VALID = 26
R_SMY = 27  # 4 columns: smoothed y of heel L, heel R, toe L, toe R (the floors' input)
R_FACING = 31  # facing after this frame (for tests and re-analysis)
N_RING_COLS = 32

# ---- params
P_W = 0
P_H = 1
P_MINVIS = 2
P_MAXGAP = 3
P_MINCUT = 4
P_BETA = 5
P_DCUT = 6
P_SWAP_RATIO = 7
P_MAX_SWAP_S = 8
P_THR_IC = 9
P_THR_TO = 10
P_MIN_SWING_H = 11
P_GROUND_DECAY = 12
P_IS_SIDE = 13
P_FACING_TAU = 14
P_IC_OFFSET = 15
P_RING_ROWS = 16
P_SCALE_TAU = 17
P_LEG_RATIO = 18
P_SIDE_HORIZ = 19
P_HORIZ_HYST = 20
P_FLOOR_WIN = 21
P_THR_RAW = 22
P_GATE_FRAC = 23
P_MIN_STEP = 24
P_HIDDEN_RATIO = 25
N_PARAMS = 28

# ---- state
S_N = 0  # frames written to the ring
S_T_LAST = 1
S_T_USABLE = 2
S_GAPFLAG = 3
S_FACING = 4
S_NOSE_EW = 5
S_FOOT_EW = 6
S_SWAP_RUN = 7
S_NSWAPS = 8
S_LEGLEN = 9
S_THIGH = 10  # 10, 11
S_SHANK = 12  # 12, 13
S_HIST_T1 = 14
S_HIST_T2 = 15
S_HIST_N = 16
S_HAS_POSE = 17
S_T_FIRST = 18
S_SCALE_N = 19
S_LEG_2D = 49  # mean image hip-to-ankle distance
S_LEG = 180  # per-leg event state, 28 slots each
LEG_STRIDE = 28
LEG_PHASE = 0  # 0 unknown, 1 stance, 2 swing
LEG_GROUND = 1
LEG_SWMAX = 2
LEG_HPREV = 3
LEG_TPREV = 4
LEG_LASTIC = 5
LEG_LASTTO = 6
LEG_YMEAN = 7
LEG_FXPREV = 8
LEG_GROUND_TOE = 9  # LEG_GROUND is the heel's floor, this the toe's
# fore-aft tracker (side view, hybrid events): the ankle's position along the running
# direction relative to the hips, in leg lengths; its forward extreme is near contact
H_PHASE = 10  # 0 unknown, 2 moving forward (swing), 1 moving backward (stance)
H_EXT = 11  # current extreme value
H_EXT_T = 12  # its time
H_EXT_PREV = 13  # the sample before it
H_EXT_NEXT = 14  # the sample after it
H_FPREV = 15  # previous sample
H_TPREV = 16  # its time
H_FWD = 17  # typical forward extreme (mean over recent strides)
H_BACK = 18  # typical backward extreme
H_OFF = 19  # typical contact time minus forward-extreme time
H_VDONE = 20  # 1 if a height-based contact was emitted since the last forward extreme
LEG_LASTEMIT = 21  # time of the last contact emitted for this leg
H_RAW1 = 22  # unfiltered fore-aft position, previous frame
H_RAW2 = 23  # and the frame before
H_TRAW1 = 24  # time of the previous frame
H_NPAIR = 25  # strides with both a height contact and a forward extreme (offset samples)
V_LAST = 26  # time of the last height-based contact (emitted or not)
LEG_STANCE = 27  # mean stance time from height contact to toe-off (side view, hybrid)
S_HIST1 = 50  # 24: previous repaired positions
S_HIST2 = 74  # 24: the ones before
S_OE_X = 100  # 24: One Euro estimate
S_OE_DX = 124  # 24: One Euro derivative estimate
S_OE_T = 148  # 24: time of the last sample of each coordinate
N_STATE = 240

EV_IC = 0.0
EV_TO = 1.0
EV_BREAK = 2.0
MAX_EVENTS = 8

# BlazePose index of each tracked point
LM_INDEX = np.array([23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 11, 12], np.int64)


@jit
def new_state() -> np.ndarray:
    st = np.full(N_STATE, np.nan)
    st[S_N] = 0.0
    st[S_GAPFLAG] = 0.0
    st[S_FACING] = 0.0
    st[S_NOSE_EW] = 0.0
    st[S_FOOT_EW] = 0.0
    st[S_SWAP_RUN] = 0.0
    st[S_NSWAPS] = 0.0
    st[S_HIST_N] = 0.0
    st[S_HAS_POSE] = 0.0
    st[S_SCALE_N] = 0.0
    for leg in range(2):
        b = S_LEG + leg * LEG_STRIDE
        st[b + LEG_PHASE] = 0.0
        st[b + H_PHASE] = 0.0
        st[b + H_OFF] = 0.0
        st[b + H_VDONE] = 0.0
        st[b + H_NPAIR] = 0.0
    return st


@jit
def one_euro_alpha(cutoff_hz: float, dt: float) -> float:
    """Smoothing factor of a first-order low-pass at `cutoff_hz` (Casiez et al. 2012)."""
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt)


@jit
def one_euro_step(
    x: float, t: float, st: np.ndarray, i: int, scale: float,
    min_cutoff: float, beta: float, d_cutoff: float, max_gap: float,
) -> float:
    """One sample of a One Euro filter whose state lives in st[i], st[i+24], st[i+48].

    `scale` (pixels per leg length) makes `beta` unit-free: cutoff = min_cutoff +
    beta * |speed in leg lengths per second|.  A NaN sample leaves the state alone; a
    sample after a gap longer than `max_gap` restarts the filter.
    """
    if x != x:
        return np.nan
    xi = i
    di = i + 24
    ti = i + 48
    tp = st[ti]
    if tp != tp or t - tp > max_gap or t <= tp:
        st[xi] = x
        st[di] = 0.0
        st[ti] = t
        return x
    dt = t - tp
    dx = (x - st[xi]) / dt
    ad = one_euro_alpha(d_cutoff, dt)
    dxh = ad * dx + (1.0 - ad) * st[di]
    cutoff = min_cutoff + beta * abs(dxh) / scale
    a = one_euro_alpha(cutoff, dt)
    xh = a * x + (1.0 - a) * st[xi]
    st[xi] = xh
    st[di] = dxh
    st[ti] = t
    return xh


@jit
def one_euro_filter(
    x: np.ndarray, t: np.ndarray, scale: float, min_cutoff: float, beta: float,
    d_cutoff: float, max_gap: float,
) -> np.ndarray:
    """A whole signal through `one_euro_step` (tests and the lag measurement use it)."""
    st = np.full(N_STATE, np.nan)
    out = np.empty(x.shape[0])
    for k in range(x.shape[0]):
        y = one_euro_step(x[k], t[k], st, S_OE_X, scale, min_cutoff, beta, d_cutoff, max_gap)
        out[k] = y if y == y else st[S_OE_X]
    return out


@jit
def _dist(ax: float, ay: float, bx: float, by: float) -> float:
    return math.sqrt((ax - bx) ** 2 + (ay - by) ** 2)


@jit
def swap_costs(pts: np.ndarray, st: np.ndarray, t: float) -> tuple[float, float, int]:
    """Distance of the observed legs from constant-velocity predictions of our tracks,
    as labelled and with L/R exchanged (knee, ankle, heel, toe)."""
    t1 = st[S_HIST_T1]
    t2 = st[S_HIST_T2]
    r = (t - t1) / (t1 - t2) if t1 > t2 else 1.0
    keep = 0.0
    swap = 0.0
    m = 0
    for k in range(1, 5):
        pl = 2 * k
        pr = 2 * k + 1
        plx = st[S_HIST1 + 2 * pl] + (st[S_HIST1 + 2 * pl] - st[S_HIST2 + 2 * pl]) * r
        ply = st[S_HIST1 + 2 * pl + 1] + (st[S_HIST1 + 2 * pl + 1] - st[S_HIST2 + 2 * pl + 1]) * r
        prx = st[S_HIST1 + 2 * pr] + (st[S_HIST1 + 2 * pr] - st[S_HIST2 + 2 * pr]) * r
        pry = st[S_HIST1 + 2 * pr + 1] + (st[S_HIST1 + 2 * pr + 1] - st[S_HIST2 + 2 * pr + 1]) * r
        olx = pts[2 * pl]
        oly = pts[2 * pl + 1]
        orx = pts[2 * pr]
        ory = pts[2 * pr + 1]
        if (plx == plx and ply == ply and prx == prx and pry == pry and olx == olx
                and oly == oly and orx == orx and ory == ory):
            keep += _dist(olx, oly, plx, ply) + _dist(orx, ory, prx, pry)
            swap += _dist(orx, ory, plx, ply) + _dist(olx, oly, prx, pry)
            m += 1
    return keep, swap, m


@jit
def _running_mean(st: np.ndarray, i: int, d: float, a: float) -> None:
    """Mean of a body length over the recent gait cycles (cumulative at first, then
    exponential with weight `a`); a jump beyond 1.6x the mean (a mislabelled point)
    is ignored.  The validation's leg length is the mean hip-to-ankle distance."""
    if d != d or d <= 0.0:
        return
    e = st[i]
    if e != e:
        st[i] = d
    elif d < 1.6 * e:
        st[i] = e + a * (d - e)


@jit
def _window_max(ring: np.ndarray, row: int, n: int, col: int, t_lo: float) -> float:
    """Max of ring column `col` over the newest rows (n written, newest at `row`) with
    time >= t_lo; NaN if none is finite."""
    rows = ring.shape[0]
    best = -np.inf
    for k in range(min(n, rows)):
        r = row - k
        if r < 0:
            r += rows
        if ring[r, R_T] < t_lo:
            break
        v = ring[r, col]
        if v > best:
            best = v
    return best if best > -np.inf else np.nan


@jit
def _raw_crossing(
    ring: np.ndarray, row: int, n: int, leg: int, g_heel: float, g_toe: float,
    leg_len: float, thr: float,
) -> float:
    """Newest time within the last 5 frames at which the unsmoothed foot height (lower
    of heel and toe above their floors) fell through `thr` (linear interpolation), or
    NaN.  The smoothed height detects the contact; this times it without filter lag."""
    rows = ring.shape[0]
    hn = np.nan
    tn = np.nan
    for k in range(min(n, rows, 6)):
        r = row - k
        if r < 0:
            r += rows
        yh = ring[r, R_XY + 2 * (6 + leg) + 1]
        yt = ring[r, R_XY + 2 * (8 + leg) + 1]
        h = np.inf
        if yh == yh and g_heel == g_heel:
            h = (g_heel - yh) / leg_len
        if yt == yt and g_toe == g_toe:
            h = min(h, (g_toe - yt) / leg_len)
        if h == np.inf:
            return np.nan
        tk = ring[r, R_T]
        if hn == hn and h >= thr > hn:
            tc = tk + (tn - tk) * (h - thr) / (h - hn)
            return tc
        hn = h
        tn = tk
    return np.nan


@jit
def _foot_low(pts: np.ndarray, leg: int) -> float:
    """Lowest image point of the foot (max y of heel and toe; NaN if neither is seen)."""
    hy = pts[2 * (6 + leg) + 1]
    ty = pts[2 * (8 + leg) + 1]
    if hy != hy:
        return ty
    if ty != ty:
        return hy
    return max(hy, ty)


@jit
def _hidden(st: np.ndarray, leg: int, ratio: float) -> bool:
    """Side view: the leg's height contacts are unreliable (a half-hidden far foot
    whose height touches its floor only briefly, late in the stance): its mean stance
    time (height contact to toe-off) is below `ratio` times the other leg's, and the
    other leg has a learned extreme-to-contact delay (two strides with both)."""
    b = S_LEG + leg * LEG_STRIDE
    bo = S_LEG + (1 - leg) * LEG_STRIDE
    s = st[b + LEG_STANCE]
    so = st[bo + LEG_STANCE]
    return s == s and so == so and s < ratio * so and st[bo + H_NPAIR] >= 2.0


@jit
def frame_update(
    lm: np.ndarray, t: float, st: np.ndarray, ring: np.ndarray, prm: np.ndarray,
    ev: np.ndarray, lm_index: np.ndarray,
) -> int:
    """Condition one frame of landmarks and detect gait events; returns the event count.

    Writes the frame into ring row S_N % rows, updates `st` in place and writes events
    (kind, leg, t_event, confidence) to `ev`.
    """
    w = prm[P_W]
    h = prm[P_H]
    minvis = prm[P_MINVIS]
    maxgap = prm[P_MAXGAP]
    rows = ring.shape[0]
    n_ev = 0
    n = int(st[S_N])
    row = n % rows
    st[S_N] = n + 1
    if st[S_T_FIRST] != st[S_T_FIRST]:
        st[S_T_FIRST] = t

    pts = np.empty(2 * N_PTS)
    has_pose = False
    vis_sum = 0.0
    for p in range(N_PTS):
        j = lm_index[p]
        x = lm[j, 0]
        y = lm[j, 1]
        v = lm[j, 3]
        if x == x:
            has_pose = True
        if p < N_LEG_PTS:
            vis_sum += v if v == v else 0.0
        if x == x and y == y and v >= minvis:
            pts[2 * p] = x * w
            pts[2 * p + 1] = y * h
        else:
            pts[2 * p] = np.nan
            pts[2 * p + 1] = np.nan
    if not has_pose:
        has_pose = lm[0, 0] == lm[0, 0]
    st[S_HAS_POSE] = 1.0 if has_pose else 0.0
    hip_ok = pts[0] == pts[0] or pts[2] == pts[2]
    foot_ok = False
    for leg in range(2):
        if _foot_low(pts, leg) == _foot_low(pts, leg):
            foot_ok = True
    usable = has_pose and hip_ok and foot_ok

    ring[row, R_T] = t
    tu = st[S_T_USABLE]
    if tu == tu and t - tu > maxgap and st[S_GAPFLAG] == 0.0:
        # a long gap: break the step chain and forget the legs' phase
        st[S_GAPFLAG] = 1.0
        st[S_HIST_N] = 0.0
        for leg in range(2):
            st[S_LEG + leg * LEG_STRIDE + LEG_PHASE] = 0.0
        ev[n_ev, 0] = EV_BREAK
        ev[n_ev, 1] = 0.0
        ev[n_ev, 2] = tu
        ev[n_ev, 3] = 0.0
        n_ev += 1
    if not usable:
        for c in range(2 * N_PTS):
            ring[row, R_XY + c] = np.nan
        for c in range(4):
            ring[row, R_SMY + c] = np.nan
        ring[row, R_FACING] = np.nan
        ring[row, R_CONF] = 0.0
        ring[row, R_VALID] = 0.0
        st[S_T_LAST] = t
        return n_ev
    st[S_GAPFLAG] = 0.0
    st[S_T_USABLE] = t

    # ---- left/right swap repair: compare with our own tracks' predictions
    swapped = False
    if st[S_HIST_N] >= 2.0:
        keep, swap, m = swap_costs(pts, st, t)
        if m >= 1 and swap < prm[P_SWAP_RATIO] * keep:
            swapped = True
    if swapped:
        st[S_SWAP_RUN] += 1.0
        dt_frame = t - st[S_HIST_T1]
        if st[S_SWAP_RUN] * dt_frame > prm[P_MAX_SWAP_S]:
            # disagreeing for too long: our track was wrong, trust the labels again
            swapped = False
            st[S_SWAP_RUN] = 0.0
    else:
        st[S_SWAP_RUN] = 0.0
    if swapped:
        st[S_NSWAPS] += 1.0
        for k in range(N_LEG_PTS // 2):
            a = 2 * (2 * k)
            b = 2 * (2 * k + 1)
            for c in range(2):
                tmp = pts[a + c]
                pts[a + c] = pts[b + c]
                pts[b + c] = tmp
    # history for the next prediction (a missing point continues its prediction)
    t1 = st[S_HIST_T1]
    t2 = st[S_HIST_T2]
    r = (t - t1) / (t1 - t2) if (st[S_HIST_N] >= 2.0 and t1 > t2) else 0.0
    for c in range(2 * N_PTS):
        h1 = st[S_HIST1 + c]
        h2 = st[S_HIST2 + c]
        nv = pts[c]
        if nv != nv and st[S_HIST_N] >= 2.0:
            nv = h1 + (h1 - h2) * r
        st[S_HIST2 + c] = h1
        st[S_HIST1 + c] = nv
    st[S_HIST_T2] = t1
    st[S_HIST_T1] = t
    st[S_HIST_N] += 1.0

    # ---- ring row
    for c in range(2 * N_PTS):
        ring[row, R_XY + c] = pts[c]
    ring[row, R_CONF] = vis_sum / N_LEG_PTS
    ring[row, R_VALID] = 1.0

    # ---- body scale: mean thigh and hip-to-ankle lengths over recent cycles
    tl0 = st[S_T_LAST]
    dts = t - tl0 if tl0 == tl0 else 0.0
    cnt = st[S_SCALE_N] + 1.0
    st[S_SCALE_N] = cnt
    a_sc = max(1.0 / cnt, dts / prm[P_SCALE_TAU])
    hip_ankle = 0.0
    nha = 0
    for leg in range(2):
        hx = pts[2 * leg]
        hy = pts[2 * leg + 1]
        kx = pts[2 * (2 + leg)]
        ky = pts[2 * (2 + leg) + 1]
        ax = pts[2 * (4 + leg)]
        ay = pts[2 * (4 + leg) + 1]
        _running_mean(st, S_THIGH + leg, _dist(hx, hy, kx, ky), a_sc)
        _running_mean(st, S_SHANK + leg, _dist(kx, ky, ax, ay), a_sc)
        d = _dist(hx, hy, ax, ay)
        if d == d:
            hip_ankle += d
            nha += 1
    if nha > 0:
        _running_mean(st, S_LEG_2D, hip_ankle / nha, a_sc)
        st[S_LEGLEN] = st[S_LEG_2D] / prm[P_LEG_RATIO]
    leg_len = st[S_LEGLEN]
    if leg_len != leg_len:
        leg_len = 0.4 * h
    # ---- smoothing
    sm = np.empty(2 * N_PTS)
    for c in range(2 * N_PTS):
        one_euro_step(pts[c], t, st, S_OE_X + c, leg_len, prm[P_MINCUT], prm[P_BETA],
                      prm[P_DCUT], maxgap)
        sm[c] = st[S_OE_X + c] if pts[c] == pts[c] else np.nan

    for k2 in range(2):
        for leg in range(2):
            ring[row, R_SMY + 2 * k2 + leg] = sm[2 * (6 + 2 * k2 + leg) + 1]
    tl = st[S_T_LAST]
    dt = t - tl if tl == tl else 0.0
    st[S_T_LAST] = t
    is_side = prm[P_IS_SIDE] > 0.5

    # ---- facing (side view): nose ahead of the ears, and the stance foot moves backward
    if is_side and dt > 0.0:
        a = min(1.0, dt / prm[P_FACING_TAU])
        nx = lm[0, 0] * w
        ex = 0.0
        ec = 0
        for j in (7, 8):
            if lm[j, 0] == lm[j, 0] and lm[j, 3] >= minvis:
                ex += lm[j, 0] * w
                ec += 1
        if nx == nx and lm[0, 3] >= minvis and ec > 0:
            d = (nx - ex / ec) / leg_len
            d = min(0.3, max(-0.3, d))
            st[S_NOSE_EW] += a * (d - st[S_NOSE_EW])
        mhx = np.nan
        if sm[0] == sm[0] and sm[2] == sm[2]:
            mhx = 0.5 * (sm[0] + sm[2])
        elif sm[0] == sm[0]:
            mhx = sm[0]
        else:
            mhx = sm[2]
        for leg in range(2):
            b = S_LEG + leg * LEG_STRIDE
            fx = sm[2 * (4 + leg)] - mhx
            fy = _foot_low(sm, leg)
            if fx == fx and fy == fy:
                ym = st[b + LEG_YMEAN]
                if ym != ym:
                    st[b + LEG_YMEAN] = fy
                    ym = fy
                else:
                    st[b + LEG_YMEAN] = ym + a * (fy - ym)
                fp = st[b + LEG_FXPREV]
                if fp == fp:
                    vx = (fx - fp) / dt / leg_len
                    prod = vx * (fy - ym) / leg_len
                    st[S_FOOT_EW] += 0.5 * a * (prod - st[S_FOOT_EW])
            st[b + LEG_FXPREV] = fx
        score = st[S_NOSE_EW] - 3.0 * st[S_FOOT_EW]
        if score > 0.005:
            st[S_FACING] = 1.0
        elif score < -0.005:
            st[S_FACING] = -1.0

    # ---- side view: events from the foot's fore-aft position relative to the hips
    # (the foot is furthest forward near contact and furthest back near toe-off);
    # robust where the model's heel/toe heights are noisy
    ring[row, R_FACING] = st[S_FACING]
    hybrid = is_side and prm[P_SIDE_HORIZ] > 0.5 and st[S_FACING] != 0.0
    if hybrid:
        n_ev = _foreaft_events(pts, lm, t, st, prm, ev, n_ev, leg_len, lm_index)

    # ---- gait events from the vertical foot kinematics (both views)
    thr_ic = prm[P_THR_IC]
    thr_to = prm[P_THR_TO]
    for leg in range(2):
        b = S_LEG + leg * LEG_STRIDE
        # each marker against its own floor (heel and toe landmarks sit at different
        # heights on a flat foot); the foot's height is the lower of the two
        hh = np.inf
        for k2 in range(2):
            slot = LEG_GROUND if k2 == 0 else LEG_GROUND_TOE
            p = 6 + 2 * k2 + leg
            fy = sm[2 * p + 1]
            if fy != fy:
                continue
            if prm[P_FLOOR_WIN] > 0.0:
                # the floor: the marker's lowest smoothed point over the last window
                # (a stride or two), like the mocap truth's running minimum; no drift
                g = _window_max(ring, row, n + 1, R_SMY + 2 * k2 + leg, t - prm[P_FLOOR_WIN])
                # before a contact has been seen, both feet may be in the air: the
                # floor is at least as low as the other foot's same marker
                fo = _window_max(ring, row, n + 1, R_SMY + 2 * k2 + 1 - leg,
                                 t - prm[P_FLOOR_WIN])
                if st[S_T_USABLE] - st[S_T_FIRST] < prm[P_FLOOR_WIN] and fo > g:
                    g = fo
            else:
                g = st[b + slot]
                if g != g:
                    # first sight: the floor is at least as low as the other foot's marker
                    fo = sm[2 * (p + 1 - 2 * leg) + 1]
                    g = fy if fo != fo else max(fy, fo)
                else:
                    g -= prm[P_GROUND_DECAY] * leg_len * dt
                    if fy > g:
                        g += 0.5 * (fy - g)
            st[b + slot] = g
            hh = min(hh, (g - fy) / leg_len)
        if hh == np.inf:
            continue
        hp = st[b + LEG_HPREV]
        tp = st[b + LEG_TPREV]
        if hh < -3.0 * thr_ic:
            # the foot is well below the floor estimate: the floor was wrong (both feet
            # in the air at start-up, or a glitch), so this leg's phase is unknown
            st[b + LEG_PHASE] = 0.0
        ph = st[b + LEG_PHASE]
        conf = 0.0
        for k in (4, 6, 8):
            v = lm[lm_index[k + leg], 3]
            conf += v if v == v else 0.0
        conf = min(1.0, max(0.0, conf / 3.0))
        if ph == 0.0:
            if hh > prm[P_MIN_SWING_H]:
                st[b + LEG_PHASE] = 2.0
                st[b + LEG_SWMAX] = hh
            elif hh < thr_ic:
                st[b + LEG_PHASE] = 1.0
        elif ph == 1.0:
            if hh > thr_to and hp == hp and hp <= thr_to:
                te = tp + (t - tp) * (thr_to - hp) / (hh - hp)
                st[b + LEG_PHASE] = 2.0
                st[b + LEG_SWMAX] = hh
                vl = st[b + V_LAST]
                lt = st[b + LEG_LASTTO]
                st[b + LEG_LASTTO] = te
                # stance time: the first toe-off after a height contact
                if (hybrid and vl == vl and 0.25 * prm[P_MIN_STEP] < te - vl < 4.0 * prm[P_MIN_STEP]
                        and not lt >= vl):
                    sm_ = st[b + LEG_STANCE]
                    st[b + LEG_STANCE] = te - vl if sm_ != sm_ else sm_ + 0.3 * (te - vl - sm_)
                if n_ev < ev.shape[0]:
                    ev[n_ev, 0] = EV_TO
                    ev[n_ev, 1] = leg
                    ev[n_ev, 2] = te
                    ev[n_ev, 3] = conf
                    n_ev += 1
        else:
            if hh > st[b + LEG_SWMAX]:
                st[b + LEG_SWMAX] = hh
            if hh < thr_ic and hp == hp and hp >= thr_ic:
                st[b + LEG_PHASE] = 1.0
                if st[b + LEG_SWMAX] > prm[P_MIN_SWING_H]:
                    te = tp + (t - tp) * (hp - thr_ic) / (hp - hh)
                    if prm[P_THR_RAW] > 0.0:
                        tr = _raw_crossing(ring, row, n + 1, leg, st[b + LEG_GROUND],
                                           st[b + LEG_GROUND_TOE], leg_len, prm[P_THR_RAW])
                        if tr == tr:
                            te = tr
                    te += prm[P_IC_OFFSET]
                    emit = True
                    if hybrid:
                        # a contact happens with the foot in the front part of its
                        # fore-aft excursion, and not twice in one stride
                        fwd = st[b + H_FWD]
                        back = st[b + H_BACK]
                        f = st[b + H_FPREV]
                        ok = True
                        if fwd == fwd and back == back and f == f:
                            ok = f >= back + prm[P_GATE_FRAC] * (fwd - back)
                        vl = st[b + V_LAST]
                        if vl == vl and te - vl < 2.0 * prm[P_MIN_STEP]:
                            ok = False
                        hidden = _hidden(st, leg, prm[P_HIDDEN_RATIO])
                        if ok:
                            st[b + V_LAST] = te
                            st[b + H_VDONE] = 1.0
                        le = st[b + LEG_LASTEMIT]
                        emit = ok and not hidden and not (
                            le == le and te - le < 2.0 * prm[P_MIN_STEP])
                    if emit:
                        st[b + LEG_LASTIC] = te
                        st[b + LEG_LASTEMIT] = te
                        if n_ev < ev.shape[0]:
                            ev[n_ev, 0] = EV_IC
                            ev[n_ev, 1] = leg
                            ev[n_ev, 2] = te
                            ev[n_ev, 3] = conf
                            n_ev += 1
        st[b + LEG_HPREV] = hh
        st[b + LEG_TPREV] = t
    return n_ev


@jit
def _foreaft_events(
    pts: np.ndarray, lm: np.ndarray, t: float, st: np.ndarray, prm: np.ndarray,
    ev: np.ndarray, n_ev: int, leg_len: float, lm_index: np.ndarray,
) -> int:
    """Side view: track each ankle's fore-aft position relative to the hips.

    Its forward extreme (found with a hysteresis of `horizontal_hysteresis` leg lengths
    on a median-of-3 of the unsmoothed signal, timed by a parabola through the extreme and its two
    neighbours) comes once per stride near contact.  It keeps the typical forward and
    backward extremes (used to reject height-based contacts in the wrong phase) and the
    typical delay from extreme to contact; when a stride passes without a height-based
    contact (occluded or noisy feet), it emits the contact at extreme + that delay (from
    the first stride with both on either leg, at a low confidence until there are two).
    """
    facing = st[S_FACING]
    hx = np.nan
    if pts[0] == pts[0] and pts[2] == pts[2]:
        hx = 0.5 * (pts[0] + pts[2])
    elif pts[0] == pts[0]:
        hx = pts[0]
    else:
        hx = pts[2]
    hyst = prm[P_HORIZ_HYST]
    for leg in range(2):
        b = S_LEG + leg * LEG_STRIDE
        fr = facing * (pts[2 * (4 + leg)] - hx) / leg_len
        if fr != fr:
            continue
        # median of three: the model's one-frame glitches (a foot jumping to the other
        # leg) would otherwise look like extremes; costs one frame of delay
        r1 = st[b + H_RAW1]
        r2 = st[b + H_RAW2]
        t1 = st[b + H_TRAW1]
        st[b + H_RAW2] = r1
        st[b + H_RAW1] = fr
        st[b + H_TRAW1] = t
        if r1 != r1 or r2 != r2:
            continue
        f = max(min(r1, r2), min(max(r1, r2), fr))
        t_cur = t
        t = t1  # the median stands for the middle frame
        ph = st[b + H_PHASE]
        fp = st[b + H_FPREV]
        tp = st[b + H_TPREV]
        if st[b + H_EXT_T] == tp:
            st[b + H_EXT_NEXT] = f  # the first sample after the current extreme
        sgn = 1.0 if ph != 1.0 else -1.0  # 0/2: looking for the forward extreme
        if ph == 0.0:
            st[b + H_PHASE] = 2.0
            st[b + H_EXT] = f
            st[b + H_EXT_T] = t
            st[b + H_EXT_PREV] = np.nan
        elif sgn * f > sgn * st[b + H_EXT]:
            st[b + H_EXT] = f
            st[b + H_EXT_T] = t
            st[b + H_EXT_PREV] = fp
        elif sgn * (st[b + H_EXT] - f) > hyst:
            te = st[b + H_EXT_T]
            f0 = st[b + H_EXT]
            fm = st[b + H_EXT_PREV]
            fn = st[b + H_EXT_NEXT]
            if fm == fm and fn == fn and tp == tp:
                den = fm - 2.0 * f0 + fn
                if den * sgn < 0.0:
                    # vertex of the parabola, kept within half a frame of the extreme
                    # (clipped, not rejected: no knife edge on a tie of equal samples)
                    off = min(0.5, max(-0.5, 0.5 * (fm - fn) / den))
                    te += off * (t - tp)
            if ph != 1.0:  # passed the forward extreme
                fw = st[b + H_FWD]
                st[b + H_FWD] = f0 if fw != fw else fw + 0.3 * (f0 - fw)
                if st[b + H_VDONE] == 1.0:
                    d = st[b + V_LAST] - te
                    if abs(d) < 0.15:
                        npair = st[b + H_NPAIR] + 1.0
                        st[b + H_NPAIR] = npair
                        st[b + H_OFF] += max(0.2, 1.0 / npair) * (d - st[b + H_OFF])
                bo = S_LEG + (1 - leg) * LEG_STRIDE
                own = st[b + H_NPAIR]
                oth = st[bo + H_NPAIR]
                off = st[b + H_OFF] if (own >= 2.0 or own >= oth) else st[bo + H_OFF]
                hidden = _hidden(st, leg, prm[P_HIDDEN_RATIO])
                if hidden:
                    off = st[bo + H_OFF]  # the visible leg's delay
                if (st[b + H_VDONE] != 1.0 or hidden) and max(own, oth) >= 1.0:
                    # no height contact this stride: fill in once a delay is learned
                    # (from the leg with more pairs while this one has fewer than two:
                    # a hidden foot; from a single stride at start-up, see below)
                    tc = te + off
                    vl = st[b + V_LAST]
                    # a hidden foot (see _hidden) whose height gave a contact this stride:
                    # average it, less the two legs' delay difference, with the extreme's
                    if hidden and st[b + H_VDONE] == 1.0 and own >= 2.0 and abs(vl - te) < 0.15:
                        tc = 0.5 * (tc + vl - (st[b + H_OFF] - off))
                    le = st[b + LEG_LASTEMIT]
                    if (le != le or tc - le >= 2.0 * prm[P_MIN_STEP]) and n_ev < ev.shape[0]:
                        conf = 0.0
                        for k in (4, 6, 8):
                            v = lm[lm_index[k + leg], 3]
                            conf += v if v == v else 0.0
                        st[b + LEG_LASTIC] = tc
                        st[b + LEG_LASTEMIT] = tc
                        ev[n_ev, 0] = EV_IC
                        ev[n_ev, 1] = leg
                        ev[n_ev, 2] = tc
                        # a delay learned from a single stride is a guess: the contact
                        # is kept (the first strides of a session), but its step's
                        # confidence stays below the cue engine's 0.5 (sqrt(0.2) < 0.5)
                        cal = 0.8 if max(own, oth) >= 2.0 else 0.2
                        ev[n_ev, 3] = cal * min(1.0, max(0.0, conf / 3.0))
                        n_ev += 1
                st[b + H_VDONE] = 0.0
                st[b + H_PHASE] = 1.0
            else:  # passed the backward extreme
                bk = st[b + H_BACK]
                st[b + H_BACK] = f0 if bk != bk else bk + 0.3 * (f0 - bk)
                st[b + H_PHASE] = 2.0
            st[b + H_EXT] = f
            st[b + H_EXT_T] = t
            st[b + H_EXT_PREV] = fp
        st[b + H_FPREV] = f
        st[b + H_TPREV] = t
        t = t_cur
    return n_ev


@jit
def frames_update(
    lms: np.ndarray, ts: np.ndarray, st: np.ndarray, ring: np.ndarray, prm: np.ndarray,
    lm_index: np.ndarray, out_ev: np.ndarray,
) -> int:
    """`frame_update` over a whole stream in one call (batch re-analysis).

    `ring` must hold every frame (rows >= len(ts)) so that the step kernel can later
    read the ring exactly as it was at each event; events get their frame index in
    column 4 and a snapshot of facing, thigh lengths, leg length and the two legs'
    contact phases in columns 5-10.
    Returns the number of events written to `out_ev`.
    """
    ev = np.empty((MAX_EVENTS, 4))
    m = 0
    for i in range(ts.shape[0]):
        k = frame_update(lms[i], ts[i], st, ring, prm, ev, lm_index)
        for e in range(k):
            if m < out_ev.shape[0]:
                for c in range(4):
                    out_ev[m, c] = ev[e, c]
                out_ev[m, 4] = i
                out_ev[m, 5] = st[S_FACING]
                out_ev[m, 6] = st[S_THIGH]
                out_ev[m, 7] = st[S_THIGH + 1]
                out_ev[m, 8] = st[S_LEGLEN]
                out_ev[m, 9] = st[S_LEG + LEG_PHASE]
                out_ev[m, 10] = st[S_LEG + LEG_STRIDE + LEG_PHASE]
                m += 1
    return m


# --------------------------------------------------------------------- per-step metrics


@jit
def _quad_sums(
    tt: np.ndarray, y: np.ndarray, i0: int, i1: int, t0: float
) -> tuple[float, float, float, float, float, float, float, float, float]:
    """Sums of the normal equations of y = c0 + c1 u + c2 u^2, u = t - t0, over the finite
    samples i0..i1: (s0, s1, s2, s3, s4, b0, b1, b2, max |u|).  Shared by the peak and the
    value-at-a-time fits."""
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    s4 = 0.0
    b0 = 0.0
    b1 = 0.0
    b2 = 0.0
    umax = 0.0
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
    s0, s1, s2, s3, s4, b0, b1, b2, umax = _quad_sums(
        tt, y, max(best - halfwin, 0), min(best + halfwin, y.shape[0] - 1), t0)
    if s0 < 3.0:
        return y[best], t0
    det = s0 * (s2 * s4 - s3 * s3) - s1 * (s1 * s4 - s3 * s2) + s2 * (s1 * s3 - s2 * s2)
    if abs(det) < 1e-300:
        return y[best], t0
    c0 = (b0 * (s2 * s4 - s3 * s3) - s1 * (b1 * s4 - s3 * b2) + s2 * (b1 * s3 - s2 * b2)) / det
    c1 = (s0 * (b1 * s4 - b2 * s3) - b0 * (s1 * s4 - s3 * s2) + s2 * (s1 * b2 - b1 * s2)) / det
    c2 = (s0 * (s2 * b2 - s3 * b1) - s1 * (s1 * b2 - b1 * s2) + b0 * (s1 * s3 - s2 * s2)) / det
    if c2 * sign < 0.0:
        u = -c1 / (2.0 * c2)
        if abs(u) <= umax:
            return c0 + c1 * u + c2 * u * u, t0 + u
    return c0, t0


@jit
def local_value(tt: np.ndarray, y: np.ndarray, t: float, halfwin: int) -> float:
    """y at time t from a least-squares parabola through the samples within `halfwin`
    frames of t: sub-frame, less noisy than the nearest sample, and (unlike a line or a
    moving average) it does not flatten an extremum that falls at t."""
    n = y.shape[0]
    k = 0
    while k < n and tt[k] < t:
        k += 1
    s0, s1, s2, s3, s4, b0, b1, b2, _umax = _quad_sums(
        tt, y, max(k - halfwin - 1, 0), min(k + halfwin, n - 1), t)
    if s0 < 1.0:
        return np.nan
    if s0 >= 4.0:
        det = s0 * (s2 * s4 - s3 * s3) - s1 * (s1 * s4 - s3 * s2) + s2 * (s1 * s3 - s2 * s2)
        if abs(det) > 1e-300:
            return (b0 * (s2 * s4 - s3 * s3) - s1 * (b1 * s4 - s3 * b2)
                    + s2 * (b1 * s3 - s2 * b2)) / det
    det = s0 * s2 - s1 * s1
    if s0 < 2.0 or abs(det) < 1e-300:
        return b0 / s0
    return (b0 * s2 - s1 * b1) / det


@jit
def step_window(
    ring: np.ndarray, n: int, rows_limit: int, t_lo: float
) -> tuple[np.ndarray, np.ndarray]:
    """Ring rows with t >= t_lo among the newest `rows_limit` of the first n frames,
    oldest first: (t [m], xy [m, 24])."""
    rows = ring.shape[0]
    first = n
    lim = max(n - min(rows_limit, rows), 0)
    while first > lim and ring[(first - 1) % rows, R_T] >= t_lo:
        first -= 1
    m = n - first
    tt = np.empty(m)
    xy = np.empty((m, 2 * N_PTS + 1))
    for i in range(m):
        r = (first + i) % rows
        tt[i] = ring[r, R_T]
        for c in range(2 * N_PTS):
            xy[i, c] = ring[r, R_XY + c]
        xy[i, 2 * N_PTS] = ring[r, R_CONF]
    return tt, xy


@jit
def step_metrics(
    ring: np.ndarray, n: int, rows_limit: int, t_a: float, t_b: float, t_s0: float,
    to_a: float, leg_a: int, facing: float, is_side: bool, thigh_b: float,
    leg_len: float, halfwin_s: float, contact_halfwin_s: float, out: np.ndarray,
) -> None:
    """Metrics of the step from contact t_a (leg_a) to contact t_b (the other leg).

    Reads only the first n frames (causal).  out: knee_drive_deg, knee_height_pct,
    knee_flexion_ic_deg, overstride_pct, trunk_lean_deg, vertical_oscillation_pct,
    hip_sway_pct, pelvic_drop_deg, visibility confidence, fraction of valid frames.
    `halfwin_s` / `contact_halfwin_s` are the half-widths (s) of the parabolas fitted
    around a peak / around the contact time (shorter: the knee moves fast there).
    """
    out[:] = np.nan
    t_lo = t_a
    if t_s0 == t_s0:
        t_lo = min(t_lo, t_s0)
    tt, xy = step_window(ring, n, rows_limit, t_lo - 0.25)
    m = tt.shape[0]
    if m < 3:
        return
    dtf = (tt[m - 1] - tt[0]) / (m - 1)
    halfwin = max(1, round(halfwin_s / dtf)) if dtf > 0 else 1
    chw = max(1, round(contact_halfwin_s / dtf)) if dtf > 0 else 1
    lo = 0
    while lo < m and tt[lo] < t_a:
        lo += 1
    hi = lo
    while hi < m and tt[hi] < t_b:
        hi += 1
    hi -= 1  # [lo, hi]: frames inside the step
    if hi < lo:
        return
    b = 1 - leg_a
    a = leg_a
    hax = xy[:, 2 * a]
    hay = xy[:, 2 * a + 1]
    hbx = xy[:, 2 * b]
    hby = xy[:, 2 * b + 1]
    mhx = np.empty(m)
    mhy = np.empty(m)
    for i in range(m):
        if hax[i] == hax[i] and hbx[i] == hbx[i]:
            mhx[i] = 0.5 * (hax[i] + hbx[i])
            mhy[i] = 0.5 * (hay[i] + hby[i])
        else:
            mhx[i] = np.nan
            mhy[i] = np.nan
    conf = 0.0
    valid = 0
    for i in range(lo, hi + 1):
        conf += xy[i, 2 * N_PTS]
        if mhx[i] == mhx[i]:
            valid += 1
    out[8] = conf / (hi - lo + 1)
    out[9] = valid / (hi - lo + 1)
    if is_side:
        kbx = xy[:, 2 * (2 + b)]
        kby = xy[:, 2 * (2 + b) + 1]
        thigh = np.empty(m)
        kh = np.empty(m)
        for i in range(m):
            thigh[i] = math.degrees(math.atan2(facing * (kbx[i] - hbx[i]), kby[i] - hby[i]))
            kh[i] = (hby[i] - kby[i]) / thigh_b * 100.0
        out[0] = quad_peak(tt, thigh, lo, hi, halfwin, 1.0)[0]
        out[1] = quad_peak(tt, kh, lo, hi, halfwin, 1.0)[0]
        flex = np.empty(m)
        over = np.empty(m)
        for i in range(m):
            kx = xy[i, 2 * (2 + a)]
            ky = xy[i, 2 * (2 + a) + 1]
            ax = xy[i, 2 * (4 + a)]
            ay = xy[i, 2 * (4 + a) + 1]
            ux = hax[i] - kx
            uy = hay[i] - ky
            vx = ax - kx
            vy = ay - ky
            nu = math.sqrt(ux * ux + uy * uy)
            nv = math.sqrt(vx * vx + vy * vy)
            c = (ux * vx + uy * vy) / (nu * nv) if nu > 0 and nv > 0 else np.nan
            if c == c:
                flex[i] = 180.0 - math.degrees(math.acos(min(1.0, max(-1.0, c))))
            else:
                flex[i] = np.nan  # min/max would turn a NaN into a number
            over[i] = facing * (ax - mhx[i]) / leg_len * 100.0
        out[2] = local_value(tt, flex, t_a, chw)
        out[3] = local_value(tt, over, t_a, chw)
        lean = 0.0
        nl = 0
        for i in range(lo, hi + 1):
            sx = 0.5 * (xy[i, 20] + xy[i, 22])
            sy = 0.5 * (xy[i, 21] + xy[i, 23])
            v = math.degrees(math.atan2(facing * (sx - mhx[i]), mhy[i] - sy))
            if v == v:
                lean += v
                nl += 1
        if nl > 0:
            out[4] = lean / nl
        ylow = quad_peak(tt, mhy, lo, hi, halfwin, 1.0)[0]
        yhigh = quad_peak(tt, mhy, lo, hi, halfwin, -1.0)[0]
        out[5] = (ylow - yhigh) / leg_len * 100.0
    else:
        if t_s0 == t_s0:
            # least-squares line over the stride removed (treadmill drift), then p-p
            slo = 0
            while slo < m and tt[slo] < t_s0:
                slo += 1
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            b0 = 0.0
            b1 = 0.0
            for i in range(slo, hi + 1):
                if mhx[i] == mhx[i]:
                    u = tt[i] - t_s0
                    s0 += 1.0
                    s1 += u
                    s2 += u * u
                    b0 += mhx[i]
                    b1 += mhx[i] * u
            det = s0 * s2 - s1 * s1
            if s0 >= 3.0 and det > 0.0:
                c0 = (b0 * s2 - s1 * b1) / det
                c1 = (s0 * b1 - s1 * b0) / det
                res = np.empty(m)
                for i in range(m):
                    res[i] = mhx[i] - (c0 + c1 * (tt[i] - t_s0))
                rmax = quad_peak(tt, res, slo, hi, halfwin, 1.0)[0]
                rmin = quad_peak(tt, res, slo, hi, halfwin, -1.0)[0]
                out[6] = (rmax - rmin) / leg_len * 100.0
        te = to_a if (to_a == to_a and t_a < to_a < t_b) else t_a + 0.6 * (t_b - t_a)
        shi = lo
        while shi < m and tt[shi] <= te:
            shi += 1
        shi -= 1
        drop = np.empty(m)
        for i in range(m):
            drop[i] = math.degrees(math.atan2(hby[i] - hay[i], abs(hbx[i] - hax[i])))
        if shi >= lo:
            out[7] = quad_peak(tt, drop, lo, shi, halfwin, 1.0)[0]
