"""The report's skeleton: the real clip's pose at its median step, legs in their colours."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest

from realtime.cli import main
from realtime.config import ReportConfig
from realtime.palette import BLUE, ORANGE
from realtime.report.html import session_report
from realtime.store.sessiondata import from_folder


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])


def test_report_draws_the_pose_of_a_typical_step_legs_apart(real_clip_stream: Path,
                                                            tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    out = tmp_path / "s"
    assert main(["analyze", str(real_clip_stream), "--out", str(out)]) == 0
    # a session folder holds its pose stream (run and a video's analyze write it)
    (out / "pose.npz").write_bytes(real_clip_stream.read_bytes())
    html = session_report(from_folder(out), tmp_path / "r.html", ReportConfig()).read_text()
    assert "The runner at a typical step" in html
    i = html.index("The runner at a typical step")
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', html[i:])[1])
    img = (mpimg.imread(io.BytesIO(png))[..., :3] * 255).astype(int)
    for colour in (BLUE, ORANGE):  # both legs drawn, each in its own colour
        near = np.abs(img - _rgb(colour)).max(axis=-1) <= 12
        assert near.sum() > 200, colour
    assert "far leg dashed" in html


def test_no_skeleton_without_a_pose_stream(tmp_path: Path) -> None:
    out = tmp_path / "s"
    out.mkdir()
    (out / "steps.csv").write_text("leg,t_contact_s\n")
    data = from_folder(out)
    html = session_report(data, tmp_path / "r.html", ReportConfig()).read_text()
    assert "typical step" not in html
    pytest.importorskip("matplotlib")
