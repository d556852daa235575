"""A station's side of the clinic: its runners' profiles from the clinic database, and
its sessions sent there while it records.

Without a clinic database configured this is all local: the station's realtime.db is
the clinic database (the dashboard on this machine shows it and edits its profiles).
"""

from __future__ import annotations

import sys
from pathlib import Path

from realtime.config import StoreConfig
from realtime.store.db import Store, StoreUnavailable, safe_url
from realtime.store.profiles import reconcile
from realtime.store.sync import Syncer
from realtime.store.where import clinic_store, clinic_url, local_store

CONNECT_TIMEOUT_S = 3.0


def prepare_runner(cfg: StoreConfig, name: str, profile: Path) -> Store:
    """This station's store, with `name` known in it and the runner's profile file as
    the clinic has it now (the newer of the clinic's copy and the file wins).  When the
    clinic database is away, one line says so and the station's own copy is used."""
    local = local_store(cfg)
    url = clinic_url(cfg)
    if url is None:
        if local.has_runner(name):
            reconcile(local, name, profile)
        return local
    try:
        clinic = clinic_store(cfg, CONNECT_TIMEOUT_S)
    except StoreUnavailable as exc:
        print(f"realtime: {exc}; recording on this station (`realtime sync` sends it later)",
              file=sys.stderr, flush=True)
        return local
    try:
        if clinic.has_runner(name):
            text, updated = clinic.profile(name)
            if not local.has_runner(name):
                local.add_runner(name, text)
            if text is not None:
                local.set_profile(name, text, updated)
            reconcile(clinic, name, profile)
            text, updated = clinic.profile(name)
            if text is not None:
                local.set_profile(name, text, updated)
    except StoreUnavailable as exc:
        print(f"realtime: {exc}; using this station's copy of {name}'s profile",
              file=sys.stderr, flush=True)
    finally:
        clinic.close()
    return local


def start_syncer(cfg: StoreConfig, local: Store) -> Syncer | None:
    """Send this station's sessions to the clinic database every second while it
    records (None when no clinic database is configured)."""
    url = clinic_url(cfg)
    if url is None:
        return None
    return Syncer(local, lambda: clinic_store(cfg, CONNECT_TIMEOUT_S), safe_url(url)).start()
