"""Output folders: never mix two runs' results, never half-replace them.

`analyze` and `run` write into a folder of their own.  A folder that already holds
results is refused (one line) unless `--force`, which removes the old result files
first, so a Ctrl-C in the new run cannot leave a new pose.npz beside an old summary.json.
An unfinished live recording (a pose spill) is never replaced: `realtime recover` first.
"""

from __future__ import annotations

from pathlib import Path

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
