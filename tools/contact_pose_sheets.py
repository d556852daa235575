"""Render zoomed, ruled crops for hand-labelling hip/knee/ankle centres at foot contacts.

Why this exists: ``tests/fixtures/treadmill_side_male_contact_poses.json`` holds joint centres
placed by a person looking at pixels, to score the pose pipeline's knee-flexion and
ankle-ahead-of-hip at initial contact. A pose model must not be involved, so this script only
decodes and draws with OpenCV. For every labelled contact (frame f from
``treadmill_side_male_contacts.json``) it writes:

* ``cNN_<leg>_f<f>_leg.png``: frames f-1 and f side by side, the contacting leg cropped and
  enlarged, with a pixel grid whose ticks are full-frame coordinates (minor line every 10 px,
  labelled line every 50 px);
* ``cNN_<leg>_f<f>_joints.png`` (once labels exist): 3.3x (hip) and 5x (knee, ankle) close-ups in
  both frames, with the labelled point drawn as an open cross (gap in the middle so the pixel
  under it stays visible) and the thigh and shank lines, to check and adjust the guesses.

With ``--toe-offs`` it instead writes one sheet per toe-off: frames L-1..L+2 around the
existing ``frame_last_on_belt`` L, the rear foot and belt enlarged, with the same grid.

Usage::

    python tools/contact_pose_sheets.py ../shared/data/videos/treadmill_side_male.mp4
    python tools/contact_pose_sheets.py VIDEO --only 0 1 --out /tmp/cps   # contacts 0 and 1
    python tools/contact_pose_sheets.py VIDEO --toe-offs --out /tmp/cps_toe
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
CONTACTS = FIXTURES / "treadmill_side_male_contacts.json"
LABELS = FIXTURES / "treadmill_side_male_contact_poses.json"
JOINTS = ("hip", "knee", "ankle")
COLORS = {"hip": (255, 0, 255), "knee": (0, 255, 255), "ankle": (0, 128, 255)}
# Leg region at contact when no labels exist yet (full-frame px, found by viewing frames).
DEFAULT_LEG_CROP = (170, 835, 390, 1230)
# Rear foot and belt around toe-off.
TOE_CROP = (330, 1120, 650, 1265)


def load_frames(video: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    """Decode the clip sequentially and keep the wanted frames (0-based)."""
    cap = cv2.VideoCapture(str(video))
    frames: dict[int, np.ndarray] = {}
    index = 0
    while wanted - frames.keys():
        ok, frame = cap.read()
        if not ok:
            break
        if index in wanted:
            frames[index] = frame
        index += 1
    cap.release()
    return frames


def ruled_crop(frame: np.ndarray, crop: tuple[int, int, int, int], scale: float, step: int = 10):
    """Crop, enlarge and draw a grid every ``step`` px, labelled in full-frame coordinates."""
    x0, y0, x1, y1 = crop
    h, w = frame.shape[:2]
    pad = np.zeros((y1 - y0, x1 - x0, 3), np.uint8)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    pad[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = frame[sy0:sy1, sx0:sx1]
    img = cv2.resize(pad, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    overlay = img.copy()
    for v in range((x0 // step + 1) * step, x1, step):
        xx = round((v - x0 + 0.5) * scale)
        major = v % (5 * step) == 0
        cv2.line(overlay, (xx, 0), (xx, img.shape[0]), (255, 160, 0), 2 if major else 1)
        if major:
            cv2.putText(img, str(v), (xx + 2, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 200, 0))
    for v in range((y0 // step + 1) * step, y1, step):
        yy = round((v - y0 + 0.5) * scale)
        major = v % (5 * step) == 0
        cv2.line(overlay, (0, yy), (img.shape[1], yy), (0, 200, 255), 2 if major else 1)
        if major:
            cv2.putText(img, str(v), (2, yy - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 220, 255))
    return cv2.addWeighted(overlay, 0.25, img, 0.75, 0)


def to_px(p, crop, scale) -> tuple[int, int]:
    return round((p[0] - crop[0] + 0.5) * scale), round((p[1] - crop[1] + 0.5) * scale)


def draw_pose(img: np.ndarray, pose: dict, crop, scale: float) -> None:
    """Thigh and shank as thin lines, each joint as an open cross (centre left unpainted)."""
    pts = {j: to_px(pose[j], crop, scale) for j in JOINTS if j in pose}
    if len(pts) == 3:
        cv2.line(img, pts["hip"], pts["knee"], (255, 255, 255), 1, cv2.LINE_AA)
        cv2.line(img, pts["knee"], pts["ankle"], (255, 255, 255), 1, cv2.LINE_AA)
    for j, (x, y) in pts.items():
        g, r = max(3, round(1.5 * scale)), max(10, round(5 * scale))
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            cv2.line(img, (x + g * dx, y + g * dy), (x + r * dx, y + r * dy), COLORS[j], 2)


def caption(img: np.ndarray, text: str) -> np.ndarray:
    cv2.rectangle(img, (0, img.shape[0] - 24), (12 + 11 * len(text), img.shape[0]), 0, -1)
    cv2.putText(img, text, (4, img.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255,) * 3, 1)
    cv2.rectangle(img, (0, 0), (img.shape[1] - 1, img.shape[0] - 1), (255, 255, 255), 1)
    return img


def leg_crop(poses: list[dict]) -> tuple[int, int, int, int]:
    pts = [p[j] for p in poses for j in JOINTS if j in p]
    if not pts:
        return DEFAULT_LEG_CROP
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    cx = round(min(xs) + max(xs)) // 2
    return cx - 110, round(min(ys)) - 70, cx + 110, round(max(ys)) + 50


def contact_sheets(frames, contacts, labels, out: Path, only, scale: float) -> None:
    for i, c in enumerate(contacts):
        if only and i not in only:
            continue
        f = c["frame_first_on_belt"]
        pair = [k for k in (f - 1, f) if k in frames]
        lab = labels.get(i, {}).get("frames", {})
        poses = [lab.get(str(k), {}) for k in pair]
        crop = leg_crop(poses)
        tiles = []
        for k, pose in zip(pair, poses, strict=True):
            img = ruled_crop(frames[k], crop, scale)
            if pose:
                draw_pose(img, pose, crop, scale)
            tiles.append(caption(img, f"c{i} {c['leg']} f{k}"))
        stem = f"c{i:02d}_{c['leg']}_f{f}"
        cv2.imwrite(str(out / f"{stem}_leg.png"), np.hstack(tiles))
        if not any(poses):
            continue
        rows = []
        for k, pose in zip(pair, poses, strict=True):
            row = []
            for j in JOINTS:
                x, y = pose[j]
                half = 45 if j == "hip" else 30
                box = (round(x) - half, round(y) - half, round(x) + half, round(y) + half)
                zs = 300 / (2 * half)
                img = ruled_crop(frames[k], box, zs, 10)
                draw_pose(img, pose, box, zs)
                row.append(caption(img, f"f{k} {j} {x:.0f},{y:.0f}"))
            rows.append(np.hstack(row))
        cv2.imwrite(str(out / f"{stem}_joints.png"), np.vstack(rows))


def toe_off_sheets(frames, toe_offs, out: Path, scale: float) -> None:
    for i, t in enumerate(toe_offs):
        last = t["frame_last_on_belt"]
        ks = [k for k in range(last - 1, last + 3) if k in frames]
        crop = TOE_CROP
        tiles = [caption(ruled_crop(frames[k], crop, scale), f"{t['leg']} f{k}") for k in ks]
        tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 2)
        grid = np.vstack([np.hstack(tiles[r : r + 2]) for r in range(0, len(tiles), 2)])
        cv2.imwrite(str(out / f"toe{i:02d}_{t['leg']}_f{last}.png"), grid)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--out", type=Path, default=Path("/tmp/contact_pose_sheets"))
    parser.add_argument("--contacts", type=Path, default=CONTACTS)
    parser.add_argument("--labels", type=Path, default=LABELS, help="overlay these (if present)")
    parser.add_argument("--only", type=int, nargs="*", default=[], help="contact indices")
    parser.add_argument("--scale", type=float, default=2.2, help="zoom of the leg / toe sheets")
    parser.add_argument("--toe-offs", action="store_true", help="toe-off sheets instead")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    spec = json.loads(args.contacts.read_text())
    labels = {}
    if args.labels.exists():
        labels = dict(enumerate(json.loads(args.labels.read_text()).get("contacts", [])))
    if args.toe_offs:
        wanted = {
            k
            for t in spec["toe_offs"]
            for k in range(t["frame_last_on_belt"] - 1, t["frame_last_on_belt"] + 3)
        }
        toe_off_sheets(load_frames(args.video, wanted), spec["toe_offs"], args.out, args.scale)
    else:
        wanted = {
            k
            for c in spec["contacts"]
            for k in (c["frame_first_on_belt"] - 1, c["frame_first_on_belt"])
        }
        frames = load_frames(args.video, wanted)
        contact_sheets(frames, spec["contacts"], labels, args.out, set(args.only), args.scale)
    print(f"wrote sheets to {args.out}")


if __name__ == "__main__":
    main()
