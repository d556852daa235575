"""The runner's pose at a typical step, drawn from the session's pose stream for the report.

Why: a therapist reading a knee-drive number wants to see the leg it came from, and to
see at once when the pose model confused the legs.  The pose at the contact and at the
swing's peak of the step with the median trusted knee drive is drawn as the model saw
it: the trunk in grey, the person's left leg in blue and right leg in orange (the
palette's leg colours, distinguishable with any common colour blindness), the far leg
thinner and dashed, so that a leg drawn on the other leg shows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from realtime.palette import BLUE, GREY, ORANGE
from realtime.types import LEG_EDGES, TRUNK_EDGES, Step

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

LEG_COLOUR = {"L": BLUE, "R": ORANGE}


def _facing(lm: np.ndarray) -> int:
    """-1 if the runner faces image-left (nose left of the hips), +1 right, 0 unknown."""
    nose = lm[:, 0, 0]
    hips = np.nanmean(lm[:, 23:25, 0], axis=1)
    d = np.nanmedian(nose - hips) if np.isfinite(nose - hips).any() else math.nan
    return 0 if not math.isfinite(d) else (-1 if d < 0 else 1)


def typical_frames(t: np.ndarray, lm: np.ndarray, steps: Sequence[Step]
                   ) -> tuple[Step, int, int] | None:
    """(the step with the median trusted knee drive, the frame nearest its contact, the
    frame where its swinging leg's thigh is most flexed), or None."""
    good = [s for s in steps if s.reliable("knee_drive_deg")]
    facing = _facing(lm)
    if not good or facing == 0 or len(t) == 0:
        return None
    good.sort(key=lambda s: s.knee_drive_deg)
    st = good[len(good) // 2]
    i0 = int(np.argmin(np.abs(t - st.t_contact_s)))
    dur = 60.0 / st.cadence_spm if st.cadence_spm > 0 else 0.4
    i1 = int(np.searchsorted(t, st.t_contact_s + dur))
    swing = 23 if st.leg == "R" else 24  # the other leg swings: its hip, knee
    hip, knee = lm[i0:i1 + 1, swing, :2], lm[i0:i1 + 1, swing + 2, :2]
    ang = np.degrees(np.arctan2(facing * (knee[:, 0] - hip[:, 0]), knee[:, 1] - hip[:, 1]))
    if not np.isfinite(ang).any():
        return None
    return st, i0, i0 + int(np.nanargmax(ang))


def draw_pose(ax: Axes, lm: np.ndarray, size: tuple[int, int], far: str) -> None:
    """One frame's landmarks on `ax` in pixels (y down): trunk grey, legs in their
    colours, the far leg thinner and dashed."""
    w, h = size
    xy = lm[:, :2] * (w, h)
    ok = np.isfinite(xy).all(axis=1)
    for a, b in TRUNK_EDGES:
        if ok[a] and ok[b]:
            ax.plot(xy[[a, b], 0], xy[[a, b], 1], color=GREY, lw=3, solid_capstyle="round")
    for leg in sorted("LR", key=lambda g: g != far):  # the far leg first, beneath
        thin = leg == far
        for a, b in LEG_EDGES[leg]:
            if ok[a] and ok[b]:
                ax.plot(xy[[a, b], 0], xy[[a, b], 1], color=LEG_COLOUR[leg],
                        lw=2 if thin else 4, ls="--" if thin else "-",
                        solid_capstyle="round")
        pts = [i for e in LEG_EDGES[leg] for i in e if ok[i]]
        ax.plot(xy[pts, 0], xy[pts, 1], "o", color=LEG_COLOUR[leg], ms=3 if thin else 5)


def pose_plot(pose_file: Path, steps: Sequence[Step]
              ) -> tuple[str, Callable[[], Figure]] | None:
    """(caption, a function drawing the typical step's two poses), or None when the
    session has no side-view pose stream or no trusted knee drive.  The stream is read
    now (to know whether there is a figure); drawing is left to the caller."""
    from realtime.errors import PoseStreamError
    from realtime.pose.stream import load

    try:
        stream = load(pose_file)
    except PoseStreamError:
        return None
    if stream.view != "side":
        return None
    found = typical_frames(stream.t, stream.landmarks, steps)
    if found is None:
        return None
    st, i_ic, i_peak = found
    far = "R" if _facing(stream.landmarks) < 0 else "L"
    frames = [(stream.landmarks[i].copy(), float(stream.t[i])) for i in (i_ic, i_peak)]
    size = stream.image_size

    def draw() -> Figure:
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D

        fig = Figure(figsize=(6.4, 4.6))  # the OO API: no pyplot state (threads)
        axes = fig.subplots(1, 2)
        titles = (f"contact of the {'left' if st.leg == 'L' else 'right'} foot",
                  f"peak knee drive {st.knee_drive_deg:.0f}°")
        for ax, (lm, t), title in zip(axes, frames, titles, strict=True):
            draw_pose(ax, lm, size, far)
            ax.set_title(f"{title} (t {t:.2f} s)", fontsize=9)
            ax.set_aspect("equal")
            ax.invert_yaxis()
            ax.set_xticks([])
            ax.set_yticks([])
        fig.legend(handles=[
            Line2D([], [], color=BLUE, lw=4, ls="--" if far == "L" else "-",
                   label="left leg" + (" (far)" if far == "L" else "")),
            Line2D([], [], color=ORANGE, lw=4, ls="--" if far == "R" else "-",
                   label="right leg" + (" (far)" if far == "R" else "")),
        ], loc="lower center", ncol=2, fontsize=8, frameon=False)
        return fig

    return (f"The pose model's landmarks at the step with the median trusted knee drive "
            f"({st.leg} contact at {st.t_contact_s:.1f} s): the left leg blue, the right "
            f"orange, the far leg dashed. Legs drawn on each other here mean the model "
            "confused them in this frame.", draw)
