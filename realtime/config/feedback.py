"""What the runner hears and sees: `[cues]` (targets, schedule, phrases), `[speech]`,
`[display]`, `[tones]`."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field

from realtime.config.fields import choice, rng
from realtime.errors import ConfigError

# Cue kinds, highest priority first (the drill's focus, knee drive, leads).  The phrase
# table maps these kinds to what is said; a profile may reword any of them.
CUE_KINDS: tuple[str, ...] = ("knee_drive", "level_hips", "overstride", "cadence", "good_knee")
DEFAULT_PHRASES: dict[str, str] = {
    "knee_drive": "drive the knee",
    "level_hips": "level hips",
    "overstride": "land under you",
    "cadence": "quicker steps",
    "good_knee": "good knee drive",
}


def _phrases() -> typing.Mapping[str, str]:
    return types.MappingProxyType(dict(DEFAULT_PHRASES))


@dataclass(frozen=True, slots=True)
class CuesConfig:
    """Targets and the feedback schedule, set per runner by a therapist's profile."""

    schedule: str = field(
        default="continuous",
        metadata=choice(
            "continuous", "faded", "bandwidth",
            doc="continuous: every confirmed fault; faded: fewer cues over the drill and "
            "across sessions; bandwidth: only faults outside the tolerance band",
        ),
    )
    # Defaults for a runner nobody has calibrated yet, chosen not to nag: the baseline
    # phase replaces them with the runner's own (`[calibration]`).  The motion-capture
    # truth (realtime.validation) has habitual peak thigh flexion of 27-46 deg from 2 to
    # 5 m/s, and the ankle landing 18-46 % of leg length ahead of the hips; the knee-drive
    # default is the low end of that range (the real clip's runner reaches ~22-25 deg).
    knee_drive_target_deg: float = field(
        default=30.0, metadata=rng(0.0, 120.0, "peak thigh flexion the runner should reach")
    )
    knee_drive_band_deg: float = field(
        default=5.0, metadata=rng(0.0, 60.0, "tolerance below the target (amber; bandwidth)")
    )
    hip_sway_limit_pct: float = field(
        default=4.0, metadata=rng(0.0, 50.0, "largest acceptable lateral hip sway")
    )
    hip_sway_band_pct: float = field(default=1.0, metadata=rng(0.0, 50.0))
    pelvic_drop_limit_deg: float = field(
        default=7.0, metadata=rng(0.0, 45.0, "largest acceptable contralateral pelvic drop")
    )
    pelvic_drop_band_deg: float = field(default=1.5, metadata=rng(0.0, 45.0))
    overstride_limit_pct: float = field(
        default=30.0, metadata=rng(0.0, 100.0, "largest acceptable foot-ahead-of-hip at IC")
    )
    overstride_band_pct: float = field(default=5.0, metadata=rng(0.0, 100.0))
    cadence_target_spm: float = field(
        default=165.0, metadata=rng(60.0, 260.0, "lowest acceptable cadence")
    )
    cadence_band_spm: float = field(default=5.0, metadata=rng(0.0, 100.0))
    window_steps: int = field(
        default=4, metadata=rng(1, 20, "hysteresis: look at the last M reliable steps")
    )
    trigger_steps: int = field(
        default=3, metadata=rng(1, 20, "hysteresis: N of those M must agree before a cue")
    )
    min_confidence: float = field(
        default=0.5, metadata=rng(0.0, 1.0, "steps below this are ignored (no wrong cue)")
    )
    cooldown_s: float = field(
        default=8.0, metadata=rng(0.0, 600.0, "the same corrective cue is not repeated sooner")
    )
    positive_cooldown_s: float = field(
        default=15.0, metadata=rng(0.0, 600.0, "the same praise is not repeated sooner")
    )
    min_gap_s: float = field(
        default=2.5,
        metadata=rng(0.0, 60.0, "global spoken-cue rate limit (a phrase lasts ~0.8 s)"),
    )
    reset_after_s: float = field(
        default=2.0, metadata=rng(0.1, 600.0, "a gap between steps this long clears the history")
    )
    positive: bool = field(default=True, metadata={"doc": "praise when the target is met"})
    fade_per_session: float = field(
        default=0.15, metadata=rng(0.0, 1.0, "faded: share of cues withheld per session")
    )
    fade_per_min: float = field(
        default=0.05, metadata=rng(0.0, 1.0, "faded: share of cues withheld per drill minute")
    )
    fade_min_keep: float = field(
        default=0.2, metadata=rng(0.0, 1.0, "faded: never keep fewer than this share")
    )
    session_index: int = field(
        default=0, metadata=rng(0, 1000, "faded: 0 for the first retraining session; with "
                                "--runner it is counted from the session store")
    )
    phrases: typing.Mapping[str, str] = field(
        default_factory=_phrases,
        metadata={"doc": "cue kind -> text spoken and shown; a missing kind keeps its default"},
    )

    def phrase(self, kind: str) -> str:
        return self.phrases.get(kind) or DEFAULT_PHRASES[kind]

    def validate(self) -> None:
        if self.trigger_steps > self.window_steps:
            raise ConfigError(
                f"cues.trigger_steps = {self.trigger_steps} must be <= "
                f"cues.window_steps = {self.window_steps}"
            )
        for kind, text in self.phrases.items():
            if kind not in CUE_KINDS:
                raise ConfigError(
                    f"unknown cue kind cues.phrases.{kind} = {text!r} "
                    f"(known: {', '.join(CUE_KINDS)})"
                )
            if not text.strip():
                raise ConfigError(f"cues.phrases.{kind} = {text!r}: must not be empty")


@dataclass(frozen=True, slots=True)
class SpeechConfig:
    mode: str = field(
        default="prerender",
        metadata=choice(
            "prerender", "live", "off",
            doc="prerender: phrases synthesised once to WAV and played by pygame.mixer "
            "(measured faster); live: pyttsx3 says each cue; off: log only",
        ),
    )
    voice: str = field(default="", metadata={"doc": "pyttsx3 voice id; empty = default"})
    rate_wpm: int = field(
        default=190, metadata=rng(80, 400, "speaking rate, words/min (190: every default "
                                  "phrase lasts <= 0.8 s, bench/bench_voice.py)")
    )
    volume: float = field(default=1.0, metadata=rng(0.0, 1.0))
    stop_timeout_s: float = field(default=2.0, metadata=rng(0.1, 30.0))
    stale_s: float = field(
        default=1.5, metadata=rng(0.1, 30.0, "a queued cue older than this is dropped")
    )


@dataclass(frozen=True, slots=True)
class DisplayConfig:
    width: int = field(default=1280, metadata=rng(320, 7680, "initial window width, px"))
    height: int = field(default=720, metadata=rng(240, 4320, "initial window height, px"))
    fullscreen: bool = False
    history_steps: int = field(default=30, metadata=rng(5, 200, "steps per leg in the strip"))
    cue_show_s: float = field(default=3.0, metadata=rng(
        0.2, 60.0, "cue text stays this long, or until its metric reads good"))
    knee_step_deg: float = field(
        default=2.0, metadata=rng(0.1, 20.0, "hotkey up/down changes the knee target by this")
    )
    sway_step_pct: float = field(
        default=0.5, metadata=rng(0.05, 10.0, "hotkey left/right changes the sway limit")
    )
    summary_s: float = field(
        default=20.0,
        metadata=rng(0.0, 3600.0, "the end-of-session summary stays this long (any key "
                     "closes it; 0: none)"),
    )
    second_view: str = field(
        default="auto",
        metadata=choice("auto", "beside", "inset",
                        doc="two cameras: the rear picture beside the side one, or inset in "
                            "its top corner; auto puts it beside unless that shrinks the "
                            "side picture below 70 % of its full size"),
    )


@dataclass(frozen=True, slots=True)
class TonesConfig:
    mode: str = field(
        default="off",
        metadata=choice(
            "off", "earcon", "continuous",
            doc="earcon: a short blip per good or bad step; continuous: pitch follows knee",
        ),
    )
    volume: float = field(default=0.5, metadata=rng(0.0, 1.0))
    good_hz: float = field(default=880.0, metadata=rng(100.0, 5000.0))
    bad_hz: float = field(default=220.0, metadata=rng(50.0, 5000.0))
    earcon_ms: float = field(default=70.0, metadata=rng(10.0, 500.0))
    low_hz: float = field(default=220.0, metadata=rng(50.0, 5000.0, "continuous: knee low"))
    high_hz: float = field(default=880.0, metadata=rng(50.0, 5000.0, "continuous: knee high"))
    knee_low_pct: float = field(
        default=-100.0, metadata=rng(-300.0, 300.0, "knee height mapped to low_hz")
    )
    knee_high_pct: float = field(
        default=0.0, metadata=rng(-300.0, 300.0, "knee height mapped to high_hz")
    )
    pitch_steps: int = field(default=13, metadata=rng(2, 64, "distinct pitches"))
