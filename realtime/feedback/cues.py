"""Cue rules: per-step metrics -> at most one spoken cue per step.

Pure functions on frozen state, no I/O and no clock reads: the caller passes the step's
stream time `t_s`, so a recorded session replays to the same cues and the rules are
tested as tables.  Usage (worker thread)::

    state = CueState()
    for step in analyzer.update(t_s, landmarks):
        state, cues = decide(state, step, t_s, cfg.cues, silent=..., cadence_spm=analyzer_cadence)
    for swing in analyzer.pop_swings():
        state, cues = decide_swing(state, swing, t_s, cfg.cues, silent=...)

Why each rule exists:
- confidence gating: a NaN or unreliable metric (`Step.unreliable`, `Swing.reliable`) or
  a low-confidence step never produces a cue (saying nothing beats a wrong cue); it does
  not count towards hysteresis either.
- knee drive is judged per swing (`decide_swing`), as soon as the swing's peak is final
  (~0.1 s after it), not when the step ends; the other faults per step (`decide`).
- cadence is the metrics stage's current cadence (the last whole strides; one
  definition, `realtime.metrics.cadence`), passed in by the caller.
- hysteresis (N of the last M reliable steps): one odd step must not trigger a cue.
- per-kind cooldown: the runner needs time to act on a cue before hearing it again.
- global rate limit: a step lasts ~0.35 s and a phrase ~0.8 s, so at most one cue per
  `min_gap_s`; one cue per step, the highest priority (the drill's focus first).
- schedules (gait-retraining literature, e.g. faded feedback as in Crowell & Davis 2011,
  bandwidth feedback as in motor-learning reviews): "continuous" cues every confirmed
  fault; "faded" withholds a growing share over the drill and across sessions so the
  runner stops depending on the cue; "bandwidth" cues only faults outside a tolerance band.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from realtime.config import CUE_KINDS, CuesConfig, DrillConfig
from realtime.types import Cue, Step, Swing

Zone = Literal["good", "near", "bad", "none"]

CORRECTIVE: tuple[str, ...] = CUE_KINDS[:-1]
POSITIVE = "good_knee"
PRIORITY: dict[str, int] = {k: len(CUE_KINDS) - i for i, k in enumerate(CUE_KINDS)}
_NEVER = -math.inf


def _finite(x: float) -> bool:
    return x is not None and math.isfinite(x)


def zone(value: float, target: float, band: float, higher_is_better: bool) -> Zone:
    """Where `value` sits against a target: good (met), near (within band), bad, none (NaN).

    Shared by the rules (bandwidth schedule) and the display's gauge colours, so what the
    runner sees red is what the bandwidth schedule would cue.
    """
    if not _finite(value):
        return "none"
    miss = (target - value) if higher_is_better else (value - target)
    if miss <= 0.0:
        return "good"
    return "near" if miss <= band else "bad"


def knee_zone(knee_drive_deg: float, cfg: CuesConfig) -> Zone:
    return zone(knee_drive_deg, cfg.knee_drive_target_deg, cfg.knee_drive_band_deg, True)


def sway_zone(hip_sway_pct: float, cfg: CuesConfig) -> Zone:
    return zone(hip_sway_pct, cfg.hip_sway_limit_pct, cfg.hip_sway_band_pct, False)


def cadence_zone(cadence_spm: float, cfg: CuesConfig) -> Zone:
    return zone(cadence_spm, cfg.cadence_target_spm, cfg.cadence_band_spm, True)


def _worst(*zones: Zone) -> Zone:
    for z in ("bad", "near", "good"):
        if z in zones:
            return z  # type: ignore[return-value]
    return "none"


def _value(step: Step, name: str) -> float:
    """The metric if it was measured and can be trusted, else NaN (zone 'none')."""
    return getattr(step, name) if step.reliable(name) else math.nan


def step_zones(step: Step, cfg: CuesConfig) -> dict[str, Zone]:
    """The zone of each corrective kind for one step (also used by the history strip);
    an unreliable metric is in zone 'none'."""
    return {
        "knee_drive": knee_zone(_value(step, "knee_drive_deg"), cfg),
        "level_hips": _worst(
            sway_zone(_value(step, "hip_sway_pct"), cfg),
            zone(_value(step, "pelvic_drop_deg"), cfg.pelvic_drop_limit_deg,
                 cfg.pelvic_drop_band_deg, False),
        ),
        "overstride": zone(
            _value(step, "overstride_pct"), cfg.overstride_limit_pct, cfg.overstride_band_pct,
            False,
        ),
        "cadence": cadence_zone(_value(step, "cadence_spm"), cfg),
    }


KNEE_KINDS = ("knee_drive", "good_knee")  # judged per swing, not per step


def cue_resolved(cue: Cue, knee_drive_deg: float, steps: Sequence[Step], cadence_spm: float,
                 cfg: CuesConfig) -> bool:
    """A cue whose words no longer fit: a corrective cue whose metric now reads good (the
    newest knee drive, the gauge's value; the current cadence; for the other kinds the
    newest step measured after the cue), or praise whose knee drive no longer meets the
    target.  The display then stops showing the cue's words before `cue_show_s`, so a
    green gauge is never captioned "drive the knee", nor a red one "good knee drive"."""
    if cue.positive:
        return knee_zone(knee_drive_deg, cfg) in ("near", "bad")
    if cue.kind not in CORRECTIVE:
        return False
    if cue.kind == "knee_drive":
        return knee_zone(knee_drive_deg, cfg) == "good"
    if cue.kind == "cadence":
        return cadence_zone(cadence_spm, cfg) == "good"
    t_cue = cue.t_ns * 1e-9
    for s in reversed(steps):
        if s.t_detected_s <= t_cue:
            break
        z = step_zones(s, cfg)[cue.kind]
        if z != "none":
            return z == "good"
    return False


def _verdicts(step: Step, cfg: CuesConfig, cadence_spm: float) -> dict[str, bool | None]:
    """kind -> True (fault), False, or None (not measured or not trusted); knee kinds are
    None here (decide_swing judges them)."""
    bad_zones = ("bad",) if cfg.schedule == "bandwidth" else ("bad", "near")
    out: dict[str, bool | None] = {}
    zones = step_zones(step, cfg)
    zones["cadence"] = cadence_zone(cadence_spm, cfg)
    for kind in CORRECTIVE:
        z = zones[kind]
        out[kind] = None if z == "none" or kind in KNEE_KINDS else z in bad_zones
    out[POSITIVE] = None
    return out


def _swing_verdicts(swing: Swing, cfg: CuesConfig) -> dict[str, bool | None]:
    """knee_drive: fault?  good_knee: target met?  (None if the swing is not trusted)."""
    out: dict[str, bool | None] = dict.fromkeys(CUE_KINDS)
    if not swing.reliable:
        return out
    bad_zones = ("bad",) if cfg.schedule == "bandwidth" else ("bad", "near")
    z = knee_zone(swing.knee_drive_deg, cfg)
    if z != "none":
        out["knee_drive"] = z in bad_zones
        out[POSITIVE] = z == "good"
    return out


@dataclass(frozen=True, slots=True)
class CueState:
    """Everything the rules remember between steps (immutable; `decide` returns a new one).

    `history[i]` holds the verdicts of kind CUE_KINDS[i] over the last M reliable steps.
    """

    history: tuple[tuple[bool, ...], ...] = tuple(() for _ in CUE_KINDS)
    last_cue_s: tuple[float, ...] = tuple(_NEVER for _ in CUE_KINDS)
    last_spoken_s: float = _NEVER
    last_step_s: float = _NEVER
    fade_credit: float = 0.0
    withheld: int = 0  # faded schedule: cues decided but deliberately not given


def fade_keep(t_s: float, cfg: CuesConfig) -> float:
    """Share of confirmed cues actually given at stream time `t_s` (1.0 unless faded)."""
    if cfg.schedule != "faded":
        return 1.0
    keep = 1.0 - cfg.fade_per_session * cfg.session_index - cfg.fade_per_min * (t_s / 60.0)
    return min(1.0, max(cfg.fade_min_keep, keep))


def decide(
    state: CueState, step: Step, t_s: float, cfg: CuesConfig, *, silent: bool = False,
    cadence_spm: float = math.nan,
) -> tuple[CueState, list[Cue]]:
    """Update the rules with one completed step; return the new state and 0 or 1 cue.

    `t_s` is the stream time at which the step became known (its t_detected_s in a live
    run); the cue's `t_ns` is that time in ns.  `cadence_spm` is the runner's current
    cadence (the metrics stage's `current_cadence_spm`).  `silent` (a recovery or
    cool-down phase) keeps the history up to date but says nothing.
    """
    if not (step.confidence >= cfg.min_confidence):
        return _age(state, t_s, cfg), []
    return _observe(state, _verdicts(step, cfg, cadence_spm), t_s, cfg, silent)


def decide_swing(
    state: CueState, swing: Swing, t_s: float, cfg: CuesConfig, *, silent: bool = False
) -> tuple[CueState, list[Cue]]:
    """Update the knee-drive rules with one swing whose peak just became final."""
    return _observe(state, _swing_verdicts(swing, cfg), t_s, cfg, silent)


def _age(state: CueState, t_s: float, cfg: CuesConfig) -> CueState:
    if t_s - state.last_step_s > cfg.reset_after_s:
        # the runner left or tracking broke: start afresh
        return dataclasses.replace(state, history=tuple(() for _ in CUE_KINDS))
    return state


def _observe(state: CueState, verdicts: dict[str, bool | None], t_s: float, cfg: CuesConfig,
             silent: bool) -> tuple[CueState, list[Cue]]:
    """Hysteresis, cooldowns, rate limit and schedule over one observation's verdicts."""
    state = _age(state, t_s, cfg)
    history = list(state.history)
    m = cfg.window_steps
    for i, kind in enumerate(CUE_KINDS):
        v = verdicts[kind]
        if v is not None:
            history[i] = (*history[i], v)[-m:]
    state = dataclasses.replace(state, history=tuple(history), last_step_s=t_s)
    if silent:
        return state, []

    candidates: list[str] = []
    for i, kind in enumerate(CUE_KINDS):
        if sum(history[i]) < cfg.trigger_steps:
            continue
        cooldown = cfg.positive_cooldown_s if kind == POSITIVE else cfg.cooldown_s
        if t_s - state.last_cue_s[i] < cooldown:
            continue
        if kind == POSITIVE:
            # Praise only when no fault is confirmed, so it never contradicts a correction.
            faults = any(sum(history[CUE_KINDS.index(k)]) >= cfg.trigger_steps
                         for k in CORRECTIVE)
            if not cfg.positive or faults:
                continue
        candidates.append(kind)
    if not candidates:
        return state, []
    if t_s - state.last_spoken_s < cfg.min_gap_s:
        return state, []  # rate limit: the history stays, so it fires once allowed

    kind = max(candidates, key=PRIORITY.__getitem__)
    i = CUE_KINDS.index(kind)
    history[i] = ()  # a repeat needs fresh evidence after this decision
    last_cue = list(state.last_cue_s)
    last_cue[i] = t_s
    credit = state.fade_credit + fade_keep(t_s, cfg)
    state = dataclasses.replace(state, history=tuple(history), last_cue_s=tuple(last_cue))
    if credit < 1.0 - 1e-9:
        # Faded: a deliberate no-feedback trial; the cooldown still applies so the same
        # fault is not simply cued one step later.
        return dataclasses.replace(state, fade_credit=credit, withheld=state.withheld + 1), []
    state = dataclasses.replace(state, fade_credit=credit - 1.0, last_spoken_s=t_s)
    cue = Cue(kind, cfg.phrase(kind), PRIORITY[kind], round(t_s * 1e9), kind == POSITIVE)
    return state, [cue]


# --------------------------------------------------------------------------- thresholds

THRESHOLD_KEYS: tuple[str, ...] = ("knee_drive_target_deg", "hip_sway_limit_pct")


def apply_threshold_change(cfg: CuesConfig, key: str, delta: float) -> CuesConfig:
    """A therapist hotkey: move one threshold by `delta`, clamped to its config range."""
    f = {x.name: x for x in dataclasses.fields(CuesConfig)}[key]
    lo, hi = f.metadata.get("min"), f.metadata.get("max")
    value = getattr(cfg, key) + delta
    if lo is not None:
        value = max(lo, value)
    if hi is not None:
        value = min(hi, value)
    return dataclasses.replace(cfg, **{key: round(value, 3)})


# --------------------------------------------------------------------------- drill phases


@dataclass(frozen=True, slots=True)
class Phase:
    """Where a session stands in its drill plan (for the display and for silencing)."""

    name: str  # warm-up, drill, recovery, cool-down, done
    label: str  # what the display shows, e.g. "drill 2/4"
    elapsed_s: float  # in this phase
    remaining_s: float  # in this phase (inf for an open-ended drill)
    silent: bool  # no cues in this phase

    @property
    def text(self) -> str:
        """What the display's top bar shows, e.g. "drill 2/4  1:05 left"."""
        if math.isinf(self.remaining_s):
            return self.label
        left = max(0, math.ceil(self.remaining_s))
        return f"{self.label}  {left // 60}:{left % 60:02d} left"


def phase_at(t_s: float, cfg: DrillConfig) -> Phase:
    """The drill phase at session time `t_s` (seconds since the session's first frame):
    warm-up, baseline, blocks and recoveries, retest, cool-down, done."""
    t = max(0.0, t_s)

    def mk(name: str, label: str, start: float, dur: float) -> Phase:
        return Phase(name, label, t - start, start + dur - t, name in cfg.silent_phases)

    start = 0.0
    for name, dur in (("warm-up", cfg.warmup_s), ("baseline", cfg.baseline_s)):
        if t < start + dur:
            return mk(name, name, start, dur)
        start += dur
    if cfg.blocks == 0:
        return mk("drill", "drill", start, math.inf)
    for b in range(cfg.blocks):
        if t < start + cfg.block_s:
            return mk("drill", f"drill {b + 1}/{cfg.blocks}", start, cfg.block_s)
        start += cfg.block_s
        if b < cfg.blocks - 1 and cfg.rest_s > 0:
            if t < start + cfg.rest_s:
                return mk("recovery", f"recovery {b + 1}/{cfg.blocks - 1}", start, cfg.rest_s)
            start += cfg.rest_s
    for name, dur in (("retest", cfg.retest_s), ("cool-down", cfg.cooldown_s)):
        if t < start + dur:
            return mk(name, name, start, dur)
        start += dur
    return mk("done", "done", start, math.inf)


def phase_spans(cfg: DrillConfig, until_s: float) -> list[tuple[str, float, float]]:
    """(phase name, start, end) in session time up to `until_s`, adjacent recoveries and
    blocks kept apart (reports shade them)."""
    spans: list[tuple[str, float, float]] = []
    t = 0.0
    while t < until_s:
        p = phase_at(t, cfg)
        end = min(until_s, t + p.remaining_s)
        spans.append((p.name, t, end))
        if math.isinf(p.remaining_s) or end <= t:
            break
        t = end
    return spans


class PlanClock:
    """The drill plan on a stream's own clock: phase times count from the first frame,
    and stand still while the runner is away.

    `start` is called with every frame's time and keeps the first (Session.process);
    before any frame, times count from 0.  `pause`/`resume` (the runner left the picture
    and came back) stop the plan's time, so a drill block is not used up by an empty
    treadmill.  Shared by a session's cameras (the side's clock) and by the writers that
    label each step and cue with its phase.
    """

    def __init__(self, drill: DrillConfig) -> None:
        self.drill = drill
        self.t0_s: float | None = None
        self._pauses: list[tuple[float, float]] = []  # (start, end) in stream time
        self._paused_at: float | None = None

    def start(self, t_s: float) -> None:
        if self.t0_s is None:
            self.t0_s = t_s

    def pause(self, t_s: float) -> None:
        if self._paused_at is None:
            self._paused_at = t_s

    def resume(self, t_s: float) -> None:
        if self._paused_at is not None:
            self._pauses.append((self._paused_at, max(t_s, self._paused_at)))
            self._paused_at = None

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    @property
    def pauses(self) -> tuple[tuple[float, float], ...]:
        """The finished pauses, (start, end) in stream time."""
        return tuple(self._pauses)

    def plan_time(self, t_s: float) -> float:
        """Seconds of the plan done at stream time `t_s` (paused stretches left out)."""
        pauses = list(self._pauses)
        if self._paused_at is not None:
            pauses.append((self._paused_at, math.inf))
        away = sum(max(0.0, min(t_s, b) - a) for a, b in pauses if a < t_s)
        return t_s - (self.t0_s or 0.0) - away

    def at(self, t_s: float) -> Phase:
        return phase_at(self.plan_time(t_s), self.drill)

    def name_at(self, t_s: float) -> str:
        return self.at(t_s).name
