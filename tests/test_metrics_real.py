"""The analyzer on real BlazePose streams of the shared recordings, against contacts
labelled by hand from the frames (tests/fixtures/treadmill_side_male_contacts.json)."""

from __future__ import annotations

import csv
import difflib
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from realtime.config import MetricsConfig
from realtime.metrics import analyze_stream, summarize
from realtime.metrics.summary import step_row
from realtime.pose.stream import PoseStream
from realtime.types import STEP_COLUMNS, Step
from realtime.validation.labels import blazepose_stream, contact_errors, load_labels
from tests.conftest import data_file

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parent / "golden"
MALE_SIDE_CADENCE = 168.9  # treadmill_side_male.groundtruth.json (raw pixels, no pose)


def _blazepose(rel: str, view: str) -> PoseStream:
    return blazepose_stream(data_file(rel), view)


@pytest.fixture(scope="session")
def male_side() -> PoseStream:
    return _blazepose("videos/treadmill_side_male.mp4", "side")


LABELS = FIXTURES / "treadmill_side_male_contacts.json"


def test_treadmill_side_contacts_against_hand_labels(male_side: PoseStream) -> None:
    steps, ga = analyze_stream(male_side, MetricsConfig())
    assert ga.facing == -1  # the runner faces image-left
    err = contact_errors(male_side, ga.events, load_labels(LABELS))
    n = err.size
    assert n == 32  # 34 labels; the first (0.21 s) is in the warm-up, the last at the end
    within = np.abs(err) <= 0.060
    assert within.mean() >= 0.95
    # targets: mean abs error <= 20 ms, |bias| <= 10 ms; measured 6.8 ms, +1.2 ms
    # (2026-12-07): the contacts are timed from the shoe dragged by the belt (pixel
    # evidence), no longer from the body with the motion-capture delay (30 ms early)
    assert np.nanmean(np.abs(err)) <= 0.012
    assert abs(np.nanmean(err)) <= 0.006
    # step times vary as running does (the labels' own CV is 2.4 %; target 4 %)
    dur = np.array([60.0 / s.cadence_spm for s in steps])
    assert dur.std() / dur.mean() <= 0.04
    n_dur = {g: np.mean([60.0 / s.cadence_spm for s in steps if s.leg == g]) for g in "LR"}
    assert abs(n_dur["L"] - n_dur["R"]) / dur.mean() <= 0.05  # the labels show -1.1 %
    summ = summarize(steps, frames=len(male_side), frames_with_pose=male_side.frames_with_pose,
                     view="side", event_delay_s=ga.event_delay_s, fps_processing=0.0,
                     body_minima=ga.body_minima)
    assert summ["cadence_spm"] == pytest.approx(MALE_SIDE_CADENCE, rel=0.005)
    assert summ["gait"] == "running"


def _score_steps(stream: PoseStream, cfg: MetricsConfig) -> dict:
    """The per-step metrics of `stream` against the labels made by eye."""
    from realtime.validation.score import EDGE_S, WARMUP_S
    from realtime.validation.steplabels import load_step_labels, score_steps

    steps, _ = analyze_stream(stream, cfg)
    sl = load_step_labels(LABELS)
    assert sl is not None
    return score_steps(steps, sl, float(stream.t[0]), float(stream.t[-1]), WARMUP_S, EDGE_S)


def _check_step_targets(r: dict, overstride_bound: float) -> None:
    """Knee drive trusted >= 60 %, within 3° once its offset (<= 5°) is removed; the
    contact metrics trusted on >= 80 % of steps, within 5° and `overstride_bound`."""
    kd = r["knee_drive_deg"]
    assert kd["trusted_share"] >= 0.6
    assert kd["mae_offset_removed"] <= 3.0 and abs(kd["bias"]) <= 5.0
    for name, bound in (("knee_flexion_ic_deg", 5.0), ("overstride_pct", overstride_bound)):
        assert r[name]["trusted_share"] >= 0.8, name
        assert r[name]["mae"] <= bound, name


def test_per_step_metrics_against_joint_centres_placed_by_eye(male_side: PoseStream) -> None:
    """Knee drive, knee flexion at contact and overstride against the swing and contact
    poses labelled by eye (tests/fixtures/README.md).  Targets: knee drive within 4° of
    the labels once a constant offset is removed, none trusted more than 8° off, offset
    within 5°; contact metrics trusted on >= 80 % of the steps, within 5° and 4 % leg.
    Measured 2026-12-07: knee drive 2.1° (offset +2.6°, worst 6.5°) on 22 of 31 swings
    (71 %: the far knee is drawn on the near one at its peak in 9 of 16 far swings, and
    those are not trusted; tools/far_knee_modes.py shows BlazePose run any other way
    does no better); knee flexion at contact 3.8° and overstride 3.9 % leg on 27 of 32
    (4.3 % before the mid-hip took the longer fit, metrics.hip_halfwin_s).
    The bounds below are those figures with room for BlazePose on another CPU."""
    r = _score_steps(male_side, MetricsConfig())
    _check_step_targets(r, overstride_bound=4.2)
    assert r["knee_drive_deg"]["max_abs"] <= 8.0


@pytest.mark.parametrize("up_thighs", [0.25, 0.5])
def test_hips_drawn_high_are_brought_back_to_the_joint_centres(male_side: PoseStream,
                                                               up_thighs: float) -> None:
    """BlazePose put the hips half a thigh above the joint centres on a clip the team does
    not have (loose clothes).  The same clip with its hip landmarks moved up by a quarter
    and by half a thigh still meets the per-step targets, because a thigh drawn longer
    than the shank moves the hips back down (metrics.hip_max_thigh_ratio; a quarter
    thigh stays under that ratio and moves knee drive by 4°).  Measured 2026-12-07: knee
    drive offset -1.7° / -0.2° (-5.0° at half a thigh without the correction), knee
    flexion at contact 3.6° / 3.5°, overstride 3.8 / 3.6 % leg (unshifted: +2.6°, 3.8°,
    3.9 %)."""
    lm = male_side.landmarks.copy()
    w, h = male_side.image_size
    thigh_px = np.nanmedian(np.hypot((lm[:, 25, 0] - lm[:, 23, 0]) * w,
                                     (lm[:, 25, 1] - lm[:, 23, 1]) * h))
    lm[:, 23:25, 1] -= up_thighs * thigh_px / h
    shifted = replace(male_side, landmarks=lm)
    _check_step_targets(_score_steps(shifted, MetricsConfig()), overstride_bound=5.0)
    if up_thighs == 0.5:  # the correction is what absorbs it: without it, -5.0°
        r0 = _score_steps(shifted, MetricsConfig(hip_max_thigh_ratio=3.0))
        assert r0["knee_drive_deg"]["bias"] < -4.0


def test_legs_drawn_on_each_other_are_repaired(male_side: PoseStream) -> None:
    """Against the leg identity labelled by eye frame by frame: 21 % of the frames have a
    knee or ankle on the wrong leg as BlazePose draws them, 1.4 % after the repair
    (2026-12-07)."""
    from realtime.validation.identity import load_identity, score_identity

    r = score_identity(male_side, load_identity(
        FIXTURES / "treadmill_side_male_leg_identity.json"))
    assert r["wrong_share_before"] > 0.15  # the model really does it on this clip
    assert r["wrong_share_after"] <= 0.04
    assert r["right_points_gated"] <= 0.1 * 4 * r["frames"]


def test_the_hip_correction_is_what_the_labels_measure(male_side: PoseStream) -> None:
    """The fore-aft hip shift the metrics stage applies is the one measured on the two
    labellers' joint centres (python -m realtime.validation --labels prints it)."""
    from realtime.validation.steplabels import landmark_offsets

    _, ga = analyze_stream(male_side, MetricsConfig())
    off = landmark_offsets(male_side.landmarks, male_side.image_size, "L", LABELS,
                           ga.leg_length_px)["thigh_shift"]
    cfg = MetricsConfig()
    assert off["near"] == pytest.approx(cfg.hip_near_forward, abs=0.006)
    assert off["far"] == pytest.approx(cfg.hip_far_forward, abs=0.006)


def test_no_asymmetry_is_reported_from_unreliable_values(male_side: PoseStream) -> None:
    """Every reported left/right median and asymmetry comes from trusted values only (of
    the leg each value describes: the swinging one for knee drive, `Step.leg_of`)."""
    steps, ga = analyze_stream(male_side, MetricsConfig())
    summ = summarize(steps, frames=len(male_side), frames_with_pose=male_side.frames_with_pose,
                     view="side", event_delay_s=ga.event_delay_s, fps_processing=0.0)
    assert any(s.unreliable for s in steps)  # there is something to leave out here
    for name, m in summ["metrics"].items():
        for leg in "LR":
            vals = [getattr(s, name) for s in steps
                    if s.leg_of(name) == leg and s.reliable(name)]
            if m[leg] is not None:
                assert m[leg] == pytest.approx(float(np.median(vals)))
        if m["asymmetry_pct"] is not None:
            assert min(sum(1 for s in steps if s.leg_of(name) == g and s.reliable(name))
                       for g in "LR") >= 3


def test_a_stream_on_another_clock_reports_on_that_clock(male_side: PoseStream) -> None:
    """A pose stream whose t starts at 100 s (another instrument's clock) gives the same
    steps, at times after 100 s."""
    steps, _ = analyze_stream(male_side, MetricsConfig())
    later = replace(male_side, t=male_side.t + 100.0)
    steps100, ga = analyze_stream(later, MetricsConfig())
    assert len(steps100) == len(steps) > 20
    assert all(s.t_contact_s > 100.0 for s in steps100)
    np.testing.assert_allclose([s.t_contact_s - 100.0 for s in steps100],
                               [s.t_contact_s for s in steps], atol=1e-6)
    assert all(e.t_s > 100.0 for e in ga.events)


def _rows(steps: list[Step]) -> list[list[str]]:
    return [list(STEP_COLUMNS), *(step_row(s) for s in steps)]


def test_golden_steps_of_the_shared_clip(male_side: PoseStream) -> None:
    """Any change to the clip's steps shows as a diff against tests/golden (rewrite it with
    REALTIME_UPDATE_GOLDEN=1 after checking the change is wanted)."""
    steps, _ = analyze_stream(male_side, MetricsConfig())
    path = GOLDEN / "treadmill_side_male_steps.csv"
    rows = _rows(steps)
    if os.environ.get("REALTIME_UPDATE_GOLDEN") == "1":
        with path.open("w", newline="") as fh:
            csv.writer(fh).writerows(rows)
    want = list(csv.reader(path.open()))
    if len(want) == len(rows) and all(
        a[0] == b[0] and a[-1] == b[-1] and np.allclose(
            [float(x) if x else np.nan for x in a[1:-1]],
            [float(x) if x else np.nan for x in b[1:-1]], atol=0.02, equal_nan=True)
        for a, b in zip(want[1:], rows[1:], strict=True)
    ):
        return  # BlazePose on another CPU may differ in the last digits
    diff = difflib.unified_diff([",".join(r) for r in want], [",".join(r) for r in rows],
                                "golden", "now", lineterm="")
    pytest.fail("steps of treadmill_side_male.mp4 changed:\n" + "\n".join(diff))


@pytest.mark.parametrize("clip,view", [
    ("videos/walk_side_two_people.mp4", "side"),
    ("videos/walk_side_enter_leave.mp4", "side"),
    ("videos/walk_rear.mp4", "rear"),
])
def test_walking_is_not_confident_running(clip: str, view: str) -> None:
    ps = _blazepose(clip, view)
    steps, ga = analyze_stream(ps, MetricsConfig())
    conf = [s.confidence for s in steps]
    assert sum(c >= 0.9 for c in conf) == 0
    assert not conf or float(np.median(conf)) < 0.6
    summ = summarize(steps, frames=len(ps), frames_with_pose=ps.frames_with_pose, view=view,
                     event_delay_s=ga.event_delay_s, fps_processing=0.0,
                     body_minima=ga.body_minima)
    assert summ["gait"] in ("walking", "unknown") if view == "rear" else summ["gait"] == "walking"
