"""Pixel evidence of the feet: how each foot's pixels moved since the previous frame.

Why: BlazePose puts a runner's feet on the belt 40-60 ms before the pixels show the
landing, and its ankle trajectory is smooth where the real shoe stops dead.  What a
camera does see is the planted shoe being dragged backwards at belt speed (the contact
labels' own rule, tests/fixtures/README.md).  So, per frame and per foot, corner features
inside a box around the foot's landmarks (ankle, heel, toe) are tracked back into the
previous frame with OpenCV's pyramidal Lucas-Kanade flow (with a forward-backward
check), and their median displacement over the frame interval is the foot's velocity.

It runs in the pose stage, where the frame is, and the result travels in the
`PoseSample` and the pose stream (`foot_flow`), so re-analysing a recorded `pose.npz`
gives the same steps as the live run.  Cost: ~2 ms a frame for both feet (a tenth of
the model's time; `python bench/bench_footflow.py`).

One row per leg, in BlazePose's own labelling (the metrics stage repairs swapped legs,
and swaps these rows with them): vx, vy in image widths / heights per second (x right,
y down, like the landmarks), the number of features that agreed, and their spread (the
median absolute deviation of their horizontal displacement, image widths per second).
NaN where nothing could be measured (first frame, no pose, too few features).
"""

from __future__ import annotations

import math

import numpy as np

from realtime.types import Landmark

FLOW_COLS = 4  # vx, vy, features, spread
FOOT_POINTS: tuple[tuple[int, int, int], tuple[int, int, int]] = (
    (Landmark.LEFT_ANKLE, Landmark.LEFT_HEEL, Landmark.LEFT_FOOT_INDEX),
    (Landmark.RIGHT_ANKLE, Landmark.RIGHT_HEEL, Landmark.RIGHT_FOOT_INDEX),
)
MIN_FEATURES = 4  # fewer agreeing features than this: no measurement
SEARCH_PX = 64  # margin of the crop both frames are cut to: the largest motion tracked
FB_MAX_PX = 1.0  # a feature that does not come back within this is a mismatch


def no_flow() -> np.ndarray:
    """The value for a frame where nothing could be measured."""
    return np.full((2, FLOW_COLS), np.nan, np.float32)


def foot_box(lm: np.ndarray, leg: int, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """Pixel box (x0, y0, x1, y1) around one foot's landmarks, padded by a third of the
    foot's extent (the shoe reaches past the landmarks); None if a point is missing."""
    w, h = size
    idx = list(FOOT_POINTS[leg])
    xs = lm[idx, 0] * w
    ys = lm[idx, 1] * h
    if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
        return None
    ext = max(float(np.ptp(xs)), float(np.ptp(ys)), 8.0)
    pad = 0.35 * ext + 4.0
    x0 = max(0, int(xs.min() - pad))
    y0 = max(0, int(ys.min() - pad))
    x1 = min(w, math.ceil(xs.max() + pad))
    y1 = min(h, math.ceil(ys.max() + pad))
    if x1 - x0 < 6 or y1 - y0 < 6:
        return None
    return x0, y0, x1, y1


class FootFlow:
    """Measures each foot's pixel velocity frame by frame (keeps the previous frame).

    `measure` must see the frames in order; a frame that did not reach the pose stage
    (dropped by a live camera's newest-only slot) simply makes the interval longer.
    """

    def __init__(self, max_features: int = 30) -> None:
        import cv2

        self._cv2 = cv2
        self.max_features = max_features
        self._prev: np.ndarray | None = None  # previous BGR frame (never written to)
        self._prev_t_ns = 0
        self._lk = {
            "winSize": (15, 15),
            "maxLevel": 3,
            "criteria": (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03),
        }

    def reset(self) -> None:
        self._prev = None

    def measure(self, image: np.ndarray, t_ns: int, lm: np.ndarray) -> np.ndarray:
        """float32 [2, FLOW_COLS] for this frame (BGR `image`, its time, its landmarks)."""
        out = no_flow()
        prev, prev_t = self._prev, self._prev_t_ns
        self._prev, self._prev_t_ns = image, t_ns
        if prev is None or prev.shape != image.shape or t_ns <= prev_t:
            return out
        h, w = image.shape[:2]
        boxes = [foot_box(lm, leg, (w, h)) for leg in (0, 1)]
        found = [b for b in boxes if b is not None]
        if not found:
            return out
        # one crop holding both feet and the search margin, grey, from both frames
        cx0 = max(0, min(b[0] for b in found) - SEARCH_PX)
        cy0 = max(0, min(b[1] for b in found) - SEARCH_PX)
        cx1 = min(w, max(b[2] for b in found) + SEARCH_PX)
        cy1 = min(h, max(b[3] for b in found) + SEARCH_PX)
        cv2 = self._cv2
        cur = cv2.cvtColor(image[cy0:cy1, cx0:cx1], cv2.COLOR_BGR2GRAY)
        old = cv2.cvtColor(prev[cy0:cy1, cx0:cx1], cv2.COLOR_BGR2GRAY)
        dt = (t_ns - prev_t) * 1e-9
        # corner features of each foot, then one tracking pass for both feet each way
        # (each pass builds both images' pyramids: most of the cost)
        pts_all, owner = [], []
        for leg, box in enumerate(boxes):
            if box is None:
                continue
            x0, y0, x1, y1 = box[0] - cx0, box[1] - cy0, box[2] - cx0, box[3] - cy0
            found = cv2.goodFeaturesToTrack(cur[y0:y1, x0:x1], self.max_features, 0.02, 3)
            if found is None or len(found) < MIN_FEATURES:
                continue
            pts_all.append(found + np.array([x0, y0], np.float32))
            owner.append(np.full(len(found), leg))
        if not pts_all:
            return out
        pts = np.concatenate(pts_all)
        who = np.concatenate(owner)
        back, st, _ = cv2.calcOpticalFlowPyrLK(cur, old, pts, None, **self._lk)
        again, st2, _ = cv2.calcOpticalFlowPyrLK(old, cur, back, None, **self._lk)
        good = ((st[:, 0] == 1) & (st2[:, 0] == 1)
                & (np.linalg.norm(again - pts, axis=2)[:, 0] < FB_MAX_PX))
        for leg in (0, 1):
            sel = good & (who == leg)
            n = int(sel.sum())
            if n < MIN_FEATURES:
                continue
            d = (pts - back)[sel, 0]  # displacement previous -> current, px
            dx = float(np.median(d[:, 0]))
            dy = float(np.median(d[:, 1]))
            spread = float(np.median(np.abs(d[:, 0] - dx)))
            out[leg] = (dx / w / dt, dy / h / dt, n, spread / w / dt)
        return out
