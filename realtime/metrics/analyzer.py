"""Online gait analysis: one `update` per frame, a Step at each completed step.

All per-frame arithmetic is one numba call (`frame.frame_update`: condition ->
detectors -> fusion); Python only turns the rare events into records:

- a reported contact of leg A followed by one of leg B within [min_step_s, max_step_s]
  makes a Step of A, emitted when B's contact is reported;
- a swing's peak thigh flexion makes a `Swing` at once (the knee-drive cue acts on it);
- each step says which of its metrics cannot be trusted (`Step.unreliable`).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np

from realtime.config import MetricsConfig
from realtime.metrics import frame as F
from realtime.metrics import step as S
from realtime.metrics.cadence import recent_cadence_spm
from realtime.metrics.condition import C_FACING, C_HAS_POSE, C_LEGLEN, C_NSWAPS, C_OE_X, C_THIGH
from realtime.metrics.fuse import U_HIDDEN
from realtime.metrics.layout import (
    EV_BODY,
    EV_BREAK,
    EV_IC,
    EV_KNEE,
    EV_TO,
    LM_INDEX,
    MAX_EVENTS,
    N_EV_COLS,
    N_RING_COLS,
    SRC_BODY,
    params,
)
from realtime.metrics.summary import WALK_STEP_S
from realtime.pose.stream import PoseStream
from realtime.types import N_LANDMARKS, GaitEvent, Leg, LiveState, Step, Swing, View

LEGS: tuple[Leg, Leg] = ("L", "R")
SWING_HISTORY = 8  # a half-hidden leg's swing is judged against this many recent ones
RING_ROWS = 1024  # about 17 s at 60 fps: far more than a stride plus the fit margins
SIDE_ONLY = ("knee_drive_deg", "knee_height_pct", "knee_flexion_ic_deg", "overstride_pct",
             "trunk_lean_deg", "vertical_oscillation_pct")
REAR_ONLY = ("hip_sway_pct", "pelvic_drop_deg")


@dataclass(frozen=True, slots=True)
class _Contact:
    leg: int
    t: float
    n: int  # frames in the ring when it was reported
    conf: float
    body: bool  # timed from the body (a foot the camera did not see land)


@dataclass(frozen=True, slots=True)
class _Scale:
    """Body scale at the frame an event was reported."""

    leg_len: float
    thigh: tuple[float, float]
    facing: float


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
        self._is_side = view == "side"
        self._prm = params(cfg, self._is_side, (w, h))
        self._st = F.new_state()
        self._ring = np.full((max(_ring_rows, RING_ROWS), N_RING_COLS), np.nan)
        self._ev = np.zeros((MAX_EVENTS, N_EV_COLS))
        self._no_flow = np.full((2, 4), np.nan, np.float32)
        self._lm_index = LM_INDEX.copy()
        self._t = math.nan
        self._valid_since = math.inf  # first frame, or the end of the last long gap
        self._chain: list[_Contact] = []  # the current unbroken chain's last contacts
        self._last_to = [math.nan, math.nan]
        self._durs: list[float] = []  # durations of the chain's steps, newest last
        self._swing: list[tuple[float, float, float, bool, float] | None] = [None, None]
        self._swing_hist: list[list[float]] = [[], []]  # recent knee drives per leg
        self._events: list[GaitEvent] = []
        self._steps: list[Step] = []
        self._swings: list[Swing] = []
        self._new_swings: list[Swing] = []
        self.body_minima: list[float] = []
        # a step's `unreliable` set, one object per distinct set: an hour's 10 000 steps
        # hold a handful of distinct sets, and a frozenset costs ~200 bytes
        self._unreliable_sets: dict[frozenset[str], frozenset[str]] = {}

    # ------------------------------------------------------------------ per frame
    def update(self, t_s: float, landmarks: np.ndarray,
               foot_flow: np.ndarray | None = None) -> list[Step]:
        """Feed one frame (float32 [33, 4]) and, if the pose stage measured it, each foot's
        pixel velocity (float32 [2, 4], realtime.pose.footflow); returns the steps completed
        at this frame.  Swings (knee drive) completed at this frame are in `pop_swings()`."""
        flow = self._no_flow
        if foot_flow is not None:
            flow = np.ascontiguousarray(foot_flow, dtype=np.float32)
            if flow.shape != (2, 4):
                raise ValueError(f"foot_flow must be [2, 4], got {flow.shape}")
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
        k = F.frame_update(lm, flow, t, self._st, self._ring, self._prm, self._ev,
                           self._lm_index)
        if k == 0:
            return []
        cs = self._st.cond
        n = int(cs[0])
        scale = _Scale(float(cs[C_LEGLEN]), (float(cs[C_THIGH]), float(cs[C_THIGH + 1])),
                       float(cs[C_FACING]))
        return self._on_events(self._ev[:k].copy(), t, n, scale)

    def pop_swings(self) -> list[Swing]:
        """Swings whose knee drive became final since the last call."""
        out, self._new_swings = self._new_swings, []
        return out

    def finish(self) -> list[Step]:
        """End of stream: the last contact has no successor, so no step is open."""
        return []

    # ------------------------------------------------------------------ events
    def _on_events(self, ev: np.ndarray, t_now: float, n: int, scale: _Scale) -> list[Step]:
        out: list[Step] = []
        for kind, leg_f, te, conf, src, v1, v2 in ev:
            leg = int(leg_f)
            c = float(min(1.0, max(0.0, conf))) if conf == conf else 0.0
            if kind == EV_BREAK:
                self._chain.clear()
                self._durs.clear()
                self._valid_since = t_now
            elif kind == EV_TO:
                self._last_to[leg] = float(te)
                self._events.append(GaitEvent("TO", LEGS[leg], float(te), t_now, c))
            elif kind == EV_BODY:
                self.body_minima.append(float(te))
            elif kind == EV_KNEE:
                ok = self._swing_reliable(leg, float(v1), c)
                sw = Swing(LEGS[leg], float(te), float(v1), float(v2), ok, t_now)
                self._swing[leg] = (float(te), float(v1), float(v2), ok, t_now)
                self._swings.append(sw)
                self._new_swings.append(sw)
            elif kind == EV_IC:
                body = src == SRC_BODY
                self._events.append(GaitEvent("IC", LEGS[leg], float(te), t_now, c,
                                              "body" if body else "foot"))
                step = self._contact(_Contact(leg, float(te), n, c, body), t_now, scale)
                if step is not None:
                    out.append(step)
        self._steps.extend(out)
        return out

    def _swing_reliable(self, leg: int, value: float, vis: float) -> bool:
        """A swing seen well is trusted; one seen partly (a far leg behind the near one)
        only if it agrees with the leg's own recent swings (both legs' while it has fewer
        than three; with fewer than two to compare, it is not trusted yet); one barely
        seen never."""
        cfg = self.cfg
        hist = self._swing_hist[leg]
        if len(hist) < 3:  # too few of its own yet: judge against both legs' swings
            hist = self._swing_hist[1 - leg][-SWING_HISTORY:] + hist
        ok = vis >= cfg.trusted_visibility
        if not ok and vis >= cfg.reliable_visibility and len(hist) >= 2:
            med = statistics.median(hist)
            mad = 1.4826 * statistics.median([abs(v - med) for v in hist])
            ok = abs(value - med) <= max(cfg.outlier_mads * mad, cfg.outlier_min_deg)
        own = self._swing_hist[leg]
        own.append(value)
        del own[:-SWING_HISTORY]
        return ok

    def _contact(self, new: _Contact, t_now: float, scale: _Scale) -> Step | None:
        chain = self._chain
        last = chain[-1] if chain else None
        step = None
        if last is not None and last.leg != new.leg and (
                self.cfg.min_step_s <= new.t - last.t <= self.cfg.max_step_s):
            step = self._make_step(last, new, chain[-2] if len(chain) > 1 else None, t_now,
                                   scale)
            self._durs.append(new.t - last.t)
            del self._durs[:-3]
        else:
            chain.clear()
            self._durs.clear()
        chain.append(new)
        del chain[:-3]
        return step

    def _make_step(self, a: _Contact, b: _Contact, prev: _Contact | None, t_now: float,
                   scale: _Scale) -> Step:
        cfg = self.cfg
        dur = b.t - a.t
        if prev is not None and prev.leg == b.leg:
            t_s0 = prev.t
        elif a.t - dur >= self._valid_since:
            # first step of a chain: its stride started about a step before its contact
            # (the frames are there even though that contact was not reported)
            t_s0 = a.t - dur
        else:
            t_s0 = math.nan
        to_a = self._last_to[a.leg]
        if not a.t < to_a < b.t:
            to_a = math.nan
        facing = scale.facing or 1.0
        out = np.empty(S.N_OUT)
        S.step_metrics(
            self._ring, n=b.n, t_a=a.t, t_b=b.t, t_s0=t_s0, to_a=to_a, leg_a=a.leg,
            facing=facing, is_side=self._is_side, thigh_b=scale.thigh[b.leg],
            leg_len=scale.leg_len, halfwin_s=cfg.peak_halfwin_s,
            contact_halfwin_s=cfg.contact_halfwin_s, hip_halfwin_s=cfg.hip_halfwin_s, out=out,
        )
        m = [float(v) for v in out[:8]]
        sw = self._swing[b.leg]
        if self._is_side and sw is not None and a.t <= sw[0] <= b.t + 0.5 * cfg.peak_halfwin_s:
            m[S.O_KNEE_DRIVE], m[S.O_KNEE_HEIGHT] = sw[1], sw[2]  # final since the swing
        found = frozenset(self._unreliable(a, b, out, t_s0, to_a, sw))
        unreliable = self._unreliable_sets.setdefault(found, found)
        conf = self._confidence(a, b, dur, to_a, out, scale)
        if self._is_side:
            m[S.O_SWAY] = m[S.O_DROP] = math.nan
        else:
            for i in range(6):
                m[i] = math.nan
        return Step(
            leg=LEGS[a.leg],
            t_contact_s=a.t,
            cadence_spm=60.0 / dur,
            knee_drive_deg=m[S.O_KNEE_DRIVE],
            knee_height_pct=m[S.O_KNEE_HEIGHT],
            knee_flexion_ic_deg=m[S.O_FLEX_IC],
            overstride_pct=m[S.O_OVERSTRIDE],
            trunk_lean_deg=m[S.O_LEAN],
            vertical_oscillation_pct=m[S.O_VOSC],
            hip_sway_pct=m[S.O_SWAY],
            pelvic_drop_deg=m[S.O_DROP],
            confidence=conf,
            unreliable=unreliable,
            t_detected_s=t_now,
        )

    def _unreliable(self, a: _Contact, b: _Contact, out: np.ndarray, t_s0: float,
                    to_a: float, sw: tuple[float, float, float, bool, float] | None
                    ) -> set[str]:
        """The metrics of this step that were measured but cannot be trusted."""
        cfg = self.cfg
        vis_min = cfg.reliable_visibility
        timed = cfg.reliable_event_confidence
        bad: set[str] = set()
        if min(a.conf, b.conf) < timed:
            bad.add("cadence_spm")
        if self._is_side:
            contact_ok = not a.body and a.conf >= timed and out[S.O_VIS_CONTACT] >= vis_min
            if not contact_ok:
                bad |= {"knee_flexion_ic_deg", "overstride_pct"}
            swing_ok = out[S.O_VIS_SWING] >= vis_min
            if sw is not None and a.t <= sw[0] <= b.t + 0.5 * cfg.peak_halfwin_s:
                swing_ok = swing_ok and sw[3]
            if not swing_ok:
                bad |= {"knee_drive_deg", "knee_height_pct"}
            if not out[S.O_VIS_TRUNK] >= vis_min:
                bad |= {"trunk_lean_deg", "vertical_oscillation_pct"}
        else:
            hips_ok = out[S.O_VIS_HIPS] >= vis_min
            if not hips_ok or t_s0 != t_s0 or min(a.conf, b.conf) < timed:
                bad.add("hip_sway_pct")
            if not hips_ok or a.conf < timed:
                bad.add("pelvic_drop_deg")
        return bad

    def _confidence(self, a: _Contact, b: _Contact, dur: float, to_a: float,
                    out: np.ndarray, scale: _Scale) -> float:
        """How much this looks like a well-seen running step (0..1)."""
        cfg = self.cfg
        vis = float(out[S.O_VIS_TRUNK]) if out[S.O_VIS_TRUNK] == out[S.O_VIS_TRUNK] else 0.0
        frac = float(out[S.O_VALID]) if out[S.O_VALID] == out[S.O_VALID] else 0.0
        # running has a flight phase; walking has double support
        if to_a == to_a:
            flight = b.t - to_a
            gait = min(1.0, max(0.15, 1.0 + (flight - cfg.walk_min_flight_s) / 0.05))
        else:
            gait = 0.7  # its toe-off was not seen
        recent = [*self._durs[-2:], dur]
        if dur > 1.2 * WALK_STEP_S or sum(recent) / len(recent) > WALK_STEP_S:
            gait *= 0.5  # a walking cadence (the summary's definition)
        # a running rhythm is regular: an isolated step, or one much unlike the previous
        # step of the same leg, is more likely a misdetection than a running step
        same_leg = self._durs[-2] if len(self._durs) >= 2 else math.nan
        if not self._durs or (same_leg == same_leg and abs(dur / same_leg - 1.0) > 0.3):
            gait *= 0.6
        side_ok = 1.0 if (not self._is_side or scale.facing != 0.0) else 0.5
        conf = min(vis, 1.0) * frac * gait * side_ok * min(a.conf, b.conf) ** 0.5
        return min(1.0, max(0.0, float(conf)))

    # ------------------------------------------------------------------ state
    @property
    def events(self) -> list[GaitEvent]:
        return self._events

    @property
    def steps(self) -> list[Step]:
        return self._steps

    @property
    def swings(self) -> list[Swing]:
        return self._swings

    @property
    def current_cadence_spm(self) -> float:
        """The runner's cadence now: `cadence_spm` over the last `cadence_window_strides`
        whole strides of the current chain (one definition for the cues and the display)."""
        w = self.cfg.cadence_window_strides
        return recent_cadence_spm(self._steps[-(2 * w + 2):], w)

    @property
    def facing(self) -> int:
        """+1 runner faces image-right, -1 image-left, 0 unknown (and always 0 in rear view)."""
        return int(self._st.cond[C_FACING])

    @property
    def swaps_repaired(self) -> int:
        return int(self._st.cond[C_NSWAPS])

    @property
    def leg_length_px(self) -> float:
        return float(self._st.cond[C_LEGLEN])

    @property
    def hidden_legs(self) -> tuple[Leg, ...]:
        """Legs whose contacts are timed from the body (their foot is not seen landing)."""
        return tuple(LEGS[g] for g in (0, 1) if self._st.fuse_leg[g, U_HIDDEN] == 1.0)

    @property
    def event_delay_s(self) -> float:
        """Median delay from an initial contact to the frame that reported it."""
        d = [e.t_detected_s - e.t_s for e in self._events if e.kind == "IC"]
        return float(np.median(d)) if d else math.nan

    @property
    def live(self) -> LiveState:
        """Current knee height / thigh flexion from the smoothed landmarks (for display)."""
        cs = self._st.cond
        if not cs[C_HAS_POSE]:
            return LiveState(self._t, False, facing=self.facing)
        facing = self.facing
        sm = cs[C_OE_X:C_OE_X + 24]
        best_h = math.nan
        best_f = math.nan
        for leg in (0, 1):
            hx, hy = sm[2 * leg], sm[2 * leg + 1]
            kx, ky = sm[2 * (2 + leg)], sm[2 * (2 + leg) + 1]
            thigh = cs[C_THIGH + leg]
            if thigh > 0:
                kh = (hy - ky) / thigh * 100.0
                if kh == kh and not kh <= best_h:
                    best_h = kh
            if self._is_side and facing != 0:
                f = math.degrees(math.atan2(facing * (kx - hx), ky - hy))
                if f == f and not f <= best_f:
                    best_f = f
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
    if stream.foot_flow is None:
        flows = np.full((n, 2, 4), np.nan, np.float32)
    else:
        flows = np.ascontiguousarray(stream.foot_flow, dtype=np.float32)
    ts = np.ascontiguousarray(stream.t, dtype=np.float64)
    out_ev = np.zeros((max(16, n * 3), N_EV_COLS))
    out_frame = np.zeros((out_ev.shape[0], 4))
    if n:
        ga._valid_since = float(ts[0])
    m = F.frames_update(lms, flows, ts, ga._st, ga._ring, ga._prm, ga._lm_index, out_ev,
                        out_frame)
    steps: list[Step] = []
    i = 0
    facing = ga._ring[:n, 39] if n else np.zeros(0)
    while i < m:
        j = i
        fi = int(out_frame[i, 0])
        while j < m and int(out_frame[j, 0]) == fi:
            j += 1
        fc = float(facing[fi]) if facing[fi] == facing[fi] else 0.0
        scale = _Scale(float(out_frame[i, 1]), (float(out_frame[i, 2]), float(out_frame[i, 3])),
                       fc)
        steps += ga._on_events(out_ev[i:j], float(ts[fi]), fi + 1, scale)
        i = j
    if n:
        ga._t = float(ts[-1])
    ga._new_swings = []
    steps += ga.finish()
    return steps, ga


def warmup() -> None:
    """Call every numba kernel once (compile, or load the on-disk cache) before capture."""
    from realtime.metrics.condition import one_euro_filter
    from realtime.metrics.fit import line_crossing, local_value, quad_peak, quantile

    cfg = MetricsConfig()
    ga = GaitAnalyzer(cfg, "side", (640, 480))
    lm = np.zeros((N_LANDMARKS, 4), np.float32)
    lm[:, 0] = 0.5
    lm[:, 1] = np.linspace(0.1, 0.9, N_LANDMARKS, dtype=np.float32)
    lm[:, 3] = 1.0
    flow = np.zeros((2, 4), np.float32)
    for i in range(3):
        ga.update(i / 30.0, lm, flow)
    out = np.empty(S.N_OUT)
    S.step_metrics(ga._ring, 3, 0.0, 0.05, math.nan, math.nan, 0, 1.0, True, 100.0, 200.0,
                   0.07, 0.04, 0.1, out)
    S.step_metrics(ga._ring, 3, 0.0, 0.05, 0.0, 0.02, 0, 1.0, False, 100.0, 200.0,
                   0.07, 0.04, 0.1, out)
    st = F.new_state()
    F.frames_update(lm[None], flow[None], np.zeros(1), st, np.full((2, N_RING_COLS), np.nan),
                    ga._prm, ga._lm_index, np.zeros((4, N_EV_COLS)), np.zeros((4, 4)))
    one_euro_filter(np.zeros(3), np.arange(3.0), 1.0, 1.0, 0.0, 1.0, 1.0)
    quad_peak(np.arange(5.0), np.zeros(5), 0, 4, 2, 1.0)
    local_value(np.arange(5.0), np.zeros(5), 2.0, 2)
    line_crossing(np.arange(4.0), np.arange(4.0), 0, 3, 1.5)
    quantile(np.arange(4.0), 4, 0.5)
