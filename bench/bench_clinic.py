"""The clinic: dashboard page times on a synthetic clinic, a 1-hour session's sync, and
re-analysis throughput.

    python bench/bench_clinic.py [--runners 50] [--sessions 40] [--steps 3000]
                                 [--db sqlite|postgres|both] [--requests 40]
                                 [--reanalyze 8] [--reanalyze-min 10]

- Builds a clinic of RUNNERS x SESSIONS sessions of STEPS steps (50 x 40 x 3000 = 6 M
  steps by default) with bulk inserts (SQLite: executemany in large transactions;
  PostgreSQL: COPY), on SQLite and/or a PostgreSQL server the bench starts itself
  (tests/pg.py: Debian's initdb/pg_ctl in a temp folder).
- Serves the dashboard with uvicorn on 127.0.0.1 and times real HTTP requests per page:
  runners list, one runner's sessions, a session's report (first view renders the plots;
  later views come from the cache: both shown; and the newest session opened 8 s after
  its runner's list, which draws the newest reports in the background), the profile
  form, a comparison (first and cached), a live session's page.  p50 / p95 / max in ms
  (target: p95 <= 200 ms).
- Syncs one 1-hour session (10 000 steps, 200 cues) from a station's SQLite file to the
  clinic database, three times (target: <= 2 s).
- Re-analyses REANALYZE sessions whose pose streams are REANALYZE_MIN minutes of the
  synthetic runner (30 fps), on every core: sessions per minute.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from realtime.store import schema as S
from realtime.store.db import Store

REAL = S.REAL_COLUMNS
STEP_COLS = ("session_id", "metrics_version", "seq", "phase", "leg", *REAL, "unreliable")
PHASES = ("warm-up", "baseline", "drill", "recovery", "retest", "cool-down")


def _config() -> dict:
    from realtime.config import Config, as_dict

    return as_dict(Config())


def _session_steps(sid: int, n: int, rng: np.random.Generator) -> list[tuple]:
    """n plausible step rows of one session (numpy-made, then tuples for the driver)."""
    t = np.cumsum(rng.normal(0.353, 0.01, n))
    cols = {
        "t_contact_s": t, "cadence_spm": rng.normal(170, 3, n),
        "knee_drive_deg": rng.normal(28, 3, n), "knee_height_pct": rng.normal(40, 4, n),
        "knee_flexion_ic_deg": rng.normal(18, 2, n), "overstride_pct": rng.normal(25, 4, n),
        "trunk_lean_deg": rng.normal(6, 1, n), "vertical_oscillation_pct": rng.normal(8, 1, n),
        "hip_sway_pct": np.full(n, np.nan), "pelvic_drop_deg": np.full(n, np.nan),
        "confidence": rng.uniform(0.6, 1.0, n),
    }
    phase_idx = np.minimum((np.arange(n) * len(PHASES)) // n, len(PHASES) - 1)
    rows = []
    for i in range(n):
        vals = [None if np.isnan(cols[c][i]) else float(cols[c][i]) for c in REAL]
        rows.append((sid, "1", i, PHASES[phase_idx[i]], "LR"[i % 2], *vals,
                     "knee_drive_deg" if i % 17 == 0 else ""))
    return rows


def build(store: Store, runners: int, sessions: int, steps: int) -> float:
    """The synthetic clinic in `store`; returns seconds taken."""
    t0 = time.monotonic()
    rng = np.random.default_rng(1)
    cfg = json.dumps(_config())
    base = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    raw = store.engine.raw_connection()
    cur = raw.cursor()
    ph = "?" if store.dialect == "sqlite" else "%s"
    sid = 0
    for r in range(runners):
        if store.dialect == "sqlite":
            cur.execute("BEGIN")  # the store's connections are in autocommit mode
        cur.execute(f"INSERT INTO runners (id, name, created, profile, profile_updated) "
                    f"VALUES ({ph}, {ph}, {ph}, NULL, NULL)",
                    (r + 1, f"runner-{r + 1:03d}", base.isoformat()))
        for k in range(sessions):
            sid += 1
            started = (base + dt.timedelta(days=k * 2, hours=r % 9)).isoformat()
            summary = json.dumps({"steps": steps})
            cur.execute(
                "INSERT INTO sessions (id, runner_id, kind, started, ended, status, source, "
                "views, folder, profile, config, version, session_index, t0_s, calibration, "
                "summary, uuid, station, metrics_version, rev) VALUES "
                f"({', '.join([ph] * 20)})",
                (sid, r + 1, "live", started, started, "done", "camera 0", "side", None, None,
                 cfg, "0.1.0", k, 0.0, None, summary, str(uuid.uuid4()),
                 f"treadmill-{1 + r % 3}", "1", 1))
            rows = _session_steps(sid, steps, rng)
            if store.dialect == "postgresql":
                with cur.copy(f"COPY steps ({', '.join(STEP_COLS)}) FROM STDIN") as cp:
                    for row in rows:
                        cp.write_row(row)
            else:
                cur.executemany(f"INSERT INTO steps ({', '.join(STEP_COLS)}) VALUES "
                                f"({', '.join([ph] * len(STEP_COLS))})", rows)
            kd = sorted(x[REAL.index("knee_drive_deg") + 5] for x in rows)
            cad = sorted(x[REAL.index("cadence_spm") + 5] for x in rows)
            cur.execute(f"INSERT INTO session_stats VALUES ({ph}, {ph}, {ph}, {ph})",
                        (sid, "1", steps, json.dumps({"knee_drive_deg": kd[len(kd) // 2],
                                                      "cadence_spm": cad[len(cad) // 2]})))
        raw.commit()
    if store.dialect == "postgresql":
        for t in ("runners", "sessions"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                        f"(SELECT max(id) FROM {t}))")
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    raw.close()
    return time.monotonic() - t0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> float:
    t = time.perf_counter_ns()
    with urllib.request.urlopen(url, timeout=120) as r:
        r.read()
        assert r.status == 200, (url, r.status)
    return (time.perf_counter_ns() - t) / 1e6


def pages(store: Store, runners: int, sessions: int, requests: int, think_s: float = 8.0
          ) -> dict[str, list[float]]:
    """Real HTTP requests to the dashboard served by uvicorn in a thread."""
    import uvicorn

    from realtime.clinic.server import build_app
    from realtime.store.home import home

    app = build_app(store, home().ensure(), require_login=False)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    rng = random.Random(2)
    live = store.begin_session(runner="runner-001", kind="live", source="camera 0",
                               views=["side"], folder=None, profile=None, config=_config(),
                               version="0.1.0", session_index=0)
    from realtime.types import Step

    store.add_steps(live, "1", [("drill", Step(leg="LR"[i % 2], t_contact_s=0.35 * i,
                                               knee_drive_deg=27.0, confidence=0.9))
                                for i in range(1500)])
    n_sessions = runners * sessions
    out: dict[str, list[float]] = {}
    plan = {
        "runners list": lambda: "/",
        "runner's sessions": lambda: f"/runners/{rng.randint(1, runners)}",
        "runner's sessions, filtered": lambda: (f"/runners/{rng.randint(1, runners)}"
                                                 "?since=2026-02-01&status=done"),
        "profile form": lambda: f"/runners/{rng.randint(1, runners)}/profile",
        "live session": lambda: f"/sessions/{live}",
    }
    for name, make in plan.items():
        _get(base + make())  # warm the connection pool
        out[name] = [_get(base + make()) for _ in range(requests)]
    cold = min(requests, 10)
    ids = rng.sample(range(1, n_sessions + 1), cold)
    out["session report, first view"] = [_get(base + f"/sessions/{i}") for i in ids]
    out["session report, cached"] = [_get(base + f"/sessions/{rng.choice(ids)}")
                                     for _ in range(requests)]
    # a therapist opens a runner, reads the list for a few seconds, opens the newest
    # session: its report was drawn meanwhile in the background
    warmed = []
    for r in rng.sample(range(2, runners + 1), min(5, runners - 1)):
        _get(base + f"/runners/{r}")
        time.sleep(think_s)
        warmed.append(_get(base + f"/sessions/{r * sessions}"))
    out[f"newest report, {think_s:g} s after its list"] = warmed
    pairs = [(r * sessions + 1, r * sessions + 2) for r in range(min(3, runners))]
    out["compare, first view"] = [_get(base + f"/compare?a={a}&b={b}") for a, b in pairs]
    out["compare, cached"] = [_get(base + f"/compare?a={a}&b={b}")
                              for a, b in (rng.choice(pairs) for _ in range(requests))]
    server.should_exit = True
    th.join(timeout=10)
    return out


def sync_hour(clinic: Store, tmp: Path, repeats: int = 3) -> list[float]:
    """A station's 1-hour session (10 000 steps, 200 cues) into the clinic: seconds."""
    from realtime.store.sync import sync
    from realtime.types import Cue

    out = []
    tmp.mkdir(parents=True, exist_ok=True)
    for k in range(repeats):
        local = Store(tmp / f"station-{k}.db", station=f"bench-{k}")
        if not local.has_runner("runner-001"):
            local.add_runner("runner-001")
        sid = local.begin_session(runner="runner-001", kind="live", source="camera 0",
                                  views=["side"], folder=None, profile=None, config=_config(),
                                  version="0.1.0", session_index=0)
        rows = _session_steps(sid, 10_000, np.random.default_rng(k))
        raw = local.engine.raw_connection()
        raw.cursor().execute("BEGIN")
        raw.cursor().executemany(f"INSERT INTO steps ({', '.join(STEP_COLS)}) VALUES "
                                 f"({', '.join('?' * len(STEP_COLS))})", rows)
        raw.commit()
        raw.close()
        for i in range(200):
            local.add_cue(sid, i, "drill", Cue("knee_drive", "drive the knee", 5,
                                               int(i * 18e9)), True)
        local.end_session(sid, {"steps": 10_000})
        t = time.perf_counter_ns()
        res = sync(local, clinic)
        out.append((time.perf_counter_ns() - t) / 1e9)
        assert res.steps == 10_000, res
    return out


def reanalysis(store: Store, tmp: Path, n: int, minutes: float) -> tuple[float, int]:
    """n sessions with synthetic pose streams re-measured on every core: sessions/min."""
    from realtime.metrics import version
    from realtime.pose.stream import save
    from realtime.reanalyze import reanalyze
    from realtime.synthetic import synthetic_run

    stream, _ = synthetic_run(minutes * 60.0, 30.0, noise_px=2.0, seed=3)
    rows = []
    for k in range(n):
        folder = tmp / f"session-{k}"
        folder.mkdir()
        save(folder / "pose.npz", stream)
        sid = store.begin_session(runner=None, kind="analyze", source="synthetic",
                                  views=["side"], folder=folder, profile=None,
                                  config=_config(), version="0.1.0", session_index=0)
        store.end_session(sid, {})
        rows.append(store.session(sid))
    old = version.METRICS_VERSION
    version.METRICS_VERSION = "bench"
    try:
        out = reanalyze(store, rows, progress=False)
    finally:
        version.METRICS_VERSION = old
    assert len(out.done) == n, out.failed
    return len(out.done) / out.seconds * 60.0, out.steps


def _pct(v: list[float]) -> str:
    a = np.asarray(v)
    return (f"p50 {np.percentile(a, 50):7.1f}  p95 {np.percentile(a, 95):7.1f}  "
            f"max {a.max():7.1f}  (n={a.size})")


def run_one(kind: str, args: argparse.Namespace, tmp: Path) -> dict:
    pg = None
    if kind == "postgres":
        from tests.pg import PgServer

        pg = PgServer()
        url = pg.create("clinic")
        store = Store(url, station="server")
    else:
        store = Store(tmp / "clinic.db", station="server")
    try:
        secs = build(store, args.runners, args.sessions, args.steps)
        total = args.runners * args.sessions * args.steps
        print(f"\n[{kind}] clinic built: {args.runners} runners x {args.sessions} sessions x "
              f"{args.steps} steps = {total:,} steps in {secs:.1f} s "
              f"({total / secs:,.0f} steps/s)", flush=True)
        res = pages(store, args.runners, args.sessions, args.requests)
        print(f"[{kind}] dashboard pages, ms (target p95 <= 200):")
        for name, v in res.items():
            flag = "" if np.percentile(v, 95) <= 200 else "   <- over 200 ms"
            print(f"  {name:30s} {_pct(v)}{flag}")
        syncs = sync_hour(store, tmp / f"sync-{kind}")
        print(f"[{kind}] 1-hour session (10 000 steps, 200 cues) synced station -> clinic: "
              + ", ".join(f"{s:.2f} s" for s in syncs) + " (target <= 2 s)", flush=True)
        return {"pages": res, "sync_s": syncs}
    finally:
        store.close()
        if pg is not None:
            pg.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runners", type=int, default=50)
    ap.add_argument("--sessions", type=int, default=40)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--reanalyze", type=int, default=8, help="sessions to re-analyse (0: skip)")
    ap.add_argument("--reanalyze-min", type=float, default=10.0,
                    help="minutes of running in each re-analysed session")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-clinic-"))
    os.environ["REALTIME_HOME"] = str(tmp / "home")
    (tmp / "home").mkdir()
    print(f"bench_clinic {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} on "
          f"{platform.node()}: {os.cpu_count()} cores, {platform.processor() or platform.machine()}"
          f", Python {platform.python_version()}; load average {os.getloadavg()[0]:.2f} "
          "(figures are provisional on a shared machine)", flush=True)
    try:
        kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
        for kind in kinds:
            (tmp / kind).mkdir()
            run_one(kind, args, tmp / kind)
        if args.reanalyze:
            store = Store(tmp / "reanalyze.db", station="bench")
            (tmp / "ra").mkdir()
            rate, steps = reanalysis(store, tmp / "ra", args.reanalyze, args.reanalyze_min)
            print(f"\nre-analysis: {args.reanalyze} sessions of {args.reanalyze_min:g} min "
                  f"(30 fps pose streams, {steps // args.reanalyze} steps each) on "
                  f"{os.cpu_count()} cores: {rate:.1f} sessions/min")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
