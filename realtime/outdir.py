"""Output folders: never mix two runs' results, never half-replace them.

`analyze` and `run` write into a folder of their own.  A folder that already holds
results is refused (one line) unless `--force`, which removes the old result files
first, so a Ctrl-C in the new run cannot leave a new pose.npz beside an old summary.json.
An unfinished live recording (a pose spill) is never replaced: `realtime recover` first.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from realtime.errors import UserError

RESULT_FILES = ("pose.npz", "pose_rear.npz", "steps.csv", "steps_side.csv", "steps_rear.csv",
                "summary.json", "cues.csv")


def prepare_out_dir(out_dir: Path, force: bool = False) -> Path:
    """Check (and with `force`, clear) `out_dir`, then create it 0700."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out_dir} is a file, not a folder")
    if any(out_dir.glob("*.partial.bin")):
        raise UserError(f"{out_dir} holds an unfinished recording: run `realtime recover "
                        f"{out_dir}` first, or choose another --out")
    old = [f for f in RESULT_FILES if (out_dir / f).exists()]
    if old and not force:
        raise UserError(f"{out_dir} already holds results ({', '.join(old)}); choose another "
                        "--out, or add --force to replace them")
    try:
        for f in old:
            (out_dir / f).unlink()
        out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot write to {out_dir} ({exc.strerror})") from None
    return out_dir


@contextlib.contextmanager
def atomic_file(path: Path, mode: str = "w") -> Iterator[IO]:
    """Write `path` all or nothing: into a temporary file beside it, fsynced, then renamed
    over it.  A crash or a full disk leaves the old file (or none), never half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8",
                                                             "newline": ""})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, write: Callable[[IO], object], mode: str = "w") -> Path:
    with atomic_file(path, mode) as fh:
        write(fh)
    return path
