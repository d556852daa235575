"""The therapist's workflow: baseline -> drill -> retest, calibrated targets, the session
store written as it happens (and after SIGKILL), reports, and the SDD rule."""

from __future__ import annotations

import csv
import math
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from realtime.cli import main
from realtime.config import CalibrationConfig, CuesConfig, ReportConfig
from realtime.feedback.calibration import propose
from realtime.report.change import COMPARED, compare, compare_metric
from realtime.store.db import Store
from realtime.store.home import home
from realtime.types import Step
from tests.conftest import REQUIRE_DATA

# A short plan that fits the 12 s real clip: 1 s warm-up, 4.5 s baseline, one 3.5 s drill
# block, 3 s retest (the default plan is 17 minutes).
SHORT_PLAN = ["drill.warmup_s=1", "drill.baseline_s=4.5", "drill.blocks=1",
              "drill.block_s=3.5", "drill.retest_s=3", "drill.cooldown_s=0",
              "calibration.min_steps=6"]


def _sets(items: list[str]) -> list[str]:
    return [a for x in items for a in ("--set", x)]


# ------------------------------------------------------------------ pure: calibration, SDD


def _steps(metric: str, values: np.ndarray, phase: str = "baseline",
           t0: float = 0.0) -> list[tuple[str, Step]]:
    return [(phase, Step(leg="LR"[i % 2], t_contact_s=t0 + 0.35 * i, confidence=0.9,
                         **{metric: float(v)})) for i, v in enumerate(values)]


def test_calibration_sets_targets_relative_to_the_baseline() -> None:
    base = [Step(leg="LR"[i % 2], t_contact_s=0.35 * i, confidence=0.9,
                 knee_drive_deg=22.0 + (i % 3), hip_sway_pct=5.0, cadence_spm=160.0,
                 pelvic_drop_deg=6.0)
            for i in range(20)]
    base.append(Step(leg="L", t_contact_s=9.0, knee_drive_deg=80.0, confidence=0.9,
                     unreliable=frozenset({"knee_drive_deg"})))  # not trusted: ignored
    cal = propose(base, CuesConfig(), CalibrationConfig())
    assert cal.baseline["knee_drive_deg"] == (23.0, 20)
    assert cal.targets == {"knee_drive_target_deg": 31.0,  # baseline + 8 deg
                           "hip_sway_limit_pct": 4.0,  # 20 % less sway
                           "pelvic_drop_limit_deg": 4.8,
                           "cadence_target_spm": 155.2}  # no more than 3 % slower
    assert "overstride_limit_pct" not in cal.targets  # not measured: the profile's stays
    assert cal.apply(CuesConfig()).knee_drive_target_deg == 31.0
    few = propose(base[:5], CuesConfig(), CalibrationConfig(min_steps=12))
    assert few.targets == {} and "only 5 steps" in few.lines()[0]


@pytest.mark.parametrize(("true_change", "verdict"),
                         [(0.0, "no real change"), (2.0, "no real change"),
                          (8.0, "better"), (-8.0, "worse")])
def test_a_change_is_real_only_beyond_the_smallest_detectable_difference(
        true_change: float, verdict: str) -> None:
    """Knee flexion at contact, SDD 3.8 deg (Dingenen 2018): synthetic sessions of 40
    steps each whose true means differ by a known amount, step noise sd 2 deg."""
    rng = np.random.default_rng(7)
    metric = next(m for m in COMPARED if m.column == "knee_flexion_ic_deg")
    a = 20.0 + rng.normal(0.0, 2.0, 40)
    b = 20.0 + true_change + rng.normal(0.0, 2.0, 40)
    c = compare_metric(metric, list(a), list(b), ReportConfig())
    assert c.published_sdd == 3.8 and c.threshold == 3.8  # 40 steps: noise ~0.9 deg
    assert c.verdict == verdict and c.real == (verdict in ("better", "worse"))


def test_few_steps_or_a_noisy_session_are_not_called_real() -> None:
    rng = np.random.default_rng(3)
    metric = next(m for m in COMPARED if m.column == "pelvic_drop_deg")
    cfg = ReportConfig()
    few = compare_metric(metric, [6.0] * 6, [2.0] * 6, cfg)  # 6 < 7 steps
    assert few.verdict == "too few steps" and not few.real
    # knee drive has no published SDD: a 3 deg change is real with steady steps ...
    kd = next(m for m in COMPARED if m.column == "knee_drive_deg")
    steady = compare_metric(kd, list(25 + rng.normal(0, 1, 50)),
                            list(28 + rng.normal(0, 1, 50)), cfg)
    assert steady.published_sdd == 0.0 and steady.verdict == "better"
    # ... and not with very noisy ones (the two means' own 95 % interval is wider)
    noisy = compare_metric(kd, list(25 + rng.normal(0, 12, 10)),
                           list(28 + rng.normal(0, 12, 10)), cfg)
    assert noisy.noise > 3.0 and noisy.verdict == "no real change"


def test_compare_uses_the_baseline_phase_when_it_has_enough_steps() -> None:
    a = (_steps("pelvic_drop_deg", np.full(10, 9.0), "baseline")
         + _steps("pelvic_drop_deg", np.full(10, 4.0), "drill", 10.0))
    b = _steps("pelvic_drop_deg", np.full(10, 5.0), "baseline")
    changes, used_a, used_b = compare(a, b, ReportConfig())
    pd = next(c for c in changes if c.metric.column == "pelvic_drop_deg")
    assert (used_a, used_b) == ("baseline", "baseline")
    assert pd.a.mean == 9.0 and pd.verdict == "better"  # 4 deg less drop > 2.8 SDD
    _, used_a, _ = compare(a, b, ReportConfig(), phase="retest")
    assert used_a == "whole session"  # no retest: the whole session, and it says so


# ------------------------------------------------------------------ a real session


def _add_runner(name: str) -> Path:
    assert main(["runner", "add", name]) == 0
    return home().profile(name)


def test_a_live_session_with_a_runner_records_phases_store_rows_and_a_report(
        real_clip_stream: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The real clip's poses played live for runner anna with a short plan: steps.csv and
    cues.csv carry phases, realtime.db holds the same rows, the baseline calibrated the
    drill's targets, and the report and comparison are written."""
    _add_runner("anna")
    out = tmp_path / "s1"
    code = main(["run", "--video", str(real_clip_stream), "--realtime", "--headless",
                 "--mute", "--runner", "anna", "--out", str(out), *_sets(SHORT_PLAN)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "calibration: knee drive target: baseline" in printed
    with (out / "steps.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    phases = [r["phase"] for r in rows]
    assert phases == sorted(phases, key=["warm-up", "baseline", "drill", "retest",
                                         "done"].index)  # in plan order
    assert {"baseline", "drill", "retest"} <= set(phases)

    store = Store(home().db)
    (sess,) = store.sessions("anna")
    assert sess.status == "done" and sess.kind == "live" and sess.folder == str(out.resolve())
    assert sess.config["drill"]["baseline_s"] == 4.5 and "[cues]" in sess.profile
    db_steps = store.steps(sess.id)
    assert len(db_steps) == len(rows) >= 25
    for (phase, step), row in zip(db_steps, rows, strict=True):
        assert phase == row["phase"] and step.leg == row["leg"]
        for col in ("t_contact_s", "knee_drive_deg", "cadence_spm", "confidence"):
            want = float(row[col]) if row[col] else math.nan
            assert getattr(step, col) == pytest.approx(want, abs=1e-4, nan_ok=True)
        assert ";".join(sorted(step.unreliable)) == ";".join(
            sorted(x for x in row["unreliable"].split(";") if x))
    with (out / "cues.csv").open() as fh:
        cue_rows = list(csv.DictReader(fh))
    db_cues = store.cues(sess.id)
    assert [(c.kind, c.phase) for c in db_cues] == [(r["kind"], r["phase"]) for r in cue_rows]
    assert all(r["phase"] == "drill" for r in cue_rows)  # silent in every other phase
    # the runner reaches ~23 deg: the calibrated target (baseline + 8) replaces 45
    cal = sess.calibration
    assert cal is not None
    target = cal["targets"]["knee_drive_target_deg"]
    assert 25.0 < target < 40.0
    assert target == pytest.approx(cal["baseline"]["knee_drive_deg"]["median"] + 8.0, abs=0.06)

    # the report, by id and by folder
    for ref, name in ((str(sess.id), "r_id.html"), (str(out), "r_dir.html")):
        assert main(["report", ref, "--out", str(tmp_path / name)]) == 0
        html = (tmp_path / name).read_text()
        assert "data:image/png;base64," in html and "http://" not in html
        assert "https://" not in html and "<script" not in html
        assert "baseline" in html and "retest" in html and "drive the knee" in html

    # a second session of the same runner, then the comparison (same clip: no real change)
    assert main(["analyze", str(real_clip_stream), "--out", str(tmp_path / "s2"),
                 "--quiet", "--runner", "anna", *_sets(SHORT_PLAN)]) == 0
    assert main(["compare", "1", "2", "--out", str(tmp_path / "c.html")]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"knee drive .* change \+?-?0\.00 .*: no real change", printed), printed
    assert "better" not in printed and "worse" not in printed
    assert "data:image/png;base64," in (tmp_path / "c.html").read_text()
    assert main(["sessions", "--runner", "anna"]) == 0
    listing = capsys.readouterr().out
    assert re.search(r"^\s+1\s+anna .* live .* done", listing, re.M)
    assert re.search(r"^\s+2\s+anna .* analyze .* done", listing, re.M)


def test_calibrate_saves_targets_to_the_runners_profile(real_clip_stream: Path,
                                                        tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    profile = _add_runner("ben")
    assert main(["analyze", str(real_clip_stream), "--out", str(tmp_path / "a"), "--quiet",
                 "--runner", "ben", "--set", "drill.baseline_s=11"]) == 0
    # the profile's plan has a 120 s warm-up; 11 s of baseline only happens with no warm-up
    assert main(["calibrate", "1"]) == 2
    assert "no baseline steps" in capsys.readouterr().err
    assert main(["analyze", str(real_clip_stream), "--out", str(tmp_path / "b"), "--quiet",
                 "--runner", "ben", "--set", "drill.warmup_s=0",
                 "--set", "drill.baseline_s=11"]) == 0
    capsys.readouterr()
    assert main(["calibrate", "2"]) == 0
    assert "not saved" in capsys.readouterr().out
    before = profile.read_text()
    assert main(["calibrate", "2", "--save"]) == 0
    assert "saved to" in capsys.readouterr().out
    from realtime.config import load_config

    cfg = load_config(profile=str(profile))
    assert 25.0 < cfg.cues.knee_drive_target_deg < 40.0
    assert cfg.calibration.targets == "profile"
    assert profile.read_text() != before and "# Example runner profile" in profile.read_text()


# ------------------------------------------------------------------ crash safety


def test_sigkill_mid_session_leaves_a_store_with_every_completed_step(
        real_clip_stream: Path, tmp_path: Path) -> None:
    """`realtime run` killed with SIGKILL mid-session: realtime.db opens, passes an
    integrity check, and holds every step steps.csv holds (steps.csv is flushed per step;
    at most the step being committed may be missing)."""
    env = dict(os.environ)
    assert main(["runner", "add", "cara"]) == 0
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "realtime", "run", "--video", str(real_clip_stream),
         "--realtime", "--headless", "--mute", "--runner", "cara", "--out", str(out),
         *_sets(["drill.warmup_s=0", "drill.baseline_s=3"])],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    csv_path = out / "steps.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if csv_path.exists() and len(csv_path.read_text().splitlines()) > 15:
            break
        if proc.poll() is not None:
            pytest.fail(f"the session ended before it was killed: {proc.stderr.read()}")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with csv_path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) >= 15
    db = sqlite3.connect(home().db)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    (status,) = db.execute("SELECT status FROM sessions").fetchone()
    assert status == "recording"  # it never ended: `realtime sessions` shows "no end"
    db.close()
    steps = Store(home().db).steps(1)
    assert len(rows) - 1 <= len(steps) <= len(rows)
    for (phase, step), row in zip(steps, rows, strict=False):
        assert phase == row["phase"]
        assert step.t_contact_s == pytest.approx(float(row["t_contact_s"]), abs=1e-4)


# ------------------------------------------------------------------ the report in a browser


def test_the_report_renders_in_headless_chromium(real_clip_stream: Path,
                                                 tmp_path: Path) -> None:
    """The session report opened in Debian's chromium, headless, to a PNG that is not
    blank (CI installs chromium; elsewhere the test skips without it)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if REQUIRE_DATA:
            pytest.fail("chromium not installed (REALTIME_REQUIRE_DATA=1)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    _add_runner("dana")
    assert main(["analyze", str(real_clip_stream), "--out", str(tmp_path / "s"), "--quiet",
                 "--runner", "dana", *_sets(SHORT_PLAN)]) == 0
    html = tmp_path / "report.html"
    assert main(["report", "1", "--out", str(html)]) == 0
    png = tmp_path / "report.png"
    r = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", "--window-size=1200,2400",
                        f"--screenshot={png}", html.as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and png.exists(), r.stderr[-2000:]
    import pygame

    img = pygame.surfarray.array3d(pygame.image.load(str(png)))
    assert img.shape[:2] == (1200, 2400)
    assert img.std() > 20.0  # text, tables and plots, not a blank page


# ------------------------------------------------------------------ end of a live session


def test_the_end_screen_says_metrics_against_targets_and_baseline_to_retest() -> None:
    from realtime.feedback.endsummary import end_lines

    steps = (_steps("knee_drive_deg", np.full(10, 22.0), "baseline")
             + _steps("knee_drive_deg", np.full(10, 29.0), "drill", 4.0)
             + _steps("knee_drive_deg", np.full(10, 27.0), "retest", 8.0))
    lines = end_lines(steps, CuesConfig(knee_drive_target_deg=30.0), 3, 12.4)
    assert lines[0] == ("30 steps in 0:12, 3 cues", "")
    assert lines[1][0].startswith("knee drive 27.0°") and lines[1][1] == "near"
    assert lines[2] == ("  baseline 22.0 -> retest 27.0 (+5.0°)", "")
    assert len(lines) == 3  # nothing about metrics this view does not measure
    # 3 trusted values among 30 steps: the value, but no verdict on it
    few = [(ph, replace(st, unreliable=st.unreliable | {"overstride_pct"}) if i >= 3 else st)
           for i, (ph, st) in enumerate(_steps("overstride_pct", np.full(30, 5.0), "drill"))]
    thin = end_lines(few, CuesConfig(), 0, 10.0)
    assert thin[1] == ("overstride 5.0 % leg  (limit 30.0; only 3 trusted of 30 steps: no "
                       "verdict)", "")
    empty = end_lines([], CuesConfig(), 0, 0.0)
    assert empty[-1] == ("no trusted steps: was the runner in view?", "near")


def test_the_end_screen_is_drawn(tmp_path: Path) -> None:
    import pygame

    from realtime.config import Config
    from realtime.feedback.display import Display

    display = Display(Config())
    try:
        display.render_summary("Session summary - anna",
                               [("31 steps in 0:12, 2 cues", ""),
                                ("knee drive 22.5°  (target 30.7, median of 26 steps)", "bad")],
                               "any key closes")
        shot = tmp_path / "end.png"
        display.screenshot(shot)
    finally:
        display.close()
    img = pygame.surfarray.array3d(pygame.image.load(str(shot)))
    reds = ((img[..., 0] > 180) & (img[..., 1] < 90)).sum()  # the "NOT MET" line
    assert reds > 500


def test_key_s_saves_the_targets_in_effect_to_the_runners_profile(tmp_path: Path) -> None:
    """A live hotkey change (or the calibration) saved back to the profile with S."""
    import pygame

    from realtime.config import Config, load_config
    from realtime.feedback.display import Display, SaveTargets
    from realtime.live import save_profile_targets
    from realtime.store.recorder import StoreTarget

    display = Display(Config())
    try:
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_UP))
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_s))
        actions = display.render(None)
    finally:
        display.close()
    assert isinstance(actions[-1], SaveTargets)
    moved = actions[0].cues  # the up arrow: knee target 30 -> 32
    profile = _add_runner("eve")
    target = StoreTarget(Store(home().db), "eve", profile)
    said = save_profile_targets(target, moved)
    assert said.startswith("saved to eve's profile: knee drive 32°")
    assert load_config(profile=str(profile)).cues.knee_drive_target_deg == 32.0
    assert "no runner" in save_profile_targets(StoreTarget(target.store, None, None), moved)
