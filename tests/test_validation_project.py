"""The virtual camera: angles survive the projection; streams load; noise is as asked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from realtime.pose.stream import load, save
from realtime.types import Landmark
from realtime.validation.joints import JOINTS
from realtime.validation.project import Camera, project_body
from realtime.validation.truth import Body, sagittal_knee_flexion
from tests.conftest import data_file

L, R = "L", "R"


def _known_body(thigh_deg: float, knee_flex_deg: float, drop_deg: float) -> Body:
    """Two identical frames of a posed body, u forward, v up, w right (mm)."""
    half_width = 90.0
    dz = np.tan(np.radians(drop_deg)) * 2 * half_width  # right hip above the left one
    hip = {L: np.array([0.0, 900.0, -half_width]), R: np.array([0.0, 900.0 + dz, half_width])}
    th, kf = np.radians(thigh_deg), np.radians(thigh_deg - knee_flex_deg)
    p: dict[str, np.ndarray] = {}
    for s in (L, R):
        knee = hip[s] + 450.0 * np.array([np.sin(th), -np.cos(th), 0.0])
        ankle = knee + 420.0 * np.array([np.sin(kf), -np.cos(kf), 0.0])
        p[f"hip_{s}"], p[f"knee_{s}"], p[f"ankle_{s}"] = hip[s], knee, ankle
        p[f"heel_{s}"] = ankle + np.array([-60.0, -60.0, 0.0])
        p[f"toe_{s}"] = ankle + np.array([150.0, -80.0, 0.0])
        p[f"shoulder_{s}"] = hip[s] + [50.0, 500.0, 0.0]
    assert set(p) == set(JOINTS)
    frames = {k: np.stack([v, v]) for k, v in p.items()}
    return Body("posed", np.array([0.0, 0.01]), 100.0, frames, 870.0, 450.0, False)


def _px(lm: np.ndarray, idx: int, cam: Camera) -> np.ndarray:
    w, h = cam.image_size
    return np.array([lm[idx, 0] * w, lm[idx, 1] * h])


@pytest.mark.parametrize("facing", ["left", "right"])
def test_side_view_keeps_sagittal_angles_and_facing(facing: str) -> None:
    body = _known_body(thigh_deg=30.0, knee_flex_deg=40.0, drop_deg=0.0)
    cam = Camera(view="side", facing=facing)  # type: ignore[arg-type]
    lm = project_body(body, cam, np.array([0.0]), 0.0, np.random.default_rng(0))[0]
    hip, knee, ankle = (_px(lm, i, cam) for i in (Landmark.LEFT_HIP, Landmark.LEFT_KNEE,
                                                  Landmark.LEFT_ANKLE))
    sign = -1.0 if facing == "left" else 1.0  # image x of the running direction
    # Thigh flexion: knee in front of the hip (in the running direction), y is down.
    d = knee - hip
    assert np.degrees(np.arctan2(sign * d[0], d[1])) == pytest.approx(30.0, abs=1e-3)
    a, b = hip - knee, ankle - knee
    angle = np.degrees(np.arccos(a @ b / np.linalg.norm(a) / np.linalg.norm(b)))
    assert 180.0 - angle == pytest.approx(40.0, abs=1e-3)
    # The toe points the way the runner faces; the head is up (smaller y).
    toe, heel = _px(lm, Landmark.LEFT_FOOT_INDEX, cam), _px(lm, Landmark.LEFT_HEEL, cam)
    assert sign * (toe[0] - heel[0]) > 0
    assert lm[Landmark.NOSE, 1] < lm[Landmark.LEFT_SHOULDER, 1] < lm[Landmark.LEFT_HIP, 1]
    # The far leg is the one away from the camera: less visible, larger depth.
    near, far = ("L", "R") if facing == "left" else ("R", "L")
    hip_idx = {"L": Landmark.LEFT_HIP, "R": Landmark.RIGHT_HIP}
    knee_idx = {"L": Landmark.LEFT_KNEE, "R": Landmark.RIGHT_KNEE}
    assert lm[knee_idx[far], 3] == pytest.approx(0.6, abs=1e-6)
    assert lm[knee_idx[near], 3] == pytest.approx(0.95, abs=1e-6)
    assert lm[hip_idx[far], 2] > lm[hip_idx[near], 2]
    # Unfilled landmarks are NaN with zero visibility.
    assert np.isnan(lm[Landmark.LEFT_SHOULDER + 2, :3]).all() and lm[13, 3] == 0.0


def test_rear_view_keeps_frontal_angle_and_sides() -> None:
    body = _known_body(thigh_deg=10.0, knee_flex_deg=20.0, drop_deg=6.0)
    cam = Camera(view="rear")
    lm = project_body(body, cam, np.array([0.0]), 0.0, np.random.default_rng(0))[0]
    left, right = _px(lm, Landmark.LEFT_HIP, cam), _px(lm, Landmark.RIGHT_HIP, cam)
    # Seen from behind, the runner's right is on the image's right.
    assert right[0] > left[0]
    # The right hip is higher (smaller y): the left side dropped by 6 degrees.
    drop = np.degrees(np.arctan2(left[1] - right[1], right[0] - left[0]))
    assert drop == pytest.approx(6.0, abs=1e-3)


def test_body_fills_seventy_percent_of_the_height() -> None:
    path = data_file("mocap/hamner2013/subject01_Run_4.trc")
    assert path.exists()
    from realtime.validation.catalog import load_truth

    body = load_truth("subject01_Run_4").body
    cam = Camera(view="side")
    lm = project_body(body, cam, body.t, 0.0, np.random.default_rng(0))
    ys = lm[:, :, 1][lm[:, :, 3] > 0]
    span = (np.nanmax(ys) - np.nanmin(ys))  # feet to nose, not to the top of the head
    assert 0.6 < span < 0.7
    assert np.nanmin(lm[:, :, 0]) > 0.0 and np.nanmax(lm[:, :, 0]) < 1.0


def test_real_trial_round_trip_knee_flexion_at_contact() -> None:
    data_file("mocap/hamner2013/subject01_Run_4.trc")
    from realtime.validation.catalog import load_truth

    truth = load_truth("subject01_Run_4")
    times = np.array([s.t_contact_s for s in truth.steps])
    for facing in ("left", "right"):
        cam = Camera(view="side", facing=facing)  # type: ignore[arg-type]
        lm = project_body(truth.body, cam, times, 0.0, np.random.default_rng(0))
        w, h = cam.image_size
        for k, step in enumerate(truth.steps):
            idx = ((Landmark.LEFT_HIP, Landmark.LEFT_KNEE, Landmark.LEFT_ANKLE) if step.leg == "L"
                   else (Landmark.RIGHT_HIP, Landmark.RIGHT_KNEE, Landmark.RIGHT_ANKLE))
            pts = [lm[k, i, :2].astype(np.float64) * [w, h] for i in idx]
            flex = sagittal_knee_flexion(*pts)
            assert flex == pytest.approx(step.knee_flexion_ic_deg, abs=0.05)


def test_noise_has_the_requested_sigma() -> None:
    data_file("mocap/hamner2013/subject01_Run_4.trc")
    from realtime.validation.catalog import load_truth

    body = load_truth("subject01_Run_4").body
    cam = Camera(view="side")
    clean = project_body(body, cam, body.t, 0.0, np.random.default_rng(1))
    noisy = project_body(body, cam, body.t, 2.0, np.random.default_rng(1))
    dx = (noisy[:, :, 0] - clean[:, :, 0])[clean[:, :, 3] > 0] * cam.image_size[0]
    dy = (noisy[:, :, 1] - clean[:, :, 1])[clean[:, :, 3] > 0] * cam.image_size[1]
    assert np.std(dx) == pytest.approx(2.0, rel=0.1) and np.std(dy) == pytest.approx(2.0, rel=0.1)


def test_make_stream_writes_a_loadable_stream(tmp_path: Path) -> None:
    data_file("mocap/dorn2012/jog.trc")
    from realtime.validation import load_truth, make_stream

    t_mocap = load_truth("dorn_jog").body.t
    stream, steps, events = make_stream("dorn_jog", "side", 60.0, 2.0, "right", seed=3)
    assert stream.view == "side" and stream.fps == 60.0 and stream.image_size == (720, 1280)
    # the stream is on the motion capture's clock, from a random sub-frame start
    assert t_mocap[0] <= stream.t[0] < t_mocap[0] + 1 / 60
    assert np.allclose(np.diff(stream.t), 1 / 60)
    assert stream.frames_with_pose == len(stream)
    assert steps and all(stream.t[0] <= s.t_contact_s <= stream.t[-1] for s in steps)
    assert {e.kind for e in events} == {"IC", "TO"}
    back = load(save(tmp_path / "dorn.npz", stream))
    assert back.view == "side" and back.fps == 60.0 and back.image_size == (720, 1280)
    assert np.array_equal(back.landmarks, stream.landmarks, equal_nan=True)
    # Same seed, same stream; another seed moves the start phase (the truth stays put).
    again, steps2, _ = make_stream("dorn_jog", "side", 60.0, 2.0, "right", seed=3)
    assert np.array_equal(again.landmarks, stream.landmarks, equal_nan=True)
    other, steps3, _ = make_stream("dorn_jog", "side", 60.0, 2.0, "right", seed=4)
    assert steps2 == steps == steps3 and other.t[0] != stream.t[0]
