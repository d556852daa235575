"""Earcons and the knee-height tone: generated audio and which sound each step gets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from realtime.config import CuesConfig, TonesConfig
from realtime.feedback.tones import TonePlayer, earcon, pitch_hz, pitch_index, tone_loop
from realtime.types import LiveState, PoseSample, Step, Swing

RATE = 22050


def dominant_hz(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spec))])


def test_earcon_length_pitch_and_soft_edges() -> None:
    x = earcon(880.0, 70.0, RATE, 0.5)
    assert x.dtype == np.int16 and len(x) == int(RATE * 0.07)
    assert abs(dominant_hz(x, RATE) - 880.0) < 30.0
    assert abs(int(x[0])) < 200 and abs(int(x[-1])) < 200  # no click at either end
    assert 0.4 * 32767 < np.abs(x).max() <= 0.5 * 32767


@pytest.mark.parametrize("hz", [220.0, 311.1, 440.0, 880.0])
def test_tone_loop_is_seamless(hz: float) -> None:
    x = tone_loop(hz, RATE, 0.5).astype(np.float64)
    assert len(x) >= 0.1 * RATE
    looped = np.concatenate([x, x])
    # the jump across the loop point is no bigger than any step inside the wave
    inner = np.abs(np.diff(x)).max()
    assert abs(looped[len(x)] - looped[len(x) - 1]) <= inner * 1.05
    assert abs(dominant_hz(np.tile(x, 4), RATE) - hz) < hz * 0.03


def test_pitch_follows_knee_height() -> None:
    cfg = TonesConfig(knee_low_pct=-100.0, knee_high_pct=0.0, pitch_steps=13)
    assert pitch_index(-100.0, cfg) == 0
    assert pitch_index(-50.0, cfg) == 6
    assert pitch_index(10.0, cfg) == 12  # clamped
    assert pitch_index(math.nan, cfg) is None
    assert pitch_hz(0, cfg) == pytest.approx(cfg.low_hz)
    assert pitch_hz(12, cfg) == pytest.approx(cfg.high_hz)
    assert pitch_hz(6, cfg) == pytest.approx(math.sqrt(cfg.low_hz * cfg.high_hz))


def test_earcon_mode_marks_good_and_bad_swings_only() -> None:
    player = TonePlayer(TonesConfig(mode="earcon"), CuesConfig(knee_drive_target_deg=55.0))
    for knee in (40.0, 52.0, 60.0, math.nan):
        player.on_swing(Swing("L", 0.0, knee, math.nan, True, 0.1), [])
    player.on_swing(Swing("L", 0.0, 40.0, math.nan, False, 0.1), [])  # not trusted: silent
    player.on_step(Step("L", 0.0, knee_drive_deg=40.0, confidence=0.9), [])  # steps: silent
    assert player.played == ["bad", "good"]
    player.close()


def test_continuous_mode_switches_pitch_and_falls_silent_without_a_runner() -> None:
    player = TonePlayer(TonesConfig(mode="continuous"), CuesConfig())
    sample = PoseSample.no_pose(0, 0, 0, (640, 360))
    player.on_pose(sample, LiveState(0.0, True, knee_height_pct=-100.0))
    low = player.current
    player.on_pose(sample, LiveState(0.1, True, knee_height_pct=-10.0))
    assert low == 0 and player.current is not None and player.current > low
    player.on_pose(sample, LiveState(0.2, False))
    assert player.current is None
    player.close()
