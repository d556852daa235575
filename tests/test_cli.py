"""The `realtime` command as a user meets it: help, and one-line errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from realtime.cli import main


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "realtime", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_help_speaks_to_runners_and_therapists() -> None:
    r = run_cli("--help")
    assert r.returncode == 0
    for words in ("realtime demo", "realtime run --camera 0", "realtime analyze", "profile"):
        assert words in r.stdout
    for cmd in ("analyze", "run", "demo"):
        assert run_cli(cmd, "--help").returncode == 0


def _make_bad_npz(tmp_path):
    p = tmp_path / "bad.npz"
    np.savez(p, t=np.arange(3.0), landmarks=np.zeros((3, 17, 4), np.float32),
             image_size=np.array([10, 10]), view=np.asarray("side"), fps=np.float64(30))
    return p


CASES = [
    (["analyze", "{tmp}/missing.mp4"], "input not found"),
    (["analyze", "{tmp}/bad.npz"], "'landmarks' must be float [T, 33, 4]"),
    (["analyze", "{tmp}/text.mp4"], "cannot"),
    (["analyze", "{tmp}/text.mp4", "--set", "capture.fps=0"], "capture.fps = 0.0 is out of range"),
    (["analyze", "{tmp}/text.mp4", "--profile", "nobody"], "profile 'nobody' not found"),
    (["run", "--camera", "7", "--headless", "--set", "capture.width=100"],
     "capture.width = 100 is out of range"),
    (["run", "--realtime", "--headless"], "--realtime only applies with --video"),
    (["demo", "--seconds", "0"], "--seconds must be positive"),
]


@pytest.mark.parametrize(("argv", "message"), CASES)
def test_user_errors_are_one_clear_line(tmp_path, capsys, argv, message) -> None:
    _make_bad_npz(tmp_path)
    (tmp_path / "text.mp4").write_text("not a video")
    argv = [a.format(tmp=tmp_path) for a in argv]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and err.startswith("realtime: error: ")
    assert "Traceback" not in err


def test_no_camera_is_a_clear_error_not_a_traceback() -> None:
    r = run_cli("run", "--camera", "9", "--headless", "--mute", "--out", "/tmp/rt-nocam")
    assert r.returncode == 2
    assert "cannot open camera 9" in r.stderr
    assert "Traceback" not in r.stderr
