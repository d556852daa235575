"""The dashboard's pages (Starlette routes, Jinja2 templates) and `realtime serve`.

Every page reads the clinic database (or this station's file when none is configured)
through `Store`; reports and comparisons reuse realtime.report, kept in memory per
session state (a finished session's report does not change until it is re-analysed).
A report's page is sent without its plots: each is an <img> whose URL names the figure
and the state it shows (`?v=`), drawn when the browser asks for it and kept, so the
text is there at once and the plots fill in.  URLs carry ids only, never a name; the
runner search is a POST.
"""

from __future__ import annotations

import gc
import hashlib
import ipaddress
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from realtime.clinic import auth
from realtime.config import ReportConfig
from realtime.errors import ConfigError, UserError
from realtime.store.db import RunnerRow, SessionRow, Store, StoreUnavailable
from realtime.store.home import Home, check_runner_name

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from realtime.report.html import Plot
    from realtime.store.sessiondata import SessionData, SessionSummary

HERE = Path(__file__).resolve().parent
LIVE_REFRESH_S = 3  # a recording session's page reloads this often (plain polling)
WARM = 3  # a runner's newest reports drawn in the background when their list is opened
DRAWERS = 1  # figures drawn at once: matplotlib holds the GIL while it draws, so two
# threads drawing take as long as one drawing both (measured on 2 cores), and one at a
# time sends a page's figures in the order the browser asked for them
# A figure's URL names the state it shows (?v=): it never changes, so the browser keeps it
# ("private": never in a shared cache).  A page's text stays no-store.
# plots are health data: never kept on the browser's disk (the pages are no-store too);
# a repeat view is quick anyway, from the server's own cache
FIGURE_CACHE = "private, no-store"
QUIET_S = 0.5  # the warm thread works only after this long without a request
_MAIN = (("knee_drive_deg", "knee drive", "°"), ("hip_sway_pct", "hip sway", "%"),
         ("pelvic_drop_deg", "pelvic drop", "°"), ("cadence_spm", "cadence", "spm"))


class _Cache:
    """A small LRU keyed by what a value depends on.  A value is made once: a request for
    one being made waits for it (a browser asks for a page's figures all at once, and
    they share the session they are drawn from); different values are made at once."""

    def __init__(self, size: int = 48) -> None:
        self._d: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._making: dict[tuple, threading.Lock] = {}
        self.size = size

    def has(self, key: tuple) -> bool:
        with self._lock:
            return key in self._d

    def get(self, key: tuple, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                return self._d[key]
            making = self._making.setdefault(key, threading.Lock())
        with making:
            with self._lock:
                if key in self._d:  # made meanwhile by another request
                    return self._d[key]
            try:
                value = make()
                with self._lock:
                    self._d[key] = value
                    while len(self._d) > self.size:
                        self._d.popitem(last=False)
            finally:
                with self._lock:
                    if self._making.get(key) is making:
                        del self._making[key]
        return value


def _token(key: tuple) -> str:
    """The `?v=` of a figure's URL: a digest of the state it shows (no data in it)."""
    return hashlib.sha256(repr(key).encode()).hexdigest()[:16]


def is_local(host: str) -> bool:
    """The default address (127.0.0.1, or ::1, localhost) serves without a login; any
    other address requires one (even 127.0.0.2: whoever chose it chose something else)."""
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return ip in (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


def _plan(cfg: dict) -> str:
    d, c = cfg.get("drill", {}), cfg.get("cues", {})
    if not d:
        return "–"
    blocks = d.get("blocks", 0)
    block = float(d.get("block_s", 0))
    length = f"{block / 60:.3g} min" if block >= 60 else f"{block:.3g} s"
    drill = f"{blocks}×{length}" if blocks else "open drill"
    return f"{drill}, {c.get('schedule', '?')}"


def _fmt(v: Any, unit: str) -> str:
    return f"{v:.1f}{unit if unit == '°' else ' ' + unit}" if isinstance(v, int | float) \
        else "–"


class Dashboard:
    """The routes, over one Store."""

    def __init__(self, store: Store, home: Home, require_login: bool) -> None:
        self.store, self.home, self.require_login = store, home, require_login
        self.sessions = auth.Sessions()
        self.cache = _Cache()  # pages' text
        self.data = _Cache(24)  # loaded sessions, summaries, plots described (not drawn)
        self.figures = _Cache(400)  # drawn PNGs (~20-90 kB each)
        self._drawing = threading.BoundedSemaphore(DRAWERS)
        self._serving = 0  # requests being served (the warm thread waits for none)
        self._served = time.monotonic()  # when the last one ended
        self._serving_lock = threading.Lock()
        self._warmer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warm")
        self._warm_todo: list[SessionRow] = []  # the newest list opened wins
        self._warm_running = False
        self._warm_lock = threading.Lock()
        self.report_cfg = ReportConfig()
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals["refresh_s"] = LIVE_REFRESH_S
        from realtime.report.html import REPORT_CSS

        self.templates.env.globals["report_css"] = REPORT_CSS
        # matplotlib's first figure in a process takes 0.3 s more (fonts, imports): not
        # the first therapist's
        self._warmer.submit(self._first_figure)
        self._warmer.submit(self._fill_sums)

    # ------------------------------------------------------------------ plumbing

    def page(self, request: Request, name: str, status: int = 200, **ctx: Any) -> Response:
        ctx.setdefault("user", request.scope.get("user_name"))
        ctx.setdefault("login", self.require_login)
        return self.templates.TemplateResponse(request, name, ctx, status_code=status)

    def error(self, request: Request, message: str, status: int) -> Response:
        return self.page(request, "error.html", status=status, message=message)

    async def guarded(self, request: Request, fn: Callable[..., Response], *args: Any
                      ) -> Response:
        """Run a page's work in a thread; a user error or an unreachable database is a
        page with one line."""
        with self._serving_lock:
            self._serving += 1
        try:
            return await run_in_threadpool(fn, request, *args)
        except StoreUnavailable as exc:
            return self.error(request, str(exc), 503)
        except UserError as exc:
            msg = str(exc)
            return self.error(request, msg, 404 if msg.startswith("unknown") else 400)
        finally:
            with self._serving_lock:
                self._serving -= 1
                self._served = time.monotonic()

    def app(self) -> Starlette:
        routes = [
            Route("/login", self.login, methods=["GET", "POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/", self.runners, methods=["GET", "POST"]),
            Route("/runners", self.add_runner, methods=["POST"]),
            Route("/runners/{rid:int}", self.runner),
            Route("/runners/{rid:int}/profile", self.profile, methods=["GET", "POST"]),
            Route("/runners/{rid:int}/progress", self.progress),
            Route("/runners/{rid:int}/progress/figure/{name}.png", self.progress_figure),
            Route("/sessions/{sid:int}", self.session),
            Route("/sessions/{sid:int}/figure/{name}.png", self.session_figure),
            Route("/sessions/{sid:int}/report.html", self.download),
            Route("/compare", self.compare),
            Route("/compare/figure/{name}.png", self.compare_figure),
            Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        ]
        return Starlette(routes=routes, middleware=[Middleware(_Login, dashboard=self)])

    # ------------------------------------------------------------------ login

    async def login(self, request: Request) -> Response:
        nxt = request.query_params.get("next", "/")
        if not nxt.startswith("/") or nxt.startswith("//"):
            nxt = "/"
        if request.method == "GET":
            return self.page(request, "login.html", next=nxt, failed=False)
        form = await request.form()
        user, pw = str(form.get("user", "")), str(form.get("password", ""))
        ok = await run_in_threadpool(auth.check_password, self.home, user, pw)
        if not ok:
            return self.page(request, "login.html", status=401, next=nxt, failed=True)
        resp = RedirectResponse(nxt, status_code=303)
        resp.set_cookie(auth.COOKIE, self.sessions.new(user), httponly=True, samesite="strict",
                        max_age=int(auth.SESSION_S), secure=request.url.scheme == "https")
        return resp

    async def logout(self, request: Request) -> Response:
        self.sessions.drop(request.cookies.get(auth.COOKIE))
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(auth.COOKIE)
        return resp

    # ------------------------------------------------------------------ runners

    async def runners(self, request: Request) -> Response:
        query = ""
        if request.method == "POST":  # a name is never put in a URL
            query = str((await request.form()).get("q", "")).strip()
        return await self.guarded(request, self._runners, query)

    def _runners(self, request: Request, query: str, error: str = "", status: int = 200
                 ) -> Response:
        rows = self.store.runner_rows(query)
        return self.page(request, "runners.html", status=status, runners=rows, q=query,
                         error=error, database=self.store.name)

    async def add_runner(self, request: Request) -> Response:
        name = str((await request.form()).get("name", "")).strip()

        def work(request: Request) -> Response:
            from realtime.store.profiles import TEMPLATE

            try:
                check_runner_name(name)
                rid = self.store.add_runner(name, TEMPLATE.read_text(encoding="utf-8"))
            except UserError as exc:
                return self._runners(request, "", error=str(exc), status=400)
            return RedirectResponse(f"/runners/{rid}", status_code=303)

        return await self.guarded(request, work)

    async def runner(self, request: Request) -> Response:
        return await self.guarded(request, self._runner, request.path_params["rid"])

    def _runner(self, request: Request, rid: int) -> Response:
        r = self.store.runner_by_id(rid)
        qp = request.query_params
        filt = {k: qp.get(k, "").strip() for k in ("since", "until", "status", "station")}
        for k in ("since", "until"):
            if filt[k] and not _is_date(filt[k]):
                raise UserError(f"{k} = {filt[k]!r}: give a date as YYYY-MM-DD")
        if filt["status"] not in ("", "recording", "done", "failed"):
            raise UserError(f"status = {filt['status']!r}: one of recording, done, failed")
        listed = self.store.session_list(rid, **filt)
        rows = []
        for row, stats in listed:
            rows.append({"row": row, "plan": _plan(row.config),
                         "metrics": [_fmt(stats.get(k), u) for k, _, u in _MAIN],
                         "live": row.status == "recording"})
        self._warm([row for row, _ in listed if row.status != "recording"][:WARM])
        return self.page(request, "runner.html", runner=r, rows=rows, filt=filt,
                         main=[label for _, label, _ in _MAIN], stations=self.store.stations(),
                         choices=self.store.session_choices(rid),
                         saved=qp.get("saved") == "1")

    async def profile(self, request: Request) -> Response:
        rid = request.path_params["rid"]
        form = dict(await request.form()) if request.method == "POST" else None
        return await self.guarded(request, self._profile, rid, form)

    def _profile(self, request: Request, rid: int, form: dict | None) -> Response:
        from realtime.store.profiles import FORM_FIELDS, TEMPLATE, apply_form, form_values

        r = self.store.runner_by_id(rid)
        text, updated = self.store.profile(r.name)
        if text is None:
            text = TEMPLATE.read_text(encoding="utf-8")
        if form is None:
            return self.page(request, "profile.html", runner=r, fields=FORM_FIELDS,
                             values=form_values(text), error="", updated=updated)
        values = {k: str(form[k]) for k in FORM_FIELDS if k in form}  # absent: unchanged
        try:
            new = apply_form(text, values)
        except ConfigError as exc:  # nothing saved: the form comes back as typed
            shown = {**form_values(text), **values}
            return self.page(request, "profile.html", status=400, runner=r,
                             fields=FORM_FIELDS, values=shown, error=str(exc),
                             updated=updated)
        self.store.set_profile(r.name, new)
        return RedirectResponse(f"/runners/{rid}?saved=1", status_code=303)

    # ------------------------------------------------------------------ figures

    def _png(self, key: tuple, plot: Plot) -> bytes:
        """A plot drawn once per state (`key`), at most DRAWERS at a time."""
        from realtime.report.html import png

        def make() -> bytes:
            with self._drawing:
                return png(plot)

        return self.figures.get((*key, plot.name), make)

    def _figure(self, request: Request, key: tuple, plots: dict[str, Plot], name: str,
                what: str) -> Response:
        plot = plots.get(name)
        if plot is None:
            raise UserError(f"unknown figure {name!r} of {what}")
        fresh = request.query_params.get("v") == _token(key)  # else: not to be kept
        return Response(self._png(key, plot), media_type="image/png",
                        headers={"Cache-Control": FIGURE_CACHE if fresh else "no-store"})

    # ------------------------------------------------------------------ progress

    async def progress(self, request: Request) -> Response:
        return await self.guarded(request, self._progress, request.path_params["rid"])

    async def progress_figure(self, request: Request) -> Response:
        return await self.guarded(request, self._progress_figure, request.path_params["rid"],
                                  request.path_params["name"])

    def _progress_state(self, request: Request, rid: int
                        ) -> tuple[RunnerRow, str, list[SessionRow], list[str], tuple]:
        r = self.store.runner_by_id(rid)
        phase = _phase(request)
        rows = [s for s in self.store.sessions(r.name) if s.steps]
        versions = sorted({s.metrics_version for s in rows})
        shown = versions[-1] if versions else ""
        rows = [s for s in rows if s.metrics_version == shown]
        key = ("progress", rid, phase, tuple((s.id, s.rev, s.steps) for s in rows))
        return r, phase, rows, versions, key

    def _progress_plots(self, key: tuple, rows: list[SessionRow], phase: str
                        ) -> tuple[list[SessionSummary], dict[str, Plot]]:
        """The sessions' summaries (kept per-phase sums: no steps read) and their plots."""
        from realtime.report.html import progress_plots
        from realtime.store.sessiondata import summaries_from_store

        def make() -> tuple[list[SessionSummary], dict[str, Plot]]:
            history = summaries_from_store(self.store, rows)
            return history, progress_plots(history, self.report_cfg, phase)

        return self.data.get(("plots", *key), make)

    def _progress(self, request: Request, rid: int) -> Response:
        from realtime.report.html import progress_body

        r, phase, rows, versions, key = self._progress_state(request, rid)
        v = _token(key)

        def make() -> str:
            history, plots = self._progress_plots(key, rows, phase)
            return progress_body(history, self.report_cfg, phase, lambda p: (
                f"/runners/{rid}/progress/figure/{p.name}.png?phase={phase}&v={v}"), plots)

        body = self.cache.get(key, make)
        return self.page(request, "progress.html", runner=r, body=body, phase=phase,
                         n=len(rows), version=versions[-1] if versions else "",
                         other_versions=len(versions) > 1)

    def _progress_figure(self, request: Request, rid: int, name: str) -> Response:
        _r, phase, rows, _versions, key = self._progress_state(request, rid)
        _history, plots = self._progress_plots(key, rows, phase)
        return self._figure(request, key, plots, name, f"runner {rid}'s progress")

    def _warm(self, rows: list[SessionRow]) -> None:
        """Draw the reports a therapist is likely to open next (a runner's newest
        sessions: text and figures) in one background thread, so that opening them is
        quick.  The runner list opened last replaces what was still to do: a therapist
        paging through runners never queues up work.  Each piece waits until no request
        has been served for QUIET_S, so it delays one by at most the figure it is
        drawing (~0.1 s)."""
        todo = [r for r in rows if not self.cache.has(self._report_key(r))]
        with self._warm_lock:
            self._warm_todo = todo
            if not todo or self._warm_running:
                return
            self._warm_running = True
        self._warmer.submit(self._warm_work)

    def _warm_work(self) -> None:
        while True:
            with self._warm_lock:
                if not self._warm_todo:
                    self._warm_running = False
                    return
                r = self._warm_todo.pop(0)
            try:
                self._quiet()
                self._report(r)
                key = self._report_key(r)
                for plot in self._session_plots(r).values():
                    self._quiet()
                    self._png(key, plot)
            except Exception:  # speculative work: the page, opened, shows any error
                continue

    def _fill_sums(self) -> None:
        """A database from before the per-phase sums were kept gets them now, one runner
        at a time while nobody is waiting, instead of on each runner's first comparison
        or progress page (0.3-0.5 s there).  A database that has them only reads them."""
        try:
            for name, _created, n in self.store.runners():
                if n == 0:
                    continue
                self._quiet()
                rows = [r for r in self.store.sessions(name)
                        if r.steps and r.status != "recording"]
                self.store.phase_sums([(r.id, r.metrics_version) for r in rows])
        except Exception:  # speculative work: a page that needs the sums makes them
            return

    def _first_figure(self) -> None:
        from realtime.report.html import Plot, new_figure, png

        def draw() -> Figure:
            fig, ax = new_figure(2.0, 1.0)
            ax.plot([0, 1], [0, 1], "o", label="x")
            ax.set_xlabel("x")
            ax.legend()
            return fig

        with self._drawing:
            png(Plot("warm-up", "", "", draw))
        _freeze_once()

    def _quiet(self) -> None:
        """Wait until no request has been served for QUIET_S: a page's figures come in a
        burst just after its text, and the warm thread's work must not slow them."""
        while self._serving > 0 or time.monotonic() - self._served < QUIET_S:
            time.sleep(0.05)

    # ------------------------------------------------------------------ sessions

    @staticmethod
    def _report_key(row: SessionRow) -> tuple:
        return ("session", row.id, row.rev, row.metrics_version, row.steps)

    async def session(self, request: Request) -> Response:
        return await self.guarded(request, self._session, request.path_params["sid"])

    def _data(self, row: SessionRow) -> SessionData:
        """A session's steps and cues, loaded once for its page and all its figures."""
        from realtime.store import sessiondata

        return self.data.get(("data", *self._report_key(row)[1:]),
                             lambda: sessiondata.from_store(self.store, row.id))

    def _session_plots(self, row: SessionRow) -> dict[str, Plot]:
        from realtime.report.html import session_plots

        return self.data.get(("plots", *self._report_key(row)),
                             lambda: session_plots(self._data(row)))

    def _report(self, row: SessionRow) -> tuple[str, str]:
        """(title, body) of a session's page: the text, each plot an <img> to fetch."""
        from realtime.report.html import session_body

        key = self._report_key(row)
        v = _token(key)
        return self.cache.get(key, lambda: session_body(
            self._data(row), self.report_cfg,
            lambda p: f"/sessions/{row.id}/figure/{p.name}.png?v={v}",
            self._session_plots(row)))

    async def session_figure(self, request: Request) -> Response:
        return await self.guarded(request, self._session_figure, request.path_params["sid"],
                                  request.path_params["name"])

    def _session_figure(self, request: Request, sid: int, name: str) -> Response:
        row = self.store.session(sid)
        return self._figure(request, self._report_key(row), self._session_plots(row), name,
                            f"session {sid}")

    def _session(self, request: Request, sid: int) -> Response:
        row = self.store.session(sid)
        rid = self.store.runner_id(row.runner) if row.runner else None
        others = self.store.sessions(row.runner) if row.runner else [row]
        if row.status == "recording":  # live: the latest steps, reloaded every few seconds
            n, med = self.store.stats(sid)
            latest = self.store.last_steps(sid, 15)
            return self.page(request, "live.html", row=row, rid=rid, n=n, latest=latest,
                             medians=[(label, _fmt(med.get(k), u)) for k, label, u in _MAIN],
                             cues=len(self.store.cues(sid)))
        _title, body = self._report(row)
        return self.page(request, "session.html", row=row, rid=rid, body=body, others=others)

    async def download(self, request: Request) -> Response:
        return await self.guarded(request, self._download, request.path_params["sid"])

    def _download(self, request: Request, sid: int) -> Response:
        """The report as one self-contained file: every plot inlined (those the page
        showed are drawn already)."""
        from realtime.report.html import data_url, page, session_body

        row = self.store.session(sid)
        key = self._report_key(row)
        title, body = session_body(self._data(row), self.report_cfg,
                                   lambda p: data_url(self._png(key, p)),
                                   self._session_plots(row))
        return HTMLResponse(page(title, body), headers={
            "Content-Disposition": f'attachment; filename="session-{sid}.html"'})

    async def compare(self, request: Request) -> Response:
        return await self.guarded(request, self._compare)

    async def compare_figure(self, request: Request) -> Response:
        return await self.guarded(request, self._compare_figure, request.path_params["name"])

    def _compare_state(self, request: Request
                       ) -> tuple[SessionRow, SessionRow, str, list[tuple], tuple]:
        """(A, B, phase, the sessions of the progress, the key of all it depends on)."""
        from realtime.store import sessiondata

        qp = request.query_params
        try:
            ida, idb = int(qp.get("a", "")), int(qp.get("b", ""))
        except ValueError:
            raise UserError("pick two sessions to compare (A and B)") from None
        phase = _phase(request)
        ra, rb = self.store.session(ida), self.store.session(idb)
        if ra.metrics_version != rb.metrics_version:  # the one-line refusal, with its fix
            sessiondata.check_comparable(sessiondata.from_store(self.store, ida),
                                         sessiondata.from_store(self.store, idb))
        hist: list[tuple] = [(ra.id, ra.rev, ra.status, ra.steps),
                             (rb.id, rb.rev, rb.status, rb.steps)]
        if ra.runner and ra.runner == rb.runner:  # what the progress depends on, cheaply
            hist = self.store.session_keys(self.store.runner_id(ra.runner),
                                           ra.metrics_version)
        key = ("compare", ida, idb, phase, tuple(hist),
               self._report_key(ra)[1:], self._report_key(rb)[1:])
        return ra, rb, phase, hist, key

    def _compare_plots(self, key: tuple, ra: SessionRow, rb: SessionRow, phase: str,
                       hist: list[tuple]) -> tuple[list[SessionSummary], dict[str, Plot]]:
        """The progress's summaries (kept per-phase sums: no steps of the other sessions
        are read) and every plot of the comparison."""
        from realtime.report.html import compare_plots
        from realtime.store.sessiondata import summaries_from_store

        def make() -> tuple[list[SessionSummary], dict[str, Plot]]:
            rows = {r.id: r for r in (ra, rb)}
            ids = [h[0] for h in hist if h[3] != 0]
            rows.update({r.id: r for r in self.store.session_rows(
                [i for i in ids if i not in rows])})
            history = summaries_from_store(self.store, [rows[i] for i in ids])
            return history, compare_plots(self._data(ra), self._data(rb), history,
                                          self.report_cfg, phase)

        return self.data.get(("plots", *key), make)

    def _compare(self, request: Request) -> Response:
        from realtime.report.html import compare_body

        ra, rb, phase, hist, key = self._compare_state(request)
        v = _token(key)

        def make() -> tuple[str, str]:
            history, plots = self._compare_plots(key, ra, rb, phase, hist)
            return compare_body(self._data(ra), self._data(rb), history, self.report_cfg,
                                phase, lambda p: (f"/compare/figure/{p.name}.png?a={ra.id}"
                                                  f"&b={rb.id}&phase={phase}&v={v}"), plots)

        _title, body = self.cache.get(key, make)
        rid = self.store.runner_id(ra.runner) if ra.runner else None
        return self.page(request, "compare.html", body=body, a=ra, b=rb, rid=rid, phase=phase)

    def _compare_figure(self, request: Request, name: str) -> Response:
        ra, rb, phase, hist, key = self._compare_state(request)
        _history, plots = self._compare_plots(key, ra, rb, phase, hist)
        return self._figure(request, key, plots, name,
                            f"the comparison of sessions {ra.id} and {rb.id}")


_frozen = threading.Lock()


def _freeze_once() -> None:
    """What a server has loaded at its start (modules, classes, matplotlib: ~160 000
    objects) stays for good: take it out of the collector's full passes, which took
    50-140 ms in the middle of a request.  Once per process."""
    if _frozen.acquire(blocking=False):
        gc.collect()
        gc.freeze()


def _phase(request: Request) -> str:
    phase = request.query_params.get("phase", "baseline")
    if phase not in ("baseline", "retest", "drill", "all"):
        raise UserError(f"phase = {phase!r}: one of baseline, retest, drill, all")
    return phase


def _is_date(text: str) -> bool:
    import datetime as dt

    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


class _Login(BaseHTTPMiddleware):
    """No page without a login when the dashboard is bound beyond this machine."""

    def __init__(self, app: Any, dashboard: Dashboard) -> None:
        super().__init__(app)
        self.dashboard = dashboard

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint
                       ) -> Response:
        path = request.url.path
        if self.dashboard.require_login and path != "/login" and \
                not path.startswith("/static/"):
            user = self.dashboard.sessions.user(request.cookies.get(auth.COOKIE))
            if user is None:
                if request.method == "GET":
                    return RedirectResponse(f"/login?next={quote(path)}", status_code=303)
                return Response("login required", status_code=401)
            request.scope["user_name"] = user
        resp = await call_next(request)
        resp.headers.setdefault("Cache-Control", "no-store")  # health data: no caching
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        return resp


def build_app(store: Store, home: Home, require_login: bool) -> Starlette:
    return Dashboard(store, home, require_login).app()


def check_tls(cert: Path | None, key: Path | None) -> None:
    """Both or neither, readable, and a certificate with its own key: said in one line
    before the server starts, not as a traceback from inside uvicorn."""
    import ssl

    if (cert is None) != (key is None):
        raise UserError("--tls-cert and --tls-key go together (the certificate and its "
                        "private key, PEM files)")
    if cert is None or key is None:
        return
    for flag, path in (("--tls-cert", cert), ("--tls-key", key)):
        if not path.is_file():
            raise UserError(f"{flag} {path}: no such file")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        raise UserError(f"--tls-cert {cert} / --tls-key {key}: not a PEM certificate and "
                        f"its private key ({exc})") from None


def serve(host: str, port: int, tls_cert: Path | None = None,
          tls_key: Path | None = None) -> int:
    """`realtime serve`: check the login rule and the TLS files, say how it is reached,
    run uvicorn (HTTPS with a certificate: a password and health data then never cross
    the clinic's network in the clear)."""
    import uvicorn

    from realtime.config import load_config
    from realtime.store.home import home
    from realtime.store.where import clinic_store

    if not 0 < port < 65536:
        raise UserError(f"--port {port}: must be 1-65535")
    check_tls(tls_cert, tls_key)
    h = home().ensure()
    local = is_local(host)
    if not local and not auth.has_password(h):
        raise UserError(f"--host {host} lets other machines in: set a login password first "
                        "with `realtime password` (or serve on 127.0.0.1)")
    store = clinic_store(load_config().store)
    app = build_app(store, h, require_login=not local)
    shown = f"[{host}]" if ":" in host else host
    scheme = "https" if tls_cert is not None else "http"
    print(f"realtime dashboard: {scheme}://{shown}:{port}/ showing {store.name}; "
          + ("this machine only (127.0.0.1), no login" if local else
             "reachable from other machines: login required (`realtime password` sets it)")
          + ("" if local or tls_cert is not None else
             "; plain HTTP: the password and health data cross the network unencrypted "
             "(--tls-cert and --tls-key serve HTTPS)"),
          flush=True)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=True,
                server_header=False,
                ssl_certfile=None if tls_cert is None else str(tls_cert),
                ssl_keyfile=None if tls_key is None else str(tls_key))
    return 0
