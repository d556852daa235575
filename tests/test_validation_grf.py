"""Force truth: reading the plates, extrapolating clipped edges, giving contacts to feet."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from realtime.validation import catalog as cat
from realtime.validation.grf import (
    THRESHOLD_N,
    ForceError,
    Plates,
    edge_model,
    force_contacts,
    plate_runs,
    read_mot,
)
from tests.conftest import data_file

HAMNER = "mocap/hamner2013"


def test_read_mot_belts_clip_levels_and_clock() -> None:
    p = read_mot(data_file(f"{HAMNER}/subject10_Run_2_grf.mot"))
    assert p.names == ("R", "L") and p.rate_hz == pytest.approx(1000.0, rel=1e-3)
    assert all(120 < c < 140 for c in p.clip_n)  # set to 0 below ~130 N in this file
    unclipped = read_mot(data_file(f"{HAMNER}/subject01_Run_4_grf.mot"))
    assert unclipped.clip_n == (0.0, 0.0)
    trc_t0 = cat.load_joints("subject01_Run_4").t[0]
    assert unclipped.t[0] == pytest.approx(trc_t0)  # the same clock as the markers


def test_bad_force_files_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ForceError, match="not found"):
        read_mot(tmp_path / "absent.mot")
    (tmp_path / "x.mot").write_text("name x\ndatacolumns 2\n0.0\t1.0\n")
    with pytest.raises(ForceError, match="endheader"):
        read_mot(tmp_path / "x.mot")


def _clipped(p: Plates, level: float) -> Plates:
    fz = np.where(p.fz > level, p.fz, 0.0)
    return Plates(p.path, p.t, fz, p.names, tuple(level for _ in p.names))


@pytest.mark.parametrize("level", [80.0, 130.0])
def test_extrapolated_edges_agree_with_the_unclipped_truth(level: float) -> None:
    """Clip unclipped files the way the redistributed ones were, and compare the 50 N
    crossings found by extrapolation with the ones read directly."""
    data_file(f"{HAMNER}/subject01_Run_3_grf.mot")
    errs = []
    for name in ("subject01_Run_3", "subject03_Run_5", "subject10_Run_4"):
        p = read_mot(cat.data_dir() / "mocap" / "hamner2013" / f"{name}_grf.mot")
        direct = plate_runs(p)
        clipped = plate_runs(_clipped(p, level))
        assert len(direct) == len(clipped)
        for (_, a_on, a_off, _), (_, b_on, b_off, _) in zip(direct, clipped, strict=True):
            errs += [b - a for a, b in ((a_on, b_on), (a_off, b_off)) if math.isfinite(a)]
    e = np.abs(errs) * 1000
    assert len(e) > 60
    assert e.mean() < 1.5 and e.max() < 6.0  # ms
    model = edge_model(round(level, 1))
    assert model.resid_on_ms < 1.5 and model.n_edges > 100


def test_contacts_alternate_and_a_landing_across_both_belts_is_one_contact() -> None:
    """subject03_Run_2 lands twice across both belts (the left foot's force split over
    the right belt and the left one): one left contact each time."""
    data_file(f"{HAMNER}/subject03_Run_2_grf.mot")
    truth = cat.load_truth("subject03_Run_2")
    seen = [c for c in truth.contacts if math.isfinite(c.t_ic)]
    assert all(a.leg != b.leg for a, b in itertools.pairwise(seen))
    runs = plate_runs(cat.load_forces("subject03_Run_2"))
    assert len(runs) > len(truth.contacts)  # some contacts are on both belts
    stance = [c.t_to - c.t_ic for c in seen if math.isfinite(c.t_to)]
    assert 0.25 < np.median(stance) < 0.40


def test_a_contact_goes_to_the_lowest_foot() -> None:
    p = Plates(Path("x"), np.arange(0, 1, 0.001), np.zeros((1, 1000)), ("R",), (0.0,))
    p.fz[0, 200:500] = 800.0 * np.sin(np.linspace(0, np.pi, 300))
    t = np.linspace(0, 1, 101)
    low_left = {"L": (t, np.zeros_like(t)), "R": (t, np.full_like(t, 80.0))}
    (c,) = force_contacts(p, low_left)
    assert c.leg == "L" and c.plates == ("R",)  # the left foot on the right belt
    assert c.t_ic == pytest.approx(0.2 + math.asin(THRESHOLD_N / 800) / math.pi * 0.3,
                                   abs=0.002)
