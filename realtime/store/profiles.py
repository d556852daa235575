"""Runner profiles in the data folder: created from an example, targets saved into them.

Saving edits the TOML in place with `tomlkit`, so the therapist's comments and other
settings stay as they were; the file is replaced atomically (written beside it, then
renamed), so a crash never leaves half a profile.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import tomlkit

from realtime.config import CONFIG_DIR, CuesConfig, load_config
from realtime.errors import ConfigError, UserError
from realtime.feedback.calibration import TARGET_KEYS

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
