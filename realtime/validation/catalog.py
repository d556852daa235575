"""The motion-capture trials the harness knows, their runners, and their (cached) truth."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from realtime.errors import UserError
from realtime.types import Leg
from realtime.validation.datadir import data_dir
from realtime.validation.grf import Plates, force_contacts, read_c3d_plates, read_mot
from realtime.validation.joints import JointTrack, dorn_joints, hamner_joints
from realtime.validation.truth import Truth, truth_from_track

HAMNER_RUNNERS = ("01", "02", "03", "04", "10")
HAMNER_SPEEDS = (2, 3, 4, 5)  # belt speed, m/s
HAMNER = tuple(f"subject{s}_Run_{n}" for s in HAMNER_RUNNERS for n in HAMNER_SPEEDS)
DORN = ("dorn_jog",)


def trials() -> list[str]:
    """Names of every validation trial (Hamner treadmill runs, then Dorn overground)."""
    return [*HAMNER, *DORN]


def runner_of(trial: str) -> str:
    """The person who ran a trial: leave-one-runner-out folds group trials by this."""
    if trial in HAMNER:
        return f"hamner{trial[7:9]}"
    if trial in DORN:
        return "dorn_JA1"
    raise UserError(f"unknown validation trial {trial!r} (known: {', '.join(trials())})")


def runners(names: list[str] | tuple[str, ...] | None = None) -> list[str]:
    """The distinct runners of some trials (all trials by default), in catalog order."""
    out: list[str] = []
    for t in names or trials():
        r = runner_of(t)
        if r not in out:
            out.append(r)
    return out


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


def load_forces(trial: str, root: Path | None = None) -> Plates:
    """The trial's vertical forces on the marker file's clock."""
    mocap = (root or data_dir()) / "mocap"
    if trial in HAMNER:
        return read_mot(mocap / "hamner2013" / f"{trial}_grf.mot")
    if trial == "dorn_jog":
        # jog.trc is frames 300-1136 of the C3D capture; its time 0 is the C3D's first frame
        return read_c3d_plates(mocap / "dorn2012" / "JA1Gait21.c3d", first_time_s=0.0)
    raise UserError(f"unknown validation trial {trial!r} (known: {', '.join(trials())})")


def foot_heights(track: JointTrack) -> dict[Leg, tuple[np.ndarray, np.ndarray]]:
    """Per foot: (times, height of its lowest marker above that marker's own floor).

    Only used to say which foot a force belongs to (the lowest one at peak force), so
    a robust floor (2nd percentile of each marker's height) is enough.
    """
    up = np.array([0.0, 1.0, 0.0])
    out: dict[Leg, tuple[np.ndarray, np.ndarray]] = {}
    for leg in ("L", "R"):
        hs = []
        for m in (f"heel_{leg}", f"toe_{leg}"):
            y = track[m] @ up
            hs.append(y - np.nanpercentile(y, 2))
        out[leg] = (track.t, np.nanmin(np.stack(hs), axis=0))
    return out


@lru_cache(maxsize=32)
def load_truth(trial: str) -> Truth:
    """Joint centres, force events and per-step truth of a trial (the files' clock)."""
    track = load_joints(trial)
    contacts = force_contacts(load_forces(trial), foot_heights(track))
    return truth_from_track(track, contacts)
