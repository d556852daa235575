"""`realtime analyze`: a video or pose-stream file -> pose.npz, steps.csv, summary.json.

Every frame is processed, as fast as the machine allows; decoding runs ahead in its own
thread.  Re-analysing the written pose.npz reproduces steps.csv and the metric part of
summary.json exactly, because the stream stores the very times and landmarks used here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from realtime.capture import VideoFileSource
from realtime.clock import now_ns
from realtime.config import Config
from realtime.errors import UserError
from realtime.feedback.steps_csv import StepsCsvSink
from realtime.pipeline import (
    VIDEO_SUFFIXES,
    ModelPoses,
    PoseSource,
    RecordedPoses,
    Session,
    settle_memory,
    write_json,
)
from realtime.pose import stream as pose_stream
from realtime.types import View


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    frames: int
    frames_with_pose: int
    steps: int
    seconds: float
    fps: float
    out_dir: Path
    summary: dict


def open_input(path: Path, cfg: Config, view: View | None, realtime: bool = False
               ) -> tuple[PoseSource, View, bool]:
    """A PoseSource for a video or a pose stream, its view, and whether it runs the model."""
    if not path.exists():
        raise UserError(f"input not found: {path}")
    if path.suffix.lower() == ".npz":
        stream = pose_stream.load(path)
        if view is not None and view != stream.view:
            raise UserError(
                f"--view {view} contradicts {path}, which was recorded as a {stream.view} view"
            )
        return RecordedPoses(stream, realtime=realtime), stream.view, False
    if path.suffix.lower() not in VIDEO_SUFFIXES and not path.is_file():
        raise UserError(f"{path} is neither a video file nor a .npz pose stream")
    from realtime.pose.mediapipe_pose import MediaPipePose

    frames = VideoFileSource(path, realtime=realtime, queue_size=cfg.capture.replay_queue)
    return ModelPoses(frames, lambda: MediaPipePose(cfg.pose)), view or "side", True


def analyze(
    input_path: str | Path,
    out_dir: str | Path,
    cfg: Config,
    view: View | None = None,
    progress: bool = True,
) -> AnalysisResult:
    from realtime.metrics import warmup

    input_path, out_dir = Path(input_path), Path(out_dir)
    if (out_dir / "cues.csv").exists() or (out_dir / "pose.partial.bin").exists():
        raise UserError(f"{out_dir} holds a live session; analyze into another --out "
                        "(its pose.npz can be the input)")
    source, view, uses_model = open_input(input_path, cfg, view)
    warmup()
    source.start()
    out_dir.mkdir(parents=True, exist_ok=True)
    session = Session(
        cfg, view, source.size, source.fps, sinks=[StepsCsvSink(out_dir / "steps.csv")],
        record=uses_model,
    )
    total = getattr(getattr(source, "frames", None), "frame_count", 0) or len(
        getattr(source, "stream", ())
    )
    settle_memory()
    t0 = now_ns()
    try:
        if progress:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            columns = (TextColumn("[bold]analyze"), BarColumn(), MofNCompleteColumn(),
                       TextColumn("{task.fields[fps]:.1f} fps"), TimeRemainingColumn())
            with Progress(*columns, transient=False) as bar:
                task = bar.add_task("frames", total=total or None, fps=0.0)
                while (item := source.read(timeout=30.0)) is not None:
                    session.process(item[1])
                    if session.frames % 10 == 0:
                        dt = (now_ns() - t0) * 1e-9
                        bar.update(task, completed=session.frames, fps=session.frames / dt)
                bar.update(task, completed=session.frames)
        else:
            while (item := source.read(timeout=30.0)) is not None:
                session.process(item[1])
        session.finish()
    finally:
        source.stop()
        session.close()
        # Whatever happened, keep the poses already computed (they are the expensive part).
        if session.recorder is not None and len(session.recorder):
            session.recorder.save(out_dir / "pose.npz")
    seconds = (now_ns() - t0) * 1e-9
    fps = session.frames / seconds if seconds > 0 else 0.0
    summary = session.summary(fps_processing=fps)
    summary["input"] = str(input_path)
    write_json(out_dir / "summary.json", summary)
    return AnalysisResult(session.frames, session.frames_with_pose, len(session.steps), seconds,
                          fps, out_dir, summary)
