"""Render zoomed contact sheets of the feet and treadmill belt, for hand-labelling foot contacts.

Why this exists: the ground truth in ``tests/fixtures/treadmill_side_male_contacts.json`` must
come from a person looking at pixels, not from a pose model. At full-frame size the feet are
small and blurred and contacts are easy to misjudge by several frames, so this script cuts the
feet-and-belt region out of every frame, enlarges it, stamps the frame number and time on it,
optionally draws a fine pixel ruler (so the sole's height and position can be compared between
frames), and tiles consecutive frames into PNG grids that an image viewer can show.

It only uses OpenCV to decode and draw; nothing here detects anything.

Usage::

    # every frame of the clip, 12 per sheet, default crop of the feet and belt
    python tools/contact_sheets.py /path/to/treadmill_side_male.mp4 --out /tmp/contact_sheets

    # a closer look at frames 40..47, 4 per sheet, 3x zoom, with a 10-px ruler
    python tools/contact_sheets.py VIDEO --start 40 --end 47 --per-sheet 4 --cols 2 \\
        --scale 3 --ruler 10

    # dark outsole against the dark belt: boost local contrast
    python tools/contact_sheets.py VIDEO --start 14 --end 19 --scale 4 --enhance

    # a custom crop (x0 y0 x1 y1, in full-frame pixels)
    python tools/contact_sheets.py VIDEO --crop 250 1050 650 1270

Sheets are written as ``<out>/sheet_<first>-<last>.png`` (frame numbers are 0-based; frame k
is at t = k / fps on the video's clock).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

# Feet-and-belt region of treadmill_side_male.mp4 (720x1280 portrait), found by viewing frames:
# the shoes travel between x ~ 100 and ~ 640 and the belt surface lies around y ~ 1150-1270.
DEFAULT_CROP = (60, 1000, 680, 1280)


def read_frames(video: Path, start: int, end: int | None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (frame_index, BGR image) for start <= index <= end, decoding sequentially."""
    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise SystemExit(f"cannot open {video}")
    try:
        index = 0
        while True:
            ok, frame = cap.read()
            if not ok or (end is not None and index > end):
                break
            if index >= start:
                yield index, frame
            index += 1
    finally:
        cap.release()


def draw_ruler(img: np.ndarray, crop: tuple[int, int, int, int], scale: float, step: int) -> None:
    """Draw faint horizontal and vertical lines every ``step`` full-frame pixels, labelled."""
    x0, y0, x1, y1 = crop
    h, w = img.shape[:2]
    for y in range((y0 // step + 1) * step, y1, step):
        yy = round((y - y0) * scale)
        major = y % (5 * step) == 0
        color = (0, 200, 255) if major else (0, 120, 160)
        cv2.line(img, (0, yy), (w - 1, yy), color, 1)
        if major:
            cv2.putText(img, str(y), (w - 70, yy - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.5, color, 1)
    for x in range((x0 // (5 * step) + 1) * 5 * step, x1, 5 * step):
        xx = round((x - x0) * scale)
        cv2.line(img, (xx, 0), (xx, h - 1), (255, 160, 0), 1)
        cv2.putText(img, str(x), (xx + 3, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 160, 0), 1)


def enhance(img: np.ndarray) -> np.ndarray:
    """Local contrast stretch (CLAHE on lightness), to tell a dark outsole from the dark belt."""
    lab = cv2.cvtColor(img, cv2.COLOR_BGR2LAB)
    clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(4, 4))
    lab[..., 0] = clahe.apply(lab[..., 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)


def render_tile(
    frame: np.ndarray,
    index: int,
    fps: float,
    crop: tuple[int, int, int, int],
    scale: float,
    ruler: int,
    boost: bool = False,
) -> np.ndarray:
    """Crop, upscale and annotate one frame."""
    x0, y0, x1, y1 = crop
    tile = frame[y0:y1, x0:x1]
    if boost:
        tile = enhance(tile)
    tile = cv2.resize(tile, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    if ruler > 0:
        draw_ruler(tile, crop, scale, ruler)
    label = f"f{index}  t={index / fps:.3f}s"
    cv2.rectangle(tile, (0, 0), (12 + 14 * len(label), 30), (0, 0, 0), -1)
    cv2.putText(tile, label, (6, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
    cv2.rectangle(tile, (0, 0), (tile.shape[1] - 1, tile.shape[0] - 1), (255, 255, 255), 1)
    return tile


def tile_grid(tiles: list[np.ndarray], cols: int) -> np.ndarray:
    """Arrange equally sized tiles in a grid, padding the last row with black."""
    h, w = tiles[0].shape[:2]
    rows = -(-len(tiles) // cols)
    sheet = np.zeros((rows * h, cols * w, 3), dtype=np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        sheet[r * h : (r + 1) * h, c * w : (c + 1) * w] = tile
    return sheet


def write_sheets(
    video: Path,
    out: Path,
    start: int,
    end: int | None,
    per_sheet: int,
    cols: int,
    crop: tuple[int, int, int, int],
    scale: float,
    ruler: int,
    boost: bool = False,
) -> list[Path]:
    """Write contact sheets for frames start..end (inclusive) and return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    cap.release()
    written: list[Path] = []
    batch: list[tuple[int, np.ndarray]] = []

    def flush() -> None:
        if not batch:
            return
        sheet = tile_grid([t for _, t in batch], cols)
        path = out / f"sheet_{batch[0][0]:04d}-{batch[-1][0]:04d}.png"
        cv2.imwrite(str(path), sheet)
        written.append(path)
        batch.clear()

    for index, frame in read_frames(video, start, end):
        batch.append((index, render_tile(frame, index, fps, crop, scale, ruler, boost)))
        if len(batch) == per_sheet:
            flush()
    flush()
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video", type=Path, help="video file to read (never modified)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/contact_sheets"))
    parser.add_argument("--start", type=int, default=0, help="first frame (0-based)")
    parser.add_argument("--end", type=int, default=None, help="last frame, inclusive")
    parser.add_argument("--per-sheet", type=int, default=12, help="frames per PNG")
    parser.add_argument("--cols", type=int, default=3, help="tiles per row")
    parser.add_argument("--scale", type=float, default=2.0, help="zoom factor of the crop")
    parser.add_argument(
        "--crop",
        type=int,
        nargs=4,
        metavar=("X0", "Y0", "X1", "Y1"),
        default=DEFAULT_CROP,
        help="region in full-frame pixels",
    )
    parser.add_argument(
        "--ruler", type=int, default=0, help="draw a pixel ruler every N full-frame px (0: off)"
    )
    parser.add_argument(
        "--enhance", action="store_true", help="boost local contrast (dark sole on dark belt)"
    )
    args = parser.parse_args(argv)
    paths = write_sheets(
        args.video,
        args.out,
        args.start,
        args.end,
        args.per_sheet,
        args.cols,
        tuple(args.crop),
        args.scale,
        args.ruler,
        args.enhance,
    )
    print(f"wrote {len(paths)} sheet(s) to {args.out}")


if __name__ == "__main__":
    main()
