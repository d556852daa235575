"""numba kernels against the plain-numpy references in tests/naive.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from realtime.metrics import kernels as K
from tests import naive

RNG = np.random.default_rng(7)


def _signal(n: int, gaps: bool) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n) / 30.0
    x = 120 * np.sin(2 * np.pi * 1.4 * t) + RNG.normal(0, 2, n)
    if gaps:
        x[5:8] = np.nan  # short gap
        x[40:60] = np.nan  # longer than max_gap: restart
    return t, x


@pytest.mark.parametrize("gaps", [False, True])
@pytest.mark.parametrize("beta", [0.0, 0.5, 3.0])
def test_one_euro_matches_reference(gaps: bool, beta: float) -> None:
    t, x = _signal(120, gaps)
    got = K.one_euro_filter(x, t, 400.0, 6.0, beta, 3.0, 0.3)
    ref = naive.one_euro_filter(x, t, 400.0, 6.0, beta, 3.0, 0.3)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-9)


def test_one_euro_smooths_noise() -> None:
    t = np.arange(300) / 30.0
    x = RNG.normal(0, 2, t.size)
    y = K.one_euro_filter(x, t, 400.0, 6.0, 0.5, 3.0, 0.3)
    assert np.std(y[30:]) < 0.8 * np.std(x[30:])


@pytest.mark.parametrize("n,halfwin", [(3, 1), (5, 2), (9, 2), (21, 3), (2, 2)])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_quad_peak_matches_reference(n: int, halfwin: int, sign: float) -> None:
    for trial in range(20):
        tt = np.sort(RNG.uniform(0, 1, n)) if trial % 2 else np.arange(n) / 30.0
        y = np.cos(6 * (tt - tt.mean())) * sign + RNG.normal(0, 0.05, n)
        if n > 5 and trial % 3 == 0:
            y[RNG.integers(0, n)] = np.nan
        lo, hi = 0, n - 1
        got = K.quad_peak(tt, y, lo, hi, halfwin, sign)
        ref = naive.quad_peak(tt, y, lo, hi, halfwin, sign)
        np.testing.assert_allclose(got, ref, rtol=1e-7, atol=1e-9)


def test_quad_peak_refines_subframe_peak() -> None:
    tt = np.arange(11) / 30.0
    t_pk = 0.1717
    y = 50 - 900 * (tt - t_pk) ** 2
    v, tp = K.quad_peak(tt, y, 0, 10, 2, 1.0)
    assert v == pytest.approx(50.0, abs=1e-9)
    assert tp == pytest.approx(t_pk, abs=1e-9)
    # the best sample alone would be off by about a frame's worth of curvature
    assert np.nanmax(y) < 50 - 1e-3


def test_quad_peak_all_nan() -> None:
    v, tp = K.quad_peak(np.arange(4.0), np.full(4, np.nan), 0, 3, 1, 1.0)
    assert math.isnan(v) and math.isnan(tp)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 8, 30])
def test_local_value_matches_reference(n: int) -> None:
    for _ in range(20):
        tt = np.arange(n) / 30.0
        y = 3 + 10 * tt - 40 * tt**2 + RNG.normal(0, 0.1, n)
        if n > 4:
            y[RNG.integers(0, n)] = np.nan
        t = RNG.uniform(tt[0], tt[-1]) if n > 1 else 0.0
        for hw in (1, 2, 3):
            got = K.local_value(tt, y, t, hw)
            ref = naive.local_value(tt, y, t, hw)
            np.testing.assert_allclose(got, ref, rtol=1e-7, atol=1e-9)


def test_swap_costs_matches_reference() -> None:
    for _ in range(30):
        h2 = RNG.uniform(0, 500, (12, 2))
        h1 = h2 + RNG.normal(0, 5, (12, 2))
        obs = h1 + RNG.normal(0, 5, (12, 2))
        if RNG.random() < 0.5:
            obs[RNG.integers(2, 10)] = np.nan
        st = K.new_state()
        st[K.S_HIST1:K.S_HIST1 + 24] = h1.ravel()
        st[K.S_HIST2:K.S_HIST2 + 24] = h2.ravel()
        st[K.S_HIST_T2] = 0.0
        st[K.S_HIST_T1] = 1.0
        got = K.swap_costs(obs.ravel().copy(), st, 2.0)
        ref = naive.swap_costs(obs, h1, h2, 1.0)
        np.testing.assert_allclose(got, ref, rtol=1e-10)


def _ring_from(points: np.ndarray, t: np.ndarray) -> np.ndarray:
    ring = np.full((64, K.N_RING_COLS), np.nan)
    for i in range(t.size):
        ring[i, K.R_T] = t[i]
        ring[i, K.R_XY:K.R_XY + 24] = points[i].ravel()
        ring[i, K.R_CONF] = 0.9
        ring[i, K.R_VALID] = 1.0
    return ring


@pytest.mark.parametrize("gap", [False, True])
@pytest.mark.parametrize("n_frames", [6, 14])  # a very short stride and a normal one
def test_step_metrics_side_matches_reference(gap: bool, n_frames: int) -> None:
    t = np.arange(n_frames) / 30.0
    pts = RNG.uniform(100, 600, (n_frames, 12, 2))
    pts[:, 2:4, 1] = pts[:, 0:2, 1] + 150  # knees below hips
    if gap:
        pts[3] = np.nan
    ring = _ring_from(pts, t)
    t_a, t_b, facing, leg_a = 0.021, t[-1] - 0.011, -1.0, 0
    out = np.empty(10)
    K.step_metrics(ring, n_frames, 64, t_a, t_b, math.nan, math.nan, leg_a, facing, True,
                   150.0, 400.0, 0.07, 0.07, out)
    inside = (t >= t_a) & (t < t_b)
    lo, hi = int(np.argmax(inside)), int(np.flatnonzero(inside)[-1])
    hw = max(1, round(0.07 / (1 / 30.0)))
    thigh = naive.thigh_flexion_deg(pts[:, 1], pts[:, 3], facing)
    assert out[0] == pytest.approx(naive.quad_peak(t, thigh, lo, hi, hw, 1.0)[0], nan_ok=True)
    flex = naive.knee_flexion_deg(pts[:, 0], pts[:, 2], pts[:, 4])
    assert out[2] == pytest.approx(naive.local_value(t, flex, t_a, hw), nan_ok=True)
    mid = (pts[:, 0] + pts[:, 1]) / 2
    over = facing * (pts[:, 4, 0] - mid[:, 0]) / 400.0 * 100
    assert out[3] == pytest.approx(naive.local_value(t, over, t_a, hw), nan_ok=True)
    assert math.isnan(out[6]) and math.isnan(out[7])  # rear-only metrics


def test_step_metrics_rear_matches_reference() -> None:
    n = 24
    t = np.arange(n) / 30.0
    pts = RNG.uniform(100, 600, (n, 12, 2))
    pts[:, 1, 0] = pts[:, 0, 0] + 80  # right hip to the right of the left hip
    ring = _ring_from(pts, t)
    t_s0, t_a, t_b, to_a = 0.01, 0.36, 0.70, 0.52
    out = np.empty(10)
    K.step_metrics(ring, n, 64, t_a, t_b, t_s0, to_a, 1, 0.0, False, 150.0, 400.0, 0.07, 0.07,
                   out)
    hw = 2
    drop = naive.pelvic_drop_deg(pts[:, 1], pts[:, 0])  # stance R, swing L
    lo = int(np.searchsorted(t, t_a))
    shi = int(np.searchsorted(t, to_a, side="right")) - 1
    assert out[7] == pytest.approx(naive.quad_peak(t, drop, lo, shi, hw, 1.0)[0])
    mid = (pts[:, 0, 0] + pts[:, 1, 0]) / 2
    sel = (t >= t_s0) & (t < t_b)
    res = mid - np.polyval(np.polyfit(t[sel] - t_s0, mid[sel], 1), t - t_s0)
    slo, hi = int(np.argmax(sel)), int(np.flatnonzero(sel)[-1])
    ptp = naive.quad_peak(t, res, slo, hi, hw, 1.0)[0] - naive.quad_peak(t, res, slo, hi, hw,
                                                                         -1.0)[0]
    assert out[6] == pytest.approx(ptp / 400.0 * 100)
    assert math.isnan(out[0]) and math.isnan(out[2])  # side-only metrics


def _foot_ring(t: np.ndarray, heel: np.ndarray, toe: np.ndarray, leg: int) -> np.ndarray:
    ring = np.full((32, K.N_RING_COLS), np.nan)
    for i in range(t.size):
        r = i % 32
        ring[r, K.R_T] = t[i]
        ring[r, K.R_XY + 2 * (6 + leg) + 1] = heel[i]
        ring[r, K.R_XY + 2 * (8 + leg) + 1] = toe[i]
        ring[r, K.R_SMY + leg] = heel[i]
    return ring


@pytest.mark.parametrize("n", [1, 3, 20, 50])  # 50 wraps the 32-row ring
def test_window_max_matches_reference(n: int) -> None:
    t = np.arange(n) / 30.0
    y = RNG.uniform(900, 1000, n)
    if n > 3:
        y[n - 2] = np.nan
    ring = _foot_ring(t, y, y, 0)
    for window in (0.05, 0.3, 5.0):
        got = K._window_max(ring, (n - 1) % 32, n, K.R_SMY, t[-1] - window)
        ref = naive.window_max(t[-min(n, 32):], y[-min(n, 32):], t[-1], window)
        np.testing.assert_equal(got, ref)


def test_raw_crossing_matches_reference() -> None:
    for leg in (0, 1):
        for _ in range(30):
            n = int(RNG.integers(2, 12))
            t = np.arange(n) / 30.0
            # a foot coming down onto a floor at y = 1000 (image y grows downward)
            heel = 1000 - np.clip(np.linspace(60, -10, n) + RNG.normal(0, 3, n), 0, None)
            toe = heel + RNG.normal(0, 2, n)
            ring = _foot_ring(t, heel, toe, leg)
            got = K._raw_crossing(ring, (n - 1) % 32, n, leg, 1000.0, 1000.0, 400.0, 0.015)
            ref = naive.raw_crossing(t, heel, toe, 1000.0, 1000.0, 400.0, 0.015)
            np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)


def test_frame_conditioning_matches_reference() -> None:
    """Gating, gaps and swap repair of frame_update against the numpy reference, on a
    stream with noise, dropouts, a long gap and leg-swap glitches."""
    from realtime.config import MetricsConfig
    from realtime.metrics import analyze_stream
    from realtime.synthetic import synthetic_run

    ps, _ = synthetic_run(12.0, 30.0, noise_px=2.0, dropout_rate=0.03, gaps=[(5.0, 5.6)],
                          swap_rate_hz=0.6, seed=5)
    lms = ps.landmarks.copy()
    lms[100:110, 27:33, 3] = 0.1  # feet below min_visibility for a third of a second
    ps = type(ps)(ps.t, lms, ps.image_size, ps.view, ps.fps)
    cfg = MetricsConfig()
    _, ga = analyze_stream(ps, cfg)
    got = ga._ring[: len(ps), : K.R_SMY]
    ref = naive.condition_stream(lms, ps.t, *ps.image_size, cfg.min_visibility, cfg.max_gap_s,
                                 cfg.swap_ratio, cfg.max_swap_s)
    assert ga.swaps_repaired > 5
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)


def test_vertical_events_match_reference() -> None:
    """Rear-view contact and toe-off detection of frame_update against the reference,
    on a stream with noise, dropouts and a long gap."""
    from realtime.config import MetricsConfig
    from realtime.metrics import analyze_stream
    from realtime.synthetic import synthetic_run

    ps, _ = synthetic_run(12.0, 30.0, view="rear", noise_px=2.0, dropout_rate=0.03,
                          gaps=[(5.0, 5.6)], seed=6)
    cfg = MetricsConfig()
    _, ga = analyze_stream(ps, cfg)
    ring = ga._ring[: len(ps)]
    ref = naive.vertical_events(ring, cfg.floor_window_s, cfg.contact_detect_height,
                                cfg.contact_height, cfg.toe_off_height, cfg.min_swing_height,
                                cfg.max_gap_s, cfg.scale_tau_s, cfg.rear_leg_ratio,
                                ps.image_size[1], cfg.ic_time_offset_s)
    ref = [(k, g, te) for k, g, te in ref if k != "BREAK"]
    got = [(e.kind, "LR".index(e.leg), e.t_s) for e in ga.events]
    assert len(got) > 40
    assert [(k, g) for k, g, _ in got] == [(k, g) for k, g, _ in ref]
    np.testing.assert_allclose([x[2] for x in got], [x[2] for x in ref], atol=1e-9)


@pytest.mark.parametrize("facing,mirrored", [(-1, 0), (1, 0), (-1, 30), (1, 30)])
def test_side_hybrid_events_match_reference(facing: int, mirrored: int) -> None:
    """Side-view events (height contacts gated by, and filled in from, the ankle's
    fore-aft extremes) against the reference, with a jittery far foot so that both
    the gate and the fill-in are exercised.  `mirrored`: the first frames are mirrored
    left-right, so the facing estimate starts wrong and flips once."""
    from dataclasses import replace

    from realtime.config import MetricsConfig
    from realtime.metrics import analyze_stream
    from realtime.synthetic import synthetic_run

    ps, _ = synthetic_run(20.0, 30.0, noise_px=2.0, facing=facing, dropout_rate=0.02,
                          gaps=[(9.0, 9.5)], seed=7)
    lm = ps.landmarks.copy()
    far = (30, 32) if facing == -1 else (29, 31)
    lm[:, far, 1] += RNG.normal(0.0, 20.0 / ps.image_size[1], (len(ps), 2)).astype(np.float32)
    lm[:mirrored, :, 0] = 1.0 - lm[:mirrored, :, 0]
    ps = replace(ps, landmarks=lm)
    cfg = MetricsConfig()
    _, ga = analyze_stream(ps, cfg)
    ring = ga._ring[: len(ps)]
    fc = ring[:, K.R_FACING]
    fc = fc[(fc == fc) & (fc != 0.0)]
    assert int(np.sum(fc[1:] != fc[:-1])) == (1 if mirrored else 0)
    assert fc[-1] == facing
    ref = naive.side_hybrid_events(
        ring, cfg.floor_window_s, cfg.contact_detect_height, cfg.contact_height,
        cfg.toe_off_height, cfg.min_swing_height, cfg.max_gap_s, cfg.scale_tau_s,
        ps.image_size[1], cfg.horizontal_hysteresis, cfg.contact_gate_frac, cfg.min_step_s,
        cfg.ic_time_offset_s, cfg.hidden_stance_ratio)
    got = [(e.kind, "LR".index(e.leg), e.t_s) for e in ga.events]
    assert len(got) > 60
    # same events, possibly in a different order within one frame
    key = sorted((k, g, round(te, 9)) for k, g, te in got)
    assert key == sorted((k, g, round(te, 9)) for k, g, te in ref)
