"""The cameras and the pose model: `[capture]`, `[pose]`, `[two_view]`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from realtime.config.fields import rng


@dataclass(frozen=True, slots=True)
class CaptureConfig:
    camera_index: int = field(default=0, metadata=rng(0, 63, "cv2.VideoCapture index"))
    width: int = field(default=1280, metadata=rng(160, 3840, "requested camera width, px"))
    height: int = field(default=720, metadata=rng(120, 2160, "requested camera height, px"))
    fps: float = field(default=30.0, metadata=rng(5.0, 240.0, "requested camera frame rate"))
    read_timeout_s: float = field(
        default=2.0, metadata=rng(0.1, 60.0, "the worker waits this long for a frame before "
                                  "it checks on the camera")
    )
    lost_after_s: float = field(
        default=1.0, metadata=rng(0.05, 60.0, "no good frame for this long: the camera is "
                                  "lost, closed and reopened")
    )
    frozen_after_s: float = field(
        default=2.0, metadata=rng(0.1, 600.0, "the very same picture for this long (a "
                                  "driver repeating its last frame): the camera is lost")
    )
    reconnect_for_s: float = field(
        default=120.0, metadata=rng(0.0, 86_400.0, "a lost camera is reopened (back-off "
                                    "0.25 s doubling to 1 s) for this long before the "
                                    "session ends; 0: end at once")
    )
    replay_queue: int = field(default=16, metadata=rng(1, 1024, "file replay look-ahead"))
    behind_share: float = field(
        default=0.2,
        metadata=rng(0.01, 1.0, "live: when more than this share of the camera's frames "
                     "were dropped over the last 2 s, the screen says processing is falling "
                     "behind (against force, every metric meets its target with up to 20 % "
                     "of frames dropped; at 34 % knee flexion at contact and overstride do "
                     "not: python -m realtime.validation --fps 30 --noise 2 --keep 0.8 "
                     "0.66)"),
    )


@dataclass(frozen=True, slots=True)
class PoseConfig:
    model_complexity: int = field(
        default=1, metadata=rng(0, 2, "0 lite, 1 full (bundled, offline), 2 heavy")
    )
    min_detection_confidence: float = field(default=0.5, metadata=rng(0.0, 1.0))
    min_tracking_confidence: float = field(default=0.5, metadata=rng(0.0, 1.0))
    smooth_landmarks: bool = field(
        default=False,
        metadata={"doc": "MediaPipe's own smoothing; off because it lags and flattens peaks"},
    )
    foot_flow: bool = field(
        default=True,
        metadata={"doc": "measure each foot's pixel velocity (Lucas-Kanade flow, ~2 ms a "
                  "frame) and record it in the pose stream: contacts are then timed from the "
                  "shoe being dragged by the belt, not from BlazePose's early feet"},
    )

    threads: int = field(
        default=0,
        metadata=rng(0, 16, "TFLite (XNNPACK) threads of each of the model's two networks "
                     "(person detector, landmarks); 0: MediaPipe's default, 1 on Linux and "
                     "Windows desktops.  Set in the graph's InferenceCalculator options: "
                     "mediapipe's solutions API has no parameter for it"),
    )


@dataclass(frozen=True, slots=True)
class TwoViewConfig:
    """A session with a side and a rear camera (realtime.metrics.twoview)."""

    rear_max_fps: float = field(
        default=20.0,
        metadata=rng(0.0, 240.0, "live: the rear view's pose rate, frames/s (0: as fast as "
                     "it comes).  Two BlazePose models at full rate do not fit in 2 cores; "
                     "at 20 the side view kept its rate (27-28 fps) and the rear's pelvic "
                     "drop its accuracy (bench/bench_two_views.py, python -m "
                     "realtime.validation --two-view)"),
    )
    rear_threads: int = field(
        default=0,
        metadata=rng(0, 16, "live and analyze: the rear camera's pose model's TFLite threads "
                     "(0: as pose.threads); with rear_max_fps, how the two models share "
                     "the cores (bench/bench_two_views.py --threads)"),
    )
    one_model_at_a_time: bool = field(
        default=False,
        metadata={"doc": "live: the two cameras' pose models take turns instead of running "
                         "at once (measured slower here: 26-30 frames/s in all against ~45; "
                         "bench/bench_two_views.py --turns both)"},
    )
    max_clock_offset_s: float = field(
        default=2.0,
        metadata=rng(0.0, 60.0, "recordings: the rear-minus-side clock offset is searched "
                     "within +- this, s"),
    )
    offset_match_s: float = field(
        default=0.06,
        metadata=rng(0.005, 0.5, "a contact seen in both views pairs with the other view's "
                     "nearest contact of the same leg within this, s (the offset is their "
                     "median difference)"),
    )
    offset_min_pairs: int = field(
        default=8, metadata=rng(3, 10_000, "contacts in both views before an offset is "
                                "estimated")
    )
    offset_ambiguity_contacts: float = field(
        default=4.0,
        metadata=rng(0.0, 1000.0, "another offset (a whole stride away) whose misfit is "
                     "worse than the best by less than this many unmatched contacts makes "
                     "the estimate ambiguous (summary.json lists it); the best is used"),
    )
    step_match_s: float = field(
        default=0.1,
        metadata=rng(0.01, 0.5, "a side step and a rear step are one step when their "
                     "contacts (same leg, offset applied) are within this, s (a step is "
                     "~0.33 s)"),
    )
    step_wait_s: float = field(
        default=1.5,
        metadata=rng(0.1, 30.0, "live: a step waits this long (s, on the other view's clock) "
                     "for the other view's record of it before it is written alone"),
    )
    offset_every_s: float = field(
        default=5.0,
        metadata=rng(0.5, 600.0, "live recordings (no shared clock): re-estimate the offset "
                     "this often, s"),
    )

    def rear_pose(self, pose: PoseConfig) -> PoseConfig:
        """The rear camera's model settings: the side's, with its own thread count."""
        return dataclasses.replace(pose, threads=self.rear_threads or pose.threads)
