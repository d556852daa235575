"""The analyzer on synthetic runners whose answers are known by construction.

The synthetic runner is kinematic, not a real runner: its ankle settles onto the belt
differently from the force-plate runners', so its event delays are fitted here the way
`realtime.validation.calibrate` fits them on force (the median of detected minus true),
on a stream of its own; these tests check mechanics, never accuracy claims."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from realtime.config import MetricsConfig
from realtime.metrics import GaitAnalyzer, analyze_stream, summarize, write_steps_csv
from realtime.metrics.layout import ANKLE, KNEE, R_XY
from realtime.synthetic import synthetic_run
from realtime.types import STEP_COLUMNS, Step


def _fitted_config() -> MetricsConfig:
    """The shipped config with the contact and toe-off delays fitted to the synthetic
    runner's touch-down and lift-off (the calibration's method, on a separate seed)."""
    from dataclasses import replace

    base = replace(MetricsConfig(), contact_delay_s=0.0, toe_off_delay_s=0.0)
    ps, truth = synthetic_run(30.0, 30.0, noise_px=1.0, seed=99)
    _, ga = analyze_stream(ps, base)
    tt = np.array([t.t_contact_s for t in truth])
    ics = [e.t_s for e in ga.events if e.kind == "IC" and e.source == "foot"]
    d_ic = float(np.median([t - tt[np.argmin(np.abs(tt - t))] for t in ics]))
    to_true = tt + 0.36 * 2 * 60.0 / 170.0  # duty factor x stride after each contact
    tos = [e.t_s for e in ga.events if e.kind == "TO"]
    d_to = float(np.median([t - to_true[np.argmin(np.abs(to_true - t))] for t in tos]))
    return replace(MetricsConfig(), contact_delay_s=d_ic, toe_off_delay_s=-d_to)


CFG = _fitted_config()


def _match(steps: list[Step], truth: list[Step], tol: float = 0.05) -> list[tuple[Step, Step]]:
    tt = np.array([s.t_contact_s for s in truth])
    out = []
    for s in steps:
        i = int(np.argmin(np.abs(tt - s.t_contact_s)))
        if abs(tt[i] - s.t_contact_s) < tol and truth[i].leg == s.leg:
            out.append((s, truth[i]))
    return out


def _err(pairs: list[tuple[Step, Step]], name: str) -> float:
    e = [getattr(s, name) - getattr(t, name) for s, t in pairs]
    return float(np.nanmedian(np.abs(e)))


@pytest.mark.parametrize("facing", [-1, 1])
def test_side_view_constructed_answers(facing: int) -> None:
    ps, truth = synthetic_run(20.0, 30.0, view="side", facing=facing, noise_px=1.0,
                              knee_drive_deg=50.0, overstride_pct=10.0)
    steps, ga = analyze_stream(ps, CFG)
    assert ga.facing == facing
    pairs = _match(steps, truth)
    assert len(pairs) >= 0.95 * len(truth)
    assert len(steps) - len(pairs) <= 1  # at most a start-up step before floors settle
    ic = [s.t_contact_s - t.t_contact_s for s, t in pairs]
    assert np.mean(np.abs(ic)) < 0.012
    assert np.median([s.cadence_spm for s in steps]) == pytest.approx(170.0, rel=0.005)
    assert _err(pairs, "knee_drive_deg") < 2.0
    assert _err(pairs, "knee_height_pct") < 3.0
    # the synthetic knee starts to bend abruptly at touch-down: a kink that the contact
    # parabola rounds off (the motion-capture knees bend smoothly: 1.4 deg there)
    assert _err(pairs, "knee_flexion_ic_deg") < 4.0
    assert _err(pairs, "overstride_pct") < 3.0
    assert _err(pairs, "trunk_lean_deg") < 1.0
    assert _err(pairs, "vertical_oscillation_pct") < 2.0
    for s, _ in pairs:
        assert math.isnan(s.hip_sway_pct) and math.isnan(s.pelvic_drop_deg)


def test_rear_view_constructed_answers() -> None:
    ps, truth = synthetic_run(20.0, 30.0, view="rear", noise_px=1.0, hip_sway_pct=4.0,
                              pelvic_drop_deg=6.0)
    steps, ga = analyze_stream(ps, CFG)
    assert ga.facing == 0
    pairs = _match(steps, truth)
    assert len(pairs) >= 0.95 * len(truth)
    assert _err(pairs, "pelvic_drop_deg") < 1.5
    assert _err(pairs, "hip_sway_pct") < 1.0
    for s, _ in pairs:
        assert math.isnan(s.knee_drive_deg) and math.isnan(s.overstride_pct)


def test_knee_drive_schedule_is_tracked() -> None:
    """The demo's runner: poor knee drive that improves; the steps must show it."""
    ps, truth = synthetic_run(30.0, 30.0, knee_drive_deg=lambda t: 35.0 + t, noise_px=1.0)
    steps, _ = analyze_stream(ps, CFG)
    pairs = _match(steps, truth)
    assert _err(pairs, "knee_drive_deg") < 2.0
    early = np.median([s.knee_drive_deg for s in steps if s.t_contact_s < 8])
    late = np.median([s.knee_drive_deg for s in steps if s.t_contact_s > 22])
    assert late - early > 15.0


def test_online_equals_batch_and_is_causal() -> None:
    ps, _ = synthetic_run(8.0, 30.0, noise_px=2.0, seed=3)
    batch, _ = analyze_stream(ps, CFG)
    ga = GaitAnalyzer(CFG, ps.view, ps.image_size)
    online: list[Step] = []
    for i in range(len(ps)):
        got = ga.update(float(ps.t[i]), ps.landmarks[i])
        for s in got:
            assert s.t_detected_s == float(ps.t[i])
            assert s.t_contact_s < s.t_detected_s
        online += got
    online += ga.finish()
    assert len(online) == len(batch) > 10
    assert [repr(s) for s in online] == [repr(s) for s in batch]  # NaN-safe, incl. t_detected


def test_swap_glitches_are_repaired() -> None:
    ps, truth = synthetic_run(20.0, 30.0, noise_px=1.0, swap_rate_hz=0.5, seed=1)
    _clean, _ = synthetic_run(20.0, 30.0, noise_px=1.0, seed=1)
    steps, ga = analyze_stream(ps, CFG)
    assert ga.swaps_repaired > 10
    pairs = _match(steps, truth)
    assert len(pairs) >= 0.9 * len(truth)
    assert _err(pairs, "knee_drive_deg") < 2.0
    # without repair the same glitches would corrupt the legs
    no_repair = MetricsConfig(swap_ratio=0.0)
    bad, ga_bad = analyze_stream(ps, no_repair)
    assert ga_bad.swaps_repaired == 0
    bad_pairs = _match(bad, truth)
    assert len(bad_pairs) < len(pairs) or _err(bad_pairs, "knee_drive_deg") > _err(
        pairs, "knee_drive_deg")


def test_no_step_across_a_long_gap_nor_on_frames_without_pose() -> None:
    gap = (6.0, 7.0)
    ps, truth = synthetic_run(14.0, 30.0, noise_px=1.0, gaps=[gap], dropout_rate=0.02,
                              seed=2)
    ga = GaitAnalyzer(CFG, ps.view, ps.image_size)
    steps: list[Step] = []
    for i in range(len(ps)):
        got = ga.update(float(ps.t[i]), ps.landmarks[i])
        if np.isnan(ps.landmarks[i, :, 0]).all():
            assert got == [], "a step emitted on a frame without a pose"
            assert not ga.live.has_pose
        steps += got
    for s in steps:
        t_end = s.t_contact_s + 60.0 / s.cadence_spm
        assert not (s.t_contact_s < gap[1] and t_end > gap[0]), s
    after = [s for s in steps if s.t_contact_s > gap[1]]
    assert len(after) > 0.8 * sum(1 for t in truth if t.t_contact_s > gap[1] + 0.5)


def test_live_state_and_outputs(tmp_path) -> None:
    ps, _ = synthetic_run(6.0, 30.0, knee_drive_deg=60.0)
    ga = GaitAnalyzer(CFG, "side", ps.image_size)
    steps: list[Step] = []
    flex = []
    for i in range(len(ps)):
        steps += ga.update(float(ps.t[i]), ps.landmarks[i])
        flex.append(ga.live.thigh_flexion_deg)
    live = ga.live
    assert live.has_pose and live.facing == -1 and live.t_s == float(ps.t[-1])
    assert np.nanmax(flex) == pytest.approx(60.0, abs=4.0)  # smoothed, so a bit lower
    path = write_steps_csv(tmp_path / "steps.csv", steps)
    rows = list(csv.reader(path.open()))
    assert tuple(rows[0]) == STEP_COLUMNS and len(rows) == len(steps) + 1
    assert rows[1][STEP_COLUMNS.index("hip_sway_pct")] == ""  # NaN -> empty
    summ = summarize(steps, frames=len(ps), frames_with_pose=ps.frames_with_pose, view="side",
                     event_delay_s=ga.event_delay_s, fps_processing=1000.0,
                     contacts=[(e.leg, e.t_s) for e in ga.events if e.kind == "IC"],
                     toe_offs=[(e.leg, e.t_s) for e in ga.events if e.kind == "TO"],
                     body_minima=ga.body_minima)
    assert summ["steps"] == len(steps) and summ["frames"] == len(ps)
    assert summ["cadence_spm"] == pytest.approx(170.0, rel=0.01)
    assert summ["metrics"]["knee_drive_deg"]["L"] is not None
    assert summ["metrics"]["hip_sway_pct"]["median"] is None
    # a contact is reported at its stance's lowest point of the body (0.1-0.25 s later)
    assert 0.0 < summ["event_delay_s"] < 0.3
    assert summ["gait"] == "running" and summ["reliable_steps"] >= 0.9 * len(steps)


def test_bad_input_is_rejected() -> None:
    ga = GaitAnalyzer(CFG, "side", (640, 480))
    with pytest.raises(ValueError):
        ga.update(0.0, np.zeros((17, 4), np.float32))
    with pytest.raises(ValueError):
        GaitAnalyzer(CFG, "front", (640, 480))  # type: ignore[arg-type]
    # float64 / non-contiguous input is converted, not refused
    lm = np.zeros((4, 33, 4))[1]
    assert ga.update(0.0, lm) == []


def test_a_far_foot_with_unreliable_heights_is_timed_from_the_body() -> None:
    """The far ankle's height jitters (hidden behind a treadmill console): its foot
    timing disagrees with the body's rhythm, so that leg is judged hidden and its
    contacts come from the body's lowest point minus the near leg's delay."""
    from dataclasses import replace

    ps, truth = synthetic_run(30.0, 30.0, noise_px=1.0, facing=-1, seed=4)
    lm = ps.landmarks.copy()
    jitter = np.random.default_rng(0).normal(0.0, 40.0 / ps.image_size[1], len(ps))
    lm[:, 28, 1] += jitter.astype(np.float32)  # the right (far) ankle
    bad = replace(ps, landmarks=lm)
    steps, ga = analyze_stream(bad, CFG)
    assert ga.hidden_legs == ("R",)
    pairs = _match(steps, truth)
    assert len(pairs) >= 0.95 * len(truth)
    late = [(s, t) for s, t in pairs if s.t_contact_s > 6.0]  # once the leg is judged
    ic_r = [s.t_contact_s - t.t_contact_s for s, t in late if s.leg == "R"]
    assert np.mean(np.abs(ic_r)) < 0.015
    # its contact metrics are marked, the near leg's are not
    assert all({"knee_flexion_ic_deg", "overstride_pct"} <= s.unreliable
               for s, _ in late if s.leg == "R")
    assert not any(s.unreliable for s, _ in late if s.leg == "L")


def _with_flow(ps):
    """The stream as a real video's would be: each foot's pixel velocity alongside (here
    its landmarks' own motion, which a correct leg's pixels follow)."""
    from dataclasses import replace

    w, h = ps.image_size
    flow = np.full((len(ps), 2, 4), np.nan, np.float32)
    dt = np.diff(ps.t)[:, None]
    for g, a in enumerate((27, 28)):
        flow[1:, g, 0] = (np.diff(ps.landmarks[:, a, 0]) / dt[:, 0])
        flow[1:, g, 1] = (np.diff(ps.landmarks[:, a, 1]) / dt[:, 0])
        flow[1:, g, 2] = 20.0
    del w, h
    return replace(ps, foot_flow=flow)


def test_a_far_leg_drawn_on_the_near_leg_is_gated_out() -> None:
    """BlazePose draws the far leg on the near one early in every near-leg stance (the
    shared clip's leg-identity labels): on a video stream those frames' far foot and knee
    become gaps, and no knee drive is taken from the wrong leg."""
    ps, truth = synthetic_run(16.0, 30.0, noise_px=1.0, seed=4)
    lm = ps.landmarks.copy()
    folded = []
    for s in truth:  # 2-4 frames, starting 2 frames after each near-leg (L) contact
        if s.leg == "L" and s.t_contact_s > 1.0:
            k0 = int(np.searchsorted(ps.t, s.t_contact_s)) + 2
            ks = list(range(k0, k0 + 2 + int(s.t_contact_s * 10) % 3))
            for a, b in ((26, 25), (28, 27), (30, 29), (32, 31)):
                lm[ks, a] = lm[ks, b]
            folded += ks
    from dataclasses import replace

    bad = _with_flow(replace(ps, landmarks=lm))
    steps, ga = analyze_stream(bad, CFG)
    ring = ga._ring[: len(ps)]
    r_ankle, r_knee = R_XY + 2 * (ANKLE + 1), R_XY + 2 * (KNEE + 1)
    assert np.isnan(ring[folded, r_ankle]).mean() >= 0.95
    assert np.isnan(ring[folded, r_knee]).mean() >= 0.9
    others = np.setdiff1d(np.arange(30, len(ps)), folded)
    assert np.isnan(ring[others, r_ankle]).mean() < 0.02
    pairs = _match(steps, truth)
    assert len(pairs) >= 0.9 * len(truth)
    assert _err(pairs, "knee_drive_deg") < 2.0
    # the same stream without the repair takes the far leg's values from the near leg
    clean_steps, _ = analyze_stream(_with_flow(ps), CFG)
    assert _err(_match(clean_steps, truth), "knee_drive_deg") < 2.0


def test_swing_metrics_are_told_by_the_swinging_leg() -> None:
    """A step of leg A carries the swing of the other leg: a runner whose left knee
    drives to 35° and right to 20° has the 35° values in the steps of right contacts.
    The summary's per-leg medians, asymmetry and the report's split name the leg that
    swung (knee drive, knee height) and the leg that landed (the contact metrics)."""
    from realtime.metrics.summary import phase_values

    steps = []
    for k in range(12):
        leg = "LR"[k % 2]
        steps.append(Step(leg=leg, t_contact_s=0.35 * k, cadence_spm=170.0,
                          knee_drive_deg=20.0 if leg == "L" else 35.0,
                          overstride_pct=10.0 if leg == "L" else 14.0, confidence=0.9))
    summ = summarize(steps, frames=120, frames_with_pose=120, view="side",
                     event_delay_s=0.0, fps_processing=30.0)
    kd, ov = summ["metrics"]["knee_drive_deg"], summ["metrics"]["overstride_pct"]
    assert (kd["L"], kd["R"]) == (35.0, 20.0) and kd["asymmetry_pct"] > 0
    assert (ov["L"], ov["R"]) == (10.0, 14.0)
    rows = [("drill", s) for s in steps]
    assert set(phase_values(rows, "knee_drive_deg", leg="L")) == {35.0}
    assert set(phase_values(rows, "overstride_pct", leg="L")) == {10.0}
    assert steps[0].leg_of("knee_drive_deg") == "R" and steps[0].leg_of("overstride_pct") == "L"
