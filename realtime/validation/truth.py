"""True gait events and per-step metrics from motion capture and force.

Everything is computed in a runner-aligned frame: u forward (running direction), v up,
w to the runner's right, millimetres.  Overground trials (Dorn) move the whole body, so
their u is taken relative to a straight-line fit of the mid-hip's forward travel (a
camera panning at the mean running speed): the stride-to-stride speed fluctuation stays,
the 12 m of travel goes, and the trial looks like a treadmill trial.

Events (the reference the metrics stage is scored against) come from force
(`realtime.validation.grf`): contact while the foot's vertical force is above 50 N.
Metrics taken at an event (knee flexion and overstride at contact, pelvic drop over the
stance, hip sway over the stride) are taken at the force events.

`marker_contacts` (heel/toe marker heights within a band of their floor) are kept only
as a diagnostic: the virtual camera turns the same markers into the heel/toe landmarks,
so a detector scored against them would share the truth's definition.  On the Hamner
trials they fire 20-40 ms before the force onset.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import minimum_filter1d

from realtime.types import GaitEvent, Leg, Step
from realtime.validation.grf import ForceContact
from realtime.validation.joints import JOINTS, UP, JointTrack

# Diagnostic marker events: bands above the floor (mm), once calibrated on the 5 Dorn
# plate contacts (IC at 18 mm within 7 ms of force onset there; 20-40 ms early on Hamner).
IC_BAND_MM = 18.0
TO_BAND_MM = 7.0
COARSE_MM = 40.0  # band for finding contacts before refining
MIN_CONTACT_S = 0.08  # shorter dips are marker noise, not contacts
# A planted foot moves backward in the runner frame (belt speed, or the overground
# running speed once travel is removed); a low swing foot at slow speeds moves forward.
MAX_PLANTED_MPS = -0.5
OTHER: dict[Leg, Leg] = {"L": "R", "R": "L"}


@dataclass(frozen=True, slots=True)
class Body:
    """Joint centres in the runner-aligned frame (u fwd, v up, w right), mm."""

    name: str
    t: np.ndarray  # [T] s
    rate_hz: float
    p: dict[str, np.ndarray]  # joint -> [T, 3] (u, v, w)
    leg_mm: float  # mean hip-centre to ankle-centre distance
    thigh_mm: float  # mean hip-centre to knee-centre distance
    overground: bool

    def at(self, joint: str, t: float | np.ndarray) -> np.ndarray:
        """Linearly interpolated position(s) of a joint at time(s) t."""
        a = self.p[joint]
        tt = np.atleast_1d(np.asarray(t, dtype=np.float64))
        out = np.stack([np.interp(tt, self.t, a[:, k]) for k in range(3)], axis=-1)
        return out[0] if np.ndim(t) == 0 else out

    def mid_hip(self) -> np.ndarray:
        return (self.p["hip_L"] + self.p["hip_R"]) / 2

    def mid_shoulder(self) -> np.ndarray:
        return (self.p["shoulder_L"] + self.p["shoulder_R"]) / 2


def body_frame(track: JointTrack, tilt_rad: float = 0.0) -> Body:
    """Rotate a joint track into the runner frame and remove overground travel.

    `tilt_rad` levels a floor that rises by tan(tilt) per mm of forward travel in the
    lab frame (see `floor_tilt`).
    """
    c, s = np.cos(tilt_rad), np.sin(tilt_rad)
    rot = np.stack([c * track.forward + s * UP, -s * track.forward + c * UP, track.right])
    p = {j: track[j] @ rot.T for j in JOINTS}
    mid = (p["hip_L"] + p["hip_R"]) / 2
    ok = np.isfinite(mid).all(axis=1)
    if track.overground:
        coef = np.polyfit(track.t[ok], mid[ok, 0], 1)
        travel = np.polyval(coef, track.t)
    else:
        travel = np.full(track.t.shape, float(np.mean(mid[ok, 0])))
    centre_w = float(np.mean(mid[ok, 2]))
    for j in JOINTS:
        p[j] = p[j] - np.stack(
            [travel, np.zeros_like(travel), np.full_like(travel, centre_w)], axis=1
        )
    leg = np.nanmean(
        [np.linalg.norm(p[f"hip_{s}"] - p[f"ankle_{s}"], axis=1) for s in "LR"]
    )
    thigh = np.nanmean([np.linalg.norm(p[f"hip_{s}"] - p[f"knee_{s}"], axis=1) for s in "LR"])
    return Body(track.name, track.t, track.rate_hz, p, float(leg), float(thigh),
                track.overground)


@dataclass(frozen=True, slots=True)
class Contact:
    """One foot contact; NaN where the trial cuts it (started or ended mid-stance)."""

    leg: Leg
    t_ic: float
    t_to: float


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive (start, end) index pairs of the True runs of a boolean array."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1, strict=True))


def _cross(t: np.ndarray, r: np.ndarray, i0: int, i1: int, level: float) -> float:
    """Time at which r crosses `level` between samples i0 and i1 (linear)."""
    a, b = r[i0], r[i1]
    if not (np.isfinite(a) and np.isfinite(b)) or a == b:
        return float(t[i1])
    f = (level - a) / (b - a)
    return float(t[i0] + min(max(f, 0.0), 1.0) * (t[i1] - t[i0]))


def marker_contacts(
    body: Body, leg: Leg, ic_band_mm: float = IC_BAND_MM, to_band_mm: float = TO_BAND_MM
) -> list[Contact]:
    """Diagnostic contacts of one foot from its heel and toe marker heights (not the
    truth: see the module doc)."""
    h = np.stack([body.p[f"heel_{leg}"][:, 1], body.p[f"toe_{leg}"][:, 1]], axis=1)
    # Floor per marker: its lowest height within about a stride either side.  A running
    # minimum, not a trial-wide one, because markers slip on the shoe (subject04 Run_3's
    # LTOE drops 40 mm mid-trial).
    window = max(3, round(1.5 * body.rate_hz))
    filled = np.where(np.isfinite(h), h, np.inf)
    base = minimum_filter1d(filled, size=window, axis=0, mode="nearest")
    rel = np.nanmin(np.where(np.isfinite(base), h - base, np.nan), axis=1)
    low = np.nan_to_num(rel, nan=np.inf) < COARSE_MM
    out: list[Contact] = []
    n = len(body.t)
    for s, e in _runs(low):
        if body.t[e] - body.t[s] < MIN_CONTACT_S:
            continue
        floor = np.nanmin(h[s : e + 1], axis=0)
        r = np.nanmin(h - floor, axis=1)
        seg = np.nan_to_num(r[s : e + 1], nan=np.inf)
        down = np.flatnonzero(seg < ic_band_mm) + s
        up = np.flatnonzero(seg < to_band_mm) + s
        if down.size == 0 or up.size == 0:
            continue
        i, j = int(down[0]), int(up[-1])
        if body.t[j] - body.t[i] < MIN_CONTACT_S:
            continue
        foot_u = (body.p[f"heel_{leg}"][i : j + 1, 0] + body.p[f"toe_{leg}"][i : j + 1, 0]) / 2
        if (foot_u[-1] - foot_u[0]) / 1000.0 / (body.t[j] - body.t[i]) > MAX_PLANTED_MPS:
            continue
        t_ic = math.nan if i == 0 else _cross(body.t, r, i - 1, i, ic_band_mm)
        t_to = math.nan if j == n - 1 else _cross(body.t, r, j, j + 1, to_band_mm)
        out.append(Contact(leg, t_ic, t_to))
    return out


@dataclass(frozen=True, slots=True)
class Truth:
    """True events and steps of one trial, in the trial's own time base."""

    body: Body
    contacts: tuple[Contact, ...]  # both feet, by IC time (cut ICs last)
    steps: tuple[Step, ...]
    events: tuple[GaitEvent, ...] = field(default=())
    marker_contacts: tuple[Contact, ...] = ()  # diagnostic only (see the module doc)

    def shifted(self, dt: float) -> Truth:
        """The same truth with every time moved by -dt (a stream starting at t = dt)."""
        steps = tuple(_shift_step(s, dt) for s in self.steps)
        events = tuple(
            GaitEvent(e.kind, e.leg, e.t_s - dt, e.t_detected_s - dt, e.confidence)
            for e in self.events
        )
        contacts = tuple(Contact(c.leg, c.t_ic - dt, c.t_to - dt) for c in self.contacts)
        markers = tuple(Contact(c.leg, c.t_ic - dt, c.t_to - dt) for c in self.marker_contacts)
        return Truth(self.body, contacts, steps, events, markers)


def _shift_step(s: Step, dt: float) -> Step:
    from dataclasses import replace

    return replace(s, t_contact_s=s.t_contact_s - dt, t_detected_s=s.t_detected_s - dt)


def _grid(body: Body, t0: float, t1: float) -> np.ndarray:
    """Sample times in [t0, t1]: both ends plus every mocap sample between them."""
    inner = body.t[(body.t > t0) & (body.t < t1)]
    return np.concatenate([[t0], inner, [t1]])


def _deg(y: np.ndarray | float, x: np.ndarray | float) -> np.ndarray:
    return np.degrees(np.arctan2(y, x))


def sagittal_knee_flexion(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray) -> np.ndarray:
    """180 minus the hip-knee-ankle angle in the (u, v) plane, degrees; [..., 2+] input."""
    a = hip[..., :2] - knee[..., :2]
    b = ankle[..., :2] - knee[..., :2]
    cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return 180.0 - np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def step_metrics(body: Body, leg: Leg, t0: float, t1: float, t_prev: float,
                 t_to: float) -> dict[str, float]:
    """Truth of every Step metric for the step of `leg` from IC t0 to the next IC t1.

    `t_prev` is the IC that starts the previous step (NaN if none): hip sway needs the
    whole stride.  `t_to` is this contact's toe-off (pelvic drop is a stance metric).
    """
    o = OTHER[leg]
    g = _grid(body, t0, t1)
    hip_o, knee_o = body.at(f"hip_{o}", g), body.at(f"knee_{o}", g)
    d = knee_o - hip_o
    thigh_flex = _deg(d[:, 0], -d[:, 1])
    knee_height = 100.0 * d[:, 1] / body.thigh_mm
    hip_s, knee_s, ankle_s = (body.at(f"{j}_{leg}", t0) for j in ("hip", "knee", "ankle"))
    mid_hip_ic = (body.at("hip_L", t0) + body.at("hip_R", t0)) / 2
    mh = (body.at("hip_L", g) + body.at("hip_R", g)) / 2
    ms = (body.at("shoulder_L", g) + body.at("shoulder_R", g)) / 2
    trunk = ms - mh
    out = {
        "cadence_spm": 60.0 / (t1 - t0),
        "knee_drive_deg": float(np.nanmax(thigh_flex)),
        "knee_height_pct": float(np.nanmax(knee_height)),
        "knee_flexion_ic_deg": float(sagittal_knee_flexion(hip_s, knee_s, ankle_s)),
        "overstride_pct": float(100.0 * (ankle_s[0] - mid_hip_ic[0]) / body.leg_mm),
        "trunk_lean_deg": float(np.nanmean(_deg(trunk[:, 0], trunk[:, 1]))),
        "vertical_oscillation_pct": float(100.0 * np.ptp(mh[:, 1]) / body.leg_mm),
        "hip_sway_pct": math.nan,
        "pelvic_drop_deg": math.nan,
    }
    if np.isfinite(t_prev):
        gs = _grid(body, t_prev, t1)
        w = ((body.at("hip_L", gs) + body.at("hip_R", gs)) / 2)[:, 2]
        resid = w - np.polyval(np.polyfit(gs, w, 1), gs)
        out["hip_sway_pct"] = float(100.0 * np.ptp(resid) / body.leg_mm)
    if np.isfinite(t_to) and t_to > t0:
        gp = _grid(body, t0, t_to)
        hs, ho = body.at(f"hip_{leg}", gp), body.at(f"hip_{o}", gp)
        drop = _deg(hs[:, 1] - ho[:, 1], np.abs(hs[:, 2] - ho[:, 2]))
        out["pelvic_drop_deg"] = float(np.nanmax(drop))
    return out


def floor_tilt(track: JointTrack, body: Body) -> float:
    """Slope angle of the floor along the running direction, from the foot contacts.

    The Dorn runway's floor (or the lab's vertical axis) is off level by 0.3 degrees:
    the heel and toe markers bottom out 55 mm lower at the end of the 9 m of contacts
    than at the start.  A camera sees a level floor, so the truth should too.
    Least squares over each contact's lowest heel and toe heights, one offset per marker.
    """
    rows, ys = [], []
    for leg in ("L", "R"):
        for c in marker_contacts(body, leg):
            if not (np.isfinite(c.t_ic) and np.isfinite(c.t_to)):
                continue
            sl = (track.t >= c.t_ic) & (track.t <= c.t_to)
            for k, name in enumerate((f"heel_{leg}", f"toe_{leg}")):
                pos = track[name][sl]
                i = int(np.nanargmin(pos[:, 1]))
                onehot = [0.0] * 4
                onehot[2 * (leg == "R") + k] = 1.0
                rows.append([float(pos[i] @ track.forward), *onehot])
                ys.append(float(pos[i, 1]))
    a = np.asarray(rows)
    keep = a[:, 1:].sum(axis=0) > 0
    if len(rows) < 6 or not keep.all():
        return 0.0
    slope = float(np.linalg.lstsq(a, np.asarray(ys), rcond=None)[0][0])
    return float(np.arctan(slope))


def truth_from_track(track: JointTrack, contacts: Sequence[ForceContact]) -> Truth:
    """Truth of a trial from its force contacts; overground trials are levelled first
    (see `floor_tilt`)."""
    body = body_frame(track)
    if track.overground:
        body = body_frame(track, floor_tilt(track, body))
    return truth_from_body(body, [Contact(c.leg, c.t_ic, c.t_to) for c in contacts])


def truth_from_body(body: Body, contacts: Sequence[Contact] | None = None) -> Truth:
    """Events and per-step truth of one trial from its contacts (force contacts; the
    diagnostic marker contacts when none are given)."""
    markers = marker_contacts(body, "L") + marker_contacts(body, "R")
    if contacts is None:
        contacts = markers
    seen = sorted((c for c in contacts if np.isfinite(c.t_ic)), key=lambda c: c.t_ic)
    for a, b in itertools.pairwise(seen):
        if a.leg == b.leg:
            raise ValueError(
                f"{body.name}: two {a.leg} contacts in a row at {a.t_ic:.3f} and "
                f"{b.t_ic:.3f} s: a contact is missing"
            )
    events: list[GaitEvent] = []
    for c in contacts:
        if np.isfinite(c.t_ic):
            events.append(GaitEvent("IC", c.leg, c.t_ic, c.t_ic, 1.0))
        if np.isfinite(c.t_to):
            events.append(GaitEvent("TO", c.leg, c.t_to, c.t_to, 1.0))
    events.sort(key=lambda e: e.t_s)
    steps: list[Step] = []
    for k in range(len(seen) - 1):
        c, nxt = seen[k], seen[k + 1]
        t_prev = seen[k - 1].t_ic if k > 0 else math.nan
        m = step_metrics(body, c.leg, c.t_ic, nxt.t_ic, t_prev, c.t_to)
        steps.append(Step(c.leg, c.t_ic, confidence=1.0, t_detected_s=nxt.t_ic, **m))
    cut = [c for c in contacts if not np.isfinite(c.t_ic)]
    markers.sort(key=lambda c: c.t_ic if np.isfinite(c.t_ic) else math.inf)
    return Truth(body, tuple(seen + cut), tuple(steps), tuple(events), tuple(markers))
