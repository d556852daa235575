"""Can BlazePose see the far knee at the top of its swing?  Four ways of running it, scored.

    python tools/far_knee_modes.py [--labels tests/fixtures/treadmill_side_male_swings.json]

Why: on the shared side-view clip the far (right) leg's knee drive is trusted in only 7 of
16 judged swings, because at the far thigh's peak BlazePose draws the far knee on the near
one (condition.fold_repair gates it out, swing.py withholds the peak).  Before building a
far-knee detector, this checks whether the pose model itself can place that knee when run
another way: in video mode as the product runs it, in static-image mode (no tracking from
the previous frame), without landmark smoothing, and on the mirrored frame (the runner
then faces the other way).  For every labelled swing peak it takes the thigh angle from
the labelled hip joint centre to the model's knee (its own leg's, and the better of its
two knees, in case the model swapped them) and prints how far that is from the labelled
thigh angle.  The labels were placed by eye, independent of any model
(tests/fixtures/README.md).  About 15 s of model time per mode on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from realtime.validation.datadir import data_dir
from tools.contact_sheets import read_frames

MODES = {  # name: (static_image_mode, smooth_landmarks, mirrored)
    "video (as the product)": (False, True, False),
    "static image": (True, True, False),
    "no smoothing": (False, False, False),
    "mirrored": (False, True, True),
}
KNEE = {"L": 25, "R": 26}


def landmarks(frames: list[np.ndarray], static: bool, smooth: bool, mirrored: bool
              ) -> np.ndarray:
    """[T, 33, 2] knee-and-all landmarks in pixels (NaN where no pose)."""
    import mediapipe as mp

    h, w = frames[0].shape[:2]
    out = np.full((len(frames), 33, 2), np.nan)
    with mp.solutions.pose.Pose(static_image_mode=static, model_complexity=1,
                                smooth_landmarks=smooth) as pose:
        for i, fr in enumerate(frames):
            img = cv2.flip(fr, 1) if mirrored else fr
            res = pose.process(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            if res.pose_landmarks is None:
                continue
            xy = np.array([(p.x, p.y) for p in res.pose_landmarks.landmark])
            if mirrored:
                xy[:, 0] = 1.0 - xy[:, 0]
            out[i] = xy * (w, h)
    return out


def thigh_deg(hip: np.ndarray, knee: np.ndarray) -> float:
    """From straight down, forward (image-left, the way this runner faces) positive."""
    return math.degrees(math.atan2(-(knee[0] - hip[0]), knee[1] - hip[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", type=Path,
                    default=Path("tests/fixtures/treadmill_side_male_swings.json"))
    args = ap.parse_args()
    lab = json.loads(args.labels.read_text())
    if lab.get("facing", "left") != "left":
        raise SystemExit(f"{args.labels}: only a runner facing image-left is handled here")
    frames = [img for _i, img in read_frames(data_dir() / lab["clip"], 0, None)]
    print(f"{lab['clip']}: {len(frames)} frames; thigh angle (labelled hip -> model knee) "
          "minus the labelled one at each swing peak, deg")
    for name, (static, smooth, mirrored) in MODES.items():
        lm = landmarks(frames, static, smooth, mirrored)
        for leg in ("L", "R"):
            own, best = [], []
            for s in lab["swings"]:
                if s["leg"] != leg:
                    continue
                f = str(s["peak_frame"])
                hip, knee = np.array(s["frames"][f]["hip"]), np.array(s["frames"][f]["knee"])
                truth = thigh_deg(hip, knee)
                errs = [thigh_deg(hip, lm[int(f), KNEE[g]]) - truth for g in ("L", "R")]
                own.append(errs[0 if leg == "L" else 1])
                best.append(min(errs, key=abs))
            o, b = np.asarray(own), np.asarray(best)
            print(f"  {name:>22}, {leg} ({len(o)} peaks): own knee median {np.median(o):+6.1f}, "
                  f"more than 8 off in {int(np.sum(np.abs(o) > 8))}; better of both knees "
                  f"more than 8 off in {int(np.sum(np.abs(b) > 8))}")


if __name__ == "__main__":
    main()
