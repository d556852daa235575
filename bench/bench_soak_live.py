"""An unattended hour in real time: the real clip looping through the whole live path.

    python bench/bench_soak_live.py [--minutes 60] [--clip VIDEO] [--window 5] [--mute]

`realtime run`'s own live path (`realtime.live.run_live`): the real BlazePose model on
every frame it can take, the worker thread, cue rules, the pygame window (SDL's dummy
driver unless a display is set), speech through pyttsx3/espeak-ng phrases into a private
PulseAudio server with a null sink (tests/audio_server.py; `--mute` without one), the
cue log, steps.csv, the pose spill and the session store.  The frames are the real
treadmill clip played at its own rate through a newest-only slot, as a camera delivers
them, looped for as long as asked.

The loop is seamless on purpose: a jump in the picture is a tracking gap, and a gap
breaks the step chain by definition.  The loop's ends are chosen from the pixels alone
(no pose model): the pair of frames (a, b), at least 9 s apart, whose neighbourhoods
(a-2..a+2 against b-2..b+2) differ least, so frame a follows frame b-1 the way frame b
would.  The seam's difference is printed next to the clip's typical frame-to-frame one.

The plan fills the session (warm-up 2 min, baseline 1, drill blocks of 2 + 1, retest 1,
cool-down to the end), and the session ends by itself when it is over, as a home session
does.  Printed: resident memory every few minutes and its growth (from the end of the
first window to the end, and a fitted slope), capture->display latency of the first and
last `--window` minutes, the steps.csv chain (a row whose start is not the previous
row's end is a break), dropped frames, cues decided, spoken and heard at the sound
server, and threads.  Targets (issue 10): growth <= 20 MB, last-window latency within
10 % of the first, no chain broken.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import itertools
import json
import math
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CLIP = Path(__file__).resolve().parent.parent.parent / "shared/data/videos/treadmill_side_male.mp4"
MIN_LOOP_S = 9.0


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return math.nan


def machine_cpu_s() -> tuple[float, float]:
    """(steal, busy) CPU seconds of the whole machine, all cores (/proc/stat).  Steal is
    time the hypervisor gave to other guests; busy less this process's own CPU time is
    what everything else here used (the sound server among it).  Either one is latency
    that is the machine's and not the program's."""
    with open("/proc/stat") as fh:
        f = [int(x) for x in fh.readline().split()[1:9]]
    tick = os.sysconf("SC_CLK_TCK")
    # user nice system idle iowait irq softirq steal
    return f[7] / tick, (f[0] + f[1] + f[2] + f[5] + f[6]) / tick


def own_cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def decode(path: Path) -> tuple[list[np.ndarray], float]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    cap.release()
    if len(frames) < 2 or not fps:
        raise SystemExit(f"cannot decode {path}")
    return frames, float(fps)


def find_seam(frames: list[np.ndarray], fps: float) -> tuple[int, int, float, float]:
    """(a, b, seam difference, median frame-to-frame difference): play a..b-1, then a."""
    import cv2

    g = np.stack([cv2.resize(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), (90, 160),
                             interpolation=cv2.INTER_AREA).astype(np.float32) for f in frames])
    n, k = len(g), 2
    flat = g.reshape(n, -1)
    step = float(np.median(np.abs(flat[1:] - flat[:-1]).mean(axis=1)))
    min_len = round(MIN_LOOP_S * fps)
    best = (math.inf, 0, 0)
    for a in range(k, n - min_len - k):
        for b in range(a + min_len, n - k):
            d = float(np.abs(flat[a - k:a + k + 1] - flat[b - k:b + k + 1]).mean())
            if d < best[0]:
                best = (d, a, b)
    d, a, b = best
    return a, b, d, step


def seamless_loop(path: Path) -> tuple[list[np.ndarray], float]:
    """The clip's frames between its best seam (find_seam), its rate; says both."""
    frames, fps = decode(path)
    a, b, seam, typical = find_seam(frames, fps)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{platform.python_version()}; {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"clip {path.name}: loop frames {a}..{b - 1} ({(b - a) / fps:.1f} s); seam "
          f"difference {seam:.2f} grey levels, a frame-to-frame step is {typical:.2f}")
    return frames[a:b], fps


class LoopedClip:
    """FrameSource: frames a..b-1 of a clip, over and over, released at the clip's rate
    through a newest-only slot (a camera's behaviour: a frame nobody took is dropped)."""

    def __init__(self, frames: list[np.ndarray], fps: float) -> None:
        from realtime.capture.latest import LatestSlot
        from realtime.types import Frame

        self._frames = frames
        self.fps = fps
        self.size = (int(frames[0].shape[1]), int(frames[0].shape[0]))
        self._slot: LatestSlot[Frame] = LatestSlot()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.emitted = 0

    @property
    def dropped(self) -> int:
        return self._slot.dropped

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name="looped-clip", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        from realtime.clock import now_ns
        from realtime.types import Frame

        period = 1e9 / self.fps
        base = now_ns()
        seq = 0
        while not self._stop.is_set():
            t_ns = base + round(seq * period)
            wait = (t_ns - now_ns()) * 1e-9
            if wait > 0:
                time.sleep(wait)
            # a fresh buffer per frame, as a camera driver hands out
            self._slot.put(Frame(seq, t_ns, self._frames[seq % len(self._frames)].copy()))
            seq += 1
            self.emitted = seq
        self._slot.close()

    def read(self, timeout: float | None = None) -> object:
        from realtime.capture.latest import Closed, FrameTimeout

        try:
            return self._slot.get(timeout)
        except Closed:
            return None
        except TimeoutError:
            raise FrameTimeout(f"no frame within {timeout} s") from None

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)


def plan_overrides(minutes: float) -> list[str]:
    """A drill plan that fills the session; shorter runs scale the default plan."""
    if minutes >= 9:
        blocks = int((minutes - 5) // 3)  # no rest after the last block
        cooldown = minutes * 60 - (120 + 60 + blocks * 180 - 60 + 60)
        return [f"drill.blocks={blocks}", f"drill.cooldown_s={cooldown:.1f}"]
    f = minutes / 18
    return [f"drill.warmup_s={120 * f:.1f}", f"drill.baseline_s={60 * f:.1f}",
            f"drill.block_s={120 * f:.1f}", f"drill.rest_s={60 * f:.1f}",
            f"drill.retest_s={60 * f:.1f}", f"drill.cooldown_s={120 * f:.1f}",
            "calibration.min_steps=6"]


def chain_breaks(steps_csv: Path) -> tuple[int, int, list[float]]:
    """(rows, breaks, times of the breaks): a row that does not start where the previous
    row ended (t_contact + 60/cadence, to the file's rounding) breaks the chain."""
    with steps_csv.open() as fh:
        rows = [(float(r["t_contact_s"]), float(r["cadence_spm"])) for r in csv.DictReader(fh)]
    at = [t for (t0, c0), (t, _) in itertools.pairwise(rows)
          if not (c0 > 0 and abs(t0 + 60.0 / c0 - t) <= 0.002)]
    return len(rows), len(at), at


@contextlib.contextmanager
def sound_server(mute: bool) -> Iterator[object | None]:
    if mute:
        yield None
        return
    from tests.audio_server import pulse_available, pulse_null_sink

    if not pulse_available():
        raise SystemExit("needs pulseaudio and pulseaudio-utils (or pass --mute)")
    with pulse_null_sink(keep_s=5.0) as rec:
        yield rec


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--clip", type=Path, default=CLIP)
    ap.add_argument("--window", type=float, default=5.0, help="minutes compared (start/end)")
    ap.add_argument("--mute", action="store_true", help="no speech (no sound server needed)")
    ap.add_argument("--out", type=Path, help="session folder (default: a temporary one)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.umask(0o077)  # as `realtime run` (cli.main): the session's files are private

    from realtime.config import load_config
    from realtime.live import LiveRun, run_live
    from realtime.metrics import warmup
    from realtime.pipeline import ModelPoses
    from realtime.pose.mediapipe_pose import MediaPipePose
    from realtime.store.db import Store
    from realtime.store.home import home
    from realtime.store.recorder import StoreTarget

    loop, fps = seamless_loop(args.clip)
    cfg = load_config(overrides=[*plan_overrides(args.minutes), "display.summary_s=3"])
    print(f"plan: {cfg.drill.warmup_s:.0f} s warm-up, {cfg.drill.baseline_s:.0f} s baseline, "
          f"{cfg.drill.blocks} x ({cfg.drill.block_s:.0f} s drill + {cfg.drill.rest_s:.0f} s "
          f"rest), {cfg.drill.retest_s:.0f} s retest, {cfg.drill.cooldown_s:.0f} s cool-down")
    warmup()

    # t, RSS, capture->display n, frames, drops, capture->pose n, model n, steal (s),
    # machine busy (s), own CPU (s)
    marks: list[tuple[float, float, int, int, int, int, int, float, float, float]] = []
    runs: list[LiveRun] = []
    threads: list[int] = []

    def sample(run: LiveRun) -> None:
        t0 = time.monotonic()
        while run.running and not run.stop.is_set():  # the session, not its saving
            s = run.session
            marks.append((time.monotonic() - t0, rss_mb(), len(run.capture_to_display.values_ns),
                          s.frames if s else 0, run.source.dropped,
                          len(s.capture_to_pose.values_ns) if s else 0,
                          len(source.model.values_ns), *machine_cpu_s(), own_cpu_s()))
            if len(marks) == 30:  # after a minute: everything has started
                threads.append(threading.active_count())
            time.sleep(2.0)

    def observe(run: LiveRun) -> None:
        runs.append(run)
        threading.Thread(target=sample, args=(run,), name="soak-sampler", daemon=True).start()

    with contextlib.ExitStack() as stack:
        out = args.out or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if args.out is None:
            os.environ["REALTIME_HOME"] = str(out / "home")
        rec = stack.enter_context(sound_server(args.mute))
        store = StoreTarget(Store(home().ensure().db), None, None, "soak loop")
        session_dir = out / "session"
        source = ModelPoses(LoopedClip(loop, fps), lambda: MediaPipePose(cfg.pose))
        wall0 = time.monotonic()
        code = run_live(cfg, source, "side", session_dir, headless=False, mute=args.mute,
                        seconds=args.minutes * 60 + 30, live_timing=True,
                        screenshot=out / "soak-end.png", store=store, observer=observe)
        wall = time.monotonic() - wall0
        run = runs[0]
        summary = json.loads((session_dir / "summary.json").read_text())
        n_rows, n_breaks, break_at = chain_breaks(session_dir / "steps.csv")
        with (session_dir / "cues.csv").open() as fh:
            cue_rows = list(csv.DictReader(fh))
        onsets = list(rec.onsets) if rec is not None else []
        files = {p.name: p.stat().st_size for p in session_dir.iterdir()}
        if args.out is None:
            shot = Path(tempfile.gettempdir()) / "soak-end.png"
            with contextlib.suppress(OSError):
                shot.write_bytes((out / "soak-end.png").read_bytes())
    results = report(args, run, marks, summary, n_rows, n_breaks, break_at, cue_rows,
                     onsets, files, wall, threads, code)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


def report(args: argparse.Namespace, run: object, marks: list, summary: dict, n_rows: int,
           n_breaks: int, break_at: list[float], cue_rows: list[dict], onsets: list[int],
           files: dict, wall: float, threads: list[int], code: int) -> dict:
    lat = run.capture_to_display  # type: ignore[attr-defined]
    win = args.window * 60
    t_end = marks[-1][0]

    def mark_at(t: float) -> tuple:
        """The sample taken nearest to `t` s into the session."""
        return min(marks, key=lambda m: abs(m[0] - t))

    first = lat.summary(0, mark_at(win)[2])
    last = lat.summary(mark_at(t_end - win)[2])
    # RSS moves by a few MB either way as the allocator returns memory: medians over the
    # second window and the last one, not two single readings
    def rss_median(t0: float, t1: float) -> float:
        return float(np.median([r for t, r, *_ in marks if t0 <= t <= t1]))

    growth = rss_median(t_end - win, t_end) - rss_median(win, 2 * win)
    growth_1 = marks[-1][1] - mark_at(60)[1]
    late = [(t, r) for t, r, *_ in marks if t >= win]
    slope = float(np.polyfit([t for t, _ in late], [r for _, r in late], 1)[0] * 3600) \
        if len(late) > 2 else math.nan
    spoken = sum(r.get("spoken") == "1" for r in cue_rows)
    frames = summary.get("frames", 0)
    dropped = summary.get("processing", {}).get("dropped_frames", 0)
    print(f"session: {t_end / 60:.1f} min (wall {wall / 60:.1f} min), exit code {code}, "
          f"ended: {summary.get('ended', 'by --seconds')}")
    print(f"frames processed {frames}, dropped {dropped} "
          f"({100 * dropped / max(1, frames + dropped):.1f} %)")
    print("resident memory:")
    for t, r, *_ in [*marks[::max(1, len(marks) // 12)], marks[-1]]:
        print(f"  t = {t / 60:5.1f} min  RSS {r:7.1f} MB")
    print(f"growth, median RSS of the last {win / 60:.0f} min less that of minutes "
          f"{win / 60:.0f}-{2 * win / 60:.0f}: {growth:+.1f} MB (target <= 20 MB); last reading "
          f"less the 1-minute one {growth_1:+.1f} MB; fitted slope after {win / 60:.0f} min "
          f"{slope:+.1f} MB/hour; peak {max(r for _, r, *_ in marks):.0f} MB")
    ratio = last["p50_ms"] / first["p50_ms"] if first.get("p50_ms") else math.nan
    print(f"capture->display, first {args.window:.0f} min: p50 {first.get('p50_ms')} ms, p95 "
          f"{first.get('p95_ms')} ms (n {first['n']}); last {args.window:.0f} min: p50 "
          f"{last.get('p50_ms')} ms, p95 {last.get('p95_ms')} ms (n {last['n']}); "
          f"last/first p50 {ratio:.3f} (target within 10 %)")
    pose_lat = run.session.capture_to_pose  # type: ignore[attr-defined]
    model = run.source.model  # type: ignore[attr-defined]
    m_first = model.summary(0, mark_at(win)[6])
    m_last = model.summary(mark_at(t_end - win)[6])
    own_first = first.get("p50_ms", math.nan) - m_first.get("p50_ms", math.nan)
    own_last = last.get("p50_ms", math.nan) - m_last.get("p50_ms", math.nan)
    print(f"the model's own time per frame, first {args.window:.0f} min: p50 "
          f"{m_first.get('p50_ms')} ms; last: {m_last.get('p50_ms')} ms; capture->display "
          f"p50 less the model's p50 (the path's own share): {own_first:.2f} -> "
          f"{own_last:.2f} ms")
    every = max(1.0, round(t_end / 60 / 12)) * 60
    print(f"p50 per {every / 60:.0f} min, capture->display / capture->pose / model (ms), "
          "dropped %, CPU steal and other processes' CPU, % of the machine, and this "
          "process's CPU time per processed frame (ms; it rises with the model's time when "
          "the cores run slower, as bench_model_steadiness.py shows for the model alone):")
    line = []
    timeline = []
    t = 0.0
    ncpu = os.cpu_count() or 1
    while t < t_end - 1:
        m0, m1 = mark_at(t), mark_at(t + every)
        d, q = lat.summary(m0[2], m1[2]), pose_lat.summary(m0[5], m1[5])
        mo = model.summary(m0[6], m1[6])
        f, x = m1[3] - m0[3], m1[4] - m0[4]
        span = max(1e-9, (m1[0] - m0[0]) * ncpu)
        st = 100 * (m1[7] - m0[7]) / span
        others = 100 * ((m1[8] - m0[8]) - (m1[9] - m0[9])) / span
        cpu_ms = 1000 * (m1[9] - m0[9]) / max(1, f)
        timeline.append((round(t / 60, 1), d.get("p50_ms"), q.get("p50_ms"), mo.get("p50_ms"),
                         round(100 * x / max(1, f + x), 1), round(st, 1), round(others, 1),
                         round(cpu_ms, 1)))
        line.append(f"{t / 60:.0f}: {d.get('p50_ms', '-')}/{q.get('p50_ms', '-')}/"
                    f"{mo.get('p50_ms', '-')} {100 * x / max(1, f + x):.0f}% st {st:.0f}% "
                    f"oth {others:.0f}% cpu {cpu_ms:.1f}")
        t += every
    for i in range(0, len(line), 4):
        print("  " + "; ".join(line[i:i + 4]))
    print(f"steps.csv: {n_rows} steps, {n_breaks} chain breaks"
          + (f" at {', '.join(f'{t:.1f}' for t in break_at[:10])} s" if break_at else ""))
    print(f"cues: {len(cue_rows)} decided, {spoken} spoken; sound onsets heard at the "
          f"server: {len(onsets)}")
    print(f"threads after 1 min {threads[0] if threads else '?'}; "
          f"files: " + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sorted(files.items())))
    return {"minutes": t_end / 60, "frames": frames, "dropped": dropped,
            "rss_marks": [(round(t, 1), round(r, 1)) for t, r, *_ in marks],
            "growth_mb": growth, "growth_from_1min_mb": growth_1, "slope_mb_per_hour": slope,
            "latency_first": first, "latency_last": last, "latency_ratio": ratio,
            "model_first": m_first, "model_last": m_last, "own_first_ms": own_first,
            "own_last_ms": own_last, "timeline": timeline,
            "steps": n_rows, "chain_breaks": n_breaks, "break_at_s": break_at,
            "cues": len(cue_rows), "spoken": spoken, "onsets": len(onsets),
            "exit_code": code}


if __name__ == "__main__":
    sys.exit(main())
