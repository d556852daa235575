"""Metrics stage: pose samples -> gait events -> per-step form metrics.

Nothing here imports OpenCV or pygame.  Public API (the pipeline and the feedback layer
use only this):

    analyzer = GaitAnalyzer(cfg.metrics, view="side", image_size=(w, h))
    for t_s, landmarks in stream:            # landmarks float32 [33, 4]
        steps = analyzer.update(t_s, landmarks)   # Steps completed at this frame (causal)
        swings = analyzer.pop_swings()            # knee drive, final ~0.1 s after its peak
        live = analyzer.live                       # LiveState for the display / tone
    summary = summarize(steps, frames=..., frames_with_pose=..., view=...,
                        event_delay_s=analyzer.event_delay_s, fps_processing=...)
    write_steps_csv(out / "steps.csv", steps)

    steps, analyzer = analyze_stream(pose_stream, cfg.metrics)   # batch, same result

The kernel runs condition -> detectors (foot, body, swing) -> fusion once per frame
(`frame.py`); `warmup()` compiles (or loads from cache) every numba kernel, call it before
capture.  `METRICS_VERSION` names this measurement (bump it when steps would change).
README.md in this folder explains the method and its measured accuracy.
"""

from realtime.metrics.analyzer import GaitAnalyzer, analyze_stream, warmup
from realtime.metrics.cadence import cadence_spm, recent_cadence_spm
from realtime.metrics.lag import measure_filter_lag
from realtime.metrics.summary import summarize, warnings, write_steps_csv
from realtime.metrics.version import METRICS_VERSION

__all__ = [
    "METRICS_VERSION",
    "GaitAnalyzer",
    "analyze_stream",
    "cadence_spm",
    "measure_filter_lag",
    "recent_cadence_spm",
    "summarize",
    "warmup",
    "warnings",
    "write_steps_csv",
]
