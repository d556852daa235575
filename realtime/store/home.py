"""The user's data directory: runner profiles, session folders and the session database.

Nothing is written into the source checkout or the installed package: a wheel install
works the same as a clone.  `$REALTIME_HOME` chooses the folder (tests, several
clinics on one machine); by default it is the platform's user data folder
(`platformdirs`, e.g. ~/.local/share/realtime-runform on Linux).

Layout::

    realtime.db                 the session store (realtime.store.db)
    config.toml                 this station's settings (optional: [store] url, station)
    station                     this station's generated name (when [store] station is empty)
    dashboard-password          `realtime password`: the dashboard's login (scrypt hash)
    profiles/NAME.toml          one runner's profile (thresholds, plan, calibration)
    sessions/NAME/DATE-TIME/    a live session's files (pose.npz, steps.csv, cues.csv, ...)

Health data: folders are created 0700 and the database 0600.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from realtime.errors import UserError

APP = "realtime-runform"
ENV = "REALTIME_HOME"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")


def check_runner_name(name: str) -> str:
    """A runner name is also a file name: letters, digits, space, `_ . -`, at most 64."""
    if not _NAME.match(name) or name.strip() != name or name.endswith("."):
        raise UserError(f"runner name {name!r} is not usable: letters, digits, spaces and "
                        "_ . - only, starting with a letter or digit, at most 64 characters")
    return name


@dataclass(frozen=True, slots=True)
class Home:
    """Paths under one data directory."""

    root: Path

    @property
    def db(self) -> Path:
        return self.root / "realtime.db"

    @property
    def config(self) -> Path:
        """This station's own settings (`[store] url`, `station`): a config layer."""
        return self.root / "config.toml"

    @property
    def password(self) -> Path:
        """The dashboard's password hash (`realtime password`)."""
        return self.root / "dashboard-password"

    @property
    def station_file(self) -> Path:
        """The station name made once for this data folder (when `store.station` is empty)."""
        return self.root / "station"

    @property
    def profiles(self) -> Path:
        return self.root / "profiles"

    def profile(self, runner: str) -> Path:
        return self.profiles / f"{check_runner_name(runner)}.toml"

    def session_dir(self, runner: str | None) -> Path:
        """A new folder for a live session: sessions/RUNNER/DATE-TIME (a label for people,
        so the wall-clock date; never used for timing)."""
        base = self.root / "sessions" / (check_runner_name(runner) if runner else "_no-runner")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out, k = base / stamp, 1
        while out.exists():
            k += 1
            out = base / f"{stamp}-{k}"
        return out

    def ensure(self) -> Home:
        """Create the folders (0700) and check that they are writable, in one line if not."""
        for d in (self.root, self.profiles):
            try:
                d.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise UserError(f"data folder {d} cannot be created ({exc.strerror}); set "
                                f"{ENV} to a writable folder") from None
            try:
                with tempfile.TemporaryFile(dir=d):
                    pass
            except OSError as exc:
                raise UserError(f"data folder {d} is not writable ({exc.strerror}); set "
                                f"{ENV} to a writable folder") from None
        return self


def home() -> Home:
    """The data directory in effect ($REALTIME_HOME, else the platform's user data dir)."""
    env = os.environ.get(ENV)
    if env:
        return Home(Path(env).expanduser())
    import platformdirs

    return Home(Path(platformdirs.user_data_dir(APP, appauthor=False)))
