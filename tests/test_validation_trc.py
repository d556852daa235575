"""The .trc reader on the real mocap files and on broken ones."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from realtime.validation.trc import TrcError, read_trc
from tests.conftest import data_file


def test_reads_hamner_running_trial() -> None:
    trc = read_trc(data_file("mocap/hamner2013/subject01_Run_4.trc"))
    assert trc.rate_hz == 100.0
    assert trc.units == "mm"
    assert len(trc.markers) == 42 and "LASI" in trc.markers and "RTH1" in trc.markers
    assert len(trc) == 510
    assert trc.xyz.shape == (510, 42, 3)
    assert np.allclose(np.diff(trc.t), 0.01)
    # Y is up: the pelvis is about a metre above the toes.
    assert np.nanmean(trc.marker("LASI")[:, 1]) - np.nanmean(trc.marker("LTOE")[:, 1]) > 800


def test_reads_dorn_trial_and_marks_gaps() -> None:
    trc = read_trc(data_file("mocap/dorn2012/jog.trc"))
    assert trc.rate_hz == 250.0 and len(trc) == 837
    assert {"RASI", "LASI", "SACR", "LLEPI", "RLMAL", "LHEEL", "RTOE"} <= set(trc.markers)
    # RTHAD is lost in the last frames: zeros in the file become NaN, not the origin.
    assert np.isnan(trc.marker("RTHAD")[-1]).all()
    assert np.isfinite(trc.marker("RTHAD")[0]).all()


def test_unknown_marker_names_the_file() -> None:
    path = data_file("mocap/hamner2013/subject01_Run_4.trc")
    with pytest.raises(TrcError, match=r"subject01_Run_4\.trc.*LKNEE"):
        read_trc(path).marker("LKNEE")


_HEADER = (
    "PathFileType\t4\t(X/Y/Z)\tx.trc\n"
    "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\n"
    "100\t100\t2\t{n}\tmm\n"
    "Frame#\tTime\tA\t\t\tB\t\t\n"
    "\t\tX1\tY1\tZ1\tX2\tY2\tZ2\n"
    "\n"
)


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bad.trc"
    p.write_text(text)
    return p


def test_malformed_files_raise_naming_the_file(tmp_path: Path) -> None:
    good_rows = "1\t0.00\t1\t2\t3\t4\t5\t6\n2\t0.01\t1\t2\t3\t4\t5\t6\n"
    assert read_trc(_write(tmp_path, _HEADER.format(n=2) + good_rows)).xyz.shape == (2, 2, 3)
    cases = {
        "header says 3 markers": _HEADER.format(n=3) + good_rows,
        "not a number": _HEADER.format(n=2) + "1\t0.00\t1\tx\t3\t4\t5\t6\n",
        "strictly increasing": _HEADER.format(n=2) + good_rows.replace("0.01", "0.00"),
        "no data rows": _HEADER.format(n=2),
        "not a .trc file": "hello\n" * 8,
    }
    for message, text in cases.items():
        with pytest.raises(TrcError, match=rf"bad\.trc.*{re.escape(message)}"):
            read_trc(_write(tmp_path, text))
    with pytest.raises(TrcError, match="not found"):
        read_trc(tmp_path / "missing.trc")


def test_short_rows_are_padded_with_nan(tmp_path: Path) -> None:
    text = _HEADER.format(n=2) + "1\t0.00\t1\t2\t3\n2\t0.01\t1\t2\t3\t4\t5\t6\n"
    trc = read_trc(_write(tmp_path, text))
    assert np.isnan(trc.marker("B")[0]).all() and np.isfinite(trc.marker("B")[1]).all()
