"""Stage 3: fusion: the detectors' candidates -> the contacts the steps are built on.

Every stance has one lowest point of the body (body.py), whichever foot is down and
whether or not the camera sees that foot land; a foot-timed contact (foot.py) is only as
good as the foot's landmarks, which near the belt are often hidden, blurred or mislocated.
So each contact is decided at its stance's lowest point:

1. Which foot is down: legs alternate from one lowest point to the next, and the
   stance-leg reading of the last PARITY_MINIMA points (frame.stance_leg) votes for the
   labelling, so one wrong reading cannot swap the legs.
2. The leg's foot-timed contact of this stance, if any, gives a delay (contact to lowest
   point).  Per leg the last DELAY_STRIDES delays are kept; their median is the leg's
   delay and their spread (MAD) says whether its foot timing can be trusted.
3. A leg is *hidden* once both legs have `hidden_min_strides` delays and its delay
   spreads by more than `hidden_delay_tol_s`, or differs from the other leg's by more
   while being the noisier, or lies outside [`body_delay_min`, `body_delay_max`] x the
   step period (the body bottoms out inside the stance: a delay outside that range means
   the foot's timing is consistently wrong, not that the runner is odd).
4. The contact reported: the foot-timed one, if the leg is trusted (not hidden, enough
   delays) and it agrees with the body-timed estimate within `hidden_delay_tol_s`, or -
   before the leg can be judged - if this stance's delay alone lies in the plausible range
   (source foot); else the body-timed estimate, lowest point minus a delay - the leg's own
   if trusted, else the other leg's, else `body_delay_prior` x the step period
   (calibrated on the force plates; `body_delay_prior_video` once the stream carries the
   feet's pixel evidence, i.e. a real video: BlazePose's trunk bottoms out earlier after
   the contact the pixels show) - marked source body.
5. Latency: a trusted leg's contact that agrees with where the rhythm predicts this
   stance (the last lowest point + one step period - the leg's delay) is reported at
   once, 0.02-0.06 s after the landing; every other contact waits for its stance's
   lowest point, 0.15-0.25 s (the knee-drive cue waits for neither: swing.py).

State: `us[leg, U_*]` and `gs[G_*]`.
"""

from __future__ import annotations

import numpy as np

from realtime.metrics._jit import jit
from realtime.metrics.layout import (
    EV_IC,
    P_BODY_PRIOR,
    P_BODY_PRIOR_VIDEO,
    P_DELAY_MAX,
    P_DELAY_MIN,
    P_HIDDEN_MIN,
    P_HIDDEN_TOL,
    P_MAX_STEP,
    P_MIN_STEP,
    SRC_BODY,
    SRC_FOOT,
    put_event,
)

DELAY_STRIDES = 8  # the delay and its spread are taken over this many recent strides
PARITY_MINIMA = 8  # the stance-leg readings of this many lowest points are pooled
MAD_SD = 1.4826  # MAD -> standard deviation of a normal distribution

U_LAST_IC = 0  # time of the leg's last reported contact (any source)
U_DIRECT = 1  # its last foot-timed contact not yet decided (NaN: none)
U_CONF = 2  # that contact's confidence
U_N = 3  # delays seen (all time)
U_HIDDEN = 4  # 1: this leg's contacts come from the body (see module doc)
U_SENT = 5  # 1 if the held contact was already reported (predicted to agree)
U_D = 6  # DELAY_STRIDES slots: recent delays, s (circular)
N_FUSE_LEG = U_D + DELAY_STRIDES

G_PERIOD = 0  # recent step period, s (EW over the intervals between lowest points)
G_LAST_IC = 1  # time of the last reported contact, either leg
G_LAST_MIN = 2  # time of the last lowest point of the body
G_K = 3  # lowest points in the current run (their index k)
G_EV = 4  # PARITY_MINIMA slots: the leg a reading put down at lowest point k (-1: none)
G_VIDEO = G_EV + PARITY_MINIMA  # 1 once a foot's pixel velocity was seen (a real video)
N_FUSE = G_VIDEO + 1


@jit
def new_fuse_state() -> tuple[np.ndarray, np.ndarray]:
    us = np.full((2, N_FUSE_LEG), np.nan)
    for leg in range(2):
        us[leg, U_N] = 0.0
        us[leg, U_HIDDEN] = 0.0
        us[leg, U_SENT] = 0.0
    gs = np.full(N_FUSE, np.nan)
    gs[G_K] = 0.0
    gs[G_EV:G_EV + PARITY_MINIMA] = -1.0
    gs[G_VIDEO] = 0.0
    return us, gs


@jit
def delay_stats(us: np.ndarray, leg: int) -> tuple[float, float, int]:
    """(median, robust spread (MAD as an SD), count) of the leg's recent delays."""
    m = int(min(us[leg, U_N], DELAY_STRIDES))
    if m == 0:
        return np.nan, np.nan, 0
    v = np.sort(us[leg, U_D:U_D + m].copy())
    med = 0.5 * (v[(m - 1) // 2] + v[m // 2])
    dev = np.sort(np.abs(v - med))
    mad = 0.5 * (dev[(m - 1) // 2] + dev[m // 2])
    return med, MAD_SD * mad, m


@jit
def _period(gs: np.ndarray, prm: np.ndarray) -> float:
    """The recent step period, or the middle of the plausible range before any."""
    p = gs[G_PERIOD]
    return p if p == p else 0.5 * (prm[P_MIN_STEP] + prm[P_MAX_STEP])


@jit
def _report(us: np.ndarray, gs: np.ndarray, leg: int, t: float, conf: float, src: float,
            prm: np.ndarray, ev: np.ndarray, n_ev: int) -> int:
    """Append a contact, unless it is out of order or too close to the last ones."""
    last = gs[G_LAST_IC]
    own = us[leg, U_LAST_IC]
    other = us[1 - leg, U_LAST_IC]
    if (last == last and t <= last) or (own == own and t - own < 2.0 * prm[P_MIN_STEP]) or (
            other == other and t - other < prm[P_MIN_STEP]):
        return n_ev
    gs[G_LAST_IC] = t
    us[leg, U_LAST_IC] = t
    return put_event(ev, n_ev, EV_IC, leg, t, conf, src, np.nan, np.nan)


@jit
def fuse_contact(us: np.ndarray, gs: np.ndarray, leg: int, t: float, conf: float,
                 t_now: float, prm: np.ndarray, ev: np.ndarray, n_ev: int) -> int:
    """A foot-timed contact candidate of `leg`.  A trusted leg's contact that agrees with
    where the body's rhythm puts this stance (the next lowest point, one step period after
    the last, minus the leg's delay) is reported at once; any other is held until its
    stance's lowest point decides."""
    for g in range(2):
        held = us[g, U_DIRECT]
        if held == held and t_now - held > prm[P_MAX_STEP]:
            # no lowest point came for it (the body's rhythm was lost): keep the contact
            if us[g, U_SENT] == 0.0:
                n_ev = _report(us, gs, g, held, 0.5 * us[g, U_CONF], SRC_FOOT, prm, ev, n_ev)
            us[g, U_DIRECT] = np.nan
    us[leg, U_DIRECT] = t
    us[leg, U_CONF] = conf
    us[leg, U_SENT] = 0.0
    lm = gs[G_LAST_MIN]
    p = gs[G_PERIOD]
    if lm == lm and p == p and _trusted(us, gs, leg, prm):
        predicted = lm + p - delay_stats(us, leg)[0]
        if abs(t - predicted) <= prm[P_HIDDEN_TOL]:
            before = n_ev
            n_ev = _report(us, gs, leg, t, conf, SRC_FOOT, prm, ev, n_ev)
            us[leg, U_SENT] = 1.0 if n_ev > before else 0.0
    return n_ev


@jit
def _trusted(us: np.ndarray, gs: np.ndarray, leg: int, prm: np.ndarray) -> bool:
    """Enough delays, consistent and plausible, and the leg is not judged hidden."""
    med, sd, m = delay_stats(us, leg)
    p = _period(gs, prm)
    return (us[leg, U_HIDDEN] == 0.0 and m >= prm[P_HIDDEN_MIN] and sd <= prm[P_HIDDEN_TOL]
            and prm[P_DELAY_MIN] * p <= med <= prm[P_DELAY_MAX] * p)


@jit
def _delay(us: np.ndarray, gs: np.ndarray, leg: int, prm: np.ndarray) -> tuple[float, float]:
    """(delay from contact to lowest point to use for `leg`, confidence factor)."""
    for g in (leg, 1 - leg):
        if _trusted(us, gs, g, prm):
            return delay_stats(us, g)[0], 1.0 if g == leg else 0.9
    prior = prm[P_BODY_PRIOR_VIDEO] if gs[G_VIDEO] == 1.0 else prm[P_BODY_PRIOR]
    return prior * _period(gs, prm), 0.6


@jit
def _update_hidden(us: np.ndarray, gs: np.ndarray, prm: np.ndarray) -> None:
    need = prm[P_HIDDEN_MIN]
    tol = prm[P_HIDDEN_TOL]
    med0, sd0, m0 = delay_stats(us, 0)
    med1, sd1, m1 = delay_stats(us, 1)
    if m0 < need or m1 < need:
        return
    p = _period(gs, prm)
    lo = prm[P_DELAY_MIN] * p
    hi = prm[P_DELAY_MAX] * p
    apart = abs(med0 - med1) > tol
    bad0 = sd0 > tol or not (lo <= med0 <= hi) or (apart and sd0 >= sd1)
    bad1 = sd1 > tol or not (lo <= med1 <= hi) or (apart and sd1 > sd0)
    us[0, U_HIDDEN] = 1.0 if bad0 else 0.0
    us[1, U_HIDDEN] = 1.0 if bad1 else 0.0


@jit
def _stance_by_parity(gs: np.ndarray, reading: int) -> int:
    """The leg down at this lowest point (see the module doc, 1.), -1 if unknown."""
    k = int(gs[G_K])
    gs[G_EV + k % PARITY_MINIMA] = reading
    gs[G_K] = k + 1
    votes = 0
    for j in range(min(k + 1, PARITY_MINIMA)):
        kj = k - j
        e = gs[G_EV + kj % PARITY_MINIMA]
        if e >= 0.0:
            votes += 1 if int(e) == kj % 2 else -1  # +1: leg 0 down at even k
    if votes == 0:
        return reading
    return k % 2 if votes > 0 else 1 - k % 2


@jit
def fuse_body(us: np.ndarray, gs: np.ndarray, t_min: float, conf: float, reading: int,
              prm: np.ndarray, ev: np.ndarray, n_ev: int) -> int:
    """A lowest point of the body at `t_min` (`reading`: the leg frame.stance_leg saw
    down, -1 if unclear): decide this stance's contact."""
    lm = gs[G_LAST_MIN]
    if lm == lm and t_min - lm < prm[P_MIN_STEP]:
        return n_ev  # two lowest points within a step: the second is noise
    p = gs[G_PERIOD]
    if lm == lm and p == p and 1.5 * p < t_min - lm <= 2.5 * p:
        gs[G_K] += 1.0  # one lowest point was missed: keep the alternation in step
    elif lm == lm and t_min - lm <= prm[P_MAX_STEP]:
        gs[G_PERIOD] = t_min - lm if p != p else p + 0.3 * (t_min - lm - p)
    elif lm == lm:
        gs[G_K] = 0.0  # a pause: the alternation starts afresh
        gs[G_EV:G_EV + PARITY_MINIMA] = -1.0
    gs[G_LAST_MIN] = t_min
    leg = _stance_by_parity(gs, reading)
    if leg < 0:
        # no reading yet: the leg whose foot-timed contact came last
        a = us[0, U_DIRECT]
        b = us[1, U_DIRECT]
        if a == a and (b != b or a > b):
            leg = 0
        elif b == b:
            leg = 1
        else:
            return n_ev
    t_direct = us[leg, U_DIRECT]
    direct = t_direct == t_direct and 0.0 < t_min - t_direct < prm[P_MAX_STEP]
    if direct:
        k = int(us[leg, U_N]) % DELAY_STRIDES
        us[leg, U_D + k] = t_min - t_direct
        us[leg, U_N] += 1.0
        us[leg, U_DIRECT] = np.nan
        _update_hidden(us, gs, prm)
        if us[leg, U_SENT] == 1.0:
            us[leg, U_SENT] = 0.0
            return n_ev  # reported at once, and the lowest point agrees: learned only
    delay, factor = _delay(us, gs, leg, prm)
    t_body = t_min - delay
    if direct and us[leg, U_HIDDEN] == 0.0:
        if _trusted(us, gs, leg, prm):
            ok = abs(t_direct - t_body) <= prm[P_HIDDEN_TOL]
        else:  # too few strides to judge the leg yet: judge this stance alone
            p = _period(gs, prm)
            ok = prm[P_DELAY_MIN] * p <= t_min - t_direct <= prm[P_DELAY_MAX] * p
        if ok:
            return _report(us, gs, leg, t_direct, us[leg, U_CONF], SRC_FOOT, prm, ev, n_ev)
    return _report(us, gs, leg, t_body, conf * factor, SRC_BODY, prm, ev, n_ev)
