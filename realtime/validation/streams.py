"""A trial's synthetic pose streams: its motion-capture truth through the virtual camera,
with a stable seed per stream (so a rerun gives the same phases and noise).

Used by the scoring (`score`), the calibration (`calibrate`) and the two-view check
(`twoview`); kept apart so that the calibration and the scoring do not import each other.
"""

from __future__ import annotations

import zlib

import numpy as np

from realtime.pose.stream import PoseStream
from realtime.types import GaitEvent, Step, View
from realtime.validation.catalog import load_truth
from realtime.validation.project import (
    BLAZEPOSE_HIPS,
    Camera,
    Facing,
    SyntheticStream,
    synthesize,
)


def seed_for(trial: str, view: str, fps: float, noise_px: float, facing: str,
             seed: int) -> int:
    """A stable per-stream seed, so a rerun gives the same phases and noise."""
    return zlib.crc32(f"{trial}|{view}|{fps:g}|{noise_px:g}|{facing}|{seed}".encode())


def make_stream(
    trial: str, view: View = "side", fps: float = 30.0, noise_px: float = 2.0,
    facing: Facing = "left", seed: int = 0, blazepose_hips: bool = True,
) -> tuple[PoseStream, list[Step], tuple[GaitEvent, ...]]:
    """A synthetic pose stream of a mocap trial and its true steps and events (both on
    the motion capture's clock); `blazepose_hips` draws the side view's hips where
    BlazePose does (else at the joint centres)."""
    syn = synthesize_trial(trial, view, fps, noise_px, facing, seed, blazepose_hips)
    return syn.stream, list(syn.steps), syn.events


def synthesize_trial(trial: str, view: View, fps: float, noise_px: float, facing: Facing,
                     seed: int, blazepose_hips: bool = True) -> SyntheticStream:
    """The trial through the virtual camera the validation scores (hips drawn where
    BlazePose draws them, unless `blazepose_hips` is False)."""
    rng = np.random.default_rng(seed_for(trial, view, fps, noise_px, facing, seed))
    cam = Camera(view=view, facing=facing,
                 hip_back=BLAZEPOSE_HIPS if blazepose_hips else (0.0, 0.0))
    return synthesize(load_truth(trial), cam, fps, noise_px, rng)
