"""A live session: the threads of `realtime run` (and of the demo), one room per concern.

- `channel`     one camera: capture -> pose -> metrics -> cue rules, on its worker thread
                (the capture thread inside the FrameSource keeps the newest frame only);
- `watchdogs`   camera lost and back, the runner away, falling behind, camera placement;
- `cue_routing` one set of cue rules heard by both cameras; the sinks cues go to;
- `fusion`      two views: one steps.csv row per step, the clock offset of recordings;
- `screen`      the display state the workers publish, the main thread's pygame loop and
                the end screen;
- `summary`     summary.json and the lines printed at the end;
- `session`     `LiveRun`: wires the rooms above (shared lock, stop, plan, cue rules);
- `run`         `run_session` / `run_live`: window, voice, logs, exit code.

Threads: a capture thread per camera, a worker per camera, the main thread (pygame, keys),
the speech thread (pyttsx3 engine, mixer playback) and the store's thread.  Shutdown:
the main thread sets `stop`; the workers finish their frame and end; sources and sinks
are closed with timeouts; whatever was recorded (steps.csv and cues.csv as they happen,
pose.npz and summary.json at the end) is kept even when a stage fails.
"""

from realtime.live.channel import Channel
from realtime.live.cue_routing import CueController, LockedSink, PrintCues, ViewCues
from realtime.live.run import (
    default_session_dir,
    restore_sigterm,
    run_live,
    run_session,
    save_profile_targets,
    stop_on_sigterm,
)
from realtime.live.screen import HISTORY_STEPS, end_screen, open_display
from realtime.live.session import LiveRun
from realtime.live.watchdogs import ACCURATE_FPS, FallingBehind

__all__ = [
    "ACCURATE_FPS",
    "HISTORY_STEPS",
    "Channel",
    "CueController",
    "FallingBehind",
    "LiveRun",
    "LockedSink",
    "PrintCues",
    "ViewCues",
    "default_session_dir",
    "end_screen",
    "open_display",
    "restore_sigterm",
    "run_live",
    "run_session",
    "save_profile_targets",
    "stop_on_sigterm",
]
