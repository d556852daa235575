"""The dashboard's figures: a report's page comes without its plots, each plot an <img>
fetched from its own URL (drawn when asked, kept, named by the state it shows), behind
the same login as every page; the downloaded report stays one self-contained file with
the same figures.  Real HTTP through uvicorn, on a store filled through its own API; the
progress plots read per-phase sums the database computes, checked against the steps."""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from pathlib import Path

import numpy as np
import pytest

from realtime.clinic import auth
from realtime.clinic.server import FIGURE_CACHE, build_app
from realtime.config import CuesConfig, ReportConfig
from realtime.report.change import COMPARED, Stats, pick_phases, values
from realtime.report.html import (
    _mean_sd_n,
    _progress_plot,
    compare_plots,
    png,
    progress_plots,
    session_plots,
)
from realtime.store import schema as S
from realtime.store.db import PhaseSums, Store, sums_of_steps
from realtime.store.home import home
from realtime.store.sessiondata import SessionSummary, from_store, summaries_from_store
from realtime.types import STEP_METRICS, Cue, Step

PASSWORD = "treadmill-42"
# (phase, steps) of each session; the third has too few baseline steps to be judged on it
PLANS = ([("warm-up", 20), ("baseline", 60), ("drill", 120), ("retest", 60)],
         [("warm-up", 20), ("baseline", 50), ("drill", 100), ("retest", 70)],
         [("warm-up", 30), ("baseline", 3), ("drill", 90), ("retest", 40)])


def _session(store: Store, k: int, plan: list[tuple[str, int]]) -> int:
    """A finished session of anna's with steps in each phase of `plan` and a few cues."""
    rng = np.random.default_rng(k)
    sid = store.begin_session(runner="anna", kind="live", source="camera 0", views=["side"],
                              folder=None, profile=None, config={}, version="0",
                              session_index=k)
    rows, t = [], 0.0
    for phase, n in plan:
        for _ in range(n):
            t += 0.35
            i = len(rows)
            rows.append((phase, Step(
                leg="LR"[i % 2], t_contact_s=t, cadence_spm=rng.normal(170 + k, 3),
                knee_drive_deg=rng.normal(26 + k, 3), knee_flexion_ic_deg=rng.normal(18, 2),
                overstride_pct=rng.normal(25, 4), confidence=0.9,
                unreliable=frozenset({"knee_drive_deg"}) if i % 11 == 0 else frozenset())))
    store.add_steps(sid, store.session_version(sid), rows)
    for j in range(4):
        store.add_cue(sid, j, "drill", Cue("knee_drive", "drive the knee", 5,
                                           int((30 + 10 * j) * 1e9)), j % 2 == 0)
    store.end_session(sid, {"steps": len(rows)})
    return sid


def _fill(s: Store) -> Store:
    s.add_runner("anna")
    for k, plan in enumerate(PLANS):
        _session(s, k, plan)
    return s


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = _fill(Store(tmp_path / "clinic.db", station="server"))
    yield s
    s.close()


@contextmanager
def _served(store: Store, require_login: bool = False) -> Iterator[str]:
    import uvicorn

    app = build_app(store, home().ensure(), require_login=require_login)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="error"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    t0 = time.monotonic()
    while not server.started:
        assert time.monotonic() - t0 < 30, "the dashboard did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        th.join(timeout=10)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):  # type: ignore[no-untyped-def]
        return None


def _get(url: str, cookie: str = "", data: bytes | None = None
         ) -> tuple[int, Message, bytes]:
    """(status, headers (any case), body) of one request, redirects not followed."""
    req = urllib.request.Request(url, data=data, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.build_opener(_NoRedirect).open(req, timeout=60) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def _images(page: bytes) -> list[tuple[str, str]]:
    """(alt, src) of each <img> of a page, in order."""
    return [(html.unescape(a), html.unescape(s)) for a, s in re.findall(
        r'<img alt="([^"]*)"(?: loading="lazy")? src="([^"]+)"', page.decode())]


def _name(src: str) -> str:
    return urllib.parse.urlsplit(src).path.rsplit("/", 1)[1].removesuffix(".png")


def _png_size(body: bytes) -> tuple[int, int]:
    from PIL import Image

    assert body.startswith(b"\x89PNG\r\n\x1a\n")
    return Image.open(io.BytesIO(body)).size


def test_each_figure_named_on_a_page_is_a_png_of_its_own(store: Store) -> None:
    cfg = ReportConfig()
    a, b = from_store(store, 1), from_store(store, 2)
    history = summaries_from_store(store, store.sessions("anna"))
    expected = {
        "/sessions/1": set(session_plots(a)),
        "/compare?a=1&b=2": set(compare_plots(a, b, history, cfg)),
        "/runners/1/progress": set(progress_plots(history, cfg)),
        "/runners/1/progress?phase=retest": set(progress_plots(history, cfg, "retest")),
    }
    assert {n.split("-")[0] for names in expected.values() for n in names} == \
        {"time", "phases", "ab", "progress"}
    with _served(store) as base:
        for path, names in expected.items():
            status, headers, page = _get(base + path)
            assert status == 200 and headers["Cache-Control"] == "no-store", path
            assert b"data:image" not in page, path  # the text comes without its plots
            images = _images(page)
            assert {_name(src) for _, src in images} == names, path
            assert page.count(b"<img ") == len(images) == len(names)
            assert page.count(b'loading="lazy"') == len(images)
            for alt, src in images:
                assert alt and "anna" not in src  # ids in URLs, never a name
                status, headers, body = _get(base + src)
                assert status == 200, (src, body[:200])
                assert headers["Content-Type"] == "image/png"
                assert headers["Cache-Control"] == FIGURE_CACHE  # its URL names its state
                w, h = _png_size(body)
                assert w > 300 and h > 200, (src, w, h)
        # a figure is drawn once: asked again, the same bytes
        src = _images(_get(base + "/sessions/1")[2])[0][1]
        assert _get(base + src)[2] == _get(base + src)[2]


def test_an_unknown_figure_is_a_404_with_one_line(store: Store) -> None:
    with _served(store) as base:
        for path, what in (("/sessions/1/figure/nope.png", "session 1"),
                           ("/compare/figure/nope.png?a=1&b=2",
                            "the comparison of sessions 1 and 2"),
                           ("/runners/1/progress/figure/nope.png", "runner 1's progress")):
            status, headers, body = _get(base + path)
            assert status == 404, path
            (line,) = re.findall(r'<p class="error">([^<]*)</p>', body.decode())
            assert html.unescape(line) == f"unknown figure 'nope' of {what}", line
            assert headers["Cache-Control"] == "no-store"
        assert _get(base + "/sessions/99/figure/time-knee_drive_deg.png")[0] == 404


def test_a_changed_session_shows_a_new_figure_never_a_kept_one(store: Store) -> None:
    with _served(store) as base:
        before = {_name(s): s for _, s in _images(_get(base + "/sessions/1")[2])}
        old = _get(base + before["time-knee_drive_deg"])[2]
        more = [("retest", Step(leg="L", t_contact_s=200.0 + i, knee_drive_deg=45.0,
                                confidence=0.9)) for i in range(30)]
        store.add_steps(1, store.session_version(1), more, start_seq=store.step_count(1))
        after = {_name(s): s for _, s in _images(_get(base + "/sessions/1")[2])}
        assert after["time-knee_drive_deg"] != before["time-knee_drive_deg"]  # a new ?v=
        status, headers, new = _get(base + after["time-knee_drive_deg"])
        assert status == 200 and new != old and headers["Cache-Control"] == FIGURE_CACHE
        # the old URL now shows the new state, and is not to be kept under that URL
        status, headers, body = _get(base + before["time-knee_drive_deg"])
        assert body == new and headers["Cache-Control"] == "no-store"


def test_figures_are_behind_the_login(store: Store) -> None:
    auth.set_password(home().ensure(), "therapist", PASSWORD)
    with _served(store, require_login=True) as base:
        paths = ["/sessions/1/figure/time-knee_drive_deg.png",
                 "/compare/figure/ab-knee_drive_deg.png?a=1&b=2",
                 "/runners/1/progress/figure/progress-knee_drive_deg.png"]
        for path in paths:
            status, headers, body = _get(base + path)
            assert status == 303 and headers["location"].startswith("/login?next="), path
            assert b"PNG" not in body
        form = urllib.parse.urlencode({"user": "therapist", "password": PASSWORD,
                                       "next": "/"}).encode()
        status, headers, _ = _get(base + "/login", data=form)
        assert status == 303
        cookie = headers["set-cookie"].split(";")[0]
        for path in paths:
            status, headers, body = _get(base + path, cookie=cookie)
            assert status == 200 and headers["Content-Type"] == "image/png", path


def test_the_downloaded_report_is_self_contained_with_the_same_figures(store: Store
                                                                      ) -> None:
    with _served(store) as base:
        shown = _images(_get(base + "/sessions/1")[2])
        drawn = {_name(src): _get(base + src)[2] for _, src in shown}
        status, headers, text = _get(base + "/sessions/1/report.html")
    assert status == 200 and 'filename="session-1.html"' in headers["Content-Disposition"]
    assert text.startswith(b"<!DOCTYPE html>")
    assert b"<script" not in text and b"http://" not in text and b"https://" not in text
    saved = _images(text)
    assert [alt for alt, _ in saved] == [alt for alt, _ in shown]  # the same, in order
    for (_, src), (name, figure) in zip(saved, drawn.items(), strict=True):
        assert src.startswith("data:image/png;base64,"), name
        assert base64.b64decode(src.split(",", 1)[1]) == figure  # the very figure shown


def test_progress_sums_from_the_database_match_the_steps(store: Store) -> None:
    """Per-phase sums computed in SQL equal those of the steps (NaN and untrusted values
    left out), are kept with the session's stats, and give each session's mean ± sd as
    a comparison computes it from the steps."""
    _check_sums(store)


def test_progress_sums_from_postgresql_match_the_steps(pg_url: str) -> None:
    store = _fill(Store(pg_url, station="server"))
    try:
        _check_sums(store)
    finally:
        store.close()


def _check_sums(store: Store) -> None:
    rows = store.sessions("anna")
    kept = store.phase_sums([(r.id, r.metrics_version) for r in rows])
    for r in rows:
        steps = store.steps(r.id)
        mine = sums_of_steps(steps)
        assert set(kept[r.id]) == set(mine)
        for phase, ps in mine.items():
            assert kept[r.id][phase].steps == ps.steps
            assert set(kept[r.id][phase].sums) == set(ps.sums)
            for m, (n, s, sq) in ps.sums.items():
                assert kept[r.id][phase].sums[m][0] == n
                assert kept[r.id][phase].sums[m][1:] == pytest.approx((s, sq), rel=1e-12)
        trusted = sum(p.sums["knee_drive_deg"][0] for p in mine.values())
        assert trusted < len(steps)  # the untrusted values are left out
    history = summaries_from_store(store, rows)
    min_steps = ReportConfig().min_steps
    for s, r in zip(history, rows, strict=True):
        steps = store.steps(r.id)
        for phase in ("baseline", "retest", "drill", "all"):
            for m in COMPARED:
                phases = pick_phases(steps, phase, min_steps)
                want = Stats.of(values(steps, m.column, phases))
                mean, sd, n, judged = _mean_sd_n(s, m.column, phase, min_steps)
                assert n == want.n and judged == (phases is not None or phase == "all")
                if n:
                    assert mean == pytest.approx(want.mean, rel=1e-12)
                    assert sd == pytest.approx(want.sd, rel=1e-9, abs=1e-9)
    assert not _mean_sd_n(history[2], "knee_drive_deg", "baseline", min_steps)[3]


def test_stats_kept_before_the_sums_get_them_once(store: Store) -> None:
    """A database from before the sums were kept: its stats rows hold medians only; the
    first progress computes the sums in SQL and keeps them beside the medians."""
    ss = S.session_stats
    with store.engine.begin() as c:
        for r in c.execute(ss.select()).all():
            med = {k: v for k, v in json.loads(r.stats).items() if k != "phases"}
            c.execute(ss.update().where(ss.c.session_id == r.session_id)
                      .values(stats=json.dumps(med)))
        c.execute(ss.delete().where(ss.c.session_id == 3))  # no row at all
    shown = [(sid, store.session_version(sid)) for sid in (1, 2, 3)]
    fresh = store.phase_sums(shown)
    with store.engine.connect() as c:
        kept = {r.session_id: json.loads(r.stats) for r in c.execute(ss.select())}
    assert set(kept) == {1, 2, 3} and all("phases" in v for v in kept.values())
    assert set(kept[1]) - {"phases"} <= set(STEP_METRICS) and "knee_drive_deg" in kept[3]
    assert store.phase_sums(shown) == fresh
    assert store.stats(1)[1] == {k: v for k, v in kept[1].items() if k != "phases"}
    n, mean = fresh[1]["baseline"].sums["cadence_spm"][:2]
    assert n == 60 and math.isfinite(mean)


def test_a_long_progress_names_every_kth_session_and_marks_a_and_b() -> None:
    """40 sessions' two-line names overlapped into an unreadable band: past 12 sessions
    every k-th is named (counted back from the newest) and A and B get their letters
    above the plot; up to 12, every session is named, A and B in the name."""
    def summary(i: int) -> SessionSummary:
        sums = {"knee_drive_deg": (20, 20 * 28.0, 20 * (28.0 ** 2 + 4.0))}
        return SessionSummary(f"session {i}", i, f"2026-01-{1 + i % 28:02d}T09:00",
                              {"baseline": PhaseSums(20, sums)}, CuesConfig)

    m = next(m for m in COMPARED if m.column == "knee_drive_deg")
    for n, a, b in ((40, 5, 6), (12, 1, 2)):
        history = [summary(i) for i in range(1, n + 1)]
        plot = _progress_plot(history, m, "baseline", 7, {f"session {a}": " (A)",
                                                          f"session {b}": " (B)"})
        assert plot is not None
        ax = plot.draw().axes[0]
        names = [t.get_text() for t in ax.get_xticklabels()]
        letters = [t.get_text() for t in ax.texts if t.get_text() in ("A", "B")]
        if n == 40:
            assert len(names) == 10 and names[-1].startswith("#40\n")
            assert letters == ["A", "B"]
        else:
            assert len(names) == 12 and names[a - 1].startswith(f"#{a} (A)")
            assert letters == []
        assert _png_size(png(plot))[0] > 500
