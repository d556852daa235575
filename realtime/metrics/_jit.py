"""The one numba decorator every metrics kernel uses.

`cache=True` so a started session loads compiled code from disk instead of compiling
(first call well under a second); `nogil=True` so the worker thread does not block the
display thread.  No fastmath: kernels rely on NaN checks for missing landmarks.
"""

from __future__ import annotations

import functools

import numba

jit = functools.partial(numba.njit, cache=True, nogil=True)
