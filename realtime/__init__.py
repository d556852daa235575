"""Real-time running-form biofeedback on the treadmill.

The pipeline, one sub-package per stage::

    capture/   camera (newest frame only) or video file (every frame)  -> Frame
    pose/      MediaPipe BlazePose, offline                             -> PoseSample
    metrics/   numba kernels, online gait events, per-step metrics      -> Step
    feedback/  cue rules (pure), pygame display, speech, tones, logs    -> Cue

Use from Python::

    from realtime.config import load_config
    from realtime.analyze import analyze

    cfg = load_config(profile="default")
    result = analyze("clip.mp4", "out", cfg, view="side")
    print(result.summary["cadence_spm"])

or from the shell: ``realtime demo``, ``realtime run --camera 0``,
``realtime analyze clip.mp4 --out out``.
"""

import os as _os

# pygame prints a banner on import; this is a CLI whose output people read.
_os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

__version__ = "0.1.0"
