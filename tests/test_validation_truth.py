"""Mocap ground truth: joint centres, events and per-step metrics are physically sane."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from realtime.validation import catalog as cat
from realtime.validation.joints import harrington_hjc, kabsch
from realtime.validation.trc import read_trc
from tests.conftest import data_file

ALL = cat.trials()


@pytest.fixture(autouse=True)
def _need_data() -> None:
    data_file("mocap/hamner2013/subject01_Run_4.trc")
    data_file("mocap/dorn2012/jog.trc")


def test_kabsch_recovers_a_rigid_motion() -> None:
    rng = np.random.default_rng(1)
    src = rng.normal(size=(4, 3)) * 100
    a = 0.7
    rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    r, p = kabsch(src, src @ rot.T + [10.0, -20.0, 5.0])
    assert np.allclose(r, rot) and np.allclose(p, [10.0, -20.0, 5.0])


@pytest.mark.parametrize("trial", ALL)
def test_cluster_fit_residuals_are_small(trial: str) -> None:
    track = cat.load_joints(trial)
    for cluster, res in track.residual_mm.items():
        assert np.nanmedian(res) < 10.0, cluster
        assert np.nanpercentile(res, 95) < 30.0, cluster
    for joint in ("hip_L", "knee_R", "ankle_L"):
        assert np.isfinite(track[joint]).all(axis=1).mean() > 0.99


@pytest.mark.parametrize("trial", ALL)
def test_segment_lengths_are_plausible_and_rigid(trial: str) -> None:
    track = cat.load_joints(trial)
    for s in "LR":
        thigh = np.linalg.norm(track[f"hip_{s}"] - track[f"knee_{s}"], axis=1)
        shank = np.linalg.norm(track[f"knee_{s}"] - track[f"ankle_{s}"], axis=1)
        assert 380 < np.nanmean(thigh) < 520 and 350 < np.nanmean(shank) < 480
        # The hip is carried by the pelvis, the knee by thigh+shank (SCoRE), the ankle by
        # the shank: the thigh breathes with soft tissue, the shank hardly at all.
        assert np.nanstd(thigh) < 12 and np.nanstd(shank) < 5


def test_harrington_regression_is_close_to_hamners_hip_centres() -> None:
    """The Dorn hip centres come from this regression: check it where truth exists."""
    for subject in ("01", "04"):
        st = read_trc(data_file(f"mocap/hamner2013/subject{subject}_static.trc"))
        mpsi = (st.marker("LPSI") + st.marker("RPSI")) / 2
        left, right = harrington_hjc(st.marker("LASI"), st.marker("RASI"), mpsi)
        for est, ref in ((left, st.marker("LHJC")), (right, st.marker("RHJC"))):
            assert np.nanmean(np.linalg.norm(est - ref, axis=1)) < 40.0


@pytest.mark.parametrize("trial", ALL)
def test_true_steps_are_plausible(trial: str) -> None:
    truth = cat.load_truth(trial)
    steps = truth.steps
    duration = float(truth.body.t[-1] - truth.body.t[0])
    # Hamner: 4-6 s of 6-9 strides on the belt's plates; Dorn: 5 plate contacts.
    assert (4 if trial == "dorn_jog" else 8) <= len(steps) <= 20
    assert all(a.leg != b.leg for a, b in itertools.pairwise(steps))
    cadence = np.array([s.cadence_spm for s in steps])
    assert 140 <= np.median(cadence) <= 200
    if trial != "dorn_jog":  # the plates cover the whole treadmill trial
        assert len(steps) / duration * 60 == pytest.approx(np.median(cadence), rel=0.2)
    stance = [c.t_to - c.t_ic for c in truth.contacts if np.isfinite(c.t_to - c.t_ic)]
    assert 0.15 < np.median(stance) < 0.40
    flex = np.array([s.knee_flexion_ic_deg for s in steps])
    # subject04 lands on a nearly straight knee; the others bend 10-30 degrees
    assert 3 <= np.median(flex) <= 45 and (flex >= 0).all() and (flex < 50).all()
    drive = np.array([s.knee_drive_deg for s in steps])
    assert 15 <= np.median(drive) <= 60
    height = np.array([s.knee_height_pct for s in steps])
    assert (height < 0).all() and (height > -100).all()
    over = np.array([s.overstride_pct for s in steps])
    assert (over > 0).all() and (over < 60).all()
    lean = np.array([s.trunk_lean_deg for s in steps])
    assert (lean > -5).all() and (lean < 20).all()  # Dorn runs upright (about 0)
    vosc = np.array([s.vertical_oscillation_pct for s in steps])
    assert 5 < np.median(vosc) < 15
    sway = np.array([s.hip_sway_pct for s in steps[1:]])
    assert np.isnan(steps[0].hip_sway_pct) and (sway > 0).all() and (sway < 8).all()
    drop = np.array([s.pelvic_drop_deg for s in steps if np.isfinite(s.pelvic_drop_deg)])
    assert -5 < np.median(drop) < 10


def test_faster_running_means_higher_knees_shorter_contacts() -> None:
    for subject in ("01", "04"):
        drive, stance, cadence = [], [], []
        for speed in (2, 3, 4, 5):
            truth = cat.load_truth(f"subject{subject}_Run_{speed}")
            drive.append(np.median([s.knee_drive_deg for s in truth.steps]))
            cadence.append(np.median([s.cadence_spm for s in truth.steps]))
            stance.append(np.nanmedian([c.t_to - c.t_ic for c in truth.contacts]))
        assert drive == sorted(drive)
        assert stance == sorted(stance, reverse=True)
        assert cadence[-1] > cadence[0]


def test_dorn_is_overground_and_detrended() -> None:
    truth = cat.load_truth("dorn_jog")
    assert truth.body.overground
    mid = truth.body.mid_hip()
    # 11.8 m of travel is removed; what remains is the within-stride surge, centimetres.
    assert np.nanmax(np.abs(mid[:, 0])) < 150


# Force-plate contacts of JA1Gait21.c3d (the same trial as jog.trc, frames 300-1136):
# first and last analog sample with |Fz| > 30 N on plates 1, 2, 4, 5, 7, read once by
# hand with the `c3d` package, in jog.trc seconds.  The truth uses 50 N: a few ms inside.
PLATE_ON = (0.5207, 0.8993, 1.2693, 1.6520, 2.0273)
PLATE_OFF = (0.7560, 1.1347, 1.5080, 1.9000, 2.2647)


def test_dorn_truth_is_its_force_plates() -> None:
    truth = cat.load_truth("dorn_jog")
    ic = np.array([c.t_ic for c in truth.contacts])
    to = np.array([c.t_to for c in truth.contacts])
    assert len(ic) == 5
    np.testing.assert_allclose(ic, PLATE_ON, atol=0.004)
    np.testing.assert_allclose(to, PLATE_OFF, atol=0.008)
    assert (to - ic).min() > 0.2  # stances of 0.23 s


def test_marker_height_events_are_only_a_diagnostic() -> None:
    """The heel/toe-height rule the old truth used fires tens of ms before the force
    onset on the slow treadmill trials: a detector scored against it shares its
    definition, not the truth."""
    early = []
    for name in ("subject01_Run_2", "subject02_Run_2", "subject04_Run_2"):
        truth = cat.load_truth(name)
        for c in truth.contacts:
            m = [x for x in truth.marker_contacts
                 if x.leg == c.leg and abs(x.t_ic - c.t_ic) < 0.15]
            if m and np.isfinite(c.t_ic):
                early.append(m[0].t_ic - c.t_ic)
    assert len(early) > 30
    assert np.median(early) < -0.03
