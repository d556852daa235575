"""What a live session watches besides the gait: a camera lost and back, the runner gone,
processing falling behind, and (in the warm-up) where the camera stands.

Each watchdog turns an observation into words for the screen (and, for a lost camera,
the voice and stderr), and the first two also act on the drill plan: its clock waits
while there is nothing to measure.  They run on the workers, under the session's lock.
"""

from __future__ import annotations

import math
import sys
import time
from collections import deque
from collections.abc import Callable

from realtime.config import CaptureConfig, DrillConfig
from realtime.feedback.cues import PlanClock
from realtime.feedback.placement import Check, light_levels, mean_luma, placement
from realtime.live.channel import Channel
from realtime.types import LiveState

# The lowest frame rate at which every metric meets its target against force (24 fps does,
# 20 fps does not: python -m realtime.validation --fps 20 24 --noise 2).  A machine that
# falls behind at 30 fps drops frames unevenly; a steady 24 fps measures better (30 fps
# with 20 % dropped at random: knee flexion at contact 2.5 deg, at a steady 24: 1.9-2.0).
ACCURATE_FPS = 24


class CameraWatch:
    """A camera lost (being reopened) and back: said once per loss, on screen, spoken and
    on stderr (a headless or muted session's log); the plan waits while the main camera
    is lost (nothing to measure)."""

    def __init__(self, capture: CaptureConfig, plan: PlanClock, two: bool,
                 flash: Callable[[str], None]) -> None:
        self.capture, self.plan, self.two, self.flash = capture, plan, two, flash
        self.announce: Callable[[str], None] | None = None  # speaks a notice (run_live)

    def _name(self, ch: Channel) -> str:
        return f"{ch.view} camera" if self.two else "camera"

    def lost(self, ch: Channel, main: bool) -> None:
        """The first time a loss is seen: say "camera lost", pause the plan."""
        losses = getattr(ch.source, "gaps", [])
        if len(losses) > ch.said_lost:
            ch.said_lost = len(losses)
            name = self._name(ch)
            if self.announce is not None:
                self.announce(f"{name} lost")
            print(f"realtime: {getattr(ch.source, 'status', '') or name + ' lost'}: "
                  f"reconnecting for up to {self.capture.reconnect_for_s:g} s",
                  file=sys.stderr, flush=True)
            if main and ch.live is not None:
                self.plan.pause(ch.live.t_s)

    def back(self, ch: Channel) -> None:
        """On a frame: a camera announced lost delivers again."""
        if ch.said_back < ch.said_lost:
            ch.said_back = ch.said_lost
            lost, back = getattr(ch.source, "gaps", [(math.nan, math.nan)])[-1]
            text = f"{self._name(ch)} back after {back - lost:.1f} s: the session goes on"
            self.flash(text)
            print(f"realtime: {text}", file=sys.stderr, flush=True)


class RunnerWatch:
    """The runner away: the plan's clock waits after `drill.pause_after_absent_s` and
    goes on when they are back; after `drill.end_after_absent_min` (or once the plan is
    done) the session ends by itself, saved."""

    def __init__(self, drill: DrillConfig, plan: PlanClock) -> None:
        self.drill, self.plan = drill, plan
        self._last_seen = math.nan  # stream time the runner was last in the picture

    def check(self, live: LiveState) -> str:
        """Main camera, every frame: the reason to end the session, or ''."""
        d = self.drill
        t = live.t_s
        if live.has_pose:
            self._last_seen = t
            if self.plan.paused:
                self.plan.resume(t)
        else:
            since = self._last_seen if self._last_seen == self._last_seen else \
                (self.plan.t0_s if self.plan.t0_s is not None else t)
            away = t - since
            if away >= d.pause_after_absent_s:
                self.plan.pause(t)
            if away >= 60.0 * d.end_after_absent_min:
                return f"the runner was away for {d.end_after_absent_min:g} min"
        if d.end_when_done and d.blocks > 0 and self.plan.at(t).name == "done":
            return "the drill plan is done"
        return ""


class FallingBehind:
    """Live: the share of camera frames dropped over the last ~2 s; above
    `capture.behind_share`, what to do about it."""

    def __init__(self, capture: CaptureConfig, live_timing: bool) -> None:
        self.capture, self.live_timing = capture, live_timing
        self._hist: deque[tuple[float, int, int]] = deque()  # (monotonic, frames, dropped)

    def check(self, frames: int, dropped: int, fps: float, now: float | None = None) -> str:
        """The notice for a camera that has processed `frames` and dropped `dropped` so
        far at a nominal `fps` (empty while it keeps up)."""
        if not self.live_timing:
            return ""
        now = time.monotonic() if now is None else now
        hist = self._hist
        hist.append((now, frames, dropped))
        while len(hist) > 2 and now - hist[1][0] >= 2.0:
            hist.popleft()
        t0, f0, d0 = hist[0]
        if now - t0 < 1.0:
            return ""
        got, lost = frames - f0, dropped - d0
        share = lost / (got + lost) if got + lost else 0.0
        if share <= self.capture.behind_share:
            return ""
        return f"falling behind: {100 * share:.0f} % of camera frames dropped; " + (
            f"close other programs, or set capture.fps = {ACCURATE_FPS}"
            if fps > ACCURATE_FPS + 0.5 else
            "close other programs, or lower capture.width")

    def clear(self) -> None:
        self._hist.clear()


def placement_checks(ch: Channel) -> tuple[Check, ...]:
    """Warm-up: is the camera placed well (realtime.feedback.placement)?"""
    image = ch.frame.image if ch.frame is not None else None
    lm = ch.pose.landmarks if ch.pose is not None and ch.pose.has_pose else None
    if image is None:
        return placement(lm, math.inf)
    return placement(lm, mean_luma(image), *light_levels(image, lm))
