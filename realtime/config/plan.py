"""The therapist's side: the session plan `[drill]`, targets from the baseline
`[calibration]`, what reports call a real change `[report]`, and where sessions are kept
`[store]`."""

from __future__ import annotations

from dataclasses import dataclass, field

from realtime.config.fields import choice, rng
from realtime.errors import ConfigError

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

    warmup_s: float = field(default=120.0, metadata=rng(0.0, 3600.0))
    baseline_s: float = field(
        default=60.0, metadata=rng(0.0, 3600.0, "no corrective cues: the runner's own "
                                   "values (about 170 steps at 60 s)")
    )
    blocks: int = field(default=4, metadata=rng(0, 100, "0: one open-ended drill"))
    block_s: float = field(default=120.0, metadata=rng(1.0, 3600.0))
    rest_s: float = field(default=60.0, metadata=rng(0.0, 3600.0))
    retest_s: float = field(
        default=60.0, metadata=rng(0.0, 3600.0, "cues off after the drill: what stays")
    )
    cooldown_s: float = field(default=120.0, metadata=rng(0.0, 3600.0))
    pause_after_absent_s: float = field(
        default=5.0,
        metadata=rng(0.5, 600.0, "the runner out of the picture this long: the plan's "
                     "clock, metrics and cues wait (\"waiting for the runner\")"),
    )
    end_after_absent_min: float = field(
        default=10.0,
        metadata=rng(0.01, 1440.0, "the runner away this many minutes: the session ends "
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
        metadata=choice("baseline", "profile",
                        doc="baseline: the drill's targets come from this session's "
                            "baseline (the profile's targets until then); profile: the "
                            "profile's fixed targets (set when targets are saved)"),
    )
    knee_drive_above_deg: float = field(
        default=8.0, metadata=rng(0.0, 60.0, "knee-drive target = baseline median + this")
    )
    hip_sway_below_pct: float = field(
        default=20.0, metadata=rng(0.0, 90.0, "hip-sway limit = baseline median less this "
                                   "share, %")
    )
    pelvic_drop_below_pct: float = field(
        default=20.0, metadata=rng(0.0, 90.0, "pelvic-drop limit = baseline median less "
                                   "this share, %")
    )
    overstride_below_pct: float = field(
        default=20.0, metadata=rng(0.0, 90.0, "overstride limit = baseline median less "
                                   "this share, %")
    )
    cadence_above_pct: float = field(
        default=-3.0,
        metadata=rng(-30.0, 30.0, "cadence target = baseline median plus this share, %: "
                     "-3 cues only a runner who slows down (fatigue); +5 to +10 retrains "
                     "cadence, as in the retraining studies"),
    )
    min_steps: int = field(
        default=12, metadata=rng(3, 10_000, "reliable baseline steps a metric needs before "
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
        default=7, metadata=rng(2, 10_000, "reliable steps a session needs for a metric to "
                                "be compared (Dingenen 2018: a stable mean needs >= 7)")
    )
    sdd_pelvic_drop_deg: float = field(default=2.8, metadata=rng(0.0, 90.0))
    sdd_knee_flexion_ic_deg: float = field(default=3.8, metadata=rng(0.0, 90.0))
    sdd_knee_drive_deg: float = field(default=0.0, metadata=rng(0.0, 90.0))
    sdd_hip_sway_pct: float = field(default=0.0, metadata=rng(0.0, 100.0))
    sdd_overstride_pct: float = field(default=0.0, metadata=rng(0.0, 100.0))
    sdd_cadence_spm: float = field(default=0.0, metadata=rng(0.0, 100.0))


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
