"""Matching and scoring, and the harness end to end with a stand-in analyzer."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from realtime.pose.stream import load
from realtime.types import GaitEvent, Landmark, Step
from realtime.validation.__main__ import main
from realtime.validation.score import (
    Condition,
    run_analyzer,
    run_validation,
    score,
    verdict,
)
from realtime.validation.streams import make_stream
from realtime.validation.truth import sagittal_knee_flexion
from tests.conftest import data_file


def _truth() -> tuple[list[Step], tuple[GaitEvent, ...]]:
    """Ten alternating steps at 180 spm with known metric values."""
    steps = [
        Step("L" if k % 2 == 0 else "R", 1.0 + k / 3, cadence_spm=180.0, knee_drive_deg=30.0,
             knee_flexion_ic_deg=15.0, overstride_pct=20.0, hip_sway_pct=2.0,
             pelvic_drop_deg=4.0, confidence=1.0)
        for k in range(10)
    ]
    last = GaitEvent("IC", "L", 1.0 + 10 / 3, 1.0 + 10 / 3, 1.0)
    return steps, (last,)


def test_perfect_detection_scores_zero_error() -> None:
    truth, events = _truth()
    s = score(truth, truth, "side", events)
    assert s["found_share"] == 1.0 and s["n_false"] == 0
    assert s["ic_mae_ms"] == 0.0 and s["cadence_session_err_pct"] == 0.0
    assert s["metrics"]["knee_drive_deg"]["mae"] == 0.0
    v = verdict(s)
    assert v["found_share"] and v["ic_mae_ms"] and v["knee_drive_deg"]


def test_errors_biases_misses_and_false_contacts_are_counted() -> None:
    truth, events = _truth()
    det = [replace(s, t_contact_s=s.t_contact_s + 0.010, knee_drive_deg=s.knee_drive_deg - 3,
                   cadence_spm=183.6, overstride_pct=math.nan) for s in truth]
    det = det[:4] + det[5:]  # one missed
    det.append(Step("R", truth[0].t_contact_s, cadence_spm=180.0))  # wrong leg: false
    det.append(Step("L", 0.2, cadence_spm=180.0))  # before the truth begins: not judged
    s = score(det, truth, "side", events)
    assert s["n_true"] == 10 and s["n_found"] == 9 and s["n_false"] == 1
    assert s["ic_mae_ms"] == pytest.approx(10.0) and s["ic_bias_ms"] == pytest.approx(10.0)
    assert s["cadence_step_err_pct"] == pytest.approx(2.0)
    assert s["metrics"]["knee_drive_deg"]["bias"] == pytest.approx(-3.0)
    # Metrics the stand-in did not fill are reported missing, never as zero error.
    assert s["metrics"]["overstride_pct"]["n_missing"] == 9
    assert math.isnan(s["metrics"]["overstride_pct"]["mae"])
    v = verdict(s)
    assert not v["found_share"] and not v["false_share"] and not v["knee_drive_deg"]
    assert v["ic_mae_ms"]


def test_unreliable_metrics_count_as_missing_not_as_errors() -> None:
    truth, events = _truth()
    det = [replace(s, overstride_pct=99.0, unreliable=frozenset({"overstride_pct"}))
           for s in truth]
    s = score(det, truth, "side", events)
    assert s["metrics"]["overstride_pct"]["n_missing"] == len(truth)
    assert s["metrics"]["knee_drive_deg"]["mae"] == 0.0


def test_toe_offs_are_scored_from_events() -> None:
    truth, events = _truth()
    tos = tuple(GaitEvent("TO", s.leg, s.t_contact_s + 0.2, 0.0, 1.0) for s in truth)
    det_ev = [GaitEvent("IC", s.leg, s.t_contact_s, 0.0, 1.0) for s in truth]
    det_ev += [GaitEvent("TO", e.leg, e.t_s - 0.015, 0.0, 1.0) for e in tos]
    s = score(truth, truth, "side", (*events, *tos), detected_events=det_ev)
    assert s["n_found_to"] == len(tos) and s["to_mae_ms"] == pytest.approx(15.0)


def test_rear_view_scores_frontal_metrics_only() -> None:
    truth, events = _truth()
    det = [replace(s, pelvic_drop_deg=5.0, knee_drive_deg=math.nan) for s in truth]
    s = score(det, truth, "rear", events)
    assert set(s["metrics"]) == {"hip_sway_pct", "pelvic_drop_deg"}
    assert s["metrics"]["pelvic_drop_deg"]["mae"] == pytest.approx(1.0)


def test_a_detection_far_from_any_true_contact_is_false() -> None:
    truth, events = _truth()
    half_way = truth[3].t_contact_s + 0.5 / 3  # between two contacts, same leg as neither
    det = [*truth, Step(truth[3].leg, half_way + 0.01, cadence_spm=180.0)]
    s = score(det, truth, "side", events)
    assert s["n_found"] == 10 and s["n_false"] == 1


def test_contacts_in_the_warm_up_and_at_the_end_are_not_judged() -> None:
    truth, events = _truth()
    early = [replace(s, t_contact_s=s.t_contact_s - 0.8) for s in truth]  # first IC at 0.2 s
    ev = tuple(replace(e, t_s=e.t_s - 0.8) for e in events)
    det = early[1:]  # the analyzer missed the first contact
    assert score(det, early, "side", ev)["found_share"] == 1.0
    assert score(det, early, "side", ev)["n_true"] == 9
    strict = score(det, early, "side", ev, warmup_s=0.0)
    assert strict["n_true"] == 10 and strict["n_found"] == 9
    # a stream that ends 0.1 s after a contact cannot report it
    end = score(det, early, "side", ev, t_end=early[-1].t_contact_s + 0.1)
    assert end["n_true"] == 8


class FootDrop:
    """Stand-in analyzer: IC when a foot's heel or toe comes near the lowest it has been.

    Crude on purpose (frame-level, no metrics): it exercises the harness and checks
    that the projected feet land where the truth says they do.
    """

    FEET: ClassVar[dict[str, tuple[int, int]]] = {
        "L": (Landmark.LEFT_HEEL, Landmark.LEFT_FOOT_INDEX),
        "R": (Landmark.RIGHT_HEEL, Landmark.RIGHT_FOOT_INDEX),
    }

    def __init__(self, view: str, image_size: tuple[int, int], fps: float) -> None:
        self.floor = {i: -np.inf for idx in self.FEET.values() for i in idx}
        self.down = {"L": True, "R": True}
        self.prev: tuple[str, float] | None = None

    def update(self, t_s: float, landmarks: np.ndarray) -> list[Step]:
        out: list[Step] = []
        for leg, idx in self.FEET.items():
            gap = np.inf  # how far (image heights) the foot is above its floor
            for i in idx:
                self.floor[i] = max(self.floor[i], float(landmarks[i, 1]))
                gap = min(gap, self.floor[i] - float(landmarks[i, 1]))
            if not self.down[leg] and gap < 0.008:
                self.down[leg] = True
                if self.prev is not None and self.prev[0] != leg:
                    out.append(Step(self.prev[0], self.prev[1],  # type: ignore[arg-type]
                                    cadence_spm=60.0 / (t_s - self.prev[1])))
                self.prev = (leg, t_s)
            elif self.down[leg] and gap > 0.04:
                self.down[leg] = False
        return out

    def finish(self) -> list[Step]:
        return []


@pytest.mark.parametrize("view", ["side", "rear"])
def test_stand_in_finds_the_true_contacts(view: str) -> None:
    """A heel-or-toe-near-the-floor detector agrees with the mocap events (subject01)."""
    data_file("mocap/hamner2013/subject01_Run_4.trc")
    stream, truth, events = make_stream("subject01_Run_4", view, 30.0, 2.0)  # type: ignore[arg-type]
    det = run_analyzer(FootDrop(view, stream.image_size, stream.fps), stream)
    s = score(det, truth, view, events)  # type: ignore[arg-type]
    assert s["found_share"] >= 0.8 and s["n_false"] <= 1
    assert s["ic_mae_ms"] < 30.0  # whole frames, and heel/toe heights are not force
    assert s["cadence_session_err_pct"] < 6.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_truth_times_are_on_the_stream_clock(seed: int) -> None:
    """Knee flexion read off the stream at the true IC equals the truth (60 fps, no noise)."""
    data_file("mocap/hamner2013/subject01_Run_5.trc")
    stream, truth, _ = make_stream("subject01_Run_5", "side", 60.0, 0.0, "left", seed,
                                    blazepose_hips=False)
    w, h = stream.image_size
    for step in truth:
        idx = ((Landmark.LEFT_HIP, Landmark.LEFT_KNEE, Landmark.LEFT_ANKLE) if step.leg == "L"
               else (Landmark.RIGHT_HIP, Landmark.RIGHT_KNEE, Landmark.RIGHT_ANKLE))
        pts = [np.array([np.interp(step.t_contact_s, stream.t, stream.landmarks[:, i, k])
                         for k in (0, 1)]) * [w, h] for i in idx]
        assert sagittal_knee_flexion(*pts) == pytest.approx(step.knee_flexion_ic_deg, abs=1.0)


def test_harness_end_to_end_writes_json_and_streams(tmp_path: Path) -> None:
    data_file("mocap/dorn2012/jog.trc")
    conds = [Condition("side", 30.0, 2.0, "left"), Condition("rear", 60.0, 0.0, "left")]
    res = run_validation(["dorn_jog"], conds, FootDrop, tmp_path)
    assert not res["leave_one_runner_out"]  # another analyzer: nothing to calibrate
    assert set(res["conditions"]) == {"side_left_30fps_2px", "rear_60fps_0px"}
    side = res["conditions"]["side_left_30fps_2px"]
    assert side["is_target_condition"] and side["overall"]["n_true"] >= 3
    assert side["verdict"]["knee_drive_deg"] is False  # the stand-in measures nothing
    on_disk = json.loads((tmp_path / "validation.json").read_text())
    assert on_disk["conditions"].keys() == res["conditions"].keys()
    stream = load(tmp_path / "streams" / "dorn_jog_rear_60fps_0px.npz")
    assert stream.view == "rear" and stream.fps == 60.0
    truth_csv = (tmp_path / "streams" / "dorn_jog_rear_60fps_0px.truth.csv").read_text()
    assert truth_csv.startswith("leg,t_contact_s,cadence_spm,")


def test_cli_fails_when_targets_are_missed(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    data_file("mocap/hamner2013/subject04_Run_5.trc")
    code = main(["--trials", "subject04_Run_5", "--fps", "30", "--noise", "2", "--views",
                 "side", "--out", str(tmp_path), "-q",
                 "--analyzer", "tests.test_validation_score:FootDrop"])
    assert code == 1
    out = capsys.readouterr().out
    assert "subject04_Run_5" in out and "target condition" in out and "FAIL" in out
    assert (tmp_path / "validation.json").exists()


def test_dropped_frames_are_random_keep_both_ends_and_are_no_target_condition() -> None:
    from realtime.pose.stream import PoseStream
    from realtime.validation.score import drop_frames

    n = 3000
    t = np.arange(n) / 30.0
    stream = PoseStream(t, np.zeros((n, 33, 4), np.float32), (720, 1280), "side", 30.0)
    assert drop_frames(stream, 1.0, np.random.default_rng(0)) is stream
    fed = drop_frames(stream, 0.9, np.random.default_rng(0))
    assert 0.88 < len(fed) / n < 0.92  # about the share asked for
    assert fed.t[0] == t[0] and fed.t[-1] == t[-1]  # the judged span is unchanged
    assert np.all(np.diff(fed.t) > 0) and np.isin(fed.t, t).all()  # a subset, in order
    gaps = np.round(np.diff(fed.t) * 30).astype(int)
    assert (gaps == 2).sum() > 100 and (gaps == 3).sum() > 3  # drops land anywhere
    again = drop_frames(stream, 0.9, np.random.default_rng(0))
    assert np.array_equal(again.t, fed.t)  # reproducible from the seed
    c = Condition("side", 30.0, 2.0, "left", keep=0.9)
    assert c.key == "side_left_30fps_2px_keep90"
    assert not c.is_target and c.targets == {}  # the targets hold for every frame
    assert Condition("side", 30.0, 2.0, "left").key == "side_left_30fps_2px"


def test_cli_rejects_a_share_of_frames_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--keep", "0", "-q"]) == 2
    assert "--keep" in capsys.readouterr().err
