"""The warm-up placement check (pure): body in frame, camera height, light."""

from __future__ import annotations

import numpy as np

from realtime.feedback.placement import mean_luma, placement


def body(hip_y: float = 0.5, foot_y: float = 0.9, head_y: float = 0.1) -> np.ndarray:
    lm = np.full((33, 4), np.nan, np.float32)
    lm[:, 3] = 0.0
    for i, (x, y) in {0: (0.5, head_y), 23: (0.5, hip_y), 24: (0.5, hip_y),
                      27: (0.45, foot_y - 0.03), 28: (0.55, foot_y - 0.03),
                      29: (0.44, foot_y), 30: (0.54, foot_y), 31: (0.48, foot_y),
                      32: (0.58, foot_y)}.items():
        lm[i] = (x, y, 0.0, 0.95)
    return lm


def texts(checks) -> dict[str, tuple[bool, str]]:
    return {c.name: (c.ok, c.text) for c in checks}


def test_a_well_placed_camera_passes_every_check() -> None:
    assert all(c.ok for c in placement(body(), 120.0))


def test_each_problem_is_named() -> None:
    assert texts(placement(body(foot_y=0.995), 120.0))["body"] == (
        False, "feet out of frame: move the camera back")
    assert texts(placement(body(head_y=0.0), 120.0))["body"][0] is False
    assert texts(placement(body(hip_y=0.8), 120.0))["height"] == (
        False, "camera too high: lower it to hip height")
    assert texts(placement(body(hip_y=0.2, head_y=0.05, foot_y=0.5), 120.0))["height"][1] \
        .startswith("camera too low")
    assert texts(placement(body(), 20.0))["light"] == (False, "too dark: light the runner")
    assert texts(placement(None, 120.0))["body"] == (False, "runner not in view")


def test_mean_luma_of_a_frame() -> None:
    img = np.zeros((720, 1280, 3), np.uint8)
    assert mean_luma(img) == 0.0
    img[:] = (255, 255, 255)
    assert abs(mean_luma(img) - 255.0) < 0.5


BACKLIT = "backlit: light the runner from the front"


def test_a_bright_background_behind_the_runner_is_named() -> None:
    assert texts(placement(body(), 150.0, 70.0, 220.0))["light"] == (False, BACKLIT)
    assert texts(placement(body(), 110.0, 90.0, 115.0))["light"] == (True, "light OK")
    assert texts(placement(body(), 150.0, 150.0, 200.0))["light"][0]  # evenly bright


def _clip_frames(step: int):
    import cv2

    from tests.conftest import data_file, model_poses

    samples, _, _ = model_poses("videos/treadmill_side_male.mp4")
    cap = cv2.VideoCapture(str(data_file("videos/treadmill_side_male.mp4")))
    try:
        for i, sample in enumerate(samples):
            ok, img = cap.read()
            assert ok
            if i % step == 0:
                yield img, sample.landmarks
    finally:
        cap.release()


def test_the_real_clip_is_not_backlit_and_a_brightened_background_is() -> None:
    """The real treadmill clip (ceiling light, a wall behind the runner) passes the light
    check in every frame; the same frames with everything behind the runner made bright,
    as a window would be, are named backlit."""
    from realtime.feedback.placement import light_levels, runner_box

    n = 0
    for img, lm in _clip_frames(10):
        assert texts(placement(lm, mean_luma(img), *light_levels(img, lm)))["light"] == (
            True, "light OK")
        h, w = img.shape[:2]
        x0, y0, x1, y1 = runner_box(lm)
        bright = (img * 0.25 + 255 * 0.75).astype(np.uint8)  # a window behind him
        rows, cols = slice(int(y0 * h), int(y1 * h)), slice(int(x0 * w), int(x1 * w))
        bright[rows, cols] = img[rows, cols]  # the runner as he was
        checks = texts(placement(lm, mean_luma(bright), *light_levels(bright, lm)))
        assert checks["light"] == (False, BACKLIT)
        n += 1
    assert n == 36
