"""Field metadata every section uses: a range or a set of choices, and a doc line (the
loader checks values against them, `realtime config` prints them as comments)."""

from __future__ import annotations

from typing import Any


def rng(lo: float | None = None, hi: float | None = None, doc: str = "") -> dict[str, Any]:
    """A number's range (None: open) and what it means."""
    return {"min": lo, "max": hi, "doc": doc}


def choice(*choices: str, doc: str = "") -> dict[str, Any]:
    """A string's allowed values and what they mean."""
    return {"choices": choices, "doc": doc}
