"""One frame through the metrics kernel: condition -> detectors -> fusion, one numba call.

    condition.py   gate, repair L/R swaps, scale, facing; write the ring row
    foot.py        per leg: contact and toe-off candidates from the ankle's height
    body.py        the body's lowest point in each stance
    drag.py        per leg: contacts from the shoe dragged by the belt (pixel evidence)
    swing.py       per leg: each swing's peak thigh flexion (knee drive), side view
    fuse.py        candidates -> reported contacts (the hidden foot, fill-ins)

`State` bundles each stage's own state array; `frame_update` is everything that runs per
frame, so the Python cost per frame is one dispatch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from realtime.metrics._jit import jit
from realtime.metrics.body import body_update, new_body_state
from realtime.metrics.condition import (
    C_LEGLEN,
    C_N,
    C_T_LAST,
    C_T_PREV,
    C_THIGH,
    condition,
    new_condition_state,
)
from realtime.metrics.drag import drag_active, drag_update, new_drag_state
from realtime.metrics.foot import foot_update, new_foot_state
from realtime.metrics.fuse import (
    G_PERIOD,
    G_VIDEO,
    U_LAST_IC,
    fuse_body,
    fuse_contact,
    new_fuse_state,
)
from realtime.metrics.layout import (
    ANKLE,
    EV_BODY,
    EV_BREAK,
    EV_IC,
    EV_KNEE,
    HIP,
    MAX_EVENTS,
    N_EV_COLS,
    N_PTS,
    P_H,
    P_IS_SIDE,
    P_MAXGAP,
    P_REAR_LIFT,
    P_STANCE_AHEAD,
    P_SWING_BEHIND,
    R_FACING,
    R_FLOW,
    R_T,
    R_VIS,
    R_XY,
    SRC_BODY,
    SRC_FOOT,
    put_event,
)
from realtime.metrics.swing import new_swing_state, swing_update

F_DT = 0  # frame-level scratch: median frame interval estimate, s
N_FRAME = 1


class State(NamedTuple):
    """Each stage's state (numba passes a tuple of arrays as one argument)."""

    cond: np.ndarray  # condition.py, C_*
    foot: np.ndarray  # foot.py, [2, F_*]
    body: np.ndarray  # body.py, B_*
    swing: np.ndarray  # swing.py, [2, W_*]
    fuse_leg: np.ndarray  # fuse.py, [2, U_*]
    fuse: np.ndarray  # fuse.py, G_*
    frame: np.ndarray  # F_DT
    drag: np.ndarray  # drag.py, [2, D_*]
    drag_hist: np.ndarray  # drag.py, [DRAG_HIST, 2]


def new_state() -> State:
    us, gs = new_fuse_state()
    ds, dh = new_drag_state()
    return State(new_condition_state(), new_foot_state(), new_body_state(), new_swing_state(),
                 us, gs, np.full(N_FRAME, np.nan), ds, dh)


@jit
def stance_leg(ring: np.ndarray, n: int, t: float, leg_len: float, facing: float,
               prm: np.ndarray) -> int:
    """Which foot is on the ground at time t, the body's lowest point (-1 if unclear).

    Side view: at that moment (about 40 % into the stance) the stance foot is under the
    hips, while the other foot left the belt 0.1-0.15 s earlier and is still far behind
    them.  Only the better-seen leg is asked (a far foot passing behind the near leg in
    mid-stance is often mislocated onto it): its ankle less than `stance_ahead` leg
    lengths behind the hips is down, more than `swing_behind` behind is up.  Rear view:
    the stance ankle is lower than the swinging one by `rear_lift` leg lengths.
    """
    rows = ring.shape[0]
    vis = np.zeros(2)
    fa = np.zeros(2)
    nf = np.zeros(2)
    dy = 0.0
    ny = 0
    for k in range(min(n, rows)):
        r = (n - 1 - k) % rows
        tk = ring[r, R_T]
        if tk < t - 0.05:
            break
        if tk > t + 0.05:
            continue
        hx = 0.5 * (ring[r, R_XY + 2 * HIP] + ring[r, R_XY + 2 * (HIP + 1)])
        for g in range(2):
            vis[g] += ring[r, R_VIS + ANKLE + g]
            f = facing * (ring[r, R_XY + 2 * (ANKLE + g)] - hx) / leg_len
            if f == f:
                fa[g] += f
                nf[g] += 1.0
        yl = ring[r, R_XY + 2 * ANKLE + 1]
        yr = ring[r, R_XY + 2 * (ANKLE + 1) + 1]
        if yl == yl and yr == yr:
            dy += (yl - yr) / leg_len
            ny += 1
    if facing != 0.0:
        g = 0 if vis[0] >= vis[1] else 1
        if nf[g] == 0.0:
            return -1
        f = fa[g] / nf[g]
        if f > -prm[P_STANCE_AHEAD]:
            return g
        if f < -prm[P_SWING_BEHIND]:
            return 1 - g
        return -1
    if ny == 0 or abs(dy / ny) < prm[P_REAR_LIFT]:
        return -1
    return 0 if dy > 0 else 1


@jit
def frame_update(
    lm: np.ndarray, flow: np.ndarray, t: float, st: State, ring: np.ndarray,
    prm: np.ndarray, ev: np.ndarray, lm_index: np.ndarray,
) -> int:
    """Process one frame of landmarks (float32 [33, 4]) and foot flow (float32 [2, 4],
    NaN where not measured) at stream time t; write the events of this frame to `ev`
    (rows: kind, leg, time, confidence, source, value, value2; see layout.py) and
    return their count."""
    cs = st.cond
    t_prev = cs[C_T_LAST]
    t_prev_any = cs[C_T_PREV]
    pts = np.empty(2 * N_PTS)
    # what the detectors know of the gait so far: the last reported contact and the step
    # period (which foot is on the belt, for the fold repair)
    gait = np.full(4, np.nan)
    gait[0] = -1.0
    gait[3] = st.fuse[G_VIDEO]
    for g in range(2):
        tc = st.fuse_leg[g, U_LAST_IC]
        if tc == tc and not tc <= gait[1]:
            gait[0] = g
            gait[1] = tc
    gait[2] = st.fuse[G_PERIOD]
    usable, gap = condition(lm, flow, t, cs, ring, prm, lm_index, pts, gait)
    cs[C_T_PREV] = t
    n_ev = 0
    if gap:
        n_ev = put_event(ev, n_ev, EV_BREAK, 0.0, t, 0.0, SRC_FOOT, np.nan, np.nan)
    if not usable:
        return n_ev
    # frame interval: an EW mean of the intervals between usable frames
    if t_prev == t_prev and t > t_prev:
        d = t - t_prev
        m = st.frame[F_DT]
        st.frame[F_DT] = d if m != m else m + 0.05 * (min(d, 3.0 * m) - m)
    dt_frame = st.frame[F_DT]
    if dt_frame != dt_frame:
        return n_ev
    n = int(cs[C_N])
    leg_len = cs[C_LEGLEN]
    if leg_len != leg_len:
        leg_len = 0.4 * prm[P_H]

    cand = np.empty((MAX_EVENTS, N_EV_COLS))
    nc = 0
    for leg in range(2):
        nc = foot_update(st.foot, leg, t, ring, n, prm, leg_len, dt_frame, cand, nc)
    # the shoe's own motion (pixel evidence, side view on a treadmill): drag contacts
    row = (n - 1) % ring.shape[0]
    dcand = np.empty((2, N_EV_COLS))
    nd = 0
    if prm[P_IS_SIDE] > 0.5 and t_prev_any == t_prev_any:
        t_mid = 0.5 * (t + t_prev_any)
        facing = ring[row, R_FACING]
        for leg in range(2):
            if ring[row, R_FLOW + 2 * leg] == ring[row, R_FLOW + 2 * leg]:
                st.fuse[G_VIDEO] = 1.0  # a real video: the pose stage saw the feet's pixels
            conf = min(1.0, ring[row, R_FLOW + 4 + leg] / 8.0)
            nd = drag_update(st.drag, st.drag_hist, leg, t_mid, ring[row, R_FLOW + 2 * leg],
                             ring[row, R_FLOW + 2 * leg + 1], conf,
                             facing if facing == facing else 0.0, leg_len, prm, ring, row,
                             dcand, nd)
    for i in range(nc):
        leg = int(cand[i, 1])
        if cand[i, 0] == EV_IC:
            if drag_active(st.drag, leg, t, prm[P_MAXGAP]):
                continue  # the shoe's own motion times this leg's contacts
            n_ev = fuse_contact(st.fuse_leg, st.fuse, leg, cand[i, 2], cand[i, 3], t, prm,
                                ev, n_ev)
        else:
            n_ev = put_event(ev, n_ev, cand[i, 0], leg, cand[i, 2], cand[i, 3], SRC_FOOT, np.nan,
                        np.nan)
    for i in range(nd):
        n_ev = fuse_contact(st.fuse_leg, st.fuse, int(dcand[i, 1]), dcand[i, 2], dcand[i, 3], t,
                            prm, ev, n_ev)

    t_min = body_update(st.body, ring, n, prm, leg_len, dt_frame)
    if t_min == t_min:
        row = (n - 1) % ring.shape[0]
        vis = 0.25 * (ring[row, R_VIS + 0] + ring[row, R_VIS + 1] + ring[row, R_VIS + 10]
                      + ring[row, R_VIS + 11])
        facing = ring[row, R_FACING] if prm[P_IS_SIDE] > 0.5 else 0.0
        stance = stance_leg(ring, n, t_min, leg_len, facing if facing == facing else 0.0,
                            prm)
        n_ev = put_event(ev, n_ev, EV_BODY, stance, t_min, vis, SRC_BODY, np.nan, np.nan)
        n_ev = fuse_body(st.fuse_leg, st.fuse, t_min, vis, stance, prm, ev, n_ev)

    if prm[P_IS_SIDE] > 0.5:
        out = np.empty(4)
        for leg in range(2):
            thigh = cs[C_THIGH + leg]
            if thigh == thigh and swing_update(st.swing, leg, ring, n, prm, thigh, dt_frame,
                                               out):
                n_ev = put_event(ev, n_ev, EV_KNEE, leg, out[1], out[3], SRC_FOOT, out[0], out[2])
    return n_ev


@jit
def frames_update(
    lms: np.ndarray, flows: np.ndarray, ts: np.ndarray, st: State, ring: np.ndarray,
    prm: np.ndarray, lm_index: np.ndarray, out_ev: np.ndarray, out_frame: np.ndarray,
) -> int:
    """`frame_update` over a whole stream in one call (batch re-analysis).

    `ring` must hold every frame, so that the step metrics can later read it exactly as
    it was at each event.  `out_frame[m]` gets the frame index of event m, and
    `out_frame[m, 1:]` the body scale at that frame (leg length, thigh L, thigh R).
    Returns the number of events written.
    """
    ev = np.empty((MAX_EVENTS, N_EV_COLS))
    m = 0
    cs = st.cond
    for i in range(ts.shape[0]):
        k = frame_update(lms[i], flows[i], ts[i], st, ring, prm, ev, lm_index)
        for e in range(k):
            if m < out_ev.shape[0]:
                out_ev[m] = ev[e]
                out_frame[m, 0] = i
                out_frame[m, 1] = cs[C_LEGLEN]
                out_frame[m, 2] = cs[C_THIGH]
                out_frame[m, 3] = cs[C_THIGH + 1]
                m += 1
    return m


__all__ = ["R_T", "State", "frame_update", "frames_update", "new_state"]
