"""TOML config -> validated, frozen dataclasses.

Layers, later wins: the dataclass defaults (mirrored by `config/default.toml`, a test
keeps them equal), a profile (a runner's thresholds and plan, set by their therapist:
`profiles/NAME.toml` in the user's data folder, see realtime.store.home, or one of the
examples shipped in `config/profiles/`), an explicit `--config FILE`, then
`--set section.key=value` overrides.
Layers are deep-merged into fresh dicts, so no default is ever mutated.  Every unknown
key and every out-of-range value is a `ConfigError` naming the key and the value.

Each component receives only its own section; numba kernels receive plain numbers.

Modules: `loader` (the layers, `load_config`, `build`, `to_toml`), one module per family of
sections: `camera` (capture, pose, two_view), `metrics`, `feedback` (cues, speech,
display, tones), `plan` (drill, calibration, report); `fields` (ranges and choices).
"""

from realtime.config.camera import CaptureConfig, PoseConfig, TwoViewConfig
from realtime.config.feedback import (
    CUE_KINDS,
    DEFAULT_PHRASES,
    CuesConfig,
    DisplayConfig,
    SpeechConfig,
    TonesConfig,
)
from realtime.config.loader import (
    CONFIG_DIR,
    Config,
    as_dict,
    build,
    load_config,
    parse_override,
    profile_path,
    to_toml,
)
from realtime.config.metrics import MetricsConfig
from realtime.config.plan import PHASES, CalibrationConfig, DrillConfig, ReportConfig, StoreConfig

__all__ = [
    "CONFIG_DIR",
    "CUE_KINDS",
    "DEFAULT_PHRASES",
    "PHASES",
    "CalibrationConfig",
    "CaptureConfig",
    "Config",
    "CuesConfig",
    "DisplayConfig",
    "DrillConfig",
    "MetricsConfig",
    "PoseConfig",
    "ReportConfig",
    "SpeechConfig",
    "StoreConfig",
    "TonesConfig",
    "TwoViewConfig",
    "as_dict",
    "build",
    "load_config",
    "parse_override",
    "profile_path",
    "to_toml",
]
