"""First-run placement check: is the camera where the metrics need it?  Pure functions.

Shown during the warm-up, before any cue, so a runner setting up alone can fix the
camera before the drill: the whole body must be in the picture (a cut-off foot means no
contacts, a cut-off head no trunk lean), the camera level with the hips (a camera well
above or below tilts every sagittal angle), and enough light (BlazePose loses the knees
of a dark figure first).

The height check is a heuristic: a level camera at hip height, pointing straight ahead,
sees the hips near the picture's middle row; hips far below it mean the camera is too
high (or tilted down), far above it too low.  It cannot tell height from tilt.

The light check also looks behind the runner: a bright window or lamp behind them makes
the camera expose for the background, and the runner's limbs go dark and flat (the
knees are lost first).  It compares the runner's box with a band of the picture around
it, so lamps elsewhere in the frame (a ceiling light) do not count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# BlazePose indices
NOSE, L_HIP, R_HIP = 0, 23, 24
FEET = (27, 28, 29, 30, 31, 32)  # ankles, heels, toes
MIN_VIS = 0.5
EDGE = 0.02  # a landmark this close to the border (share of the picture) is cut off
HIP_BAND = 0.18  # hips within +- this of the middle row (share of the height): level
DARK_LUMA = 45.0  # mean luma (0-255) below this is too dark for reliable knees
# Backlight: the band around the runner at least this bright and this much brighter than
# the runner.  In the real treadmill clip (lit from the ceiling, a wall behind him) the
# band is 21 darker to 28 brighter than the runner, at 89-108 (tests/test_placement.py).
BACKLIGHT_LUMA = 160.0
BACKLIGHT_STEP = 60.0
BAND = 0.5  # the band around the runner's box: this share of the box's size on each side


@dataclass(frozen=True, slots=True)
class Check:
    name: str  # "body", "height", "light"
    ok: bool
    text: str  # what the runner reads: "whole body in frame", "camera too high", ...


def _seen(lm: np.ndarray, i: int) -> bool:
    return bool(math.isfinite(lm[i, 0]) and math.isfinite(lm[i, 1]) and lm[i, 3] >= MIN_VIS)


def placement(landmarks: np.ndarray | None, mean_luma: float,
              runner_luma: float = math.nan, behind_luma: float = math.nan
              ) -> tuple[Check, ...]:
    """The three checks for one frame (`landmarks` [33, 4] normalised, or None; the
    lumas from `mean_luma` and `light_levels`)."""
    if mean_luma < DARK_LUMA:
        light = Check("light", False, "too dark: light the runner")
    elif behind_luma >= BACKLIGHT_LUMA and behind_luma - runner_luma >= BACKLIGHT_STEP:
        light = Check("light", False, "backlit: light the runner from the front")
    else:
        light = Check("light", True, "light OK")
    if landmarks is None or not np.isfinite(landmarks[:, :2]).any():
        return (Check("body", False, "runner not in view"), light)
    lm = landmarks
    feet = [i for i in FEET if _seen(lm, i)]
    head_in = _seen(lm, NOSE) and lm[NOSE, 1] > EDGE
    feet_in = len(feet) >= 2 and all(lm[i, 1] < 1.0 - EDGE for i in feet)
    sides_in = all(EDGE < lm[i, 0] < 1.0 - EDGE for i in (NOSE, *feet) if _seen(lm, i))
    if head_in and feet_in and sides_in:
        body = Check("body", True, "whole body in frame")
    elif not feet_in:
        body = Check("body", False, "feet out of frame: move the camera back")
    elif not head_in:
        body = Check("body", False, "head out of frame: move the camera back")
    else:
        body = Check("body", False, "runner at the edge: centre the camera")
    if not (_seen(lm, L_HIP) or _seen(lm, R_HIP)):
        return (body, Check("height", False, "hips not seen"), light)
    hip_y = float(np.nanmean([lm[i, 1] for i in (L_HIP, R_HIP) if _seen(lm, i)]))
    if hip_y > 0.5 + HIP_BAND:
        height = Check("height", False, "camera too high: lower it to hip height")
    elif hip_y < 0.5 - HIP_BAND:
        height = Check("height", False, "camera too low: raise it to hip height")
    else:
        height = Check("height", True, "camera at hip height")
    return (body, height, light)


def runner_box(landmarks: np.ndarray) -> tuple[float, float, float, float] | None:
    """The seen landmarks' box (x0, y0, x1, y1), normalised; None if under 4 are seen."""
    seen = np.isfinite(landmarks[:, 0]) & np.isfinite(landmarks[:, 1]) & \
        (landmarks[:, 3] >= MIN_VIS)
    if seen.sum() < 4:
        return None
    xs, ys = landmarks[seen, 0], landmarks[seen, 1]
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


def light_levels(image_bgr: np.ndarray, landmarks: np.ndarray | None) -> tuple[float, float]:
    """(runner, behind): mean luma (0-255) in the runner's box and in a band around it
    (`BAND` of the box's size on each side, the box left out), from every 16th pixel
    (~0.05 ms); NaN, NaN without a runner."""
    box = runner_box(landmarks) if landmarks is not None else None
    if box is None:
        return math.nan, math.nan
    h, w = image_bgr.shape[:2]
    x0, y0, x1, y1 = box
    bw, bh = (x1 - x0) * BAND, (y1 - y0) * BAND

    def px(v: float, n: int) -> int:
        return int(min(max(v, 0.0), 1.0) * n)

    ox0, oy0, ox1, oy1 = px(x0 - bw, w), px(y0 - bh, h), px(x1 + bw, w), px(y1 + bh, h)
    step = 16
    sub = image_bgr[oy0:oy1:step, ox0:ox1:step].astype(np.float32)
    if sub.size == 0:
        return math.nan, math.nan
    luma = 0.114 * sub[..., 0] + 0.587 * sub[..., 1] + 0.299 * sub[..., 2]
    ys = np.arange(oy0, oy1, step)[:, None]
    xs = np.arange(ox0, ox1, step)[None, :]
    inside = (ys >= px(y0, h)) & (ys < px(y1, h)) & (xs >= px(x0, w)) & (xs < px(x1, w))
    if not inside.any() or inside.all():
        return math.nan, math.nan
    return float(luma[inside].mean()), float(luma[~inside].mean())


def mean_luma(image_bgr: np.ndarray) -> float:
    """Mean brightness (0-255) of a BGR frame from a sparse grid of pixels (~15 µs)."""
    sub = image_bgr[::16, ::16].astype(np.float32)
    return float((0.114 * sub[..., 0] + 0.587 * sub[..., 1] + 0.299 * sub[..., 2]).mean())
