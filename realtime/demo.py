"""`realtime demo`: see and hear the product in ten seconds, with no camera.

A built-in synthetic runner (side view, stick figure on a treadmill) whose knee drive
starts poor and improves goes through the real path: landmarks -> metrics
(`GaitAnalyzer`) -> cue rules -> display, speech, tones and `cues.csv`, paced in real
time.  With no screen it runs headless with a message and still speaks and prints its
cues.  If the metrics stage cannot be imported the demo says so and uses the synthetic
runner's true steps instead, so the feedback layer can still be shown.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from realtime.config import Config, DrillConfig
from realtime.types import Cue, DisplayState, Frame, LiveState, PoseSample, Step

IMAGE_SIZE = (640, 360)  # the display scales it; small keeps the demo cheap
FPS = 30.0
GROUND_Y = 300.0
THIGH, SHANK, TRUNK = 66.0, 66.0, 92.0
STANCE = 0.35  # stance share of a stride (running: two stances < one stride -> flight)


def _smooth(a: float, b: float, s: float) -> float:
    s = min(1.0, max(0.0, s))
    return a + (b - a) * (0.5 - 0.5 * math.cos(math.pi * s))


@dataclass(frozen=True, slots=True)
class SyntheticRunner:
    """A side-view running stick figure facing image-right; knee drive ramps from `poor`
    to `good` between `ramp_start_s` and `ramp_end_s`."""

    cadence_spm: float = 178.0
    poor_deg: float = 38.0
    good_deg: float = 66.0
    ramp_start_s: float = 3.5
    ramp_end_s: float = 6.5
    x_hip: float = 320.0

    @property
    def stride_s(self) -> float:
        return 120.0 / self.cadence_spm

    def knee_drive_at(self, t_s: float) -> float:
        s = (t_s - self.ramp_start_s) / max(1e-6, self.ramp_end_s - self.ramp_start_s)
        return _smooth(self.poor_deg, self.good_deg, s)

    def _leg(self, phi: float, kd: float) -> tuple[float, float]:
        """Thigh angle from vertical (forward +) and knee flexion, deg, at stride phase."""
        if phi < STANCE:
            s = phi / STANCE
            return 17.0 - 41.0 * s, 22.0 + 22.0 * math.sin(math.pi * s)
        s = (phi - STANCE) / (1.0 - STANCE)
        thigh = _smooth(-24.0, kd, s / 0.7) if s < 0.7 else _smooth(kd, 17.0, (s - 0.7) / 0.3)
        kmax = 55.0 + 0.9 * kd
        knee = _smooth(44.0, kmax, s / 0.45) if s < 0.45 else _smooth(kmax, 18.0, (s - 0.45) / 0.5)
        return thigh, knee

    @staticmethod
    def _drop(thigh: float, knee: float) -> float:
        """Vertical hip-to-ankle distance."""
        a = math.radians(thigh)
        return THIGH * math.cos(a) + SHANK * math.cos(a - math.radians(knee))

    def landmarks(self, t_s: float) -> tuple[np.ndarray, LiveState]:
        """BlazePose-like landmarks (normalised, float32 [33, 4]) and the live state."""
        w, h = IMAGE_SIZE
        kd = self.knee_drive_at(t_s)
        phase = (t_s / self.stride_s) % 1.0
        phis = {"L": phase, "R": (phase + 0.5) % 1.0}
        angles = {leg: self._leg(p, kd) for leg, p in phis.items()}
        # hip height: the stance foot stays on the belt; in flight the body rises a little
        stance = [leg for leg, p in phis.items() if p < STANCE]
        if stance:
            drop = self._drop(*angles[stance[0]])
        else:
            lead = "L" if phis["L"] >= 0.5 else "R"  # the leg about to land
            p_off = phis["R" if lead == "L" else "L"]
            s = (p_off - STANCE) / (0.5 - STANCE)
            d0 = self._drop(*self._leg(STANCE - 1e-6, kd))
            d1 = self._drop(*self._leg(0.0, kd))
            drop = d0 + (d1 - d0) * s + 6.0 * math.sin(math.pi * s)
        hip = np.array([self.x_hip, GROUND_Y - 10.0 - drop])
        lm = np.zeros((33, 4), np.float32)
        lm[:, 3] = 0.95
        pts: dict[int, np.ndarray] = {}
        lean = math.radians(8.0)
        sh = hip + TRUNK * np.array([math.sin(lean), -math.cos(lean)])
        for leg, (thigh, knee) in angles.items():
            side = 0 if leg == "L" else 1
            a = math.radians(thigh)
            if phis[leg] >= STANCE:  # swing: bend the knee enough to clear the belt
                s_sw = (phis[leg] - STANCE) / (1.0 - STANCE)
                clear = 4.0 + 30.0 * math.sin(math.pi * min(1.0, s_sw / 0.9))
                room = (GROUND_Y - 10.0 - clear - hip[1] - THIGH * math.cos(a)) / SHANK
                if room < 1.0:
                    knee = max(knee, math.degrees(a - math.acos(max(-1.0, room))))
            b = a - math.radians(knee)
            k = hip + THIGH * np.array([math.sin(a), math.cos(a)])
            an = k + SHANK * np.array([math.sin(b), math.cos(b)])
            heel = an + np.array([-10.0, 8.0])
            toe = an + np.array([20.0, 10.0])
            pts[23 + side], pts[25 + side], pts[27 + side] = hip.copy(), k, an
            pts[29 + side], pts[31 + side] = heel, toe
            # arms swing opposite to the leg on the same side
            arm = math.radians(-0.8 * thigh + 10.0)
            el = sh + 55.0 * np.array([math.sin(arm), math.cos(arm)])
            fa = arm + math.radians(85.0)
            wr = el + 50.0 * np.array([math.sin(fa), math.cos(fa)])
            pts[11 + side], pts[13 + side], pts[15 + side] = sh.copy(), el, wr
        pts[0] = sh + np.array([16.0, -42.0])
        for i in range(1, 11):
            pts[i] = pts[0] + np.array([0.0, -4.0])
        pts[17], pts[19], pts[21] = pts[15], pts[15], pts[15]
        pts[18], pts[20], pts[22] = pts[16], pts[16], pts[16]
        for i, p in pts.items():
            lm[i, 0], lm[i, 1] = p[0] / w, p[1] / h
        knees = [pts[25][1], pts[26][1]]
        thigh_len = THIGH
        live = LiveState(t_s, True, (hip[1] - min(knees)) / thigh_len * 100.0,
                         max(a[0] for a in angles.values()), 1)
        return lm, live

    def true_steps(self, t0: float, t1: float) -> list[Step]:
        """Steps whose initial contact falls in [t0, t1) (truth, for the fallback path)."""
        out = []
        half = self.stride_s / 2
        i = math.ceil(t0 / half)
        while i * half < t1:
            t = i * half
            leg = "L" if i % 2 == 0 else "R"
            out.append(Step(leg, t, cadence_spm=self.cadence_spm,
                            knee_drive_deg=self.knee_drive_at(t - 0.2), overstride_pct=6.0,
                            trunk_lean_deg=8.0, confidence=0.9, t_detected_s=t1))
            i += 1
        return out


def render_frame(lm: np.ndarray, t_s: float, surface: object | None = None) -> np.ndarray:
    """A simple "camera" image of the runner on a treadmill (BGR uint8), drawn with pygame
    on an offscreen surface so the demo needs no OpenCV drawing."""
    import pygame

    w, h = IMAGE_SIZE
    surf = surface if surface is not None else pygame.Surface((w, h))
    assert isinstance(surf, pygame.Surface)
    surf.fill((58, 64, 78))
    pygame.draw.rect(surf, (78, 84, 98), (0, 0, w, 140))  # wall
    belt = pygame.Rect(90, int(GROUND_Y), 470, 22)
    pygame.draw.rect(surf, (25, 25, 28), belt)
    off = int((t_s * 180) % 40)
    for x in range(belt.right - off, belt.left, -40):  # belt stripes run backwards
        pygame.draw.line(surf, (60, 60, 66), (x, belt.top + 2), (x - 8, belt.bottom - 2), 3)
    pygame.draw.rect(surf, (120, 120, 130), (belt.left - 12, belt.bottom, belt.width + 24, 14))
    pygame.draw.line(surf, (150, 150, 160), (belt.right - 10, belt.top),
                     (belt.right + 30, belt.top - 130), 6)  # console post
    xy = [(float(lm[i, 0] * w), float(lm[i, 1] * h)) for i in range(33)]
    skin, shirt, shorts = (214, 170, 140), (200, 60, 60), (40, 50, 90)
    limbs = [((11, 13), shirt, 14), ((13, 15), skin, 11), ((23, 25), shorts, 20),
             ((25, 27), skin, 15), ((27, 31), (30, 30, 30), 10)]
    for side, shade in ((0, 0.7), (1, 1.0)):  # the far (left) limbs darker
        for (a, b), color, width in limbs:
            c = tuple(int(v * shade) for v in color)
            pygame.draw.line(surf, c, xy[a + side], xy[b + side], width)
    pygame.draw.line(surf, shirt, xy[12], xy[24], 30)
    pygame.draw.circle(surf, skin, (int(xy[0][0]) - 6, int(xy[0][1]) + 4), 17)
    arr = pygame.surfarray.array3d(surf)  # (w, h, RGB)
    return np.ascontiguousarray(arr.transpose(1, 0, 2)[:, :, ::-1])


def _demo_config(cfg: Config, seconds: float) -> Config:
    """A short plan so the display shows phases: warm-up, then one drill block."""
    warm = min(2.0, seconds * 0.15)
    drill = DrillConfig(warmup_s=warm, blocks=1, block_s=max(1.0, seconds - warm + 5.0),
                        rest_s=0.0, cooldown_s=0.0, silent_phases=("cool-down", "done"))
    # The stick figure lands with its foot ~15 % of leg length ahead of the hip (it is a
    # drawing, not a model of good form); the demo is about knee drive, so its overstride
    # limit is relaxed to keep the story "drive the knee" -> "good knee drive".
    cues = dataclasses.replace(cfg.cues, overstride_limit_pct=max(cfg.cues.overstride_limit_pct,
                                                                  40.0))
    return dataclasses.replace(cfg, drill=drill, cues=cues)


def _open_display(cfg: Config):  # -> Display | None
    if os.environ.get("SDL_VIDEODRIVER") != "dummy" and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        or sys.platform in ("win32", "darwin")
    ):
        print("demo: no screen found (DISPLAY is not set): running headless; cues are "
              "printed and spoken", file=sys.stderr)
        return None
    try:
        from realtime.feedback.display import Display

        return Display(cfg, title="Running form - demo")
    except Exception as exc:  # pygame.error: no video device
        print(f"demo: cannot open a window ({exc}): running headless", file=sys.stderr)
        return None


def run_demo(seconds: float = 12.0, headless: bool = False, cfg: Config | None = None, *,
             mute: bool = False, out_dir: str | os.PathLike[str] | None = None,
             screenshot: str | os.PathLike[str] | None = None) -> int:
    """Run the synthetic demo for `seconds` of wall time; returns the exit code (0).

    Cues go to the screen, the speaker (unless `mute` or speech.mode=off), stdout when
    headless, and `out_dir/cues.csv` (a temp dir by default, printed at the end).
    `screenshot` saves the last displayed frame (for docs and tests).
    """
    from realtime.feedback.cues import CueState, decide, phase_at
    from realtime.feedback.display import Latest, Mute, Pause, Quit, ThresholdChange
    from realtime.feedback.sessionlog import CueLogSink
    from realtime.feedback.speech import make_speaker
    from realtime.feedback.tones import TonePlayer

    cfg = _demo_config(cfg or Config(), seconds)
    out = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="realtime-demo-"))
    runner = SyntheticRunner()
    analyzer = None
    try:
        from realtime.metrics import GaitAnalyzer, warmup

        warmup()
        analyzer = GaitAnalyzer(cfg.metrics, "side", IMAGE_SIZE)
    except Exception as exc:  # the metrics stage is missing or broken: show feedback anyway
        print(f"demo: metrics unavailable ({exc.__class__.__name__}: {exc}); "
              "using the synthetic runner's true steps", file=sys.stderr)

    display = None if headless else _open_display(cfg)
    speaker = None if mute else make_speaker(cfg.speech, cfg.cues.phrases)
    log_sink = CueLogSink(out / "cues.csv", speaker)
    tones = TonePlayer(cfg.tones, cfg.cues)
    if speaker is not None:
        speaker.wait_ready(5.0)
    if display is None:
        print(f"demo: synthetic runner for {seconds:.0f} s; knee drive starts poor "
              f"({runner.poor_deg:.0f}°) and improves to {runner.good_deg:.0f}° "
              f"(target {cfg.cues.knee_drive_target_deg:.0f}°)", flush=True)

    import pygame

    canvas = pygame.Surface(IMAGE_SIZE)
    cues_cfg = cfg.cues
    state = CueState()
    history: deque[Step] = deque(maxlen=2 * cfg.display.history_steps)
    last_cue: Cue | None = None
    n_steps = 0
    cues_all: list[Cue] = []
    slot: Latest[DisplayState] = Latest()
    t_sim = 0.0
    paused = False
    frame_i = 0
    start = time.monotonic()
    next_tick = start
    try:
        while time.monotonic() - start < seconds:
            lm, truth_live = runner.landmarks(t_sim)
            if analyzer is not None:
                steps = analyzer.update(t_sim, lm)
                live = analyzer.live
            else:
                steps = runner.true_steps(t_sim - 1.0 / FPS, t_sim)
                live = truth_live
            sample = PoseSample(frame_i, int(t_sim * 1e9), int(t_sim * 1e9), lm, None,
                                IMAGE_SIZE)
            tones.on_pose(sample, live)
            for step in steps:
                n_steps += 1
                history.append(step)
                silent = phase_at(t_sim, cfg.drill).silent
                state, cues = decide(state, step, t_sim, cues_cfg, silent=silent)
                log_sink.on_step(step, cues)
                tones.on_step(step, cues)
                for cue in cues:
                    cues_all.append(cue)
                    last_cue = cue
                    if display is None:
                        print(f"[{t_sim:5.1f} s] cue: {cue.text}  (knee drive "
                              f"{step.knee_drive_deg:.0f}°)", flush=True)
            if display is not None:
                image = render_frame(lm, t_sim, canvas)
                phase = phase_at(t_sim, cfg.drill)
                slot.put(DisplayState(t_sim, Frame(frame_i, int(t_sim * 1e9), image), sample,
                                      live, tuple(history), last_cue, phase.text, FPS))
                for action in display.render(slot.get()):
                    if isinstance(action, Quit):
                        return 0
                    if isinstance(action, Pause):
                        paused = action.paused
                    elif isinstance(action, Mute):
                        if speaker is not None:
                            speaker.muted = action.muted
                        tones.muted = action.muted
                    elif isinstance(action, ThresholdChange):
                        cues_cfg = action.cues
                        tones.cues = action.cues
            if not paused:
                t_sim += 1.0 / FPS
                frame_i += 1
            next_tick += 1.0 / FPS
            delay = next_tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_tick = time.monotonic()  # running late: do not try to catch up
        return 0
    finally:
        if display is not None and screenshot:
            display.screenshot(screenshot)
        log_sink.close()  # stops the speaker first: nothing is said after the demo
        tones.close()
        if display is not None:
            display.close()
        kinds = ", ".join(c.text for c in cues_all) or "none"
        print(f"demo: {n_steps} steps, {len(cues_all)} cues ({kinds}); "
              f"log: {out / 'cues.csv'}", flush=True)
