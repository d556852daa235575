"""The dashboard's pages (Starlette routes, Jinja2 templates) and `realtime serve`.

Every page reads the clinic database (or this station's file when none is configured)
through `Store`; reports and comparisons reuse realtime.report, rendered once per
session state and kept in memory (a finished session's report does not change until it
is re-analysed).  URLs carry ids only, never a name; the runner search is a POST.
"""

from __future__ import annotations

import ipaddress
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
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
from realtime.store.db import SessionRow, Store, StoreUnavailable
from realtime.store.home import Home, check_runner_name

HERE = Path(__file__).resolve().parent
LIVE_REFRESH_S = 3  # a recording session's page reloads this often (plain polling)
WARM = 3  # a runner's newest reports drawn in the background when their list is opened
_MAIN = (("knee_drive_deg", "knee drive", "°"), ("hip_sway_pct", "hip sway", "%"),
         ("pelvic_drop_deg", "pelvic drop", "°"), ("cadence_spm", "cadence", "spm"))


class _Cache:
    """A small LRU of rendered report bodies, keyed by what they depend on."""

    def __init__(self, size: int = 48) -> None:
        self._d: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.render_lock = threading.Lock()
        self.size = size

    def has(self, key: tuple) -> bool:
        with self._lock:
            return key in self._d

    def get(self, key: tuple, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                return self._d[key]
        with self.render_lock:  # pyplot is not thread-safe: one report drawn at a time
            with self._lock:
                if key in self._d:  # drawn meanwhile by another request
                    return self._d[key]
            value = make()
        with self._lock:
            self._d[key] = value
            while len(self._d) > self.size:
                self._d.popitem(last=False)
        return value


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
        self.cache = _Cache()
        self._warmer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warm")
        self._warm_idle = threading.Lock()
        self.report_cfg = ReportConfig()
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals["refresh_s"] = LIVE_REFRESH_S
        from realtime.report.html import REPORT_CSS

        self.templates.env.globals["report_css"] = REPORT_CSS

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
        try:
            return await run_in_threadpool(fn, request, *args)
        except StoreUnavailable as exc:
            return self.error(request, str(exc), 503)
        except UserError as exc:
            msg = str(exc)
            return self.error(request, msg, 404 if msg.startswith("unknown") else 400)

    def app(self) -> Starlette:
        routes = [
            Route("/login", self.login, methods=["GET", "POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/", self.runners, methods=["GET", "POST"]),
            Route("/runners", self.add_runner, methods=["POST"]),
            Route("/runners/{rid:int}", self.runner),
            Route("/runners/{rid:int}/profile", self.profile, methods=["GET", "POST"]),
            Route("/runners/{rid:int}/progress", self.progress),
            Route("/sessions/{sid:int}", self.session),
            Route("/sessions/{sid:int}/report.html", self.download),
            Route("/compare", self.compare),
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

    async def progress(self, request: Request) -> Response:
        return await self.guarded(request, self._progress, request.path_params["rid"])

    def _progress(self, request: Request, rid: int) -> Response:
        from realtime.report.html import progress_body
        from realtime.store import sessiondata

        r = self.store.runner_by_id(rid)
        phase = request.query_params.get("phase", "baseline")
        if phase not in ("baseline", "retest", "drill", "all"):
            raise UserError(f"phase = {phase!r}: one of baseline, retest, drill, all")
        rows = [s for s in self.store.sessions(r.name) if s.steps]
        versions = sorted({s.metrics_version for s in rows})
        shown = versions[-1] if versions else ""
        rows = [s for s in rows if s.metrics_version == shown]
        key = ("progress", rid, phase, tuple((s.id, s.rev, s.steps) for s in rows))
        body = self.cache.get(key, lambda: progress_body(
            [sessiondata.from_store(self.store, s.id) for s in rows], self.report_cfg, phase))
        return self.page(request, "progress.html", runner=r, body=body, phase=phase,
                         n=len(rows), version=shown, other_versions=len(versions) > 1)

    def _warm(self, rows: list[SessionRow]) -> None:
        """Draw the reports a therapist is likely to open next (a runner's newest
        sessions) in one background thread, so that opening them is quick.  Only when
        that thread is idle: a therapist paging through runners never queues up work
        that would slow the pages they open."""
        todo = [r for r in rows if not self.cache.has(self._report_key(r))]
        if not todo or not self._warm_idle.acquire(blocking=False):
            return

        def work() -> None:
            try:
                for r in todo:
                    self._report(r)
            finally:
                self._warm_idle.release()

        self._warmer.submit(work)

    # ------------------------------------------------------------------ sessions

    @staticmethod
    def _report_key(row: SessionRow) -> tuple:
        return ("session", row.id, row.rev, row.metrics_version, row.steps)

    async def session(self, request: Request) -> Response:
        return await self.guarded(request, self._session, request.path_params["sid"])

    def _report(self, row: SessionRow) -> tuple[str, str]:
        from realtime.report.html import session_body
        from realtime.store import sessiondata

        return self.cache.get(self._report_key(row), lambda: session_body(
            sessiondata.from_store(self.store, row.id), self.report_cfg))

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
        from realtime.report.html import page

        row = self.store.session(sid)
        title, body = self._report(row)
        return HTMLResponse(page(title, body), headers={
            "Content-Disposition": f'attachment; filename="session-{sid}.html"'})

    async def compare(self, request: Request) -> Response:
        return await self.guarded(request, self._compare)

    def _compare(self, request: Request) -> Response:
        from realtime.report.html import compare_body
        from realtime.store import sessiondata

        qp = request.query_params
        try:
            ida, idb = int(qp.get("a", "")), int(qp.get("b", ""))
        except ValueError:
            raise UserError("pick two sessions to compare (A and B)") from None
        phase = qp.get("phase", "baseline")
        if phase not in ("baseline", "retest", "drill", "all"):
            raise UserError(f"phase = {phase!r}: one of baseline, retest, drill, all")
        ra, rb = self.store.session(ida), self.store.session(idb)
        if ra.metrics_version != rb.metrics_version:  # the one-line refusal, with its fix
            sessiondata.check_comparable(sessiondata.from_store(self.store, ida),
                                         sessiondata.from_store(self.store, idb))
        hist: list[tuple] = [(ra.id, ra.rev, ra.status, ra.steps),
                             (rb.id, rb.rev, rb.status, rb.steps)]
        if ra.runner and ra.runner == rb.runner:  # what the progress depends on, cheaply
            hist = self.store.session_keys(self.store.runner_id(ra.runner),
                                           ra.metrics_version)
        key = ("compare", ida, idb, phase, tuple(hist))

        def make() -> tuple[str, str]:
            a = sessiondata.from_store(self.store, ida)
            b = sessiondata.from_store(self.store, idb)
            rows = [h[0] for h in hist if h[3] != 0]
            history = [a if i == ida else b if i == idb else
                       sessiondata.from_store(self.store, i) for i in rows]
            return compare_body(a, b, history, self.report_cfg, phase)

        _title, body = self.cache.get(key, make)
        rid = self.store.runner_id(ra.runner) if ra.runner else None
        return self.page(request, "compare.html", body=body, a=ra, b=rb, rid=rid, phase=phase)


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
