"""Calibrating the event detector against force, and the leave-one-runner-out folds.

What is fitted (everything else in MetricsConfig is a design choice, not tuned here):

- `contact_height` and `toe_off_height`: chosen from a small grid, the height whose
  crossing times scatter least around the force events;
- `contact_delay_s` and `toe_off_delay_s`: the median of (height crossing - force event);
- `body_delay_prior`: the median delay from a force contact to the body's lowest point,
  as a share of the step period (only used until a runner's own delay is learned).

`calibrate(trials)` fits on the given trials' synthetic streams at the target condition
(30 fps, 2 px, side and rear views).  `fold_configs` gives each trial the configuration
fitted on the *other* runners, so a score over all trials says what a new runner gets.
The shipped defaults (config/default.toml) are `calibrate` on all treadmill runners.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from realtime.config import MetricsConfig
from realtime.validation.catalog import DORN, load_truth, runner_of
from realtime.validation.streams import synthesize_trial

CONTACT_HEIGHTS = (0.015, 0.02, 0.025, 0.03)
TOE_OFF_HEIGHTS = (0.08, 0.10, 0.12)
MATCH_S = 0.15  # a detected event further than this from every force event is not paired
CAL_FPS, CAL_NOISE_PX = 30.0, 2.0


@dataclass(frozen=True, slots=True)
class Calibration:
    """Fitted values and how well they fit the training trials."""

    cfg: MetricsConfig
    trials: tuple[str, ...]
    contact_mae_ms: float  # training scatter after the median delay
    toe_off_mae_ms: float
    n_contacts: int
    n_toe_offs: int

    def as_dict(self) -> dict[str, float]:
        return {k: getattr(self.cfg, k) for k in FITTED}


FITTED = ("contact_height", "contact_delay_s", "toe_off_height", "toe_off_delay_s",
          "body_delay_prior")


def _paired(detected: Sequence[tuple[str, float]], true: Sequence[tuple[str, float]],
            t_from: float) -> list[float]:
    """detected - true for each true event after t_from with a detection of the same leg
    within MATCH_S (the nearest)."""
    out = []
    for leg, t in true:
        if not (t == t and t >= t_from):
            continue
        d = [td - t for lg, td in detected if lg == leg and abs(td - t) <= MATCH_S]
        if d:
            out.append(min(d, key=abs))
    return out


def _errors(trials: Sequence[str], cfg: MetricsConfig, seed: int
            ) -> tuple[list[float], list[float], list[float]]:
    """(contact errors, toe-off errors, body delays / step period) over the trials'
    side and rear streams at the calibration condition, with cfg's delays."""
    from realtime.metrics import analyze_stream

    ic_err: list[float] = []
    to_err: list[float] = []
    body: list[float] = []
    for name in trials:
        truth = load_truth(name)
        ics = [(c.leg, c.t_ic) for c in truth.contacts]
        tos = [(c.leg, c.t_to) for c in truth.contacts]
        for view in ("side", "rear"):
            syn = synthesize_trial(name, view, CAL_FPS, CAL_NOISE_PX, "left", seed)
            _, ga = analyze_stream(syn.stream, cfg)
            t_from = float(syn.stream.t[0]) + 0.5
            ic_err += _paired([(e.leg, e.t_s) for e in ga.events if e.kind == "IC"
                               and e.source == "foot"], ics, t_from)
            to_err += _paired([(e.leg, e.t_s) for e in ga.events if e.kind == "TO"], tos,
                              t_from)
            seen = sorted(t for _, t in ics if t == t)
            for k in range(len(seen) - 1):
                period = seen[k + 1] - seen[k]
                after = [b for b in ga.body_minima if 0.0 < b - seen[k] < period]
                if after and seen[k] >= t_from:
                    body.append((after[0] - seen[k]) / period)
    return ic_err, to_err, body


def calibrate(trials: Sequence[str], base: MetricsConfig | None = None, seed: int = 0
              ) -> Calibration:
    """Fit the FITTED values on `trials` (see the module doc)."""
    base = base or MetricsConfig()
    trials = tuple(trials)
    best_ic: tuple[float, float, float, int] | None = None  # (mae, height, delay, n)
    best_to: tuple[float, float, float, int] | None = None
    body_all: list[float] = []
    for ch in CONTACT_HEIGHTS:
        for th in TOE_OFF_HEIGHTS:
            cfg = dataclasses.replace(base, contact_height=ch, toe_off_height=th,
                                      contact_delay_s=0.0, toe_off_delay_s=0.0)
            ic, to, body = _errors(trials, cfg, seed)
            if not ic or not to:
                continue
            d_ic, d_to = float(np.median(ic)), float(np.median(to))
            mae_ic = float(np.mean(np.abs(np.asarray(ic) - d_ic)))
            mae_to = float(np.mean(np.abs(np.asarray(to) - d_to)))
            if best_ic is None or mae_ic < best_ic[0]:
                best_ic = (mae_ic, ch, d_ic, len(ic))
                body_all = body
            if best_to is None or mae_to < best_to[0]:
                best_to = (mae_to, th, -d_to, len(to))
    if best_ic is None or best_to is None:
        raise ValueError(f"no force-matched events in {trials}: nothing to calibrate on")
    cfg = dataclasses.replace(
        base, contact_height=best_ic[1], contact_delay_s=round(best_ic[2], 4),
        toe_off_height=best_to[1], toe_off_delay_s=round(best_to[2], 4),
        body_delay_prior=round(float(np.median(body_all)), 3) if body_all else
        base.body_delay_prior,
    )
    return Calibration(cfg, trials, 1000 * best_ic[0], 1000 * best_to[0], best_ic[3],
                       best_to[3])


def treadmill_trials(trials: Sequence[str]) -> list[str]:
    return [t for t in trials if t not in DORN]


def fold_configs(
    trials: Sequence[str], base: MetricsConfig | None = None, seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, MetricsConfig], dict[str, Calibration]]:
    """Leave-one-runner-out: each trial -> the config calibrated on the treadmill trials
    of every other runner.  A runner never in the treadmill set (Dorn's overground
    runner) gets the calibration on all treadmill runners.  Also returns each fold's
    Calibration, keyed by the held-out runner ("all" for the full set)."""
    tread = treadmill_trials(trials)
    cals: dict[str, Calibration] = {}
    out: dict[str, MetricsConfig] = {}
    for runner in dict.fromkeys(runner_of(t) for t in trials):
        train = [t for t in tread if runner_of(t) != runner]
        key = runner if len(train) < len(tread) else "all"
        if key not in cals:
            if progress:
                progress(f"calibrating without {runner}: {len(train)} trials")
            cals[key] = calibrate(train, base, seed)
        for t in trials:
            if runner_of(t) == runner:
                out[t] = cals[key].cfg
    return out, cals


def shipped_matches(cal: Calibration, cfg: MetricsConfig, tol: float = 1e-3) -> list[str]:
    """The FITTED values where the shipped config differs from a calibration."""
    bad = []
    for k in FITTED:
        a, b = getattr(cal.cfg, k), getattr(cfg, k)
        if not math.isclose(a, b, abs_tol=tol):
            bad.append(f"{k}: shipped {b}, calibrated {a}")
    return bad
