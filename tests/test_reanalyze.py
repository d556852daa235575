"""Re-analysis: when METRICS_VERSION goes up, old sessions are re-measured from their
pose streams (in worker processes), the old rows are kept, reports name the version,
and sessions of different versions are not compared until re-measured."""

from __future__ import annotations

from pathlib import Path

import pytest

from realtime.cli import main
from realtime.metrics import version
from realtime.store.db import Store
from realtime.store.home import home
from tests.test_therapist import SHORT_PLAN, _sets


def test_reanalyze_keeps_old_rows_and_makes_sessions_comparable(
        real_clip_stream: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    v0 = version.METRICS_VERSION  # the metrics stage as shipped
    v1 = str(int(v0) + 1)  # ... and once it improves
    assert main(["runner", "add", "anna"]) == 0
    assert main(["analyze", str(real_clip_stream), "--out", str(tmp_path / "s1"), "--quiet",
                 "--runner", "anna", *_sets(SHORT_PLAN)]) == 0
    monkeypatch.setattr(version, "METRICS_VERSION", v1)  # the metrics stage improved
    assert main(["analyze", str(real_clip_stream), "--out", str(tmp_path / "s2"), "--quiet",
                 "--runner", "anna", *_sets(SHORT_PLAN)]) == 0
    capsys.readouterr()
    store = Store(home().db)
    assert [s.metrics_version for s in store.sessions("anna")] == [v0, v1]
    assert main(["compare", "1", "2", "--out", str(tmp_path / "c.html")]) == 2
    err = capsys.readouterr().err
    assert (f"session 1 shows metrics version {v0} and session 2 version {v1}: not "
            "comparable") in err
    assert "run `realtime reanalyze --runner anna`" in err and len(err.splitlines()) == 1
    old = store.steps(1)
    assert main(["reanalyze", "--runner", "anna", "--since", "2000-01-01", "--workers", "2",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"metrics version {v1}: 1 sessions re-measured" in out
    assert f"1 already measured by version {v1}" in out
    assert store.step_versions(1) == {v0: len(old), v1: len(old)}  # old rows kept
    assert store.session(1).metrics_version == v1 and store.session(1).rev >= 2
    assert store.steps(1, v0) == old and store.steps(1) == old  # same code: same steps
    assert main(["compare", "1", "2", "--out", str(tmp_path / "c.html")]) == 0
    assert main(["report", "1", "--out", str(tmp_path / "r.html")]) == 0
    assert f"<th>metrics version</th><td>{v1} (" in (tmp_path / "r.html").read_text()
    assert main(["reanalyze", "--quiet"]) == 0  # nothing left to do
    assert "0 sessions re-measured" in capsys.readouterr().out


def test_reanalyze_names_bad_arguments_and_sessions_without_poses(
        capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["reanalyze", "--since", "last week"]) == 2
    assert "--since 'last week': give a date as YYYY-MM-DD" in capsys.readouterr().err
    assert main(["reanalyze", "--runner", "nobody"]) == 2
    assert "unknown runner 'nobody'" in capsys.readouterr().err
    store = Store(home().db)
    sid = store.begin_session(runner=None, kind="live", source="camera 0", views=["side"],
                              folder=None, profile=None, config={}, version="0",
                              session_index=0)
    store.end_session(sid, {})
    monkeypatch.setattr(version, "METRICS_VERSION", str(int(version.METRICS_VERSION) + 1))
    assert main(["reanalyze", "--quiet"]) == 0
    assert "1 without a pose stream" in capsys.readouterr().out
