"""The live display: a pygame window readable from a treadmill 2-3 m away.

It runs on the main thread at camera rate and only draws the newest `DisplayState` the
worker published (realtime.live keeps it in a one-slot LatestSlot); it never waits
for the worker.  Usage::

    display = Display(cfg)                  # main thread
    while True:                             # state: the newest DisplayState (or None)
        for action in display.render(state):
            if isinstance(action, Quit): ...
            elif isinstance(action, ThresholdChange): worker_cfg = action.cues
    display.close()

Layout (scaled to the window): a top bar with drill phase, session time and cadence; the
camera image with the skeleton overlay and the current cue in large text on the left;
large knee-drive and hip-sway gauges on the right (green inside the target, amber within
the tolerance band, red outside: the same zones the cue rules use); a step-by-step history
strip of the last steps per leg at the bottom; the hotkeys and thresholds in a footer.
Works offscreen with SDL_VIDEODRIVER=dummy (tests, screenshots, benches).

Cost (bench/bench_feedback.py, 1280x720 camera frame, 2 shared cores): p50 2.2 ms per
frame into a 1280x720 window offscreen, 7.5 ms with a real X11 flip under Xvfb; 3.9 ms /
15.5 ms into 1920x1080 (of which ~11 ms is Xvfb's software flip).  Rendered text is
cached, the camera image is converted with one `frombuffer` ("BGR") and one `scale`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import pygame

from realtime.config import Config, CuesConfig, DisplayConfig
from realtime.feedback.cues import (
    Zone,
    apply_threshold_change,
    cadence_zone,
    cue_resolved,
    knee_zone,
    step_zones,
    sway_zone,
)
from realtime.palette import LEG_RGB
from realtime.types import LEG_EDGES, TRUNK_EDGES, DisplayState, Frame, PoseSample, Step

BG = (18, 20, 24)
PANEL = (32, 35, 42)
TEXT = (235, 235, 235)
DIM = (150, 155, 165)
# Zone colours chosen to stay apart for colour-blind runners too: under simulated
# deuteranopia and protanopia (daltonlens: Brettel 1997, Vienot 1999, Machado 2009) every
# pair of good / near / bad, and each against "none" and the empty bar, is >= 29 apart in
# CAM02-UCS (the earlier green / orange / red: 6.5 between good and near for a protanope).
# A teal green, a yellow and a vermillion: they differ in lightness and in blue, which
# red-green colour blindness keeps.  Tested on screenshots (test_feedback_display.py).
ZONE_RGB: dict[str, tuple[int, int, int]] = {
    "good": (40, 200, 170),
    "near": (255, 220, 0),
    "bad": (220, 80, 0),
    "none": (90, 94, 104),
}
BAR_BG = (55, 58, 66)  # a gauge's empty bar
ZONE_BAND_RGB = {"good": (25, 90, 78), "near": (100, 86, 10)}  # the zones under a bar
MARK = BG  # the zone marks on history bars: dark, readable on all three zone colours
BONE = (195, 195, 195)  # the trunk; the legs have their own colours (palette.LEG_RGB)
JOINT = (255, 255, 255)
MIN_VISIBILITY = 0.3


# --------------------------------------------------------------------------- actions


@dataclass(frozen=True, slots=True)
class Quit:
    """q, Esc or the window's close button."""


@dataclass(frozen=True, slots=True)
class Pause:
    paused: bool


@dataclass(frozen=True, slots=True)
class Mute:
    muted: bool


@dataclass(frozen=True, slots=True)
class ThresholdChange:
    """A therapist hotkey moved a threshold; `cues` is the whole updated section to hand
    to the cue rules (the display already uses it)."""

    key: str
    value: float
    cues: CuesConfig


@dataclass(frozen=True, slots=True)
class SaveTargets:
    """s: the therapist confirms the targets in effect (calibrated or moved with the
    arrow keys): save them to the runner's profile."""


UserAction = Quit | Pause | Mute | ThresholdChange | SaveTargets


def _fmt_time(t_s: float) -> str:
    t = max(0, int(t_s))
    return f"{t // 60:d}:{t % 60:02d}"


def _last_reliable(steps: tuple[Step, ...], name: str) -> float:
    """The newest trusted value of a metric (NaN if none)."""
    for s in reversed(steps):
        if s.reliable(name):
            return float(getattr(s, name))
    return math.nan


class Display:
    """Draws DisplayStates and turns key presses into `UserAction`s (main thread only)."""

    def __init__(self, cfg: Config, *, title: str = "Running form") -> None:
        self.cfg: DisplayConfig = cfg.display
        self.cues: CuesConfig = cfg.cues  # current thresholds (hotkeys change them)
        self._thresholds_version = 0  # the worker's calibration, adopted once per change
        self.paused = False
        self.muted = False
        pygame.display.init()
        pygame.font.init()
        pygame.display.set_caption(title)
        self._windowed = (self.cfg.width, self.cfg.height)
        self._fullscreen = self.cfg.fullscreen
        self._set_mode(self._windowed)
        self._fonts: dict[int, pygame.font.Font] = {}
        self._text_cache: dict[tuple[str, int, tuple[int, int, int]], pygame.Surface] = {}
        self.frames = 0
        self._no_pose = True
        # where things were drawn last frame (tests sample pixels here): camera, gauges,
        # knee_drive and hip_sway (the gauge bars, with _value, _word, _note), history,
        # footer, cue; and each step-history bar with its zone
        self.regions: dict[str, pygame.Rect] = {}
        self.history_bars: list[tuple[str, pygame.Rect, pygame.Rect | None]] = []

    # ----------------------------------------------------------------- window
    def _set_mode(self, size: tuple[int, int]) -> None:
        if self._fullscreen:
            self.screen = pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
        else:
            self.screen = pygame.display.set_mode(size, pygame.RESIZABLE)

    @property
    def size(self) -> tuple[int, int]:
        return self.screen.get_size()

    def close(self) -> None:
        pygame.display.quit()

    def screenshot(self, path: str | os.PathLike[str]) -> None:
        """Save what is on screen now (PNG by extension)."""
        pygame.image.save(self.screen, os.fspath(path))

    # ----------------------------------------------------------------- text
    def _font(self, px: int) -> pygame.font.Font:
        px = max(8, px)
        f = self._fonts.get(px)
        if f is None:
            f = self._fonts[px] = pygame.font.Font(None, px)
        return f

    def _text(self, text: str, px: int, color: tuple[int, int, int]) -> pygame.Surface:
        """Rendered text, cached: font rendering of large glyphs dominates the frame time."""
        key = (text, px, color)
        surf = self._text_cache.get(key)
        if surf is None:
            if len(self._text_cache) > 512:
                self._text_cache.clear()
            surf = self._text_cache[key] = self._font(px).render(text, True, color)
        return surf

    def _blit_text(self, text: str, px: int, color: tuple[int, int, int], pos: tuple[int, int],
                   anchor: str = "topleft") -> pygame.Rect:
        surf = self._text(text, px, color)
        rect = surf.get_rect(**{anchor: pos})
        self.screen.blit(surf, rect)
        return rect

    def _fit_text(self, text: str, px: int, color: tuple[int, int, int], max_w: int
                  ) -> pygame.Surface:
        surf = self._text(text, px, color)
        while surf.get_width() > max_w and px > 12:
            px = int(px * 0.85)
            surf = self._text(text, px, color)
        return surf

    def _no_value(self, px: int, topright: tuple[int, int]) -> pygame.Rect:
        """No value yet: one dash, drawn at the size of two digits of a `px` font (two
        hyphens in this bold font read as two blocks), centred on the digits' middle.
        Returns the box the digits would take, so what goes under it stays in place."""
        font = self._font(px)
        w, h = font.size("00")
        box = pygame.Rect(0, 0, w, h)
        box.topright = topright
        digit_top = font.metrics("0")[0][3]  # the digit's height above the baseline
        mid = box.y + font.get_ascent() - digit_top // 2
        thick = max(3, round(px * 0.09))  # about the digits' stroke
        dash = pygame.Rect(0, 0, round(w * 0.8), thick)
        dash.midright = (box.right - round(w * 0.05), mid)
        pygame.draw.rect(self.screen, DIM, dash, border_radius=thick // 2)
        return box

    # ----------------------------------------------------------------- events
    def _events(self) -> list[UserAction]:
        actions: list[UserAction] = []
        for ev in pygame.event.get():
            if ev.type == pygame.QUIT:
                actions.append(Quit())
            elif ev.type == pygame.VIDEORESIZE and not self._fullscreen:
                self._windowed = (max(320, ev.w), max(240, ev.h))
                self._set_mode(self._windowed)
            elif ev.type == pygame.KEYDOWN:
                actions.extend(self._key(ev.key))
        return actions

    def _key(self, key: int) -> list[UserAction]:
        if key in (pygame.K_q, pygame.K_ESCAPE):
            return [Quit()]
        if key == pygame.K_SPACE:
            self.paused = not self.paused
            return [Pause(self.paused)]
        if key == pygame.K_m:
            self.muted = not self.muted
            return [Mute(self.muted)]
        if key == pygame.K_f:
            self._fullscreen = not self._fullscreen
            self._set_mode(self._windowed)
            return []
        if key == pygame.K_s:
            return [SaveTargets()]
        steps = {
            pygame.K_UP: ("knee_drive_target_deg", self.cfg.knee_step_deg),
            pygame.K_DOWN: ("knee_drive_target_deg", -self.cfg.knee_step_deg),
            pygame.K_RIGHT: ("hip_sway_limit_pct", self.cfg.sway_step_pct),
            pygame.K_LEFT: ("hip_sway_limit_pct", -self.cfg.sway_step_pct),
        }
        if key in steps:
            name, delta = steps[key]
            self.cues = apply_threshold_change(self.cues, name, delta)
            return [ThresholdChange(name, getattr(self.cues, name), self.cues)]
        return []

    # ----------------------------------------------------------------- drawing
    def render(self, state: DisplayState | None) -> list[UserAction]:
        """Handle pending input, draw one frame of `state` (None: waiting), flip.

        Cheap enough for the main thread at camera rate (see bench/bench_feedback.py).
        """
        actions = self._events()
        if any(isinstance(a, Quit) for a in actions):
            return actions
        if (state is not None and state.thresholds is not None
                and state.thresholds_version > self._thresholds_version):
            self.cues = state.thresholds
            self._thresholds_version = state.thresholds_version
        w, h = self.size
        u = min(w / 1280.0, h / 720.0)  # layout unit: 1 px at 1280x720
        self.screen.fill(BG)
        top_h = int(64 * u)
        foot_h = int(34 * u)
        strip_h = int(150 * u)
        cue_h = int(104 * u)  # its own row: the cue never hides the runner's head or feet
        iw, ih = _image_size(state.frame, state.pose) if state is not None else (16, 9)
        if ih > iw and (state is None or state.second is None):
            # portrait video (a runner filmed upright): the picture takes the full height
            # on the left; cue, gauges and history stack on the right
            body_h = h - top_h - foot_h
            cam_w = min(int(body_h * iw / ih), int(w * 0.5))
            cam = pygame.Rect(0, top_h, cam_w, body_h)
            cue_row = pygame.Rect(cam.right, top_h, w - cam.right, cue_h)
            strip = pygame.Rect(cam.right, top_h + body_h - strip_h, w - cam.right, strip_h)
            side = pygame.Rect(cam.right, cue_row.bottom, w - cam.right,
                               strip.top - cue_row.bottom)
        else:
            side_w = int(w * 0.36)
            cue_row = pygame.Rect(0, top_h, w - side_w, cue_h)
            cam = pygame.Rect(0, cue_row.bottom, w - side_w,
                              h - top_h - cue_h - strip_h - foot_h)
            side = pygame.Rect(cam.right, top_h, side_w, cue_h + cam.height)
            strip = pygame.Rect(0, cam.bottom, w, strip_h)
        foot = pygame.Rect(0, h - foot_h, w, foot_h)

        self.regions.update(camera=cam, gauges=side, history=strip, footer=foot)
        steps = state.steps if state is not None else ()
        views = state.views if state is not None else ("side",)
        self._top_bar(state, pygame.Rect(0, 0, w, top_h), u)
        # a notice goes where it has room: under a landscape picture, or across the
        # gauges beside a narrow portrait one
        self._camera(state, cam, u)
        self._cue(state, cue_row, u)
        if state is not None and state.placement:  # warm-up: no cues, so the cue row
            self._placement(state.placement, cue_row, u)
        self._gauges(state, steps, side, u)
        self._history(steps, strip, u, KNEE if "side" in views else SWAY)
        if state is not None and state.notice:
            self._notice(state.notice, side if cam.height > 1.5 * cam.width else cam, u)
        self._footer(foot, u, views)
        pygame.display.flip()
        self.frames += 1
        return actions

    def _top_bar(self, state: DisplayState | None, r: pygame.Rect, u: float) -> None:
        pygame.draw.rect(self.screen, PANEL, r)
        px = int(58 * u)
        cy = r.centery
        if state is None:
            self._blit_text("waiting for the camera...", px, DIM, (int(16 * u), cy), "midleft")
            return
        phase = state.phase or "session"
        x = self._blit_text(phase, px, TEXT, (int(16 * u), cy), "midleft").right
        self._blit_text(f"session {_fmt_time(state.t_s)}", int(36 * u), DIM,
                        (x + int(28 * u), cy), "midleft")
        # the metrics stage's current cadence: fitted over the last whole strides (one
        # step's cadence jumps with every mistimed contact)
        cad = state.cadence_spm if state.live.has_pose else math.nan
        z: Zone = "none" if math.isnan(cad) else self._cad_zone(cad)
        if math.isnan(cad):  # no cadence yet: a clean dash before the unit
            unit = self._blit_text(" spm", px, DIM, (r.right - int(16 * u), cy), "midright")
            cad_rect = self._no_value(px, (unit.left, unit.top)).union(unit)
        else:
            cad_rect = self._blit_text(f"{cad:.0f} spm", px, ZONE_RGB[z] if z != "none"
                                       else DIM, (r.right - int(16 * u), cy), "midright")
        flags = [t for t, on in (("PAUSED", self.paused), ("MUTED", self.muted)) if on]
        if flags:
            self._blit_text("  ".join(flags), int(40 * u), ZONE_RGB["near"],
                            (cad_rect.left - int(30 * u), cy), "midright")

    def _cad_zone(self, cad: float) -> Zone:
        return cadence_zone(cad, self.cues)

    def _camera(self, state: DisplayState | None, r: pygame.Rect, u: float) -> None:
        pygame.draw.rect(self.screen, (0, 0, 0), r)
        self.regions.pop("second", None)
        self.regions.pop("notice", None)
        if state is None:
            return
        second = state.second
        main_r, second_r = r, None
        if second is not None:
            main_r, second_r = self._two_views(_image_size(state.frame, state.pose),
                                               _image_size(second.frame, second.pose), r)
        # a side camera sees the runner's one side: the other leg is the far one
        far = {-1: "R", 1: "L"}.get(state.live.facing, "")
        self._picture(state.frame, state.pose, state.live.has_pose, main_r, u, "image",
                      far=far)
        if second is not None and second_r is not None:
            self._picture(second.frame, second.pose, second.has_pose, second_r, u, "second",
                          small=True, status=second.status)
            self._blit_text(second.view.upper(), int(30 * u), TEXT,
                            (second_r.x + int(8 * u), second_r.y + int(6 * u)))


    def _placement(self, checks: tuple, r: pygame.Rect, u: float) -> None:
        """Warm-up: the camera placement checklist in the cue row, one line per check,
        each with OK or FIX in words (and its colour)."""
        pygame.draw.rect(self.screen, (0, 0, 0), r)
        px = max(10, min(int(34 * u), (r.height - int(8 * u)) // max(1, len(checks))))
        y = r.y + int(4 * u)
        for c in checks:
            text = ("OK   " if c.ok else "FIX  ") + c.text
            surf = self._fit_text(text, px, ZONE_RGB["good" if c.ok else "near"],
                                  r.width - int(24 * u))
            self.screen.blit(surf, (r.x + int(14 * u), y))
            y += px
        self.regions["placement"] = r

    def _two_views(self, main: tuple[int, int], second: tuple[int, int], r: pygame.Rect
                   ) -> tuple[pygame.Rect, pygame.Rect]:
        """Where the two pictures go: beside each other at one height, or the second
        inset in the main picture's top-right corner (`display.second_view`)."""
        full = _fit(*main, r)
        mw, mh = main[0] / main[1], second[0] / second[1]  # widths at height 1
        # beside: the second picture takes at most 45 % of the width, the main one the rest
        w2 = min(r.width * 0.45, r.height * mh, r.width * mh / (mw + mh))
        h1 = min(r.height, (r.width - w2) / mw)
        mode = self.cfg.second_view
        if mode == "auto":
            mode = "beside" if h1 * mw >= 0.7 * full.width else "inset"
        if mode == "beside":
            w1 = int(h1 * mw)
            x0 = r.x + (r.width - w1 - int(w2)) // 2
            a = pygame.Rect(x0, r.y + (r.height - int(h1)) // 2, w1, int(h1))
            h2 = int(w2 / mh)
            return a, pygame.Rect(a.right + 4, r.y + (r.height - h2) // 2, int(w2) - 4, h2)
        ins = _fit(*second, pygame.Rect(0, 0, full.width // 3, full.height // 3))
        ins.topright = (full.right - 4, full.y + 4)
        return full, ins

    def _picture(self, frame: Frame | None, pose: PoseSample | None, has_pose: bool,
                 r: pygame.Rect, u: float, region: str, small: bool = False,
                 status: str = "", far: str = "") -> None:
        """One camera's picture fitted in r, its skeleton, or why there is none."""
        img_rect = r
        if frame is not None:
            iw, ih = frame.size
            img_rect = _fit(iw, ih, r)
            img = frame.image
            if not img.flags.c_contiguous:
                img = np.ascontiguousarray(img)
            surf = pygame.image.frombuffer(img.data, (iw, ih), "BGR")
            if img_rect.size != (iw, ih):
                surf = pygame.transform.scale(surf, img_rect.size)
            self.screen.blit(surf, img_rect)
        elif pose is not None and pose.image_size != (0, 0):
            img_rect = _fit(*pose.image_size, r)
            pygame.draw.rect(self.screen, (28, 30, 36), img_rect)
        self.regions[region] = img_rect
        if small:
            pygame.draw.rect(self.screen, DIM, img_rect, max(1, int(2 * u)))
        if pose is not None and has_pose and not status:
            self._skeleton(pose, img_rect, u * (0.5 if small else 1.0), far)
            return
        shade = pygame.Surface(img_rect.size, pygame.SRCALPHA)
        shade.fill((0, 0, 0, 150))
        self.screen.blit(shade, img_rect)
        k = 0.45 if small else 1.0
        title, hint = (status.upper(), "") if status else \
            ("RUNNER NOT DETECTED", "step into the camera's view")
        self._blit_text(title, int(84 * u * k), ZONE_RGB["bad"],
                        (img_rect.centerx, img_rect.centery - int(30 * u * k)), "center")
        if hint:
            self._blit_text(hint, int(44 * u * k), TEXT,
                            (img_rect.centerx, img_rect.centery + int(36 * u * k)), "center")

    def _notice(self, text: str, r: pygame.Rect, u: float) -> None:
        """A lost camera, and what it leaves unmeasured: a band along the bottom."""
        band = pygame.Rect(r.x, r.bottom - int(44 * u), r.width, int(44 * u))
        shade = pygame.Surface(band.size, pygame.SRCALPHA)
        shade.fill((0, 0, 0, 190))
        self.screen.blit(shade, band)
        surf = self._fit_text(text, int(32 * u), ZONE_RGB["near"], band.width - int(20 * u))
        self.screen.blit(surf, surf.get_rect(center=band.center))
        self.regions["notice"] = band

    def _skeleton(self, pose: PoseSample, r: pygame.Rect, u: float, far: str = "") -> None:
        """The pose model's skeleton: the trunk in one colour, the left and right legs in
        their own (palette.LEG_RGB) and the far leg thinner, so that a leg the model drew
        on the other leg shows at once."""
        lm = pose.landmarks
        ok = np.isfinite(lm[:, 0]) & np.isfinite(lm[:, 1]) & (lm[:, 3] >= MIN_VISIBILITY)
        xs = (r.x + np.nan_to_num(lm[:, 0]) * r.width).astype(int).tolist()
        ys = (r.y + np.nan_to_num(lm[:, 1]) * r.height).astype(int).tolist()
        ok = ok.tolist()
        width = max(2, int(6 * u))
        rad = max(2, int(6 * u))
        for edges, colour, w in (
            (TRUNK_EDGES, BONE, width),
            *((LEG_EDGES[leg], LEG_RGB[leg], max(1, width // 2) if leg == far else width)
              for leg in sorted("LR", key=lambda g: g != far)),  # the far leg first, below
        ):
            for a, b in edges:
                if ok[a] and ok[b]:
                    pygame.draw.line(self.screen, colour, (xs[a], ys[a]), (xs[b], ys[b]), w)
            for i in {i for e in edges for i in e}:
                if ok[i]:
                    pygame.draw.circle(self.screen, colour if edges is not TRUNK_EDGES else JOINT,
                                       (xs[i], ys[i]), rad if w == width else max(2, rad // 2))

    def _cue(self, state: DisplayState | None, band: pygame.Rect, u: float) -> None:
        """The current cue in the largest text on screen, until `cue_show_s` has passed or
        its metric reads good (`cue_resolved`)."""
        self.regions.pop("cue", None)
        pygame.draw.rect(self.screen, (0, 0, 0), band)
        cue = state.cue if state is not None else None
        if cue is None or state is None or state.t_s - cue.t_ns * 1e-9 > self.cfg.cue_show_s:
            return
        knee = state.knee_drive_deg
        if math.isnan(knee):
            knee = _last_reliable(state.steps, "knee_drive_deg")
        if cue_resolved(cue, knee, state.steps, state.cadence_spm, self.cues):
            return
        color = ZONE_RGB["good"] if cue.positive else ZONE_RGB["near"]
        self.regions["cue"] = band
        surf = self._fit_text(cue.text.upper(), int(124 * u), color, band.width - int(20 * u))
        self.screen.blit(surf, surf.get_rect(center=band.center))

    def _gauges(self, state: DisplayState | None, steps: tuple[Step, ...], r: pygame.Rect,
                u: float) -> None:
        """One large gauge per metric the session's camera(s) measure: knee drive from the
        side, hip sway from the rear (nothing takes space that cannot be measured)."""
        pygame.draw.rect(self.screen, PANEL, r)
        no_pose = state is None or not state.live.has_pose
        self._no_pose = no_pose
        views = state.views if state is not None else ("side",)
        c = self.cues
        notes = _gauge_notes(state)
        gauges = []
        if "side" in views:
            knee = math.nan
            if not no_pose and state is not None:
                # the newest trusted swing (final ~0.1 s after its peak), else the last step
                knee = state.knee_drive_deg
                if math.isnan(knee):
                    knee = _last_reliable(steps, "knee_drive_deg")
            gauges.append(("KNEE DRIVE", knee, "°", c.knee_drive_target_deg,
                           c.knee_drive_band_deg, knee_zone(knee, c), True,
                           max(90.0, c.knee_drive_target_deg + 30.0), notes["side"]))
        if "rear" in views:
            sway = math.nan if no_pose else _last_reliable(steps, "hip_sway_pct")
            gauges.append(("HIP SWAY", sway, "%", c.hip_sway_limit_pct, c.hip_sway_band_pct,
                           sway_zone(sway, c), False, max(10.0, 2.5 * c.hip_sway_limit_pct),
                           notes["rear"]))
        hgt = r.height // max(1, len(gauges))
        big = len(gauges) == 1
        for k, (label, value, unit, target, band, z, hib, span, note) in enumerate(gauges):
            self._gauge(pygame.Rect(r.x, r.y + k * hgt, r.width, hgt), label, value, unit,
                        target, band, z, higher_is_better=hib, span=span, u=u, note=note,
                        big=big)

    def _gauge(self, r: pygame.Rect, label: str, value: float, unit: str, target: float,
               band: float, z: Zone, *, higher_is_better: bool, span: float, u: float,
               note: str = "waiting for the first steps", big: bool = False) -> None:
        """A large horizontal bar: fill to the value in its zone colour, target tick; the
        zone is also said in words under the value (colour is never the only signal)."""
        pad = int(18 * u)
        color = ZONE_RGB[z]
        k = 1.35 if big else 1.0  # one gauge alone gets the space: larger digits
        self._blit_text(label, int(44 * u), DIM, (r.x + pad, r.y + pad))
        name = label.lower().replace(" ", "_")
        if math.isnan(value):  # no value yet: one clean dash where the digits go
            num = self._no_value(int(120 * u * k), (r.right - pad, r.y + int(4 * u)))
        else:
            val = f"{value:.0f}" if unit == "°" else f"{value:.1f}"
            num = self._blit_text(val + unit, int(120 * u * k), color if z != "none" else DIM,
                                  (r.right - pad, r.y + int(4 * u)), "topright")
        self.regions[f"{name}_value"] = num
        sign = "≥" if higher_is_better else "≤"
        tgt = f"target {sign} {target:.0f}{unit}" if unit == "°" else \
            f"limit {sign} {target:.1f}{unit}"
        self._blit_text(tgt, int(34 * u), DIM, (r.x + pad, r.y + pad + int(46 * u)))
        word = {"good": "ON TARGET" if higher_is_better else "WITHIN LIMIT", "near": "CLOSE",
                "bad": "BELOW TARGET" if higher_is_better else "ABOVE LIMIT"}.get(z, "")
        if word:
            self.regions[f"{name}_word"] = self._blit_text(word, int(56 * u), color,
                                                           (r.right - pad, num.bottom),
                                                           "topright")
        bar = pygame.Rect(r.x + pad, max(num.bottom + int(48 * u), r.y + int(150 * u)),
                          r.width - 2 * pad, int(64 * u))
        self.regions[name] = bar
        pygame.draw.rect(self.screen, BAR_BG, bar)

        def x_of(v: float) -> int:
            return bar.x + int(bar.width * min(1.0, max(0.0, v / span)))

        # zone bands under the bar so the runner sees where green starts
        lo, hi = (target - band, target) if higher_is_better else (target, target + band)
        pygame.draw.rect(self.screen, ZONE_BAND_RGB["near"], pygame.Rect(x_of(lo), bar.bottom,
                         max(1, x_of(hi) - x_of(lo)), int(8 * u)))
        gx0, gx1 = (x_of(target), bar.right) if higher_is_better else (bar.x, x_of(target))
        pygame.draw.rect(self.screen, ZONE_BAND_RGB["good"], pygame.Rect(gx0, bar.bottom,
                         max(1, gx1 - gx0), int(8 * u)))
        if not math.isnan(value):
            pygame.draw.rect(self.screen, color, pygame.Rect(bar.x, bar.y,
                             max(1, x_of(value) - bar.x), bar.height))
        tx = x_of(target)
        pygame.draw.line(self.screen, TEXT, (tx, bar.y - int(8 * u)),
                         (tx, bar.bottom + int(8 * u)), max(2, int(5 * u)))
        if math.isnan(value) and not self._no_pose:  # why no value: inside the empty bar
            surf = self._fit_text(note, int(32 * u), DIM, bar.width - int(24 * u))  # (under
            at = surf.get_rect(midleft=(bar.x + int(12 * u), bar.centery))  # it: the next
            pygame.draw.rect(self.screen, BAR_BG, at.inflate(int(8 * u), 0))  # gauge)
            self.screen.blit(surf, at)
            self.regions[f"{name}_note"] = at

    def _history(self, steps: tuple[Step, ...], r: pygame.Rect, u: float,
                 metric: HistoryMetric) -> None:
        """Last N steps per leg: bar height = the metric, colour = its zone, and a mark on
        each bar that says the zone by shape (dot met, dash close, cross not met); the
        target line is labelled.  From the side, a thin line under each bar shows the hip
        zone of that step when a rear camera measures it."""
        pygame.draw.rect(self.screen, BG, r)
        self.history_bars = []
        n = self.cfg.history_steps
        c = self.cues
        target = getattr(c, metric.target_key)
        lo, span = target - metric.below, metric.below + metric.above
        lab_w = int(44 * u)
        title_h = int(30 * u)
        self._blit_text(f"{metric.label} per step", int(28 * u), DIM,
                        (r.x + lab_w, r.y + int(2 * u)))
        row_h = (r.height - title_h - int(6 * u)) // 2
        for row, leg in enumerate(("L", "R")):
            y0 = r.y + title_h + row * row_h
            self._blit_text(leg, int(40 * u), DIM, (r.x + lab_w // 2, y0 + row_h // 2), "center")
            legs = [s for s in steps if s.leg_of(metric.column) == leg][-n:]
            area = pygame.Rect(r.x + lab_w, y0 + int(2 * u), r.width - lab_w - int(10 * u),
                               row_h - int(8 * u))
            pygame.draw.rect(self.screen, PANEL, area)
            ty = area.bottom - int(area.height * metric.below / span)
            slot = area.width / n
            drawn: list[tuple[str, pygame.Rect]] = []
            for i, s in enumerate(legs):
                x = area.x + int((n - len(legs) + i) * slot)
                bw = max(1, int(slot) - max(1, int(3 * u)))
                zones = step_zones(s, c)
                kz = zones[metric.kind]
                if s.reliable(metric.column):
                    frac = (getattr(s, metric.column) - lo) / span
                    hgt = int(area.height * min(1.0, max(0.06, frac)))
                else:
                    hgt = int(4 * u)
                bar = pygame.Rect(x, area.bottom - hgt, bw, hgt)
                pygame.draw.rect(self.screen, ZONE_RGB[kz], bar)
                drawn.append((kz, bar))
                if metric.kind != "level_hips" and zones["level_hips"] != "none":
                    pygame.draw.rect(self.screen, ZONE_RGB[zones["level_hips"]],
                                     pygame.Rect(x, area.bottom + int(2 * u), bw,
                                                 max(2, int(4 * u))))
            pygame.draw.line(self.screen, TEXT, (area.x, ty), (area.right, ty),
                             max(1, int(2 * u)))
            for kz, bar in drawn:  # over the target line: it never cuts a mark
                self.history_bars.append((kz, bar, _zone_mark(self.screen, kz, bar, u)))
            if row == 0:
                unit = "°" if metric.column.endswith("_deg") else "%"
                self._blit_text(f"{'target' if metric.higher_is_better else 'limit'} "
                                f"{target:.0f}{unit}", int(26 * u), TEXT,
                                (area.x + int(6 * u), ty - int(2 * u)), "bottomleft")

    def _footer(self, r: pygame.Rect, u: float, views: tuple[str, ...] = ("side",)) -> None:
        pygame.draw.rect(self.screen, PANEL, r)
        c = self.cues
        keys = ["space pause", "m mute", "f fullscreen", "q quit"]
        if "side" in views:
            keys.append(f"up/down knee target {c.knee_drive_target_deg:.0f}°")
        if "rear" in views:
            keys.append(f"left/right sway limit {c.hip_sway_limit_pct:.1f}%")
        text = "   ".join([*keys, "s save targets"])
        surf = self._fit_text(text, int(28 * u), DIM, r.width - int(20 * u))
        self.screen.blit(surf, surf.get_rect(midleft=(r.x + int(12 * u), r.centery)))


    # ----------------------------------------------------------------- end of session
    def render_summary(self, title: str, lines: list[tuple[str, str]], hint: str
                       ) -> list[UserAction]:
        """The end-of-session screen: a title, one line per result, coloured by `zone`
        ("good", "near", "bad" or "" for plain text) and marked with a word too, so the
        meaning does not rest on colour alone."""
        actions = self._events()
        w, h = self.size
        u = min(w / 1280.0, h / 720.0)
        self.screen.fill(BG)
        top = pygame.Rect(0, 0, w, int(84 * u))
        pygame.draw.rect(self.screen, PANEL, top)
        self._blit_text(title, int(56 * u), TEXT, (int(24 * u), top.centery), "midleft")
        y = top.bottom + int(22 * u)
        px = int(34 * u)
        mark = {"good": "MET  ", "near": "CLOSE  ", "bad": "NOT MET  ", "": ""}
        for text, z in lines:
            color = ZONE_RGB[z] if z in ZONE_RGB else (DIM if text.startswith("  ") else TEXT)
            surf = self._fit_text(mark.get(z, "") + text, px, color, w - int(48 * u))
            self.screen.blit(surf, (int(24 * u), y))
            y += int(px * 1.35)
            if y > h - int(70 * u):
                break
        foot = pygame.Rect(0, h - int(48 * u), w, int(48 * u))
        pygame.draw.rect(self.screen, PANEL, foot)
        surf = self._fit_text(hint, int(30 * u), DIM, w - int(24 * u))
        self.screen.blit(surf, surf.get_rect(midleft=(int(12 * u), foot.centery)))
        pygame.display.flip()
        self.frames += 1
        return actions


@dataclass(frozen=True, slots=True)
class HistoryMetric:
    """What the step-history strip shows: bars span target - below .. target + above."""

    column: str
    kind: str  # its zone in step_zones
    label: str
    target_key: str
    below: float
    above: float
    higher_is_better: bool


KNEE = HistoryMetric("knee_drive_deg", "knee_drive", "knee drive", "knee_drive_target_deg",
                     30.0, 20.0, True)
SWAY = HistoryMetric("hip_sway_pct", "level_hips", "hip sway", "hip_sway_limit_pct", 4.0, 6.0,
                     False)


def _zone_mark(screen: pygame.Surface, z: str, bar: pygame.Rect, u: float
               ) -> pygame.Rect | None:
    """The zone by shape on a history bar: a dot (met), a dash (close), a cross (not met),
    so a colour-blind runner reads the strip too.  Dark on the bar; above a bar too short
    to hold it (a knee drive far below its target), light on the strip's panel.  Returns
    where it was drawn."""
    size = max(3, min(bar.width // 2 - 1, int(7 * u)))
    if z == "none":
        return None
    if bar.height >= 2 * size + 4:
        cx, cy, color = bar.centerx, bar.y + size + 3, MARK
    else:
        cx, cy, color = bar.centerx, bar.y - size - 3, TEXT
    lw = max(2, int(2.5 * u))
    if z == "good":
        pygame.draw.circle(screen, color, (cx, cy), size // 2 + 1)
    elif z == "near":
        pygame.draw.line(screen, color, (cx - size, cy), (cx + size, cy), lw)
    else:
        pygame.draw.line(screen, color, (cx - size, cy - size), (cx + size, cy + size), lw)
        pygame.draw.line(screen, color, (cx - size, cy + size), (cx + size, cy - size), lw)
    return pygame.Rect(cx - size - lw, cy - size - lw, 2 * (size + lw) + 1, 2 * (size + lw) + 1)


def _gauge_notes(state: DisplayState | None) -> dict[str, str]:
    """Why a gauge shows no value yet: its camera has not seen a trusted step; with two
    cameras, what the other camera is doing.  (A metric no camera of the session measures
    has no gauge at all.)"""
    notes = {"side": "waiting for the first steps", "rear": "waiting for the first strides"}
    second = state.second if state is not None else None
    if second is None:
        return notes
    main_view = "rear" if second.view == "side" else "side"
    notes[main_view] = "no trusted value yet"
    if second.status:
        notes[second.view] = f"{second.view} {second.status}"
    elif not second.has_pose:
        notes[second.view] = f"the {second.view} camera does not see the runner"
    else:
        notes[second.view] = f"waiting for the {second.view} camera's first stride"
    return notes


def _image_size(frame: Frame | None, pose: PoseSample | None) -> tuple[int, int]:
    if frame is not None:
        return frame.size
    if pose is not None and pose.image_size != (0, 0):
        return pose.image_size
    return (16, 9)


def _fit(iw: int, ih: int, r: pygame.Rect) -> pygame.Rect:
    """The largest rect with the image's aspect ratio centred in `r`."""
    s = min(r.width / iw, r.height / ih)
    w, h = max(1, int(iw * s)), max(1, int(ih * s))
    return pygame.Rect(r.x + (r.width - w) // 2, r.y + (r.height - h) // 2, w, h)
