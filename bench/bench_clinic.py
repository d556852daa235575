"""The clinic: dashboard page times on a synthetic clinic, a 1-hour session's sync, and
re-analysis throughput.

    python bench/bench_clinic.py [--runners 50] [--sessions 40] [--steps 3000]
                                 [--db sqlite|postgres|both] [--requests 40]
                                 [--reanalyze 8] [--reanalyze-min 10]

- Builds a clinic of RUNNERS x SESSIONS sessions of STEPS steps (50 x 40 x 3000 = 6 M
  steps by default) with bulk inserts (SQLite: executemany in large transactions;
  PostgreSQL: COPY), on SQLite and/or a PostgreSQL server the bench starts itself
  (tests/pg.py: Debian's initdb/pg_ctl in a temp folder).
- Each session's `session_stats` row is what the store keeps at a session's end
  (medians and per-phase sums), except for the last runners' (OLD_STATS of them): their
  rows are as kept before the sums were; the dashboard fills the sums in at its start,
  while no request waits (else their first comparison would compute them: 0.3-0.5 s).
- Serves the dashboard with uvicorn on 127.0.0.1 and times real HTTP requests per page:
  runners list, one runner's sessions, the profile form, a live session's page, and for
  a session's report, a comparison and a runner's progress: the page's text (its plots
  are <img>s fetched on their own), each figure's first request (one at a time, after
  the text), and the page complete as a browser loads it (the text, then all its
  figures at once over up to 6 connections), on a first view and cached; also the
  newest session opened 8 s after its runner's list (which draws the newest reports in
  the background).  p50 / p95 / max in ms (target: p95 <= 200 ms).
- Syncs one 1-hour session (10 000 steps, 200 cues) from a station's SQLite file to the
  clinic database, three times (target: <= 2 s).
- Re-analyses REANALYZE sessions whose pose streams are REANALYZE_MIN minutes of the
  synthetic runner (30 fps), on every core: sessions per minute.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from realtime.store import schema as S
from realtime.store.db import PhaseSums, Store, sums_to_json
from realtime.types import STEP_METRICS

REAL = S.REAL_COLUMNS
STEP_COLS = ("session_id", "metrics_version", "seq", "phase", "leg", *REAL, "unreliable")
PHASES = ("warm-up", "baseline", "drill", "recovery", "retest", "cool-down")
OLD_STATS = 3  # runners whose stats rows are from before the per-phase sums were kept
BROWSER_CONNECTIONS = 6  # a browser fetches at most this many images of a page at once


def _config() -> dict:
    from realtime.config import Config, as_dict

    return as_dict(Config())


def _session_steps(sid: int, n: int, rng: np.random.Generator, stats: list[str] | None = None,
                   sums: bool = True) -> list[tuple]:
    """n plausible step rows of one session (numpy-made, then tuples for the driver); the
    `session_stats` JSON the store keeps for them is appended to `stats` (without the
    per-phase sums unless `sums`)."""
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
    if stats is not None:
        stats.append(_stats_json(cols, phase_idx, np.arange(n) % 17 == 0, sums))
    rows = []
    for i in range(n):
        vals = [None if np.isnan(cols[c][i]) else float(cols[c][i]) for c in REAL]
        rows.append((sid, "1", i, PHASES[phase_idx[i]], "LR"[i % 2], *vals,
                     "knee_drive_deg" if i % 17 == 0 else ""))
    return rows


def _stats_json(cols: dict[str, np.ndarray], phase_idx: np.ndarray,
                kd_unreliable: np.ndarray, sums: bool) -> str:
    """What `Store.stats` keeps at a session's end: the medians of the trusted values and
    the per-phase sums (a database from before the sums has the medians only)."""
    trusted = np.ones(len(phase_idx), bool)
    ok = {m: np.isfinite(cols[m]) & (~kd_unreliable if m == "knee_drive_deg" else trusted)
          for m in STEP_METRICS}
    out: dict = {m: round(float(np.median(cols[m][ok[m]])), 3) for m in STEP_METRICS
                 if ok[m].any()}
    if sums:
        phases = {}
        for k, name in enumerate(PHASES):
            here = phase_idx == k
            per = {}
            for m in STEP_METRICS:
                v = cols[m][here & ok[m]]
                if v.size:
                    per[m] = (int(v.size), float(v.sum()), float((v * v).sum()))
            phases[name] = PhaseSums(int(here.sum()), per)
        out["phases"] = sums_to_json(phases)
    return json.dumps(out)


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
            stats: list[str] = []
            rows = _session_steps(sid, steps, rng, stats, sums=r < runners - _old(runners))
            if store.dialect == "postgresql":
                with cur.copy(f"COPY steps ({', '.join(STEP_COLS)}) FROM STDIN") as cp:
                    for row in rows:
                        cp.write_row(row)
            else:
                cur.executemany(f"INSERT INTO steps ({', '.join(STEP_COLS)}) VALUES "
                                f"({', '.join([ph] * len(STEP_COLS))})", rows)
            cur.execute(f"INSERT INTO session_stats VALUES ({ph}, {ph}, {ph}, {ph})",
                        (sid, "1", steps, stats[0]))
        raw.commit()
    if store.dialect == "postgresql":
        for t in ("runners", "sessions"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                        f"(SELECT max(id) FROM {t}))")
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    raw.close()
    _check_stats(store)
    return time.monotonic() - t0


def _check_stats(store: Store) -> None:
    """The sums the bench wrote for session 1 are those the database computes from its
    steps (the bench's numpy must not drift from the store's SQL)."""
    kept = store.phase_sums([(1, "1")])[1]
    with store.engine.connect() as c:
        computed = store._phase_sums_sql(c, [(1, "1")])[1]
    assert set(kept) == set(computed), (kept, computed)
    for phase, ps in computed.items():
        assert kept[phase].steps == ps.steps and set(kept[phase].sums) == set(ps.sums)
        for m, (n, total, squares) in ps.sums.items():
            k = kept[phase].sums[m]
            assert k[0] == n and np.allclose(k[1:], (total, squares), rtol=1e-9), (m, k)


def _old(runners: int) -> int:
    """How many of the last runners have stats rows from before the per-phase sums."""
    return min(OLD_STATS, max(0, runners - 2))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> float:
    return _fetch(url)[0]


def _fetch(url: str) -> tuple[float, bytes]:
    """(ms, body) of one GET on a new connection."""
    t = time.perf_counter_ns()
    with urllib.request.urlopen(url, timeout=120) as r:
        body = r.read()
        assert r.status == 200, (url, r.status)
    return (time.perf_counter_ns() - t) / 1e6, body


def _figures(page: bytes) -> list[str]:
    """The <img> URLs of a page's figures (the dashboard's own, not data: URLs)."""
    import re

    return [html.unescape(u.decode()) for u in re.findall(rb'<img[^>]* src="(/[^"]+)"', page)]


class _Timer:
    """Times a page's text, its figures' first requests and the page complete, into
    `out` under "NAME, ..." (the bench's table)."""

    def __init__(self, base: str, out: dict[str, list[float]], pool: ThreadPoolExecutor
                 ) -> None:
        self.base, self.out, self.pool = base, out, pool

    def _add(self, name: str, ms: float) -> None:
        self.out.setdefault(name, []).append(ms)

    def figures_one_by_one(self, name: str, path: str) -> None:
        """The text, then each figure on its own: what drawing one figure costs."""
        ms, page = _fetch(self.base + path)
        self._add(f"{name}: text, first view", ms)
        for url in _figures(page):
            kind = url.rsplit("/", 1)[1].split("-", 1)[0]
            self._add(f"{name}: figure ({kind}), first request", _get(self.base + url))

    def complete(self, name: str, path: str, first: bool = True) -> None:
        """The page as a browser loads it: its text, then all its figures at once over
        BROWSER_CONNECTIONS connections; the time until the last figure has arrived."""
        t = time.perf_counter_ns()
        ms, page = _fetch(self.base + path)
        list(self.pool.map(lambda u: _get(self.base + u), _figures(page)))
        view = "first view" if first else "cached"
        if first:
            self._add(f"{name}: text, first view", ms)
        else:
            self._add(f"{name}: text, cached", ms)
        self._add(f"{name}: page complete, {view}", (time.perf_counter_ns() - t) / 1e6)


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
    pool = ThreadPoolExecutor(BROWSER_CONNECTIONS)
    timer = _Timer(base, out, pool)
    cold = min(requests, 10)
    ids = rng.sample(range(1, n_sessions + 1), 2 * cold)
    for sid in ids[:cold]:
        timer.figures_one_by_one("session", f"/sessions/{sid}")
    for sid in ids[cold:]:
        timer.complete("session", f"/sessions/{sid}")
    for _ in range(requests):
        timer.complete("session", f"/sessions/{rng.choice(ids)}", first=False)
    # a therapist opens a runner, reads the list for a few seconds, opens the newest
    # session: its report was drawn meanwhile in the background
    fresh = runners - _old(runners)  # runners whose kept stats have the per-phase sums
    for r in rng.sample(range(2, runners + 1), min(5, runners - 1)):
        _get(base + f"/runners/{r}")
        time.sleep(think_s)
        timer.complete(f"newest report {think_s:g} s after its list",
                       f"/sessions/{r * sessions}")
    pairs = [(r * sessions + 1 + k, r * sessions + 2 + k) for r in range(fresh)
             for k in range(0, sessions - 1, 4)]
    rng.shuffle(pairs)
    pairs = pairs[:2 * cold]
    half = len(pairs) // 2
    for a, b in pairs[:half]:
        timer.figures_one_by_one("compare", f"/compare?a={a}&b={b}")
    for a, b in pairs[half:]:
        timer.complete("compare", f"/compare?a={a}&b={b}")
    for _ in range(requests):
        a, b = rng.choice(pairs)
        timer.complete("compare", f"/compare?a={a}&b={b}", first=False)
    for r in range(fresh, runners):  # sums filled in by the dashboard at its start
        a, b = r * sessions + 1, r * sessions + 2
        timer.complete("compare, stats kept before the sums", f"/compare?a={a}&b={b}")
    progress = [f"/runners/{r}/progress?phase={p}" for r in range(1, fresh + 1)
                for p in ("baseline", "retest", "drill", "all")]
    rng.shuffle(progress)
    progress = progress[:2 * cold]
    half = len(progress) // 2
    for path in progress[:half]:
        timer.figures_one_by_one("progress", path)
    for path in progress[half:]:
        timer.complete("progress", path)
    for _ in range(requests):
        timer.complete("progress", rng.choice(progress), first=False)
    pool.shutdown()
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
            print(f"  {name:52s} {_pct(v)}{flag}")
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
    if args.runners < 5 or args.sessions < 8:  # the page sample draws 20 sessions, pairs
        ap.error(f"--runners {args.runners} --sessions {args.sessions}: at least 5 runners "
                 "and 8 sessions each (the page timings sample that many)")
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
