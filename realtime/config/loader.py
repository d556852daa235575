"""Loading the layered config: TOML files and `--set` overrides -> `Config`, each value
checked against its field's type, range or choices; and back (`as_dict`, `to_toml`)."""

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

from realtime.config.camera import CaptureConfig, PoseConfig, TwoViewConfig
from realtime.config.feedback import CuesConfig, DisplayConfig, SpeechConfig, TonesConfig
from realtime.config.metrics import MetricsConfig
from realtime.config.plan import CalibrationConfig, DrillConfig, ReportConfig, StoreConfig
from realtime.errors import ConfigError

# `config/` of the checkout, shipped inside the package (realtime/defaults links to it, and
# a wheel holds copies), so an installed program finds its defaults and example profiles.
CONFIG_DIR = Path(__file__).resolve().parents[1] / "defaults"


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
