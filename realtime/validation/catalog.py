"""The motion-capture trials the harness knows, and their (cached) truth."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from realtime.errors import UserError
from realtime.validation.joints import JointTrack, dorn_joints, hamner_joints
from realtime.validation.truth import Truth, truth_from_track

HAMNER = tuple(f"subject{s}_Run_{n}" for s in ("01", "04") for n in (2, 3, 4, 5))
DORN = ("dorn_jog",)


def data_dir() -> Path:
    """The shared recordings: $REALTIME_DATA_DIR, else ../shared/data beside the repo."""
    env = os.environ.get("REALTIME_DATA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def trials() -> list[str]:
    """Names of every validation trial (Hamner treadmill runs, then Dorn overground)."""
    return [*HAMNER, *DORN]


def trial_paths(trial: str, root: Path | None = None) -> tuple[Path, Path]:
    """(running trial, static trial) .trc paths of a trial name."""
    mocap = (root or data_dir()) / "mocap"
    if trial in HAMNER:
        return (mocap / "hamner2013" / f"{trial}.trc",
                mocap / "hamner2013" / f"{trial[:9]}_static.trc")
    if trial == "dorn_jog":
        return mocap / "dorn2012" / "jog.trc", mocap / "dorn2012" / "static.trc"
    raise UserError(f"unknown validation trial {trial!r} (known: {', '.join(trials())})")


def load_joints(trial: str, root: Path | None = None) -> JointTrack:
    run, static = trial_paths(trial, root)
    track = dorn_joints(run, static) if trial in DORN else hamner_joints(run, static)
    return track


@lru_cache(maxsize=16)
def load_truth(trial: str) -> Truth:
    """Joint centres, events and per-step truth of a trial (mocap time base)."""
    return truth_from_track(load_joints(trial))
