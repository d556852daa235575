"""Gait events from force: the reference every event detector is scored against.

A contact is when the foot's vertical ground reaction force is above `THRESHOLD_N`.  Two
sources:

- Hamner & Delp 2013 (`subjectXX_Run_N_grf.mot`): the instrumented split-belt treadmill,
  one vertical force per belt, 1000 Hz, on the same clock as the trial's .trc `Time`.  The
  redistributed files set the vertical force to 0 below a per-trial level (10-136 N), so an
  onset or offset above `THRESHOLD_N` is extrapolated down to it (see `EdgeModel`).
- Dorn et al. 2012 (`JA1Gait21.c3d`): 8 overground force plates, 1500 Hz, unclipped.

Which foot made a contact is not in the force data (a foot may land across both belts, or
on the other foot's belt): it is the foot whose markers are lowest, relative to their own
floor, while the force peaks; contacts of one foot that overlap in time on several belts
or plates are merged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from realtime.errors import UserError
from realtime.types import Leg

THRESHOLD_N = 50.0
"""Contact threshold, newtons.  50 rather than 20: the clipped Hamner files start at up to
136 N, and extrapolating to 50 N is accurate to about 1 ms (sd, against unclipped edges
clipped artificially), to 20 N only to about 2-3 ms.  50 N is crossed ~3 ms after 20 N."""
UNCLIPPED_MAX_N = 15.0  # a file whose smallest non-zero force is above this was clipped
EDGE_FIT_SAMPLES = 5  # samples above the clip level that give the edge's local slope
CLOSE_N = 5.0  # a clip level this close to the threshold needs no extrapolation
MIN_PEAK_N = 200.0  # a force run that never reaches this is noise or a brushing foot


class ForceError(UserError):
    """A force file is missing or not in the expected layout."""


@dataclass(frozen=True, slots=True)
class Plates:
    """Vertical force of each plate (or treadmill belt), newtons, on one clock."""

    path: Path
    t: np.ndarray  # float64 [N] s, on the marker file's clock
    fz: np.ndarray  # float64 [P, N], positive = pushing up on the foot
    names: tuple[str, ...]
    clip_n: tuple[float, ...]  # per plate: forces below this were set to 0 (0: none)

    @property
    def rate_hz(self) -> float:
        return float((len(self.t) - 1) / (self.t[-1] - self.t[0]))


def read_mot(path: str | Path) -> Plates:
    """An OpenSim .mot ground-reaction file: R/L belt vertical forces (`*_vy`)."""
    path = Path(path)
    if not path.exists():
        raise ForceError(f"force file not found: {path}")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    try:
        end = next(i for i, line in enumerate(lines) if line.strip().lower() == "endheader")
    except StopIteration:
        raise ForceError(f"{path}: no 'endheader' line (not an OpenSim .mot file)") from None
    cols = [c.strip() for c in lines[end + 1].split("\t")]
    names = [c for c in cols if c.endswith("_ground_force_vy")]
    if cols[0] != "time" or not names:
        raise ForceError(f"{path}: expected a 'time' column and *_ground_force_vy columns")
    try:
        data = np.loadtxt(lines[end + 2 :], ndmin=2)
    except ValueError as exc:
        raise ForceError(f"{path}: bad data row ({exc})") from None
    if data.shape[1] != len(cols):
        raise ForceError(f"{path}: {data.shape[1]} data columns, header names {len(cols)}")
    fz = np.stack([data[:, cols.index(n)] for n in names])
    return Plates(path, data[:, 0], fz, tuple(n.split("_")[0] for n in names),
                  tuple(_clip_level(f) for f in fz))


def read_c3d_plates(path: str | Path, first_time_s: float = 0.0) -> Plates:
    """Vertical forces of every force plate in a C3D file (the `c3d` package reads it).

    The time of the file's first point frame is `first_time_s` (the .trc exported from
    the same capture starts at that frame).  C3D plates report the force on the plate, so
    the vertical force on the foot is -Fz.
    """
    import c3d

    path = Path(path)
    if not path.exists():
        raise ForceError(f"force file not found: {path}")
    with path.open("rb") as fh:
        reader = c3d.Reader(fh)
        plates = reader.get("FORCE_PLATFORM")
        chans = plates.get("CHANNEL").int16_array  # [plates, 6], 1-based analog channels
        per_frame = int(reader.analog_per_frame)
        rate = float(reader.point_rate)
        analog = np.concatenate([a for _, _, a in reader.read_frames()], axis=1)
    n = analog.shape[1]
    t = first_time_s + np.arange(n) / (rate * per_frame)
    fz = np.stack([-analog[int(ch[2]) - 1] for ch in chans])
    return Plates(path, t, fz, tuple(f"plate{i + 1}" for i in range(len(chans))),
                  tuple(0.0 for _ in chans))


def _clip_level(f: np.ndarray) -> float:
    pos = f[f > 0]
    if pos.size == 0:
        return 0.0
    lo = float(pos.min())
    return lo if lo > UNCLIPPED_MAX_N else 0.0


# --------------------------------------------------------------------------- edges


def _line_crossing(t: np.ndarray, f: np.ndarray, level: float) -> tuple[float, float]:
    """(time at which a least-squares line through (t, f) reaches `level`, its slope)."""
    slope, icpt = np.polyfit(t, f, 1)
    return float((level - icpt) / slope), float(slope)


def _cross(t: np.ndarray, f: np.ndarray, i: int, clip: float, level: float) -> float:
    """Time at which f crosses `level` between samples i and i+1 (linear); a clipped zero
    there stands for a force of at most the clip level, so it is raised to it."""
    a, b = f[i], f[i + 1]
    if clip > 0:
        a, b = max(a, clip), max(b, clip)
    return float(t[i] + (level - a) / (b - a) * (t[i + 1] - t[i]))


def _interp_crossing(t: np.ndarray, f: np.ndarray, i: int, level: float) -> float:
    """Time at which f crosses `level` between samples i-1 and i (linear)."""
    a, b = f[i - 1], f[i]
    return float(t[i - 1] + (level - a) / (b - a) * (t[i] - t[i - 1]))


@dataclass(frozen=True, slots=True)
class EdgeModel:
    """How far below a clipped edge the force crossed the threshold.

    A force edge is convex near its foot (it steepens as the heel loads), so a straight
    line through the first samples above the clip level reaches the threshold too late
    (onsets) or too early (offsets).  From unclipped edges, the time from the threshold
    crossing to the clip-level crossing is `ratio` x (clip - threshold) / local slope at
    the clip level, with `ratio` fitted per edge kind and clip level; `resid_ms` is the
    residual SD of that model on the unclipped edges (the extrapolation's error).
    """

    threshold_n: float
    clip_n: float
    ratio_on: float
    ratio_off: float
    resid_on_ms: float
    resid_off_ms: float
    n_edges: int


def _edges(f: np.ndarray, level: float) -> list[tuple[int, int]]:
    """Inclusive index runs where f > level."""
    on = np.concatenate([[0], (f > level).astype(np.int8), [0]])
    d = np.diff(on)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1, strict=True))


def _edge_sample(t: np.ndarray, f: np.ndarray, start: int, end: int, clip: float,
                 threshold: float, kind: str) -> tuple[float, float] | None:
    """For one unclipped contact [start, end]: (true threshold time minus the clip-level
    line crossing, (clip - threshold) / slope), oriented so that both are positive."""
    k = EDGE_FIT_SAMPLES
    if kind == "off":
        t, f = -t[::-1], f[::-1]
        start, end = len(f) - 1 - end, len(f) - 1 - start
    seg_t, seg_f = t[start : end + 1], f[start : end + 1]
    above_thr = np.flatnonzero(seg_f >= threshold)
    above_clip = np.flatnonzero(seg_f > clip)
    if above_thr.size == 0 or above_clip.size == 0 or above_thr[0] == 0:
        return None
    j = int(above_clip[0])
    if j + k > seg_f.size:
        return None
    t_true = _interp_crossing(seg_t, seg_f, int(above_thr[0]), threshold)
    t_clip, slope = _line_crossing(seg_t[j : j + k], seg_f[j : j + k], clip)
    if slope <= 0:
        return None
    return t_clip - t_true, (clip - threshold) / slope


@lru_cache(maxsize=64)
def edge_model(clip_n: float, threshold_n: float = THRESHOLD_N,
               root: str | None = None) -> EdgeModel:
    """Fit `EdgeModel` for one clip level on every unclipped Hamner edge."""
    from realtime.validation.datadir import data_dir

    folder = Path(root) if root else data_dir() / "mocap" / "hamner2013"
    samples: dict[str, list[tuple[float, float]]] = {"on": [], "off": []}
    for path in sorted(folder.glob("*_grf.mot")):
        plates = read_mot(path)
        for f, clip in zip(plates.fz, plates.clip_n, strict=True):
            if clip > 0:
                continue
            for s, e in _edges(f, threshold_n):
                if s < 10 or e > f.size - 11 or f[s : e + 1].max() < MIN_PEAK_N:
                    continue
                lo = int(np.flatnonzero(f[: s + 1] <= 1.0)[-1]) if (f[: s + 1] <= 1.0).any() else 0
                hi_c = np.flatnonzero(f[e:] <= 1.0)
                hi = e + int(hi_c[0]) if hi_c.size else f.size - 1
                for kind in ("on", "off"):
                    x = _edge_sample(plates.t, f, lo, hi, clip_n, threshold_n, kind)
                    if x is not None:
                        samples[kind].append(x)
    out: dict[str, tuple[float, float]] = {}
    for kind, xs in samples.items():
        if len(xs) < 10:
            raise ForceError(f"too few unclipped force edges in {folder} to model clipping")
        a = np.array([x[0] for x in xs])
        b = np.array([x[1] for x in xs])
        ratio = float(a @ b / (b @ b))
        out[kind] = (ratio, float(np.std(ratio * b - a)) * 1000.0)
    return EdgeModel(threshold_n, clip_n, out["on"][0], out["off"][0], out["on"][1],
                     out["off"][1], len(samples["on"]))


def _extrapolated(t: np.ndarray, f: np.ndarray, i: int, clip: float, threshold: float,
                  kind: str) -> float:
    """Threshold time of a clipped edge whose first (onset) or last (offset) sample above
    the clip level is i."""
    k = EDGE_FIT_SAMPLES
    model = edge_model(round(clip, 1), threshold)
    if kind == "on":
        sl = slice(i, min(i + k, f.size))
        t_clip, slope = _line_crossing(t[sl], f[sl], clip)
        return t_clip - model.ratio_on * (clip - threshold) / slope
    sl = slice(max(i - k + 1, 0), i + 1)
    t_clip, slope = _line_crossing(t[sl], f[sl], clip)
    return t_clip + model.ratio_off * (clip - threshold) / -slope


# --------------------------------------------------------------------------- contacts


@dataclass(frozen=True, slots=True)
class ForceContact:
    """One foot contact from force: onset and offset (NaN where the recording cuts it)."""

    leg: Leg
    t_ic: float
    t_to: float
    t_peak: float  # time of the peak force (mid-stance)
    plates: tuple[str, ...]
    extrapolated: bool  # an edge came from a clipped file (see EdgeModel)


def plate_runs(plates: Plates, threshold_n: float = THRESHOLD_N
               ) -> list[tuple[str, float, float, float]]:
    """(plate, t_on, t_off, t_peak) of every force run above the threshold."""
    out = []
    t = plates.t
    for name, f, clip in zip(plates.names, plates.fz, plates.clip_n, strict=True):
        level = max(threshold_n, clip)
        for s, e in _edges(f, level):
            if f[s : e + 1].max() < MIN_PEAK_N:
                continue
            t_peak = float(t[s + int(np.argmax(f[s : e + 1]))])
            # an edge that rises from a clipped zero is extrapolated (EdgeModel)
            if s == 0:
                t_on = math.nan  # the recording starts inside the contact
            elif clip > threshold_n + CLOSE_N and f[s - 1] < clip:
                t_on = _extrapolated(t, f, s, clip, threshold_n, "on")
            else:  # a clipped zero just before stands for a force of at most the clip level
                t_on = _cross(t, f, s - 1, clip, threshold_n)
            if e == f.size - 1:
                t_off = math.nan
            elif clip > threshold_n + CLOSE_N and f[e + 1] < clip:
                t_off = _extrapolated(t, f, e, clip, threshold_n, "off")
            else:
                t_off = _cross(t, f, e, clip, threshold_n)
            out.append((name, t_on, t_off, t_peak))
    return out


def assign_feet(
    runs: list[tuple[str, float, float, float]], foot_height: dict[Leg, tuple[np.ndarray,
                                                                              np.ndarray]],
    extrapolated: set[str],
) -> list[ForceContact]:
    """Give each force run to the foot that is lowest at its peak, then merge a foot's
    runs that overlap in time (a landing across two belts or plates).

    `foot_height[leg]` = (times, height of the foot's lowest marker above its floor).
    """
    tagged: list[tuple[Leg, str, float, float, float]] = []
    for name, t_on, t_off, t_peak in runs:
        h = {leg: float(np.interp(t_peak, *foot_height[leg])) for leg in ("L", "R")}
        leg: Leg = "L" if h["L"] < h["R"] else "R"
        tagged.append((leg, name, t_on, t_off, t_peak))
    out: list[ForceContact] = []
    for leg in ("L", "R"):
        mine = sorted((x for x in tagged if x[0] == leg), key=lambda x: x[4])
        groups: list[list[tuple[Leg, str, float, float, float]]] = []
        for x in mine:
            if groups:
                g = groups[-1]
                lo = min(_lo(y) for y in g)
                hi = max(_hi(y) for y in g)
                if _lo(x) <= hi and _hi(x) >= lo:
                    g.append(x)
                    continue
            groups.append([x])
        for g in groups:
            ons = [y[2] for y in g]
            offs = [y[3] for y in g]
            peak = max(g, key=lambda y: y[4])[4]
            t_on = math.nan if any(math.isnan(v) for v in ons) else min(ons)
            t_off = math.nan if any(math.isnan(v) for v in offs) else max(offs)
            names = tuple(sorted({y[1] for y in g}))
            out.append(ForceContact(leg, t_on, t_off, peak, names,
                                    any(n in extrapolated for n in names)))
    out.sort(key=lambda c: c.t_peak)
    return out


def _lo(x: tuple[Leg, str, float, float, float]) -> float:
    return x[2] if math.isfinite(x[2]) else x[4] - 0.3


def _hi(x: tuple[Leg, str, float, float, float]) -> float:
    return x[3] if math.isfinite(x[3]) else x[4] + 0.3


def force_contacts(
    plates: Plates, foot_height: dict[Leg, tuple[np.ndarray, np.ndarray]],
    threshold_n: float = THRESHOLD_N,
) -> list[ForceContact]:
    """Every foot contact of a trial from its forces (see the module doc)."""
    clipped = {n for n, c in zip(plates.names, plates.clip_n, strict=True) if c > 0}
    return assign_feet(plate_runs(plates, threshold_n), foot_height, clipped)
