"""Non-verbal feedback: a short earcon per good or bad step, or a continuous tone whose
pitch follows the knee height.

Why: a spoken phrase (~0.8 s) is longer than two steps, whereas a 70 ms earcon can mark
every step; and a tone that rises with the knee lets the runner "hear" the movement
without words (sonification).  Sounds are made with numpy once at start-up; pygame cannot
change a playing sound's pitch, so the continuous mode switches between pre-built loops
that each hold a whole number of cycles (no clicks at the loop point).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from realtime.config import CuesConfig, TonesConfig
from realtime.feedback.cues import knee_zone
from realtime.feedback.speech import init_mixer
from realtime.types import Cue, LiveState, PoseSample, Step, Swing


def earcon(freq_hz: float, dur_ms: float, rate: int, volume: float) -> np.ndarray:
    """A short sine blip with 5 ms raised-cosine edges, int16 mono."""
    n = max(2, int(rate * dur_ms / 1000.0))
    t = np.arange(n) / rate
    wave = np.sin(2 * np.pi * freq_hz * t)
    edge = min(n // 2, max(1, int(rate * 0.005)))
    env = np.ones(n)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, edge))
    env[:edge], env[-edge:] = ramp, ramp[::-1]
    return (wave * env * volume * 32767 * 0.9).astype(np.int16)


def tone_loop(freq_hz: float, rate: int, volume: float, min_s: float = 0.1) -> np.ndarray:
    """A loopable sine: a whole number of cycles lasting at least `min_s`, int16 mono."""
    cycles = max(1, math.ceil(freq_hz * min_s))
    n = round(rate * cycles / freq_hz)
    t = np.arange(n) / n
    return (np.sin(2 * np.pi * cycles * t) * volume * 32767 * 0.9).astype(np.int16)


def pitch_index(knee_height_pct: float, cfg: TonesConfig) -> int | None:
    """Which of the `pitch_steps` tones plays for this knee height (None: silence)."""
    if not math.isfinite(knee_height_pct):
        return None
    span = cfg.knee_high_pct - cfg.knee_low_pct
    frac = 0.0 if span == 0 else (knee_height_pct - cfg.knee_low_pct) / span
    frac = min(1.0, max(0.0, frac))
    return round(frac * (cfg.pitch_steps - 1))


def pitch_hz(index: int, cfg: TonesConfig) -> float:
    """Pitches spaced evenly on a log scale (equal musical steps) from low to high."""
    if cfg.pitch_steps == 1:
        return cfg.low_hz
    return cfg.low_hz * (cfg.high_hz / cfg.low_hz) ** (index / (cfg.pitch_steps - 1))


class TonePlayer:
    """A FeedbackSink for tones; `cues` (the thresholds) may be replaced by the hotkeys."""

    def __init__(self, cfg: TonesConfig, cues: CuesConfig) -> None:
        self.cfg = cfg
        self.cues = cues
        self.muted = False
        self.driver = init_mixer() if cfg.mode != "off" else None
        self.current: int | None = None  # continuous: pitch index playing now
        self.played: list[str] = []  # earcons played ("good"/"bad"), for logs and tests
        if self.driver is None:
            return
        import pygame

        rate, _size, channels = pygame.mixer.get_init()

        def sound(mono: np.ndarray) -> pygame.mixer.Sound:
            arr = np.repeat(mono[:, None], channels, axis=1) if channels > 1 else mono
            return pygame.mixer.Sound(buffer=np.ascontiguousarray(arr).tobytes())

        self._good = sound(earcon(cfg.good_hz, cfg.earcon_ms, rate, cfg.volume))
        self._bad = sound(earcon(cfg.bad_hz, cfg.earcon_ms * 1.6, rate, cfg.volume))
        self._bank = [sound(tone_loop(pitch_hz(i, cfg), rate, cfg.volume))
                      for i in range(cfg.pitch_steps)] if cfg.mode == "continuous" else []
        self._channel = pygame.mixer.Channel(1)  # channel 0 is speech

    def on_pose(self, sample: PoseSample, live: LiveState) -> None:
        if self.cfg.mode != "continuous" or self.driver is None:
            return
        idx = None if (self.muted or not live.has_pose) else \
            pitch_index(live.knee_height_pct, self.cfg)
        if idx == self.current:
            return
        self.current = idx
        if idx is None:
            self._channel.fadeout(30)
        else:
            self._channel.play(self._bank[idx], loops=-1)

    def silence(self) -> None:
        """Stop the continuous tone now (pause, mute): nothing else would stop its loop."""
        if self.driver is not None:
            self._channel.fadeout(30)
        self.current = None

    def on_step(self, step: Step, cues: Sequence[Cue]) -> None:
        pass

    def on_swing(self, swing: Swing, cues: Sequence[Cue]) -> None:
        """Earcon mode: a blip per trusted swing, as soon as its knee drive is final."""
        if self.cfg.mode != "earcon" or self.muted or not swing.reliable:
            return
        z = knee_zone(swing.knee_drive_deg, self.cues)
        if z in ("good", "bad"):
            self.played.append(z)
            if self.driver is not None:
                self._channel.play(self._good if z == "good" else self._bad)

    def close(self) -> None:
        if self.driver is not None:
            self._channel.stop()
