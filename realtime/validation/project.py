"""A virtual orthographic camera: mocap joint centres -> BlazePose-style pose streams.

Orthographic, so that a sagittal (side) or frontal (rear) angle measured on the image is
exactly the 3D angle in that plane: any error the metrics stage shows on these streams is
its own, not the camera's.  Perspective, lens and BlazePose's own errors are out of scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from realtime.config import MetricsConfig
from realtime.pose.stream import PoseStream
from realtime.types import N_LANDMARKS, GaitEvent, Landmark, Step, View
from realtime.validation.truth import Body, Truth

Facing = Literal["left", "right"]

# joint -> BlazePose index (the person's own left/right)
LANDMARK_OF: dict[str, int] = {
    "hip_L": Landmark.LEFT_HIP, "hip_R": Landmark.RIGHT_HIP,
    "knee_L": Landmark.LEFT_KNEE, "knee_R": Landmark.RIGHT_KNEE,
    "ankle_L": Landmark.LEFT_ANKLE, "ankle_R": Landmark.RIGHT_ANKLE,
    "heel_L": Landmark.LEFT_HEEL, "heel_R": Landmark.RIGHT_HEEL,
    "toe_L": Landmark.LEFT_FOOT_INDEX, "toe_R": Landmark.RIGHT_FOOT_INDEX,
    "shoulder_L": Landmark.LEFT_SHOULDER, "shoulder_R": Landmark.RIGHT_SHOULDER,
    "nose": Landmark.NOSE,
}  # fmt: skip
LEG_JOINTS = ("hip", "knee", "ankle", "heel", "toe")


BLAZEPOSE_HIPS: tuple[float, float] = (MetricsConfig().hip_near_forward,
                                        MetricsConfig().hip_far_forward)


@dataclass(frozen=True, slots=True)
class Camera:
    """Where the virtual camera is and what its image looks like.

    Side view: the camera looks along the runner's medio-lateral axis; `facing` says
    whether the runner faces image-left (the camera sees the runner's left side, like
    the real treadmill clip) or image-right (it sees the right side).  The far leg gets
    `far_visibility`, as BlazePose reports for an occluded leg.  Rear view: the camera is
    behind the runner looking along the running direction, so the runner's right is on
    the image's right.
    """

    view: View = "side"
    facing: Facing = "left"
    image_size: tuple[int, int] = (720, 1280)  # (width, height), portrait like the clip
    body_fraction: float = 0.7  # feet to top of head, share of the image height
    visibility: float = 0.95
    far_visibility: float = 0.6
    # side view: hips drawn this far (leg lengths; near, far) behind the hip joint
    # centres: BLAZEPOSE_HIPS is where BlazePose draws them, which the metrics stage moves
    # back (MetricsConfig.hip_near_forward / hip_far_forward, measured on the real clip)
    hip_back: tuple[float, float] = (0.0, 0.0)

    @property
    def far_side(self) -> str | None:
        if self.view != "side":
            return None
        return "R" if self.facing == "left" else "L"


def _nose(body: Body) -> np.ndarray:
    """A nose point about a head above the shoulders and a little forward (no head markers)."""
    mh, ms = body.mid_hip(), body.mid_shoulder()
    return ms + 0.45 * (ms - mh) + np.array([80.0, 0.0, 0.0])


def image_axes(cam: Camera) -> np.ndarray:
    """Rows: image x (right), image y (down), depth (away from camera) in (u, v, w)."""
    if cam.view == "rear":
        return np.array([[0.0, 0.0, 1.0], [0.0, -1.0, 0.0], [1.0, 0.0, 0.0]])
    if cam.facing == "left":  # camera on the runner's left, looking toward +w
        return np.array([[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
    return np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])


def project_body(
    body: Body, cam: Camera, times: np.ndarray, noise_px: float, rng: np.random.Generator
) -> np.ndarray:
    """Landmarks float32 [len(times), 33, 4] of the body at `times` (mocap time base)."""
    pts = {j: body.p[j] for j in LANDMARK_OF if j != "nose"}
    pts["nose"] = _nose(body)
    w, h = cam.image_size
    axes = image_axes(cam)
    foot_v = np.nanmin([np.nanmin(pts[f"{k}_{s}"][:, 1]) for k in ("heel", "toe") for s in "LR"])
    top_v = np.nanmax(pts["nose"][:, 1]) + 120.0  # nose to top of head
    scale = cam.body_fraction * h / (top_v - foot_v)  # px per mm
    centre = np.array([np.nanmean(body.mid_hip()[:, 0]), (top_v + foot_v) / 2,
                       np.nanmean(body.mid_hip()[:, 2])])
    lm = np.zeros((len(times), N_LANDMARKS, 4), np.float32)
    lm[:, :, :3] = np.nan
    for joint, idx in LANDMARK_OF.items():
        p = pts[joint]
        q = np.stack([np.interp(times, body.t, p[:, k]) for k in range(3)], axis=1) - centre
        img = q @ axes.T * scale  # px, relative to the image centre
        if cam.view == "side" and joint.startswith("hip_"):
            back = cam.hip_back[1] if joint.endswith("_" + str(cam.far_side)) else cam.hip_back[0]
            img[:, 0] += (1.0 if cam.facing == "left" else -1.0) * back * body.leg_mm * scale
        x = img[:, 0] + w / 2 + rng.normal(0.0, noise_px, len(times))
        y = img[:, 1] + h / 2 + rng.normal(0.0, noise_px, len(times))
        lm[:, idx, 0] = x / w
        lm[:, idx, 1] = y / h
        lm[:, idx, 2] = img[:, 2] / w  # BlazePose-like: x-normalised depth, smaller = nearer
        far = cam.far_side is not None and joint.endswith("_" + cam.far_side)
        vis = cam.far_visibility if far and joint.split("_")[0] in LEG_JOINTS else cam.visibility
        ok = np.isfinite(lm[:, idx, :3]).all(axis=1)
        lm[:, idx, 3] = np.where(ok, vis, 0.0)
        lm[~ok, idx, :3] = np.nan
    return lm


@dataclass(frozen=True, slots=True)
class SyntheticStream:
    """A projected stream plus its truth, both on the motion capture's own clock (the
    stream's `t` is the mocap time of each frame, so detected events compare directly
    with the force events)."""

    stream: PoseStream
    steps: tuple[Step, ...]
    events: tuple[GaitEvent, ...]
    phase_s: float  # mocap time of the stream's first frame


def synthesize(
    truth: Truth, cam: Camera, fps: float, noise_px: float, rng: np.random.Generator
) -> SyntheticStream:
    """Resample at `fps` from a random sub-frame start and project."""
    body = truth.body
    start = float(body.t[0] + rng.uniform(0.0, 1.0 / fps))
    n = int(np.floor((body.t[-1] - start) * fps)) + 1
    times = start + np.arange(n) / fps
    lm = project_body(body, cam, times, noise_px, rng)
    stream = PoseStream(times, lm, cam.image_size, cam.view, float(fps))
    return SyntheticStream(stream, truth.steps, truth.events, start)
