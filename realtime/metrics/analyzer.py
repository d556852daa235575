"""Online gait analysis: one `update` per frame, a Step at each completed step.

All per-frame arithmetic is one numba call (`kernels.frame_update`); Python only turns
the rare events into records, so the per-frame cost is one dispatch plus a few checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from realtime.config import MetricsConfig
from realtime.metrics import kernels as K
from realtime.pose.stream import PoseStream
from realtime.types import N_LANDMARKS, GaitEvent, Leg, LiveState, Step, View

LEGS: tuple[Leg, Leg] = ("L", "R")
RING_ROWS = 1024  # about 17 s at 60 fps: far more than a stride plus the fit margins


def _params(cfg: MetricsConfig, view: View, image_size: tuple[int, int]) -> np.ndarray:
    prm = np.zeros(K.N_PARAMS)
    prm[K.P_W] = float(image_size[0])
    prm[K.P_H] = float(image_size[1])
    prm[K.P_MINVIS] = cfg.min_visibility
    prm[K.P_MAXGAP] = cfg.max_gap_s
    prm[K.P_MINCUT] = cfg.one_euro_min_cutoff_hz
    prm[K.P_BETA] = cfg.one_euro_beta
    prm[K.P_DCUT] = cfg.one_euro_d_cutoff_hz
    prm[K.P_SWAP_RATIO] = cfg.swap_ratio
    prm[K.P_MAX_SWAP_S] = cfg.max_swap_s
    prm[K.P_THR_IC] = cfg.contact_detect_height
    prm[K.P_THR_RAW] = cfg.contact_height
    prm[K.P_THR_TO] = cfg.toe_off_height
    prm[K.P_MIN_SWING_H] = cfg.min_swing_height
    prm[K.P_GROUND_DECAY] = cfg.ground_decay
    prm[K.P_IS_SIDE] = 1.0 if view == "side" else 0.0
    prm[K.P_FACING_TAU] = cfg.facing_tau_s
    prm[K.P_IC_OFFSET] = cfg.ic_time_offset_s
    prm[K.P_RING_ROWS] = RING_ROWS
    prm[K.P_SCALE_TAU] = cfg.scale_tau_s
    # the image shows the full hip-to-ankle length only from the side
    prm[K.P_LEG_RATIO] = 1.0 if view == "side" else cfg.rear_leg_ratio
    prm[K.P_SIDE_HORIZ] = 1.0 if cfg.side_events == "hybrid" else 0.0
    prm[K.P_GATE_FRAC] = cfg.contact_gate_frac
    prm[K.P_MIN_STEP] = cfg.min_step_s
    prm[K.P_HORIZ_HYST] = cfg.horizontal_hysteresis
    prm[K.P_FLOOR_WIN] = cfg.floor_window_s
    prm[K.P_HIDDEN_RATIO] = cfg.hidden_stance_ratio
    return prm


@dataclass(frozen=True, slots=True)
class _Contact:
    leg: int
    t: float
    n: int  # frames in the ring when it was detected
    conf: float


class GaitAnalyzer:
    """Landmarks in, steps out; causal (a record uses only frames up to its emission)."""

    def __init__(
        self, cfg: MetricsConfig, view: View, image_size: tuple[int, int],
        *, _ring_rows: int = RING_ROWS,
    ) -> None:
        if view not in ("side", "rear"):
            raise ValueError(f"view must be 'side' or 'rear', got {view!r}")
        w, h = int(image_size[0]), int(image_size[1])
        if w <= 0 or h <= 0:
            raise ValueError(f"image_size must be positive (width, height), got {image_size}")
        self.cfg = cfg
        self.view: View = view
        self.image_size = (w, h)
        self._prm = _params(cfg, view, (w, h))
        self._st = K.new_state()
        self._ring = np.full((max(_ring_rows, RING_ROWS), K.N_RING_COLS), np.nan)
        self._ev = np.zeros((K.MAX_EVENTS, 4))
        self._lm_index = K.LM_INDEX.copy()
        self._is_side = view == "side"
        self._t = math.nan
        self._last: _Contact | None = None  # newest contact in the current chain
        self._prev: _Contact | None = None  # the one before it, if the chain holds
        self._last_to = [math.nan, math.nan]
        self._prev_dur = math.nan  # duration of the previous step in the chain
        self._prev_dur2 = math.nan  # and of the one before it (same leg as this one)
        self._valid_since = math.inf  # first frame time, or the end of the last long gap
        self._events: list[GaitEvent] = []
        self._steps: list[Step] = []

    # ------------------------------------------------------------------ per frame
    def update(self, t_s: float, landmarks: np.ndarray) -> list[Step]:
        """Feed one frame (float32 [33, 4]); returns the steps completed at this frame."""
        lm = landmarks
        if not (
            type(lm) is np.ndarray and lm.dtype == np.float32 and lm.shape == (N_LANDMARKS, 4)
            and lm.flags.c_contiguous
        ):
            lm = np.ascontiguousarray(lm, dtype=np.float32)
            if lm.shape != (N_LANDMARKS, 4):
                raise ValueError(f"landmarks must be [33, 4], got {lm.shape}")
        t = float(t_s)
        self._t = t
        if self._valid_since == math.inf:
            self._valid_since = t
        k = K.frame_update(lm, t, self._st, self._ring, self._prm, self._ev, self._lm_index)
        if k == 0:
            return []
        st = self._st
        n = int(st[K.S_N])
        snap = (st[K.S_FACING], st[K.S_THIGH], st[K.S_THIGH + 1], st[K.S_LEGLEN],
                st[K.S_LEG + K.LEG_PHASE], st[K.S_LEG + K.LEG_STRIDE + K.LEG_PHASE])
        return self._on_events(self._ev[:k].copy(), t, n, snap)

    def finish(self) -> list[Step]:
        """End of stream: the last contact has no successor, so no step is open."""
        return []

    # ------------------------------------------------------------------ events
    def _on_events(
        self, ev: np.ndarray, t_now: float, n: int, snap: tuple[float, ...]
    ) -> list[Step]:
        """Events -> GaitEvents and Steps.  `snap` is (facing, thigh L, thigh R, leg
        length, contact phase L, R) as the kernel state held them at this frame."""
        out: list[Step] = []
        for kind, leg_f, te, conf in ev:
            leg = int(leg_f)
            if kind == K.EV_BREAK:
                self._valid_since = t_now
                self._last = None
                self._prev = None
                self._prev_dur = math.nan
                self._prev_dur2 = math.nan
                continue
            c = float(min(1.0, max(0.0, conf)))
            if kind == K.EV_TO:
                self._last_to[leg] = float(te)
                self._events.append(GaitEvent("TO", LEGS[leg], float(te), t_now, c))
                continue
            self._events.append(GaitEvent("IC", LEGS[leg], float(te), t_now, c))
            new = _Contact(leg, float(te), n, c)
            last = self._last
            if last is not None and last.leg != leg:
                dur = new.t - last.t
                if self.cfg.min_step_s <= dur <= self.cfg.max_step_s:
                    out.append(self._make_step(last, new, t_now, n, snap))
                    self._prev = last
                else:
                    self._prev = None
                    self._prev_dur = math.nan
                    self._prev_dur2 = math.nan
            else:
                self._prev = None
                self._prev_dur = math.nan
                self._prev_dur2 = math.nan
            self._last = new
        self._steps.extend(out)
        return out

    def _make_step(
        self, a: _Contact, b: _Contact, t_now: float, n: int,
        snap: tuple[float, ...],
    ) -> Step:
        prev = self._prev
        dur = b.t - a.t
        if prev is not None and prev.leg == b.leg:
            t_s0 = prev.t
        elif a.t - dur >= self._valid_since:
            # first step of a chain: its stride starts about a step before its contact
            # (the frames are there even though no contact was detected then)
            t_s0 = a.t - dur
        else:
            t_s0 = math.nan
        to_a = self._last_to[a.leg]
        facing_now, thigh_b, leg_len = snap[0], snap[1 + b.leg], snap[3]
        facing = facing_now or 1.0
        out = np.empty(10)
        K.step_metrics(
            self._ring, n, RING_ROWS, a.t, b.t, t_s0, to_a, a.leg, float(facing),
            self._is_side, float(thigh_b), float(leg_len), self.cfg.peak_halfwin_s,
            self.cfg.contact_halfwin_s, out,
        )
        dur = b.t - a.t
        vis = float(out[8]) if out[8] == out[8] else 0.0
        frac = float(out[9]) if out[9] == out[9] else 0.0
        # gait plausibility: running has a flight phase; walking has double support
        if a.t < to_a < b.t:
            flight = b.t - to_a
            gait = float(np.clip(1.0 + (flight - self.cfg.walk_min_flight_s) / 0.05, 0.15, 1.0))
        elif snap[4 + a.leg] == 1.0:
            gait = 0.3  # still on the ground when the other foot lands: walking
        else:
            gait = 0.7  # its toe-off was not seen (noisy or hidden foot)
        # walking cadence (< ~125 steps/min) over the last steps of the chain
        recent = [d for d in (dur, self._prev_dur, self._prev_dur2) if d == d]
        if dur > 0.55 or sum(recent) / len(recent) > 0.47:
            gait *= 0.5
        # a running rhythm is regular: an isolated step, or one much unlike the last
        # step of the same leg, is more likely a misdetection than a running step (the
        # same leg, because a contact detector late on one leg alternates durations)
        isolated = self._prev is None or self._prev_dur != self._prev_dur
        irregular = self._prev_dur2 == self._prev_dur2 and abs(dur / self._prev_dur2 - 1) > 0.3
        if isolated or irregular:
            gait *= 0.6
        self._prev_dur2 = self._prev_dur
        self._prev_dur = dur
        side_ok = 1.0 if (not self._is_side or facing_now != 0.0) else 0.5
        conf = float(np.clip(min(vis, 1.0) * frac * gait * side_ok * min(a.conf, b.conf) ** 0.5,
                             0.0, 1.0))
        m = [float(v) for v in out[:8]]
        return Step(
            leg=LEGS[a.leg],
            t_contact_s=a.t,
            cadence_spm=60.0 / dur,
            knee_drive_deg=m[0],
            knee_height_pct=m[1],
            knee_flexion_ic_deg=m[2],
            overstride_pct=m[3],
            trunk_lean_deg=m[4],
            vertical_oscillation_pct=m[5],
            hip_sway_pct=m[6],
            pelvic_drop_deg=m[7],
            confidence=conf,
            t_detected_s=t_now,
        )

    # ------------------------------------------------------------------ state
    @property
    def events(self) -> list[GaitEvent]:
        return self._events

    @property
    def steps(self) -> list[Step]:
        return self._steps

    @property
    def facing(self) -> int:
        """+1 runner faces image-right, -1 image-left, 0 unknown (and always 0 in rear view)."""
        return int(self._st[K.S_FACING])

    @property
    def swaps_repaired(self) -> int:
        return int(self._st[K.S_NSWAPS])

    @property
    def leg_length_px(self) -> float:
        return float(self._st[K.S_LEGLEN])

    @property
    def event_delay_s(self) -> float:
        """Median delay from an initial contact to the frame that reported it."""
        d = [e.t_detected_s - e.t_s for e in self._events if e.kind == "IC"]
        return float(np.median(d)) if d else math.nan

    @property
    def live(self) -> LiveState:
        """Current knee height / thigh flexion from the smoothed landmarks (for display)."""
        st = self._st
        has_pose = bool(st[K.S_HAS_POSE])
        facing = int(st[K.S_FACING])
        if not has_pose:
            return LiveState(self._t, False, facing=facing)
        sm = st[K.S_OE_X:K.S_OE_X + 2 * K.N_PTS]
        best_h = math.nan
        best_f = math.nan
        for leg in (0, 1):
            hx, hy = sm[2 * leg], sm[2 * leg + 1]
            kx, ky = sm[2 * (2 + leg)], sm[2 * (2 + leg) + 1]
            thigh = st[K.S_THIGH + leg]
            if thigh > 0:
                kh = (hy - ky) / thigh * 100.0
                if not kh <= best_h:
                    best_h = kh if kh == kh else best_h
            if self._is_side and facing != 0:
                f = math.degrees(math.atan2(facing * (kx - hx), ky - hy))
                if not f <= best_f:
                    best_f = f if f == f else best_f
        return LiveState(self._t, True, best_h, best_f, facing)


# ---------------------------------------------------------------------- batch / warmup


def analyze_stream(stream: PoseStream, cfg: MetricsConfig) -> tuple[list[Step], GaitAnalyzer]:
    """Re-analyse a recorded stream; the same steps as feeding `update` frame by frame.

    All frames go through the kernel in one call (fast); the ring then holds the whole
    stream and each step is computed from the frames seen up to its event, as online.
    """
    n = len(stream)
    ga = GaitAnalyzer(cfg, stream.view, stream.image_size, _ring_rows=n + 1)
    lms = np.ascontiguousarray(stream.landmarks, dtype=np.float32)
    ts = np.ascontiguousarray(stream.t, dtype=np.float64)
    out_ev = np.zeros((max(16, n * 2), 11))
    if n:
        ga._valid_since = float(ts[0])
    m = K.frames_update(lms, ts, ga._st, ga._ring, ga._prm, ga._lm_index, out_ev)
    steps: list[Step] = []
    i = 0
    while i < m:
        j = i
        fi = int(out_ev[i, 4])
        while j < m and int(out_ev[j, 4]) == fi:
            j += 1
        snap = tuple(float(x) for x in out_ev[i, 5:11])
        steps += ga._on_events(out_ev[i:j, :4], float(ts[fi]), fi + 1, snap)
        i = j
    if n:
        ga._t = float(ts[-1])
    steps += ga.finish()
    return steps, ga


def warmup() -> None:
    """Call every numba kernel once (compile, or load the on-disk cache) before capture."""
    from realtime.config import MetricsConfig as _MC

    cfg = _MC()
    ga = GaitAnalyzer(cfg, "side", (640, 480))
    lm = np.zeros((N_LANDMARKS, 4), np.float32)
    lm[:, 0] = 0.5
    lm[:, 1] = np.linspace(0.1, 0.9, N_LANDMARKS, dtype=np.float32)
    lm[:, 3] = 1.0
    ga.update(0.0, lm)
    out = np.empty(10)
    K.step_metrics(ga._ring, 1, RING_ROWS, 0.0, 0.1, math.nan, math.nan, 0, 1.0, True,
                   100.0, 200.0, 0.07, 0.04, out)
    K.frames_update(lm[None], np.zeros(1), K.new_state(), np.full((2, K.N_RING_COLS), np.nan),
                    ga._prm, ga._lm_index, np.zeros((4, 11)))
    K.one_euro_filter(np.zeros(3), np.arange(3.0), 1.0, 1.0, 0.0, 1.0, 1.0)
    K.quad_peak(np.arange(5.0), np.zeros(5), 0, 4, 2, 1.0)
    K.local_value(np.arange(5.0), np.zeros(5), 2.0, 2)
