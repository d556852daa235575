"""Capture stage: cameras and video files behind one small protocol.

    source = CameraSource(cfg.capture).start()     # newest frame only, drops counted
    source = VideoFileSource(path).start()         # every frame, file-rate timestamps
    while (frame := source.read(timeout=2.0)) is not None:
        ...
    source.stop()

Nothing here knows about poses or gait.
"""

from __future__ import annotations

from typing import Protocol, Self

from realtime.types import Frame


class FrameSource(Protocol):
    fps: float  # nominal frame rate
    size: tuple[int, int]  # (width, height)

    def start(self) -> Self:
        """Open the device or file and start reading; raises SourceError if it cannot."""

    def read(self, timeout: float | None = None) -> Frame | None:
        """The next frame; None at the end of the stream; FrameTimeout if none in time."""

    def stop(self) -> None:
        """Stop reading and release the device; safe to call twice."""

    @property
    def dropped(self) -> int:
        """Frames overwritten before anyone read them (0 for file replay)."""


from realtime.capture.camera import CameraSource  # noqa: E402
from realtime.capture.latest import FrameTimeout, LatestSlot  # noqa: E402
from realtime.capture.video import VideoFileSource  # noqa: E402

__all__ = ["CameraSource", "FrameSource", "FrameTimeout", "LatestSlot", "VideoFileSource"]
