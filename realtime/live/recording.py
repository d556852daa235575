"""What a live session could not write, and the one line that says so at its end.

A full disk (ENOSPC; EFBIG at a file-size limit) or a full session store stops a writer
during the session with one line of its own, and the feedback goes on; at the end, the
pose file, summary.json or the store's end of the session may not fit either.  All of it
is gathered here into one line naming `realtime recover DIR`, which rebuilds pose.npz
from the spill, summary.json from the poses and the store's rows from the CSVs once
there is space again.
"""

from __future__ import annotations

import math
from pathlib import Path

from realtime.outdir import Unwritten


def pose_file_unwritten(name: str, spilled_until_s: float, why: str) -> Unwritten:
    """A pose file that did not fit: the spill keeps the poses up to where it stopped."""
    kept = (f"the poses up to {spilled_until_s:.1f} s are in its spill, the rest are lost"
            if math.isfinite(spilled_until_s) else "no poses reached the disk")
    return Unwritten(f"{name} ({kept})", why)


def incomplete_line(unwritten: list[Unwritten], out_dir: Path) -> str:
    """The one line at the end of a session whose recording is incomplete."""
    whys = list(dict.fromkeys(u.why for u in unwritten))
    return (f"realtime: the recording is incomplete ({'; '.join(whys)}): not written: "
            + "; ".join(u.what for u in unwritten)
            + f". Free space, then run `realtime recover {out_dir}`")
