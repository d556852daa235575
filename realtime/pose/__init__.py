"""Pose stage: frames -> PoseSample (33 BlazePose landmarks, or an explicit "no pose").

    estimator = MediaPipePose(cfg.pose)      # the backend is imported lazily
    sample = estimator.estimate(frame)
    estimator.close()

Pose-stream files (`stream.py`) record a session's samples so it can be re-analysed
without the model, and let other tools (motion capture, other models) feed the metrics.
"""

from __future__ import annotations

from typing import Protocol

from realtime.types import Frame, PoseSample


class PoseEstimator(Protocol):
    def estimate(self, frame: Frame) -> PoseSample:
        """The pose in `frame`; a sample with NaN landmarks when nobody is found."""

    def close(self) -> None:
        """Release the model."""
