"""Stage 1 of the metrics kernel: condition one frame of landmarks.

Landmarks below `min_visibility` become gaps; a frame without hips or an ankle is not
usable; a gap longer than `max_gap_s` breaks the step chain.  BlazePose sometimes
exchanges the left and right leg for a few frames: each leg point is compared with a
constant-velocity prediction of our own tracks, as labelled and exchanged, and the legs
are swapped back when the exchanged labelling fits better than `swap_ratio` times the
labelled one (for at most `max_swap_s`: disagreeing longer means our track was wrong).
The body scale (mean image hip-to-ankle length, the unit of every % metric and height
threshold) and the running direction (side view) are kept up to date here, and the
frame goes into the ring that the detectors and the step metrics read back.

State (`cs`, `C_*` slots) is this stage's alone.
"""

from __future__ import annotations

import math

import numpy as np

from realtime.metrics._jit import jit
from realtime.metrics.layout import (
    ANKLE,
    HEEL,
    HIP,
    KNEE,
    LM_NOSE,
    N_LEG_PTS,
    N_PTS,
    P_BODY_TAU,
    P_FACING_TAU,
    P_FOLD_DIST,
    P_FOLD_JUMP,
    P_H,
    P_HIP_FAR,
    P_HIP_NEAR,
    P_HIP_RATIO,
    P_IS_SIDE,
    P_MAX_SWAP_S,
    P_MAXGAP,
    P_MINVIS,
    P_OE_BETA,
    P_OE_DCUT,
    P_OE_MINCUT,
    P_REAR_RATIO,
    P_SCALE_TAU,
    P_SWAP_RATIO,
    P_W,
    R_BODY,
    R_FACING,
    R_FLOW,
    R_FOLD,
    R_T,
    R_VALID,
    R_VIS,
    R_XY,
    SHOULDER,
    TOE,
)

C_N = 0  # frames written to the ring
C_T_LAST = 1  # time of the last usable frame
C_T_USABLE = 2  # same, for the gap check
C_GAPFLAG = 3  # 1 while inside a long gap (the break was reported)
C_T_FIRST = 4  # time of the first frame
C_FACING = 5  # +1 runner faces image-right, -1 left, 0 unknown (always 0 in rear view)
C_NOSE_EW = 6  # facing evidence: nose ahead of the ears (EW mean, leg lengths)
C_FOOT_EW = 7  # facing evidence: cov(foot fore-aft velocity, foot height)
C_SWAP_RUN = 8  # consecutive frames repaired as swapped
C_NSWAPS = 9  # frames repaired so far
C_LEGLEN = 10  # leg length: mean image hip-to-ankle distance (/ rear_leg_ratio), px
C_LEG_2D = 11  # the image hip-to-ankle mean itself
C_THIGH = 12  # 2: mean thigh length per leg, px
C_SHANK = 14  # 2: mean shank length per leg, px
C_SCALE_N = 16  # usable frames seen (the running means start cumulative)
C_HIST_T1 = 17  # time of the previous usable frame (swap prediction)
C_HIST_T2 = 18  # and the one before
C_HIST_N = 19  # frames in the swap history
C_HAS_POSE = 20  # this frame had a pose
C_FOOT_YMEAN = 21  # 2: mean lowest-foot y per leg (facing evidence)
C_FOOT_FXPREV = 23  # 2: previous foot fore-aft position per leg (facing evidence)
C_BODY_MEAN = 25  # 5: running mean y of hips L/R, shoulders L/R, nose (body bounce)
C_HIST1 = 30  # 24: previous repaired positions
C_HIST2 = 54  # 24: the ones before
C_OE_X = 78  # 24: One Euro estimate (display only)
C_OE_DX = 102  # 24: One Euro derivative estimate
C_OE_T = 126  # 24: time of the last sample of each coordinate
C_T_PREV = 150  # time of the previous frame, usable or not (a flow sample spans the two)
C_NFOLDS = 151  # frames where one leg was drawn on the other (or off its own pixels)
C_SEEN = 152  # 2: 1 if the leg's ankle was seen (not gated) in the previous usable frame
C_FOLDED = 154  # the leg gated as folded onto the other in the previous frame, -1 none
C_THIGH_RAW = 155  # 2: mean thigh length per leg from BlazePose's own hips, px
N_COND = 157



@jit
def new_condition_state() -> np.ndarray:
    cs = np.full(N_COND, np.nan)
    for i in (C_N, C_GAPFLAG, C_FACING, C_NOSE_EW, C_FOOT_EW, C_SWAP_RUN, C_NSWAPS,
              C_SCALE_N, C_HIST_N, C_HAS_POSE, C_NFOLDS, C_SEEN, C_SEEN + 1):
        cs[i] = 0.0
    cs[C_FOLDED] = -1.0
    return cs


@jit
def one_euro_alpha(cutoff_hz: float, dt: float) -> float:
    """Smoothing factor of a first-order low-pass at `cutoff_hz` (Casiez et al. 2012)."""
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt)


@jit
def one_euro_step(
    x: float, t: float, st: np.ndarray, i: int, stride: int, scale: float,
    min_cutoff: float, beta: float, d_cutoff: float, max_gap: float,
) -> float:
    """One sample of a One Euro filter whose state is st[i], st[i+stride], st[i+2*stride].

    `scale` (pixels per leg length) makes `beta` unit-free: cutoff = min_cutoff +
    beta * |speed in leg lengths per second|.  A NaN sample leaves the state alone; a
    sample after a gap longer than `max_gap` restarts the filter.
    """
    if x != x:
        return np.nan
    di = i + stride
    ti = i + 2 * stride
    tp = st[ti]
    if tp != tp or t - tp > max_gap or t <= tp:
        st[i] = x
        st[di] = 0.0
        st[ti] = t
        return x
    dt = t - tp
    dx = (x - st[i]) / dt
    ad = one_euro_alpha(d_cutoff, dt)
    dxh = ad * dx + (1.0 - ad) * st[di]
    a = one_euro_alpha(min_cutoff + beta * abs(dxh) / scale, dt)
    xh = a * x + (1.0 - a) * st[i]
    st[i] = xh
    st[di] = dxh
    st[ti] = t
    return xh


@jit
def one_euro_filter(
    x: np.ndarray, t: np.ndarray, scale: float, min_cutoff: float, beta: float,
    d_cutoff: float, max_gap: float,
) -> np.ndarray:
    """A whole signal through `one_euro_step` (tests and the lag measurement use it)."""
    st = np.full(3, np.nan)
    out = np.empty(x.shape[0])
    for k in range(x.shape[0]):
        y = one_euro_step(x[k], t[k], st, 0, 1, scale, min_cutoff, beta, d_cutoff, max_gap)
        out[k] = y if y == y else st[0]
    return out


@jit
def dist(ax: float, ay: float, bx: float, by: float) -> float:
    return math.sqrt((ax - bx) ** 2 + (ay - by) ** 2)


@jit
def swap_costs(pts: np.ndarray, cs: np.ndarray, t: float) -> tuple[float, float, int]:
    """Distance of the observed legs from constant-velocity predictions of our tracks,
    as labelled and with L/R exchanged (knee, ankle, heel, toe)."""
    t1 = cs[C_HIST_T1]
    t2 = cs[C_HIST_T2]
    r = (t - t1) / (t1 - t2) if t1 > t2 else 1.0
    keep = 0.0
    swap = 0.0
    m = 0
    for k in range(1, 5):
        pl = 2 * k
        pr = 2 * k + 1
        plx = cs[C_HIST1 + 2 * pl] + (cs[C_HIST1 + 2 * pl] - cs[C_HIST2 + 2 * pl]) * r
        ply = cs[C_HIST1 + 2 * pl + 1] + (cs[C_HIST1 + 2 * pl + 1] - cs[C_HIST2 + 2 * pl + 1]) * r
        prx = cs[C_HIST1 + 2 * pr] + (cs[C_HIST1 + 2 * pr] - cs[C_HIST2 + 2 * pr]) * r
        pry = cs[C_HIST1 + 2 * pr + 1] + (cs[C_HIST1 + 2 * pr + 1] - cs[C_HIST2 + 2 * pr + 1]) * r
        olx = pts[2 * pl]
        oly = pts[2 * pl + 1]
        orx = pts[2 * pr]
        ory = pts[2 * pr + 1]
        if (plx == plx and ply == ply and prx == prx and pry == pry and olx == olx
                and oly == oly and orx == orx and ory == ory):
            keep += dist(olx, oly, plx, ply) + dist(orx, ory, prx, pry)
            swap += dist(orx, ory, plx, ply) + dist(olx, oly, prx, pry)
            m += 1
    return keep, swap, m


@jit
def _foot_mean(pts: np.ndarray, leg: int, src: int, cs: np.ndarray) -> tuple[float, float]:
    """Mean of a foot's ankle, heel and toe: this frame's (`src` < 0, from pts) or the
    previous frame's repaired track (cs[src + ...]); NaN if none is there."""
    sx = 0.0
    sy = 0.0
    m = 0
    for part in (ANKLE, HEEL, TOE):
        p = part + leg
        x = pts[2 * p] if src < 0 else cs[src + 2 * p]
        y = pts[2 * p + 1] if src < 0 else cs[src + 2 * p + 1]
        if x == x and y == y:
            sx += x
            sy += y
            m += 1
    if m == 0:
        return np.nan, np.nan
    return sx / m, sy / m


@jit
def _gate(pts: np.ndarray, ring: np.ndarray, row: int, p: int) -> None:
    pts[2 * p] = np.nan
    pts[2 * p + 1] = np.nan
    ring[row, R_VIS + p] = 0.0


STANCE_SHARE = 0.7  # a leg is still on the belt this share of a step after its contact


@jit
def fold_repair(pts: np.ndarray, cs: np.ndarray, ring: np.ndarray, row: int,
                prm: np.ndarray, t: float, gait: np.ndarray) -> int:
    """Find a leg that BlazePose drew on the other leg, or off its own pixels, and gate
    it out (its points become gaps: no metric is taken from them).  Returns 0, or 1 / 2
    when the left / right leg was gated.  `gait` is what the detectors know so far: the
    leg of the last reported contact (-1 none), its time, the step period, and 1 once
    the stream carries the feet's pixel evidence (a real video).

    - *Folded*: both feet within `fold_dist` leg lengths of each other, or the knees and the ankles
      together within 2.5 times that (once folded, a little further: the model lets go over a frame
      or two; when the thighs cross in the motion-capture runners, knees plus ankles are 0.32 leg
      lengths apart or more).  Two feet are never in one place, and when the thighs cross the
      swinging foot is far behind the planted one, so one leg is drawn on the other.  On the shared
      clip the far leg is drawn on the near one early in every near-leg stance, and the near leg on
      the far one as the far foot lands (tests/fixtures/treadmill_side_male_leg_identity.json): the
      pair is the foot that is on the belt, or landing.  So it belongs to the leg of the last
      contact while that leg is still in its stance (`STANCE_SHARE` of a step), else to the other
      leg (the next to land).  Before any contact: to the leg whose own recent motion matches how
      the pair's pixels move (the pose stage's flow), or without flow the leg whose track is nearer.
      The other leg loses its foot points, and its knee too if the knees are within twice
      `fold_dist` (they are drawn together).
    - *Off its pixels*: a foot whose pixels (the flow, measured at this frame's
      landmarks) came from further than `fold_jump` leg lengths from where its own track
      was: the landmark jumped to something else (with its knee, if that is on the
      other knee).
    """
    leg_len = cs[C_LEGLEN]
    if leg_len != leg_len:
        return 0
    lim = prm[P_FOLD_DIST] * leg_len
    d = 0.0
    m = 0
    for part in (ANKLE, HEEL, TOE):
        a = 2 * part
        b = 2 * (part + 1)
        if pts[a] == pts[a] and pts[b] == pts[b]:
            d += dist(pts[a], pts[a + 1], pts[b], pts[b + 1])
            m += 1
    d = d / m if m > 0 else np.inf
    knees = dist(pts[2 * KNEE], pts[2 * KNEE + 1], pts[2 * (KNEE + 1)],
                 pts[2 * (KNEE + 1) + 1])
    ankles = dist(pts[2 * ANKLE], pts[2 * ANKLE + 1], pts[2 * (ANKLE + 1)],
                  pts[2 * (ANKLE + 1) + 1])
    # one foot on the other, or the whole leg drawn along the other: knees together
    # and the ankles on one lower leg (the real swinging foot is far behind the planted
    # one when the thighs cross)
    on_one = d < lim or knees + ankles < 2.5 * lim
    prev = int(cs[C_FOLDED])
    if on_one or (prev >= 0 and (d < 2.0 * lim or knees + ankles < 3.5 * lim)):
        if not on_one:
            lose = prev  # letting go: the same leg is still the wrong one
        elif gait[0] >= 0.0 and gait[2] == gait[2]:
            last = int(gait[0])
            down = last if t - gait[1] < STANCE_SHARE * gait[2] else 1 - last
            lose = 1 - down
        else:
            lose = _fold_loser_by_motion(pts, cs, ring, row)
        for part in (ANKLE, HEEL, TOE):
            _gate(pts, ring, row, part + lose)
        if not knees >= 2.0 * lim:  # together, or the other knee not seen to tell
            _gate(pts, ring, row, KNEE + lose)
        cs[C_FOLDED] = lose
        return lose + 1
    cs[C_FOLDED] = -1.0
    dt = t - cs[C_HIST_T1]
    if not dt > 0.0:
        return 0
    for leg in range(2):
        vx = ring[row, R_FLOW + 2 * leg]
        vy = ring[row, R_FLOW + 2 * leg + 1]
        ax = pts[2 * (ANKLE + leg)]
        ay = pts[2 * (ANKLE + leg) + 1]
        hx = cs[C_HIST1 + 2 * (ANKLE + leg)]
        hy = cs[C_HIST1 + 2 * (ANKLE + leg) + 1]
        # only against a track that was seen last frame (a predicted one drifts)
        if (vx == vx and ax == ax and hx == hx and cs[C_SEEN + leg] == 1.0
                and dist(ax - vx * dt, ay - vy * dt, hx, hy) > prm[P_FOLD_JUMP] * leg_len):
            for part in (ANKLE, HEEL, TOE):
                _gate(pts, ring, row, part + leg)
            if not knees >= lim:  # its knee went with it onto the other knee (or unseen)
                _gate(pts, ring, row, KNEE + leg)
            return leg + 1
    return 0


@jit
def _fold_loser_by_motion(pts: np.ndarray, cs: np.ndarray, ring: np.ndarray,
                          row: int) -> int:
    """The leg a folded pair does not belong to, before any contact is known: the one
    whose recent motion (its track over the last two frames) least matches the pair's
    pixels; without flow, the one whose track is further from the pair."""
    n = 0
    vx = 0.0
    vy = 0.0
    for leg in range(2):
        if ring[row, R_FLOW + 2 * leg] == ring[row, R_FLOW + 2 * leg]:
            vx += ring[row, R_FLOW + 2 * leg]
            vy += ring[row, R_FLOW + 2 * leg + 1]
            n += 1
    t1 = cs[C_HIST_T1]
    t2 = cs[C_HIST_T2]
    e = np.full(2, np.inf)
    for leg in range(2):
        h1x, h1y = _foot_mean(pts, leg, C_HIST1, cs)
        if n > 0 and t1 > t2:
            h2x, h2y = _foot_mean(pts, leg, C_HIST2, cs)
            if h1x == h1x and h2x == h2x:
                e[leg] = dist(vx / n, vy / n, (h1x - h2x) / (t1 - t2), (h1y - h2y) / (t1 - t2))
        elif h1x == h1x:
            ox, oy = _foot_mean(pts, 0, -1, cs)
            e[leg] = dist(ox, oy, h1x, h1y)
    return 0 if e[0] > e[1] else 1


@jit
def hip_centres(pts: np.ndarray, cs: np.ndarray, prm: np.ndarray, t: float) -> None:
    """Move the side view's hip landmarks to the hip joint centres.

    BlazePose's hips are not where the femoral heads are.  Every angle and length of the
    side view is measured between joint centres, as the motion-capture truth is (the
    virtual camera puts its hips where BlazePose would, realtime.validation.project), so
    a value, a default target and a validation figure mean the same thing.

    - Fore-aft: on the shared clip, against the joint centres placed by eye by two
      labellers (tests/fixtures/treadmill_side_male_swings.json, _contact_poses.json),
      the near hip sits `hip_near_forward` leg lengths behind the joint centre and the far
      hip `hip_far_forward` behind it: the shift that makes BlazePose's thigh point like
      the labelled thigh, median over every labelled frame (`python -m
      realtime.validation --labels`).  The near leg is the one on the camera's side: the
      runner's left when he faces image-left.
    - Up-down: a hip drawn above the joint centre (loose clothes over the pelvis) makes
      the thigh too long for its shank.  Joint centre to joint centre, the thigh is
      1.06-1.13 times the shank in the motion-capture runners; when BlazePose's mean thigh
      exceeds `hip_max_thigh_ratio` times its mean shank, both hips move down the trunk
      (shoulders to hips) by the excess.  On the shared clip BlazePose's thigh is shorter
      than its shank (0.9), so nothing moves there.
    Nothing moves before the facing and the body scale are known.
    """
    facing = cs[C_FACING]
    leg_len = cs[C_LEGLEN]
    # the raw thigh lengths' running means (before any move), for the up-down excess
    cnt = cs[C_SCALE_N] + 1.0
    tl = cs[C_T_LAST]
    a = max(1.0 / cnt, (t - tl) / prm[P_SCALE_TAU] if tl == tl else 1.0)
    for leg in range(2):
        running_mean(cs, C_THIGH_RAW + leg,
                     dist(pts[2 * (HIP + leg)], pts[2 * (HIP + leg) + 1],
                          pts[2 * (KNEE + leg)], pts[2 * (KNEE + leg) + 1]), min(1.0, a))
    if facing == 0.0 or leg_len != leg_len:
        return
    excess = 0.0
    n = 0
    for leg in range(2):
        th = cs[C_THIGH_RAW + leg]
        sh = cs[C_SHANK + leg]
        if th == th and sh == sh:
            excess += th - prm[P_HIP_RATIO] * sh
            n += 1
    drop = max(0.0, excess / n) if n > 0 else 0.0
    ux = 0.0
    uy = 1.0  # down the trunk: shoulders to hips (image down if they are not seen)
    sx = mid(pts, SHOULDER, 0)
    sy = mid(pts, SHOULDER, 1)
    hx = mid(pts, HIP, 0)
    hy = mid(pts, HIP, 1)
    tr = dist(sx, sy, hx, hy)
    if tr > 0.0:
        ux = (hx - sx) / tr
        uy = (hy - sy) / tr
    near = 0 if facing < 0.0 else 1
    for leg in range(2):
        fwd = prm[P_HIP_NEAR] if leg == near else prm[P_HIP_FAR]
        pts[2 * (HIP + leg)] += facing * fwd * leg_len + drop * ux
        pts[2 * (HIP + leg) + 1] += drop * uy


@jit
def running_mean(cs: np.ndarray, i: int, d: float, a: float) -> None:
    """Mean of a body length over the recent gait cycles (cumulative at first, then
    exponential with weight `a`); a jump beyond 1.6x the mean (a mislabelled point)
    is ignored.  The validation's leg length is the mean hip-to-ankle distance."""
    if d != d or d <= 0.0:
        return
    e = cs[i]
    if e != e:
        cs[i] = d
    elif d < 1.6 * e:
        cs[i] = e + a * (d - e)


@jit
def foot_low(pts: np.ndarray, leg: int) -> float:
    """Lowest image point of the foot (max y of heel and toe; NaN if neither is seen)."""
    hy = pts[2 * (HEEL + leg) + 1]
    ty = pts[2 * (TOE + leg) + 1]
    if hy != hy:
        return ty
    if ty != ty:
        return hy
    return max(hy, ty)


@jit
def mid(pts: np.ndarray, part: int, c: int) -> float:
    """Mean coordinate c (0 x, 1 y) of the L/R points of a part, or the one seen."""
    a = pts[2 * part + c]
    b = pts[2 * (part + 1) + c]
    if a == a and b == b:
        return 0.5 * (a + b)
    return a if a == a else b


@jit
def condition(
    lm: np.ndarray, flow: np.ndarray, t: float, cs: np.ndarray, ring: np.ndarray,
    prm: np.ndarray, lm_index: np.ndarray, pts: np.ndarray, gait: np.ndarray,
) -> tuple[bool, bool]:
    """Gate, repair and scale one frame; write it to the ring row C_N % rows.

    `pts` receives the repaired pixel coordinates (24, NaN where gated out); `flow`
    (float32 [2, 4], NaN where not measured) is each foot's pixel velocity, which goes
    to the ring with its leg (swapped with it, gated with its ankle); `gait` is what the
    detectors know of the gait so far, and whether this is a real video (fold_repair).
    Returns (usable, gap): whether the detectors should run on this frame, and whether a
    gap longer than `max_gap_s` ended before it (the caller reports a chain break).
    """
    w = prm[P_W]
    h = prm[P_H]
    minvis = prm[P_MINVIS]
    maxgap = prm[P_MAXGAP]
    rows = ring.shape[0]
    n = int(cs[C_N])
    row = n % rows
    cs[C_N] = n + 1
    if cs[C_T_FIRST] != cs[C_T_FIRST]:
        cs[C_T_FIRST] = t

    has_pose = lm[LM_NOSE, 0] == lm[LM_NOSE, 0]
    for p in range(N_PTS):
        j = lm_index[p]
        x = lm[j, 0]
        y = lm[j, 1]
        v = lm[j, 3]
        if x == x:
            has_pose = True
        if x == x and y == y and v >= minvis:
            pts[2 * p] = x * w
            pts[2 * p + 1] = y * h
            ring[row, R_VIS + p] = v
        else:
            pts[2 * p] = np.nan
            pts[2 * p + 1] = np.nan
            ring[row, R_VIS + p] = 0.0
    cs[C_HAS_POSE] = 1.0 if has_pose else 0.0
    hip_ok = pts[2 * HIP] == pts[2 * HIP] or pts[2 * (HIP + 1)] == pts[2 * (HIP + 1)]
    foot_ok = pts[2 * ANKLE] == pts[2 * ANKLE] or pts[2 * (ANKLE + 1)] == pts[2 * (ANKLE + 1)]
    usable = has_pose and hip_ok and foot_ok

    ring[row, R_T] = t
    for leg in range(2):
        ring[row, R_FLOW + 2 * leg] = flow[leg, 0] * w
        ring[row, R_FLOW + 2 * leg + 1] = flow[leg, 1] * h
        ring[row, R_FLOW + 4 + leg] = flow[leg, 2]
    gap = False
    tu = cs[C_T_USABLE]
    if tu == tu and t - tu > maxgap and cs[C_GAPFLAG] == 0.0:
        cs[C_GAPFLAG] = 1.0
        cs[C_HIST_N] = 0.0
        gap = True
    if not usable:
        for c in range(2 * N_PTS):
            ring[row, R_XY + c] = np.nan
        ring[row, R_VALID] = 0.0
        ring[row, R_BODY] = np.nan
        ring[row, R_FACING] = cs[C_FACING]
        return False, gap
    cs[C_GAPFLAG] = 0.0
    cs[C_T_USABLE] = t

    # ---- left/right swap repair against our own tracks' predictions
    swapped = False
    if cs[C_HIST_N] >= 2.0:
        keep, swap, m = swap_costs(pts, cs, t)
        if m >= 1 and swap < prm[P_SWAP_RATIO] * keep:
            swapped = True
    if swapped:
        cs[C_SWAP_RUN] += 1.0
        if cs[C_SWAP_RUN] * (t - cs[C_HIST_T1]) > prm[P_MAX_SWAP_S]:
            swapped = False  # disagreeing for too long: trust the labels again
            cs[C_SWAP_RUN] = 0.0
    else:
        cs[C_SWAP_RUN] = 0.0
    if swapped:
        cs[C_NSWAPS] += 1.0
        for k in range(N_LEG_PTS // 2):
            a = 2 * (2 * k)
            b = 2 * (2 * k + 1)
            for c in range(2):
                tmp = pts[a + c]
                pts[a + c] = pts[b + c]
                pts[b + c] = tmp
            va = ring[row, R_VIS + 2 * k]
            ring[row, R_VIS + 2 * k] = ring[row, R_VIS + 2 * k + 1]
            ring[row, R_VIS + 2 * k + 1] = va
        for c in (0, 1, 4):
            fa = ring[row, R_FLOW + c]
            fb = c + 1 if c == 4 else c + 2
            ring[row, R_FLOW + c] = ring[row, R_FLOW + fb]
            ring[row, R_FLOW + fb] = fa
    ring[row, R_FOLD] = 0.0
    # a leg drawn on the other is the pose model's error, seen from the side: from behind
    # the feet are close anyway, and motion-capture landmarks (no pixel evidence) have no
    # such error, while a slow runner's feet really pass close (2 m/s: knees and ankles
    # 0.2-0.3 leg lengths apart in total)
    if cs[C_HIST_N] >= 2.0 and prm[P_IS_SIDE] > 0.5 and gait[3] == 1.0:
        fold = fold_repair(pts, cs, ring, row, prm, t, gait)
        if fold > 0:
            ring[row, R_FOLD] = float(fold)
            cs[C_NFOLDS] += 1.0
    for leg in range(2):
        cs[C_SEEN + leg] = 1.0 if pts[2 * (ANKLE + leg)] == pts[2 * (ANKLE + leg)] else 0.0
    if prm[P_IS_SIDE] > 0.5:
        hip_centres(pts, cs, prm, t)
    t1 = cs[C_HIST_T1]
    t2 = cs[C_HIST_T2]
    r = (t - t1) / (t1 - t2) if (cs[C_HIST_N] >= 2.0 and t1 > t2) else 0.0
    for c in range(2 * N_PTS):
        h1 = cs[C_HIST1 + c]
        nv = pts[c]
        if nv != nv and cs[C_HIST_N] >= 2.0:
            nv = h1 + (h1 - cs[C_HIST2 + c]) * r  # a missing point continues its track
        cs[C_HIST2 + c] = h1
        cs[C_HIST1 + c] = nv
    cs[C_HIST_T2] = t1
    cs[C_HIST_T1] = t
    cs[C_HIST_N] += 1.0

    for c in range(2 * N_PTS):
        ring[row, R_XY + c] = pts[c]
    ring[row, R_VALID] = 1.0
    for leg in range(2):  # a foot whose ankle was gated out: its flow is not its own
        if pts[2 * (ANKLE + leg)] != pts[2 * (ANKLE + leg)]:
            ring[row, R_FLOW + 2 * leg] = np.nan
            ring[row, R_FLOW + 2 * leg + 1] = np.nan

    # ---- body scale: mean thigh and hip-to-ankle lengths over recent cycles
    tl = cs[C_T_LAST]
    dt = t - tl if tl == tl else 0.0
    cs[C_T_LAST] = t
    cnt = cs[C_SCALE_N] + 1.0
    cs[C_SCALE_N] = cnt
    a_sc = max(1.0 / cnt, dt / prm[P_SCALE_TAU])
    hip_ankle = 0.0
    nha = 0
    for leg in range(2):
        hx, hy = pts[2 * (HIP + leg)], pts[2 * (HIP + leg) + 1]
        kx, ky = pts[2 * (KNEE + leg)], pts[2 * (KNEE + leg) + 1]
        ax, ay = pts[2 * (ANKLE + leg)], pts[2 * (ANKLE + leg) + 1]
        running_mean(cs, C_THIGH + leg, dist(hx, hy, kx, ky), a_sc)
        running_mean(cs, C_SHANK + leg, dist(kx, ky, ax, ay), a_sc)
        d = dist(hx, hy, ax, ay)
        if d == d:
            hip_ankle += d
            nha += 1
    is_side = prm[P_IS_SIDE] > 0.5
    if nha > 0:
        running_mean(cs, C_LEG_2D, hip_ankle / nha, a_sc)
        # the rear image loses the fore-aft part of the leg
        cs[C_LEGLEN] = cs[C_LEG_2D] / (1.0 if is_side else prm[P_REAR_RATIO])
    leg_len = cs[C_LEGLEN]
    if leg_len != leg_len:
        leg_len = 0.4 * h

    # ---- smoothed copy for the live display (never used for metric values)
    for c in range(2 * N_PTS):
        one_euro_step(pts[c], t, cs, C_OE_X + c, 24, leg_len, prm[P_OE_MINCUT],
                      prm[P_OE_BETA], prm[P_OE_DCUT], maxgap)

    # ---- body bounce: mean vertical offset of hips, shoulders and nose from their own
    # running means (so that a point dropping out does not move the signal)
    a_b = min(1.0, max(1.0 / cnt, dt / prm[P_BODY_TAU]))
    acc = 0.0
    nb = 0
    for k in range(5):
        if k < 4:
            p = HIP + k if k < 2 else SHOULDER + k - 2
            y = pts[2 * p + 1]
        else:
            y = lm[LM_NOSE, 1] * h if lm[LM_NOSE, 3] >= minvis else np.nan
        if y != y:
            continue
        mu = cs[C_BODY_MEAN + k]
        if mu != mu:
            mu = y
        mu += a_b * (y - mu)
        cs[C_BODY_MEAN + k] = mu
        acc += y - mu
        nb += 1
    ring[row, R_BODY] = acc / nb if nb > 0 else np.nan

    # ---- facing (side view): nose ahead of the ears, and the stance foot moves backward
    if is_side and dt > 0.0:
        _facing(lm, pts, cs, prm, dt, leg_len, w)
    ring[row, R_FACING] = cs[C_FACING]
    return True, gap


@jit
def _facing(lm: np.ndarray, pts: np.ndarray, cs: np.ndarray, prm: np.ndarray, dt: float,
            leg_len: float, w: float) -> None:
    """Running direction from two kinds of evidence: the nose ahead of the ears, and on
    a treadmill the foot moving backward while it is low (stance)."""
    minvis = prm[P_MINVIS]
    a = min(1.0, dt / prm[P_FACING_TAU])
    nx = lm[LM_NOSE, 0] * w
    ex = 0.0
    ec = 0
    for j in (7, 8):
        if lm[j, 0] == lm[j, 0] and lm[j, 3] >= minvis:
            ex += lm[j, 0] * w
            ec += 1
    if nx == nx and lm[LM_NOSE, 3] >= minvis and ec > 0:
        d = min(0.3, max(-0.3, (nx - ex / ec) / leg_len))
        cs[C_NOSE_EW] += a * (d - cs[C_NOSE_EW])
    mhx = mid(pts, HIP, 0)
    for leg in range(2):
        fx = pts[2 * (ANKLE + leg)] - mhx
        fy = foot_low(pts, leg)
        if fx == fx and fy == fy:
            ym = cs[C_FOOT_YMEAN + leg]
            if ym != ym:
                ym = fy
            cs[C_FOOT_YMEAN + leg] = ym + a * (fy - ym)
            fp = cs[C_FOOT_FXPREV + leg]
            if fp == fp:
                vx = (fx - fp) / dt / leg_len
                cs[C_FOOT_EW] += 0.5 * a * (vx * (fy - ym) / leg_len - cs[C_FOOT_EW])
        cs[C_FOOT_FXPREV + leg] = fx
    score = cs[C_NOSE_EW] - 3.0 * cs[C_FOOT_EW]
    if score > 0.005:
        cs[C_FACING] = 1.0
    elif score < -0.005:
        cs[C_FACING] = -1.0
