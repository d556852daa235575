"""The real pygame display, offscreen (SDL_VIDEODRIVER=dummy from conftest): pixels, keys."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pygame
import pytest

from realtime.config import CUE_KINDS, DEFAULT_PHRASES, Config, CuesConfig
from realtime.feedback.display import (
    BONE,
    DIM,
    ZONE_RGB,
    Display,
    Mute,
    Pause,
    Quit,
    ThresholdChange,
)
from realtime.palette import LEG_RGB
from realtime.types import Cue, DisplayState, Frame, LiveState, PoseSample, Step

W, H = 1280, 720


# Thresholds the pixel checks were written for, pinned against changes of the defaults.
CFG = dataclasses.replace(Config(), cues=CuesConfig(knee_drive_target_deg=55.0))


@pytest.fixture
def display():
    """A fresh window per test (pygame has one display per process; thresholds reset)."""
    d = Display(CFG)
    yield d
    d.close()


def landmarks() -> np.ndarray:
    lm = PoseSample.empty_landmarks()
    pts = {11: (.5, .3), 12: (.5, .3), 23: (.5, .55), 24: (.5, .55), 25: (.58, .65),
           26: (.47, .72), 27: (.55, .8), 28: (.42, .88), 29: (.53, .82), 30: (.4, .9),
           31: (.6, .83), 32: (.45, .9), 13: (.55, .42), 14: (.45, .42), 15: (.6, .38),
           16: (.42, .5)}
    for i, (x, y) in pts.items():
        lm[i, :2] = (x, y)
        lm[i, 3] = 0.9
    return lm


def state(knee: float = 60.0, sway: float = 2.0, has_pose: bool = True, cue: Cue | None = None,
          image: np.ndarray | None = None, n_steps: int = 12,
          views: tuple[str, ...] = ("side", "rear"), placement: tuple = ()) -> DisplayState:
    img = image if image is not None else np.full((H, W, 3), 40, np.uint8)
    pose = PoseSample(1, 0, 0, landmarks(), None, (W, H)) if has_pose else \
        PoseSample.no_pose(1, 0, 0, (W, H))
    steps = tuple(Step("L" if i % 2 else "R", i * 0.35, cadence_spm=170.0, knee_drive_deg=knee,
                       hip_sway_pct=sway, confidence=0.9) for i in range(n_steps))
    return DisplayState(20.0, Frame(1, 0, img), pose, LiveState(20.0, has_pose), steps, cue,
                        "drill 1/4", 30.0, views=views, placement=placement)


def pixel(d: Display, xy: tuple[int, int]) -> tuple[int, int, int]:
    return tuple(d.screen.get_at(xy))[:3]


def bar_fill_pixel(d: Display, name: str) -> tuple[int, int, int]:
    bar = d.regions[name]
    return pixel(d, (bar.x + 4, bar.centery))


def close_to(c: tuple[int, int, int], ref: tuple[int, int, int], tol: int = 12) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(c, ref, strict=True))


def count_color(d: Display, rect: pygame.Rect, rgb: tuple[int, int, int], tol: int = 20) -> int:
    arr = pygame.surfarray.pixels3d(d.screen)[rect.left:rect.right, rect.top:rect.bottom]
    hit = np.all(np.abs(arr.astype(int) - np.array(rgb)) <= tol, axis=-1)
    return int(hit.sum())


@pytest.mark.parametrize(("knee", "zone"), [(40.0, "bad"), (52.0, "near"), (60.0, "good")])
def test_knee_gauge_colour_follows_the_target(display: Display, knee: float, zone: str) -> None:
    display.render(state(knee=knee))
    assert close_to(bar_fill_pixel(display, "knee_drive"), ZONE_RGB[zone])


@pytest.mark.parametrize(("sway", "zone"), [(2.0, "good"), (4.6, "near"), (8.0, "bad")])
def test_hip_sway_gauge_colour(display: Display, sway: float, zone: str) -> None:
    display.render(state(sway=sway))
    assert close_to(bar_fill_pixel(display, "hip_sway"), ZONE_RGB[zone])


def test_bgr_camera_image_is_shown_in_rgb_with_the_skeleton(display: Display) -> None:
    img = np.zeros((H, W, 3), np.uint8)
    img[..., 0] = 255  # pure blue in OpenCV's BGR order
    display.render(state(image=img))
    img_rect = display.regions["image"]
    assert img_rect.width / img_rect.height == pytest.approx(W / H, rel=0.01)  # aspect kept
    assert close_to(pixel(display, (img_rect.x + 5, img_rect.y + 5)), (0, 0, 255))
    assert count_color(display, img_rect, BONE) > 200  # skeleton lines were drawn


@pytest.mark.parametrize(("facing", "far"), [(-1, "R"), (1, "L"), (0, "")])
def test_legs_in_their_own_colours_the_far_leg_thinner(display: Display, facing: int,
                                                       far: str) -> None:
    """Left and right legs are drawn in the palette's two leg colours, so a leg the pose
    model put on the other leg shows; a side camera's far leg is the thinner one."""
    st = dataclasses.replace(state(), live=LiveState(20.0, True, facing=facing))
    display.render(st)
    img_rect = display.regions["image"]
    ink = {leg: count_color(display, img_rect, LEG_RGB[leg], tol=16) for leg in "LR"}
    assert min(ink.values()) > 100  # both legs drawn, each in its own colour
    # the two legs' drawn lengths are about equal in landmarks(): the far one has less ink
    if far:
        near = "L" if far == "R" else "R"
        assert ink[far] < 0.75 * ink[near]
    else:  # a rear view, or facing not known yet: no leg is the far one
        assert 0.6 < ink["L"] / ink["R"] < 1.6


def test_runner_not_detected_state(display: Display) -> None:
    display.render(state(has_pose=False))
    cam = display.regions["camera"]
    assert count_color(display, cam, ZONE_RGB["bad"]) > 2000  # the big red message
    assert sum(count_color(display, cam, LEG_RGB[g]) for g in "LR") == 0  # no skeleton
    # gauges are grey (no number, no colour) rather than showing stale values
    knee_bar = display.regions["knee_drive"]
    assert not close_to(bar_fill_pixel(display, "knee_drive"), ZONE_RGB["good"])
    assert count_color(display, knee_bar, ZONE_RGB["good"]) == 0
    display.screenshot("/tmp/test_feedback_display_nopose.png")


def test_cue_text_is_drawn_and_expires(display: Display) -> None:
    cue = Cue("knee_drive", "drive the knee", 5, int(19.5e9))
    display.render(state(knee=15.0, cue=cue))
    assert "cue" in display.regions
    assert count_color(display, display.regions["cue"], ZONE_RGB["near"]) > 1500
    display.screenshot("/tmp/test_feedback_display_cue.png")
    old = Cue("knee_drive", "drive the knee", 5, int(10e9))  # 10 s old: not shown
    display.render(state(knee=15.0, cue=old))
    assert "cue" not in display.regions


def test_a_cue_goes_once_its_gauge_reads_good(display: Display) -> None:
    """Half a second after "drive the knee" the newest knee drive meets the target: the
    gauge is green, so the words go (they would contradict it for the rest of 3 s)."""
    cue = Cue("knee_drive", "drive the knee", 5, int(19.5e9))
    display.render(dataclasses.replace(state(knee=15.0, cue=cue), knee_drive_deg=60.0))
    assert "cue" not in display.regions
    assert close_to(bar_fill_pixel(display, "knee_drive"), ZONE_RGB["good"])


def test_which_cues_are_resolved() -> None:
    from realtime.feedback.cues import cue_resolved

    c = CuesConfig()
    knee = Cue("knee_drive", "drive the knee", 5, int(10e9))
    assert cue_resolved(knee, c.knee_drive_target_deg + 10, (), math.nan, c)
    assert not cue_resolved(knee, c.knee_drive_target_deg - 10, (), math.nan, c)
    assert not cue_resolved(knee, math.nan, (), math.nan, c)
    cad = Cue("cadence", "quicker steps", 5, int(10e9))
    assert cue_resolved(cad, math.nan, (), c.cadence_target_spm + 5, c)
    assert not cue_resolved(cad, math.nan, (), c.cadence_target_spm - 20, c)
    over = Cue("overstride", "land under you", 5, int(10e9))
    good = Step("L", 10.2, cadence_spm=170, overstride_pct=c.overstride_limit_pct / 3,
                confidence=0.9, t_detected_s=10.6)
    before = dataclasses.replace(good, t_detected_s=9.9)
    bad = dataclasses.replace(good, overstride_pct=3 * c.overstride_limit_pct)
    assert cue_resolved(over, math.nan, (good,), math.nan, c)
    assert not cue_resolved(over, math.nan, (before,), math.nan, c)  # not since the cue
    assert not cue_resolved(over, math.nan, (good, bad), math.nan, c)  # the newest counts
    positive = Cue("good_knee", "good", 3, int(10e9), positive=True)
    assert not cue_resolved(positive, 90.0, (), math.nan, c)
    assert not cue_resolved(positive, math.nan, (), math.nan, c)  # no value: praise stays
    assert cue_resolved(positive, c.knee_drive_target_deg - 10, (), math.nan, c)
    hips = Cue("level_hips", "level hips", 5, int(10e9))
    level = Step("L", 10.2, hip_sway_pct=c.hip_sway_limit_pct / 2, pelvic_drop_deg=2.0,
                 confidence=0.9, t_detected_s=10.6)
    dropping = dataclasses.replace(level, pelvic_drop_deg=3 * c.pelvic_drop_limit_deg)
    assert cue_resolved(hips, math.nan, (level,), math.nan, c)
    assert not cue_resolved(hips, math.nan, (dropping,), math.nan, c)  # sway and drop


@pytest.mark.parametrize("kind", CUE_KINDS)
def test_every_cue_kind_leaves_the_screen_once_its_words_no_longer_fit(
        display: Display, kind: str) -> None:
    """Each kind's words are on screen while its metric still reads as the cue said, and
    go as soon as it does not: the knee drive or the cadence met, a step after the cue
    with level hips or landing under the body, and praise once the knee drive drops."""
    c = CFG.cues
    t_cue = 19.5
    cue = Cue(kind, DEFAULT_PHRASES[kind], 5, int(t_cue * 1e9), positive=kind == "good_knee")

    def shown(fits: bool) -> bool:
        met = fits if kind == "good_knee" else not fits
        knee = c.knee_drive_target_deg + (5.0 if met else -20.0)
        step = Step("L", t_cue + 0.2, cadence_spm=170.0, confidence=0.9,
                    t_detected_s=t_cue + 0.4,
                    hip_sway_pct=c.hip_sway_limit_pct * (0.5 if met else 3.0),
                    overstride_pct=c.overstride_limit_pct * (0.3 if met else 3.0))
        cadence = c.cadence_target_spm + (5.0 if met else -20.0)
        st = dataclasses.replace(state(knee=knee, cue=cue), knee_drive_deg=knee,
                                 cadence_spm=cadence, steps=(step,))
        display.render(st)
        return "cue" in display.regions

    assert shown(fits=True)
    assert not shown(fits=False)


def post_key(key: int) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="",
                                         scancode=0))


def test_hotkeys_pause_mute_quit_and_thresholds() -> None:
    d = Display(CFG)
    try:
        d.render(state(knee=56.0))
        assert close_to(bar_fill_pixel(d, "knee_drive"), ZONE_RGB["good"])
        post_key(pygame.K_UP)
        (action,) = d.render(state(knee=56.0))
        assert isinstance(action, ThresholdChange)
        assert action.key == "knee_drive_target_deg" and action.value == 57.0
        assert action.cues.knee_drive_target_deg == 57.0
        # the same knee drive is now below the raised target: amber
        assert close_to(bar_fill_pixel(d, "knee_drive"), ZONE_RGB["near"])
        post_key(pygame.K_LEFT)
        (action,) = d.render(state())
        assert action.key == "hip_sway_limit_pct" and action.value == 3.5
        post_key(pygame.K_SPACE)
        post_key(pygame.K_m)
        assert d.render(state()) == [Pause(True), Mute(True)]
        post_key(pygame.K_SPACE)
        assert d.render(state()) == [Pause(False)]
        post_key(pygame.K_q)
        assert d.render(state()) == [Quit()]
        pygame.event.post(pygame.event.Event(pygame.QUIT))
        assert d.render(state()) == [Quit()]
    finally:
        d.close()


def test_resizes_and_still_draws_the_gauges() -> None:
    d = Display(CFG)
    try:
        pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, w=800, h=450, size=(800, 450)))
        d.render(state(knee=40.0))
        assert d.size == (800, 450)
        assert close_to(bar_fill_pixel(d, "knee_drive"), ZONE_RGB["bad"])
        assert d.regions["knee_drive"].right <= 800
    finally:
        d.close()


def test_waiting_state_and_nan_metrics_do_not_crash(display: Display) -> None:
    assert display.render(None) == []
    display.render(state(knee=math.nan, sway=math.nan, n_steps=0))
    assert count_color(display, display.regions["knee_drive"], ZONE_RGB["good"]) == 0


def test_screenshot_writes_a_png(display: Display, tmp_path: Path) -> None:
    display.render(state(knee=45.0, cue=Cue("knee_drive", "drive the knee", 5, int(19.8e9))))
    out = tmp_path / "shot.png"
    display.screenshot(out)
    img = pygame.image.load(str(out))
    assert img.get_size() == display.size
    display.screenshot("/tmp/test_feedback_display_red.png")




def _second(view: str = "rear", w: int = 960, h: int = 540, status: str = "",
            has_pose: bool = True):
    from realtime.types import ViewImage

    img = np.zeros((h, w, 3), np.uint8)
    img[..., 1] = 255  # pure green
    pose = PoseSample(1, 0, 0, landmarks(), None, (w, h))
    return ViewImage(view, Frame(1, 0, img), pose, has_pose, status)  # type: ignore[arg-type]


def test_two_cameras_portrait_side_beside_landscape_rear(display: Display) -> None:
    """A portrait side picture keeps (nearly) its full size; the rear goes beside it."""
    side = np.zeros((1280, 720, 3), np.uint8)
    side[..., 2] = 255  # red
    st = dataclasses.replace(state(image=side), second=_second())
    st = dataclasses.replace(st, pose=PoseSample(1, 0, 0, landmarks(), None, (720, 1280)))
    display.render(st)
    main, second, cam = display.regions["image"], display.regions["second"], \
        display.regions["camera"]
    assert not main.colliderect(second) and cam.contains(main) and cam.contains(second)
    assert main.height >= 0.95 * cam.height  # the side picture at full height
    assert second.width <= 0.45 * cam.width + 1
    assert count_color(display, second, (0, 255, 0)) > 0.5 * second.width * second.height
    assert count_color(display, second, LEG_RGB["L"]) > 30  # the rear skeleton too


def test_two_landscape_cameras_inset_the_rear(display: Display) -> None:
    st = dataclasses.replace(state(), second=_second())
    display.render(st)
    main, second = display.regions["image"], display.regions["second"]
    assert main.contains(second) and second.width <= main.width // 3 + 1
    assert second.top <= main.top + 10 and second.right >= main.right - 10  # top-right


def test_lost_rear_camera_is_said_on_screen(display: Display) -> None:
    st = dataclasses.replace(state(sway=math.nan), second=_second(status="camera lost"),
                             notice="rear camera lost; hip sway, pelvic drop unavailable")
    display.render(st)
    assert "notice" in display.regions
    second = display.regions["second"]
    assert count_color(display, second, ZONE_RGB["bad"]) > 200  # "CAMERA LOST" over it
    assert sum(count_color(display, second, LEG_RGB[g]) for g in "LR") == 0  # no skeleton
    assert count_color(display, display.regions["notice"], ZONE_RGB["near"]) > 200
    display.screenshot("/tmp/test_feedback_display_two_views_lost.png")


def test_only_the_metrics_the_camera_measures_take_space(display: Display) -> None:
    """A side camera shows knee drive alone (larger), a rear camera hip sway alone; no
    'not measured' panel."""
    display.render(state(views=("side",)))
    assert "knee_drive" in display.regions
    assert "hip_sway" not in display.regions
    side_bar = display.regions["knee_drive"].copy()
    display.regions.clear()
    display.render(state(views=("rear",), knee=math.nan))
    assert "hip_sway" in display.regions and "knee_drive" not in display.regions
    display.regions.clear()
    display.render(state(views=("side", "rear")))
    assert {"hip_sway", "knee_drive"} <= set(display.regions)
    assert display.regions["knee_drive"].y < side_bar.y  # two gauges share the panel


def test_a_portrait_video_fills_the_height(display: Display) -> None:
    """An upright phone video (720x1280) is drawn as tall as the window allows, not
    shrunk into the landscape slot."""
    display.render(state(image=np.full((1280, 720, 3), 60, np.uint8), views=("side",)))
    _w, h = display.size
    img = display.regions["image"]
    assert img.height >= 0.85 * h  # all but the top bar and footer
    assert img.width / img.height == pytest.approx(720 / 1280, rel=0.02)
    assert display.regions["gauges"].x >= img.right - 1  # gauges beside, not under


def test_zones_are_marked_by_shape_as_well_as_colour(display: Display) -> None:
    """History bars carry a dot, dash or cross (white) so colour is not the only signal,
    and the gauge says its zone in words."""
    display.render(state(knee=10.0, views=("side",), n_steps=20))
    strip = display.regions["history"]
    assert count_color(display, strip, (235, 235, 235)) > 150  # crosses, target label
    gauge_panel = display.regions["gauges"]
    assert count_color(display, gauge_panel, ZONE_RGB["bad"]) > 2000  # bar and "BELOW TARGET"


def test_warm_up_shows_the_placement_checklist(display: Display) -> None:
    from realtime.feedback.placement import Check

    checks = (Check("body", True, "whole body in frame"),
              Check("height", False, "camera too high: lower it to hip height"),
              Check("light", True, "light OK"))
    display.render(state(placement=checks, views=("side",)))
    box = display.regions["placement"]
    assert count_color(display, box, ZONE_RGB["near"]) > 100  # the FIX line
    assert count_color(display, box, ZONE_RGB["good"]) > 100  # the OK lines


def test_no_value_is_one_clean_dash_at_the_gauges_size(display: Display) -> None:
    """Before the first trusted step the number is a single dash as wide as two digits
    (the font's two hyphens read as two blocks), and the note saying why sits inside
    the empty bar, clear of the next gauge."""
    from scipy import ndimage

    display.render(state(knee=math.nan, sway=math.nan))
    for name in ("knee_drive", "hip_sway"):
        box = display.regions[f"{name}_value"]
        arr = pygame.surfarray.pixels3d(display.screen)[box.left:box.right,
                                                         box.top:box.bottom].transpose(1, 0, 2)
        ink = np.abs(arr.astype(int) - np.array(DIM)).sum(axis=-1) < 60
        _, n = ndimage.label(ink)
        assert n == 1, (name, n)  # one piece: no second hyphen, no unit
        rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
        height, width = rows.ptp() + 1, cols.ptp() + 1
        assert width >= 0.7 * box.width and width >= 5 * height, (name, width, height)
        assert 0.25 * box.height < rows.mean() < 0.75 * box.height  # mid-digit
        note, bar = display.regions[f"{name}_note"], display.regions[name]
        assert bar.contains(note)
    assert not display.regions["knee_drive_note"].colliderect(display.regions["hip_sway_value"])


# ------------------------------------------------------------------ colour vision

CVD_MARGIN = 20.0  # CAM02-UCS; about 2 is just noticeable side by side


def _screenshot(d: Display, path: Path) -> np.ndarray:
    """What is on screen, through a real PNG file: [H, W, 3] uint8."""
    d.screenshot(path)
    return np.ascontiguousarray(pygame.surfarray.array3d(pygame.image.load(str(path)))
                                .transpose(1, 0, 2))


def _views(img: np.ndarray) -> dict[str, np.ndarray]:
    """The screenshot as seen with normal colour vision and under simulated deuteranopia
    and protanopia (daltonlens; Brettel 1997 and Vienot 1999 for each, full severity)."""
    from daltonlens import simulate

    out = {"normal": img}
    for sim in (simulate.Simulator_Brettel1997(), simulate.Simulator_Vienot1999()):
        for d in (simulate.Deficiency.DEUTAN, simulate.Deficiency.PROTAN):
            out[f"{type(sim).__name__[10:]} {d.name.lower()}"] = sim.simulate_cvd(
                img, d, severity=1.0)
    return out


def _delta_e(a: np.ndarray, b: np.ndarray) -> float:
    from colorspacious import cspace_convert

    ja, jb = (cspace_convert(np.asarray(x, float), "sRGB255", "CAM02-UCS") for x in (a, b))
    return float(np.linalg.norm(ja - jb))


def test_zones_stay_apart_under_simulated_colour_blindness(display: Display,
                                                           tmp_path: Path) -> None:
    """Screenshots of the gauge and the step history in each zone, seen as a deuteranope
    and a protanope see them: the three zone colours differ from each other and from the
    empty bar by a clear margin; each history bar's mark (dot, dash, cross) stands out
    from what is under it and the three differ in shape; the gauge's words differ."""
    knees = {"good": 60.0, "near": 52.0, "bad": 40.0}  # target 55, band 5 (CFG)
    shots, words, marks = {}, {}, {}
    for z, knee in knees.items():
        display.render(state(knee=knee, n_steps=20))
        shots[z] = _screenshot(display, tmp_path / f"{z}.png")
        words[z] = display.regions["knee_drive_word"]
        kz, _bar, mark = display.history_bars[-1]
        assert kz == z and mark is not None
        marks[z] = mark
    display.render(state(has_pose=False))
    empty_shot = _screenshot(display, tmp_path / "none.png")
    bar = display.regions["knee_drive"]
    at = (bar.centery, bar.x + 4)
    seen = {z: _views(shots[z]) for z in knees}
    empty = _views(empty_shot)
    for name in empty:
        fill = {z: seen[z][name][at] for z in knees}
        for a, b in (("good", "near"), ("good", "bad"), ("near", "bad")):
            assert _delta_e(fill[a], fill[b]) >= CVD_MARGIN, (name, a, b)
        for z in knees:
            assert _delta_e(fill[z], empty[name][at]) >= CVD_MARGIN, (name, z, "empty bar")
            r = marks[z]  # the newest history bar's mark against what is under it
            cell = seen[z][name][r.top:r.bottom, r.left:r.right].reshape(-1, 3)
            light = cell.astype(int).sum(axis=1)
            assert _delta_e(cell[light.argmin()], cell[light.argmax()]) >= 2 * CVD_MARGIN, \
                (name, z, "mark")
    masks = {}  # the marks' shapes: pixels unlike the colour most of the cell has
    for z, r in marks.items():
        cell = shots[z][r.top:r.bottom, r.left:r.right].astype(int)
        colours, counts = np.unique(cell.reshape(-1, 3), axis=0, return_counts=True)
        mask = np.abs(cell - colours[counts.argmax()]).sum(axis=-1) > 150
        mask[mask.all(axis=1)] = False  # the target line, where it crosses the cell
        masks[z] = mask
        assert mask.sum() > 10, z
    shape = {z: m.shape for z, m in masks.items()}
    assert len(set(shape.values())) == 1, shape
    for a, b in (("good", "near"), ("good", "bad"), ("near", "bad")):
        overlap = (masks[a] & masks[b]).sum() / (masks[a] | masks[b]).sum()
        assert overlap < 0.5, (a, b, overlap)
    assert len({(w.width, w.height) for w in words.values()}) == 3  # three words
