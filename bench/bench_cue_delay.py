"""How late are the decisions a runner hears?  Measured against truth, per event.

- knee drive: the swing's true peak thigh flexion (motion capture) -> the Swing record
  the knee-drive cue acts on (goal: within 100 ms);
- contact: the true contact (force plates; or hand labels of a real clip) -> the frame
  that reported it, by how it was timed (foot or body);
- step: the true contact that starts a step -> the step record (its metrics are complete
  at the next contact's report);
- the cue rules' own wall time per decision.

    python bench/bench_cue_delay.py                  # motion-capture runners, 30 and 60 fps
    python bench/bench_cue_delay.py POSE.npz [LABELS.json]   # a recorded stream

Prints numbers; asserts nothing.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _replay(stream, cfg):
    from realtime.live import CueController
    from realtime.pipeline import RecordedPoses, Session

    session = Session(cfg, stream.view, stream.image_size, stream.fps,
                      decide_cues=CueController(cfg), record=False)
    src = RecordedPoses(stream).start()
    while (item := src.read()) is not None:
        session.process(item[1])
    return session


def true_swing_peaks(body, steps) -> list[tuple[str, float]]:
    """(swing leg, time of its peak thigh flexion) within each true step."""
    out = []
    for s in steps:
        other = "R" if s.leg == "L" else "L"
        t1 = s.t_contact_s + 60.0 / s.cadence_spm
        sel = (body.t >= s.t_contact_s) & (body.t <= t1)
        d = body.p[f"knee_{other}"][sel] - body.p[f"hip_{other}"][sel]
        flex = np.degrees(np.arctan2(d[:, 0], -d[:, 1]))
        out.append((other, float(body.t[sel][int(np.argmax(flex))])))
    return out


def _pct(a: list[float]) -> str:
    x = np.asarray(a) * 1e3
    if x.size == 0:
        return "n/a"
    return f"p50 {np.percentile(x, 50):.0f} ms, p95 {np.percentile(x, 95):.0f} ms (n {x.size})"


def mocap(cfg) -> None:
    from realtime.validation.catalog import load_truth, trials
    from realtime.validation.streams import make_stream

    for fps in (30.0, 60.0):
        knee, contact, step = [], {"foot": [], "body": []}, []
        for name in trials():
            stream, truth_steps, _ = make_stream(name, "side", fps, 2.0, "left", 0)
            truth = load_truth(name)
            session = _replay(stream, cfg)
            t_from = float(stream.t[0]) + 0.5
            for leg, tp in true_swing_peaks(truth.body, truth_steps):
                if tp < t_from:
                    continue
                got = [w for w in session.swings if w.leg == leg and abs(w.t_peak_s - tp) < 0.1]
                if got:
                    knee.append(got[0].t_detected_s - tp)
            for c in truth.contacts:
                if not (math.isfinite(c.t_ic) and c.t_ic >= t_from):
                    continue
                ev = [e for e in session.analyzer.events
                      if e.kind == "IC" and e.leg == c.leg and abs(e.t_s - c.t_ic) < 0.1]
                if ev:
                    contact[ev[0].source].append(ev[0].t_detected_s - c.t_ic)
                st = [s for s in session.steps
                      if s.leg == c.leg and abs(s.t_contact_s - c.t_ic) < 0.1]
                if st:
                    step.append(st[0].t_detected_s - c.t_ic)
        print(f"motion capture, side view, {fps:.0f} fps, 2 px, {len(trials())} trials:")
        print(f"  knee drive: true peak -> decision   {_pct(knee)}")
        for src, v in contact.items():
            print(f"  contact -> reported ({src:4s})       {_pct(v)}")
        print(f"  contact -> its step record         {_pct(step)}")


def recorded(path: str, labels: str | None, cfg) -> None:
    from realtime.pose import stream as ps

    stream = ps.load(path)
    session = _replay(stream, cfg)
    ev = [e for e in session.analyzer.events if e.kind == "IC"]
    print(f"{path}: {len(session.steps)} steps, {len(session.swings)} swings, "
          f"{len(session.cues)} cues")
    for src in ("foot", "body"):
        print(f"  contact -> reported ({src}): "
              f"{_pct([e.t_detected_s - e.t_s for e in ev if e.source == src])} "
              "(from the reported contact time)")
    print(f"  swing peak -> decision: "
          f"{_pct([w.t_detected_s - w.t_peak_s for w in session.swings])} "
          "(from the measured peak time)")
    if labels:
        lab = json.loads(Path(labels).read_text())["contacts"]
        d = []
        for c in lab:
            m = [e for e in ev if e.leg == c["leg"] and abs(e.t_s - c["t_s"]) < 0.18]
            if m:
                d.append(m[0].t_detected_s - c["t_s"])
        print(f"  labelled contact -> reported: {_pct(d)}")


def main() -> int:
    from realtime.config import load_config
    from realtime.metrics import warmup

    warmup()
    cfg = load_config()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}")
    if len(sys.argv) > 1:
        recorded(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None, cfg)
    else:
        mocap(cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
