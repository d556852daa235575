"""Stage 3: fusion: the detectors' candidates -> the contacts the steps are built on.

- A foot-timed contact (foot.py) of a leg whose foot can be seen is reported at once.
- Every lowest point of the body (body.py) belongs to one stance: the leg whose contact
  came within `max_step_s` before it.  The delay from that contact to the lowest point
  is learned per leg (mean and spread over the last `body_delay_tau_strides` strides).
- A leg whose foot-timed contacts disagree with its own body rhythm - their delay
  spreads by more than `hidden_delay_tol_s`, or differs from the other leg's by more
  while being the noisier of the two, once both legs have `hidden_min_strides` - is
  *hidden* (a far foot behind a treadmill console): its contacts are then timed from the
  body's lowest point minus the other leg's delay, and marked as such (source body).
- A lowest point with no contact before it (a landing nobody saw) is a contact of the
  leg that alternates with the last one, timed the same way.
- Until a delay is learned, `body_delay_prior` x the recent step period stands in.

State: `us[leg, U_*]` and `gs[G_*]`.
"""

from __future__ import annotations

import math

import numpy as np

from realtime.metrics._jit import jit
from realtime.metrics.layout import (
    EV_IC,
    P_BODY_PRIOR,
    P_BODY_TAU,
    P_HIDDEN_MIN,
    P_HIDDEN_TOL,
    P_MAX_STEP,
    P_MIN_STEP,
    SRC_BODY,
    SRC_FOOT,
)

U_LAST_IC = 0  # time of the leg's last reported contact (any source)
U_DIRECT = 1  # its last foot-timed contact not yet paired with a lowest point (NaN: none)
U_DIRECT_SENT = 2  # 1 if that contact was reported
U_D_MEAN = 3  # learned delay from foot-timed contact to the body's lowest point, s
U_D_VAR = 4  # its spread (EW variance), s^2
U_D_N = 5  # strides it was learned from
U_HIDDEN = 6  # 1: this leg's contacts come from the body (see module doc)
N_FUSE_LEG = 7
G_LAST_LEG = 0  # leg of the last lowest point (NaN: unknown)
G_PERIOD = 1  # recent step period, s (EW over reported contacts)
G_LAST_IC = 2  # time of the last reported contact, either leg
N_FUSE = 3


@jit
def new_fuse_state() -> tuple[np.ndarray, np.ndarray]:
    us = np.full((2, N_FUSE_LEG), np.nan)
    for leg in range(2):
        us[leg, U_DIRECT_SENT] = 0.0
        us[leg, U_D_N] = 0.0
        us[leg, U_HIDDEN] = 0.0
    gs = np.full(N_FUSE, np.nan)
    return us, gs


@jit
def _report(us: np.ndarray, gs: np.ndarray, leg: int, t: float, conf: float, src: float,
            ev: np.ndarray, n_ev: int) -> int:
    last = gs[G_LAST_IC]
    if last == last and t <= last:
        return n_ev  # never out of order: the steps are built in time order
    if last == last:
        d = t - last
        p = gs[G_PERIOD]
        gs[G_PERIOD] = d if p != p else p + 0.3 * (d - p)
    gs[G_LAST_IC] = t
    us[leg, U_LAST_IC] = t
    if n_ev < ev.shape[0]:
        ev[n_ev, 0] = EV_IC
        ev[n_ev, 1] = leg
        ev[n_ev, 2] = t
        ev[n_ev, 3] = conf
        ev[n_ev, 4] = src
        ev[n_ev, 5] = np.nan
        ev[n_ev, 6] = np.nan
        n_ev += 1
    return n_ev


@jit
def fuse_contact(us: np.ndarray, gs: np.ndarray, leg: int, t: float, conf: float,
                 ev: np.ndarray, n_ev: int) -> int:
    """A foot-timed contact candidate of `leg`."""
    us[leg, U_DIRECT] = t
    if us[leg, U_HIDDEN] == 1.0:
        us[leg, U_DIRECT_SENT] = 0.0
        return n_ev
    before = n_ev
    n_ev = _report(us, gs, leg, t, conf, SRC_FOOT, ev, n_ev)
    us[leg, U_DIRECT_SENT] = 1.0 if n_ev > before else 0.0
    return n_ev


@jit
def _delay(us: np.ndarray, gs: np.ndarray, leg: int, prm: np.ndarray) -> tuple[float, float]:
    """(delay from contact to lowest point for `leg`, confidence factor of using it)."""
    o = 1 - leg
    need = prm[P_HIDDEN_MIN]
    if us[leg, U_HIDDEN] == 0.0 and us[leg, U_D_N] >= need:
        return us[leg, U_D_MEAN], 1.0
    if us[o, U_HIDDEN] == 0.0 and us[o, U_D_N] >= need:
        return us[o, U_D_MEAN], 0.9
    if us[leg, U_D_N] >= 1.0 and us[leg, U_HIDDEN] == 0.0:
        return us[leg, U_D_MEAN], 0.5
    if us[o, U_D_N] >= 1.0 and us[o, U_HIDDEN] == 0.0:
        return us[o, U_D_MEAN], 0.5
    p = gs[G_PERIOD]
    if p != p:
        p = 0.5 * (prm[P_MIN_STEP] + prm[P_MAX_STEP])
    return prm[P_BODY_PRIOR] * p, 0.3


@jit
def _update_hidden(us: np.ndarray, prm: np.ndarray) -> None:
    need = prm[P_HIDDEN_MIN]
    tol = prm[P_HIDDEN_TOL]
    if us[0, U_D_N] < need or us[1, U_D_N] < need:
        return
    sd0 = math.sqrt(max(us[0, U_D_VAR], 0.0))
    sd1 = math.sqrt(max(us[1, U_D_VAR], 0.0))
    apart = abs(us[0, U_D_MEAN] - us[1, U_D_MEAN]) > tol
    bad0 = sd0 > tol or (apart and sd0 >= sd1)
    bad1 = sd1 > tol or (apart and sd1 > sd0)
    if bad0 and bad1:
        bad0 = bad1 = False  # neither foot is better: keep what the feet say
    us[0, U_HIDDEN] = 1.0 if bad0 else 0.0
    us[1, U_HIDDEN] = 1.0 if bad1 else 0.0


@jit
def fuse_body(us: np.ndarray, gs: np.ndarray, t_min: float, conf: float, prm: np.ndarray,
              ev: np.ndarray, n_ev: int) -> int:
    """A lowest point of the body at `t_min`: learn, or fill in a contact."""
    best = -1
    for leg in range(2):
        d = us[leg, U_DIRECT]
        if d == d and 0.0 < t_min - d < prm[P_MAX_STEP]:
            if best < 0 or d > us[best, U_DIRECT]:
                best = leg
    if best >= 0:
        leg = best
        d = t_min - us[leg, U_DIRECT]
        cnt = us[leg, U_D_N] + 1.0
        a = max(1.0 / cnt, 1.0 / prm[P_BODY_TAU])
        mu = us[leg, U_D_MEAN]
        if mu != mu:
            us[leg, U_D_MEAN] = d
            us[leg, U_D_VAR] = 0.0
        else:
            dev = d - mu
            us[leg, U_D_MEAN] = mu + a * dev
            us[leg, U_D_VAR] = (1.0 - a) * (us[leg, U_D_VAR] + a * dev * dev)
        us[leg, U_D_N] = cnt
        sent = us[leg, U_DIRECT_SENT] == 1.0
        us[leg, U_DIRECT] = np.nan
        gs[G_LAST_LEG] = leg
        _update_hidden(us, prm)
        if sent:
            return n_ev
    else:
        last = gs[G_LAST_LEG]
        if last != last:
            return n_ev  # nothing to anchor the alternation yet
        leg = 1 - int(last)
        gs[G_LAST_LEG] = leg
    delay, factor = _delay(us, gs, leg, prm)
    t_ic = t_min - delay
    lo = us[1 - leg, U_LAST_IC]
    own = us[leg, U_LAST_IC]
    if (lo == lo and t_ic - lo < prm[P_MIN_STEP]) or (own == own and t_ic - own < 2.0 * prm[P_MIN_STEP]):
        return n_ev
    return _report(us, gs, leg, t_ic, conf * factor, SRC_BODY, ev, n_ev)
