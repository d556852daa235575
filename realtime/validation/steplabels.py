"""Per-step metrics on real video against joint centres placed by eye on zoomed frames.

Two label files sit beside a clip's contact labels (tests/fixtures/README.md says how
they were made, by whom, and how sure they are):

- `<clip>_swings.json`: every swing's frame of peak thigh flexion, with the hip and knee
  joint centres there (knee drive), and the near leg's hip-to-ankle length over two
  strides (the unit of overstride);
- `<clip>_contact_poses.json`: the hip, knee and ankle centres at every labelled contact
  (knee flexion at contact, the ankle's lead over the hip).

Each labelled swing or contact is matched to the step the analyzer reported for it, and
its value is compared with the label when the analyzer trusts it (a value it marks
unreliable is counted as not trusted, not as an error).  Knee drive is also reported
after removing the mean offset between the two (`offset` and `mae_offset_removed`): on
video, the labels' and the landmarks' hip can sit at different heights, and a constant
offset says that, not how well steps are told apart.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from realtime.errors import UserError
from realtime.types import Step

MATCH_S = 0.18  # a step further than this from its label is not the labelled one


@dataclass(frozen=True, slots=True)
class SwingLabel:
    leg: str  # the swinging leg
    t_peak_s: float
    knee_drive_deg: float  # the largest of the labelled frames around the peak
    uncertainty_px: float  # of the hip (the larger of the two points)


@dataclass(frozen=True, slots=True)
class ContactPoseLabel:
    leg: str
    t_s: float
    knee_flexion_ic_deg: float
    ankle_ahead_px: float  # ankle ahead of the hip, px (positive: in front)
    uncertainty_deg: float


@dataclass(frozen=True, slots=True)
class StepLabels:
    swings: tuple[SwingLabel, ...]
    contacts: tuple[ContactPoseLabel, ...]
    leg_length_px: float  # mean hip-to-ankle distance (the analyzer's unit of %)


def sibling(contacts_path: str | Path, kind: str) -> Path:
    """`tests/fixtures/X_contacts.json` -> `tests/fixtures/X_<kind>.json`."""
    p = Path(contacts_path)
    stem = p.stem.removesuffix("_contacts")
    return p.with_name(f"{stem}_{kind}.json")


def load_step_labels(contacts_path: str | Path) -> StepLabels | None:
    """The swing and contact-pose labels beside a contact-labels file, or None if the
    clip has none."""
    sw_p, cp_p = sibling(contacts_path, "swings"), sibling(contacts_path, "contact_poses")
    if not (sw_p.exists() and cp_p.exists()):
        return None
    try:
        sw = json.loads(sw_p.read_text())
        fps = float(sw["fps"])
        swings = []
        for s in sw["swings"]:
            by_frame = {int(k): float(v) for k, v in s["knee_drive_deg_by_frame"].items()}
            peak = max(by_frame, key=lambda k: by_frame[k])
            swings.append(SwingLabel(str(s["leg"]), peak / fps, by_frame[peak],
                                     float(max(s["uncertainty_px"].values()))))
        leg_px = float(sw["leg_length"]["mean_hip_ankle_px"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{sw_p}: not a swing-labels file ({exc})") from None
    try:
        cp = json.loads(cp_p.read_text())
        contacts = tuple(
            ContactPoseLabel(str(c["leg"]), float(c["t_s"]), float(c["knee_flexion_ic_deg"]),
                             float(c["ankle_ahead_of_hip_px"]), float(c["uncertainty_deg"]))
            for c in cp["contacts"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{cp_p}: not a contact-pose labels file ({exc})") from None
    return StepLabels(tuple(sorted(swings, key=lambda s: s.t_peak_s)), contacts, leg_px)


def _swing_step(steps: Sequence[Step], leg: str, t_peak: float) -> Step | None:
    """The step that holds a swing of `leg` peaking at t_peak: the other leg's step
    whose contact comes before the peak (the swinging leg lands to end it)."""
    best = None
    for s in steps:
        if s.leg != leg and s.t_contact_s <= t_peak + 0.05 and t_peak - s.t_contact_s < 0.6:
            best = s if best is None or s.t_contact_s > best.t_contact_s else best
    return best


def _stats(err: Sequence[float], labelled: int, trusted: int) -> dict[str, Any]:
    e = np.asarray(err, float)
    out: dict[str, Any] = {"labelled": labelled, "trusted": trusted,
                           "trusted_share": trusted / labelled if labelled else math.nan}
    if e.size:
        off = float(e.mean())
        out |= {"mae": float(np.abs(e).mean()), "bias": off,
                "mae_offset_removed": float(np.abs(e - off).mean()),
                "max_abs": float(np.abs(e).max()),
                "max_abs_offset_removed": float(np.abs(e - off).max())}
    else:
        out |= dict.fromkeys(("mae", "bias", "mae_offset_removed", "max_abs",
                              "max_abs_offset_removed"), math.nan)
    return out


def score_steps(steps: Sequence[Step], labels: StepLabels, t0: float, t1: float,
                warmup_s: float, edge_s: float) -> dict[str, Any]:
    """Knee drive, knee flexion at contact and overstride of the analyzer's steps against
    the labels (labels in the warm-up or the last `edge_s` of the stream are not judged,
    as for contacts)."""
    judged = [s for s in labels.swings if t0 + warmup_s <= s.t_peak_s <= t1 - edge_s]
    drive_err, drive_rows = [], []
    trusted = 0
    for lab in judged:
        st = _swing_step(steps, lab.leg, lab.t_peak_s)
        ok = st is not None and st.reliable("knee_drive_deg")
        trusted += ok
        if ok:
            assert st is not None
            drive_err.append(st.knee_drive_deg - lab.knee_drive_deg)
        drive_rows.append((lab.leg, round(lab.t_peak_s, 3), round(lab.knee_drive_deg, 1),
                           None if st is None else round(st.knee_drive_deg, 1), ok))
    out = {"knee_drive_deg": _stats(drive_err, len(judged), trusted) | {"rows": drive_rows}}
    cjudged = [c for c in labels.contacts if t0 + warmup_s <= c.t_s <= t1 - edge_s]
    for name, value in (("knee_flexion_ic_deg", lambda c: c.knee_flexion_ic_deg),
                        ("overstride_pct",
                         lambda c: 100.0 * c.ankle_ahead_px / labels.leg_length_px)):
        err, rows = [], []
        n_ok = 0
        for c in cjudged:
            near = [s for s in steps if s.leg == c.leg and abs(s.t_contact_s - c.t_s) < MATCH_S]
            st = min(near, key=lambda s: abs(s.t_contact_s - c.t_s)) if near else None
            ok = st is not None and st.reliable(name)
            n_ok += ok
            if ok:
                assert st is not None
                err.append(getattr(st, name) - value(c))
            rows.append((c.leg, round(c.t_s, 3), round(value(c), 1),
                         None if st is None else round(getattr(st, name), 1), ok))
        out[name] = _stats(err, len(cjudged), n_ok) | {"rows": rows}
    return out


def _frames(contacts_path: str | Path) -> dict[str, list[tuple[int, str, dict]]]:
    """Every labelled frame of the two per-step label files, per file: (frame, leg,
    {joint: [x, y]})."""
    out: dict[str, list[tuple[int, str, dict]]] = {}
    for kind, key in (("swings", "swings"), ("contact_poses", "contacts")):
        p = sibling(contacts_path, kind)
        try:
            d = json.loads(p.read_text())
            rows = [(int(f), str(x["leg"]), pts) for x in d[key]
                    for f, pts in x["frames"].items()]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserError(f"{p}: cannot read its labelled frames ({exc})") from None
        out[kind] = rows
    return out


def landmark_offsets(landmarks: np.ndarray, image_size: tuple[int, int], near_leg: str,
                     contacts_path: str | Path, leg_length_px: float) -> dict[str, Any]:
    """Where BlazePose puts the hip, knee and ankle relative to the joint centres placed
    by eye, per label file (each is one labeller): medians over the labelled frames, in
    leg lengths, forward (the running direction) and down positive, landmark minus label.
    `thigh_shift_*` is the forward shift of BlazePose's hip that makes its thigh point
    like the labelled thigh (what knee drive reads), near and far leg."""
    w, h = image_size
    facing = -1.0 if near_leg == "L" else 1.0  # the near leg is on the camera's side
    idx = {"hip": (23, 24), "knee": (25, 26), "ankle": (27, 28)}
    out: dict[str, Any] = {}
    pooled: dict[str, list[float]] = {"near": [], "far": []}
    for kind, rows in _frames(contacts_path).items():
        acc: dict[str, list[tuple[float, float]]] = {}
        shift: dict[str, list[float]] = {"near": [], "far": []}
        for f, leg, pts in rows:
            if not 0 <= f < landmarks.shape[0]:
                continue
            side = "near" if leg == near_leg else "far"
            g = 0 if leg == "L" else 1
            for joint, xy in pts.items():
                lm = landmarks[f, idx[joint][g], :2] * (w, h)
                d = (lm - np.asarray(xy, float)) / leg_length_px
                acc.setdefault(f"{joint}_{side}", []).append((facing * d[0], d[1]))
            if "hip" in pts and "knee" in pts:
                hx, hy = landmarks[f, idx["hip"][g], :2] * (w, h)
                kx, ky = landmarks[f, idx["knee"][g], :2] * (w, h)
                lh, lk = np.asarray(pts["hip"], float), np.asarray(pts["knee"], float)
                want = math.atan2(facing * (lk[0] - lh[0]), lk[1] - lh[1])
                # forward shift s of the hip so that atan2(facing*(kx-(hx+facing*s)), ky-hy)
                # equals the labelled thigh's angle
                s = facing * (kx - hx) - math.tan(want) * (ky - hy)
                shift[side].append(s / leg_length_px)
        out[kind] = {k: {"forward": float(np.median([a for a, _ in v])),
                         "down": float(np.median([b for _, b in v])), "frames": len(v)}
                     for k, v in sorted(acc.items())}
        out[kind] |= {f"thigh_shift_{k}": float(np.median(v)) if v else math.nan
                      for k, v in shift.items()}
        for k, v in shift.items():
            pooled[k] += v
    # what the metrics stage's hip correction uses (MetricsConfig.hip_near_forward /
    # hip_far_forward): every labelled frame of both labellers
    out["thigh_shift"] = {k: float(np.median(v)) if v else math.nan for k, v in pooled.items()}
    return out
