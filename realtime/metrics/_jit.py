"""The one numba decorator every metrics kernel uses, and where its compiled code lives.

`cache=True` so a started session loads compiled code from disk instead of compiling
(first call well under a second); `nogil=True` so the worker thread does not block the
display thread.  No fastmath: kernels rely on NaN checks for missing landmarks.

numba's cache is keyed by each function's own source file, so a kernel that calls one in
another file (frame.py calls foot.py, fuse.py, ...) keeps stale compiled code after that
other file changes.  The cache therefore goes to a folder named after a hash of every
source file of this package: any edit starts a fresh cache.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import numba


def _cache_dir() -> str:
    here = Path(__file__).resolve().parent
    h = hashlib.sha1()
    for p in sorted(here.glob("*.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    h.update(numba.__version__.encode())
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"),
        "realtime-runform", "numba")
    return os.path.join(base, h.hexdigest()[:16])


numba.config.CACHE_DIR = _cache_dir()
jit = functools.partial(numba.njit, cache=True, nogil=True)
