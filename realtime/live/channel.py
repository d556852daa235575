"""One camera of a live session: its source, its `Session`, and the worker thread that runs
capture -> pose -> metrics -> cue rules for it.

The worker knows nothing about the other camera, the display or the plan: it reports
every processed frame to its `ChannelHost` (the live session), which fuses, routes and
publishes.  Faults are judged here, by time: a camera that reopens itself is waited for
while it reconnects; a driver that stops answering altogether, a file that ends, or an
error ends this channel only, never the other camera's.
"""

from __future__ import annotations

import math
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Protocol

from realtime.capture import FrameTimeout
from realtime.config import CaptureConfig
from realtime.errors import UserError
from realtime.metrics.twoview import BodyTraceRecorder
from realtime.pipeline import Latency, PoseSource, Session
from realtime.types import Cue, Frame, LiveState, PoseSample, Step, View


@dataclass(eq=False)
class Channel:
    """One camera (or file) of a live session: its source, session and worker thread."""

    view: View
    source: PoseSource
    max_fps: float = 0.0  # 0: every frame it can take
    pose_file: str = "pose.npz"
    session: Session | None = None
    worker: threading.Thread | None = None
    error: str | None = None
    ended: bool = False
    stopped: bool = False  # ended because the session was told to stop (quit, --seconds)
    frame: Frame | None = None  # the newest, for the display
    pose: PoseSample | None = None
    live: LiveState | None = None
    body: BodyTraceRecorder | None = None
    capture_to_display: Latency = field(default_factory=lambda: Latency("capture->display"))
    t_first: float = math.nan  # monotonic, first and last frame processed
    t_last: float = math.nan
    dropped_at_start: int = 0  # frames the source dropped before the first was processed
    said_lost: int = 0  # camera losses already announced
    said_back: int = 0  # camera returns already announced

    @property
    def lost(self) -> str:
        """Why this camera gives nothing now ('' if it does)."""
        if self.stopped:
            return ""
        if self.ended and self.error:
            return f"{self.view} camera lost ({self.error})"
        if self.ended:
            return f"{self.view} camera ended"
        if self.live is not None and not self.live.has_pose:
            return f"{self.view} camera does not see the runner"
        return ""


class ChannelHost(Protocol):
    """What a channel's worker reports to: the live session."""

    stop: threading.Event
    paused: threading.Event

    def on_frame(self, ch: Channel, frame: Frame | None, sample: PoseSample, live: LiveState,
                 steps: list[Step], cues: list[Cue]) -> bool:
        """A processed frame; True ends this channel (the plan is done, --seconds)."""
        ...

    def on_waiting(self, ch: Channel) -> None:
        """No frame in time from a camera that is reconnecting (or about to)."""
        ...

    def on_ended(self, ch: Channel) -> None:
        """The worker has ended (its `error` says why, if it failed)."""
        ...


def run_worker(ch: Channel, host: ChannelHost, capture: CaptureConfig, t_start: float) -> None:
    """The worker thread's body: read, estimate, measure, report, until told to stop,
    the source ends, or it fails (kept in `ch.error`; what was recorded stays)."""
    session = ch.session
    assert session is not None
    slot_start = 0.0
    try:
        while not host.stop.is_set():
            if host.paused.is_set():
                time.sleep(0.02)
                continue
            if ch.max_fps > 0:  # one frame per slot: the frames meanwhile are dropped
                host.stop.wait(max(0.0, slot_start + 1.0 / ch.max_fps - time.monotonic()))
                slot_start = time.monotonic()
            try:
                item = ch.source.read(timeout=capture.read_timeout_s)
            except FrameTimeout as exc:
                if getattr(ch.source, "can_reconnect", False):
                    # a camera judges its own faults by time and reopens itself; only a
                    # driver that stopped answering altogether ends it here
                    silent = time.monotonic() - (ch.t_last if ch.t_last == ch.t_last
                                                 else t_start)
                    if not getattr(ch.source, "reconnecting", False) and \
                            silent > capture.lost_after_s + 2 * capture.read_timeout_s + 1.0:
                        ch.error = f"{exc}: the camera's driver stopped answering"
                        break
                    host.on_waiting(ch)  # lost, being reopened: said once, keep waiting
                    continue
                ch.error = f"{exc}: is the camera still connected?"
                break
            if item is None:
                break
            frame, sample = item
            live, steps, cues = session.process(sample)
            if host.on_frame(ch, frame, sample, live, steps, cues):
                ch.stopped = True
                break
    except UserError as exc:
        ch.error = str(exc)
    except Exception as exc:  # keep what was recorded; report the bug
        ch.error = f"internal error in the {ch.view} worker: {exc!r}"
        traceback.print_exc()
    finally:
        host.on_ended(ch)
