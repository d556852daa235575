"""Live camera: a thread grabs continuously and keeps only the newest frame.

Pose estimation is slower than some cameras, and a runner wants feedback on what they are
doing now, not on a queue of old frames; so stale frames are dropped and counted (the
pattern of vidgear's CamGear).  Each frame is stamped with the monotonic clock right
after `grab()`, before the (slower) decode in `retrieve()`.

Faults are judged by time, not by counts (a fast-failing driver fails 30 reads in a few
milliseconds): no good frame for `capture.lost_after_s`, or the very same picture for
`capture.frozen_after_s`, and the camera is lost.  It is then closed and reopened with
a back-off (0.25 s doubling to 1 s) for up to `capture.reconnect_for_s`; frames resume in
the same session as soon as it delivers again, and `gaps` records each loss.
"""

from __future__ import annotations

import math
import threading
import time
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
        self.status = ""  # "camera lost (...)" while it is being reopened
        self.gaps: list[tuple[float, float]] = []  # (lost, back) monotonic s; nan: not back
        self.losses = 0
        self._slot_closed = False

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

    @property
    def reconnecting(self) -> bool:
        """The camera is lost and being reopened (the worker keeps waiting)."""
        return bool(self.status) and not self._slot_closed

    def _open_quiet(self) -> VideoCaptureLike | None:
        try:
            cap = self._factory(self.index)
        except Exception:  # a driver that throws while the device is away
            return None
        if cap is None or not cap.isOpened():
            if cap is not None:
                cap.release()
            return None
        return cap

    def _lose(self, cap: VideoCaptureLike, why: str) -> None:
        self.status = f"camera lost ({why})"
        self.gaps.append((time.monotonic(), math.nan))
        self.losses += 1
        cap.release()

    def _run(self) -> None:
        cap: VideoCaptureLike | None = self._cap
        seq = 0
        backoff = 0.25
        lost_at = 0.0
        last_good = time.monotonic()
        last_sig, sig_since = b"", last_good
        why = ""
        try:
            while not self._stop.is_set():
                if cap is None:  # lost: reopen with a back-off, for a while
                    if time.monotonic() - lost_at >= self.cfg.reconnect_for_s:
                        tail = (f"; not back after {self.cfg.reconnect_for_s:g} s"
                                if self.cfg.reconnect_for_s > 0 else "")
                        self._error = (f"camera {self.index} stopped delivering frames after "
                                       f"{self.grabbed} good ones ({why}{tail})")
                        return
                    self._stop.wait(backoff)
                    backoff = min(1.0, 2 * backoff)
                    cap = self._open_quiet()
                    self._cap = cap
                    last_good = time.monotonic()  # give it lost_after_s to deliver
                    continue
                ok = cap.grab()
                t_ns = now_ns()
                img = None
                if ok:
                    ok, raw = cap.retrieve()
                    img = as_bgr(raw) if ok else None
                    if ok and img is None:
                        self.bad_frames += 1
                now = time.monotonic()
                if img is None:
                    self.failed_reads += 1
                    if now - last_good >= self.cfg.lost_after_s:
                        why = f"no frame for {self.cfg.lost_after_s:g} s"
                        self._lose(cap, why)
                        cap, self._cap, lost_at = None, None, now
                    continue
                sig = img[::16, ::16].tobytes()
                if sig != last_sig:
                    last_sig, sig_since = sig, now
                elif now - sig_since >= self.cfg.frozen_after_s:
                    why = f"the same picture for {self.cfg.frozen_after_s:g} s"
                    self._lose(cap, why)
                    cap, self._cap, lost_at, last_sig = None, None, now, b""
                    continue
                last_good = now
                if self.status:  # back: the same session goes on
                    start, _ = self.gaps[-1]
                    self.gaps[-1] = (start, now)
                    self.status = ""
                    backoff = 0.25
                self.grabbed += 1
                self._slot.put(Frame(seq, t_ns, img))
                seq += 1
        except Exception as exc:  # a driver exception must not kill the session silently
            self._error = f"camera {self.index} failed: {exc}"
        finally:
            self._slot_closed = True
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
