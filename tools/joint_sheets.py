"""Render zoomed, ruled crops of the legs, for hand-labelling hip, knee and ankle joint centres.

Why this exists: ``tests/fixtures/treadmill_side_male_swings.json`` (peak knee drive of every
swing, and the near leg's length) must come from a person looking at pixels, not from a pose
model. At full-frame size a joint centre cannot be placed to better than ~20 px. So this script
cuts a region out of chosen frames, enlarges it, and draws a pixel grid labelled in FULL-FRAME
coordinates. It can also draw the labeller's current guesses as small crosses (hip red, knee
magenta, ankle green; hip-knee and hip-ankle joined by a thin line), so that each guess can be
checked against the picture and moved until it sits where the placement rule says.
``--head-top`` prints the pixel-only aid used for the hip height: the topmost row of dark hair
pixels. The hip was put 280 px below it, because the head tracks the trunk's vertical bounce.
Nothing here detects a body part; it only decodes, draws and thresholds (OpenCV).

Usage::

    # frames 32-34 around the swinging knee at 2.4x, grid every 10 px (labels every 50 px)
    python tools/joint_sheets.py VIDEO --frames 32-34 --crop 150 880 330 1100 --scale 2.4

    # the same with the fixture's labels drawn (or a {"frame": {"hip": [x, y], ...}} file)
    python tools/joint_sheets.py VIDEO --frames 32-34 --crop 150 880 330 1100 --scale 2.4 \\
        --marks tests/fixtures/treadmill_side_male_swings.json

    # the hip-height aid: head-top y per frame, and head-top + 280
    python tools/joint_sheets.py VIDEO --frames 0-359 --head-top

The sheet is written to ``<out>/joints_<first>-<last>.png``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

COLOURS = {"hip": (0, 0, 255), "knee": (255, 0, 255), "ankle": (0, 255, 0)}
HIP_BELOW_HEAD_TOP = 280  # px; set once at frame 13, see the fixture's "rule"


def parse_frames(spec: str) -> list[int]:
    """'3,7,10-12' -> [3, 7, 10, 11, 12]."""
    out: list[int] = []
    for part in spec.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def load_marks(path: Path | None) -> dict[int, dict[str, list[float]]]:
    """Points per frame, from a swings fixture or a plain {frame: {name: [x, y]}} mapping."""
    if path is None:
        return {}
    data = json.loads(path.read_text())
    blocks = [data]
    if "swings" in data:
        blocks = [s["frames"] for s in data["swings"]]
        blocks.append(data.get("leg_length", {}).get("frames", {}))
    marks: dict[int, dict[str, list[float]]] = {}
    for block in blocks:
        for k, pts in block.items():
            marks.setdefault(int(k), {}).update(pts)
    return marks


def head_top(frame: np.ndarray) -> int:
    """Topmost image row with >= 8 dark (grey < 60) pixels in x 150-330, y 520-760: the hair."""
    grey = cv2.cvtColor(frame[520:760, 150:330], cv2.COLOR_BGR2GRAY)
    rows = np.flatnonzero((grey < 60).sum(axis=1) >= 8)
    return 520 + int(rows[0]) if rows.size else -1


def render(frame, index, crop, scale, grid, marks, boost=False) -> np.ndarray:
    """Crop, enlarge, draw the full-frame grid and any marks on one frame."""
    x0, y0, x1, y1 = crop
    tile = frame[y0:y1, x0:x1]
    if boost:  # local contrast (CLAHE on lightness): grey shorts on a grey shadow
        lab = cv2.cvtColor(tile, cv2.COLOR_BGR2LAB)
        lab[..., 0] = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(4, 4)).apply(lab[..., 0])
        tile = cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)
    tile = cv2.resize(tile, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    h, w = tile.shape[:2]
    lines, font = tile.copy(), cv2.FONT_HERSHEY_SIMPLEX
    fine = grid * scale >= 14  # minor lines only where they do not hide the picture
    for v in range((x0 // grid + 1) * grid, x1, grid):
        if v % (5 * grid) == 0 or fine:
            xx = round((v - x0) * scale)
            colour = (255, 200, 0) if v % (5 * grid) == 0 else (160, 120, 0)
            cv2.line(lines, (xx, 0), (xx, h), colour, 1)
    for v in range((y0 // grid + 1) * grid, y1, grid):
        if v % (5 * grid) == 0 or fine:
            yy = round((v - y0) * scale)
            colour = (0, 200, 255) if v % (5 * grid) == 0 else (0, 120, 160)
            cv2.line(lines, (0, yy), (w, yy), colour, 1)
    tile = cv2.addWeighted(lines, 0.45, tile, 0.55, 0)
    for v in range((x0 // (5 * grid) + 1) * 5 * grid, x1, 5 * grid):
        cv2.putText(tile, str(v), (round((v - x0) * scale) + 2, 50), font, 0.5, (255, 220, 0), 1)
    for v in range((y0 // (5 * grid) + 1) * 5 * grid, y1, 5 * grid):
        cv2.putText(tile, str(v), (4, round((v - y0) * scale) - 3), font, 0.5, (0, 220, 255), 1)
    pts = marks.get(index, {})
    px = {k: (round((p[0] - x0) * scale), round((p[1] - y0) * scale)) for k, p in pts.items()}
    for end in ("knee", "ankle"):
        if "hip" in px and end in px:
            cv2.line(tile, px["hip"], px[end], COLOURS[end], 1)
    for name, (u, v) in px.items():
        colour = COLOURS.get(name, (255, 255, 255))
        cv2.line(tile, (u - 8, v), (u + 8, v), colour, 2)
        cv2.line(tile, (u, v - 8), (u, v + 8), colour, 2)
    cv2.rectangle(tile, (0, 0), (130, 28), (0, 0, 0), -1)
    cv2.putText(tile, f"f{index}", (6, 22), font, 0.8, (255, 255, 255), 2)
    return tile


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("video", type=Path)
    p.add_argument("--frames", required=True, help="e.g. '10-15' or '100,103,106'")
    p.add_argument(
        "--crop",
        type=int,
        nargs=4,
        default=(100, 800, 660, 1280),
        metavar=("X0", "Y0", "X1", "Y1"),
        help="region in full-frame pixels",
    )
    p.add_argument("--scale", type=float, default=3.0)
    p.add_argument("--grid", type=int, default=10, help="grid step in full-frame px")
    p.add_argument("--cols", type=int, default=3)
    p.add_argument("--enhance", action="store_true", help="boost local contrast")
    p.add_argument("--marks", type=Path, default=None, help="JSON of points to draw")
    p.add_argument("--head-top", action="store_true", help="print the hip-height aid, no sheet")
    p.add_argument("--out", type=Path, default=Path("/tmp/joint_sheets"))
    a = p.parse_args(argv)
    wanted, marks = parse_frames(a.frames), load_marks(a.marks)
    cap, tiles, index = cv2.VideoCapture(str(a.video)), [], 0
    while index <= max(wanted):
        ok, frame = cap.read()
        if not ok:
            break
        if index in wanted and a.head_top:
            top = head_top(frame)
            print(f"f{index} head_top_y {top} hip_y {top + HIP_BELOW_HEAD_TOP}")
        elif index in wanted:
            tiles.append(render(frame, index, tuple(a.crop), a.scale, a.grid, marks, a.enhance))
        index += 1
    cap.release()
    if not tiles:
        return
    h, w = tiles[0].shape[:2]
    sheet = np.zeros((-(-len(tiles) // a.cols) * h, min(a.cols, len(tiles)) * w, 3), np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, a.cols)
        sheet[r * h : (r + 1) * h, c * w : (c + 1) * w] = t
    a.out.mkdir(parents=True, exist_ok=True)
    path = a.out / f"joints_{wanted[0]}-{wanted[-1]}.png"
    cv2.imwrite(str(path), sheet)
    print(path)


if __name__ == "__main__":
    main()
