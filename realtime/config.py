"""TOML config -> validated, frozen dataclasses.

Layers, later wins: the dataclass defaults (mirrored by `config/default.toml`, a test
keeps them equal), the data folder's `config.toml` (this station's own settings: the
clinic database, its name), a profile (a runner's thresholds and plan, set by their therapist:
`profiles/NAME.toml` in the user's data folder, see realtime.store.home, or one of the
examples shipped in `config/profiles/`), an explicit `--config FILE`, then
`--set section.key=value` overrides.
Layers are deep-merged into fresh dicts, so no default is ever mutated.  Every unknown
key and every out-of-range value is a `ConfigError` naming the key and the value.

Each component receives only its own section; numba kernels receive plain numbers.
"""

from __future__ import annotations

import collections.abc
import copy
import dataclasses
import json
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realtime.errors import ConfigError

# `config/` of the checkout, shipped inside the package (realtime/defaults links to it, and
# a wheel holds copies), so an installed program finds its defaults and example profiles.
CONFIG_DIR = Path(__file__).resolve().parent / "defaults"


def _rng(lo: float | None = None, hi: float | None = None, doc: str = "") -> dict[str, Any]:
    return {"min": lo, "max": hi, "doc": doc}


def _choice(*choices: str, doc: str = "") -> dict[str, Any]:
    return {"choices": choices, "doc": doc}


@dataclass(frozen=True, slots=True)
class CaptureConfig:
    camera_index: int = field(default=0, metadata=_rng(0, 63, "cv2.VideoCapture index"))
    width: int = field(default=1280, metadata=_rng(160, 3840, "requested camera width, px"))
    height: int = field(default=720, metadata=_rng(120, 2160, "requested camera height, px"))
    fps: float = field(default=30.0, metadata=_rng(5.0, 240.0, "requested camera frame rate"))
    read_timeout_s: float = field(
        default=2.0, metadata=_rng(0.1, 60.0, "the worker waits this long for a frame before "
                                   "it checks on the camera")
    )
    lost_after_s: float = field(
        default=1.0, metadata=_rng(0.05, 60.0, "no good frame for this long: the camera is "
                                   "lost, closed and reopened")
    )
    frozen_after_s: float = field(
        default=2.0, metadata=_rng(0.1, 600.0, "the very same picture for this long (a "
                                   "driver repeating its last frame): the camera is lost")
    )
    reconnect_for_s: float = field(
        default=120.0, metadata=_rng(0.0, 86_400.0, "a lost camera is reopened (back-off "
                                     "0.25 s doubling to 1 s) for this long before the "
                                     "session ends; 0: end at once")
    )
    replay_queue: int = field(default=16, metadata=_rng(1, 1024, "file replay look-ahead"))
    behind_share: float = field(
        default=0.2,
        metadata=_rng(0.01, 1.0, "live: when more than this share of the camera's frames "
                      "were dropped over the last 2 s, the screen says processing is falling "
                      "behind (against force, every metric meets its target with up to 20 % "
                      "of frames dropped; at 34 % knee flexion at contact and overstride do "
                      "not: python -m realtime.validation --fps 30 --noise 2 --keep 0.8 "
                      "0.66)"),
    )


@dataclass(frozen=True, slots=True)
class PoseConfig:
    model_complexity: int = field(
        default=1, metadata=_rng(0, 2, "0 lite, 1 full (bundled, offline), 2 heavy")
    )
    min_detection_confidence: float = field(default=0.5, metadata=_rng(0.0, 1.0))
    min_tracking_confidence: float = field(default=0.5, metadata=_rng(0.0, 1.0))
    smooth_landmarks: bool = field(
        default=False,
        metadata={"doc": "MediaPipe's own smoothing; off because it lags and flattens peaks"},
    )


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """Every threshold of the metrics stage, with its unit and why (metrics/README.md).

    Lengths are in leg lengths (the mean image hip-to-ankle distance), so nothing depends
    on the image size or the camera distance.  The two delays marked *calibrated* are
    fitted against force plates by `python -m realtime.validation --calibrate`.
    """

    # ---- conditioning
    min_visibility: float = field(
        default=0.3, metadata=_rng(0.0, 1.0, "landmarks below this visibility are gaps")
    )
    max_gap_s: float = field(
        default=0.2, metadata=_rng(0.0, 2.0, "gaps longer than this break the step chain, s")
    )
    swap_ratio: float = field(
        default=0.6,
        metadata=_rng(0.0, 1.0, "legs count as L/R-swapped when the swapped labelling fits "
                      "the tracks' predictions better than this fraction of the labelled one"),
    )
    max_swap_s: float = field(
        default=1.0,
        metadata=_rng(0.0, 10.0, "after disagreeing this long (s), trust the model's L/R "
                      "labels again"),
    )
    scale_tau_s: float = field(
        default=4.0,
        metadata=_rng(0.1, 600.0, "time constant of the mean thigh and leg lengths in "
                      "the image (the unit of % metrics), s"),
    )
    rear_leg_ratio: float = field(
        default=0.91,
        metadata=_rng(0.5, 1.0, "rear view: mean image hip-to-ankle length over the "
                      "true mean leg length (the image loses the fore-aft part; 0.85-0.96 "
                      "in the motion-capture trials)"),
    )
    facing_tau_s: float = field(
        default=1.0, metadata=_rng(0.05, 30.0, "time constant of the facing evidence, s")
    )
    body_tau_s: float = field(
        default=1.5,
        metadata=_rng(0.1, 60.0, "time constant of each point's running mean the body's "
                      "bounce is measured from (about two strides), s"),
    )
    one_euro_min_cutoff_hz: float = field(
        default=6.0, metadata=_rng(0.01, 100.0, "display smoothing (One Euro) cutoff at "
                                   "rest, Hz; never used for metric values")
    )
    one_euro_beta: float = field(
        default=0.5, metadata=_rng(0.0, 100.0, "display smoothing speed coefficient, per "
                                   "leg length per second")
    )
    one_euro_d_cutoff_hz: float = field(
        default=3.0, metadata=_rng(0.01, 100.0, "display smoothing derivative cutoff, Hz")
    )
    # ---- steps
    min_step_s: float = field(
        default=0.2, metadata=_rng(0.05, 2.0, "shortest plausible running step, s "
                                   "(300 steps/min)")
    )
    max_step_s: float = field(
        default=0.6, metadata=_rng(0.1, 5.0, "longest plausible running step, s "
                                   "(100 steps/min); a longer one breaks the chain")
    )
    # ---- foot detector (foot.py): contact and toe-off from the ankle's height
    floor_window_s: float = field(
        default=1.5,
        metadata=_rng(0.2, 10.0, "until a stance has been seen, the ankle's floor is its "
                      "lowest point over this window, s"),
    )
    floor_min_span_s: float = field(
        default=0.45,
        metadata=_rng(0.05, 10.0, "no floor (no events) until this much of the stream is "
                      "in, s (more than a step, so that a stance is included)"),
    )
    floor_tau_stances: float = field(
        default=3.0,
        metadata=_rng(1.0, 100.0, "the ankle's floor is a running mean of its lowest points "
                      "over about this many stances (follows a drifting camera or belt)"),
    )
    contact_height: float = field(
        default=0.02,
        metadata=_rng(0.001, 0.5, "a contact is the ankle coming down through this height "
                      "above its floor, leg lengths"),
    )
    contact_delay_s: float = field(
        default=0.0218,
        metadata=_rng(-0.2, 0.2, "calibrated: the ankle crosses contact_height this long "
                      "after the force onset (it sinks while the foot rolls flat), s"),
    )
    toe_off_height: float = field(
        default=0.1,
        metadata=_rng(0.001, 0.5, "a stance ends when the ankle rises through this height, "
                      "leg lengths"),
    )
    toe_off_delay_s: float = field(
        default=0.0325,
        metadata=_rng(-0.2, 0.2, "calibrated: force ends this long after the ankle rises "
                      "through toe_off_height (the heel lifts before the toes leave), s"),
    )
    swing_height: float = field(
        default=0.06,
        metadata=_rng(0.0, 1.0, "a swing must lift the ankle this high (leg lengths) before "
                      "the next contact counts (noise at the floor is not a step)"),
    )
    crossing_halfwin_s: float = field(
        default=0.02,
        metadata=_rng(0.0, 0.5, "a contact's height crossing is timed by a line through the "
                      "samples within this of it, s (below a frame: the two samples that "
                      "straddle it; the landing curves too fast for a longer line at 30 fps)"),
    )
    toe_off_halfwin_s: float = field(
        default=0.05,
        metadata=_rng(0.0, 0.5, "a toe-off's height crossing is timed by a line through the "
                      "samples within this of it, s (the ankle rises steadily: a longer "
                      "line averages the noise)"),
    )
    # ---- body detector (body.py) and fusion (fuse.py): the hidden foot
    body_hysteresis: float = field(
        default=0.02,
        metadata=_rng(0.0, 0.5, "the body's lowest point is confirmed once it has risen "
                      "this much (leg lengths; vertical oscillation is 6-10 %)"),
    )
    body_halfwin_s: float = field(
        default=0.07,
        metadata=_rng(0.0, 0.5, "half-width of the parabola timing the body's lowest point, s"),
    )
    body_delay_prior: float = field(
        default=0.326,
        metadata=_rng(0.0, 1.0, "until a delay is learned, a contact is this share of the "
                      "step period before the body's lowest point (0.28-0.39 in the "
                      "motion-capture runners)"),
    )
    body_delay_min: float = field(
        default=0.2,
        metadata=_rng(-1.0, 1.0, "a foot's contact-to-lowest-point delay below this share of "
                      "the step period is implausible: the foot's timing is not trusted "
                      "(0.28-0.39 in the motion-capture runners, 0.24 on the real clip)"),
    )
    body_delay_max: float = field(
        default=0.45,
        metadata=_rng(0.0, 2.0, "... and above this share"),
    )
    stance_ahead: float = field(
        default=0.15,
        metadata=_rng(0.0, 2.0, "side view, at the body's lowest point: the better-seen "
                      "ankle less than this far behind the hips (leg lengths) is the stance "
                      "foot (it is under the hips then)"),
    )
    swing_behind: float = field(
        default=0.3,
        metadata=_rng(0.0, 2.0, "... and more than this far behind, it is the swing foot "
                      "(it left the belt 0.1-0.15 s earlier); in between: unknown"),
    )
    rear_lift: float = field(
        default=0.08,
        metadata=_rng(0.0, 1.0, "rear view, at the body's lowest point: the lower ankle is "
                      "the stance foot if the other is at least this much higher, leg lengths"),
    )
    hidden_delay_tol_s: float = field(
        default=0.03,
        metadata=_rng(0.0, 1.0, "a leg whose contact-to-lowest-point delay spreads by more "
                      "than this, or differs from the other leg's by more while being the "
                      "noisier, is hidden: its contacts come from the body (s)"),
    )
    hidden_min_strides: float = field(
        default=3.0,
        metadata=_rng(1.0, 100.0, "strides each leg needs before a leg can be judged hidden"),
    )
    # ---- knee drive (swing.py) and per-step metrics (step.py)
    peak_halfwin_s: float = field(
        default=0.07,
        metadata=_rng(0.0, 0.5, "half-width of the parabola fitted around a peak, s"),
    )
    knee_mean_tau_s: float = field(
        default=1.5,
        metadata=_rng(0.1, 60.0, "time constant of the thigh angle's running mean and "
                      "spread (a swing's peak lies in the upper part), s"),
    )
    knee_peak_hysteresis_deg: float = field(
        default=2.0,
        metadata=_rng(0.1, 45.0, "a swing's peak thigh flexion is final once the thigh is "
                      "back this far below it (and peak_halfwin_s of samples are in), deg"),
    )
    contact_halfwin_s: float = field(
        default=0.04,
        metadata=_rng(0.0, 0.5, "half-width of the parabola giving knee flexion and "
                      "overstride at the contact time, s (short: the knee moves fast there)"),
    )
    # ---- reliability (what the summary, the cues and the display may trust)
    reliable_visibility: float = field(
        default=0.5,
        metadata=_rng(0.0, 1.0, "a metric is reliable only if the landmarks it is measured "
                      "on have at least this mean visibility when it is measured"),
    )
    trusted_visibility: float = field(
        default=0.8,
        metadata=_rng(0.0, 1.0, "a swing seen at least this well is trusted as measured; "
                      "between reliable_visibility and this (a far leg, half hidden) only "
                      "if it agrees with the leg's own recent swings"),
    )
    outlier_mads: float = field(
        default=3.0,
        metadata=_rng(0.5, 100.0, "a half-hidden leg's knee drive further than this many "
                      "robust SDs (and outlier_min_deg) from its recent median is a landmark "
                      "error, not a change of gait"),
    )
    outlier_min_deg: float = field(
        default=5.0,
        metadata=_rng(0.0, 90.0, "... and at least this far, deg"),
    )
    reliable_event_confidence: float = field(
        default=0.5,
        metadata=_rng(0.0, 1.0, "a contact timed with less confidence than this makes its "
                      "steps' cadence and contact metrics unreliable"),
    )
    walk_min_flight_s: float = field(
        default=0.0,
        metadata=_rng(-1.0, 1.0, "a step whose flight (next contact minus toe-off, s) is "
                      "below this looks like walking: low confidence"),
    )
    cadence_window_strides: int = field(
        default=2,
        metadata=_rng(1, 50, "the cadence the display and the cues show: fitted over this "
                      "many recent whole strides"),
    )

    def validate(self) -> None:
        if self.min_step_s >= self.max_step_s:
            raise ConfigError(
                f"metrics.min_step_s = {self.min_step_s} must be < "
                f"metrics.max_step_s = {self.max_step_s}"
            )
        if self.contact_height >= self.toe_off_height:
            raise ConfigError(
                f"metrics.contact_height = {self.contact_height} must be < "
                f"metrics.toe_off_height = {self.toe_off_height} (the stance needs a "
                "hysteresis between landing and leaving)"
            )
        if self.body_delay_min >= self.body_delay_max:
            raise ConfigError(
                f"metrics.body_delay_min = {self.body_delay_min} must be < "
                f"metrics.body_delay_max = {self.body_delay_max}"
            )
        if self.swing_height <= self.contact_height:
            raise ConfigError(
                f"metrics.swing_height = {self.swing_height} must be > "
                f"metrics.contact_height = {self.contact_height}"
            )


# --------------------------------------------------------------------------- feedback

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
        metadata=_choice(
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
        default=30.0, metadata=_rng(0.0, 120.0, "peak thigh flexion the runner should reach")
    )
    knee_drive_band_deg: float = field(
        default=5.0, metadata=_rng(0.0, 60.0, "tolerance below the target (amber; bandwidth)")
    )
    hip_sway_limit_pct: float = field(
        default=4.0, metadata=_rng(0.0, 50.0, "largest acceptable lateral hip sway")
    )
    hip_sway_band_pct: float = field(default=1.0, metadata=_rng(0.0, 50.0))
    pelvic_drop_limit_deg: float = field(
        default=7.0, metadata=_rng(0.0, 45.0, "largest acceptable contralateral pelvic drop")
    )
    pelvic_drop_band_deg: float = field(default=1.5, metadata=_rng(0.0, 45.0))
    overstride_limit_pct: float = field(
        default=30.0, metadata=_rng(0.0, 100.0, "largest acceptable foot-ahead-of-hip at IC")
    )
    overstride_band_pct: float = field(default=5.0, metadata=_rng(0.0, 100.0))
    cadence_target_spm: float = field(
        default=165.0, metadata=_rng(60.0, 260.0, "lowest acceptable cadence")
    )
    cadence_band_spm: float = field(default=5.0, metadata=_rng(0.0, 100.0))
    window_steps: int = field(
        default=4, metadata=_rng(1, 20, "hysteresis: look at the last M reliable steps")
    )
    trigger_steps: int = field(
        default=3, metadata=_rng(1, 20, "hysteresis: N of those M must agree before a cue")
    )
    min_confidence: float = field(
        default=0.5, metadata=_rng(0.0, 1.0, "steps below this are ignored (no wrong cue)")
    )
    cooldown_s: float = field(
        default=8.0, metadata=_rng(0.0, 600.0, "the same corrective cue is not repeated sooner")
    )
    positive_cooldown_s: float = field(
        default=15.0, metadata=_rng(0.0, 600.0, "the same praise is not repeated sooner")
    )
    min_gap_s: float = field(
        default=2.5,
        metadata=_rng(0.0, 60.0, "global spoken-cue rate limit (a phrase lasts ~0.8 s)"),
    )
    reset_after_s: float = field(
        default=2.0, metadata=_rng(0.1, 600.0, "a gap between steps this long clears the history")
    )
    positive: bool = field(default=True, metadata={"doc": "praise when the target is met"})
    fade_per_session: float = field(
        default=0.15, metadata=_rng(0.0, 1.0, "faded: share of cues withheld per session")
    )
    fade_per_min: float = field(
        default=0.05, metadata=_rng(0.0, 1.0, "faded: share of cues withheld per drill minute")
    )
    fade_min_keep: float = field(
        default=0.2, metadata=_rng(0.0, 1.0, "faded: never keep fewer than this share")
    )
    session_index: int = field(
        default=0, metadata=_rng(0, 1000, "faded: 0 for the first retraining session; with "
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


PHASES: tuple[str, ...] = ("warm-up", "baseline", "drill", "recovery", "retest", "cool-down",
                           "done")


@dataclass(frozen=True, slots=True)
class DrillConfig:
    """A session plan: warm-up, baseline, drill blocks separated by recoveries, retest,
    cool-down.

    The baseline (no corrective cues) measures the runner's own steady values, which
    calibrate the drill's targets (`[calibration]`); the retest (cues off) measures what
    stays without feedback.  Every step and cue row records its phase.
    """

    warmup_s: float = field(default=120.0, metadata=_rng(0.0, 3600.0))
    baseline_s: float = field(
        default=60.0, metadata=_rng(0.0, 3600.0, "no corrective cues: the runner's own "
                                    "values (about 170 steps at 60 s)")
    )
    blocks: int = field(default=4, metadata=_rng(0, 100, "0: one open-ended drill"))
    block_s: float = field(default=120.0, metadata=_rng(1.0, 3600.0))
    rest_s: float = field(default=60.0, metadata=_rng(0.0, 3600.0))
    retest_s: float = field(
        default=60.0, metadata=_rng(0.0, 3600.0, "cues off after the drill: what stays")
    )
    cooldown_s: float = field(default=120.0, metadata=_rng(0.0, 3600.0))
    pause_after_absent_s: float = field(
        default=5.0,
        metadata=_rng(0.5, 600.0, "the runner out of the picture this long: the plan's "
                      "clock, metrics and cues wait (\"waiting for the runner\")"),
    )
    end_after_absent_min: float = field(
        default=10.0,
        metadata=_rng(0.01, 1440.0, "the runner away this many minutes: the session ends "
                      "and is saved"),
    )
    end_when_done: bool = field(
        default=True,
        metadata={"doc": "a live session ends by itself when the plan's last phase is over "
                  "(never with blocks = 0)"},
    )
    silent_phases: tuple[str, ...] = field(
        default=("warm-up", "baseline", "recovery", "retest", "cool-down", "done"),
        metadata={"doc": "phases without cues, of: " + ", ".join(PHASES) + "; the retest "
                  "is always silent"},
    )

    def validate(self) -> None:
        for i, name in enumerate(self.silent_phases):
            if name not in PHASES:
                raise ConfigError(f"drill.silent_phases[{i}] = {name!r}: not a phase "
                                  f"(phases: {', '.join(PHASES)})")
        if "retest" not in self.silent_phases:
            raise ConfigError(f"drill.silent_phases = {list(self.silent_phases)!r} must "
                              "include 'retest' (the retest measures the runner without cues)")


@dataclass(frozen=True, slots=True)
class CalibrationConfig:
    """Targets from the runner's own baseline (realtime.feedback.calibration).

    At the end of the baseline phase the median of each metric's reliable steps gives
    a proposed target; with `targets = "baseline"` the drill uses them at once (saved to
    the runner's profile only when the therapist confirms: key S, or `realtime
    calibrate SESSION --save`).
    """

    targets: str = field(
        default="baseline",
        metadata=_choice("baseline", "profile",
                         doc="baseline: the drill's targets come from this session's "
                             "baseline (the profile's targets until then); profile: the "
                             "profile's fixed targets (set when targets are saved)"),
    )
    knee_drive_above_deg: float = field(
        default=8.0, metadata=_rng(0.0, 60.0, "knee-drive target = baseline median + this")
    )
    hip_sway_below_pct: float = field(
        default=20.0, metadata=_rng(0.0, 90.0, "hip-sway limit = baseline median less this "
                                    "share, %")
    )
    pelvic_drop_below_pct: float = field(
        default=20.0, metadata=_rng(0.0, 90.0, "pelvic-drop limit = baseline median less "
                                    "this share, %")
    )
    overstride_below_pct: float = field(
        default=20.0, metadata=_rng(0.0, 90.0, "overstride limit = baseline median less "
                                    "this share, %")
    )
    cadence_above_pct: float = field(
        default=-3.0,
        metadata=_rng(-30.0, 30.0, "cadence target = baseline median plus this share, %: "
                      "-3 cues only a runner who slows down (fatigue); +5 to +10 retrains "
                      "cadence, as in the retraining studies"),
    )
    min_steps: int = field(
        default=12, metadata=_rng(3, 10_000, "reliable baseline steps a metric needs before "
                                  "its target is calibrated; fewer keep the profile's")
    )


@dataclass(frozen=True, slots=True)
class ReportConfig:
    """What `realtime compare` calls a real change (realtime.report.change).

    A change between two sessions is real only when it exceeds the smallest detectable
    difference (SDD).  Published 2D test-retest SDDs (Dingenen et al. 2018, Phys Ther
    Sport 33:40-47, means of >= 7 steps, one week apart): contralateral pelvic drop
    2.7-2.8 deg, knee flexion 2.3-3.8 deg (at midstance; used here for knee flexion at
    contact).  0 means no published figure: then only the two means' own step-to-step
    noise (95 %) counts, which understates day-to-day variation (the report says so).
    """

    min_steps: int = field(
        default=7, metadata=_rng(2, 10_000, "reliable steps a session needs for a metric to "
                                 "be compared (Dingenen 2018: a stable mean needs >= 7)")
    )
    sdd_pelvic_drop_deg: float = field(default=2.8, metadata=_rng(0.0, 90.0))
    sdd_knee_flexion_ic_deg: float = field(default=3.8, metadata=_rng(0.0, 90.0))
    sdd_knee_drive_deg: float = field(default=0.0, metadata=_rng(0.0, 90.0))
    sdd_hip_sway_pct: float = field(default=0.0, metadata=_rng(0.0, 100.0))
    sdd_overstride_pct: float = field(default=0.0, metadata=_rng(0.0, 100.0))
    sdd_cadence_spm: float = field(default=0.0, metadata=_rng(0.0, 100.0))


@dataclass(frozen=True, slots=True)
class SpeechConfig:
    mode: str = field(
        default="prerender",
        metadata=_choice(
            "prerender", "live", "off",
            doc="prerender: phrases synthesised once to WAV and played by pygame.mixer "
            "(measured faster); live: pyttsx3 says each cue; off: log only",
        ),
    )
    voice: str = field(default="", metadata={"doc": "pyttsx3 voice id; empty = default"})
    rate_wpm: int = field(
        default=190, metadata=_rng(80, 400, "speaking rate, words/min (190: every default "
                                   "phrase lasts <= 0.8 s, bench/bench_voice.py)")
    )
    volume: float = field(default=1.0, metadata=_rng(0.0, 1.0))
    stop_timeout_s: float = field(default=2.0, metadata=_rng(0.1, 30.0))
    stale_s: float = field(
        default=1.5, metadata=_rng(0.1, 30.0, "a queued cue older than this is dropped")
    )


@dataclass(frozen=True, slots=True)
class DisplayConfig:
    width: int = field(default=1280, metadata=_rng(320, 7680, "initial window width, px"))
    height: int = field(default=720, metadata=_rng(240, 4320, "initial window height, px"))
    fullscreen: bool = False
    history_steps: int = field(default=30, metadata=_rng(5, 200, "steps per leg in the strip"))
    cue_show_s: float = field(default=3.0, metadata=_rng(
        0.2, 60.0, "cue text stays this long, or until its metric reads good"))
    knee_step_deg: float = field(
        default=2.0, metadata=_rng(0.1, 20.0, "hotkey up/down changes the knee target by this")
    )
    sway_step_pct: float = field(
        default=0.5, metadata=_rng(0.05, 10.0, "hotkey left/right changes the sway limit")
    )
    summary_s: float = field(
        default=20.0,
        metadata=_rng(0.0, 3600.0, "the end-of-session summary stays this long (any key "
                      "closes it; 0: none)"),
    )
    second_view: str = field(
        default="auto",
        metadata=_choice("auto", "beside", "inset",
                         doc="two cameras: the rear picture beside the side one, or inset in "
                             "its top corner; auto puts it beside unless that shrinks the "
                             "side picture below 70 % of its full size"),
    )


@dataclass(frozen=True, slots=True)
class TonesConfig:
    mode: str = field(
        default="off",
        metadata=_choice(
            "off", "earcon", "continuous",
            doc="earcon: a short blip per good or bad step; continuous: pitch follows knee",
        ),
    )
    volume: float = field(default=0.5, metadata=_rng(0.0, 1.0))
    good_hz: float = field(default=880.0, metadata=_rng(100.0, 5000.0))
    bad_hz: float = field(default=220.0, metadata=_rng(50.0, 5000.0))
    earcon_ms: float = field(default=70.0, metadata=_rng(10.0, 500.0))
    low_hz: float = field(default=220.0, metadata=_rng(50.0, 5000.0, "continuous: knee low"))
    high_hz: float = field(default=880.0, metadata=_rng(50.0, 5000.0, "continuous: knee high"))
    knee_low_pct: float = field(
        default=-100.0, metadata=_rng(-300.0, 300.0, "knee height mapped to low_hz")
    )
    knee_high_pct: float = field(
        default=0.0, metadata=_rng(-300.0, 300.0, "knee height mapped to high_hz")
    )
    pitch_steps: int = field(default=13, metadata=_rng(2, 64, "distinct pitches"))


@dataclass(frozen=True, slots=True)
class TwoViewConfig:
    """A session with a side and a rear camera (realtime.metrics.twoview)."""

    rear_max_fps: float = field(
        default=20.0,
        metadata=_rng(0.0, 240.0, "live: the rear view's pose rate, frames/s (0: as fast as "
                      "it comes).  Two BlazePose models at full rate do not fit in 2 cores; "
                      "at 20 the side view kept its rate (27-28 fps) and the rear's pelvic "
                      "drop its accuracy (bench/bench_two_views.py, python -m "
                      "realtime.validation --two-view)"),
    )
    one_model_at_a_time: bool = field(
        default=False,
        metadata={"doc": "live: the two cameras' pose models take turns instead of running "
                         "at once (measured slower here: 26-30 frames/s in all against ~45; "
                         "bench/bench_two_views.py --turns both)"},
    )
    max_clock_offset_s: float = field(
        default=2.0,
        metadata=_rng(0.0, 60.0, "recordings: the rear-minus-side clock offset is searched "
                      "within +- this, s"),
    )
    offset_match_s: float = field(
        default=0.06,
        metadata=_rng(0.005, 0.5, "a contact seen in both views pairs with the other view's "
                      "nearest contact of the same leg within this, s (the offset is their "
                      "median difference)"),
    )
    offset_min_pairs: int = field(
        default=8, metadata=_rng(3, 10_000, "contacts in both views before an offset is "
                                 "estimated")
    )
    offset_ambiguity_contacts: float = field(
        default=4.0,
        metadata=_rng(0.0, 1000.0, "another offset (a whole stride away) whose misfit is "
                      "worse than the best by less than this many unmatched contacts makes "
                      "the estimate ambiguous (summary.json lists it); the best is used"),
    )
    step_match_s: float = field(
        default=0.1,
        metadata=_rng(0.01, 0.5, "a side step and a rear step are one step when their "
                      "contacts (same leg, offset applied) are within this, s (a step is "
                      "~0.33 s)"),
    )
    step_wait_s: float = field(
        default=1.5,
        metadata=_rng(0.1, 30.0, "live: a step waits this long (s, on the other view's clock) "
                      "for the other view's record of it before it is written alone"),
    )
    offset_every_s: float = field(
        default=5.0,
        metadata=_rng(0.5, 600.0, "live recordings (no shared clock): re-estimate the offset "
                      "this often, s"),
    )


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """Where sessions are kept (realtime.store): the embedded SQLite file in the data
    folder by default; a clinic's database server for many stations."""

    url: str = field(
        default="",
        metadata={"doc": "the clinic database, e.g. postgresql://user@server/clinic; empty: "
                  "only this station's realtime.db (REALTIME_DB_URL overrides it)"},
    )
    station: str = field(
        default="",
        metadata={"doc": "this station's name in the clinic database; empty: a name made "
                  "once from the host name and kept in the data folder"},
    )


@dataclass(frozen=True, slots=True)
class Config:
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    pose: PoseConfig = field(default_factory=PoseConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    cues: CuesConfig = field(default_factory=CuesConfig)
    drill: DrillConfig = field(default_factory=DrillConfig)
    speech: SpeechConfig = field(default_factory=SpeechConfig)
    display: DisplayConfig = field(default_factory=DisplayConfig)
    tones: TonesConfig = field(default_factory=TonesConfig)
    two_view: TwoViewConfig = field(default_factory=TwoViewConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    store: StoreConfig = field(default_factory=StoreConfig)


# --------------------------------------------------------------------------- loading


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a folder, not a TOML file") from None
    except PermissionError:
        raise ConfigError(f"config file {path} cannot be read (permission denied)") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _check_value(key: str, value: Any, tp: Any, meta: typing.Mapping[str, Any]) -> Any:
    origin = typing.get_origin(tp)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} = {value!r}: expected true or false")
    elif tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} = {value!r}: expected a whole number")
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key} = {value!r}: expected a number")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{key} = {value!r}: must be a finite number")
    elif tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} = {value!r}: expected a string")
    elif origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key} = {value!r}: expected a list")
        (item_tp, _ell) = typing.get_args(tp)
        value = tuple(_check_value(f"{key}[{i}]", v, item_tp, {}) for i, v in enumerate(value))
    elif origin in (dict, types.MappingProxyType, collections.abc.Mapping) or tp is dict:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ConfigError(f"{key} = {value!r}: expected a table of strings")
        value = types.MappingProxyType(dict(value))
    else:  # pragma: no cover - a bug in a config dataclass, not a user error
        raise TypeError(f"unsupported config type {tp} for {key}")
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and value < lo:
        raise ConfigError(f"{key} = {value!r} is out of range: must be >= {lo}")
    if hi is not None and value > hi:
        raise ConfigError(f"{key} = {value!r} is out of range: must be <= {hi}")
    choices = meta.get("choices")
    if choices and value not in choices:
        raise ConfigError(f"{key} = {value!r}: must be one of {', '.join(choices)}")
    return value


def build(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    """Build dataclass `cls` from a dict, rejecting unknown keys and bad values."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a table, got {data!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in known:
            raise ConfigError(
                f"unknown config key {prefix}{key} = {data[key]!r} "
                f"(known: {', '.join(sorted(known))})"
            )
    kwargs: dict[str, Any] = {}
    for name, f in known.items():
        if name not in data:
            continue
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            kwargs[name] = build(tp, data[name], f"{prefix}{name}.")
        else:
            kwargs[name] = _check_value(f"{prefix}{name}", data[name], tp, f.metadata)
    obj = cls(**kwargs)
    check = getattr(obj, "validate", None)
    if check is not None:
        check()
    return obj


def parse_override(text: str) -> dict[str, Any]:
    """`section.key=value` -> nested dict; the value is read as TOML, else as a string."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected section.key=value")
    path, raw = text.split("=", 1)
    parts = [p.strip() for p in path.strip().split(".")]
    if not all(parts):
        raise ConfigError(f"--set {text!r}: expected section.key=value")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    out: dict[str, Any] = {parts[-1]: value}
    for p in reversed(parts[:-1]):
        out = {p: out}
    return out


def profile_path(name: str) -> Path:
    """A profile is a path to a TOML file, a name in the data folder's profiles/, or the
    name of an example shipped in config/profiles/."""
    from realtime.store.home import home

    p = Path(name)
    if p.suffix == ".toml" or p.exists():
        if p.is_dir():
            raise ConfigError(f"profile {name} is a folder, not a TOML file")
        return p
    dirs = (home().profiles, CONFIG_DIR / "profiles")
    for d in dirs:
        candidate = d / f"{name}.toml"
        if candidate.is_file():
            return candidate
    known = sorted({x.stem for d in dirs if d.is_dir() for x in d.glob("*.toml")})
    raise ConfigError(f"profile {name!r} not found (known: {', '.join(known) or 'none'})")


def load_config(
    profile: str | None = None,
    config_file: str | Path | None = None,
    overrides: typing.Sequence[str] = (),
) -> Config:
    """Load and validate the layered config (see the module docstring)."""
    data: dict[str, Any] = {}
    default = CONFIG_DIR / "default.toml"
    if default.exists():
        data = _deep_merge(data, _read_toml(default))
    from realtime.store.home import home

    station = home().config  # this station's own settings (the clinic database, its name)
    if station.is_file():
        data = _deep_merge(data, _read_toml(station))
    if profile:
        data = _deep_merge(data, _read_toml(profile_path(profile)))
    if config_file:
        data = _deep_merge(data, _read_toml(Path(config_file)))
    for text in overrides:
        data = _deep_merge(data, parse_override(text))
    return build(Config, data)


def as_dict(cfg: Any) -> dict[str, Any]:
    """A plain dict of a config dataclass (for default.toml checks and session logs)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v):
            out[f.name] = as_dict(v)
        elif isinstance(v, types.MappingProxyType):
            out[f.name] = dict(v)
        elif isinstance(v, tuple):
            out[f.name] = list(v)
        else:
            out[f.name] = v
    return out


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {v!r} as TOML")


def to_toml(cfg: Config) -> str:
    """The config as commented TOML (`realtime config` prints it; default.toml is this)."""
    lines = ["# Generated by `realtime config --defaults`; every setting with its default.",
             "# Profiles in config/profiles/ and --set overrides change any of these.", ""]
    for section in dataclasses.fields(cfg):
        sub = getattr(cfg, section.name)
        lines.append(f"[{section.name}]")
        for f in dataclasses.fields(sub):
            meta = f.metadata
            notes = [meta.get("doc", "")] if meta.get("doc") else []
            if meta.get("min") is not None or meta.get("max") is not None:
                notes.append(f"range {meta.get('min', '')}..{meta.get('max', '')}")
            if meta.get("choices"):
                notes.append("one of " + ", ".join(meta["choices"]))
            if notes:
                lines.append("# " + "; ".join(n for n in notes if n))
            lines.append(f"{f.name} = {_toml_value(as_dict(sub)[f.name])}")
        lines.append("")
    return "\n".join(lines)
