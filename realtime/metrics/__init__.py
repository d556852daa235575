"""Metrics stage: pose samples -> gait events -> per-step form metrics.

Nothing here imports OpenCV or pygame.  Public API (the pipeline and the feedback layer
use only this):

    analyzer = GaitAnalyzer(cfg.metrics, view="side", image_size=(w, h))
    for t_s, landmarks in stream:            # landmarks float32 [33, 4]
        steps = analyzer.update(t_s, landmarks)   # Steps completed at this frame (causal)
        live = analyzer.live                       # LiveState for the display / tone
    steps += analyzer.finish()
    summary = summarize(...)

`warmup()` compiles (or loads from cache) every numba kernel; call it before capture.
"""
