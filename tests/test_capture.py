"""Capture sources without a camera: fake capture devices injected through the factory."""

from __future__ import annotations

import itertools
import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from realtime.capture import CameraSource, FrameTimeout, LatestSlot, VideoFileSource
from realtime.capture.latest import Closed
from realtime.clock import now_ns
from realtime.config import CaptureConfig
from realtime.errors import SourceError
from tests.conftest import data_file


class FakeCapture:
    """A scripted capture device: `script` yields images, None (failed read) or 'freeze'."""

    def __init__(self, script, delay_s: float = 0.0, opened: bool = True,
                 gate: threading.Event | None = None) -> None:
        self._it = iter(script)
        self.gate = gate  # if given, frames flow only once it is set
        self.delay_s = delay_s
        self.opened = opened
        self.released = False
        self.props: dict[int, float] = {}
        self._pending = None
        self.frozen = threading.Event()

    def isOpened(self) -> bool:
        return self.opened

    def grab(self) -> bool:
        if self.gate is not None:
            self.gate.wait()
        if self.delay_s:
            time.sleep(self.delay_s)
        item = next(self._it, None)
        if isinstance(item, str) and item == "freeze":
            self.frozen.set()
            time.sleep(3600)
        self._pending = item
        return item is not None

    def retrieve(self):
        item = self._pending
        return (item is not None, item)

    def set(self, prop: int, value: float) -> bool:
        self.props[prop] = value
        return True

    def get(self, prop: int) -> float:
        return self.props.get(prop, 0.0)

    def release(self) -> None:
        self.released = True


def img(value: int, shape=(48, 64, 3)) -> np.ndarray:
    return np.full(shape, value % 256, np.uint8)


CFG = CaptureConfig(lost_after_s=0.2, reconnect_for_s=0.0)


def drain(src: CameraSource, last_seq: int, pause_s: float = 0.0) -> list:
    """Read until the frame with `last_seq` arrives (a camera has no end of stream)."""
    frames = []
    while True:
        frame = src.read(timeout=2.0)
        assert frame is not None
        frames.append(frame)
        if frame.seq == last_seq:
            return frames
        time.sleep(pause_s)


def test_latest_slot_keeps_newest_and_counts_drops() -> None:
    slot: LatestSlot[int] = LatestSlot()
    for i in range(5):
        slot.put(i)
    assert slot.get(0.1) == 4
    assert slot.dropped == 4
    with pytest.raises(TimeoutError):
        slot.get(0.01)
    slot.put(7)
    slot.close()
    assert slot.get(0.1) == 7  # an item put before close is still delivered
    with pytest.raises(Closed):
        slot.get(0.1)


def test_camera_open_failure_is_a_clear_error() -> None:
    src = CameraSource(CFG, index=3, capture_factory=lambda i: FakeCapture([], opened=False))
    with pytest.raises(SourceError, match="cannot open camera 3"):
        src.start()


def test_camera_slow_consumer_gets_newest_frames_and_drops_are_counted() -> None:
    n = 200
    fake = FakeCapture([img(i) for i in range(n)], delay_s=0.001)
    src = CameraSource(CFG, capture_factory=lambda i: fake).start()
    seen = drain(src, n - 1, pause_s=0.02)  # a consumer much slower than the camera
    src.stop()
    seqs = [f.seq for f in seen]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert len(seen) < n / 2  # most frames were stale and dropped
    assert src.grabbed == n
    assert src.dropped == n - len(seen)  # every grabbed frame was either read or counted
    assert seen[-1].seq == n - 1  # the newest frame is never lost
    times = [f.t_capture_ns for f in seen]
    assert all(b > a for a, b in itertools.pairwise(times))
    # the pixel content travels with its sequence number
    assert all(int(f.image[0, 0, 0]) == f.seq % 256 for f in seen)
    assert fake.released


def test_camera_fast_consumer_drops_nothing() -> None:
    n = 30
    fake = FakeCapture([img(i) for i in range(n)], delay_s=0.01)
    src = CameraSource(CFG, capture_factory=lambda i: fake).start()
    seqs = [f.seq for f in drain(src, n - 1)]
    src.stop()
    assert seqs == list(range(n))
    assert src.dropped == 0


def test_camera_bad_frames_are_skipped_and_counted() -> None:
    script = [img(0), np.zeros((0, 0, 3), np.uint8), img(1), np.zeros((4, 4), np.float32),
              img(2, shape=(48, 64)), img(3, shape=(48, 64, 4))]
    fake = FakeCapture(script, delay_s=0.005)
    src = CameraSource(CFG, capture_factory=lambda i: fake).start()
    frames = drain(src, 3)
    src.stop()
    assert src.bad_frames == 2
    assert all(f.image.shape == (48, 64, 3) for f in frames)  # gray and BGRA converted
    seqs = [f.seq for f in frames]  # a slow reader may miss some, never reorder them
    assert seqs == sorted(set(seqs)) and seqs[-1] == 3
    assert len(frames) + src.dropped == 4


def test_camera_failing_mid_stream_raises_a_clear_error() -> None:
    script = [img(i) for i in range(10)] + [None] * 10
    fake = FakeCapture(script, delay_s=0.002)
    src = CameraSource(CFG, capture_factory=lambda i: fake).start()
    got = 0
    with pytest.raises(SourceError, match=r"stopped delivering frames after 10 good ones"):
        while src.read(timeout=2.0) is not None:
            got += 1
    assert 1 <= got <= 10
    src.stop()


def test_camera_that_freezes_times_out_instead_of_hanging() -> None:
    fake = FakeCapture([img(0), img(1), "freeze"], delay_s=0.0)
    src = CameraSource(CFG, capture_factory=lambda i: fake).start()
    assert src.read(timeout=2.0) is not None
    assert fake.frozen.wait(2.0)
    with pytest.raises(FrameTimeout, match="no frame"):
        for _ in range(3):  # at most one more buffered frame, then silence
            src.read(timeout=0.2)
    stopper = threading.Thread(target=src.stop)  # must return despite the stuck grab()
    stopper.start()
    stopper.join(timeout=60)
    assert not stopper.is_alive()
    assert not fake.released  # never release a device under a blocked grab()


def test_video_file_every_frame_with_file_rate_timestamps() -> None:
    path = data_file("videos/walk_rear.mp4")
    src = VideoFileSource(path, queue_size=4).start()
    assert src.size == (960, 540)
    assert src.fps == pytest.approx(23.976, abs=0.01)
    seqs, times = [], []
    while (frame := src.read(timeout=10.0)) is not None:
        seqs.append(frame.seq)
        times.append(frame.t_capture_ns)
        time.sleep(0.001)
    src.stop()
    assert seqs == list(range(178))
    assert src.dropped == 0
    expected = [round(i * 1e9 / src.fps) for i in range(178)]
    assert times == expected
    assert src.read(timeout=0.1) is None  # stays ended


def test_video_file_realtime_mode_drops_like_a_camera() -> None:
    path = data_file("videos/walk_rear.mp4")
    src = VideoFileSource(path, realtime=True).start()
    seqs = []
    while (frame := src.read(timeout=10.0)) is not None:
        # paced like a camera: a frame is never handed out before its capture time
        assert now_ns() >= frame.t_capture_ns
        seqs.append(frame.seq)
        time.sleep(0.1)  # slower than the file's 24 fps
    src.stop()
    assert len(seqs) < 178 and src.dropped > 0
    assert len(seqs) + src.dropped == 178
    assert seqs == sorted(seqs)


def rotated_copy(src: Path, dst: Path) -> Path:
    """`src` with its first track header's matrix set to a 90 degree turn, the way a phone
    marks a video filmed upright (what `ffmpeg -metadata:s:v rotate=90` writes)."""
    data = bytearray(src.read_bytes())
    at = data.find(b"tkhd")
    assert at > 0 and data[at + 4] == 0  # a version-0 track header
    # size+'tkhd' | version, flags | 5 x 32-bit times/ids | 8 reserved | 4 x 16-bit | matrix
    m = at + 4 + 4 + 20 + 8 + 8
    assert struct.unpack(">9i", data[m:m + 36]) == (1 << 16, 0, 0, 0, 1 << 16, 0, 0, 0, 1 << 30)
    data[m:m + 36] = struct.pack(">9i", 0, 1 << 16, 0, -(1 << 16), 0, 0, 0, 0, 1 << 30)
    dst.write_bytes(data)
    return dst


def test_video_file_rotation_metadata_is_honoured(tmp_path) -> None:
    """A phone video filmed upright is stored sideways with a rotation in its header; it
    must be decoded upright, and a video without one must be left as it is."""
    import cv2

    src = data_file("videos/walk_rear.mp4")
    raw = cv2.VideoCapture(str(src))
    ok, stored = raw.read()
    raw.release()
    assert ok
    turned = rotated_copy(src, tmp_path / "rot90.mp4")
    probe = cv2.VideoCapture(str(turned))
    assert probe.get(cv2.CAP_PROP_ORIENTATION_META) == 90  # the copy is marked as meant
    probe.release()
    for path, want in ((turned, cv2.rotate(stored, cv2.ROTATE_90_CLOCKWISE)), (src, stored)):
        video = VideoFileSource(path).start()
        frame = video.read(timeout=10.0)
        video.stop()
        assert frame is not None
        assert video.size == (want.shape[1], want.shape[0])
        assert np.array_equal(frame.image, want)


@pytest.mark.parametrize(
    ("name", "match"),
    [("missing.mp4", "not found"), ("notavideo.mp4", "cannot")],
)
def test_video_file_errors(tmp_path, name, match) -> None:
    path = tmp_path / name
    if name == "notavideo.mp4":
        path.write_text("this is not a video")
    with pytest.raises(SourceError, match=match):
        VideoFileSource(path).start()
