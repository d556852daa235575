"""Which databases a command uses: this station's own realtime.db, and the clinic's.

A station always records into its own SQLite file first (a step is safe on its disk in
milliseconds whatever the network does); when a clinic database is configured
(`REALTIME_DB_URL`, else `[store] url` in the config, e.g. the data folder's
config.toml) the station sends its sessions there (realtime.store.sync), and the
dashboard shows that database.  With nothing configured the clinic database *is* the
station's file: nothing to set up.
"""

from __future__ import annotations

import os
import re
import secrets
import socket

from realtime.config import StoreConfig
from realtime.errors import UserError
from realtime.store.db import Store
from realtime.store.home import home

ENV_URL = "REALTIME_DB_URL"
_STATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def clinic_url(cfg: StoreConfig) -> str | None:
    """The configured clinic database URL, or None (this station's file only)."""
    url = os.environ.get(ENV_URL, "").strip() or cfg.url.strip()
    return url or None


def station_name(cfg: StoreConfig) -> str:
    """`[store] station`, else a name made once for this data folder (host + 4 hex)."""
    if cfg.station:
        if not _STATION.match(cfg.station):
            raise UserError(f"store.station = {cfg.station!r}: letters, digits and _ . - "
                            "only, at most 64")
        return cfg.station
    h = home().ensure()
    try:
        name = h.station_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        name = ""
    if not _STATION.match(name):
        host = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname())[:40] or "station"
        name = f"{host}-{secrets.token_hex(2)}"
        h.station_file.write_text(name + "\n", encoding="utf-8")
    return name


def local_store(cfg: StoreConfig) -> Store:
    """This station's own session store (the data folder's realtime.db)."""
    return Store(home().ensure().db, station=station_name(cfg))


def clinic_store(cfg: StoreConfig, connect_timeout_s: float = 5.0) -> Store:
    """The clinic's database (raises StoreUnavailable when it cannot be reached), or this
    station's own file when none is configured."""
    url = clinic_url(cfg)
    if url is None:
        return local_store(cfg)
    return Store(url, station=station_name(cfg), connect_timeout_s=connect_timeout_s)
