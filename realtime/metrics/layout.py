"""Fixed memory layout shared by the metrics kernels: ring columns, event records, the
parameter vector and the size of each stage's state.

These are positions in arrays, never tunable values: every threshold lives in
`MetricsConfig` and reaches the kernels through the parameter vector built by
`params()`.  Each stage keeps its own state array (its slots are named in its module).

The 12 tracked points (index p): 0 hip L, 1 hip R, 2 knee L, 3 knee R, 4 ankle L,
5 ankle R, 6 heel L, 7 heel R, 8 toe L, 9 toe R, 10 shoulder L, 11 shoulder R; leg l
(0 = L, 1 = R) owns p = 2k + l.  Coordinates are pixels, image y down.
"""

from __future__ import annotations

import numpy as np

from realtime.config import MetricsConfig
from realtime.metrics._jit import jit

N_PTS = 12
N_LEG_PTS = 10  # hips..toes: what a BlazePose leg swap exchanges
HIP, KNEE, ANKLE, HEEL, TOE, SHOULDER = 0, 2, 4, 6, 8, 10  # p = part + leg
# BlazePose index of each tracked point; the nose (0) joins the body-bounce signal
LM_INDEX = np.array([23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 11, 12], np.int64)
LM_NOSE = 0

# ---- ring: one row per frame, what the step metrics and the detectors read back
R_T = 0  # frame time, s
R_XY = 1  # 24 columns: x, y of the 12 points (gated, swap-repaired, unsmoothed), px
R_VIS = 25  # 12 columns: visibility of each point (0 where gated out)
R_VALID = 37  # 1 if the frame was usable (hips and a foot seen)
R_BODY = 38  # body-bounce signal: mean vertical offset of hips, shoulders, nose, px
R_FACING = 39  # facing after this frame
R_H = 40  # 2 columns: ankle height above its floor, leg lengths (L, R)
R_FLOW = 42  # 6 columns: each foot's pixel velocity vx, vy (px/s) L, R, then confidence L, R
R_DRAG = 48  # 2 columns: each foot's distance from the belt's velocity (drag.py), L, R
R_FOLD = 50  # 0, or 1 / 2: the left / right leg was drawn on the other leg and gated out
N_RING_COLS = 51

# ---- events: one row per event (kind, leg, time, confidence, source, value, value2)
EV_IC = 0.0  # initial contact
EV_TO = 1.0  # toe-off
EV_BREAK = 2.0  # a gap longer than max_gap_s: no step spans it
EV_KNEE = 3.0  # a swing's peak thigh flexion is final (value = deg, value2 = knee height %)
EV_BODY = 4.0  # the body's lowest point of a stance (diagnostic, for tests and plots)
E_KIND, E_LEG, E_T, E_CONF, E_SRC, E_VAL, E_VAL2 = range(7)
N_EV_COLS = 7
MAX_EVENTS = 12
SRC_FOOT = 0.0  # timed from the foot's own motion
SRC_BODY = 1.0  # timed from the body's lowest point and the learned delay (hidden foot)


@jit
def put_event(ev: np.ndarray, n_ev: int, kind: float, leg: float, t: float, conf: float,
              src: float, v1: float, v2: float) -> int:
    """Append one event row (dropped when the frame's event table is full)."""
    if n_ev >= ev.shape[0]:
        return n_ev
    ev[n_ev, E_KIND] = kind
    ev[n_ev, E_LEG] = leg
    ev[n_ev, E_T] = t
    ev[n_ev, E_CONF] = conf
    ev[n_ev, E_SRC] = src
    ev[n_ev, E_VAL] = v1
    ev[n_ev, E_VAL2] = v2
    return n_ev + 1

# ---- parameter vector: (index, MetricsConfig field) pairs; fixed entries below
_FIELDS = (
    "min_visibility", "max_gap_s", "one_euro_min_cutoff_hz", "one_euro_beta",
    "one_euro_d_cutoff_hz", "swap_ratio", "max_swap_s", "facing_tau_s", "scale_tau_s",
    "rear_leg_ratio", "min_step_s", "max_step_s", "floor_window_s", "floor_min_span_s",
    "contact_height", "contact_delay_s", "toe_off_height", "toe_off_delay_s",
    "swing_height", "crossing_halfwin_s", "toe_off_halfwin_s", "body_hysteresis",
    "body_halfwin_s", "body_delay_prior", "body_delay_min", "body_delay_max",
    "hidden_delay_tol_s", "hidden_min_strides", "peak_halfwin_s", "knee_peak_hysteresis_deg",
    "body_tau_s", "floor_tau_stances", "stance_ahead", "swing_behind", "rear_lift",
    "knee_mean_tau_s", "drag_ic_level", "drag_air_level", "drag_confirm_level",
    "drag_ic_delay_s", "drag_min_belt", "fold_dist", "fold_jump", "hip_near_forward",
    "hip_far_forward", "hip_max_thigh_ratio", "body_delay_prior_video",
)  # fmt: skip
(
    P_MINVIS, P_MAXGAP, P_OE_MINCUT, P_OE_BETA, P_OE_DCUT, P_SWAP_RATIO, P_MAX_SWAP_S,
    P_FACING_TAU, P_SCALE_TAU, P_REAR_RATIO, P_MIN_STEP, P_MAX_STEP, P_FLOOR_WIN,
    P_FLOOR_SPAN, P_IC_H, P_IC_DELAY, P_TO_H, P_TO_DELAY, P_SWING_H, P_CROSS_HW, P_TO_HW,
    P_BODY_HYST, P_BODY_HW, P_BODY_PRIOR, P_DELAY_MIN, P_DELAY_MAX, P_HIDDEN_TOL,
    P_HIDDEN_MIN, P_PEAK_HW, P_KNEE_HYST, P_BODY_TAU, P_FLOOR_TAU, P_STANCE_AHEAD,
    P_SWING_BEHIND, P_REAR_LIFT, P_KNEE_TAU, P_DRAG_IC, P_DRAG_AIR, P_DRAG_CONFIRM,
    P_DRAG_IC_DELAY, P_DRAG_MIN_BELT, P_FOLD_DIST, P_FOLD_JUMP, P_HIP_NEAR, P_HIP_FAR,
    P_HIP_RATIO, P_BODY_PRIOR_VIDEO,
) = range(len(_FIELDS))
P_W = len(_FIELDS)  # image width, px
P_H = P_W + 1  # image height, px
P_IS_SIDE = P_W + 2  # 1.0 side view, 0.0 rear view
N_PARAMS = P_W + 3


def params(cfg: MetricsConfig, is_side: bool, image_size: tuple[int, int]) -> np.ndarray:
    """The parameter vector the kernels read (plain numbers; cached code never reads
    config or globals that could change)."""
    prm = np.zeros(N_PARAMS)
    for i, name in enumerate(_FIELDS):
        prm[i] = float(getattr(cfg, name))
    prm[P_W] = float(image_size[0])
    prm[P_H] = float(image_size[1])
    prm[P_IS_SIDE] = 1.0 if is_side else 0.0
    return prm
