"""The session's summary: summary.json of a one- or two-camera live session, and the lines
printed when it ends.

One camera: that camera's own summary (`Session.summary`) with its live latency and
dropped frames.  Two: the fused rows' summary on the side's events, the clock offset,
each camera's own summary under "views", and which metrics a lost camera left
unavailable.  Both: the thresholds as they ended, the plan, the runner's absences, the
camera gaps, the calibration, and why the session ended.
"""

from __future__ import annotations

from pathlib import Path

from realtime.config import Config, as_dict
from realtime.feedback.cues import PlanClock
from realtime.live.channel import Channel
from realtime.live.cue_routing import CueController
from realtime.live.fusion import TwoViewFusion
from realtime.metrics.twoview import ClockOffset
from realtime.pipeline import two_view_summary
from realtime.types import VIEW_METRICS, Step


def view_summary(ch: Channel, fps: float, live_timing: bool) -> dict:
    """One camera's summary.json part, with its live latency and dropped frames."""
    session = ch.session
    assert session is not None
    out = session.summary(fps_processing=fps, live_timing=live_timing)
    if live_timing:
        out["processing"]["latency"]["capture_to_display"] = ch.capture_to_display.summary()
    out["processing"]["dropped_frames"] = ch.source.dropped
    out["processing"]["dropped_while_starting"] = ch.dropped_at_start
    return out


def two_views_summary(channels: list[Channel], fusion: TwoViewFusion, min_pairs: int,
                      live_timing: bool) -> dict:
    """Two cameras: the fused rows, the clock offset, each view's own part."""
    side = channels[0].session
    assert side is not None
    offset = ClockOffset(0.0, 0.0, 0, 0.0, source="shared clock") if fusion.clock_known \
        else fusion.offset
    out = two_view_summary(side, fusion.rows, fusion.fuser, offset, min_pairs)
    if fusion.clock_known:  # the gait's own estimate, as a check of the shared clock
        check = fusion.estimate_offset(window=False, apply=False)
        if check is not None:
            out["clock_offset_measured_s"] = round(check.offset_s, 4)
            out["clock_offset_measured_uncertainty_s"] = round(check.uncertainty_s, 4)
    out["views"] = {}
    for ch in channels:
        assert ch.session is not None
        span = ch.t_last - ch.t_first if ch.t_last == ch.t_last else 0.0
        v = view_summary(ch, (ch.session.frames - 1) / span if span > 0 else 0.0, live_timing)
        if ch.lost:
            v["unavailable"] = ch.lost
        out["views"][ch.view] = v
    lost = [ch for ch in channels if ch.ended and ch.error]
    out["unavailable"] = [f"{m} ({ch.view} camera lost)" for ch in lost
                          for m in VIEW_METRICS[ch.view]]
    out["processing"] = {"fps": {ch.view: out["views"][ch.view]["processing"]["fps"]
                                 for ch in channels},
                         "dropped_frames": sum(ch.source.dropped for ch in channels),
                         "dropped_while_starting": sum(ch.dropped_at_start
                                                       for ch in channels)}
    assert side is not None
    out["frames"] = side.frames
    return out


def session_summary(channels: list[Channel], fusion: TwoViewFusion | None, *, cfg: Config,
                    cues: CueController, plan: PlanClock, live_timing: bool,
                    elapsed_s: float, t_start: float, end_reason: str,
                    session_id: int | None, error: str | None) -> dict:
    """summary.json of a live session (`t_start`: monotonic, when the workers started)."""
    main = channels[0]
    session = main.session
    assert session is not None
    if fusion is None:
        summary = view_summary(main, session.frames / elapsed_s if elapsed_s else 0.0,
                               live_timing)
    else:
        summary = two_views_summary(channels, fusion, cfg.two_view.offset_min_pairs,
                                    live_timing)
    summary["cues"] = sum(len(ch.session.cues) for ch in channels)  # type: ignore[union-attr]
    summary["thresholds"] = as_dict(cues.cues_cfg)  # as they ended (hotkeys)
    summary["t0_s"] = plan.t0_s  # the plan's phases count from here
    if plan.pauses:
        summary["runner_away_s"] = [[round(a, 3), round(b, 3)] for a, b in plan.pauses]
    if end_reason:
        summary["ended"] = end_reason
    gaps = {ch.view: [[round(a - t_start, 3), None if b != b else round(b - t_start, 3)]
                      for a, b in getattr(ch.source, "gaps", [])] for ch in channels}
    if any(gaps.values()):  # seconds since the session started: lost, back (None: not)
        summary["camera_gaps_s"] = gaps
    summary["plan"] = as_dict(cfg.drill)
    if cues.calibration is not None:
        summary["calibration"] = cues.calibration.as_dict()
    if session_id is not None:
        summary["session_id"] = session_id
    if error:
        summary["error"] = error
    return summary


def phased_steps(rows: list[Step], plan: PlanClock) -> list[tuple[str, Step]]:
    """(phase, step) of every steps.csv row, for the end screen."""
    return [(plan.name_at(s.t_contact_s), s) for s in rows]


def print_summary(summary: dict, out_dir: Path) -> None:
    """The lines `realtime run` prints at the end: frames, steps, cadence, cues, each
    camera's rate, and what to look at."""
    cad = summary.get("cadence_spm")
    cad_txt = f"{cad:.1f} steps/min" if isinstance(cad, float) and cad == cad else "n/a"
    dropped = summary.get("processing", {}).get("dropped_frames", 0)
    at_start = summary.get("processing", {}).get("dropped_while_starting", 0)
    print(f"session: {summary.get('frames', 0)} frames, {summary.get('steps', 0)} steps, "
          f"cadence {cad_txt}, {summary.get('cues', 0)} cues, "
          f"{dropped} stale frames dropped ({at_start} while the pose model started); "
          f"saved in {out_dir}")
    views = summary.get("views")
    if views:
        for v, vs in views.items():
            pr = vs.get("processing", {})
            print(f"  {v} camera: {vs.get('frames', 0)} frames at {pr.get('fps', 0):.1f} fps, "
                  f"{pr.get('dropped_frames', 0)} dropped, {vs.get('steps', 0)} steps"
                  + (f"; {vs['unavailable']}" if vs.get("unavailable") else ""))
        fu = summary.get("fusion", {})
        off = summary.get("clock_offset_s")
        print(f"  steps.csv: {fu.get('rows', 0)} rows, {fu.get('both_views', 0)} seen by both "
              "cameras; clock offset " + ("unknown" if off is None else
                                          f"{off:+.3f} s ({summary['clock_offset_source']})"))
        for item in summary.get("unavailable", []):
            print(f"note: unavailable: {item}")
    from realtime.metrics import warnings

    for line in warnings(summary):
        print(f"note: {line}")
