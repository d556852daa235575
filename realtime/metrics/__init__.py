"""Metrics stage: pose samples -> gait events -> per-step form metrics.

Nothing here imports OpenCV or pygame.  Public API (the pipeline and the feedback layer
use only this):

    analyzer = GaitAnalyzer(cfg.metrics, view="side", image_size=(w, h))
    for t_s, landmarks in stream:            # landmarks float32 [33, 4]
        steps = analyzer.update(t_s, landmarks)   # Steps completed at this frame (causal)
        live = analyzer.live                       # LiveState for the display / tone
    steps += analyzer.finish()
    summary = summarize(steps, frames=..., frames_with_pose=..., view=...,
                        event_delay_s=analyzer.event_delay_s, fps_processing=...)
    write_steps_csv(out / "steps.csv", steps)

    steps, analyzer = analyze_stream(pose_stream, cfg.metrics)   # batch, same result

`warmup()` compiles (or loads from cache) every numba kernel; call it before capture.
`measure_filter_lag(cfg, fps)` reports the smoothing filter's lag on a running-like
signal (the summary and the benchmark print it).  README.md in this folder explains the
method and lists the measured accuracy, latency and known weaknesses.
"""

from realtime.metrics.analyzer import GaitAnalyzer, analyze_stream, warmup
from realtime.metrics.lag import measure_filter_lag
from realtime.metrics.summary import summarize, write_steps_csv

__all__ = [
    "GaitAnalyzer",
    "analyze_stream",
    "measure_filter_lag",
    "summarize",
    "warmup",
    "write_steps_csv",
]
