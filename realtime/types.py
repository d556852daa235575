"""Frozen records that cross stage and thread boundaries.

Every stage of capture -> pose -> metrics -> feedback knows only the types of the stage
before it, and these are those types.  They are immutable so that a record handed to
another thread can never change under it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from realtime.config import CuesConfig

N_LANDMARKS = 33

View = Literal["side", "rear"]
Leg = Literal["L", "R"]
VIEWS: tuple[View, ...] = ("side", "rear")


class Landmark:
    """BlazePose landmark indices (the person's own left/right)."""

    NOSE = 0
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


# Pairs drawn as the skeleton (shared by the display and any plot).
SKELETON_EDGES: tuple[tuple[int, int], ...] = (
    (11, 12), (11, 23), (12, 24), (23, 24),
    (11, 13), (13, 15), (12, 14), (14, 16),
    (23, 25), (25, 27), (27, 29), (29, 31), (27, 31),
    (24, 26), (26, 28), (28, 30), (30, 32), (28, 32),
)  # fmt: skip
# The edges of each leg (the person's own left / right), drawn in the leg's own colour so
# that anyone watching sees when the pose model puts one leg on the other.
_LEFT_LEG = {23, 25, 27, 29, 31}
_RIGHT_LEG = {24, 26, 28, 30, 32}
LEG_EDGES: dict[str, tuple[tuple[int, int], ...]] = {
    "L": tuple(e for e in SKELETON_EDGES if set(e) <= _LEFT_LEG),
    "R": tuple(e for e in SKELETON_EDGES if set(e) <= _RIGHT_LEG),
}
TRUNK_EDGES: tuple[tuple[int, int], ...] = tuple(
    e for e in SKELETON_EDGES if not (set(e) <= _LEFT_LEG or set(e) <= _RIGHT_LEG))


@dataclass(frozen=True, slots=True)
class Frame:
    """One camera or file frame.

    `t_capture_ns` is a monotonic time: taken at grab for a camera, derived from the
    frame index and the file's frame rate for a replayed file (so analysis is
    deterministic).  `image` is uint8 HxWx3 in OpenCV's BGR order.
    """

    seq: int
    t_capture_ns: int
    image: np.ndarray

    def __post_init__(self) -> None:
        img = self.image
        if not (isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3
                and img.shape[2] == 3):
            raise ValueError(
                f"Frame.image must be a uint8 HxWx3 array, got "
                f"{getattr(img, 'dtype', type(img))} {getattr(img, 'shape', '')}"
            )

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])


@dataclass(frozen=True, slots=True)
class PoseSample:
    """The pose found in one frame.

    A frame without a person is an explicit sample with NaN x/y and zero visibility
    (never None and never an exception), so that downstream code sees the gap in time.
    `landmarks` is float32 [33, 4] = x, y (normalised to the image, x right, y down),
    z, visibility.  `world` is float32 [33, 3] metres or None.
    """

    seq: int
    t_capture_ns: int
    t_pose_ns: int
    landmarks: np.ndarray
    world: np.ndarray | None = None
    image_size: tuple[int, int] = (0, 0)
    # seconds on the input's own clock when it has one (a recorded pose stream's `t`);
    # NaN for a camera or video, whose time counts from the first frame
    t_source_s: float = math.nan
    # pixel evidence of the feet (realtime.pose.footflow): float32 [2, 4] per BlazePose
    # leg (vx, vy in image sizes per second, features, spread), or None if not measured
    foot_flow: np.ndarray | None = None

    def __post_init__(self) -> None:
        lm = self.landmarks
        if not (isinstance(lm, np.ndarray) and lm.shape == (N_LANDMARKS, 4)
                and lm.dtype == np.float32):
            raise ValueError(
                f"PoseSample.landmarks must be float32 [33, 4], got "
                f"{getattr(lm, 'dtype', type(lm))} {getattr(lm, 'shape', '')}"
            )
        if self.world is not None and getattr(self.world, "shape", None) != (N_LANDMARKS, 3):
            raise ValueError(f"PoseSample.world must be [33, 3] or None, got {self.world!r:.60}")
        if self.foot_flow is not None and getattr(self.foot_flow, "shape", None) != (2, 4):
            raise ValueError(
                f"PoseSample.foot_flow must be [2, 4] or None, got {self.foot_flow!r:.60}")

    @property
    def has_pose(self) -> bool:
        return not bool(np.isnan(self.landmarks[:, 0]).all())

    @staticmethod
    def empty_landmarks() -> np.ndarray:
        lm = np.zeros((N_LANDMARKS, 4), np.float32)
        lm[:, :3] = np.nan
        return lm

    @classmethod
    def no_pose(
        cls, seq: int, t_capture_ns: int, t_pose_ns: int, image_size: tuple[int, int]
    ) -> PoseSample:
        return cls(seq, t_capture_ns, t_pose_ns, cls.empty_landmarks(), None, image_size)


@dataclass(frozen=True, slots=True)
class GaitEvent:
    """Initial contact ("IC") or toe-off ("TO") of one leg.

    `t_s` is when it happened (stream seconds, sub-frame); `t_detected_s` is the stream
    time of the frame at which the online detector could first say so.  `source` says
    how it was timed: "foot" from the foot's own motion, "body" from the body's lowest
    point and a learned delay (a foot the camera could not see land).
    """

    kind: Literal["IC", "TO"]
    leg: Leg
    t_s: float
    t_detected_s: float
    confidence: float
    source: Literal["foot", "body"] = "foot"


NAN = math.nan


@dataclass(frozen=True, slots=True)
class Step:
    """One step: from an initial contact of `leg` to the next contact of the other foot.

    Field names are the columns of `steps.csv`.  A metric that the view cannot measure
    is NaN (an empty cell), never a guess.  A metric that was measured but cannot be
    trusted (its landmarks were hidden, or its contact was timed from the body instead of
    the foot) is named in `unreliable`: the summary, the cues and the display skip it.
    """

    leg: Leg
    t_contact_s: float
    cadence_spm: float = NAN
    knee_drive_deg: float = NAN
    knee_height_pct: float = NAN
    knee_flexion_ic_deg: float = NAN
    overstride_pct: float = NAN
    trunk_lean_deg: float = NAN
    vertical_oscillation_pct: float = NAN
    hip_sway_pct: float = NAN
    pelvic_drop_deg: float = NAN
    confidence: float = 0.0
    unreliable: frozenset[str] = frozenset()
    # Not a CSV column: stream time at which the step record became available.
    t_detected_s: float = field(default=NAN, compare=False)

    def reliable(self, name: str) -> bool:
        """The metric was measured and can be trusted."""
        v = getattr(self, name)
        return v == v and name not in self.unreliable

    def leg_of(self, name: str) -> Leg:
        """The leg metric `name` describes: the contacting leg, except for the swing
        metrics (knee drive, knee height), which are the other leg's swing during this
        step.  Per-leg medians, plots and asymmetries split by this, not by `leg`."""
        if name in SWING_METRICS:
            return "R" if self.leg == "L" else "L"
        return self.leg

    def __post_init__(self) -> None:
        if self.leg not in ("L", "R"):
            raise ValueError(f"Step.leg must be 'L' or 'R', got {self.leg!r}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"Step.confidence must be in [0, 1], got {self.confidence}")
        bad = set(self.unreliable) - set(STEP_METRICS)
        if bad:
            raise ValueError(f"Step.unreliable names unknown metrics: {sorted(bad)}")


STEP_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Step) if f.name != "t_detected_s")
STEP_METRICS: tuple[str, ...] = STEP_COLUMNS[2:-2]  # the per-step metric columns
SWING_METRICS: tuple[str, ...] = ("knee_drive_deg", "knee_height_pct")  # the other leg's
# Which camera measures what (cadence comes from either): a two-camera session takes
# each metric from the view that measures it.
SIDE_METRICS: tuple[str, ...] = (
    "knee_drive_deg", "knee_height_pct", "knee_flexion_ic_deg", "overstride_pct",
    "trunk_lean_deg", "vertical_oscillation_pct",
)  # fmt: skip
REAR_METRICS: tuple[str, ...] = ("hip_sway_pct", "pelvic_drop_deg")
VIEW_METRICS: dict[str, tuple[str, ...]] = {"side": SIDE_METRICS, "rear": REAR_METRICS}


@dataclass(frozen=True, slots=True)
class Swing:
    """A swing's peak thigh flexion, final as soon as the thigh comes back down.

    The knee-drive cue acts on this, about 0.1 s after the peak, instead of waiting for
    the step to end; the step that holds this swing carries the same value.
    """

    leg: Leg  # the swinging leg
    t_peak_s: float
    knee_drive_deg: float
    knee_height_pct: float
    reliable: bool
    t_detected_s: float


@dataclass(frozen=True, slots=True)
class LiveState:
    """Per-frame metrics for the display and the continuous tone (not per step)."""

    t_s: float
    has_pose: bool
    knee_height_pct: float = NAN  # current height of the higher knee vs hip, % thigh
    thigh_flexion_deg: float = NAN  # current flexion of the more flexed thigh
    facing: int = 0  # +1 runner faces image-right, -1 image-left, 0 unknown


@dataclass(frozen=True, slots=True)
class Cue:
    """A feedback decision: what to say (or sound) and how urgent it is."""

    kind: str
    text: str
    priority: int
    t_ns: int
    positive: bool = False


@dataclass(frozen=True, slots=True)
class ViewImage:
    """The second camera's newest picture, drawn beside (or inset in) the main one."""

    view: View
    frame: Frame | None
    pose: PoseSample | None
    has_pose: bool
    status: str = ""  # e.g. "camera lost": shown over the picture instead of a skeleton


@dataclass(frozen=True, slots=True)
class DisplayState:
    """Everything the display draws for one frame, published by the worker thread.

    The worker replaces it in a one-slot holder; the pygame loop reads the newest one
    without blocking, so a slow display never slows capture or pose.
    """

    t_s: float  # session stream time
    frame: Frame | None  # None in headless/pose-stream replay
    pose: PoseSample | None
    live: LiveState
    steps: tuple[Step, ...] = ()  # recent history, oldest first
    cue: Cue | None = None  # the newest cue (shown until replaced or stale)
    phase: str = ""  # drill phase, e.g. "warm-up", "drill 2/4"
    fps: float = 0.0  # processing rate
    dropped: int = 0  # stale camera frames dropped so far
    cadence_spm: float = NAN  # the current cadence (metrics stage, last whole strides)
    knee_drive_deg: float = NAN  # the newest trusted swing's knee drive
    second: ViewImage | None = None  # a two-camera session's other view
    notice: str = ""  # e.g. which metrics a lost camera leaves unavailable
    fresh_view: str = ""  # whose new frame made this state (latency per camera)
    # thresholds in effect when the worker changed them (calibration from the baseline);
    # the display adopts them when `thresholds_version` grows
    thresholds: CuesConfig | None = None
    thresholds_version: int = 0
    views: tuple[str, ...] = ("side",)  # the session's cameras: only their metrics are shown
    phase_name: str = ""  # the plan's phase ("warm-up", "drill", ...) for the display
    placement: tuple = ()  # warm-up: realtime.feedback.placement.Check results
