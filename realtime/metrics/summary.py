"""Session outputs: steps.csv rows and the summary.json dict.

Medians and left/right asymmetries use reliable values only (`Step.reliable`): a value
measured on a hidden leg, or at a contact timed from the body instead of the foot, never
reaches a number a therapist reads as a fact.  An asymmetry needs `MIN_PER_SIDE`
reliable values on each side.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from realtime.metrics.cadence import cadence_spm
from realtime.types import STEP_COLUMNS, STEP_METRICS, Step, View

MIN_PER_SIDE = 3  # reliable values per leg before a left/right asymmetry is reported
VIEW_METRICS: dict[str, tuple[str, ...]] = {
    "side": ("cadence_spm", "knee_drive_deg", "knee_height_pct", "knee_flexion_ic_deg",
             "overstride_pct", "trunk_lean_deg", "vertical_oscillation_pct"),
    "rear": ("cadence_spm", "hip_sway_pct", "pelvic_drop_deg"),
}
RELIABLE_SHARE = 0.5  # below this share of reliable steps, analyze and run say so
SIDEWAYS_LEAN_DEG = 45.0  # running trunk lean is 0-20 deg; beyond this the picture is turned


def step_row(step: Step) -> list[str]:
    """One steps.csv row: the STEP_COLUMNS in order, NaN as an empty cell, the
    unreliable metrics as a ';'-separated list."""
    row: list[str] = []
    for name in STEP_COLUMNS:
        v = getattr(step, name)
        if isinstance(v, float):
            row.append("" if math.isnan(v) else f"{v:.4f}")
        elif isinstance(v, frozenset):
            row.append(";".join(m for m in STEP_METRICS if m in v))
        else:
            row.append(str(v))
    return row


def write_steps_csv(path: str | Path, steps: Sequence[Step],
                    phases: Sequence[str] | None = None) -> Path:
    """Write a whole steps.csv at once (live sessions append with StepsCsvSink); with
    `phases` (one per step), a last column `phase`."""
    from realtime.outdir import atomic_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as fh:
        wr = csv.writer(fh)
        if phases is None:
            wr.writerow(STEP_COLUMNS)
            wr.writerows(step_row(s) for s in steps)
        else:
            wr.writerow((*STEP_COLUMNS, "phase"))
            wr.writerows([*step_row(s), p] for s, p in zip(steps, phases, strict=True))
    return path


def phase_values(steps: Sequence[tuple[str, Step]], column: str,
                 phases: Sequence[str] | None = None, leg: str | None = None) -> list[float]:
    """The trusted values of one metric among (phase, step) rows, in the given phases
    (None: all) and of the leg they describe (None: both; `Step.leg_of`): what every
    session report counts."""
    return [float(getattr(s, column)) for p, s in steps
            if (phases is None or p in phases) and (leg is None or s.leg_of(column) == leg)
            and s.reliable(column)]


def read_steps_csv(path: str | Path) -> list[tuple[str, Step]]:
    """(phase, step) of each row of a steps.csv ('' where the file has no phase column)."""
    out: list[tuple[str, Step]] = []
    with Path(path).open(newline="") as fh:
        for row in csv.DictReader(fh):
            vals = {c: float(row[c]) if row.get(c) else math.nan
                    for c in STEP_COLUMNS if c not in ("leg", "unreliable")}
            unrel = frozenset(x for x in (row.get("unreliable") or "").split(";") if x)
            out.append((row.get("phase") or "", Step(leg=row["leg"], unreliable=unrel,
                                                     **vals)))  # type: ignore[arg-type]
    return out


def _median(vals: Sequence[float]) -> float | None:
    a = np.asarray([v for v in vals if v == v], float)
    return float(np.median(a)) if a.size else None


PRIMARY = {"side": "knee_drive_deg", "rear": "hip_sway_pct"}  # what a session is for


def step_is_reliable(step: Step, view: View) -> bool:
    """The step's timing and the view's main metric were measured and can be trusted."""
    return step.reliable("cadence_spm") and step.reliable(PRIMARY[view])


WALK_STEP_S = 0.46  # steps longer than this (under 130 steps/min) are walking, not running


def gait_kind(contacts: Sequence[tuple[str, float]], toe_offs: Sequence[tuple[str, float]],
              body_minima: Sequence[float] = ()) -> str:
    """'running', 'walking' or 'unknown'.  The body bottoms out once per step whatever the
    feet do, so the intervals between its lowest points decide: over WALK_STEP_S is
    walking.  Without them, double support decides: in running the stance foot leaves the
    ground before the other lands (a flight), in walking both are down together."""
    gaps = [b - a for a, b in itertools.pairwise(body_minima) if 0.2 < b - a < 1.5]
    if len(gaps) >= 4:
        return "walking" if float(np.median(gaps)) > WALK_STEP_S else "running"
    ics = sorted((t, leg) for leg, t in contacts)
    tos = {"L": sorted(t for leg, t in toe_offs if leg == "L"),
           "R": sorted(t for leg, t in toe_offs if leg == "R")}
    flights = []
    for (ta, la), (tb, lb) in itertools.pairwise(ics):
        if la == lb or tb - ta > 1.2:
            continue
        mine = [t for t in tos[la] if ta < t < tb + 0.4]
        if mine:
            flights.append(tb - mine[0])
    if len(flights) < 4:
        return "unknown"
    walking = sum(f < 0 for f in flights) / len(flights)
    if walking > 0.5:
        return "walking"
    return "running" if walking < 0.2 else "unknown"


def summarize(
    steps: Sequence[Step], *, frames: int, frames_with_pose: int, view: View,
    event_delay_s: float, fps_processing: float,
    contacts: Sequence[tuple[str, float]] = (), toe_offs: Sequence[tuple[str, float]] = (),
    body_minima: Sequence[float] = (), hidden_legs: Sequence[str] = (),
) -> dict[str, Any]:
    """summary.json content.  `cadence_spm` is the session cadence (metrics.cadence);
    `metrics.<name>` holds median, per-leg medians, asymmetry (L - R) / mean(|L|, |R|) in
    % and the number of reliable values.  JSON-safe: no NaN."""
    metrics: dict[str, Any] = {}
    for name in STEP_METRICS:
        ok = [s for s in steps if s.reliable(name)]
        lv = [getattr(s, name) for s in ok if s.leg_of(name) == "L"]
        rv = [getattr(s, name) for s in ok if s.leg_of(name) == "R"]
        ml, mr = _median(lv), _median(rv)
        asym = None
        if ml is not None and mr is not None and min(len(lv), len(rv)) >= MIN_PER_SIDE:
            mean = 0.5 * (abs(ml) + abs(mr))
            asym = 100.0 * (ml - mr) / mean if mean > 1e-9 else 0.0
        measured = sum(1 for s in steps if getattr(s, name) == getattr(s, name))
        metrics[name] = {"median": _median([getattr(s, name) for s in ok]), "L": ml, "R": mr,
                         "asymmetry_pct": asym, "reliable": len(ok), "measured": measured}

    def fin(x: float) -> float | None:
        return float(x) if x == x and math.isfinite(x) else None

    reliable = sum(1 for s in steps if step_is_reliable(s, view))
    return {
        "view": view,
        "frames": int(frames),
        "frames_with_pose": int(frames_with_pose),
        "steps": len(steps),
        "reliable_steps": reliable,
        "steps_L": sum(1 for s in steps if s.leg == "L"),
        "steps_R": sum(1 for s in steps if s.leg == "R"),
        "gait": gait_kind(contacts, toe_offs, body_minima),
        "hidden_legs": list(hidden_legs),
        "cadence_spm": fin(cadence_spm(steps)),
        "mean_confidence": _median([s.confidence for s in steps]),
        "metrics": metrics,
        "event_delay_s": fin(event_delay_s),
        "fps_processing": fin(fps_processing),
    }


def warnings(summary: dict[str, Any]) -> list[str]:
    """One-line messages a user should see at the end of a session or an analysis."""
    out = []
    if summary.get("gait") == "walking":
        out.append("this looks like walking, not running: the running metrics and cues do "
                   "not apply")
    n = summary.get("steps", 0)
    if not n and summary.get("frames_with_pose", 0) > 60:
        out.append("no running steps were found (is the runner in view, on the treadmill, "
                   "and running?)")
    if n and summary.get("reliable_steps", 0) < RELIABLE_SHARE * n:
        out.append(f"only {summary['reliable_steps']} of {n} steps were reliably measured "
                   "(camera placement, light, or the runner partly out of view)")
    poor = [name for name, m in summary.get("metrics", {}).items()
            if m.get("measured") and m.get("reliable", 0) < RELIABLE_SHARE * m["measured"]]
    if n and poor:
        out.append("not trusted in most steps (left out of medians, asymmetries and cues): "
                   + ", ".join(poor) + ("; the feet were not seen landing clearly, so "
                   "contacts were timed from the body" if summary.get("hidden_legs") else ""))
    lean = summary.get("metrics", {}).get("trunk_lean_deg", {}).get("median")
    if isinstance(lean, int | float) and abs(lean) > SIDEWAYS_LEAN_DEG:
        out.append(f"the runner's trunk leans {lean:+.0f}° from vertical: is the video "
                   "rotated (or the camera on its side)? The metrics assume an upright "
                   "picture")
    for view, part in summary.get("views", {}).items():  # two cameras: the top is the side's
        if view != "side":
            out += [f"{view} camera: {line}" for line in warnings(part)]
    return out
