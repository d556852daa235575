"""The dashboard's login: one password per user, stored as an scrypt hash (stdlib).

The hash file lives in the data folder (0600); `realtime password` sets it.  A login
gives a random session token in an HttpOnly, SameSite=Strict cookie; tokens live in the
server's memory (a restart asks to log in again) and expire after `SESSION_S`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
from pathlib import Path

from realtime.errors import UserError
from realtime.store.home import Home

_N, _R, _P = 2**14, 8, 1  # scrypt cost: ~50 ms a check here, 16 MiB of memory
SESSION_S = 8 * 3600.0  # a working day
COOKIE = "realtime_session"


def _hash(password: str, salt: bytes, n: int = _N, r: int = _R, p: int = _P) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)


def set_password(home: Home, user: str, password: str) -> Path:
    """Store `user`'s password hash (replacing theirs; other users' lines kept)."""
    if len(password) < 8:
        raise UserError("the password must have at least 8 characters; nothing changed")
    if not user or ":" in user or not user.isprintable():
        raise UserError(f"user name {user!r} is not usable (no ':' and printable only)")
    salt = secrets.token_bytes(16)
    line = ":".join((user, "scrypt", str(_N), str(_R), str(_P),
                     base64.b64encode(salt).decode(), base64.b64encode(_hash(password, salt))
                     .decode()))
    keep = [ln for ln in _lines(home.password) if not ln.startswith(f"{user}:")]
    tmp = home.password.with_suffix(".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join([*keep, line]) + "\n")
    os.replace(tmp, home.password)
    return home.password


def _lines(path: Path) -> list[str]:
    try:
        return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except FileNotFoundError:
        return []


def has_password(home: Home) -> bool:
    return bool(_lines(home.password))


def check_password(home: Home, user: str, password: str) -> bool:
    """True when `password` is `user`'s (constant-time compare)."""
    for ln in _lines(home.password):
        parts = ln.split(":")
        if len(parts) != 7 or parts[0] != user or parts[1] != "scrypt":
            continue
        n, r, p = int(parts[2]), int(parts[3]), int(parts[4])
        want = base64.b64decode(parts[6])
        return hmac.compare_digest(_hash(password, base64.b64decode(parts[5]), n, r, p), want)
    _hash(password, b"0" * 16)  # the same time for an unknown user
    return False


class Sessions:
    """Logged-in browsers: token -> (user, expiry on the monotonic clock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}

    def new(self, user: str) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = (user, time.monotonic() + SESSION_S)
        return token

    def user(self, token: str | None) -> str | None:
        if not token:
            return None
        with self._lock:
            got = self._tokens.get(token)
            if got is None:
                return None
            if got[1] < time.monotonic():
                del self._tokens[token]
                return None
            return got[0]

    def drop(self, token: str | None) -> None:
        with self._lock:
            self._tokens.pop(token or "", None)
