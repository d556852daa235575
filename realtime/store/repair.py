"""Completing a live session's record in the store from its folder (`realtime recover`).

When the store's disk fills during a session (or the session is killed), the folder
keeps what the store could not take: steps.csv and cues.csv as they happened, and
summary.json.  Once there is space again, the missing rows are added in order (a row's
place in its CSV is its seq) and the session is ended with its summary; rows the store
already holds are never changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from realtime.store.db import Store
from realtime.store.sessiondata import from_folder, read_summary


@dataclass(frozen=True, slots=True)
class Repaired:
    """What `complete_session` did to one session's record."""

    session_id: int
    steps_added: int
    cues_added: int
    ended: bool  # the session had no end in the store, and now has one


def complete_session(store: Store, folder: Path) -> Repaired | None:
    """Add what the store lacks of the session recorded in `folder`; None when the store
    has no such session or already holds all of it."""
    summary = read_summary(folder)
    sid = summary.get("session_id") if isinstance(summary.get("session_id"), int) else None
    sid = sid if sid is not None else store.session_of_folder(folder)
    if sid is None or not (folder / "steps.csv").is_file():
        return None
    row = store.session(sid)
    data = from_folder(folder)
    n_steps, n_cues = store.counts(sid)
    steps_added = cues_added = 0
    if n_steps < len(data.steps) or n_cues < len(data.cues):
        steps_added, cues_added = store.add_missing(sid, data.steps, data.cues)
    ended = row.status == "recording" and bool(summary)
    if ended:
        if isinstance(summary.get("t0_s"), int | float):
            store.set_t0(sid, float(summary["t0_s"]))
        store.end_session(sid, summary, failed=bool(summary.get("error")))
    if not (steps_added or cues_added or ended):
        return None
    return Repaired(sid, steps_added, cues_added, ended)
