"""Runner profiles in the data folder: created from an example, targets saved into them.

Saving edits the TOML in place with `tomlkit`, so the therapist's comments and other
settings stay as they were; the file is replaced atomically (written beside it, then
renamed), so a crash never leaves half a profile.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import tomlkit

from realtime.config import CONFIG_DIR, CuesConfig, load_config
from realtime.errors import ConfigError, UserError
from realtime.feedback.calibration import TARGET_KEYS

if TYPE_CHECKING:
    from realtime.store.db import Store

TEMPLATE = CONFIG_DIR / "profiles" / "default.toml"


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def create_profile(path: Path, template: Path | None = None) -> Path:
    """A new runner's profile: a copy of `template` (default: the shipped example),
    checked to load."""
    src = template or TEMPLATE
    if path.exists():
        raise UserError(f"profile {path} already exists")
    try:
        text = src.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"profile template {src} cannot be read: {exc}") from None
    load_config(profile=str(src))  # a bad template fails here, naming the key
    _write_atomic(path, text)
    return path


def save_targets(path: Path, cues: CuesConfig) -> dict[str, float]:
    """Write the targets of `cues` into the profile at `path` and make the profile's
    targets the ones used (`calibration.targets = "profile"`).  Returns what was saved."""
    try:
        doc = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() \
            else tomlkit.document()
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.ParseError) as exc:
        raise UserError(f"profile {path} cannot be updated: {exc}") from None
    saved = {k: float(getattr(cues, k)) for k in TARGET_KEYS}
    if "cues" not in doc:
        doc["cues"] = tomlkit.table()
    for k, v in saved.items():
        doc["cues"][k] = v  # type: ignore[index]
    if "calibration" not in doc:
        doc["calibration"] = tomlkit.table()
    doc["calibration"]["targets"] = "profile"  # type: ignore[index]
    text = tomlkit.dumps(doc)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_atomic(path, text)
    try:
        load_config(profile=str(path))
    except ConfigError as exc:  # pragma: no cover - the values came from a valid config
        raise UserError(f"profile {path} no longer loads after saving: {exc}") from None
    return saved


def file_time(path: Path) -> str:
    """A profile file's last change as the store writes times (UTC, ISO, seconds)."""
    import datetime as dt

    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).isoformat(timespec="seconds")


def reconcile(store: Store, name: str, path: Path) -> str:
    """Make the runner's profile file and the database's copy the same: the newer one
    wins (the dashboard edits the database; a key S or a hand edit changes the file).
    Returns "database", "file" or "same" (which one was kept)."""
    text, updated = store.profile(name)
    have = path.is_file()
    file_text = path.read_text(encoding="utf-8") if have else None
    if text is None and file_text is None:
        return "same"
    if text == file_text:
        return "same"
    if text is not None and (not have or (updated or "") >= file_time(path)):
        try:  # a profile that does not load is never written over a good file
            check_profile_text(text)
        except ConfigError as exc:
            if have:
                return "file"
            raise UserError(f"runner {name}'s profile in the database does not load: "
                            f"{exc}") from None
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_atomic(path, text)
        return "database"
    assert file_text is not None
    store.set_profile(name, file_text, file_time(path))
    return "file"


def check_profile_text(text: str) -> None:
    """Load a profile's text as `realtime run` would: ConfigError naming the key."""
    fd, tmp = tempfile.mkstemp(suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        load_config(profile=tmp)
    finally:
        Path(tmp).unlink(missing_ok=True)


# The form fields the dashboard edits: the targets, the cue schedule and the drill plan.
FORM_FIELDS: tuple[str, ...] = (
    "cues.schedule", "cues.knee_drive_target_deg", "cues.hip_sway_limit_pct",
    "cues.pelvic_drop_limit_deg", "cues.overstride_limit_pct", "cues.cadence_target_spm",
    "calibration.targets",
    "drill.warmup_s", "drill.baseline_s", "drill.blocks", "drill.block_s", "drill.rest_s",
    "drill.retest_s", "drill.cooldown_s",
)


def form_values(text: str) -> dict[str, object]:
    """The form's fields as the profile sets them (defaults where it is silent)."""
    import dataclasses

    cfg = load_config()
    fd, tmp = tempfile.mkstemp(suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        cfg = load_config(profile=tmp)
    except ConfigError:
        pass  # a profile that does not load shows the defaults
    finally:
        Path(tmp).unlink(missing_ok=True)
    out = {}
    for key in FORM_FIELDS:
        section, name = key.split(".")
        sub = getattr(cfg, section)
        out[key] = getattr(sub, name) if name in {f.name for f in dataclasses.fields(sub)} \
            else ""
    return out


def apply_form(text: str, values: dict[str, str]) -> str:
    """The profile `text` with the form's values written in (comments kept); each value
    is read as `--set KEY=VALUE` reads it, and the whole profile must load, so a bad value
    raises ConfigError naming the field and nothing is changed."""
    from realtime.config import parse_override

    try:
        doc = tomlkit.parse(text) if text else tomlkit.document()
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(f"the stored profile is not valid TOML: {exc}") from None
    current = form_values(text)
    for key, raw in values.items():
        if key not in FORM_FIELDS:
            raise ConfigError(f"{key} cannot be edited here (fields: {', '.join(FORM_FIELDS)})")
        raw = raw.strip()
        if not raw:
            raise ConfigError(f"{key} is empty: give a value")
        parsed = parse_override(f"{key}={raw}")
        section, name = key.split(".")
        value = parsed[section][name]
        if value == current.get(key) and type(value) is type(current.get(key)):
            continue  # unchanged: the profile stays as the therapist wrote it
        if section not in doc:
            doc[section] = tomlkit.table()
        doc[section][name] = value  # type: ignore[index]
    new = tomlkit.dumps(doc)
    check_profile_text(new)
    return new
