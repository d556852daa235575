"""Config loading: layers, unknown keys and out-of-range values named in the error."""

from __future__ import annotations

import tomllib

import pytest

from realtime.config import CONFIG_DIR, Config, as_dict, load_config, parse_override
from realtime.errors import ConfigError


def test_default_toml_mirrors_the_dataclass_defaults() -> None:
    with (CONFIG_DIR / "default.toml").open("rb") as fh:
        on_disk = tomllib.load(fh)
    assert on_disk == as_dict(Config()), "config/default.toml drifted from realtime/config.py"


def test_every_shipped_profile_loads() -> None:
    profiles = sorted((CONFIG_DIR / "profiles").glob("*.toml"))
    assert profiles, "a default profile must ship"
    for p in profiles:
        load_config(profile=p.stem)


def test_override_layers_win_and_defaults_stay_untouched() -> None:
    cfg = load_config(overrides=["capture.fps=60", "pose.smooth_landmarks=true"])
    assert cfg.capture.fps == 60.0 and isinstance(cfg.capture.fps, float)
    assert cfg.pose.smooth_landmarks is True
    assert load_config().capture.fps == Config().capture.fps  # nothing leaked


def test_config_file_layer(tmp_path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text("[capture]\nwidth = 640\nheight = 480\n")
    cfg = load_config(config_file=f)
    assert (cfg.capture.width, cfg.capture.height) == (640, 480)


BAD = [
    (["capture.fps=0"], r"capture.fps = 0.0 is out of range: must be >= 5"),
    (["capture.fpz=30"], r"unknown config key capture.fpz = 30"),
    (["nosuch.key=1"], r"unknown config key nosuch = \{'key': 1\}"),
    (["pose.model_complexity=3"], r"pose.model_complexity = 3 is out of range"),
    (["pose.model_complexity=1.5"], r"pose.model_complexity = 1.5: expected a whole number"),
    (["pose.smooth_landmarks=1"], r"pose.smooth_landmarks = 1: expected true or false"),
    (["capture.width=wide"], r"capture.width = 'wide': expected a whole number"),
    (["capture=3"], r"capture must be a table"),
    (["justtext"], r"expected section.key=value"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD)
def test_bad_values_name_the_key_and_value(overrides, message) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(overrides=overrides)


def test_bad_files_are_clear_errors(tmp_path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(config_file=tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[capture\nfps = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(config_file=broken)
    with pytest.raises(ConfigError, match="profile 'nobody' not found"):
        load_config(profile="nobody")


def test_parse_override_reads_toml_values() -> None:
    assert parse_override("a.b=1.5") == {"a": {"b": 1.5}}
    assert parse_override("a.b = hello") == {"a": {"b": "hello"}}
    assert parse_override('a.b="x y"') == {"a": {"b": "x y"}}
