"""Two cameras on two cores: what each view gets, by the rear view's pose rate.

Two real clips are played as two cameras at once, in real time (`realtime run --video
SIDE --rear-video REAR --realtime`, window on SDL's dummy driver), once per rear rate
limit (`two_view.rear_max_fps`; 0 = as fast as it can) and each pair of TFLite thread
counts (`pose.threads` for the side model, `two_view.rear_threads` for the rear's; 0 =
MediaPipe's default, 1 thread per network).  For each view it prints the
frames processed per second, the stale frames dropped, and capture -> pose and capture
-> display latency (p50 / p95), from the session's own summary.json.  The default rate
in config is chosen from this table.

    python bench/bench_two_views.py [--rates 0 20 15 10] [--threads 0/0 2/1 1/2]
                                    [--turns yes|no|both] [--seconds 7] [--repeat N]

The side clip is the treadmill runner (30 fps, 720x1280); the rear clip is a person
walking away on a road (24 fps, 960x540): a walk, so the rear reports no running steps,
but its pose costs the same as a runner's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VIDEOS = ROOT.parent / "shared" / "data" / "videos"


def run_once(rate: float, seconds: float, side: Path, rear: Path, turns: bool,
             threads: tuple[int, int] = (0, 0)) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "s"
        env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
        cmd = [sys.executable, "-m", "realtime", "run", "--video", str(side), "--rear-video",
               str(rear), "--realtime", "--mute", "--seconds", str(seconds), "--out", str(out),
               "--set", f"two_view.rear_max_fps={rate}",
               "--set", f"two_view.one_model_at_a_time={'true' if turns else 'false'}",
               "--set", f"pose.threads={threads[0]}",
               "--set", f"two_view.rear_threads={threads[1]}"]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        if r.returncode != 0:
            raise SystemExit(f"run failed: {r.stderr[-2000:]}")
        summary = json.loads((out / "summary.json").read_text())
        for view, name in (("side", "pose.npz"), ("rear", "pose_rear.npz")):
            if view in summary.get("views", {}) and (out / name).exists():
                summary["views"][view]["missing_after_1s"] = _missing(out / name)
        return summary


def _missing(pose: Path) -> tuple[int, int]:
    """(frames the session did not process, frames it could have) after its first second:
    the `dropped` counter also holds the frames that came while the models started."""

    from realtime.pose.stream import load

    st = load(pose)
    t = st.t[st.t >= st.t[0] + 1.0]
    if t.size < 2:
        return 0, 0
    expected = round((t[-1] - t[0]) * st.fps) + 1
    return expected - t.size, expected


def _lat(d: dict, key: str) -> str:
    x = d.get(key, {})
    return f"{x['p50_ms']:.0f} / {x['p95_ms']:.0f}" if x.get("n") else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", type=float, nargs="+", default=[0.0, 20.0, 15.0, 10.0])
    ap.add_argument("--threads", nargs="+", default=["0/0"], metavar="SIDE/REAR",
                    help="TFLite threads of the side and the rear model (pose.threads, "
                         "two_view.rear_threads; 0: MediaPipe's default, 1 per network)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each combination")
    ap.add_argument("--turns", choices=("yes", "no", "both"), default="both",
                    help="the two models take turns (one_model_at_a_time), or run at once")
    ap.add_argument("--seconds", type=float, default=7.0,
                    help="session length (the rear clip lasts 7.4 s)")
    ap.add_argument("--side", type=Path, default=VIDEOS / "treadmill_side_male.mp4")
    ap.add_argument("--rear", type=Path, default=VIDEOS / "walk_rear.mp4")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")
    threads = [_threads(t) for t in args.threads]
    print("| models | threads side/rear | rear limit | run | view | fps | dropped | "
          "missing after the first second | capture->pose p50/p95 ms | "
          "capture->display p50/p95 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    turns = {"yes": [True], "no": [False], "both": [True, False]}[args.turns]
    for t in turns:
        for th in threads:
            for rate in args.rates:
                for k in range(args.repeat):
                    s = run_once(rate, args.seconds, args.side, args.rear, t, th)
                    for view, vs in s["views"].items():
                        pr = vs["processing"]
                        lat = pr.get("latency", {})
                        print(f"| {'take turns' if t else 'at once'} | {th[0]}/{th[1]} | "
                              f"{rate:g} | {k + 1} | {view} | {pr['fps']:.1f} | "
                              f"{pr['dropped_frames']} | "
                              f"{'{} of {}'.format(*vs.get('missing_after_1s', ('-', '-')))} | "
                              f"{_lat(lat, 'capture_to_pose')} | "
                              f"{_lat(lat, 'capture_to_display')} |", flush=True)


def _threads(text: str) -> tuple[int, int]:
    """"2/1" -> (2, 1): the side's and the rear's TFLite threads."""
    try:
        side, rear = (int(x) for x in text.split("/"))
    except ValueError:
        raise SystemExit(f"--threads {text!r}: expected SIDE/REAR, e.g. 2/1") from None
    return side, rear


if __name__ == "__main__":
    main()
