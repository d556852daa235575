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
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Unwritten:
    """Something a session could not write (`what`: "steps.csv after 25 rows") and why,
    in the OS's or the database's words ("No space left on device")."""

    what: str
    why: str


def counted(n: int, noun: str) -> str:
    """"1 row", "25 rows": for the lines that say where a writer stopped."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


class AppendFile:
    """A file written as it goes, one whole record at a time (a CSV row, a pose): each
    `append` is all or nothing.

    A full disk (ENOSPC, or EFBIG at a file-size limit) can accept part of a write; the
    part is cut off again (`ftruncate` needs no space), so whatever was written before
    stays a valid file, and nothing is kept in a buffer to be flushed later (a disk
    with room again must not get the rest of a row at the wrong place).  Unbuffered:
    each record reaches the OS at once, so a killed process loses nothing the OS has.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        self.size = 0  # bytes of whole records

    def append(self, data: bytes) -> None:
        """Write `data` whole, or raise OSError with the file as it was before."""
        view = memoryview(data)
        try:
            while view:
                n = os.write(self._fd, view)
                if n <= 0:  # pragma: no cover - a write that accepts nothing and no error
                    raise OSError(28, os.strerror(28))
                view = view[n:]
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self.size)
                os.lseek(self._fd, self.size, os.SEEK_SET)
            raise
        self.size += len(data)

    def fileno(self) -> int:
        return self._fd

    def sync(self) -> None:
        os.fsync(self._fd)

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)
