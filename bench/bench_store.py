"""The session store and reports: what a step costs the live worker, what a commit costs
the disk, the database's size per hour, and how long a report of a long session takes.

    python bench/bench_store.py [--steps 3000] [--dir DIR]

Prints:
- worker-side cost of StoreRecorder.on_step (a queue put), p50/p99 µs: what the live path
  pays per step;
- commit latency of one step in its own transaction (WAL, synchronous=FULL), p50/p99 ms,
  on the disk of --dir (default: a temp folder);
- database bytes per hour of running (~10 800 steps at 180 steps/min);
- `realtime report` of a 20-minute session (3 400 steps, default plan): seconds, size.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from realtime.config import Config, ReportConfig
from realtime.store.db import Store
from realtime.store.recorder import StoreRecorder
from realtime.types import Step


def _steps(n: int, rng: np.random.Generator) -> list[Step]:
    return [Step(leg="LR"[i % 2], t_contact_s=0.35 * i, cadence_spm=171 + rng.normal(),
                 knee_drive_deg=28 + 3 * rng.normal(), knee_height_pct=-70.0,
                 knee_flexion_ic_deg=18 + 2 * rng.normal(), overstride_pct=22.0,
                 trunk_lean_deg=6.0, vertical_oscillation_pct=8.0, confidence=0.9)
            for i in range(n)]


def _pct(a: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(a), q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    base = args.dir or Path(tempfile.mkdtemp(prefix="bench-store-"))
    base.mkdir(parents=True, exist_ok=True)
    print(f"# {platform.node()}, {platform.processor() or platform.machine()}, "
          f"store in {base}")
    steps = _steps(args.steps, rng)

    store = Store(base / "commit.db")
    sid = store.begin_session(runner=None, kind="live", source="bench", views=["side"],
                              folder=None, profile=None, config={}, version="bench",
                              session_index=0)
    commit = []
    for i, s in enumerate(steps):
        t0 = time.perf_counter_ns()
        store.add_step(sid, i, "drill", s)
        commit.append((time.perf_counter_ns() - t0) / 1e6)
    store.close()  # checkpoints the write-ahead log into the file
    size = (base / "commit.db").stat().st_size
    per_hour = size / len(steps) * 180 * 60
    print(f"commit one step (own transaction, WAL, synchronous=FULL): p50 "
          f"{_pct(commit, 50):.2f} ms, p99 {_pct(commit, 99):.2f} ms, max {max(commit):.1f} ms "
          f"({len(steps)} steps)")
    print(f"database: {size / len(steps):.0f} bytes per step, {per_hour / 1e6:.1f} MB per "
          "hour of running at 180 steps/min")

    store2 = Store(base / "queued.db")
    sid2 = store2.begin_session(runner=None, kind="live", source="bench", views=["side"],
                                folder=None, profile=None, config={}, version="bench",
                                session_index=0)
    rec = StoreRecorder(store2, sid2, lambda t: "drill")
    put = []
    for s in steps:
        t0 = time.perf_counter_ns()
        rec.on_step(s, ())
        put.append((time.perf_counter_ns() - t0) / 1e3)
        time.sleep(0.001)
    t0 = time.perf_counter()
    rec.drain()
    print(f"live worker's cost per step (StoreRecorder.on_step, a queue put): p50 "
          f"{_pct(put, 50):.1f} µs, p99 {_pct(put, 99):.1f} µs; "
          f"queue drained {1000 * (time.perf_counter() - t0):.0f} ms after the last step; "
          f"{len(store2.steps(sid2))} rows written")

    from realtime.report.html import session_report
    from realtime.store.sessiondata import SessionData

    cfg = Config()
    long = _steps(3400, rng)  # ~20 min at 170 steps/min: the default plan
    data = SessionData(
        ref="bench", id=None, runner="bench", started="", source="bench", views=("side",),
        steps=tuple((_phase(s.t_contact_s, cfg), s) for s in long),
        cues=(), thresholds=cfg.cues, drill=cfg.drill, t0_s=0.0, calibration=None,
        folder=None, status="done")
    out = base / "report.html"
    t0 = time.perf_counter()
    session_report(data, out, ReportConfig())
    dt = time.perf_counter() - t0
    print(f"report of a {data.duration_s / 60:.0f}-minute session ({len(long)} steps): "
          f"{dt:.1f} s, {out.stat().st_size / 1e6:.2f} MB")


def _phase(t: float, cfg: Config) -> str:
    from realtime.feedback.cues import phase_at

    return phase_at(t, cfg.drill).name


if __name__ == "__main__":
    main()
