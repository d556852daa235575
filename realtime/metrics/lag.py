"""Measured lag of the display's smoothing filter on a running-like signal (the metrics
themselves read unsmoothed landmarks)."""

from __future__ import annotations

import numpy as np

from realtime.config import MetricsConfig
from realtime.metrics.condition import one_euro_filter


def measure_filter_lag(
    cfg: MetricsConfig, fps: float = 30.0, freq_hz: float = 1.4, amp_leg: float = 0.15,
    leg_px: float = 400.0, noise_px: float = 0.0, seed: int = 0,
) -> float:
    """Delay (s) of the One Euro filter on a sinusoid like a foot's vertical motion.

    Found as the shift that best aligns output and input (least squares over a grid of
    0.1 ms), after the first two seconds so the start-up transient does not count.
    """
    t = np.arange(0.0, 12.0, 1.0 / fps)
    clean = amp_leg * leg_px * np.sin(2 * np.pi * freq_hz * t)
    x = clean + np.random.default_rng(seed).normal(0.0, noise_px, t.size) if noise_px else clean
    y = one_euro_filter(np.ascontiguousarray(x), t, leg_px, cfg.one_euro_min_cutoff_hz,
                          cfg.one_euro_beta, cfg.one_euro_d_cutoff_hz, 1.0)
    keep = t > 2.0
    lags = np.arange(0.0, 0.2, 1e-4)
    err = [np.mean((y[keep] - amp_leg * leg_px * np.sin(2 * np.pi * freq_hz * (t[keep] - d)))
                   ** 2) for d in lags]
    return float(lags[int(np.argmin(err))])
