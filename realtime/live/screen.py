"""What the screen shows of a live session, and the main thread's loops.

- `StatePublisher` (workers, under the session's lock): the newest `DisplayState` from
  the main camera (or the one left), with the step history, the newest cue and knee
  drive, and the notices of the watchdogs, into a one-slot holder;
- `display_loop` (main thread): draws the newest state at the display rate, turns keys
  into actions, and measures capture -> displayed per camera;
- `end_screen`: the end-of-session summary until a key or its time is up;
- `open_display`: a pygame window, or None (headless) with one line saying why.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from realtime.capture import LatestSlot
from realtime.capture.latest import Closed
from realtime.clock import now_ns
from realtime.config import Config
from realtime.feedback.cues import PlanClock
from realtime.feedback.display import Display, Mute, Pause, Quit, SaveTargets, ThresholdChange
from realtime.live.channel import Channel
from realtime.live.cue_routing import CueController
from realtime.live.watchdogs import FallingBehind, placement_checks
from realtime.types import Cue, DisplayState, Step, ViewImage

HISTORY_STEPS = 60
# what a lost camera takes away, as the display says it
VIEW_NOUNS = {"side": "knee drive, knee flexion at contact, overstride",
              "rear": "hip sway, pelvic drop"}


class StatePublisher:
    """Builds the display state the workers publish (always under the session's lock)."""

    def __init__(self, channels: list[Channel], plan: PlanClock, cues: CueController,
                 behind: FallingBehind, offset_of: Callable[[str], float]) -> None:
        self.channels, self.plan, self.cues = channels, plan, cues
        self.behind, self.offset_of = behind, offset_of
        self.two = len(channels) > 1
        self.states: LatestSlot[DisplayState] = LatestSlot()
        self.history: deque[Step] = deque(maxlen=HISTORY_STEPS)
        self.preview: tuple[Step, ...] = ()  # steps still waiting for the other view
        self.last_cue: Cue | None = None
        self.knee = math.nan  # the newest trusted swing's knee drive
        self.thresholds_version = 0  # grows when the worker changes the thresholds
        self.t_start = 0.0  # monotonic, when the workers started
        self._flash: tuple[str, float] = ("", 0.0)  # a notice and until when (monotonic)

    def flash(self, text: str, seconds: float = 5.0) -> None:
        """A short notice on the display (any thread)."""
        self._flash = (text, time.monotonic() + seconds)

    def note(self, ch: Channel, cues: list[Cue]) -> None:
        """A processed frame's cue and, from the main view, its newest trusted swing."""
        if cues:
            self.last_cue = cues[-1]
        if ch is self.channels[0]:
            session = ch.session
            assert session is not None
            for sw in reversed(session.swings[-2:]):
                if sw.reliable:
                    self.knee = sw.knee_drive_deg
                    break

    def _notices(self, main: Channel, frames: int) -> list[str]:
        channels = self.channels
        notices = [n for n in (c.lost for c in channels) if n] if self.two else []
        if self.two and notices:
            gone = [c.view for c in channels if c.lost]
            notices.append(" and ".join(VIEW_NOUNS[v] for v in gone) + " unavailable")
        flash, until = self._flash
        if flash and time.monotonic() < until:
            notices.insert(0, flash)
        behind = self.behind.check(frames, main.source.dropped, main.source.fps)
        if behind:
            notices.insert(0, behind)
        lost = [f"{getattr(c.source, 'status', '')}: reconnecting" for c in channels
                if getattr(c.source, "status", "")]
        if lost:
            notices[:0] = lost
        elif self.plan.paused:
            notices.insert(0, "waiting for the runner: the plan, the metrics and the cues "
                              "go on when you are back")
        return notices

    def publish(self, fresh: Channel) -> None:
        """The display state from the main camera (or the one left)."""
        main = self.channels[0]
        if main.ended and self.two and not self.channels[1].ended:
            main = self.channels[1]
        other = next((c for c in self.channels if c is not main), None)
        if main.live is None:
            return
        session = main.session
        assert session is not None
        dt = time.monotonic() - self.t_start
        notices = self._notices(main, session.frames)
        second = None
        if other is not None and (other.frame is not None or other.pose is not None):
            status = ("camera lost" if other.error else "camera ended") if (
                other.ended and not other.stopped) else ""
            second = ViewImage(other.view, other.frame, other.pose,
                               bool(other.live and other.live.has_pose), status)
        t_s = main.live.t_s - self.offset_of(main.view)
        phase = self.plan.at(t_s)
        self.states.put(DisplayState(
            t_s=t_s, frame=main.frame, pose=main.pose, live=main.live,
            steps=(*self.history, *self.preview)[-HISTORY_STEPS:], cue=self.last_cue,
            phase=phase.text,
            fps=session.frames / dt if dt > 0 else 0.0, dropped=main.source.dropped,
            cadence_spm=session.analyzer.current_cadence_spm, knee_drive_deg=self.knee,
            second=second, notice="; ".join(notices), fresh_view=fresh.view,
            thresholds=self.cues.cues_cfg if self.thresholds_version else None,
            thresholds_version=self.thresholds_version,
            views=tuple(c.view for c in self.channels if not (c.ended and c.error)),
            phase_name=phase.name,
            placement=placement_checks(main) if phase.name == "warm-up" else (),
        ))


def display_loop(display: Display, states: LatestSlot[DisplayState], stop: threading.Event,
                 channels: list[Channel], on_action: Callable[[object], None]) -> None:
    """Main thread: draw the newest state at the display rate until quit or the end."""
    period = 1.0 / 60.0
    idle_redraw_s = 0.1  # without new states: keys and the clock still answer
    last: DisplayState | None = None
    drawn_at = -1.0
    by_view = {ch.view: ch for ch in channels}
    while not stop.is_set():
        fresh = False
        try:
            last = states.get(timeout=period)
            fresh = True
        except TimeoutError:
            pass
        except Closed:
            break
        if not fresh and time.monotonic() - drawn_at < idle_redraw_s:
            continue  # nothing new: a full redraw would only take CPU from the model
        drawn_at = time.monotonic()
        actions = display.render(last)
        if fresh and last is not None:  # drawn and flipped: the fresh camera's frame
            second = last.second
            shown = second.frame if (second is not None and
                                     last.fresh_view == second.view) else last.frame
            ch = by_view.get(last.fresh_view)
            if shown is not None and ch is not None:
                ch.capture_to_display.add(now_ns() - shown.t_capture_ns)
        for action in actions:
            on_action(action)


def end_screen(display: Display, lines: list[tuple[str, str]], title: str, report_ref: str,
               save_targets: Callable[[], str], seconds: float,
               screenshot: Path | None) -> None:
    """The end-of-session summary, until a key (S saves the targets) or `seconds`."""
    hint = (f"any key closes   s save targets to the profile   report: {report_ref} "
            "--out FILE.html")
    shown: list[tuple[str, str]] = list(lines)
    t_end = time.monotonic() + seconds
    saved_shot = False
    while time.monotonic() < t_end:
        actions = display.render_summary(title, shown, hint)
        if screenshot is not None and not saved_shot:
            display.screenshot(screenshot.with_name(f"{screenshot.stem}-summary"
                                                    f"{screenshot.suffix}"))
            saved_shot = True
        done = False
        for a in actions:
            if isinstance(a, SaveTargets):
                shown = [*lines, (save_targets(), "")]
                t_end = max(t_end, time.monotonic() + 3.0)
            elif isinstance(a, Quit | Pause | Mute | ThresholdChange):
                done = True
        if done:
            break
        time.sleep(1 / 30)


def open_display(cfg: Config, title: str) -> Display | None:
    """A pygame window, or None (with a message) when this machine has no screen."""
    if os.environ.get("SDL_VIDEODRIVER") != "dummy" and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform in
        ("win32", "darwin")
    ):
        print("no screen found (DISPLAY is not set): running headless; cues are printed "
              "(and spoken where there is sound)", file=sys.stderr)
        return None
    try:
        return Display(cfg, title=title)
    except Exception as exc:  # pygame.error: no video device
        print(f"cannot open a window ({exc}): running headless", file=sys.stderr)
        return None
