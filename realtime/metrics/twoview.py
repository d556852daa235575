"""Two cameras, one runner: the clock offset between the views and one record per step.

A side camera measures knee drive, knee flexion at contact and overstride; a rear camera
measures hip sway and pelvic drop.  Each view runs its own `GaitAnalyzer`; this module
joins their steps into one row per step (`StepFuser`), each metric taken from the view
that measures it, with that view's reliability.

Times: the fused session runs on the side view's clock.  Live cameras share the monotonic
clock (offset 0).  Recordings do not: `estimate_clock_offset` finds the rear-minus-side
offset from the gait itself, in two stages:
1. contacts: the offset at which the two views' contact trains line up, leg by leg.  The
   legs make it unique up to whole strides; stride-to-stride variability and the
   recordings' overlap choose between strides.  A treadmill gait is nearly periodic, so
   a candidate a stride away can fit almost as well: the estimate then says
   `ambiguous` and lists it.  Each view's contact times carry that view's own errors
   (+-5-20 ms at 15 fps).
2. the body's vertical motion: hips and shoulders bottom out once per stance and both
   cameras see it.  Cross-correlating the two waveforms within half a step of stage 1
   gives the offset to about a millisecond on the motion-capture pairs
   (tests/test_twoview.py).

Pure: no I/O, no clock reads.  Usage::

    off = estimate_clock_offset(side_events, rear_events, cfg.two_view,
                                body_trace(side.t, side.landmarks),
                                body_trace(rear.t, rear.landmarks))
    rows, fuser = fuse_steps(side_steps, rear_steps, off.offset_s, cfg.two_view)
"""

from __future__ import annotations

import bisect
import math
import warnings
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from realtime.config import TwoViewConfig
from realtime.types import REAR_METRICS, SIDE_METRICS, GaitEvent, Leg, Step, View

LEGS: tuple[Leg, Leg] = ("L", "R")
COARSE_STEP_S = 0.004  # grid of the offset search; the median of the pairs refines it
MIN_SEPARATION_S = 0.15  # two candidate offsets closer than this are one candidate
MISFIT_CHUNK = 64  # candidate offsets scored at once
UNKNOWN_WAIT = 3.0  # with no offset yet, steps wait this many step_wait_s for one


def match_pairs(a: Sequence[tuple[Leg, float]], b: Sequence[tuple[Leg, float]], tol: float,
                ) -> list[tuple[int, int]]:
    """One-to-one (index in a, index in b) pairs of the same leg within `tol`, the nearest
    pairs first (sorted by index in a).  Candidates come from a sorted search, so an
    hour of steps (thousands a side) pairs in milliseconds."""
    by_leg: dict[str, list[tuple[float, int]]] = {}
    for k, (leg, t) in enumerate(b):
        by_leg.setdefault(leg, []).append((t, k))
    times = {leg: [t for t, _ in sorted(v)] for leg, v in by_leg.items()}
    index = {leg: [k for _, k in sorted(v)] for leg, v in by_leg.items()}
    cands = []
    for i, (la, ta) in enumerate(a):
        ts = times.get(la)
        if not ts:
            continue
        for j in range(bisect.bisect_left(ts, ta - tol), bisect.bisect_right(ts, ta + tol)):
            cands.append((abs(ts[j] - ta), i, index[la][j]))
    cands.sort()
    used_a: set[int] = set()
    used_b: set[int] = set()
    out = []
    for _, i, k in cands:
        if i in used_a or k in used_b:
            continue
        used_a.add(i)
        used_b.add(k)
        out.append((i, k))
    return sorted(out)


# --------------------------------------------------------------------------- clock offset


@dataclass(frozen=True, slots=True)
class ClockOffset:
    """Rear clock minus side clock: a moment at side time t is rear time t + offset_s."""

    offset_s: float
    uncertainty_s: float  # standard error of the median of the paired differences
    pairs: int  # contacts seen in both views that it rests on
    residual_s: float  # median |difference - offset| of those pairs
    ambiguous: bool = False  # another candidate (a whole stride away) fits nearly as well
    alternatives: tuple[float, ...] = ()  # those candidates, s
    source: str = "contacts"  # "body motion", "contacts" or "shared clock" (live cameras)
    correlation: float = math.nan  # of the two body waveforms at the offset

    def as_dict(self) -> dict[str, object]:
        return {
            "clock_offset_s": round(self.offset_s, 4),
            "clock_offset_uncertainty_s": round(self.uncertainty_s, 4),
            "clock_offset_pairs": self.pairs,
            "clock_offset_residual_s": round(self.residual_s, 4),
            "clock_offset_ambiguous": self.ambiguous,
            "clock_offset_alternatives_s": [round(a, 3) for a in self.alternatives],
            "clock_offset_source": self.source,
            "clock_offset_body_correlation": None if self.correlation != self.correlation
            else round(self.correlation, 4),
        }


def _contacts(events: Iterable[GaitEvent], foot_only: bool) -> dict[Leg, np.ndarray]:
    return {leg: np.sort(np.array([e.t_s for e in events if e.kind == "IC" and e.leg == leg
                                   and (e.source == "foot" or not foot_only)], dtype=float))
            for leg in LEGS}


def _misfit(side: dict[Leg, np.ndarray], rear: dict[Leg, np.ndarray], offsets: np.ndarray,
            cap: float, min_pairs: int) -> np.ndarray:
    """Per candidate offset: mean truncated squared distance of each contact of both
    views to the other view's nearest contact of the same leg, over cap^2 (0 perfect, 1
    nothing matches); a contact outside the other view's span counts as unmatched, so
    the offsets at which the two recordings overlap most are favoured (two cameras of
    one session film about the same stretch of running); inf where fewer than
    min_pairs contacts of each view overlap."""
    total = np.zeros(offsets.size)
    count = 0
    overlap = np.zeros(offsets.size)
    for leg in LEGS:
        for a, b, sign in ((side[leg], rear[leg], 1.0), (rear[leg], side[leg], -1.0)):
            if a.size == 0 or b.size < 2:
                continue
            count += a.size
            for lo in range(0, offsets.size, MISFIT_CHUNK):  # bounded memory for an hour
                sl = slice(lo, lo + MISFIT_CHUNK)
                shifted = a[None, :] + sign * offsets[sl, None]  # a's contacts on b's clock
                inside = (shifted >= b[0] - cap) & (shifted <= b[-1] + cap)
                k = np.clip(np.searchsorted(b, shifted), 1, b.size - 1)
                d = np.minimum(np.abs(shifted - b[k - 1]), np.abs(shifted - b[k]))
                total[sl] += np.where(inside, np.minimum(d, cap) ** 2, cap**2).sum(axis=1)
                overlap[sl] += inside.sum(axis=1)
    out = np.full(offsets.size, np.inf)
    ok = overlap >= 2 * min_pairs
    out[ok] = total[ok] / max(1, count) / cap**2
    return out


def _refine(side: dict[Leg, np.ndarray], rear: dict[Leg, np.ndarray], offset: float,
            tol: float) -> np.ndarray:
    """Rear-minus-side differences of the contacts paired one-to-one at `offset`."""
    diffs = []
    for leg in LEGS:
        a = [(leg, float(t) + offset) for t in side[leg]]
        b = [(leg, float(t)) for t in rear[leg]]
        diffs += [b[k][1] - (a[i][1] - offset) for i, k in match_pairs(a, b, tol)]
    return np.asarray(diffs, dtype=float)


@dataclass(frozen=True, slots=True)
class BodyTrace:
    """The body's vertical motion in one view: mean image height of the hips and
    shoulders minus its mean over +-BODY_DETREND_S (the treadmill bounce, not posture or
    camera drift); NaN where there was no pose."""

    t: np.ndarray
    y: np.ndarray


BODY_DETREND_S = 0.5
BODY_POINTS = (11, 12, 23, 24)  # shoulders and hips
MIN_CORRELATION = 0.8  # below this the waveforms are not the same motion: keep the contacts
BODY_SEARCH_S = 0.15  # the waveform repeats every step (~0.33 s): search within half of it


def body_trace(t: np.ndarray, landmarks: np.ndarray) -> BodyTrace:
    """BodyTrace of a pose stream (t [n], landmarks [n, 33, 4])."""
    t = np.asarray(t, dtype=float)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames without a pose: NaN
        pts = np.asarray(landmarks[:, BODY_POINTS, 1], dtype=float)
        pts[np.asarray(landmarks[:, BODY_POINTS, 3]) < 0.3] = np.nan
        y = np.nanmean(pts, axis=1) if len(t) else np.zeros(0)
    ok = np.isfinite(y)
    cs = np.concatenate(([0.0], np.cumsum(np.where(ok, y, 0.0))))
    cn = np.concatenate(([0], np.cumsum(ok)))
    lo = np.searchsorted(t, t - BODY_DETREND_S)
    hi = np.searchsorted(t, t + BODY_DETREND_S, side="right")
    with np.errstate(all="ignore"):
        mean = (cs[hi] - cs[lo]) / (cn[hi] - cn[lo])
    return BodyTrace(t, np.where(ok, y - mean, np.nan))


class BodyTraceRecorder:
    """Keeps what `body_trace` needs from a live or replayed view (its time and the
    four trunk points), all of it or only the last `window_s` (a live session
    re-estimates the offset from the recent stretch and must not grow for an hour).

    One worker thread adds; another may call `trace()` meanwhile: the samples live in
    one deque, whose copy is a single step for the interpreter."""

    def __init__(self, window_s: float | None = None) -> None:
        self.window_s = window_s
        self._items: deque[tuple[float, np.ndarray]] = deque()

    def add(self, t_s: float, landmarks: np.ndarray) -> None:
        self._items.append((t_s, np.array(landmarks[BODY_POINTS, :], dtype=np.float32)))
        if self.window_s is not None:
            while self._items[0][0] < t_s - self.window_s:
                self._items.popleft()

    def __len__(self) -> int:
        return len(self._items)

    def trace(self) -> BodyTrace:
        items = list(self._items)
        if not items:
            return BodyTrace(np.zeros(0), np.zeros(0))
        lm = np.full((len(items), max(BODY_POINTS) + 1, 4), np.nan, np.float32)
        lm[:, BODY_POINTS, :] = np.stack([x[1] for x in items])
        return body_trace(np.array([x[0] for x in items]), lm)


def _correlate(side: BodyTrace, rear: BodyTrace, offsets: np.ndarray) -> np.ndarray:
    """Correlation of the two waveforms at each candidate offset: the denser trace is
    interpolated at the sparser one's samples (never across a gap of > 0.15 s)."""
    a_ok, b_ok = np.isfinite(side.y), np.isfinite(rear.y)
    st, sy, rt, ry = side.t[a_ok], side.y[a_ok], rear.t[b_ok], rear.y[b_ok]
    out = np.full(offsets.size, np.nan)
    if st.size < 10 or rt.size < 10:
        return out
    dense_is_side = st.size / max(1e-9, np.ptp(st)) >= rt.size / max(1e-9, np.ptp(rt))
    for j, off in enumerate(offsets):
        if dense_is_side:  # rear samples on the side clock
            q, qy, dt, dy = rt - off, ry, st, sy
        else:
            q, qy, dt, dy = st + off, sy, rt, ry
        k = np.searchsorted(dt, q)
        inside = (k > 0) & (k < dt.size)
        k = np.clip(k, 1, dt.size - 1)
        inside &= (dt[k] - dt[k - 1]) < 0.15
        if inside.sum() < 10:
            continue
        a = np.interp(q[inside], dt, dy)
        b = qy[inside]
        a, b = a - a.mean(), b - b.mean()
        den = math.sqrt(float(a @ a) * float(b @ b))
        out[j] = float(a @ b) / den if den > 0 else np.nan
    return out


def _body_offset(side: BodyTrace, rear: BodyTrace, around: float) -> tuple[float, float]:
    """(offset, correlation) of the waveforms' best match within BODY_SEARCH_S."""
    grid = np.arange(around - BODY_SEARCH_S, around + BODY_SEARCH_S + 1e-9, 0.001)
    r = _correlate(side, rear, grid)
    if not np.isfinite(r).any():
        return math.nan, math.nan
    i = int(np.nanargmax(r))
    off = float(grid[i])
    if 0 < i < grid.size - 1 and np.isfinite(r[i - 1]) and np.isfinite(r[i + 1]):
        den = r[i - 1] - 2 * r[i] + r[i + 1]
        if den < 0:
            off += 0.001 * 0.5 * (r[i - 1] - r[i + 1]) / den
    return off, float(r[i])


def _halves(tr: BodyTrace, t_mid: float) -> tuple[BodyTrace, BodyTrace]:
    m = tr.t < t_mid
    return BodyTrace(tr.t[m], tr.y[m]), BodyTrace(tr.t[~m], tr.y[~m])


def estimate_clock_offset(side: Sequence[GaitEvent], rear: Sequence[GaitEvent],
                          cfg: TwoViewConfig, side_body: BodyTrace | None = None,
                          rear_body: BodyTrace | None = None) -> ClockOffset | None:
    """The rear-minus-side clock offset, or None when fewer than `cfg.offset_min_pairs`
    contacts pair up at any offset (see the module doc for the two stages)."""
    est = _contact_offset(side, rear, cfg)
    if est is None or side_body is None or rear_body is None:
        return est
    off, r = _body_offset(side_body, rear_body, est.offset_s)
    if not (r >= MIN_CORRELATION):
        return replace(est, correlation=r)
    # uncertainty: half the disagreement of the two halves of the recording
    mid = 0.5 * (side_body.t[0] + side_body.t[-1])
    s1, s2 = _halves(side_body, mid)
    r1, r2 = _halves(rear_body, mid + off)
    o1, _ = _body_offset(s1, r1, off)
    o2, _ = _body_offset(s2, r2, off)
    se = 0.5 * abs(o1 - o2) if o1 == o1 and o2 == o2 else est.uncertainty_s
    return replace(est, offset_s=off, uncertainty_s=max(se, 0.0005), correlation=r,
                   source="body motion")


def _contact_offset(side: Sequence[GaitEvent], rear: Sequence[GaitEvent],
                    cfg: TwoViewConfig) -> ClockOffset | None:
    """Stage 1: a grid search over +-max_clock_offset_s for the offsets at which the
    two views' contact trains line up (same leg); the median of the paired differences
    refines the chosen one.  Contacts a view timed from its own foot are used when there
    are enough of them (those timed from the body are ~3x less precise)."""
    tol = cfg.offset_match_s
    best: ClockOffset | None = None
    for foot_only in (True, False):
        s, r = _contacts(side, foot_only), _contacts(rear, foot_only)
        grid = np.arange(-cfg.max_clock_offset_s, cfg.max_clock_offset_s + 1e-9, COARSE_STEP_S)
        cost = _misfit(s, r, grid, tol, cfg.offset_min_pairs)
        if not np.isfinite(cost).any():
            continue
        # candidates: local minima of the misfit, best first, one per stride-sized bump
        idx = [i for i in range(grid.size) if np.isfinite(cost[i])
               and cost[i] <= cost[max(0, i - 1)] and cost[i] <= cost[min(grid.size - 1, i + 1)]]
        idx.sort(key=lambda i: cost[i])
        cands: list[int] = []
        for i in idx:
            if all(abs(grid[i] - grid[j]) >= MIN_SEPARATION_S for j in cands):
                cands.append(i)
        # in unmatched-contact equivalents: how much worse the runners-up fit
        n_all = sum(a.size for d in (s, r) for a in d.values())
        pick = cands[0]
        close = [i for i in cands[1:]
                 if (cost[i] - cost[pick]) * n_all < cfg.offset_ambiguity_contacts]
        diffs = _refine(s, r, float(grid[pick]), tol)
        if diffs.size < cfg.offset_min_pairs:
            continue
        for _ in range(2):  # re-pair around the refined value
            med = float(np.median(diffs))
            diffs = _refine(s, r, med, tol)
        med = float(np.median(diffs))
        mad = float(np.median(np.abs(diffs - med)))
        se = 1.2533 * 1.4826 * mad / math.sqrt(diffs.size)
        best = ClockOffset(
            offset_s=med, uncertainty_s=se, pairs=int(diffs.size), residual_s=mad,
            ambiguous=bool(close),
            alternatives=tuple(float(grid[i]) for i in close),
        )
        break
    return best


# --------------------------------------------------------------------------- step fusion


def fuse_step(side: Step | None, rear: Step | None, offset_s: float) -> Step:
    """One row from a side and/or a rear record of the same step, on the side clock.

    Each metric comes from the view that measures it, with that view's reliability;
    cadence and the contact time from the side when it saw the step.
    """
    if side is None and rear is None:
        raise ValueError("fuse_step needs at least one view's step")
    if rear is None:
        assert side is not None
        return replace(side, hip_sway_pct=math.nan, pelvic_drop_deg=math.nan,
                       unreliable=side.unreliable - set(REAR_METRICS))
    rear_on_side = replace(rear, t_contact_s=rear.t_contact_s - offset_s,
                           t_detected_s=rear.t_detected_s - offset_s)
    if side is None:
        return replace(rear_on_side, **dict.fromkeys(SIDE_METRICS, math.nan),
                       unreliable=rear.unreliable - set(SIDE_METRICS))
    values = {m: getattr(rear, m) for m in REAR_METRICS}
    unreliable = (side.unreliable - set(REAR_METRICS)) | (rear.unreliable & set(REAR_METRICS))
    return replace(side, **values, unreliable=frozenset(unreliable),
                   confidence=max(side.confidence, rear.confidence),
                   t_detected_s=max(side.t_detected_s, rear_on_side.t_detected_s))


@dataclass(eq=False)
class _Pending:
    view: View
    step: Step
    t_side: float  # its contact on the side clock (offset applied)
    partner: _Pending | None = None


@dataclass
class StepFuser:
    """Online: per-view steps in (any order between views), one row per step out, in
    contact order.

    A step waits for the other view's record of it until that view has moved
    `step_wait_s` past it (or has ended); then it is written with what it has.  With no
    offset yet (recordings played live, before enough contacts) nothing can pair: steps
    wait UNKNOWN_WAIT times longer for one, then are written alone.
    """

    cfg: TwoViewConfig
    offset_s: float | None = None
    _pending: list[_Pending] = field(default_factory=list)
    _progress: dict[str, float] = field(default_factory=lambda: {"side": -math.inf,
                                                                  "rear": -math.inf})
    _closed: set[str] = field(default_factory=set)
    matched: int = 0
    single: dict[str, int] = field(default_factory=lambda: {"side": 0, "rear": 0})
    # per row written, in order: which views it came from ("both", "side" or "rear")
    sources: list[str] = field(default_factory=list)
    _dirty: bool = False  # steps or the offset changed since the last pairing

    def set_offset(self, offset_s: float) -> None:
        self.offset_s = offset_s
        self._dirty = True
        for p in self._pending:
            if p.partner is None:
                p.t_side = self._to_side(p.view, p.step.t_contact_s)

    def _to_side(self, view: str, t: float) -> float:
        return t - (self.offset_s or 0.0) if view == "rear" else t

    def add(self, view: View, steps: Iterable[Step]) -> None:
        for st in steps:
            self._pending.append(_Pending(view, st, self._to_side(view, st.t_contact_s)))
            self._dirty = True

    def advance(self, view: View, t_s: float) -> None:
        """`view` has processed its stream up to t_s (its own clock)."""
        self._progress[view] = max(self._progress[view], t_s)

    def close(self, view: View) -> None:
        """`view` has ended or failed: nothing more will come from it."""
        self._closed.add(view)

    def _pair(self) -> None:
        if self.offset_s is None:
            return
        free = [p for p in self._pending if p.partner is None]
        side = [p for p in free if p.view == "side"]
        rear = [p for p in free if p.view == "rear"]
        pairs = match_pairs([(p.step.leg, p.t_side) for p in side],
                            [(p.step.leg, p.t_side) for p in rear], self.cfg.step_match_s)
        for i, k in pairs:
            side[i].partner, rear[k].partner = rear[k], side[i]
            self.matched += 1
        self._pending = [p for p in self._pending if not (p.view == "rear" and p.partner)]

    def _decided(self, p: _Pending) -> bool:
        if p.partner is not None:
            return True
        other = "rear" if p.view == "side" else "side"
        if other in self._closed:
            return True
        wait = self.cfg.step_wait_s
        if self.offset_s is None:  # nothing can pair yet: wait for an offset, then alone
            return self._progress[p.view] > p.step.t_contact_s + UNKNOWN_WAIT * wait
        return self._to_side(other, self._progress[other]) > p.t_side + wait

    def _fused(self, p: _Pending) -> Step:
        off = self.offset_s or 0.0
        if p.partner is not None:
            return fuse_step(p.step, p.partner.step, off)
        return fuse_step(p.step, None, off) if p.view == "side" else \
            fuse_step(None, p.step, off)

    def _row(self, p: _Pending) -> Step:
        source = "both" if p.partner is not None else p.view
        if p.partner is None:
            self.single[p.view] += 1
        self.sources.append(source)
        return self._fused(p)

    def preview(self) -> list[Step]:
        """The steps still waiting for the other view, as they would be written now (the
        display shows them at once instead of after the wait)."""
        return [self._fused(p) for p in self._pending]

    def pop(self) -> list[Step]:
        """Rows decided so far, in contact order (a row never overtakes an undecided
        earlier step)."""
        if self._dirty:  # a live session calls this every frame: work only on news
            self._pair()
            self._pending.sort(key=lambda p: p.t_side)
            self._dirty = False
        out = []
        while self._pending and self._decided(self._pending[0]):
            out.append(self._row(self._pending.pop(0)))
        return out

    def counts(self) -> dict[str, int]:
        """How many rows came from both views and from one alone."""
        src = self.sources
        return {"rows": len(src), "both_views": src.count("both"),
                "side_only": src.count("side"), "rear_only": src.count("rear")}

    def flush(self) -> list[Step]:
        """Every remaining row (end of the session)."""
        self._closed.update(("side", "rear"))
        return self.pop()


def fuse_steps(side: Sequence[Step], rear: Sequence[Step], offset_s: float,
               cfg: TwoViewConfig) -> tuple[list[Step], StepFuser]:
    """Offline: every step of both views, paired one-to-one, in contact order."""
    fuser = StepFuser(cfg, offset_s)
    fuser.add("side", side)
    fuser.add("rear", rear)
    return fuser.flush(), fuser
