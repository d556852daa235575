"""Reader for OpenSim/Motion-Analysis `.trc` marker files.

Only the parts the validation needs: marker names, rate, units and the [T, M, 3] array.
Missing samples (empty cells, or a short row) become NaN so that a gap is never mistaken
for a marker at the origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from realtime.errors import UserError


class TrcError(UserError):
    """A .trc file is missing, truncated or not in the expected layout."""


@dataclass(frozen=True, slots=True)
class Trc:
    """Marker trajectories of one trial, in the file's units and axes."""

    path: Path
    rate_hz: float
    units: str
    markers: tuple[str, ...]
    t: np.ndarray  # float64 [T] seconds, as written in the file
    xyz: np.ndarray  # float64 [T, M, 3]

    def __len__(self) -> int:
        return int(self.t.shape[0])

    def has(self, name: str) -> bool:
        return name in self.markers

    def marker(self, name: str) -> np.ndarray:
        """[T, 3] trajectory of one marker; TrcError naming the file if absent."""
        try:
            i = self.markers.index(name)
        except ValueError:
            raise TrcError(
                f"{self.path}: no marker {name!r} (has: {', '.join(self.markers)})"
            ) from None
        return self.xyz[:, i, :]

    def mm(self) -> Trc:
        """The same trial in millimetres (the validation's working unit)."""
        scale = {"mm": 1.0, "cm": 10.0, "m": 1000.0}.get(self.units.lower())
        if scale is None:
            raise TrcError(f"{self.path}: unknown units {self.units!r} (expected mm, cm or m)")
        if scale == 1.0:
            return self
        return Trc(self.path, self.rate_hz, "mm", self.markers, self.t, self.xyz * scale)


def _float(cell: str) -> float:
    cell = cell.strip()
    return float(cell) if cell else np.nan


def read_trc(path: str | Path) -> Trc:
    """Parse a .trc file; raise TrcError naming the file and line when malformed."""
    path = Path(path)
    if not path.exists():
        raise TrcError(f"trc file not found: {path}")
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise TrcError(f"{path}: cannot read ({exc})") from None
    if len(lines) < 6 or not lines[0].startswith("PathFileType"):
        raise TrcError(f"{path}: not a .trc file (first line should start with 'PathFileType')")
    keys = [k.strip() for k in lines[1].split("\t")]
    vals = [v.strip() for v in lines[2].split("\t")]
    header = dict(zip(keys, vals, strict=False))
    try:
        rate = float(header["DataRate"])
        n_markers = int(header["NumMarkers"])
        units = header.get("Units", "mm") or "mm"
    except (KeyError, ValueError):
        raise TrcError(
            f"{path}: line 3 must give DataRate and NumMarkers, got {lines[2]!r:.80}"
        ) from None
    names_row = lines[3].split("\t")
    if len(names_row) < 2 or names_row[0].strip() != "Frame#":
        raise TrcError(f"{path}: line 4 should start with 'Frame#' and 'Time'")
    names = tuple(n.strip() for n in names_row[2:] if n.strip())
    if len(names) != n_markers:
        raise TrcError(
            f"{path}: header says {n_markers} markers but line 4 names {len(names)}"
        )
    if len(set(names)) != len(names):
        raise TrcError(f"{path}: duplicate marker names on line 4")
    width = 2 + 3 * n_markers
    rows: list[list[float]] = []
    for lineno, line in enumerate(lines[5:], start=6):
        if not line.strip():
            continue
        cells = line.split("\t")
        try:
            first = cells[0].strip()
            int(float(first))
        except ValueError:
            raise TrcError(
                f"{path}:{lineno}: expected a frame number, got {cells[0]!r:.30}"
            ) from None
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            raise TrcError(f"{path}:{lineno}: {len(cells)} columns, expected at most {width}")
        try:
            row = [_float(c) for c in cells[:width]]
        except ValueError as exc:
            raise TrcError(f"{path}:{lineno}: not a number ({exc})") from None
        row += [np.nan] * (width - len(row))
        rows.append(row)
    if not rows:
        raise TrcError(f"{path}: no data rows")
    data = np.asarray(rows, dtype=np.float64)
    t = data[:, 1]
    if not np.isfinite(t).all() or (np.diff(t) <= 0).any():
        raise TrcError(f"{path}: the Time column must be finite and strictly increasing")
    xyz = data[:, 2:].reshape(len(rows), n_markers, 3)
    # Some exporters write exact zeros for an occluded marker: treat them as gaps.
    xyz[(xyz == 0.0).all(axis=2)] = np.nan
    return Trc(path, rate, units, names, t, xyz)
