"""Where the shared recordings are: one function, imported by the readers of force, motion
capture and labelled video (so none of them imports the catalog that imports them)."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The shared recordings: $REALTIME_DATA_DIR, else ../shared/data beside the repo."""
    env = os.environ.get("REALTIME_DATA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"
