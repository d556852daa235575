"""Joint centres per frame from marker motion capture.

Running trials rarely carry knee and ankle markers (Hamner) and never carry hip joint
centres, so centres defined in a standing (static) trial are carried into each running
frame by the rigid marker cluster of their segment: express the centre in the cluster's
frame once, then place it with a least-squares rigid fit (Kabsch) in every frame.  The
fit residual is the quality check: large residuals mean skin motion or a swapped marker.

Working units are millimetres in the lab frame of the file (both data sets: Y up).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from realtime.validation.trc import Trc, TrcError, read_trc

UP = np.array([0.0, 1.0, 0.0])

JOINTS: tuple[str, ...] = (
    "hip_L", "hip_R", "knee_L", "knee_R", "ankle_L", "ankle_R",
    "heel_L", "heel_R", "toe_L", "toe_R", "shoulder_L", "shoulder_R",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class JointTrack:
    """Joint centres of one trial and how far they can be trusted.

    `forward` is the horizontal unit vector of the running direction, `right` the runner's
    right (forward x up); `overground` says whether the whole body travels (Dorn) or stays
    on a treadmill (Hamner).  `residual_mm` holds the per-frame RMS cluster-fit residual of
    each cluster that placed a centre.
    """

    name: str
    t: np.ndarray  # float64 [T] s, the marker file's own clock (the force files share it)
    rate_hz: float
    joints: Mapping[str, np.ndarray]  # name -> float64 [T, 3] mm
    forward: np.ndarray
    right: np.ndarray
    overground: bool
    residual_mm: Mapping[str, np.ndarray] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> np.ndarray:
        return self.joints[name]

    @property
    def mid_hip(self) -> np.ndarray:
        return (self.joints["hip_L"] + self.joints["hip_R"]) / 2

    @property
    def mid_shoulder(self) -> np.ndarray:
        return (self.joints["shoulder_L"] + self.joints["shoulder_R"]) / 2


def kabsch(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation R and translation p minimising |R src + p - dst| (rows are points)."""
    cs, cd = src.mean(axis=0), dst.mean(axis=0)
    h = (src - cs).T @ (dst - cd)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    rot = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return rot, cd - rot @ cs


def fit_frames(
    static_cluster: np.ndarray, moving_cluster: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame rigid fit of a static cluster [M, 3] onto `moving_cluster` [T, M, 3].

    Markers missing in a frame are left out of that frame's fit; with fewer than three
    the frame is NaN.  Returns rotations [T, 3, 3], translations [T, 3] and the RMS
    residual [T] (mm).
    """
    n = moving_cluster.shape[0]
    rots = np.full((n, 3, 3), np.nan)
    trans = np.full((n, 3), np.nan)
    res = np.full(n, np.nan)
    for i in range(n):
        ok = np.isfinite(moving_cluster[i]).all(axis=1)
        if ok.sum() < 3:
            continue
        rot, p = kabsch(static_cluster[ok], moving_cluster[i, ok])
        fitted = static_cluster[ok] @ rot.T + p
        res[i] = float(np.sqrt(((fitted - moving_cluster[i, ok]) ** 2).sum(axis=1).mean()))
        rots[i], trans[i] = rot, p
    return rots, trans, res


def carry_points(
    static_cluster: np.ndarray, points: np.ndarray, moving_cluster: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Place static-trial `points` [P, 3] in every frame of `moving_cluster` [T, M, 3].

    Returns points [T, P, 3] (NaN where the cluster cannot be fitted) and the RMS
    residual [T] (mm).
    """
    rots, trans, res = fit_frames(static_cluster, moving_cluster)
    return np.einsum("tij,pj->tpi", rots, points) + trans[:, None, :], res


def score_centre(
    rot_a: np.ndarray, p_a: np.ndarray, rot_b: np.ndarray, p_b: np.ndarray,
    prior_a: np.ndarray, prior_b: np.ndarray, prior_weight: float = 0.1,
) -> np.ndarray:
    """Functional joint centre between two segments (SCoRE, Ehrig et al. 2006).

    Finds the point fixed in segment a (local `ca`) and in segment b (local `cb`) that
    stays together over the trial, least squares, pulled weakly toward the anatomical
    prior (the knee is nearly a hinge, so the point is otherwise free along its axis).
    `rot_*`, `p_*` map segment-local (static-trial) coordinates to the lab per frame.
    Returns the centre per frame [T, 3]: the mean of its two segment-carried positions.
    """
    ok = np.isfinite(rot_a).all(axis=(1, 2)) & np.isfinite(rot_b).all(axis=(1, 2))
    n = int(ok.sum())
    a = np.concatenate([rot_a[ok], -rot_b[ok]], axis=2).reshape(3 * n, 6)
    b = (p_b[ok] - p_a[ok]).reshape(3 * n)
    lam = prior_weight * np.sqrt(n)
    # Priors are static-trial lab coordinates: in segment-local terms they are the points
    # that the static pose itself carries, i.e. the identity map, so they enter as is.
    a = np.vstack([a, lam * np.eye(6)])
    b = np.concatenate([b, lam * np.concatenate([prior_a, prior_b])])
    sol = np.linalg.lstsq(a, b, rcond=None)[0]
    ca, cb = sol[:3], sol[3:]
    in_a = np.einsum("tij,j->ti", rot_a, ca) + p_a
    in_b = np.einsum("tij,j->ti", rot_b, cb) + p_b
    return (in_a + in_b) / 2


def _static_mean(trc: Trc, names: tuple[str, ...]) -> np.ndarray:
    """Mean position of markers over the standing trial, [M, 3]."""
    return np.stack([np.nanmean(trc.marker(n), axis=0) for n in names])


def harrington_hjc(
    lasi: np.ndarray, rasi: np.ndarray, mid_psis: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Hip joint centres by Harrington et al. (2007, J Biomech 40:595), mm.

    In the pelvis frame (origin mid-ASIS, x anterior, y superior, z lateral), with pelvis
    width PW (ASIS distance) and depth PD (mid-ASIS to mid-PSIS):
    x = -0.24 PD - 9.9, y = -0.30 PW - 10.9, z = ±(0.33 PW + 7.3).  Works on [..., 3].
    """
    origin = (lasi + rasi) / 2
    z = rasi - lasi
    pw = np.linalg.norm(z, axis=-1, keepdims=True)
    z = z / pw
    back = origin - mid_psis
    pd = np.linalg.norm(back, axis=-1, keepdims=True)
    x = back - (back * z).sum(axis=-1, keepdims=True) * z
    x = x / np.linalg.norm(x, axis=-1, keepdims=True)
    y = np.cross(z, x)
    ax = -0.24 * pd - 9.9
    ay = -0.30 * pw - 10.9
    az = 0.33 * pw + 7.3
    right = origin + ax * x + ay * y + az * z
    left = origin + ax * x + ay * y - az * z
    return left, right


def _pelvis_axes(lasi: np.ndarray, rasi: np.ndarray, mid_psis: np.ndarray) -> np.ndarray:
    """Rows x (anterior), y (superior), z (right) of the pelvis frame, from [3] vectors."""
    z = (rasi - lasi) / np.linalg.norm(rasi - lasi)
    back = (lasi + rasi) / 2 - mid_psis
    x = back - (back @ z) * z
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z])


def symmetric_hjc(static: Trc) -> tuple[np.ndarray, np.ndarray]:
    """The static trial's L/RHJC made mirror-symmetric in the pelvis frame, [3] each.

    Hamner's shipped hip centres differ in height by 24 mm (subject01) and 12 mm
    (subject04) while the ASIS markers differ by 8 and 2 mm; left as is, that asymmetry
    would read as a 7 degree pelvic drop on one side and a rise on the other.
    """
    lasi, rasi = np.nanmean(static.marker("LASI"), 0), np.nanmean(static.marker("RASI"), 0)
    mpsi = (np.nanmean(static.marker("LPSI"), 0) + np.nanmean(static.marker("RPSI"), 0)) / 2
    axes = _pelvis_axes(lasi, rasi, mpsi)
    origin = (lasi + rasi) / 2
    loc_l = axes @ (np.nanmean(static.marker("LHJC"), 0) - origin)
    loc_r = axes @ (np.nanmean(static.marker("RHJC"), 0) - origin)
    sym = (loc_r + loc_l * np.array([1.0, 1.0, -1.0])) / 2
    right = origin + axes.T @ sym
    left = origin + axes.T @ (sym * np.array([1.0, 1.0, -1.0]))
    return left, right


def _mid(trc: Trc, a: str, b: str) -> np.ndarray:
    return (trc.marker(a) + trc.marker(b)) / 2


@dataclass(frozen=True, slots=True)
class _Centre:
    joint: str
    cluster: tuple[str, ...]
    static_point: Callable[[Trc], np.ndarray]  # [T, 3] in the static trial


def _carry_all(
    static: Trc, moving: Trc, centres: list[_Centre]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    joints: dict[str, np.ndarray] = {}
    residuals: dict[str, np.ndarray] = {}
    by_cluster: dict[tuple[str, ...], list[_Centre]] = {}
    for c in centres:
        by_cluster.setdefault(c.cluster, []).append(c)
    for cluster, cs in by_cluster.items():
        s_cluster = _static_mean(static, cluster)
        pts = np.stack([np.nanmean(c.static_point(static), axis=0) for c in cs])
        m_cluster = np.stack([moving.marker(n) for n in cluster], axis=1)
        placed, res = carry_points(s_cluster, pts, m_cluster)
        residuals["+".join(cluster)] = res
        for k, c in enumerate(cs):
            joints[c.joint] = placed[:, k, :]
    return joints, residuals


def _cluster(trc: Trc, names: tuple[str, ...]) -> np.ndarray:
    return np.stack([trc.marker(n) for n in names], axis=1)


def functional_knee(static: Trc, run: Trc, thigh: tuple[str, ...], shank: tuple[str, ...],
                    anatomical: np.ndarray) -> np.ndarray:
    """Knee centre per frame [T, 3] shared by the thigh and shank clusters (SCoRE).

    Carrying the static trial's condyle midpoint with the thigh cluster alone lets the
    thigh's soft-tissue wobble through: in subject04 the thigh- and shank-carried knees
    drift up to 80 mm apart and the shank "length" breathes by 60 mm.  The functional
    centre, anchored to the anatomical one, is the point both segments agree on.
    """
    rt, pt, _ = fit_frames(_static_mean(static, thigh), _cluster(run, thigh))
    rs, ps, _ = fit_frames(_static_mean(static, shank), _cluster(run, shank))
    return score_centre(rt, pt, rs, ps, anatomical, anatomical)


def _frame_axes(joints: Mapping[str, np.ndarray], pelvis_front: np.ndarray,
                pelvis_back: np.ndarray, overground: bool) -> tuple[np.ndarray, np.ndarray]:
    """Running direction (horizontal) and runner's right.

    On a treadmill it is where the pelvis points; overground it is where the pelvis
    travels (the pelvis markers of the Dorn trial point about 7 degrees off the path).
    """
    if overground:
        mid = (joints["hip_L"] + joints["hip_R"]) / 2
        ok = np.flatnonzero(np.isfinite(mid).all(axis=1))
        f = mid[ok[-1]] - mid[ok[0]]
    else:
        f = np.nanmean(pelvis_front - pelvis_back, axis=0)
    f = f - f @ UP * UP
    f /= np.linalg.norm(f)
    right = np.cross(f, UP)
    lr = np.nanmean(joints["hip_R"] - joints["hip_L"], axis=0)
    if lr @ right < 0:
        raise TrcError("hip centres are mirrored: right hip is on the runner's left")
    return f, right


def hamner_joints(run_path: str | Path, static_path: str | Path) -> JointTrack:
    """Hamner & Delp 2013 treadmill trial: every centre carried from the static trial."""
    run, static = read_trc(run_path).mm(), read_trc(static_path).mm()
    pelvis = ("LASI", "RASI", "LPSI", "RPSI")
    centres: list[_Centre] = []
    for s in "LR":
        centres += [
            _Centre(f"hip_{s}", pelvis,
                    lambda tr, s=s: symmetric_hjc(tr)[0 if s == "L" else 1][None, :]),
            _Centre(f"knee_{s}", tuple(f"{s}TH{i}" for i in (1, 2, 3)),
                    lambda tr, s=s: _mid(tr, f"{s}LFC", f"{s}MFC")),
            _Centre(f"ankle_{s}", tuple(f"{s}TB{i}" for i in (1, 2, 3)),
                    lambda tr, s=s: _mid(tr, f"{s}LMAL", f"{s}MMAL")),
        ]
    joints, residuals = _carry_all(static, run, centres)
    for s in "LR":
        joints[f"knee_{s}"] = functional_knee(
            static, run, tuple(f"{s}TH{i}" for i in (1, 2, 3)),
            tuple(f"{s}TB{i}" for i in (1, 2, 3)),
            np.nanmean(_mid(static, f"{s}LFC", f"{s}MFC"), axis=0))
        joints[f"heel_{s}"] = run.marker(f"{s}CAL")
        joints[f"toe_{s}"] = run.marker(f"{s}TOE")
        joints[f"shoulder_{s}"] = run.marker(f"{s}ACR")
    fwd, right = _frame_axes(joints, _mid(run, "LASI", "RASI"), _mid(run, "LPSI", "RPSI"), False)
    return JointTrack(
        Path(run_path).stem, run.t, run.rate_hz, joints, fwd, right, False,
        residuals, ("hip centres: L/RHJC of the static trial as shipped by the authors, made "
                    "mirror-symmetric in the pelvis frame, carried by the pelvis markers",),
    )


def dorn_joints(run_path: str | Path, static_path: str | Path) -> JointTrack:
    """Dorn et al. 2012 overground trial.

    Knee and ankle centres are midpoints of the epicondyles and malleoli of the static
    trial (which, unlike the running trial, has the medial markers), carried by the thigh
    and shank clusters.  Hip centres: Harrington (2007) regression from RASI, LASI and SACR
    (SACR stands in for the mid-PSIS), computed in the static trial and carried by the
    pelvis markers.
    """
    run, static = read_trc(run_path).mm(), read_trc(static_path).mm()
    pelvis = ("RASI", "LASI", "SACR")

    def hjc(tr: Trc, side: str) -> np.ndarray:
        left, right = harrington_hjc(tr.marker("LASI"), tr.marker("RASI"), tr.marker("SACR"))
        return left if side == "L" else right

    centres: list[_Centre] = []
    for s in "LR":
        centres += [
            _Centre(f"hip_{s}", pelvis, lambda tr, s=s: hjc(tr, s)),
            _Centre(f"knee_{s}", tuple(f"{s}TH{k}" for k in ("LP", "LD", "AP", "AD")),
                    lambda tr, s=s: _mid(tr, f"{s}LEPI", f"{s}MEPI")),
            _Centre(f"ankle_{s}", tuple(f"{s}TI{k}" for k in ("AP", "AD", "LAT")),
                    lambda tr, s=s: _mid(tr, f"{s}LMAL", f"{s}MMAL")),
        ]
    joints, residuals = _carry_all(static, run, centres)
    for s in "LR":
        joints[f"knee_{s}"] = functional_knee(
            static, run, tuple(f"{s}TH{k}" for k in ("LP", "LD", "AP", "AD")),
            tuple(f"{s}TI{k}" for k in ("AP", "AD", "LAT")),
            np.nanmean(_mid(static, f"{s}LEPI", f"{s}MEPI"), axis=0))
        joints[f"heel_{s}"] = run.marker(f"{s}HEEL")
        joints[f"toe_{s}"] = run.marker(f"{s}TOE")
        joints[f"shoulder_{s}"] = run.marker(f"{s}SH")
    fwd, right = _frame_axes(joints, _mid(run, "LASI", "RASI"), run.marker("SACR"), True)
    return JointTrack(
        Path(run_path).stem, run.t, run.rate_hz, joints, fwd, right, True,
        residuals, ("hip centres: Harrington 2007 regression (RASI, LASI, SACR as mid-PSIS)",
                    "knee/ankle centres: static epicondyle/malleolus midpoints carried by the "
                    "thigh/shank clusters"),
    )
