"""Live camera: a thread grabs continuously and keeps only the newest frame.

Pose estimation is slower than some cameras, and a runner wants feedback on what they are
doing now, not on a queue of old frames; so stale frames are dropped and counted (the
pattern of vidgear's CamGear).  Each frame is stamped with the monotonic clock right
after `grab()`, before the (slower) decode in `retrieve()`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol, Self

import numpy as np

from realtime.capture.latest import Closed, FrameTimeout, LatestSlot
from realtime.clock import now_ns
from realtime.config import CaptureConfig
from realtime.errors import SourceError
from realtime.types import Frame


class VideoCaptureLike(Protocol):
    """The part of cv2.VideoCapture we use (fakes implement this in tests)."""

    def isOpened(self) -> bool: ...
    def grab(self) -> bool: ...
    def retrieve(self) -> tuple[bool, Any]: ...
    def set(self, prop: int, value: float) -> bool: ...
    def get(self, prop: int) -> float: ...
    def release(self) -> None: ...


def _opencv_capture(index: int) -> VideoCaptureLike:
    import cv2

    # OpenCV logs its own "can't open camera" lines; we report a failure in one clear line.
    previous = cv2.getLogLevel()
    cv2.setLogLevel(0)  # 0 = silent
    try:
        return cv2.VideoCapture(index)
    finally:
        cv2.setLogLevel(previous)


def as_bgr(img: Any) -> np.ndarray | None:
    """Coerce what a driver returned into uint8 HxWx3 BGR, or None if it is not an image."""
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.size == 0:
        return None
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = np.ascontiguousarray(img[:, :, :3])
    elif not (img.ndim == 3 and img.shape[2] == 3):
        return None
    return img


class CameraSource:
    """FrameSource for a webcam (newest frame only; see the module docstring)."""

    def __init__(
        self,
        cfg: CaptureConfig,
        index: int | None = None,
        capture_factory: Callable[[int], VideoCaptureLike] = _opencv_capture,
    ) -> None:
        self.cfg = cfg
        self.index = cfg.camera_index if index is None else index
        self._factory = capture_factory
        self._cap: VideoCaptureLike | None = None
        self._slot: LatestSlot[Frame] = LatestSlot()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: str | None = None
        self.fps = cfg.fps
        self.size = (cfg.width, cfg.height)
        self.grabbed = 0
        self.bad_frames = 0
        self.failed_reads = 0

    @property
    def dropped(self) -> int:
        return self._slot.dropped

    def start(self) -> Self:
        cap = self._factory(self.index)
        if cap is None or not cap.isOpened():
            if cap is not None:
                cap.release()
            raise SourceError(
                f"cannot open camera {self.index}: is it connected and not used by another "
                f"program? (try --camera N with another index, or --video FILE)"
            )
        import cv2

        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.cfg.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.cfg.height)
        cap.set(cv2.CAP_PROP_FPS, self.cfg.fps)
        w, h, fps = (cap.get(p) for p in (cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT,
                                           cv2.CAP_PROP_FPS))
        if w > 0 and h > 0:
            self.size = (int(w), int(h))
        if fps and fps > 0:
            self.fps = float(fps)
        self._cap = cap
        self._thread = threading.Thread(target=self._run, name="camera", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        assert self._cap is not None
        seq = 0
        failures = 0
        try:
            while not self._stop.is_set():
                ok = self._cap.grab()
                t_ns = now_ns()
                img = None
                if ok:
                    ok, raw = self._cap.retrieve()
                    img = as_bgr(raw) if ok else None
                    if ok and img is None:
                        self.bad_frames += 1
                if img is None:
                    failures += 1
                    self.failed_reads += 1
                    if failures >= self.cfg.max_failed_reads:
                        self._error = (
                            f"camera {self.index} stopped delivering frames after "
                            f"{self.grabbed} good ones ({failures} failed reads in a row)"
                        )
                        return
                    continue
                failures = 0
                self.grabbed += 1
                self._slot.put(Frame(seq, t_ns, img))
                seq += 1
        except Exception as exc:  # a driver exception must not kill the session silently
            self._error = f"camera {self.index} failed: {exc}"
        finally:
            self._slot.close()

    def read(self, timeout: float | None = None) -> Frame | None:
        try:
            return self._slot.get(timeout)
        except Closed:
            if self._error and not self._stop.is_set():
                raise SourceError(self._error) from None
            return None
        except TimeoutError:
            raise FrameTimeout(
                f"camera {self.index} delivered no frame for {timeout:.1f} s"
            ) from None

    def stop(self) -> None:
        self._stop.set()
        t = self._thread
        if t is not None:
            t.join(timeout=2.0)
            if t.is_alive():  # a frozen driver: never release under a blocked grab()
                return
        if self._cap is not None:
            self._cap.release()
            self._cap = None
