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
    (["demo", "--seconds", "nan"], "--seconds must be positive, got nan"),
    (["run", "--video", "x.mp4", "--seconds", "-5"], "--seconds must be positive, got -5"),
    (["run", "--camera", "-1"], "--camera must be 0 or more, got -1"),
    (["run", "--camera", "0", "--rear-camera", "-2"], "--rear-camera must be 0 or more"),
    (["analyze", "{tmp}/text.mp4", "--config", "{tmp}"], "is a folder, not a TOML file"),
    (["analyze", "{tmp}/text.mp4", "--profile", "{tmp}"], "is a folder, not a TOML file"),
    (["analyze", "{tmp}/text.mp4", "--config", "{tmp}/latin1.toml"], "is not UTF-8 text"),
    (["analyze", "{tmp}/text.mp4", "--set", "cues.knee_drive_target_deg=nan"],
     "cues.knee_drive_target_deg = nan: must be a finite number"),
    (["analyze", "{tmp}/text.mp4", "--set", "cues.cooldown_s=inf"], "must be a finite number"),
    (["analyze", "{tmp}/still.png"], "is a still image, not a video"),
    (["analyze", "{tmp}/huge.npz"], "x, y must be normalised image coordinates"),
    (["analyze", "{tmp}/vis.npz"], "visibility must be within 0..1, got inf"),
    (["analyze", "{tmp}/views.npz"], "'view' must be 'side' or 'rear'"),
]


@pytest.mark.parametrize(("argv", "message"), CASES)
def test_user_errors_are_one_clear_line(tmp_path, capsys, argv, message) -> None:
    _make_bad_npz(tmp_path)
    (tmp_path / "text.mp4").write_text("not a video")
    (tmp_path / "latin1.toml").write_bytes("[cues]\n# caf\xe9\n".encode("latin-1"))
    (tmp_path / "still.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    lm = np.full((3, 33, 4), 0.5, np.float32)
    for name, landmarks, view in (("huge", lm * 1e30, "side"),
                                  ("vis", np.concatenate([lm[..., :3], np.full((3, 33, 1),
                                                          np.inf, np.float32)], -1), "side"),
                                  ("views", lm, np.array(["side", "rear"]))):
        np.savez(tmp_path / f"{name}.npz", t=np.arange(3.0), landmarks=landmarks,
                 image_size=np.array([10, 10]), view=np.asarray(view), fps=np.float64(30))
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


def test_session_files_are_private_to_the_user(tmp_path) -> None:
    """Gait data are health data: what `realtime` writes is 0600 in 0700 folders."""
    from realtime.synthetic import synthetic_run

    stream, _ = synthetic_run(3.0, 30.0)
    src = tmp_path / "in.npz"
    from realtime.pose.stream import save

    save(src, stream)
    out = tmp_path / "deep" / "OUT"
    r = run_cli("analyze", str(src), "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    assert (out.stat().st_mode & 0o777) == 0o700
    assert (out.parent.stat().st_mode & 0o777) == 0o700
    for f in out.iterdir():
        assert (f.stat().st_mode & 0o777) == 0o600, f


def test_a_folder_with_results_is_refused_unless_forced(tmp_path, capsys) -> None:
    """analyze A --out D, then analyze B --out D: refused in one line, nothing touched;
    with --force the old results are replaced, not mixed."""
    from realtime.pose.stream import save
    from realtime.synthetic import synthetic_run

    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    save(a, synthetic_run(3.0, 30.0)[0])
    save(b, synthetic_run(5.0, 30.0)[0])
    out = tmp_path / "D"
    assert main(["analyze", str(a), "--out", str(out), "--quiet"]) == 0
    before = (out / "steps.csv").read_text()
    capsys.readouterr()
    assert main(["analyze", str(b), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "already holds results (steps.csv, summary.json)" in err and "--force" in err
    assert err.count("\n") == 1 and (out / "steps.csv").read_text() == before
    assert main(["run", "--video", str(b), "--headless", "--mute", "--out", str(out)]) == 2
    assert "already holds results" in capsys.readouterr().err
    assert main(["analyze", str(b), "--out", str(out), "--quiet", "--force"]) == 0
    assert (out / "steps.csv").read_text() != before
    (tmp_path / "afile").write_text("x")
    assert main(["analyze", str(a), "--out", str(tmp_path / "afile"), "--quiet"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_analyze_stops_on_sigterm_like_ctrl_c(tmp_path) -> None:
    """A service manager's stop: analyze ends at once, keeps the poses it computed."""
    import signal
    import time

    from tests.conftest import data_file

    out = tmp_path / "OUT"
    proc = subprocess.Popen([sys.executable, "-m", "realtime", "analyze",
                             str(data_file("videos/treadmill_side_male.mp4")), "--out", str(out),
                             "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(6.0)  # the model loads, then frames go through
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    from realtime.pose import stream as ps

    assert 0 < len(ps.load(out / "pose.npz")) < 360  # what was computed is kept


def test_a_sideways_runner_is_said() -> None:
    from realtime.metrics import warnings

    lines = warnings({"steps": 30, "reliable_steps": 30,
                      "metrics": {"trunk_lean_deg": {"median": -84.0}}})
    assert any("is the video rotated" in line for line in lines)
    assert not any("rotated" in line for line in warnings(
        {"steps": 30, "reliable_steps": 30, "metrics": {"trunk_lean_deg": {"median": 7.0}}}))
