"""First-run placement check: is the camera where the metrics need it?  Pure functions.

Shown during the warm-up, before any cue, so a runner setting up alone can fix the
camera before the drill: the whole body must be in the picture (a cut-off foot means no
contacts, a cut-off head no trunk lean), the camera level with the hips (a camera well
above or below tilts every sagittal angle), and enough light (BlazePose loses the knees
of a dark figure first).

The height check is a heuristic: a level camera at hip height, pointing straight ahead,
sees the hips near the picture's middle row; hips far below it mean the camera is too
high (or tilted down), far above it too low.  It cannot tell height from tilt.
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


@dataclass(frozen=True, slots=True)
class Check:
    name: str  # "body", "height", "light"
    ok: bool
    text: str  # what the runner reads: "whole body in frame", "camera too high", ...


def _seen(lm: np.ndarray, i: int) -> bool:
    return bool(math.isfinite(lm[i, 0]) and math.isfinite(lm[i, 1]) and lm[i, 3] >= MIN_VIS)


def placement(landmarks: np.ndarray | None, mean_luma: float) -> tuple[Check, ...]:
    """The three checks for one frame (`landmarks` [33, 4] normalised, or None)."""
    light = Check("light", not mean_luma < DARK_LUMA,
                  "light OK" if not mean_luma < DARK_LUMA else "too dark: light the runner")
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


def mean_luma(image_bgr: np.ndarray) -> float:
    """Mean brightness (0-255) of a BGR frame from a sparse grid of pixels (~15 µs)."""
    sub = image_bgr[::16, ::16].astype(np.float32)
    return float((0.114 * sub[..., 0] + 0.587 * sub[..., 1] + 0.299 * sub[..., 2]).mean())
