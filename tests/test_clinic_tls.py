"""`realtime serve --tls-cert C --tls-key K`: the dashboard over HTTPS, with a certificate
made here by the system's `openssl`; the login cookie is then marked Secure, and bad TLS
files are refused in one line before anything starts."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from realtime.cli import main
from tests.conftest import REQUIRE_DATA
from tests.pg import wait_until
from tests.test_clinic_dashboard import PASSWORD, _free_port

HOST = "127.0.0.2"  # not the default address: a login is required


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for HOST and its key (PEM)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        msg = "openssl not installed (apt-get install openssl)"
        if REQUIRE_DATA:
            pytest.fail(msg + " (REALTIME_REQUIRE_DATA=1)")
        pytest.skip(msg)
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=realtime test", "-addext", f"subjectAltName=IP:{HOST}",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def _with_password(home: Path) -> dict[str, str]:
    """The environment of a `realtime` process on `home`, whose login password is set."""
    env = {**os.environ, "REALTIME_HOME": str(home)}
    r = subprocess.run([sys.executable, "-m", "realtime", "password"], input=PASSWORD + "\n",
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return env


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.communicate()


def test_tls_files_are_checked_before_the_server_starts(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    cert, key = _certificate(tmp_path)
    cases = [(["--tls-cert", str(cert)], "--tls-cert and --tls-key go together"),
             (["--tls-cert", str(tmp_path / "no.pem"), "--tls-key", str(key)],
              "no.pem: no such file"),
             (["--tls-cert", str(key), "--tls-key", str(cert)],
              "not a PEM certificate and its private key")]
    for extra, said in cases:
        assert main(["serve", "--port", "8719", *extra]) == 2
        err = capsys.readouterr().err
        assert said in err and len(err.strip().splitlines()) == 1, err


def test_the_dashboard_over_https(tmp_path: Path, realtime_home: Path) -> None:
    cert, key = _certificate(tmp_path)
    env = _with_password(realtime_home)
    port = _free_port(HOST)
    base = f"https://{HOST}:{port}"
    ctx = ssl.create_default_context(cafile=str(cert))  # trusts only this certificate
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx))

    def status(path: str) -> int:
        try:
            return opener.open(base + path, timeout=10).status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, ConnectionError):
            return 0

    server = subprocess.Popen([sys.executable, "-m", "realtime", "serve", "--host", HOST,
                               "--port", str(port), "--tls-cert", str(cert), "--tls-key",
                               str(key)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        first = server.stdout.readline()
        assert first.startswith(f"realtime dashboard: {base}/"), first + server.stderr.read()
        assert "plain HTTP" not in first
        assert wait_until(lambda: status("/login") == 200, 30)
        # a login over HTTPS gets a cookie the browser only sends back over HTTPS
        class Keep(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: object, **kw: object) -> None:
                return None

        post = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx), Keep)
        req = urllib.request.Request(base + "/login?next=/", method="POST",
                                     data=f"user=therapist&password={PASSWORD}".encode())
        with pytest.raises(urllib.error.HTTPError) as e:  # the 303 to the next page
            post.open(req, timeout=10)
        assert e.value.code == 303
        cookie = e.value.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie, cookie
        # plain HTTP on the same port gets nowhere
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(f"http://{HOST}:{port}/login", timeout=10)
    finally:
        _stop(server)


def test_plain_http_on_a_shared_address_says_so(tmp_path: Path, realtime_home: Path) -> None:
    env = _with_password(realtime_home)
    port = _free_port(HOST)
    server = subprocess.Popen([sys.executable, "-m", "realtime", "serve", "--host", HOST,
                               "--port", str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        first = server.stdout.readline()
        assert "plain HTTP: the password and health data cross the network unencrypted" \
            in first, first
    finally:
        _stop(server)
