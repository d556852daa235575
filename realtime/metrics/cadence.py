"""The one definition of cadence, used by the summary, the cue rules and the display.

Cadence is steps per minute from a least-squares line through contact times against step
number, over unbroken chains of steps whose timing is reliable.

Why not the median (or mean) of per-step cadences: each contact carries its own timing
error, and when one leg's contacts are timed a few ms later than the other's, step
durations alternate long/short; a median lands on one side.  The fitted slope uses every
contact, a per-leg offset cancels over whole strides, and jitter averages out.  The
summary fits the whole session; the display and the cues fit the last
`cadence_window_strides` whole strides (the runner's current cadence).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from realtime.types import Step

JOIN_S = 0.002  # a step "follows" another when it starts within this of the other's end


def follows(prev: Step, step: Step, join_s: float = JOIN_S) -> bool:
    """True when `step` starts where `prev` ended: the same chain, no gap between them."""
    return prev.cadence_spm > 0 and abs(
        prev.t_contact_s + 60.0 / prev.cadence_spm - step.t_contact_s) <= join_s


def chains(steps: Sequence[Step]) -> list[list[Step]]:
    """Steps split into unbroken chains of reliably timed steps, in order."""
    out: list[list[Step]] = []
    for st in steps:
        if not st.reliable("cadence_spm") or st.cadence_spm <= 0:
            out.append([])
            continue
        if out and out[-1] and follows(out[-1][-1], st):
            out[-1].append(st)
        else:
            out.append([st])
    return [c for c in out if c]


def cadence_spm(steps: Sequence[Step]) -> float:
    """Steps per minute over `steps` (see the module doc); NaN without a reliable step.

    Each chain keeps its own intercept.  With no chain of two steps or more, the mean
    duration of the reliable steps is used.
    """
    sxy = sxx = 0.0
    durs: list[float] = []
    for ch in chains(steps):
        t = np.array([s.t_contact_s for s in ch] + [ch[-1].t_contact_s + 60.0 / ch[-1].cadence_spm])
        durs.extend(60.0 / s.cadence_spm for s in ch)
        if t.size < 3:
            continue
        i = np.arange(t.size, dtype=float)
        i -= i.mean()
        sxy += float(i @ (t - t.mean()))
        sxx += float(i @ i)
    if sxx > 0 and sxy > 0:
        return 60.0 * sxx / sxy
    return 60.0 / float(np.mean(durs)) if durs else math.nan


def recent_cadence_spm(steps: Sequence[Step], strides: int) -> float:
    """The current cadence: `cadence_spm` over the newest unbroken chain's last `strides`
    whole strides (fewer at its start: whole strides where possible, so that one leg's
    timing offset cancels)."""
    chs = chains(steps)
    if not chs:
        return math.nan
    last = chs[-1]
    if steps and last[-1] is not steps[-1]:
        return math.nan  # the newest step broke the chain: no current cadence yet
    tail = last[-2 * strides:]
    if len(tail) % 2 and len(tail) > 1:
        tail = tail[1:]
    return cadence_spm(tail)
