"""Screenshots of the live display in the states a runner meets, at 1280x720 and 1920x1080.

    python tools/screens.py --out DIR [--sizes 1280x720 1920x1080] [--only NAME ...]

Each case is a real session (`realtime run` / `realtime demo`, SDL's dummy video
driver, real BlazePose on the shared clips) in its own process; keys are pressed by
posting pygame events from a timer thread, as a person would.  Writes DIR/NAME-WxH.png
(and NAME-WxH-summary.png, the end screen).  Look at them: that is the point.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VIDEOS = ROOT.parent / "shared" / "data" / "videos"
SHORT = ["--set", "drill.warmup_s=0", "--set", "drill.baseline_s=4",
         "--set", "calibration.min_steps=6", "--set", "display.summary_s=0.5"]
# name -> (command line after `realtime`, [(seconds, key name), ...])
CASES: dict[str, tuple[list[str], list[tuple[float, str]]]] = {
    "portrait": (["run", "--video", str(VIDEOS / "treadmill_side_male.mp4"), "--realtime",
                  "--mute", "--seconds", "9", *SHORT], []),
    "warmup-check": (["run", "--video", str(VIDEOS / "treadmill_side_male.mp4"), "--realtime",
                      "--mute", "--seconds", "3", "--set", "display.summary_s=0.5"], []),
    "landscape": (["run", "--video", str(VIDEOS / "walk_side_two_people.mp4"), "--realtime",
                   "--mute", "--seconds", "6", *SHORT], []),
    "absent": (["run", "--video", str(VIDEOS / "walk_side_enter_leave.mp4"), "--realtime",
                "--mute", *SHORT], []),
    "paused": (["run", "--video", str(VIDEOS / "treadmill_side_male.mp4"), "--realtime",
                "--mute", *SHORT], [(7.0, "space"), (8.5, "q")]),
    "demo": (["demo", "--seconds", "9", "--mute"], []),
}


def _press_later(schedule: list[tuple[float, str]]) -> None:
    import pygame

    def run() -> None:
        t0 = time.monotonic()
        for at, key in schedule:
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.key.key_code(key)))

    threading.Thread(target=run, daemon=True).start()


def one(name: str, size: str, out: Path) -> int:
    from realtime.cli import main

    args, keys = CASES[name]
    w, h = size.split("x")
    if keys:
        _press_later(keys)
    return main([*args, "--screenshot", str(out / f"{name}-{size}.png"),
                 "--set", f"display.width={w}", "--set", f"display.height={h}"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--sizes", nargs="+", default=["1280x720", "1920x1080"])
    ap.add_argument("--only", nargs="+", choices=sorted(CASES), default=sorted(CASES))
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--size", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.one:
        sys.exit(one(args.one, args.size, args.out))
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    for name in args.only:
        for size in args.sizes:
            r = subprocess.run([sys.executable, __file__, "--out", str(args.out), "--one", name,
                                "--size", size], env=env, capture_output=True, text=True)
            print(f"{name} {size}: exit {r.returncode}"
                  + (f"\n{r.stderr[-800:]}" if r.returncode not in (0, 1) else ""))


if __name__ == "__main__":
    main()
