"""The feet's pixel evidence (realtime.pose.footflow): Lucas-Kanade flow of the shoe's
own pixels, on pictures of known motion and on the real treadmill clip."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from realtime.pose.footflow import FootFlow
from realtime.types import Landmark
from tests.conftest import data_file

W, H = 640, 480


def _scene(dx: float, dy: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two frames: a textured 'shoe' moved by (dx, dy) px on a plain background."""
    shoe = rng.integers(0, 255, (40, 70, 3), np.uint8)
    shoe = cv2.GaussianBlur(shoe, (3, 3), 0)
    frames = []
    for k in range(2):
        img = np.full((H, W, 3), 60, np.uint8)
        x0, y0 = 300 + round(k * dx), 380 + round(k * dy)
        img[y0:y0 + 40, x0:x0 + 70] = shoe
        frames.append(img)
    return frames[0], frames[1]


def _landmarks(x: float, y: float) -> np.ndarray:
    lm = np.full((33, 4), np.nan, np.float32)
    for leg, (a, h, t) in enumerate(((Landmark.LEFT_ANKLE, Landmark.LEFT_HEEL,
                                      Landmark.LEFT_FOOT_INDEX),
                                     (Landmark.RIGHT_ANKLE, Landmark.RIGHT_HEEL,
                                      Landmark.RIGHT_FOOT_INDEX))):
        if leg == 1:
            continue  # the right foot is not in the picture
        lm[a, :2] = ((x + 15) / W, (y + 5) / H)
        lm[h, :2] = ((x + 5) / W, (y + 30) / H)
        lm[t, :2] = ((x + 65) / W, (y + 35) / H)
        lm[[a, h, t], 3] = 0.9
    return lm


@pytest.mark.parametrize(("dx", "dy"), [(12, 0), (-20, 6), (30, 4), (0, 0)])
def test_measured_velocity_is_the_shoe_motion(dx: float, dy: float) -> None:
    """Definition: the median displacement of the shoe's own pixels over the frame
    interval, in image widths / heights per second."""
    rng = np.random.default_rng(int(100 + dx))
    a, b = _scene(dx, dy, rng)
    ff = FootFlow()
    dt_ns = 33_333_333
    assert np.isnan(ff.measure(a, 0, _landmarks(300, 380))).all()  # no previous frame yet
    out = ff.measure(b, dt_ns, _landmarks(300 + dx, 380 + dy))
    assert out[0, 0] * W * dt_ns * 1e-9 == pytest.approx(dx, abs=0.5)
    assert out[0, 1] * H * dt_ns * 1e-9 == pytest.approx(dy, abs=0.5)
    assert out[0, 2] >= 4
    assert np.isnan(out[1]).all()  # no landmarks for that foot: nothing measured


def test_no_texture_no_measurement() -> None:
    flat = np.full((H, W, 3), 90, np.uint8)
    ff = FootFlow()
    ff.measure(flat, 0, _landmarks(300, 380))
    assert np.isnan(ff.measure(flat, 33_333_333, _landmarks(300, 380))).all()


def test_the_planted_foot_moves_at_the_belt_speed_the_labels_measured() -> None:
    """On the real clip, the near (left) foot in mid-stance is dragged at the belt speed
    the contact labeller measured from pixels (30 px a frame; median of 78 mid-stance
    frame-to-frame shifts), within 10 %."""
    from tests.conftest import model_poses

    labels = json.loads((Path(__file__).parent / "fixtures"
                         / "treadmill_side_male_contacts.json").read_text())
    cap = cv2.VideoCapture(str(data_file("videos/treadmill_side_male.mp4")))
    samples, fps, _ = model_poses("videos/treadmill_side_male.mp4")
    mid = set()
    ics = [c["frame_first_on_belt"] for c in labels["contacts"] if c["leg"] == "L"]
    tos = [c["frame_last_on_belt"] for c in labels["toe_offs"] if c["leg"] == "L"]
    for ic in ics:
        later = [t for t in tos if t > ic + 3]
        if later:
            mid |= set(range(ic + 2, later[0] - 1))
    ff = FootFlow()
    vx = []
    k = 0
    while True:
        ok, img = cap.read()
        if not ok:
            break
        out = ff.measure(img, round(k / fps * 1e9), samples[k].landmarks)
        if k in mid and np.isfinite(out[0, 0]):
            vx.append(out[0, 0] * 720 / fps)
        k += 1
    assert len(vx) > 40
    assert np.median(vx) == pytest.approx(labels["belt_px_per_frame"], rel=0.1)
