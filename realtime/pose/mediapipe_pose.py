"""MediaPipe BlazePose (legacy `solutions` API of mediapipe 0.10.21) in tracking mode.

Why this API: mediapipe 0.10.21's wheel carries the BlazePose *full* model (complexity 1)
and its detector, so it runs with no network.  Complexity 0 and 2 are downloaded on first
use and fail offline; we turn that failure into a clear message.  The Tasks API would need
a separately downloaded `.task` file.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType

import numpy as np

from realtime.clock import now_ns
from realtime.config import PoseConfig
from realtime.errors import UserError
from realtime.pose.footflow import FootFlow
from realtime.types import Frame, PoseSample


def _quiet_native_logs() -> None:
    # MediaPipe's C++ (glog/absl) and TFLite print start-up chatter to stderr.
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Hide the C++ start-up warnings MediaPipe writes straight to fd 2.

    absl logs "before InitializeLog" regardless of GLOG_* settings, and they reach the
    user as five lines of noise on every run; only model creation and the first frame
    print them, so only those are wrapped.  REALTIME_NATIVE_LOGS=1 shows them.
    """
    if os.environ.get("REALTIME_NATIVE_LOGS") == "1":
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (e.g. captured by a test runner)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _pose_class(mp: ModuleType, threads: int) -> type:
    """`mp.solutions.pose.Pose`, or with `threads` > 0 a subclass whose two TFLite networks
    (person detector and landmarks) run XNNPACK on that many threads.

    The solutions API has no parameter for it: `Pose()` takes none, and its
    `calculator_params` reach only the calculators in `solution_base.CALCULATOR_TO_OPTIONS`
    (the InferenceCalculator is not one) and only top-level option fields, while the
    thread count is the nested `delegate.xnnpack.num_threads`.  What it does offer is the
    graph before it is built, in `SolutionBase._modify_calculator_options` (a private
    method of mediapipe 0.10.21, pinned in pyproject.toml): the subclass sets the option
    on every InferenceCalculator node there.  Without it, MediaPipe runs each network on
    1 thread on Linux and Windows desktops (its XNNPACK default).
    """
    pose_cls = mp.solutions.pose.Pose
    if threads <= 0:
        return pose_cls
    from mediapipe.calculators.tensor.inference_calculator_pb2 import (
        InferenceCalculatorOptions,
    )

    class ThreadedPose(pose_cls):  # type: ignore[misc, valid-type]
        def _modify_calculator_options(self, graph_config, calculator_params) -> None:
            super()._modify_calculator_options(graph_config, calculator_params)
            nodes = [n for n in graph_config.node
                     if n.calculator.startswith("InferenceCalculator")]
            if len(nodes) != 2:  # the graph is not the one this was written for
                raise RuntimeError(f"expected 2 InferenceCalculator nodes in the pose graph, "
                                   f"found {len(nodes)}: pose.threads cannot be set")
            for node in nodes:
                opts = node.options.Extensions[InferenceCalculatorOptions.ext]
                opts.delegate.xnnpack.num_threads = threads

    return ThreadedPose


class MediaPipePose:
    """PoseEstimator backed by mediapipe.solutions.pose (video mode: tracks between frames)."""

    def __init__(self, cfg: PoseConfig) -> None:
        _quiet_native_logs()
        try:
            import mediapipe as mp
        except ImportError as exc:  # pragma: no cover - install problem
            raise UserError(f"mediapipe is not installed ({exc}); run: pip install -e .") from None
        self.cfg = cfg
        self._first = True
        self._flow = FootFlow() if cfg.foot_flow else None
        try:
            with _native_stderr_silenced():
                self._pose = _pose_class(mp, cfg.threads)(
                    static_image_mode=False,
                    model_complexity=cfg.model_complexity,
                    smooth_landmarks=cfg.smooth_landmarks,
                    enable_segmentation=False,
                    min_detection_confidence=cfg.min_detection_confidence,
                    min_tracking_confidence=cfg.min_tracking_confidence,
                )
                # the graph starts its TFLite interpreters on its own threads, which log
                # after the constructor returns: one blank frame waits for them here
                self._pose.process(np.zeros((64, 64, 3), np.uint8))
        except Exception as exc:
            if cfg.model_complexity != 1:
                raise UserError(
                    f"pose.model_complexity = {cfg.model_complexity} needs a model that "
                    f"mediapipe downloads at run time, and that failed ({exc}); "
                    "use pose.model_complexity = 1 (bundled, works offline)"
                ) from None
            raise

    def estimate(self, frame: Frame) -> PoseSample:
        import cv2

        rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
        if self._first:  # the first frame starts the graph: more native chatter
            self._first = False
            with _native_stderr_silenced():
                result = self._pose.process(rgb)
        else:
            result = self._pose.process(rgb)
        t_pose = now_ns()
        if result.pose_landmarks is None:
            if self._flow is not None:
                self._flow.reset()
            return PoseSample.no_pose(frame.seq, frame.t_capture_ns, t_pose, frame.size)
        lm = np.array(
            [(p.x, p.y, p.z, p.visibility) for p in result.pose_landmarks.landmark], np.float32
        )
        flow = None
        if self._flow is not None:
            flow = self._flow.measure(frame.image, frame.t_capture_ns, lm)
            t_pose = now_ns()
        world = None
        if result.pose_world_landmarks is not None:
            world = np.array(
                [(p.x, p.y, p.z) for p in result.pose_world_landmarks.landmark], np.float32
            )
        return PoseSample(frame.seq, frame.t_capture_ns, t_pose, lm, world, frame.size,
                          foot_flow=flow)

    def close(self) -> None:
        with _native_stderr_silenced():  # the graph's shutdown chatter
            self._pose.close()
