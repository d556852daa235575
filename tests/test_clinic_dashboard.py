"""The therapists' dashboard (`realtime serve`) driven in Debian's chromium, headless,
through Playwright: log in, open a runner and a session (its plots load after its text),
compare two, edit a target (a bad value refused, a good one saved and used by the next
session), download a report, watch a live session grow.  Screenshots go to
$REALTIME_SCREENSHOT_DIR (else a temp folder)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from realtime.cli import main
from realtime.store.db import Store
from realtime.store.home import home
from realtime.types import Step
from tests.conftest import REQUIRE_DATA
from tests.pg import wait_until
from tests.test_therapist import SHORT_PLAN, _sets

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
PASSWORD = "treadmill-42"


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        import playwright  # noqa: F401
    except ImportError:
        path = None
    if path is None:
        msg = ("chromium or playwright not installed (apt-get install chromium; "
               "pip install -e .[test])")
        if REQUIRE_DATA:
            pytest.fail(msg + " (REALTIME_REQUIRE_DATA=1)")
        pytest.skip(msg)
    return path


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _status(url: str) -> int:
    """The HTTP status without following redirects."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):  # type: ignore[no-untyped-def]
            return None

    try:
        return urllib.request.build_opener(NoRedirect).open(url, timeout=10).status
    except urllib.error.HTTPError as exc:
        return exc.code
    except urllib.error.URLError:  # not listening yet
        return 0


def test_serve_refuses_another_address_without_a_password(capsys: pytest.CaptureFixture
                                                          ) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--port", "8719"]) == 2
    err = capsys.readouterr().err
    assert "set a login password first with `realtime password`" in err
    assert len(err.strip().splitlines()) == 1


def test_the_dashboard_in_headless_chromium(real_clip_stream: Path, tmp_path: Path,
                                            realtime_home: Path) -> None:
    browser_path = _chromium()
    shots = Path(os.environ.get("REALTIME_SCREENSHOT_DIR", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    assert main(["runner", "add", "anna"]) == 0
    for k in (1, 2):
        assert main(["analyze", str(real_clip_stream), "--out", str(tmp_path / f"s{k}"),
                     "--quiet", "--runner", "anna", *_sets(SHORT_PLAN)]) == 0
    # the first session's folder holds its pose stream: its page shows the typical step
    (tmp_path / "s1" / "pose.npz").write_bytes(real_clip_stream.read_bytes())
    env = {**os.environ, "REALTIME_HOME": str(realtime_home)}
    r = subprocess.run([sys.executable, "-m", "realtime", "password"], input=PASSWORD + "\n",
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "scrypt" in r.stdout, r.stderr
    assert PASSWORD not in (realtime_home / "dashboard-password").read_text()
    host = "127.0.0.2"  # not the default address: a login is required
    port = _free_port(host)
    base = f"http://{host}:{port}"
    server = subprocess.Popen([sys.executable, "-m", "realtime", "serve", "--host", host,
                               "--port", str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        first = server.stdout.readline()
        assert "login required" in first, first + server.stderr.read()
        assert wait_until(lambda: _status(base + "/login") == 200, 30)
        # no page without a login: pages redirect to it, posts are refused
        for path in ("/", "/runners/1", "/sessions/1", "/sessions/1/report.html",
                     "/compare?a=1&b=2", "/runners/1/profile", "/runners/1/progress",
                     "/sessions/1/figure/time-knee_drive_deg.png",
                     "/compare/figure/ab-knee_drive_deg.png?a=1&b=2",
                     "/runners/1/progress/figure/progress-knee_drive_deg.png"):
            assert _status(base + path) == 303, path
        req = urllib.request.Request(base + "/runners", data=b"name=x", method="POST")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        assert e.value.code == 401
        _drive(browser_path, base, shots, tmp_path, real_clip_stream)
    finally:
        server.terminate()
        try:
            out, err = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            out, err = server.communicate()
    log = out + err  # uvicorn's access log is on stdout
    # the log has ids, never a runner's name or a password
    assert "GET /sessions/1 " in log and "anna" not in log and PASSWORD not in log, log


def _plots_shown(page: Any, prefix: str) -> int:
    """How many of the page's plots (<img> from `prefix`) there are, once every one has
    loaded and has pixels: each is scrolled into view (they load lazily)."""
    imgs = page.locator(f"img[src^='{prefix}']")
    n = imgs.count()
    for i in range(n):
        imgs.nth(i).scroll_into_view_if_needed()
    page.wait_for_function(
        "p => [...document.querySelectorAll('img')].filter(i => i.getAttribute('src')"
        ".startsWith(p)).every(i => i.complete && i.naturalWidth > 0)", arg=prefix)
    page.evaluate("window.scrollTo(0, 0)")
    return n


def _drive(browser_path: str, base: str, shots: Path, tmp_path: Path, clip: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page.set_default_timeout(60_000)
        page.goto(base + "/runners/1")
        assert "/login" in page.url
        page.fill("input[name=password]", "wrong password")
        page.click("button[type=submit]")
        expect(page.locator(".error")).to_contain_text("Wrong user name or password")
        page.fill("input[name=password]", PASSWORD)
        page.screenshot(path=str(shots / "1-login.png"))
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("anna")  # back where it was going
        page.goto(base + "/")
        expect(page.locator("table.list")).to_contain_text("anna")
        page.screenshot(path=str(shots / "2-runners.png"), full_page=True)

        page.click("text=anna")
        expect(page.locator("table.list tbody tr")).to_have_count(2)
        page.screenshot(path=str(shots / "3-runner.png"), full_page=True)
        page.select_option("select[name=status]", "failed")
        page.click("form[action='/runners/1'] button")
        expect(page.locator("table.list")).to_contain_text("No session matches the filter")
        page.goto(base + "/runners/1")

        page.click("a[href='/sessions/1']:text('open')")
        expect(page.locator("h1")).to_contain_text("Session report: session 1")
        expect(page.locator("table.kv").first).to_contain_text("metrics version")
        assert page.locator("img[src^='data:']").count() == 0  # fetched, not inlined
        shown = _plots_shown(page, "/sessions/1/figure/")
        assert shown >= 5
        assert page.locator("img[src^='/sessions/1/figure/pose.png']").count() == 1
        page.screenshot(path=str(shots / "4-session.png"), full_page=True)
        with page.expect_download() as dl:
            page.click("text=Download the report")
        saved = tmp_path / "download.html"
        dl.value.save_as(saved)
        assert dl.value.suggested_filename == "session-1.html"
        text = saved.read_text()
        assert text.startswith("<!DOCTYPE html>") and "data:image/png;base64," in text
        assert "<script" not in text and "http://" not in text and "https://" not in text
        assert text.count('<img alt="') == text.count('src="data:image/png;base64,') == shown

        page.goto(base + "/runners/1")
        page.select_option("select[name=a]", "1")
        page.select_option("select[name=b]", "2")
        page.click("form[action='/compare'] button")
        expect(page.locator("h1")).to_contain_text("Comparison: session 1 → session 2")
        expect(page.locator("body")).to_contain_text("no real change")  # the same clip twice
        assert _plots_shown(page, "/compare/figure/") >= 4
        page.screenshot(path=str(shots / "5-compare.png"), full_page=True)

        page.goto(base + "/runners/1")
        page.click("text=Targets, cue schedule and drill plan")
        before = page.input_value("input[name='cues.knee_drive_target_deg']")
        page.fill("input[name='cues.knee_drive_target_deg']", "500")
        page.click("text=Save profile")
        expect(page.locator("#error")).to_contain_text(
            "cues.knee_drive_target_deg = 500.0 is out of range: must be <= 120.0")
        page.screenshot(path=str(shots / "6-profile-refused.png"), full_page=True)
        store = Store(home().db)
        assert "500" not in (store.profile("anna")[0] or "")  # nothing saved
        assert page.input_value("input[name='cues.knee_drive_target_deg']") == "500"
        page.fill("input[name='cues.knee_drive_target_deg']", "33.5")
        page.select_option("select[name='calibration.targets']", "profile")
        page.click("text=Save profile")
        expect(page.locator(".ok")).to_contain_text("Profile saved")
        assert before != "33.5"
        # the next session uses it (the station's profile file is brought up to date)
        assert main(["analyze", str(clip), "--out", str(tmp_path / "s3"), "--quiet",
                     "--runner", "anna", *_sets(SHORT_PLAN)]) == 0
        s3 = store.session(3)
        assert s3.config["cues"]["knee_drive_target_deg"] == 33.5
        assert s3.config["calibration"]["targets"] == "profile"
        assert "knee_drive_target_deg = 33.5" in home().profile("anna").read_text()
        assert "# Example runner profile" in home().profile("anna").read_text()  # comments kept

        # a session being recorded: LIVE in the list, its page grows as steps arrive
        sid = store.begin_session(runner="anna", kind="live", source="camera 0",
                                  views=["side"], folder=None, profile=None, config={},
                                  version="0", session_index=0)
        for i in range(5):
            store.add_step(sid, i, "warm-up", Step(leg="LR"[i % 2], t_contact_s=0.33 * i,
                                                   knee_drive_deg=25.0, confidence=0.9))
        page.goto(base + "/runners/1")
        expect(page.locator("span.live")).to_have_count(1)
        page.goto(base + f"/sessions/{sid}")
        expect(page.locator("#steps")).to_have_text("5")
        for i in range(5, 12):
            store.add_step(sid, i, "warm-up", Step(leg="LR"[i % 2], t_contact_s=0.33 * i,
                                                   knee_drive_deg=26.0, confidence=0.9))
        t0 = time.monotonic()
        expect(page.locator("#steps")).to_have_text("12", timeout=15_000)  # no reload by us
        assert time.monotonic() - t0 < 15
        page.screenshot(path=str(shots / "7-live.png"), full_page=True)
        page.click("text=log out")
        page.goto(base + "/runners/1")
        assert "/login" in page.url
        browser.close()
