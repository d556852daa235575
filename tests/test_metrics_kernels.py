"""numba kernels against the plain-numpy references in tests/naive.py.

Each reference restates the definition (whole signals, offline); the kernels are the
per-frame state machines that must agree with it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from realtime.config import MetricsConfig
from realtime.metrics import analyze_stream
from realtime.metrics import fuse as U
from realtime.metrics.condition import (
    C_HIST1,
    C_HIST2,
    C_HIST_T1,
    C_HIST_T2,
    new_condition_state,
    one_euro_filter,
    swap_costs,
)
from realtime.metrics.fit import frames_in, line_crossing, local_value, quad_peak
from realtime.metrics.layout import (
    EV_IC,
    MAX_EVENTS,
    N_EV_COLS,
    N_RING_COLS,
    R_BODY,
    R_FACING,
    R_H,
    R_T,
    R_VALID,
    R_VIS,
    R_XY,
    params,
)
from realtime.metrics.step import N_OUT, O_DROP, O_FLEX_IC, O_KNEE_DRIVE, O_OVERSTRIDE, O_SWAY
from realtime.metrics.step import step_metrics as step_kernel
from realtime.synthetic import synthetic_run
from tests import naive

RNG = np.random.default_rng(7)
CFG = MetricsConfig()


# ----------------------------------------------------------------------------- fits


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
    got = one_euro_filter(x, t, 400.0, 6.0, beta, 3.0, 0.3)
    ref = naive.one_euro_filter(x, t, 400.0, 6.0, beta, 3.0, 0.3)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("n,halfwin", [(3, 1), (5, 2), (9, 2), (21, 3), (2, 2)])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_quad_peak_matches_reference(n: int, halfwin: int, sign: float) -> None:
    for trial in range(20):
        tt = np.sort(RNG.uniform(0, 1, n)) if trial % 2 else np.arange(n) / 30.0
        y = np.cos(6 * (tt - tt.mean())) * sign + RNG.normal(0, 0.05, n)
        if n > 5 and trial % 3 == 0:
            y[RNG.integers(0, n)] = np.nan
        got = quad_peak(tt, y, 0, n - 1, halfwin, sign)
        ref = naive.quad_peak(tt, y, 0, n - 1, halfwin, sign)
        np.testing.assert_allclose(got, ref, rtol=1e-7, atol=1e-9)


def test_quad_peak_refines_subframe_peak_and_handles_all_nan() -> None:
    tt = np.arange(11) / 30.0
    y = 50 - 900 * (tt - 0.1717) ** 2
    v, tp = quad_peak(tt, y, 0, 10, 2, 1.0)
    assert v == pytest.approx(50.0, abs=1e-9) and tp == pytest.approx(0.1717, abs=1e-9)
    assert np.nanmax(y) < 50 - 1e-3  # the best sample alone would be off
    v, tp = quad_peak(np.arange(4.0), np.full(4, np.nan), 0, 3, 1, 1.0)
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
            np.testing.assert_allclose(local_value(tt, y, t, hw),
                                       naive.local_value(tt, y, t, hw), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("n", [2, 3, 6])
def test_line_crossing_matches_reference(n: int) -> None:
    for _ in range(20):
        tt = np.sort(RNG.uniform(0, 1, n))
        y = 0.3 - 2.0 * tt + RNG.normal(0, 0.01, n)
        got = line_crossing(tt, y, 0, n - 1, 0.05)
        np.testing.assert_allclose(got, naive.line_crossing(tt, y, 0.05), rtol=1e-9, atol=1e-12)


def test_frames_in_covers_the_same_time_at_any_rate() -> None:
    assert frames_in(0.07, 1 / 30) == 2 and frames_in(0.07, 1 / 60) == 4
    assert frames_in(0.001, 1 / 30) == 1 and frames_in(0.05, 0.0) == 1


def test_swap_costs_matches_reference() -> None:
    for _ in range(30):
        h2 = RNG.uniform(0, 500, (12, 2))
        h1 = h2 + RNG.normal(0, 5, (12, 2))
        obs = h1 + RNG.normal(0, 5, (12, 2))
        if RNG.random() < 0.5:
            obs[RNG.integers(2, 10)] = np.nan
        cs = new_condition_state()
        cs[C_HIST1:C_HIST1 + 24] = h1.ravel()
        cs[C_HIST2:C_HIST2 + 24] = h2.ravel()
        cs[C_HIST_T2] = 0.0
        cs[C_HIST_T1] = 1.0
        got = swap_costs(obs.ravel().copy(), cs, 2.0)
        np.testing.assert_allclose(got, naive.swap_costs(obs, h1, h2, 1.0), rtol=1e-10)


# ---------------------------------------------------------------------- conditioning


def test_conditioning_gates_and_repairs_leg_swaps() -> None:
    """Definition: a landmark below min_visibility is a gap; a BlazePose leg swap is
    undone, so the ring holds the same legs as the stream without swaps."""
    clean, _ = synthetic_run(10.0, 30.0, noise_px=1.0, seed=5)
    swapped, _ = synthetic_run(10.0, 30.0, noise_px=1.0, seed=5, swap_rate_hz=0.6)
    lm = swapped.landmarks.copy()
    lm[100:110, 27:29, 3] = 0.1  # ankles below min_visibility for a third of a second
    swapped = type(swapped)(swapped.t, lm, swapped.image_size, swapped.view, swapped.fps)
    _, ga_clean = analyze_stream(clean, CFG)
    _, ga = analyze_stream(swapped, CFG)
    assert ga.swaps_repaired > 10
    ring, ring_clean = ga._ring[: len(swapped)], ga_clean._ring[: len(clean)]
    ankles = slice(R_XY + 8, R_XY + 12)
    assert np.isnan(ring[100:110, ankles]).all()
    assert (ring[100:110, R_VIS + 4:R_VIS + 6] == 0).all()
    keep = np.ones(len(clean), bool)
    keep[100:110] = False
    # 0.05 px: the hips are moved to the joint centres by a share of the running leg
    # length, which the ankles' gap above changes in the last digits (a swap moves a
    # point by tens of pixels)
    same = np.isclose(ring[keep, R_XY:R_XY + 20], ring_clean[keep, R_XY:R_XY + 20],
                      atol=0.05).all(axis=1)
    assert same.mean() > 0.98  # a swap's first frame can slip through, never a run


# ------------------------------------------------------------------------- detectors


def _ring_of(stream_t: np.ndarray, ga) -> np.ndarray:
    return ga._ring[: len(stream_t)]


@pytest.mark.parametrize("view", ["side", "rear"])
def test_body_lowest_points_match_reference(view: str) -> None:
    ps, _ = synthetic_run(12.0, 30.0, view=view, noise_px=2.0, dropout_rate=0.02, seed=3)
    _, ga = analyze_stream(ps, CFG)
    ring = _ring_of(ps.t, ga)
    leg_len = ga.leg_length_px
    k = frames_in(CFG.body_halfwin_s, 1 / 30)
    # the hysteresis is in leg lengths of the leg length as it was then; past the first
    # second the running mean has settled: compare there
    ref = naive.body_lowest_points(ring[:, R_T], ring[:, R_BODY], CFG.body_hysteresis * leg_len,
                                   k)
    got = [b for b in ga.body_minima if b > 1.0]
    ref_t = [t for t, _ in ref if t > 1.0]
    assert len(got) > 25
    np.testing.assert_allclose(got, ref_t, atol=1e-9)


def _foot_candidates(ps, cfg: MetricsConfig) -> tuple[list[tuple[str, int, float]], np.ndarray]:
    """Run foot_update frame by frame on the kernel's own conditioned ring, collecting its
    candidates (what fusion receives)."""
    from realtime.metrics.foot import foot_update, new_foot_state

    _, ga = analyze_stream(ps, cfg)  # conditioning: the ring with pixels and validity
    ring = ga._ring.copy()
    ring[:, R_H:R_H + 2] = np.nan
    fs = new_foot_state()
    prm = params(cfg, ps.view == "side", ps.image_size)
    ev = np.zeros((MAX_EVENTS, N_EV_COLS))
    out = []
    for i in range(len(ps)):
        if ring[i, R_VALID] != 1.0:
            continue
        for leg in range(2):
            n_ev = foot_update(fs, leg, ps.t[i], ring, i + 1, prm, ga.leg_length_px, 1 / 30,
                               ev, 0)
            for e in ev[:n_ev]:
                out.append(("IC" if e[0] == EV_IC else "TO", leg, float(e[2])))
    return out, ring


@pytest.mark.parametrize("view", ["side", "rear"])
def test_foot_crossings_match_reference(view: str) -> None:
    """Contact and toe-off candidates are the crossings of the ankle height (as the
    kernel computed it, ring column R_H) timed by the reference's line fits."""
    ps, _ = synthetic_run(12.0, 30.0, view=view, noise_px=2.0, seed=4)
    got, ring = _foot_candidates(ps, CFG)
    k_ic = frames_in(CFG.crossing_halfwin_s, 1 / 30)
    k_to = frames_in(CFG.toe_off_halfwin_s, 1 / 30)
    for leg in range(2):
        ref = naive.crossings(ring[: len(ps), R_T], ring[: len(ps), R_H + leg],
                              CFG.contact_height, CFG.toe_off_height, CFG.swing_height,
                              k_ic, k_to)
        ref_ev = [(kind, tc - CFG.contact_delay_s if kind == "IC" else tc + CFG.toe_off_delay_s)
                  for kind, tc, _ in ref]
        mine = [(kind, t) for kind, g, t in got if g == leg]
        assert len(mine) > 20
        # the kernel drops a contact within two shortest steps of the leg's last one
        assert [k for k, _ in mine] == [k for k, _ in ref_ev][: len(mine)]
        np.testing.assert_allclose([t for _, t in mine], [t for _, t in ref_ev][: len(mine)],
                                   atol=1e-9)


def test_ankle_floor_is_the_mean_of_recent_stance_lows() -> None:
    """Definition: the floor is an average (weights 1/n, then 1/3) of the ankle's lowest
    points of past stances, each the parabola vertex around the lowest sample."""
    from realtime.metrics.foot import F_FLOOR, foot_update, new_foot_state

    ps, _ = synthetic_run(8.0, 30.0, view="rear", noise_px=1.0, seed=2)
    _, ga = analyze_stream(ps, CFG)
    ring = ga._ring.copy()
    prm = params(CFG, False, ps.image_size)
    fs = new_foot_state()
    ev = np.zeros((MAX_EVENTS, N_EV_COLS))
    floors = []
    for i in range(len(ps)):
        foot_update(fs, 0, ps.t[i], ring, i + 1, prm, ga.leg_length_px, 1 / 30, ev, 0)
        floors.append(fs[0, F_FLOOR])
    y = ring[: len(ps), R_XY + 9]  # left ankle y
    k = frames_in(CFG.peak_halfwin_s, 1 / 30)
    lows = naive.turning_points(y, CFG.swing_height * ga.leg_length_px)
    expect = math.nan
    n = 0
    for i, kind, at in lows:
        if kind != "low":  # the ankle's lowest points (largest image y)
            continue
        v = naive.quad_peak(ps.t, y, max(i - k, 0), i + k, k, 1.0)[0]
        n += 1
        expect = v if n == 1 else expect + max(1 / n, 1 / 3) * (v - expect)
        assert floors[at] == pytest.approx(expect, abs=1e-9)
    assert n > 8


def test_swing_peaks_match_reference() -> None:
    ps, _ = synthetic_run(12.0, 30.0, noise_px=1.0, seed=6, knee_drive_deg=lambda t: 45 + t)
    _, ga = analyze_stream(ps, CFG)
    ring = ga._ring[: len(ps)]
    k = frames_in(CFG.peak_halfwin_s, 1 / 30)
    facing = float(ring[-1, R_FACING])
    for leg in range(2):
        hip = ring[:, R_XY + 2 * leg:R_XY + 2 * leg + 2]
        knee = ring[:, R_XY + 4 + 2 * leg:R_XY + 6 + 2 * leg]
        theta = naive.thigh_flexion_deg(hip, knee, facing)
        ref = naive.swing_peaks(ps.t, theta, CFG.knee_peak_hysteresis_deg, k,
                                2 * CFG.min_step_s)
        got = [(s.t_peak_s, s.knee_drive_deg) for s in ga.swings if s.leg == "LR"[leg]]
        late = [x for x in got if x[0] > 2.0]  # past the running means' start-up
        ref_late = [x for x in ref if x[0] > 2.0]
        assert len(late) > 10
        np.testing.assert_allclose(late, ref_late, atol=1e-6)


# --------------------------------------------------------------------------- fusion


def test_delay_stats_match_reference() -> None:
    us, _ = U.new_fuse_state()
    delays: list[float] = []
    for _ in range(13):
        d = float(RNG.normal(0.12, 0.01))
        k = int(us[0, U.U_N]) % U.DELAY_STRIDES
        us[0, U.U_D + k] = d
        us[0, U.U_N] += 1
        delays.append(d)
        np.testing.assert_allclose(U.delay_stats(us, 0), naive.delay_stats(delays), atol=1e-12)


def test_stance_parity_matches_reference() -> None:
    _, gs = U.new_fuse_state()
    readings = [int(x) for x in RNG.choice([-1, 0, 1], size=40, p=[0.3, 0.35, 0.35])]
    for k, r in enumerate(readings):
        assert U._stance_by_parity(gs, r) == naive.parity_leg(readings, k)


def _fusion(direct: list[tuple[int, float]], minima: list[tuple[float, int]],
            cfg: MetricsConfig) -> list[tuple[int, float, float]]:
    """Feed time-ordered candidates through the fusion kernel."""
    us, gs = U.new_fuse_state()
    prm = params(cfg, True, (720, 1280))
    ev = np.zeros((MAX_EVENTS, N_EV_COLS))
    items = sorted([(t, 0, leg) for leg, t in direct] + [(t, 1, r) for t, r in minima])
    out = []
    for t, kind, x in items:
        if kind == 0:
            n = U.fuse_contact(us, gs, x, t, 0.9, t + 0.03, prm, ev, 0)
        else:
            n = U.fuse_body(us, gs, t, 0.9, x, prm, ev, 0)
        out += [(int(e[1]), float(e[2]), float(e[4])) for e in ev[:n]]
    return out


def test_fusion_reports_plausible_foot_timing_and_times_hidden_feet_from_the_body() -> None:
    """The four rules of fuse.py on a constructed sequence: leg 0's foot timing agrees
    with the body's rhythm (delay 0.11 s); leg 1's lands a jittery 0-0.09 s late, so
    it is judged hidden and timed from the body with leg 0's delay."""
    step = 0.35
    direct, minima, truth = [], [], []
    for k in range(24):
        leg = k % 2
        t_ic = 1.0 + k * step + float(RNG.normal(0, 0.003))
        truth.append((leg, t_ic))
        late = 0.0 if leg == 0 else float(RNG.uniform(0.0, 0.09))
        direct.append((leg, t_ic + late))
        minima.append((t_ic + 0.11, leg))
    got = _fusion(direct, minima, CFG)
    assert [g for g, _, _ in got] == [g for g, _ in truth]
    tail = got[10:]
    for (leg, t, src), (_, t_true) in zip(tail, truth[10:], strict=True):
        if leg == 0:
            assert src == U.SRC_FOOT and t == pytest.approx(t_true + 0.0, abs=1e-9)
        else:
            # timed from the body: lowest point minus leg 0's median delay
            assert src == U.SRC_BODY and abs(t - t_true) < 0.012


def test_fusion_keeps_the_legs_through_a_missed_lowest_point_and_wrong_readings() -> None:
    step = 0.35
    direct, minima = [], []
    for k in range(30):
        leg = k % 2
        t_ic = 1.0 + k * step
        direct.append((leg, t_ic))
        if k == 12:
            continue  # the body detector missed this stance
        reading = leg if k not in (5, 17, 18) else 1 - leg  # three wrong readings
        minima.append((t_ic + 0.11, reading))
    got = _fusion(direct, minima, CFG)
    legs = {round(t, 6): g for g, t, _ in got}
    assert sum(1 for leg, t in direct if legs.get(round(t, 6)) == leg) >= 27


# ------------------------------------------------------------------------ step metrics


def _ring_from(points: np.ndarray, t: np.ndarray) -> np.ndarray:
    ring = np.full((64, N_RING_COLS), np.nan)
    for i in range(t.size):
        ring[i, R_T] = t[i]
        ring[i, R_XY:R_XY + 24] = points[i].ravel()
        ring[i, R_VIS:R_VIS + 12] = 0.9
        ring[i, R_VALID] = 1.0
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
    out = np.empty(N_OUT)
    step_kernel(ring, n_frames, t_a, t_b, math.nan, math.nan, leg_a, facing, True, 150.0,
                400.0, 0.07, 0.07, 0.1, out)
    inside = (t >= t_a) & (t < t_b)
    lo, hi = int(np.argmax(inside)), int(np.flatnonzero(inside)[-1])
    hw = 2
    thigh = naive.thigh_flexion_deg(pts[:, 1], pts[:, 3], facing)
    assert out[O_KNEE_DRIVE] == pytest.approx(naive.quad_peak(t, thigh, lo, hi, hw, 1.0)[0],
                                              nan_ok=True)
    flex = naive.knee_flexion_deg(pts[:, 0], pts[:, 2], pts[:, 4])
    assert out[O_FLEX_IC] == pytest.approx(naive.local_value(t, flex, t_a, hw), nan_ok=True)
    mid = (pts[:, 0] + pts[:, 1]) / 2
    # the ankle at the contact from the short fit, the mid-hip from the longer one (3 frames)
    over = facing * (naive.local_value(t, pts[:, 4, 0], t_a, hw)
                     - naive.local_value(t, mid[:, 0], t_a, 3)) / 400.0 * 100
    assert out[O_OVERSTRIDE] == pytest.approx(over, nan_ok=True)
    assert math.isnan(out[O_SWAY]) and math.isnan(out[O_DROP])  # rear-only metrics


def test_step_metrics_rear_matches_reference() -> None:
    n = 24
    t = np.arange(n) / 30.0
    pts = RNG.uniform(100, 600, (n, 12, 2))
    pts[:, 1, 0] = pts[:, 0, 0] + 80  # right hip to the right of the left hip
    ring = _ring_from(pts, t)
    t_s0, t_a, t_b, to_a = 0.01, 0.36, 0.70, 0.52
    out = np.empty(N_OUT)
    step_kernel(ring, n, t_a, t_b, t_s0, to_a, 1, 0.0, False, 150.0, 400.0, 0.07, 0.07, 0.1,
                out)
    hw = 2
    drop = naive.pelvic_drop_deg(pts[:, 1], pts[:, 0])  # stance R, swing L
    lo = int(np.searchsorted(t, t_a))
    shi = int(np.searchsorted(t, to_a, side="right")) - 1
    assert out[O_DROP] == pytest.approx(naive.quad_peak(t, drop, lo, shi, hw, 1.0)[0])
    mid = (pts[:, 0, 0] + pts[:, 1, 0]) / 2
    sel = (t >= t_s0) & (t < t_b)
    res = mid - np.polyval(np.polyfit(t[sel] - t_s0, mid[sel], 1), t - t_s0)
    slo, hi = int(np.argmax(sel)), int(np.flatnonzero(sel)[-1])
    ptp = (naive.quad_peak(t, res, slo, hi, hw, 1.0)[0]
           - naive.quad_peak(t, res, slo, hi, hw, -1.0)[0])
    assert out[O_SWAY] == pytest.approx(ptp / 400.0 * 100)
    assert math.isnan(out[O_KNEE_DRIVE]) and math.isnan(out[O_FLEX_IC])  # side-only


# ---------------------------------------------------------------------------- drag


def test_belt_velocity_matches_reference() -> None:
    from realtime.metrics.drag import DRAG_HIST, belt_velocity

    for facing in (-1.0, 1.0):
        for m in (10, 40, 200):
            v = RNG.normal(0, 300, (m, 2))
            v[RNG.random(m) < 0.1] = np.nan
            dh = np.full((DRAG_HIST, 2), np.nan)
            for i in range(m):
                dh[i % DRAG_HIST] = v[i]
            got = belt_velocity(dh, m, facing)
            want = naive.belt_velocity(dh[: min(m, DRAG_HIST)], facing)
            np.testing.assert_allclose(got, want, equal_nan=True)


def test_drag_contacts_match_reference() -> None:
    """A foot swinging forward, slowing onto the belt and dragged by it, in noise: the
    kernel's contacts are the reference's (the same samples, the same belt)."""
    from realtime.metrics.drag import D_BX, D_BY, DRAG_HIST, new_drag_state
    from realtime.metrics.drag import drag_update as kernel
    from realtime.metrics.layout import N_EV_COLS, R_DRAG, params

    cfg = CFG
    prm = params(cfg, True, (720, 1280))
    fps, belt = 30.0, 900.0
    t = np.arange(int(8 * fps)) / fps
    phase = (t / 0.7) % 1.0  # a stride: on the belt 35 %, then a swing
    vx = np.where(phase < 0.35, belt, belt - 2.8 * belt * np.sin(np.pi * (phase - 0.35) / 0.65))
    vx = vx + RNG.normal(0, 40, t.size)
    vy = RNG.normal(0, 40, t.size)
    ds, dh = new_drag_state()
    ring = np.full((t.size, 60), np.nan)
    ev = np.zeros((4, N_EV_COLS))
    got: list[float] = []
    mids = 0.5 * (t[1:] + t[:-1])
    for k in range(1, t.size):
        n = kernel(ds, dh, 0, mids[k - 1], vx[k], vy[k], 1.0, -1.0, 300.0, prm, ring, k, ev, 0)
        got += [float(ev[i, 2]) for i in range(n)]
    # the reference: each sample's distance from the belt of the samples so far (the
    # last DRAG_HIST), then the drag rule on the whole signal
    v = np.stack([vx[1:], vy[1:]], axis=1)
    d = np.full(len(v), np.nan)
    for k in range(len(v)):
        bx, by = naive.belt_velocity(v[max(0, k - DRAG_HIST + 1): k + 1], -1.0)
        if np.hypot(bx, by) >= cfg.drag_min_belt * 300.0:
            d[k] = np.hypot(v[k, 0] - bx, v[k, 1] - by) / np.hypot(bx, by)
    np.testing.assert_allclose(d, ring[1:, R_DRAG], equal_nan=True)
    assert np.isfinite(ds[0, D_BX]) and np.isfinite(ds[0, D_BY])
    want = naive.drag_contacts(mids, d, cfg.drag_ic_level, cfg.drag_air_level,
                               cfg.drag_confirm_level, cfg.drag_ic_delay_s,
                               2 * cfg.min_step_s)
    late = [x for x in got if x > 2.0]
    assert len(late) >= 7
    np.testing.assert_allclose(late, [x for x in want if x > 2.0], atol=1e-9)
    assert np.isfinite(ring[1:, R_DRAG]).sum() > 100
    del fps
