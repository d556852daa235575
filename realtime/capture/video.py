"""Video file replay: every frame, in order, stamped from the file's frame rate.

Analysis must be deterministic, so a frame's time is `seq / fps`, not when it was decoded.
Decoding runs in a thread with a bounded queue, which overlaps decode with pose estimation
on a second core.  With `realtime=True` the file plays like a live camera instead: frames
are released at the file's rate through a newest-only slot and may be dropped, exactly as
with a camera.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Self

from realtime.capture.camera import as_bgr
from realtime.capture.latest import Closed, FrameTimeout, LatestSlot
from realtime.clock import now_ns
from realtime.errors import SourceError
from realtime.types import Frame

_END = object()


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif"}


class VideoFileSource:
    """FrameSource for a video file (see the module docstring)."""

    def __init__(self, path: str | Path, realtime: bool = False, queue_size: int = 16) -> None:
        self.path = Path(path)
        self.realtime = realtime
        self.fps = 0.0
        self.size = (0, 0)
        self.frame_count = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(1, queue_size))
        self._slot: LatestSlot[Frame] = LatestSlot()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: str | None = None
        self.decoded = 0
        self._ended = False

    @property
    def dropped(self) -> int:
        return self._slot.dropped if self.realtime else 0

    def start(self) -> Self:
        import cv2

        if not self.path.exists():
            raise SourceError(f"video file not found: {self.path}")
        if self.path.is_dir():
            raise SourceError(f"{self.path} is a folder, not a video file")
        if self.path.suffix.lower() in IMAGE_SUFFIXES:
            raise SourceError(f"{self.path} is a still image, not a video: the metrics need "
                              "a video of the runner (a few strides at least)")
        # One decoder thread: decoding runs beside the pose model on these cores, and a
        # single FFmpeg thread costs ~15 % less CPU per frame while still decoding at
        # 250-280 fps (2026-12-02), six times what the model needs (bench/bench_pipeline.py).
        # Rotation metadata (a phone video filmed upright) is honoured explicitly: a
        # sideways picture would turn every sagittal angle by 90 degrees.  It is set after
        # opening: OpenCV 4.11 refuses CAP_PROP_ORIENTATION_AUTO as an open() parameter
        # (it logs an error and fails the open), and its default is off.
        cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
        if not cap.isOpened():
            cap = cv2.VideoCapture(str(self.path))  # a build without FFmpeg
        if not cap.isOpened():
            raise SourceError(f"cannot open {self.path} as a video (unknown format or codec)")
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
        fps = cap.get(cv2.CAP_PROP_FPS)
        ok, first = cap.read()
        img = as_bgr(first) if ok else None
        if img is None:
            cap.release()
            raise SourceError(f"cannot read any frame from {self.path}: not a playable video")
        if not (fps and 0 < fps < 1000):
            cap.release()
            raise SourceError(f"{self.path} reports no usable frame rate ({fps!r})")
        self.fps = float(fps)
        self.size = (int(img.shape[1]), int(img.shape[0]))
        self.frame_count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if self.frame_count == 1:
            cap.release()
            raise SourceError(f"{self.path} holds a single picture, not a video: the metrics "
                              "need a video of the runner (a few strides at least)")
        self._thread = threading.Thread(
            target=self._run, args=(cap, img), name="video-decode", daemon=True
        )
        self._thread.start()
        return self

    def _emit(self, frame: Frame) -> bool:
        if self.realtime:
            self._slot.put(frame)
            return True
        while not self._stop.is_set():
            try:
                self._queue.put(frame, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, cap: object, first: object) -> None:
        period_ns = 1e9 / self.fps
        base_ns = now_ns() if self.realtime else 0
        seq = 0
        img = first
        try:
            while img is not None and not self._stop.is_set():
                t_ns = base_ns + round(seq * period_ns)
                if self.realtime:
                    wait = (t_ns - now_ns()) * 1e-9
                    if wait > 0:
                        time.sleep(wait)
                if not self._emit(Frame(seq, t_ns, img)):
                    break
                self.decoded += 1
                seq += 1
                ok, raw = cap.read()  # type: ignore[attr-defined]
                img = as_bgr(raw) if ok else None
        except Exception as exc:
            self._error = f"decoding {self.path} failed at frame {seq}: {exc}"
        finally:
            cap.release()  # type: ignore[attr-defined]
            if self.realtime:
                self._slot.close()
            else:
                while not self._stop.is_set():
                    try:
                        self._queue.put(_END, timeout=0.1)
                        break
                    except queue.Full:
                        continue

    def read(self, timeout: float | None = None) -> Frame | None:
        if self._ended:
            return None
        try:
            if self.realtime:
                item: object = self._slot.get(timeout)
            else:
                item = self._queue.get(timeout=timeout)
        except Closed:
            item = _END
        except (queue.Empty, TimeoutError):
            raise FrameTimeout(f"{self.path}: no frame decoded within {timeout} s") from None
        if item is _END:
            self._ended = True
            if self._error:
                raise SourceError(self._error)
            return None
        return item  # type: ignore[return-value]

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
