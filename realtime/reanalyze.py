"""`realtime reanalyze`: stored sessions re-measured with the current metrics version.

When the metrics stage improves (realtime.metrics.version.METRICS_VERSION goes up), old
sessions are re-measured from their pose streams (pose.npz in the session folder) so
they can be compared with new ones.  Each session is one job in a process pool (the
metrics kernel is single-threaded numba, so processes use every core); the parent alone
writes to the store.  The new steps are added under the new version and the session then
shows them; the previous rows stay under their own version (nothing is deleted).

Steps are re-measured with this program's metrics and default metrics settings (the
point is one measurement for all sessions); each step's phase comes from the session's
own plan, as when it was recorded.  The pose stream is the folder's pose.npz, or the
.npz file a session was analysed from.  Two-camera sessions are not re-analysed yet (the
fusion of the two views needs the clock offset search of `analyze --rear`): they are
listed as skipped.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from realtime.errors import UserError
from realtime.store.db import SessionRow, Store
from realtime.types import Step


@dataclass(frozen=True, slots=True)
class Job:
    """One session to re-measure (what a worker process needs, picklable)."""

    session_id: int
    pose: str
    config: dict
    t0_s: float


@dataclass(frozen=True, slots=True)
class Outcome:
    """What `reanalyze` did."""

    version: str
    done: tuple[int, ...]
    current: tuple[int, ...]  # already measured by this version
    no_pose: tuple[int, ...]  # no pose.npz in the session folder
    two_view: tuple[int, ...]
    failed: tuple[tuple[int, str], ...]
    steps: int
    seconds: float


def current_version() -> str:
    """Read at call time, so a bumped constant (or a test's) is what is written."""
    from realtime.metrics import version

    return version.METRICS_VERSION


def _measure(job: Job) -> tuple[int, list[tuple[str, Step]]]:
    """Worker: the session's pose stream through today's metrics; phases from its plan."""
    from realtime.config import load_config
    from realtime.feedback.cues import phase_at
    from realtime.metrics import analyze_stream
    from realtime.pose.stream import load
    from realtime.store.sessiondata import _config

    _, drill = _config(job.config, None)
    steps, _ = analyze_stream(load(Path(job.pose)), load_config().metrics)
    return job.session_id, [(phase_at(s.t_contact_s - job.t0_s, drill).name, s) for s in steps]


def select(store: Store, runner: str | None, since: str | None) -> list[SessionRow]:
    """Finished sessions (of `runner`, started on or after `since`), oldest first."""
    if since:
        try:
            dt.date.fromisoformat(since)
        except ValueError:
            raise UserError(f"--since {since!r}: give a date as YYYY-MM-DD") from None
    rows = [r for r in store.sessions(runner) if r.status != "recording"]
    return [r for r in rows if not since or r.started[:10] >= since]


def pose_file(row: SessionRow) -> Path | None:
    """The session's pose stream: pose.npz in its folder, or the pose stream it was
    analysed from (`realtime analyze X.npz` writes no copy)."""
    if row.folder and (Path(row.folder) / "pose.npz").is_file():
        return Path(row.folder) / "pose.npz"
    src = Path(row.source)
    return src if src.suffix == ".npz" and src.is_file() else None


def reanalyze(store: Store, rows: list[SessionRow], workers: int | None = None,
              progress: bool = True) -> Outcome:
    """Re-measure `rows` in parallel (see the module docstring)."""
    import time

    version = current_version()
    current, no_pose, two_view, jobs = [], [], [], []
    for r in rows:
        if version in store.step_versions(r.id):
            current.append(r.id)
        elif len(r.views) > 1:
            two_view.append(r.id)
        elif (pose := pose_file(r)) is None:
            no_pose.append(r.id)
        else:
            jobs.append(Job(r.id, str(pose), r.config, r.t0_s or 0.0))
    t0 = time.monotonic()
    done, failed, n_steps = [], [], 0
    if jobs:
        n = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
        ctx = multiprocessing.get_context("spawn")  # no inherited threads or connections
        bar = _bar(progress, len(jobs))
        with bar or _nothing(), ProcessPoolExecutor(max_workers=n, mp_context=ctx) as pool:
            task = bar.add_task("reanalyze", total=len(jobs)) if bar else None
            futures = {pool.submit(_measure, j): j for j in jobs}
            for fut in as_completed(futures):
                job = futures[fut]
                try:
                    sid, steps = fut.result()
                except Exception as exc:  # one bad pose file does not stop the others
                    failed.append((job.session_id, f"{type(exc).__name__}: {exc}"))
                else:
                    store.add_steps(sid, version, steps)
                    store.set_metrics_version(sid, version)
                    store.stats(sid, version)
                    done.append(sid)
                    n_steps += len(steps)
                if bar is not None:
                    bar.advance(task)
    return Outcome(version, tuple(sorted(done)), tuple(current), tuple(no_pose),
                   tuple(two_view), tuple(failed), n_steps, time.monotonic() - t0)


def _bar(progress: bool, total: int):  # type: ignore[no-untyped-def]
    if not progress:
        return None
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("[bold]reanalyze"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("sessions"), TimeElapsedColumn(), TimeRemainingColumn())


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def reanalyze_command(store: Store, runner: str | None, since: str | None,
                      workers: int | None, progress: bool = True) -> int:
    """`realtime reanalyze`: prints what was done, one line per kind of skip."""
    if workers is not None and workers < 1:
        raise UserError(f"--workers must be 1 or more, got {workers}")
    rows = select(store, runner, since)
    out = reanalyze(store, rows, workers, progress)
    rate = len(out.done) / out.seconds * 60 if out.seconds > 0 and out.done else 0.0
    print(f"metrics version {out.version}: {len(out.done)} sessions re-measured "
          f"({out.steps} steps, {rate:.0f} sessions/min); the previous steps are kept under "
          "their version")
    if out.current:
        print(f"  {len(out.current)} already measured by version {out.version}")
    if out.no_pose:
        print(f"  {len(out.no_pose)} without a pose stream (no pose.npz in the folder): "
              f"ids {', '.join(map(str, out.no_pose[:20]))}")
    if out.two_view:
        print(f"  {len(out.two_view)} two-camera sessions not re-analysed (not supported "
              f"yet): ids {', '.join(map(str, out.two_view[:20]))}")
    for sid, why in out.failed:
        print(f"  session {sid} failed: {why}")
    return 1 if out.failed else 0
