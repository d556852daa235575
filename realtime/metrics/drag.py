"""Stage 2a': contacts from what the camera sees of the feet: the belt drags a planted shoe.

On a treadmill a foot on the belt moves with it, backwards at belt speed, and a foot in
the air does not (it swings forward, then slows as it comes down).  The pose stage
measures each foot's pixel velocity (realtime.pose.footflow, pyramidal Lucas-Kanade
flow of the shoe's own pixels, recorded in the pose stream), so a landing can be timed
from the shoe itself instead of from landmarks that BlazePose puts on the belt 40-60 ms
early (the contact labels' own rule: the heel stops descending and is dragged at belt
speed, tests/fixtures/README.md).

Per leg:

- the *belt velocity* is the median of the fastest-backward samples of both feet over
  the last DRAG_HIST samples (the top DRAG_TOP share: each foot is on the belt about a
  third of the time, at the belt's velocity; one belt for both, as the far foot's
  flow is often lost while the near leg passes in front of it);
- each sample's distance from it, d = |v - belt| / |belt|, is near 0 on the belt and
  above 1 in the swing;
- a contact is d coming down through `drag_ic_level` after the foot was off the belt
  (d above `drag_air_level`), confirmed by the next sample still near the belt
  (below `drag_confirm_level`); it is timed where a least-squares line through the last
  four samples on the way down (0.05 < d < 1.6; each sample is the motion between two
  frames, at their midpoint) crosses the level, minus `drag_ic_delay_s`.  A line through
  four samples instead of the two that straddle the level halves the scatter at 30 fps
  (10 ms instead of 12-14 against the shared clip's labels).

A leg whose belt is not known yet (too few samples, or slower than `drag_min_belt` leg
lengths per second: no treadmill, or no flow in the stream) has no drag contacts; the
ankle-height detector (foot.py) times its contacts instead.

State: `ds[leg, D_*]` and the sample history of both feet `dh[k, (vx, vy)]`.
"""

from __future__ import annotations

import math

import numpy as np

from realtime.metrics._jit import jit
from realtime.metrics.fit import line_crossing
from realtime.metrics.layout import (
    EV_IC,
    P_DRAG_AIR,
    P_DRAG_CONFIRM,
    P_DRAG_IC,
    P_DRAG_IC_DELAY,
    P_DRAG_MIN_BELT,
    P_MIN_STEP,
    R_DRAG,
    SRC_FOOT,
    put_event,
)

DRAG_HIST = 96  # samples (both feet) the belt's velocity is taken over (~1.6 s at 30 fps)
DRAG_TOP = 0.3  # ... the share of them moving backwards fastest
DRAG_MIN_SAMPLES = 16  # no belt estimate before this many samples

D_N = 0  # samples in the history (all time; row 0 only: the history is shared)
D_BX = 1  # belt velocity, px/s (NaN: unknown)
D_BY = 2
D_PREV_D = 3  # distance of the previous sample (NaN: none)
D_PREV_T = 4  # its time (midpoint of its frame interval)
D_AIR = 5  # 1 once the foot has been off the belt since its last contact
D_PEND_T = 6  # a crossing awaiting confirmation: its time (NaN: none)
D_LAST_IC = 7  # time of the last drag contact of this leg
D_CONF = 8  # confidence of the pending crossing (features seen)
D_HN = 9  # samples in the short history below (all time)
D_HT = 10  # FIT_SAMPLES slots: times of the leg's last samples (circular)
D_HD = D_HT + 4  # ... and their distances from the belt
N_DRAG = D_HD + 4
FIT_SAMPLES = 4


@jit
def new_drag_state() -> tuple[np.ndarray, np.ndarray]:
    ds = np.full((2, N_DRAG), np.nan)
    for leg in range(2):
        ds[leg, D_N] = 0.0
        ds[leg, D_AIR] = 0.0
        ds[leg, D_HN] = 0.0
    return ds, np.full((DRAG_HIST, 2), np.nan)


@jit
def belt_velocity(dh: np.ndarray, m: int, facing: float) -> tuple[float, float]:
    """Median velocity of the fastest-backward samples among the last m (NaN, NaN if
    there are too few); backwards is against `facing`."""
    n = min(m, dh.shape[0])
    vx = np.empty(n)
    vy = np.empty(n)
    k = 0
    for i in range(n):
        x = dh[i, 0]
        if x == x:
            vx[k] = x
            vy[k] = dh[i, 1]
            k += 1
    if k < DRAG_MIN_SAMPLES:
        return np.nan, np.nan
    order = np.argsort(-facing * vx[:k])  # most backward last
    top = max(3, math.ceil(DRAG_TOP * k))
    sel = order[k - top:]
    return np.median(vx[sel]), np.median(vy[sel])


@jit
def drag_update(
    ds: np.ndarray, dh: np.ndarray, leg: int, t_mid: float, vx: float, vy: float,
    conf: float, facing: float, leg_len: float, prm: np.ndarray, ring: np.ndarray,
    row: int, ev: np.ndarray, n_ev: int,
) -> int:
    """One flow sample of `leg` (px/s, the motion between the previous frame and this
    one, timed at their midpoint `t_mid`); append a contact candidate to `ev` when one
    is confirmed; write this sample's distance from the belt to the ring row."""
    ring[row, R_DRAG + leg] = np.nan
    if vx != vx or vy != vy or facing == 0.0:
        return n_ev
    cnt = int(ds[0, D_N])
    dh[cnt % DRAG_HIST, 0] = vx
    dh[cnt % DRAG_HIST, 1] = vy
    ds[0, D_N] = cnt + 1
    bx, by = belt_velocity(dh, cnt + 1, facing)
    ds[leg, D_BX] = bx
    ds[leg, D_BY] = by
    speed = math.sqrt(bx * bx + by * by) if bx == bx else np.nan
    if not (speed >= prm[P_DRAG_MIN_BELT] * leg_len and -facing * bx > 0.0):
        ds[leg, D_PREV_D] = np.nan
        return n_ev
    d = math.sqrt((vx - bx) ** 2 + (vy - by) ** 2) / speed
    ring[row, R_DRAG + leg] = d
    prev_d = ds[leg, D_PREV_D]
    prev_t = ds[leg, D_PREV_T]
    ds[leg, D_PREV_D] = d
    ds[leg, D_PREV_T] = t_mid
    h = int(ds[leg, D_HN])
    ds[leg, D_HT + h % FIT_SAMPLES] = t_mid
    ds[leg, D_HD + h % FIT_SAMPLES] = d
    ds[leg, D_HN] = h + 1
    pend = ds[leg, D_PEND_T]
    if pend == pend:  # a crossing waits for this sample to confirm it
        ds[leg, D_PEND_T] = np.nan
        if d <= prm[P_DRAG_CONFIRM]:
            tc = _fit_crossing(ds, leg, prm[P_DRAG_IC], pend) - prm[P_DRAG_IC_DELAY]
            last = ds[leg, D_LAST_IC]
            if not (last == last and tc - last < 2.0 * prm[P_MIN_STEP]):
                ds[leg, D_LAST_IC] = tc
                ds[leg, D_AIR] = 0.0
                return put_event(ev, n_ev, EV_IC, leg, tc, ds[leg, D_CONF], SRC_FOOT,
                                 np.nan, np.nan)
            ds[leg, D_AIR] = 0.0
        return n_ev
    if d > prm[P_DRAG_AIR]:
        ds[leg, D_AIR] = 1.0
        return n_ev
    lvl = prm[P_DRAG_IC]
    if ds[leg, D_AIR] == 1.0 and d <= lvl and prev_d == prev_d and prev_d > lvl:
        ds[leg, D_PEND_T] = prev_t + (prev_d - lvl) / (prev_d - d) * (t_mid - prev_t)
        ds[leg, D_CONF] = conf
    return n_ev


@jit
def _fit_crossing(ds: np.ndarray, leg: int, level: float, fallback: float) -> float:
    """Where a least-squares line through the leg's last samples on the way down to the
    belt (0.05 < d < 1.6) crosses `level` (`fallback`, the two-sample crossing, if the
    line is not falling or crosses more than 50 ms away: a glitch, not a crossing)."""
    n = min(int(ds[leg, D_HN]), FIT_SAMPLES)
    tt = np.empty(n)
    dd = np.empty(n)
    first = last = -1
    for i in range(n):
        tt[i] = ds[leg, D_HT + i]
        d = ds[leg, D_HD + i]
        dd[i] = d if 0.05 < d < 1.6 else np.nan
        if dd[i] == dd[i]:
            if first < 0 or tt[i] < tt[first]:
                first = i
            if last < 0 or tt[i] > tt[last]:
                last = i
    if first < 0 or not dd[last] < dd[first]:
        return fallback
    tc = line_crossing(tt, dd, 0, n - 1, level)
    return tc if abs(tc - fallback) < 0.05 else fallback


@jit
def drag_active(ds: np.ndarray, leg: int, t: float, max_gap: float) -> bool:
    """The leg's contacts come from the drag detector: its belt is known and it had a
    flow sample within `max_gap` seconds."""
    return ds[leg, D_BX] == ds[leg, D_BX] and t - ds[leg, D_PREV_T] <= max_gap


