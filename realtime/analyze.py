"""`realtime analyze`: a video or pose-stream file -> pose.npz, steps.csv, summary.json.

Every frame is processed, as fast as the machine allows; decoding runs ahead in its own
thread.  Re-analysing the written pose.npz reproduces steps.csv and the metric part of
summary.json exactly, because the stream stores the very times and landmarks used here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from realtime.capture import VideoFileSource
from realtime.clock import now_ns
from realtime.config import Config, PoseConfig
from realtime.errors import UserError
from realtime.feedback.cues import PlanClock
from realtime.feedback.steps_csv import StepsCsvSink
from realtime.outdir import prepare_out_dir
from realtime.pipeline import (
    VIDEO_SUFFIXES,
    ModelPoses,
    PoseSource,
    RecordedPoses,
    Session,
    settle_memory,
    two_view_summary,
    write_json,
)
from realtime.pose import stream as pose_stream
from realtime.store.recorder import StoreRecorder, StoreTarget
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


def open_input(path: Path, cfg: Config, view: View | None, realtime: bool = False,
               pose: PoseConfig | None = None) -> tuple[PoseSource, View, bool]:
    """A PoseSource for a video or a pose stream, its view, and whether it runs the model
    (with `pose`, or `cfg.pose`: a two-camera session's rear has its own threads)."""
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
    pose_cfg = pose or cfg.pose
    return ModelPoses(frames, lambda: MediaPipePose(pose_cfg)), view or "side", True


def _drive(source: PoseSource, session: Session, progress: bool, label: str) -> float:
    """Feed every sample of `source` to `session` (a progress bar if asked); returns the
    seconds it took."""
    total = getattr(getattr(source, "frames", None), "frame_count", 0) or len(
        getattr(source, "stream", ())
    )
    t0 = now_ns()
    if progress:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        columns = (TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(),
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
    return (now_ns() - t0) * 1e-9


def analyze(
    input_path: str | Path,
    out_dir: str | Path,
    cfg: Config,
    view: View | None = None,
    progress: bool = True,
    rear: str | Path | None = None,
    store: StoreTarget | None = None,
    force: bool = False,
) -> AnalysisResult:
    """One view, or a side and a `rear` recording of the same run (see analyze_two).

    steps.csv's last column is each step's phase of the drill plan (`[drill]`, counted
    from the recording's first frame).  With `store`, the session and its steps go into
    the session store too (kind "analyze")."""
    if rear is not None:
        if view not in (None, "side"):
            raise UserError("with --rear, INPUT is the side view (drop --view rear)")
        return analyze_two(input_path, rear, out_dir, cfg, progress, store, force)
    from realtime.metrics import warmup

    input_path, out_dir = Path(input_path), Path(out_dir)
    source, view, uses_model = open_input(input_path, cfg, view)
    prepare_out_dir(out_dir, force)
    warmup()
    source.start()
    plan = PlanClock(cfg.drill)
    sid, recorder = _begin(store, cfg, input_path, [view], out_dir, plan)
    session = Session(
        cfg, view, source.size, source.fps,
        sinks=[StepsCsvSink(out_dir / "steps.csv", plan.name_at),
               *([recorder] if recorder is not None else [])],
        record=uses_model, plan=plan,
    )
    settle_memory()
    try:
        seconds = _drive(source, session, progress, "analyze")
    finally:
        source.stop()
        session.close()
        # Whatever happened, keep the poses already computed (they are the expensive part).
        if session.recorder is not None and len(session.recorder):
            session.recorder.save(out_dir / "pose.npz")
    fps = session.frames / seconds if seconds > 0 else 0.0
    summary = session.summary(fps_processing=fps)
    summary["input"] = str(input_path)
    _end(store, sid, recorder, summary, plan, cfg)
    write_json(out_dir / "summary.json", summary)
    return AnalysisResult(session.frames, session.frames_with_pose, len(session.steps), seconds,
                          fps, out_dir, summary)


def _begin(store: StoreTarget | None, cfg: Config, source: Path, views: list[str],
           out_dir: Path, plan: PlanClock) -> tuple[int | None, StoreRecorder | None]:
    """The session's row in the store and its step recorder (None without a store)."""
    if store is None:
        return None, None
    from realtime.config import as_dict

    store = dataclasses.replace(store, source=str(source))
    return store.begin("analyze", as_dict(cfg), views, out_dir, cfg.cues.session_index,
                       plan.name_at)


def _end(store: StoreTarget | None, sid: int | None, recorder: StoreRecorder | None,
         summary: dict, plan: PlanClock, cfg: Config) -> None:
    from realtime.config import as_dict

    summary["t0_s"] = plan.t0_s
    summary["plan"] = as_dict(plan.drill)
    summary["thresholds"] = as_dict(cfg.cues)
    if store is None or sid is None or recorder is None:
        return
    recorder.drain()
    summary["session_id"] = sid
    if plan.t0_s is not None:
        store.store.set_t0(sid, plan.t0_s)
    store.store.end_session(sid, summary, failed=recorder.error is not None)


def analyze_two(side_path: str | Path, rear_path: str | Path, out_dir: str | Path,
                cfg: Config, progress: bool = True, store: StoreTarget | None = None,
                force: bool = False) -> AnalysisResult:
    """A side and a rear recording of the same run -> one steps.csv row per step.

    Each view is analysed on its own (steps_side.csv, steps_rear.csv, and pose.npz /
    pose_rear.npz for videos); the rear-minus-side clock offset is estimated from the
    gait; the steps are fused on the side's clock (steps.csv) and summary.json holds the
    fused medians, `clock_offset_s` with its uncertainty, and each view's own summary.
    """
    from realtime.metrics import warmup, write_steps_csv
    from realtime.metrics.twoview import BodyTraceRecorder, estimate_clock_offset, fuse_steps

    side_path, rear_path, out_dir = Path(side_path), Path(rear_path), Path(out_dir)
    sources = {"side": open_input(side_path, cfg, "side"),
               "rear": open_input(rear_path, cfg, "rear",
                                  pose=cfg.two_view.rear_pose(cfg.pose))}
    prepare_out_dir(out_dir, force)
    warmup()
    plan = PlanClock(cfg.drill)
    sid, recorder = _begin(store, cfg, side_path, ["side", "rear"], out_dir, plan)
    sessions: dict[str, Session] = {}
    seconds = 0.0
    for v, (source, _, uses_model) in sources.items():
        source.start()
        session = Session(cfg, v, source.size, source.fps,  # type: ignore[arg-type]
                          sinks=[StepsCsvSink(out_dir / f"steps_{v}.csv", plan.name_at)],
                          record=uses_model, body=BodyTraceRecorder(),
                          plan=plan if v == "side" else None)
        sessions[v] = session
        settle_memory()
        try:
            seconds += _drive(source, session, progress, f"analyze {v}")
        finally:
            source.stop()
            session.close()
            if session.recorder is not None and len(session.recorder):
                session.recorder.save(out_dir / POSE_FILES[v])
    side, rear = sessions["side"], sessions["rear"]
    assert side.body is not None and rear.body is not None
    offset = estimate_clock_offset(side.analyzer.events, rear.analyzer.events, cfg.two_view,
                                   side.body.trace(), rear.body.trace())
    rows, fuser = fuse_steps(side.steps, rear.steps, offset.offset_s if offset else 0.0,
                             cfg.two_view)
    write_steps_csv(out_dir / "steps.csv", rows, [plan.name_at(r.t_contact_s) for r in rows])
    if recorder is not None:
        for row in rows:
            recorder.on_step(row, ())
    frames = side.frames + rear.frames
    fps = frames / seconds if seconds > 0 else 0.0
    summary = two_view_summary(side, rows, fuser, offset, cfg.two_view.offset_min_pairs)
    summary["views"] = {v: s.summary(fps_processing=fps) for v, s in sessions.items()}
    summary["processing"] = {"fps": round(fps, 2)}
    summary["input"] = {"side": str(side_path), "rear": str(rear_path)}
    _end(store, sid, recorder, summary, plan, cfg)
    write_json(out_dir / "summary.json", summary)
    return AnalysisResult(frames, side.frames_with_pose + rear.frames_with_pose, len(rows),
                          seconds, fps, out_dir, summary)


POSE_FILES = {"side": "pose.npz", "rear": "pose_rear.npz"}
