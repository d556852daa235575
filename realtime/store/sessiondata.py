"""One recorded session as reports need it, from the store (an id) or a session folder.

SESSION on the command line is an id from `realtime sessions` or a session folder
(steps.csv, cues.csv, summary.json).  Either way the result is the same `SessionData`:
steps with their phases, cues, the thresholds in effect at the end, and the plan.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from realtime.config import Config, CuesConfig, DrillConfig, build
from realtime.errors import ConfigError, UserError
from realtime.feedback.cues import phase_at
from realtime.metrics.summary import read_steps_csv
from realtime.store.db import CueRecord, PhaseSums, SessionRow, Store, sums_of_steps
from realtime.types import Step


@dataclass(frozen=True, slots=True)
class SessionData:
    ref: str  # "session 12" or the folder
    id: int | None
    runner: str | None
    started: str  # wall-clock label, '' if unknown
    source: str
    views: tuple[str, ...]
    steps: tuple[tuple[str, Step], ...]  # (phase, step)
    cues: tuple[CueRecord, ...]
    thresholds: CuesConfig  # as the session ended (calibration, hotkeys)
    drill: DrillConfig
    t0_s: float  # the plan's phases count from here (stream time)
    calibration: dict | None
    folder: str | None
    status: str
    metrics_version: str = ""  # of the steps shown ("" for a session folder: unknown)

    @property
    def duration_s(self) -> float:
        return (self.steps[-1][1].t_contact_s - self.t0_s) if self.steps else 0.0

    def phase_of(self, t_s: float) -> str:
        return phase_at(t_s - self.t0_s, self.drill).name


def _config(cfg_dict: dict, thresholds: dict | None) -> tuple[CuesConfig, DrillConfig]:
    """The session's plan and final thresholds; a config from another version of the
    program falls back to today's defaults for what no longer loads.  Parsed once per
    distinct config (a runner's 40 sessions mostly share one: 60 ms -> 2 ms)."""
    return _parsed(json.dumps([cfg_dict, thresholds], sort_keys=True, default=str))


@functools.lru_cache(maxsize=256)
def _parsed(key: str) -> tuple[CuesConfig, DrillConfig]:
    cfg_dict, thresholds = json.loads(key)
    try:
        cfg = build(Config, {k: v for k, v in cfg_dict.items()
                             if k in Config.__dataclass_fields__})
    except ConfigError:
        cfg = Config()
    cues = cfg.cues
    if thresholds:
        with contextlib.suppress(ConfigError):  # from another version: keep the plan's
            cues = build(CuesConfig, thresholds, "cues.")
    return cues, cfg.drill


def from_store(store: Store, session_id: int) -> SessionData:
    row: SessionRow = store.session(session_id)
    summary = row.summary or {}
    cues, drill = _config(row.config, summary.get("thresholds"))
    t0 = row.t0_s if row.t0_s is not None else 0.0
    return SessionData(
        ref=f"session {row.id}", id=row.id, runner=row.runner, started=row.started,
        source=row.source, views=row.views, steps=tuple(store.steps(row.id)),
        cues=tuple(store.cues(row.id)), thresholds=cues, drill=drill, t0_s=t0,
        calibration=row.calibration or summary.get("calibration"), folder=row.folder,
        status=row.status, metrics_version=row.metrics_version)


@dataclass(frozen=True)
class SessionSummary:
    """One session as the progress plots need it: per phase sums instead of its steps
    (see `PhaseSums`), and its thresholds worked out only when a plot draws its targets
    (parsing 40 sessions' configs costs ~60 ms that a page's text does not need)."""

    ref: str
    id: int | None
    started: str
    phases: dict[str, PhaseSums]
    _thresholds: Callable[[], CuesConfig] = field(repr=False, compare=False)

    @cached_property
    def thresholds(self) -> CuesConfig:
        return self._thresholds()


def summary_of(data: SessionData) -> SessionSummary:
    """A loaded session's summary (a report written from session folders)."""
    return SessionSummary(data.ref, data.id, data.started, sums_of_steps(data.steps),
                          lambda: data.thresholds)


def summaries_from_store(store: Store, rows: Sequence[SessionRow]) -> list[SessionSummary]:
    """The summaries of sessions in the store, from their kept per-phase sums: no steps
    are read (a runner's 40 sessions of 3000 steps each in one small query)."""
    sums = store.phase_sums([(r.id, r.metrics_version) for r in rows])

    def thresholds(row: SessionRow) -> Callable[[], CuesConfig]:
        return lambda: _config(row.config, (row.summary or {}).get("thresholds"))[0]

    return [SessionSummary(f"session {r.id}", r.id, r.started, sums.get(r.id, {}),
                           thresholds(r)) for r in rows]


def read_summary(folder: Path) -> dict:
    """A session folder's summary.json, or {} when it is missing or unreadable (a session
    killed before its end has none: what else the folder holds still counts)."""
    try:
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return summary if isinstance(summary, dict) else {}


def from_folder(folder: Path) -> SessionData:
    steps_csv = folder / "steps.csv"
    if not steps_csv.is_file():
        raise UserError(f"{folder} is not a session folder (no steps.csv)")
    summary = read_summary(folder)
    cues, drill = _config({"drill": summary.get("plan", {})}, summary.get("thresholds"))
    t0 = summary.get("t0_s")
    t0 = float(t0) if isinstance(t0, int | float) and math.isfinite(t0) else 0.0
    try:
        steps = read_steps_csv(steps_csv)
    except (KeyError, ValueError) as exc:
        raise UserError(f"{steps_csv} cannot be read as steps: {exc}") from None
    steps = [(p or phase_at(s.t_contact_s - t0, drill).name, s) for p, s in steps]
    cue_rows: list[CueRecord] = []
    if (folder / "cues.csv").is_file():
        with (folder / "cues.csv").open(newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                t = float(r["t_s"])
                cue_rows.append(CueRecord(t, r.get("phase") or phase_at(t - t0, drill).name,
                                          r["kind"], r["text"], int(r["priority"]),
                                          r["spoken"] == "1"))
    view = summary.get("view")
    views = tuple(summary.get("views", {}) or ([view] if view else []))
    return SessionData(
        ref=str(folder), id=summary.get("session_id"), runner=None, started="",
        source=str(summary.get("input", folder)), views=views, steps=tuple(steps),
        cues=tuple(cue_rows), thresholds=cues, drill=drill, t0_s=t0,
        calibration=summary.get("calibration"), folder=str(folder),
        status="error" if summary.get("error") else ("done" if summary else "unfinished"))


def load(ref: str, store: Store | None) -> SessionData:
    """SESSION: an id in the store, or a session folder."""
    if ref.isdigit():
        if store is None:
            raise UserError(f"no session store to look up session id {ref}")
        return from_store(store, int(ref))
    p = Path(ref)
    if p.is_dir():
        return from_folder(p)
    raise UserError(f"{ref!r} is neither a session id (see `realtime sessions`) nor a "
                    "session folder")


def check_comparable(a: SessionData, b: SessionData) -> None:
    """Steps measured by different metrics versions are not comparable: refuse, naming
    the command that re-measures them."""
    if a.metrics_version and b.metrics_version and a.metrics_version != b.metrics_version:
        from realtime.metrics.version import METRICS_VERSION

        who = f" --runner {a.runner}" if a.runner and a.runner == b.runner else ""
        raise UserError(f"{a.ref} shows metrics version {a.metrics_version} and {b.ref} "
                        f"version {b.metrics_version}: not comparable; run `realtime "
                        f"reanalyze{who}` to measure both with version {METRICS_VERSION}")
