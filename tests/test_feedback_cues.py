"""Cue rules as tables: a sequence of per-step metrics -> the cues expected, step by step.

Knee drive is judged per swing (`decide_swing`), everything else per step (`decide`), so
the table runner hands each row to both, as the session does: the row's knee drive as
the swing that ended in that step, the row as the step."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest

from realtime.config import Config, CuesConfig, DrillConfig, build, load_config
from realtime.errors import ConfigError
from realtime.feedback.cues import (
    CueState,
    apply_threshold_change,
    decide,
    decide_swing,
    fade_keep,
    knee_zone,
    phase_at,
)
from realtime.metrics.cadence import recent_cadence_spm
from realtime.types import Step, Swing

NAN = math.nan
STEP_S = 0.35
GOOD = {"knee_drive_deg": 60.0, "hip_sway_pct": 2.0, "overstride_pct": 5.0, "cadence_spm": 172.0}


def mk(conf: float = 0.9, **metrics: object) -> Step:
    return Step("L", 0.0, **{**GOOD, **metrics}, confidence=conf)  # type: ignore[arg-type]


LOW_KNEE = mk(knee_drive_deg=40.0)
HIPS = mk(hip_sway_pct=7.0)
DROP = mk(pelvic_drop_deg=12.0)
OVER = mk(overstride_pct=25.0)
SLOW = mk(cadence_spm=150.0)
OK = mk()
NEAR_KNEE = mk(knee_drive_deg=52.0)  # inside the 5 deg band below the 55 deg target
NAN_KNEE = mk(knee_drive_deg=NAN)
UNSURE = mk(conf=0.2, knee_drive_deg=40.0)


def swing_of(step: Step, cfg: CuesConfig, t: float) -> Swing:
    """The swing a row stands for: trusted when the row's knee drive is (and the row is
    confident, as a well-seen swing would be)."""
    ok = step.reliable("knee_drive_deg") and step.confidence >= cfg.min_confidence
    return Swing(step.leg, t, step.knee_drive_deg, math.nan, ok, t)


def observe(state: CueState, step: Step, t: float, cfg: CuesConfig, silent: bool = False
            ) -> tuple[CueState, list]:
    """One row: its swing, then its step (a swing's peak comes before the contact that
    ends its step; the current cadence = the row's)."""
    state, a = decide_swing(state, swing_of(step, cfg, t), t, cfg, silent=silent)
    state, b = decide(state, step, t, cfg, silent=silent, cadence_spm=step.cadence_spm)
    return state, a + b


def run(steps: list[Step], cfg: CuesConfig, dt: float = STEP_S, silent: bool = False
        ) -> list[str]:
    """Kinds cued at each step ("" = nothing), stream time advancing dt per step."""
    state = CueState()
    out = []
    for i, s in enumerate(steps):
        state, cues = observe(state, s, 1.0 + i * dt, cfg, silent=silent)
        assert len(cues) <= 1
        out.append(cues[0].kind if cues else "")
    return out


# The tables were written for these thresholds; pin them so a change of the shipped
# defaults does not silently change what the tables test.
PINNED = {"knee_drive_target_deg": 55.0, "overstride_limit_pct": 12.0,
          "overstride_band_pct": 3.0}
BASE = CuesConfig(positive=False, **PINNED)


def at(n: int, kind: str, total: int) -> list[str]:
    return ["" if i != n else kind for i in range(total)]


CASES = [
    # name, steps, cfg, expected kinds per step
    ("3 of 4 bad knees cue on the third", [LOW_KNEE] * 3, BASE, at(2, "knee_drive", 3)),
    ("one odd step says nothing", [LOW_KNEE, OK, OK, LOW_KNEE, OK, OK], BASE, [""] * 6),
    ("2 bad within 4 is not enough", [LOW_KNEE, OK, LOW_KNEE, OK, OK], BASE, [""] * 5),
    ("3 bad within a window of 4", [LOW_KNEE, OK, LOW_KNEE, LOW_KNEE], BASE,
     at(3, "knee_drive", 4)),
    ("hip sway", [HIPS] * 3, BASE, at(2, "level_hips", 3)),
    ("pelvic drop also means level hips", [DROP] * 3, BASE, at(2, "level_hips", 3)),
    ("overstride", [OVER] * 3, BASE, at(2, "overstride", 3)),
    ("low cadence", [SLOW] * 3, BASE, at(2, "cadence", 3)),
    ("all fine: silence without praise", [OK] * 8, BASE, [""] * 8),
    ("low confidence is never cued", [UNSURE] * 8, BASE, [""] * 8),
    ("NaN knee drive is never cued", [NAN_KNEE] * 8, BASE, [""] * 8),
    ("an unreliable knee drive is never cued",
     [mk(knee_drive_deg=40.0, unreliable=frozenset({"knee_drive_deg"}))] * 8, BASE, [""] * 8),
    ("an unreliable overstride is never cued",
     [mk(overstride_pct=25.0, unreliable=frozenset({"overstride_pct"}))] * 8, BASE, [""] * 8),
    ("unsure steps do not count towards N", [LOW_KNEE, UNSURE, LOW_KNEE, UNSURE, LOW_KNEE],
     BASE, at(4, "knee_drive", 5)),
    ("near the target: continuous cues it", [NEAR_KNEE] * 3, BASE, at(2, "knee_drive", 3)),
    ("near the target: bandwidth stays quiet", [NEAR_KNEE] * 6,
     dataclasses.replace(BASE, schedule="bandwidth"), [""] * 6),
    ("outside the band: bandwidth cues", [LOW_KNEE] * 3,
     dataclasses.replace(BASE, schedule="bandwidth"), at(2, "knee_drive", 3)),
    ("praise when the knee target is met", [OK] * 3, CuesConfig(**PINNED), at(2, "good_knee", 3)),
]


def test_no_praise_while_a_fault_is_confirmed() -> None:
    cfg = CuesConfig(**PINNED)
    confirmed_hips = CueState(history=((), (True, True, True), (), (), (True, True)),
                              last_step_s=0.7)
    good = Swing("L", 1.0, 60.0, math.nan, True, 1.0)
    # the confirmed fault is cued instead (a swing's decision can say any confirmed kind)
    assert [c.kind for c in decide_swing(confirmed_hips, good, 1.0, cfg)[1]] == ["level_hips"]
    free = CueState(history=((), (), (), (), (True, True)), last_step_s=0.7)
    assert [c.kind for c in decide_swing(free, good, 1.0, cfg)[1]] == ["good_knee"]


@pytest.mark.parametrize(("name", "steps", "cfg", "expected"), CASES, ids=[c[0] for c in CASES])
def test_cue_table(name: str, steps: list[Step], cfg: CuesConfig, expected: list[str]) -> None:
    assert run(steps, cfg) == expected


def test_priority_knee_drive_before_hips_and_cadence() -> None:
    bad_all = mk(knee_drive_deg=40.0, hip_sway_pct=7.0, cadence_spm=150.0, overstride_pct=25.0)
    kinds = run([bad_all] * 40, BASE)
    spoken = [k for k in kinds if k]
    # The rate limit allows one at a time and the order follows the priorities; cooldowns
    # let lower priorities through, and the focus (knee) comes back as soon as its cooldown
    # ends (8 s), ahead of cadence: one thing at a time, the most important first.
    assert spoken[:5] == ["knee_drive", "level_hips", "overstride", "knee_drive", "level_hips"]
    # with a long knee/hips cooldown the lowest priority gets its turn
    slow = dataclasses.replace(BASE, cooldown_s=30.0)
    assert [k for k in run([bad_all] * 30, slow) if k] == [
        "knee_drive", "level_hips", "overstride", "cadence"]


def test_cooldown_per_kind_and_global_gap() -> None:
    cfg = dataclasses.replace(BASE, cooldown_s=5.0, min_gap_s=2.5)
    kinds = run([LOW_KNEE] * 40, cfg)  # 14 s of poor knee drive
    times = [1.0 + i * STEP_S for i, k in enumerate(kinds) if k]
    assert len(times) >= 2
    assert all(b - a >= 5.0 for a, b in itertools.pairwise(times))
    # and not much later than the cooldown + 3 fresh steps either
    assert all(b - a <= 5.0 + 4 * STEP_S for a, b in itertools.pairwise(times))


def test_rate_limit_holds_a_cue_until_the_gap_has_passed() -> None:
    cfg = dataclasses.replace(BASE, min_gap_s=2.5)
    both = [LOW_KNEE] * 3 + [mk(knee_drive_deg=40.0, hip_sway_pct=7.0)] * 10
    kinds = run([*both], cfg)
    i_knee, i_hips = kinds.index("knee_drive"), kinds.index("level_hips")
    assert (i_hips - i_knee) * STEP_S >= 2.5
    assert (i_hips - i_knee - 1) * STEP_S < 2.5  # ... and fires as soon as allowed


def test_history_resets_after_a_gap() -> None:
    state = CueState()
    cfg = BASE
    state, c1 = observe(state, LOW_KNEE, 1.0, cfg)
    state, c2 = observe(state, LOW_KNEE, 1.35, cfg)
    state, c3 = observe(state, LOW_KNEE, 10.0, cfg)  # runner stepped off for 8 s
    assert c1 == c2 == c3 == []
    state, c4 = observe(state, LOW_KNEE, 10.35, cfg)
    state, c5 = observe(state, LOW_KNEE, 10.7, cfg)
    assert c4 == [] and [c.kind for c in c5] == ["knee_drive"]


def test_silent_phase_says_nothing_but_keeps_history() -> None:
    state = CueState()
    for i in range(3):
        state, cues = observe(state, LOW_KNEE, 1.0 + i * STEP_S, BASE, silent=True)
        assert cues == []
    state, cues = observe(state, LOW_KNEE, 1.0 + 3 * STEP_S, BASE)
    assert [c.kind for c in cues] == ["knee_drive"]


def test_cue_record_carries_phrase_priority_and_time() -> None:
    cfg = load_config(overrides=['cues.phrases.knee_drive="knees up"',
                                 "cues.knee_drive_target_deg=55"]).cues
    state = CueState()
    for i in range(3):
        state, cues = observe(state, LOW_KNEE, 2.0 + i * STEP_S, cfg)
    (cue,) = cues
    assert (cue.kind, cue.text, cue.positive) == ("knee_drive", "knees up", False)
    assert cue.t_ns == round((2.0 + 2 * STEP_S) * 1e9)
    assert cue.priority > 0


def count_cues(cfg: CuesConfig, minutes: float) -> int:
    n = int(minutes * 60 / STEP_S)
    return sum(1 for k in run([LOW_KNEE] * n, cfg) if k)


def test_faded_gives_fewer_cues_than_continuous_and_fewer_in_later_sessions() -> None:
    cont = dataclasses.replace(BASE, cooldown_s=4.0)
    faded0 = dataclasses.replace(cont, schedule="faded", session_index=0)
    faded3 = dataclasses.replace(cont, schedule="faded", session_index=3)
    n_cont, n_f0, n_f3 = (count_cues(c, 6.0) for c in (cont, faded0, faded3))
    assert n_cont > n_f0 > n_f3 > 0


def test_fade_keep_reduces_over_time_and_sessions_with_a_floor() -> None:
    cfg = dataclasses.replace(BASE, schedule="faded", fade_per_min=0.1, fade_per_session=0.2,
                              fade_min_keep=0.25)
    assert fade_keep(0.0, cfg) == 1.0
    assert fade_keep(120.0, cfg) == pytest.approx(0.8)
    assert fade_keep(120.0, dataclasses.replace(cfg, session_index=1)) == pytest.approx(0.6)
    assert fade_keep(3600.0, cfg) == 0.25
    assert fade_keep(3600.0, BASE) == 1.0  # continuous never fades


def test_threshold_hotkeys_change_the_zone_and_are_clamped() -> None:
    cfg = CuesConfig(knee_drive_target_deg=55.0)
    assert knee_zone(56.0, cfg) == "good"
    up = apply_threshold_change(cfg, "knee_drive_target_deg", +2.0)
    assert up.knee_drive_target_deg == 57.0 and knee_zone(56.0, up) == "near"
    assert apply_threshold_change(cfg, "knee_drive_target_deg", 1e6).knee_drive_target_deg == 120
    assert apply_threshold_change(cfg, "hip_sway_limit_pct", -1e6).hip_sway_limit_pct == 0.0


@pytest.mark.parametrize(
    ("t", "label", "silent"),
    [(0.0, "warm-up", True), (119.9, "warm-up", True), (120.0, "baseline", True),
     (179.9, "baseline", True), (180.0, "drill 1/4", False), (310.0, "recovery 1/3", True),
     (360.0, "drill 2/4", False), (800.0, "drill 4/4", False), (840.0, "retest", True),
     (900.0, "cool-down", True), (1020.0, "done", True)],
)
def test_phase_at(t: float, label: str, silent: bool) -> None:
    """The default plan: warm-up 2 min, baseline 1, 4 x (2 min drill, 1 min recovery),
    retest 1, cool-down 2; cues only in the drill blocks."""
    p = phase_at(t, DrillConfig())
    assert (p.label, p.silent) == (label, silent)
    assert p.elapsed_s >= 0 and p.remaining_s > 0


def test_phase_text_counts_down() -> None:
    assert phase_at(190.0, DrillConfig()).text == "drill 1/4  1:50 left"
    assert phase_at(1e4, DrillConfig()).text == "done"


def test_phase_spans_cover_the_plan_in_order() -> None:
    from realtime.feedback.cues import phase_spans

    spans = phase_spans(DrillConfig(), 2000.0)
    assert [s[0] for s in spans] == ["warm-up", "baseline", "drill", "recovery", "drill",
                                     "recovery", "drill", "recovery", "drill", "retest",
                                     "cool-down", "done"]
    assert all(a[2] == b[1] for a, b in itertools.pairwise(spans))
    assert spans[-1][2] == 2000.0


def test_plan_clock_counts_from_the_first_frame() -> None:
    from realtime.feedback.cues import PlanClock

    plan = PlanClock(DrillConfig(warmup_s=10, baseline_s=10))
    plan.start(100.0)
    plan.start(105.0)  # later frames do not move the origin
    assert plan.name_at(109.0) == "warm-up" and plan.name_at(115.0) == "baseline"
    assert plan.name_at(121.0) == "drill"


def test_the_retest_is_always_silent() -> None:
    with pytest.raises(ConfigError, match="retest"):
        build(DrillConfig, {"silent_phases": ["warm-up"]}, "drill.")
    with pytest.raises(ConfigError, match=r"drill.silent_phases\[1\]"):
        build(DrillConfig, {"silent_phases": ["retest", "warmup"]}, "drill.")


def test_open_ended_drill() -> None:
    p = phase_at(1e5, DrillConfig(warmup_s=0.0, blocks=0))
    assert p.label == "drill" and p.remaining_s == math.inf


@pytest.mark.parametrize(
    ("data", "message"),
    [({"cues": {"schedule": "sometimes"}}, "cues.schedule"),
     ({"cues": {"trigger_steps": 5, "window_steps": 3}}, "trigger_steps"),
     ({"cues": {"phrases": {"knees": "up"}}}, "cues.phrases.knees"),
     ({"cues": {"phrases": {"knee_drive": 3}}}, "cues.phrases"),
     ({"cues": {"min_gap_s": -1}}, "cues.min_gap_s"),
     ({"speech": {"mode": "loud"}}, "speech.mode"),
     ({"tones": {"mode": "beep"}}, "tones.mode")],
)
def test_config_errors_name_the_key(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build(Config, data)


def test_default_profile_loads_and_a_partial_phrase_table_keeps_defaults() -> None:
    cfg = load_config(profile="default")
    # the shipped default profile is a template: it spells out the built-in defaults
    base = Config()
    for section in ("cues", "drill", "speech", "display", "tones"):
        assert getattr(cfg, section) == getattr(base, section), section
    part = load_config(overrides=['cues.phrases.cadence="faster feet"']).cues
    assert part.phrase("cadence") == "faster feet"
    assert part.phrase("level_hips") == "level hips"


def _chain(cadences: list[float], t0: float = 1.0) -> list[Step]:
    """Contiguous steps (each starts where the previous ended) with these cadences."""
    out, t = [], t0
    for i, c in enumerate(cadences):
        out.append(Step("LR"[i % 2], t, **{**GOOD, "cadence_spm": c}, confidence=0.9))
        t += 60.0 / c
    return out


def test_cadence_cue_uses_the_current_cadence_over_whole_strides() -> None:
    # real video: far-leg contacts timed late make step cadences alternate 150/190 for a
    # runner at ~168 steps/min; per step, every second step would look slow
    cfg = CuesConfig(positive=False, cadence_target_spm=165.0, cadence_band_spm=0.0)

    def cues_for(steps: list[Step]) -> list[str]:
        state, kinds = CueState(), []
        for i, s in enumerate(steps):
            cad = recent_cadence_spm(steps[: i + 1], 2)  # what the metrics stage passes
            state, cues = decide(state, s, s.t_contact_s, cfg, cadence_spm=cad)
            kinds += [c.kind for c in cues]
        return kinds

    alternating = _chain([150.0, 190.0] * 6)
    assert recent_cadence_spm(alternating[:4], 2) == pytest.approx(167.6, abs=0.1)
    assert "cadence" not in cues_for(alternating)
    assert cues_for(_chain([150.0] * 6)) == ["cadence"]  # really slow: cued
    # an unreliable cadence is never judged
    unsure = [dataclasses.replace(s, unreliable=frozenset({"cadence_spm"}))
              for s in _chain([150.0] * 6)]
    assert cues_for(unsure) == []
