"""Render sheets of BlazePose's left and right leg drawn over the runner's legs, for labelling.

Why this exists: on the side-view treadmill clip the pose model sometimes puts its LEFT leg
landmarks on the runner's far (right) leg, or both legs on the same real leg, as the legs cross.
``tests/fixtures/treadmill_side_male_leg_identity.json`` records, frame by frame and by eye,
which real leg each knee and ankle landmark sits on. To label that, a person has to see the
landmarks and the bare legs side by side: this script crops the legs out of every frame,
enlarges them, and tiles for each frame the plain crop (to see which leg is which) next to the
same crop with BlazePose's left leg (hip-knee-ankle-heel-toe, orange) and right leg (blue)
drawn on it, with small labelled dots LK, LA, RK, RA and the landmarks' visibility values.

It only uses OpenCV and numpy to decode, crop and draw; nothing here detects or decides.

Usage::

    # every frame, 4 per sheet (one plain|overlay pair per row), legs crop at 1.5x
    python tools/leg_identity_sheets.py ../shared/data/videos/treadmill_side_male.mp4 \\
        /work/rv/pose_blazepose_treadmill_side_male.npz --out /tmp/leg_identity_sheets

    # a closer look at frames 20..23: knees-and-shanks crop at 2.5x, one pair per row
    python tools/leg_identity_sheets.py VIDEO POSE_NPZ --start 20 --end 23 --cols 1 \\
        --scale 2.5 --crop 150 950 500 1230

Sheets are written as ``<out>/legs_<first>-<last>.png`` (frame numbers are 0-based).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

# the same frame reader and grid as the contact sheets (tools/ is not a package)
sys.path.insert(0, str(Path(__file__).resolve().parent))
from contact_sheets import read_frames, tile_grid

# Hips-to-feet region of treadmill_side_male.mp4 (720x1280 portrait), found by viewing frames:
# hips at y ~ 860-920 (the crop starts at the thigh tops), knees ~ 990-1060, shoes between
# x ~ 100 and ~ 650 down to the belt.
DEFAULT_CROP = (90, 870, 660, 1280)

# BlazePose landmark indices: hip, knee, ankle, heel, foot index (toe) for each side.
LEFT = {"H": 23, "K": 25, "A": 27, "E": 29, "T": 31}
RIGHT = {"H": 24, "K": 26, "A": 28, "E": 30, "T": 32}
ORANGE = (0, 140, 255)  # BGR: BlazePose's left leg
BLUE = (255, 110, 0)  # BGR: BlazePose's right leg


def stamp(img: np.ndarray, text: str, row: int = 0) -> None:
    """White text on a black box at the top-left corner (row 0, 1, ... downwards)."""
    y = 4 + 32 * row
    cv2.rectangle(img, (0, y), (10 + 15 * len(text), y + 30), (0, 0, 0), -1)
    cv2.putText(img, text, (5, y + 23), cv2.FONT_HERSHEY_SIMPLEX, 0.75, (255, 255, 255), 2)


def draw_leg(
    img: np.ndarray,
    pts: np.ndarray,
    side: dict[str, int],
    tag: str,
    color: tuple[int, int, int],
    to_tile,
) -> None:
    """Draw hip-knee-ankle-heel-toe of one side with labelled knee and ankle dots."""
    p = {k: to_tile(pts[i]) for k, i in side.items()}
    for a, b in (("H", "K"), ("K", "A"), ("A", "E"), ("E", "T"), ("A", "T")):
        cv2.line(img, p[a], p[b], color, 2, cv2.LINE_AA)
    for k in ("H", "E", "T"):
        cv2.circle(img, p[k], 3, color, -1, cv2.LINE_AA)
    for k in ("K", "A"):
        cv2.circle(img, p[k], 6, color, -1, cv2.LINE_AA)
        cv2.circle(img, p[k], 7, (0, 0, 0), 1, cv2.LINE_AA)
        x, y = p[k]
        dx = -36 if tag == "L" else 10  # left labels to the left of the dot, right ones right
        cv2.putText(img, tag + k, (x + dx, y - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 4)
        cv2.putText(img, tag + k, (x + dx, y - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.6, color, 2)


def render_pair(
    frame: np.ndarray,
    index: int,
    lm: np.ndarray,
    crop: tuple[int, int, int, int],
    scale: float,
) -> np.ndarray:
    """Plain crop | crop with BlazePose's legs drawn, side by side, both stamped."""
    x0, y0, x1, y1 = crop
    h_img, w_img = frame.shape[:2]
    plain = cv2.resize(frame[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    over = plain.copy()
    pts = lm[:, :2] * np.array([w_img, h_img], dtype=np.float32)

    def to_tile(xy: np.ndarray) -> tuple[int, int]:
        return round((float(xy[0]) - x0) * scale), round((float(xy[1]) - y0) * scale)

    draw_leg(over, pts, RIGHT, "R", BLUE, to_tile)  # right first: left (near) drawn on top
    draw_leg(over, pts, LEFT, "L", ORANGE, to_tile)
    stamp(plain, f"f{index} plain")
    stamp(over, f"f{index} L=orange R=blue")
    vis = lm[:, 3]
    stamp(over, f"vis LK{vis[25]:.2f} LA{vis[27]:.2f}", 1)
    stamp(over, f"vis RK{vis[26]:.2f} RA{vis[28]:.2f}", 2)
    pair = np.hstack([plain, np.full((plain.shape[0], 4, 3), 255, np.uint8), over])
    cv2.rectangle(pair, (0, 0), (pair.shape[1] - 1, pair.shape[0] - 1), (255, 255, 255), 2)
    return pair


def write_sheets(
    video: Path,
    pose: Path,
    out: Path,
    start: int,
    end: int | None,
    per_sheet: int,
    cols: int,
    crop: tuple[int, int, int, int],
    scale: float,
) -> list[Path]:
    """Write leg-identity sheets for frames start..end (inclusive) and return their paths."""
    landmarks = np.load(pose)["landmarks"]
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    batch: list[tuple[int, np.ndarray]] = []

    def flush() -> None:
        if not batch:
            return
        sheet = tile_grid([t for _, t in batch], cols)
        path = out / f"legs_{batch[0][0]:04d}-{batch[-1][0]:04d}.png"
        cv2.imwrite(str(path), sheet)
        written.append(path)
        batch.clear()

    for index, frame in read_frames(video, start, end):
        if index >= len(landmarks):
            break
        batch.append((index, render_pair(frame, index, landmarks[index], crop, scale)))
        if len(batch) == per_sheet:
            flush()
    flush()
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video", type=Path, help="video file to read (never modified)")
    parser.add_argument("pose", type=Path, help=".npz with landmarks [frames, 33, 4] (x, y norm)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/leg_identity_sheets"))
    parser.add_argument("--start", type=int, default=0, help="first frame (0-based)")
    parser.add_argument("--end", type=int, default=None, help="last frame, inclusive")
    parser.add_argument("--per-sheet", type=int, default=4, help="frames per PNG")
    parser.add_argument("--cols", type=int, default=1, help="plain|overlay pairs per row")
    parser.add_argument("--scale", type=float, default=1.5, help="zoom factor of the crop")
    parser.add_argument(
        "--crop",
        type=int,
        nargs=4,
        metavar=("X0", "Y0", "X1", "Y1"),
        default=DEFAULT_CROP,
        help="region in full-frame pixels",
    )
    args = parser.parse_args(argv)
    paths = write_sheets(
        args.video,
        args.pose,
        args.out,
        args.start,
        args.end,
        args.per_sheet,
        args.cols,
        tuple(args.crop),
        args.scale,
    )
    print(f"wrote {len(paths)} sheet(s) to {args.out}")


if __name__ == "__main__":
    main()
