"""TOML config -> validated, frozen dataclasses.

Layers, later wins: the dataclass defaults (mirrored by `config/default.toml`, a test
keeps them equal), `config/profiles/NAME.toml` (a runner's thresholds, set by their
therapist), an explicit `--config FILE`, then `--set section.key=value` overrides.
Layers are deep-merged into fresh dicts, so no default is ever mutated.  Every unknown
key and every out-of-range value is a `ConfigError` naming the key and the value.

Each component receives only its own section; numba kernels receive plain numbers.
"""

from __future__ import annotations

import copy
import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realtime.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


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
        default=2.0, metadata=_rng(0.1, 60.0, "a camera silent this long counts as frozen")
    )
    max_failed_reads: int = field(
        default=30, metadata=_rng(1, 10_000, "consecutive failed grabs before giving up")
    )
    replay_queue: int = field(default=16, metadata=_rng(1, 1024, "file replay look-ahead"))


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
    min_visibility: float = field(
        default=0.3, metadata=_rng(0.0, 1.0, "landmarks below this visibility are gaps")
    )
    max_gap_s: float = field(
        default=0.2, metadata=_rng(0.0, 2.0, "gaps longer than this break the step chain")
    )
    one_euro_min_cutoff_hz: float = field(default=3.0, metadata=_rng(0.01, 100.0))
    one_euro_beta: float = field(default=0.5, metadata=_rng(0.0, 100.0))
    one_euro_d_cutoff_hz: float = field(default=3.0, metadata=_rng(0.01, 100.0))
    min_step_s: float = field(
        default=0.2, metadata=_rng(0.05, 2.0, "shortest plausible running step")
    )
    max_step_s: float = field(
        default=0.6, metadata=_rng(0.1, 5.0, "longest plausible running step")
    )


@dataclass(frozen=True, slots=True)
class Config:
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    pose: PoseConfig = field(default_factory=PoseConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)


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
    elif tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} = {value!r}: expected a string")
    elif origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key} = {value!r}: expected a list")
        (item_tp, _ell) = typing.get_args(tp)
        value = tuple(_check_value(f"{key}[{i}]", v, item_tp, {}) for i, v in enumerate(value))
    elif origin in (dict, types.MappingProxyType) or tp is dict:
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
    """A profile is a name under config/profiles/ or a path to a TOML file."""
    p = Path(name)
    if p.suffix == ".toml" or p.exists():
        return p
    candidate = CONFIG_DIR / "profiles" / f"{name}.toml"
    if not candidate.exists():
        known = sorted(x.stem for x in (CONFIG_DIR / "profiles").glob("*.toml"))
        raise ConfigError(f"profile {name!r} not found (known: {', '.join(known) or 'none'})")
    return candidate


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
