"""Synthetic treadmill runner: a pose stream whose step metrics are known by construction.

A 2-D kinematic model (thigh angle, knee flexion and foot pitch as smooth functions of
gait phase; the stance foot's lowest point on the ground; a ballistic hip during flight)
is drawn by an orthographic camera from the side or from behind, then optionally
degraded (pixel noise, dropouts, gaps, BlazePose-style L/R leg swaps).  Tests, the
benchmark and the demo use it; it is vectorised numpy, so an hour at 60 fps takes well
under a second.

The true steps follow the Step definitions of the metrics stage: contact = touch-down
(the instant the stance foot's lowest point reaches the ground, as force onset), knee drive =
peak thigh angle from the downward vertical of the swing leg, knee height = peak (hip -
knee height) / thigh length, knee flexion and overstride (ankle ahead of the hip) at
contact, vertical oscillation = hip peak-to-peak within the step, hip sway = mid-hip
lateral peak-to-peak over the stride after removing a least-squares line, pelvic drop =
peak hip-line angle during stance (swing side lower positive).  % metrics are of the
mean hip-to-ankle distance, as in the validation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from realtime.config import MetricsConfig
from realtime.pose.stream import PoseStream
from realtime.types import N_LANDMARKS, Step, View

# body (metres)
THIGH = 0.44
SHANK = 0.44
LEG = THIGH + SHANK
TRUNK = 0.52
HIP_HALF = 0.09
SHOULDER_HALF = 0.18
HEEL = (-0.06, -0.07)  # (forward, up) from the ankle, foot level
TOE = (0.18, -0.07)
G = 9.81
STANCE_DIP_M = 0.05  # how far the hip sinks below the contact-to-toe-off line in stance
DIP_SKEW = 0.1 / (0.4 * 0.6)  # u + k u (1 - u) = 0.5 at u = 0.4: deepest at 40 % of stance

Schedule = float | Callable[[float], float]

# leg-swap glitches exchange these BlazePose landmarks (hips .. toes)
_SWAP_L = np.array([23, 25, 27, 29, 31])
_SWAP_R = np.array([24, 26, 28, 30, 32])


def _value(s: Schedule, t: np.ndarray) -> np.ndarray:
    if callable(s):
        return np.array([float(s(float(x))) for x in np.atleast_1d(t)])
    return np.full(np.shape(np.atleast_1d(t)), float(s))


def _ease(phi: np.ndarray, knots: Sequence[float], vals: Sequence[np.ndarray | float]
          ) -> np.ndarray:
    """Half-cosine interpolation through (knots[i], vals[i]): C1, zero slope at knots,
    so every knot value is an exact extremum of its neighbourhood."""
    kn = np.asarray(knots, float)
    v = np.stack([np.broadcast_to(np.asarray(x, float), phi.shape) for x in vals])
    i = np.clip(np.searchsorted(kn, phi, side="right") - 1, 0, len(kn) - 2)
    u = (phi - kn[i]) / (kn[i + 1] - kn[i])
    w = 0.5 * (1.0 - np.cos(np.pi * np.clip(u, 0.0, 1.0)))
    a = np.take_along_axis(v, i[None], 0)[0]
    b = np.take_along_axis(v, (i + 1)[None], 0)[0]
    return a + (b - a) * w


class _Model:
    """Joint angles of one leg as functions of time, and the hip height they imply."""

    def __init__(self, cadence_spm: float, duty: float, knee_ic: float, theta_ic: float,
                 theta_to: float, drive: Schedule, duration: float) -> None:
        self.T = 60.0 / cadence_spm
        self.P = 2.0 * self.T
        self.duty = duty
        self.phi_to = duty
        self.phi_pk = 0.82
        self.k_ic = math.radians(knee_ic)
        self.th_ic = theta_ic
        self.th_to = theta_to
        self.t0 = (0.11, 0.11 + self.T)  # first contact of L and R
        n_cyc = int(duration / self.P) + 4
        # knee drive of each swing, fixed at the time of its peak
        self.drive = []
        for leg in range(2):
            cyc = np.arange(-1, n_cyc)
            t_pk = self.t0[leg] + (cyc + self.phi_pk) * self.P
            self.drive.append(np.radians(_value(drive, t_pk)))

    def phase(self, t: np.ndarray, leg: int) -> tuple[np.ndarray, np.ndarray]:
        x = (t - self.t0[leg]) / self.P
        c = np.floor(x)
        return x - c, c.astype(np.int64)

    def nominal_angles(self, t: np.ndarray, leg: int
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """thigh angle from the downward vertical (+ forward), knee flexion, foot pitch,
        as smooth functions of the gait phase (the knee in stance: see `angles`)."""
        phi, c = self.phase(t, leg)
        th_max = self.drive[leg][np.clip(c + 1, 0, len(self.drive[leg]) - 1)]
        pt, pk = self.phi_to, self.phi_pk
        th = _ease(phi, [0.0, pt, pk, 1.0], [self.th_ic, self.th_to, th_max, self.th_ic])
        ki = self.k_ic
        # the knee finishes extending slowly into contact while the thigh retracts, so
        # the ankle is near its most forward point at contact (as in the mocap trials)
        kn = _ease(phi, [0.0, pt / 2, pt, 0.66, 0.9, 1.0],
                   [ki, ki + math.radians(20), ki, math.radians(105),
                    ki + math.radians(6), ki])
        ft = _ease(phi, [0.0, 0.15 * pt, 0.55 * pt, pt, 0.7, 1.0],
                   [math.radians(8), 0.0, 0.0, math.radians(-45), 0.0, math.radians(8)])
        return th, kn, ft

    def angles(self, t: np.ndarray, leg: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As `nominal_angles` in swing.  In stance the foot is on the ground and carried
        backward at a constant speed (a treadmill belt) from where it landed to where it
        leaves, under a hip that sinks and rises (`hip_height`): thigh and knee come from
        two-link inverse kinematics, so they match the nominal angles at contact and
        toe-off and the foot never slides or lifts in between."""
        t = np.asarray(t, float)
        th, kn, ft = self.nominal_angles(t, leg)
        st = self.stance(t, leg)
        if not st.any():
            return th, kn, ft
        ts = t[st]
        phi, _ = self.phase(ts, leg)
        t_ic = ts - phi * self.P
        x0 = self.ankle_ahead(t_ic, leg)
        x1 = self.ankle_ahead(t_ic + self.phi_to * self.P, leg)
        dx = x0 + (x1 - x0) * (phi / self.phi_to)
        dy = self.hip_height(ts) - self.foot_drop(ft[st])
        d2 = dx * dx + dy * dy
        d = np.sqrt(d2)
        interior = np.arccos(np.clip((THIGH**2 + SHANK**2 - d2) / (2 * THIGH * SHANK), -1, 1))
        beta = np.arccos(np.clip((THIGH**2 + d2 - SHANK**2) / (2 * THIGH * d), -1, 1))
        th[st] = np.arctan2(dx, dy) + beta
        kn[st] = np.pi - interior
        return th, kn, ft

    def ankle_ahead(self, t: np.ndarray, leg: int) -> np.ndarray:
        """How far the ankle is ahead of the hip with the nominal angles, m."""
        th, kn, _ = self.nominal_angles(t, leg)
        return THIGH * np.sin(th) + SHANK * np.sin(th - kn)

    @staticmethod
    def foot_drop(ft: np.ndarray) -> np.ndarray:
        """Height of the ankle above the foot's lowest point (heel or toe)."""
        hv = HEEL[0] * np.sin(ft) + HEEL[1] * np.cos(ft)
        tv = TOE[0] * np.sin(ft) + TOE[1] * np.cos(ft)
        return -np.minimum(hv, tv)

    def extent(self, t: np.ndarray, leg: int) -> np.ndarray:
        """Hip height that puts the foot's lowest point on the ground, nominal angles."""
        th, kn, ft = self.nominal_angles(t, leg)
        return THIGH * np.cos(th) + SHANK * np.cos(th - kn) + self.foot_drop(ft)

    def stance(self, t: np.ndarray, leg: int) -> np.ndarray:
        phi, _ = self.phase(t, leg)
        return phi < self.phi_to

    def hip_height(self, t: np.ndarray) -> np.ndarray:
        """Stance: a dip below the line joining the contact and toe-off heights, deepest
        at 40 % of the stance (a runner's leg compresses under the landing; a kinematic
        foot-flat model would bottom out late in the stance).  Flight: a ballistic arc
        from the toe-off height to the next contact height."""
        t = np.asarray(t, float)
        out = np.empty_like(t)
        for leg in range(2):
            sel = self.stance(t, leg)
            if leg == 1:
                sel &= ~self.stance(t, 0)
            if not sel.any():
                continue
            phi, _ = self.phase(t[sel], leg)
            u = phi / self.phi_to
            t_ic = t[sel] - phi * self.P
            h0 = self.extent(t_ic, leg)
            h1 = self.extent(t_ic + self.phi_to * self.P, leg)
            w = u + DIP_SKEW * u * (1.0 - u)
            out[sel] = h0 + (h1 - h0) * u - STANCE_DIP_M * np.sin(np.pi * w)
        sl = self.stance(t, 0)
        sr = self.stance(t, 1) & ~sl
        fl = ~(sl | sr)
        if fl.any():
            tf = t[fl]
            # the flight follows the toe-off of the leg whose contact came last
            ll = np.stack([self.phase(tf, leg)[0] for leg in range(2)])
            leg_off = np.argmin(ll, axis=0)  # smaller phase: contacted more recently
            t1 = tf - np.choose(leg_off, ll) * self.P + self.phi_to * self.P
            t2 = t1 + (self.T - self.phi_to * self.P)
            h1 = np.where(leg_off == 0, self.extent(t1, 0), self.extent(t1, 1))
            h2 = np.where(leg_off == 0, self.extent(t2, 1), self.extent(t2, 0))
            out[fl] = h1 + (h2 - h1) * (tf - t1) / (t2 - t1) + 0.5 * G * (tf - t1) * (t2 - tf)
        return out


def _solve_theta_ic(overstride_pct: float, knee_ic_deg: float) -> float:
    """Thigh angle at contact that puts the ankle overstride_pct % of leg ahead of the hip."""
    th = np.radians(np.linspace(-20, 70, 9001))
    k = math.radians(knee_ic_deg)
    ahead = (THIGH * np.sin(th) + SHANK * np.sin(th - k)) / LEG * 100.0
    return float(np.interp(overstride_pct, ahead, th))


def synthetic_run(
    duration_s: float, fps: float, *, view: View = "side", cadence_spm: float = 170.0,
    knee_drive_deg: Schedule = 55.0, knee_flexion_ic_deg: float = 18.0,
    overstride_pct: float = 25.0, trunk_lean_deg: float = 6.0, hip_sway_pct: float = 4.0,
    pelvic_drop_deg: float = 5.0, duty_factor: float = 0.36, facing: int = -1,
    noise_px: float = 0.0, image_size: tuple[int, int] = (720, 1280), seed: int = 0,
    dropout_rate: float = 0.0, gaps: Sequence[tuple[float, float]] = (),
    swap_rate_hz: float = 0.0, height_frac: float = 0.75,
) -> tuple[PoseStream, list[Step]]:
    """A running stream and its true steps.

    The parameters shape the motion; the returned steps hold the true values by the
    metric definitions; contact is touch-down, so `knee_flexion_ic_deg` and
    `overstride_pct` are exact there, as are knee drive, pelvic drop and trunk lean.
    Toe-off comes `duty_factor` of a stride after each contact.

    The model is kinematic (the stance foot stays on the ground), not dynamic: its hips
    bottom out late in the stance, where a real runner's bottom out at about 40 % of it,
    so the event calibration fitted on the force plates does not fit it; unit tests fit
    their own (tests/test_metrics_synthetic.py).

    `hip_sway_pct` is the peak-to-peak of the sinusoidal lateral hip motion in % of
    (thigh + shank); the true per-step values use the metric's own definition.
    `knee_drive_deg` may be a function of time (the demo's "poor, then improving"
    runner); each swing takes the value at its peak.  `dropout_rate` is the chance that
    a frame has no pose; `gaps` are (start, end) seconds without a pose; `swap_rate_hz`
    is how often BlazePose-style L/R leg swaps (2-6 frames) occur.  `facing` is +1 if the
    runner faces image-right, -1 image-left (side view only).
    """
    if view not in ("side", "rear"):
        raise ValueError(f"view must be 'side' or 'rear', got {view!r}")
    if facing not in (-1, 1):
        raise ValueError("facing must be +1 or -1")
    rng = np.random.default_rng(seed)
    w, h = image_size
    scale = height_frac * h / 1.8  # pixels per metre
    ground = 0.93 * h
    cx = 0.5 * w
    th_ic = _solve_theta_ic(overstride_pct, knee_flexion_ic_deg)
    model = _Model(cadence_spm, duty_factor, knee_flexion_ic_deg, th_ic, math.radians(-22),
                   knee_drive_deg, duration_s)
    t = np.arange(round(duration_s * fps)) / fps
    n = t.size
    H = model.hip_height(t)
    lean = math.radians(trunk_lean_deg)
    lm = np.zeros((n, N_LANDMARKS, 4), np.float32)
    lm[:, :, :3] = np.nan

    def put(j: int, fwd_or_lat: np.ndarray, up: np.ndarray, vis: float, z: float) -> None:
        x = cx + facing * fwd_or_lat * scale if view == "side" else cx + fwd_or_lat * scale
        lm[:, j, 0] = x / w
        lm[:, j, 1] = (ground - up * scale) / h
        lm[:, j, 2] = z
        lm[:, j, 3] = vis

    legs = {}
    for leg in range(2):
        th, kn, ft = model.angles(t, leg)
        kf, ku = THIGH * np.sin(th), -THIGH * np.cos(th)
        af, au = kf + SHANK * np.sin(th - kn), ku - SHANK * np.cos(th - kn)
        hf = af + HEEL[0] * np.cos(ft) - HEEL[1] * np.sin(ft)
        hu = au + HEEL[0] * np.sin(ft) + HEEL[1] * np.cos(ft)
        tf = af + TOE[0] * np.cos(ft) - TOE[1] * np.sin(ft)
        tu = au + TOE[0] * np.sin(ft) + TOE[1] * np.cos(ft)
        legs[leg] = (kf, ku, af, au, hf, hu, tf, tu)

    if view == "side":
        near = 0 if facing == -1 else 1  # facing image-left shows the left side
        # hips drawn where BlazePose draws them, behind the joint centres; the metrics
        # stage moves them back (MetricsConfig.hip_near_forward, hip_far_forward)
        mc = MetricsConfig()
        leg_m = _leg_mean(model)
        for leg in range(2):
            vis = 0.98 if leg == near else 0.85
            z = -0.1 if leg == near else 0.1
            kf, ku, af, au, hf, hu, tf, tu = legs[leg]
            zero = np.zeros(n)
            back = mc.hip_near_forward if leg == near else mc.hip_far_forward
            put(23 + leg, zero - back * leg_m, H, 0.99, z)
            put(25 + leg, kf, H + ku, vis, z)
            put(27 + leg, af, H + au, vis, z)
            put(29 + leg, hf, H + hu, vis, z)
            put(31 + leg, tf, H + tu, vis, z)
            put(11 + leg, TRUNK * np.sin(lean) + zero, H + TRUNK * np.cos(lean), 0.99, z)
        sf = TRUNK * math.sin(lean)
        su = H + TRUNK * math.cos(lean)
        put(0, sf + 0.10 + np.zeros(n), su + 0.22, 0.99, 0.0)
        for j in (7, 8):
            put(j, sf - 0.03 + np.zeros(n), su + 0.24, 0.9, 0.0)
    else:
        amp = hip_sway_pct / 100.0 * LEG
        t_mid_r = model.t0[1] + 0.5 * model.phi_to * model.P
        pc = 0.5 * amp * np.cos(2 * np.pi * (t - t_mid_r) / model.P)  # + is runner's right
        drop = np.zeros(n)  # + : left hip lower
        for leg in range(2):
            phi, _ = model.phase(t, leg)
            st = phi < model.phi_to
            d = math.radians(pelvic_drop_deg) * np.sin(np.pi * phi / model.phi_to)
            sgn = 1.0 if leg == 1 else -1.0  # right stance drops the left (swing) side
            drop = np.where(st, sgn * d, drop)
        for leg in range(2):
            side = -1.0 if leg == 0 else 1.0  # the left hip is image-left from behind
            kf, ku, af, au, hf, hu, tf, tu = legs[leg]
            hx = pc + side * HIP_HALF * np.cos(drop)
            hy = H + side * HIP_HALF * np.sin(drop)  # drop > 0: left hip lower
            put(23 + leg, hx, hy, 0.99, 0.0)
            lx = pc + side * (HIP_HALF + 0.01)
            put(25 + leg, lx, H + ku, 0.97, 0.0)
            put(27 + leg, lx, H + au, 0.95, 0.0)
            put(29 + leg, lx, H + hu, 0.9, 0.0)
            put(31 + leg, lx, H + tu, 0.7, 0.0)
            put(11 + leg, pc + side * SHOULDER_HALF, H + TRUNK + np.zeros(n), 0.99, 0.0)
        put(0, pc, H + TRUNK + 0.2, 0.05, 0.0)

    # ---- degradations
    if noise_px > 0:
        lm[:, :, 0] += rng.normal(0.0, noise_px / w, (n, N_LANDMARKS)).astype(np.float32)
        lm[:, :, 1] += rng.normal(0.0, noise_px / h, (n, N_LANDMARKS)).astype(np.float32)
    if swap_rate_hz > 0:
        i = 0
        while i < n:
            i += int(rng.exponential(fps / swap_rate_hz)) + 1
            k = int(rng.integers(2, 7))
            if i + k >= n:
                break
            a = lm[i:i + k, _SWAP_L].copy()
            lm[i:i + k, _SWAP_L] = lm[i:i + k, _SWAP_R]
            lm[i:i + k, _SWAP_R] = a
            i += k
    lost = np.zeros(n, bool)
    if dropout_rate > 0:
        lost |= rng.random(n) < dropout_rate
    for a, b in gaps:
        lost |= (t >= a) & (t < b)
    lm[lost, :, :3] = np.nan
    lm[lost, :, 3] = 0.0

    truth = _true_steps(model, view, duration_s, knee_flexion_ic_deg, overstride_pct,
                        trunk_lean_deg, hip_sway_pct, pelvic_drop_deg)
    return PoseStream(t, lm, (int(w), int(h)), view, float(fps)), truth


def _leg_mean(model: _Model) -> float:
    """Mean hip-to-ankle distance over a stride: the validation's unit of % metrics."""
    tg = model.t0[0] + np.linspace(0.0, model.P, 2001)[:-1]
    th, kn, _ = model.angles(tg, 0)
    f = THIGH * np.sin(th) + SHANK * np.sin(th - kn)
    u = -THIGH * np.cos(th) - SHANK * np.cos(th - kn)
    return float(np.mean(np.hypot(f, u)))


def _true_steps(model: _Model, view: View, duration: float, knee_ic: float, over: float,
                lean: float, sway: float, drop: float) -> list[Step]:
    T = model.T
    leg_m = _leg_mean(model)
    n = int(max(0.0, (duration - model.t0[0]) / T)) + 2
    k = np.arange(n)
    legs = k % 2
    t_nom = model.t0[0] + k * T
    t_ic = t_nom  # touch-down: the stance foot's lowest point reaches the ground
    # the hip height is periodic with the step period: its peak-to-peak is one number
    tg = model.t0[0] + np.linspace(0.0, T, 2001)
    hh = model.hip_height(tg)
    vo = float(hh.max() - hh.min()) / leg_m * 100.0
    # hip sway: mid-hip lateral p-p over the stride ending with the step, after a
    # least-squares line (two values: strides ending with an L step and an R step)
    amp = sway / 100.0 * LEG
    t_mid_r = model.t0[1] + 0.5 * model.phi_to * model.P
    shift = float(np.mean(t_ic[: min(n, 4)] - t_nom[: min(n, 4)]))
    sway_true = []
    for kk in (1, 2):
        ts = model.t0[0] + shift + (kk - 1) * T + np.linspace(0.0, 2 * T, 4001)
        x = 0.5 * amp * np.cos(2 * np.pi * (ts - t_mid_r) / model.P)
        r = x - np.polyval(np.polyfit(ts, x, 1), ts)
        sway_true.append(float(np.ptp(r)) / leg_m * 100.0)
    # knee flexion and ankle-ahead at every contact, vectorised per leg
    k_ic = np.empty(n)
    ahead = np.empty(n)
    for leg in (0, 1):
        sel = legs == leg
        th, kn, _ = model.angles(t_ic[sel], leg)
        k_ic[sel] = np.degrees(kn)
        ahead[sel] = (THIGH * np.sin(th) + SHANK * np.sin(th - kn)) / leg_m * 100.0
    out: list[Step] = []
    for j in range(n - 1):
        leg = int(legs[j])
        ta, tb = float(t_ic[j]), float(t_ic[j + 1])
        if tb > duration - 1e-9:
            break
        other = 1 - leg
        c = math.floor((t_nom[j] - model.t0[other]) / model.P + 1e-9)
        drive = math.degrees(model.drive[other][min(c + 1, len(model.drive[other]) - 1)])
        if view == "side":
            s = Step("LR"[leg], ta, 60.0 / (tb - ta), drive,
                     -100.0 * math.cos(math.radians(drive)), float(k_ic[j]), float(ahead[j]),
                     lean, vo, confidence=1.0, t_detected_s=tb)
        else:
            s = Step("LR"[leg], ta, 60.0 / (tb - ta),
                     hip_sway_pct=sway_true[leg] if j >= 1 else math.nan,
                     pelvic_drop_deg=drop, confidence=1.0, t_detected_s=tb)
        out.append(s)
    return out
