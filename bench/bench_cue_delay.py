"""How late is a cue?  From a step's initial contact (IC) to the cue decision about it.

A step's metrics (knee drive of the swing leg, its duration) are complete only when the
next contact happens, and that contact is detectable only some frames later.  The goal is a
decision within one frame of that moment.  This replays a pose stream through the same
`Session` as a live run (metrics -> cue rules) and prints, per step:
  - IC -> decision (stream ms): the step's own duration + the next contact's detection delay
  - detectable -> decision (frames): should be 0, the decision is made in the same frame
  - decide() wall time (µs)

    python bench/bench_cue_delay.py [POSE.npz]   (default: a synthetic 60 s runner)
"""

from __future__ import annotations

import math
import os
import platform
import sys
import time

import numpy as np


def main() -> int:
    from realtime.config import load_config
    from realtime.live import CueController
    from realtime.metrics import warmup
    from realtime.pipeline import RecordedPoses, Session
    from realtime.pose import stream as ps
    from realtime.synthetic import synthetic_run

    warmup()
    if len(sys.argv) > 1:
        stream = ps.load(sys.argv[1])
        name = sys.argv[1]
    else:
        stream, _ = synthetic_run(60.0, 30.0, noise_px=2.0, knee_drive_deg=35.0)
        name = "synthetic 60 s, 30 fps, 2 px"
    cfg = load_config()
    session = Session(cfg, stream.view, stream.image_size, stream.fps,
                      decide_cues=CueController(cfg), record=False)
    src = RecordedPoses(stream).start()
    while (item := src.read()) is not None:
        session.process(item[1])
    period = 1.0 / stream.fps
    ic_detect = {round(e.t_s, 9): e.t_detected_s for e in session.analyzer.events
                 if e.kind == "IC"}
    ic_to_decision, frames_late = [], []
    for st in session.steps:
        if not math.isfinite(st.cadence_spm):
            continue
        end = round(st.t_contact_s + 60.0 / st.cadence_spm, 9)
        detectable = ic_detect.get(end)
        if detectable is None:  # the ending contact was revised: skip
            continue
        ic_to_decision.append(st.t_detected_s - st.t_contact_s)
        frames_late.append(round((st.t_detected_s - detectable) / period))
    a = np.asarray(ic_to_decision) * 1e3
    f = np.asarray(frames_late)
    dec = session.step_to_cue.summary()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}")
    print(f"stream: {name}; {len(session.steps)} steps, {len(session.cues)} cues")
    print(f"IC -> cue decision: p50 {np.percentile(a, 50):.0f} ms, p95 {np.percentile(a, 95):.0f}"
          f" ms (a step lasts ~{60e3 / np.nanmedian([s.cadence_spm for s in session.steps]):.0f}"
          " ms)")
    print(f"detectable -> decision: {np.count_nonzero(f == 0)}/{f.size} steps in the same "
          f"frame, max {f.max() if f.size else 0} frames (goal <= 1)")
    print(f"decide() wall time per step: p50 {dec.get('p50_ms', 0) * 1e3:.1f} µs, p95 "
          f"{dec.get('p95_ms', 0) * 1e3:.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
