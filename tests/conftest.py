"""Shared fixtures: the real recordings in ../shared/data, never copied into the repo.

Tests that need them skip with a reason when the folder is absent (a user's fresh clone)
and fail when REALTIME_REQUIRE_DATA=1 (CI).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("REALTIME_DATA_DIR", ROOT.parent / "shared" / "data"))
REQUIRE_DATA = os.environ.get("REALTIME_REQUIRE_DATA") == "1"

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


@pytest.fixture(autouse=True)
def realtime_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
                  ) -> Path:
    """Every test gets its own data folder ($REALTIME_HOME): nothing is written into the
    user's real one, and no test sees another's runners or sessions."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("REALTIME_HOME", str(home))
    return home


def data_file(rel: str) -> Path:
    """Path of a shared recording; skip (or fail under REALTIME_REQUIRE_DATA=1) if absent."""
    path = DATA_DIR / rel
    if not path.exists():
        msg = f"shared test data not found: {path}"
        if REQUIRE_DATA:
            pytest.fail(msg + " (REALTIME_REQUIRE_DATA=1)")
        pytest.skip(msg)
    return path


@pytest.fixture
def pulse() -> None:
    """A private PulseAudio server (tests/audio_server.py) needs pulseaudio and
    pulseaudio-utils: skip with the reason, fail under REALTIME_REQUIRE_DATA=1."""
    from tests.audio_server import pulse_available

    if not pulse_available():
        msg = "PulseAudio not installed (apt-get install pulseaudio pulseaudio-utils)"
        if REQUIRE_DATA:
            pytest.fail(msg + " (REALTIME_REQUIRE_DATA=1)")
        pytest.skip(msg)


def espeak_available() -> bool:
    import ctypes.util

    return ctypes.util.find_library("espeak-ng") is not None or \
        ctypes.util.find_library("espeak") is not None


@pytest.fixture
def espeak() -> None:
    """Speech synthesis needs espeak-ng (pyttsx3's engine on Linux): skip with the reason
    when it is missing, fail under REALTIME_REQUIRE_DATA=1 (CI installs it)."""
    if not espeak_available():
        msg = "espeak-ng is not installed (apt-get install espeak-ng): speech not tested"
        if REQUIRE_DATA:
            pytest.fail(msg + " (REALTIME_REQUIRE_DATA=1)")
        pytest.skip(msg)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA_DIR.exists():
        if REQUIRE_DATA:
            pytest.fail(f"shared test data not found: {DATA_DIR} (REALTIME_REQUIRE_DATA=1)")
        pytest.skip(f"shared test data not found: {DATA_DIR}")
    return DATA_DIR


_MODEL_CACHE: dict[str, object] = {}


def model_poses(rel: str) -> list:
    """PoseSamples of every frame of a shared video, from the real BlazePose model.

    Cached for the test session: the model is the slow part (about 10 s per clip here).
    """
    if rel not in _MODEL_CACHE:
        from realtime.capture import VideoFileSource
        from realtime.config import PoseConfig
        from realtime.pose.mediapipe_pose import MediaPipePose

        src = VideoFileSource(data_file(rel)).start()
        est = MediaPipePose(PoseConfig())
        samples = []
        try:
            while (frame := src.read(timeout=30.0)) is not None:
                samples.append(est.estimate(frame))
        finally:
            src.stop()
            est.close()
        _MODEL_CACHE[rel] = (samples, src.fps, src.size)
    return _MODEL_CACHE[rel]  # type: ignore[return-value]


@pytest.fixture(scope="session")
def real_clip_stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real treadmill clip's BlazePose landmarks as a pose stream (pose.npz), so a
    test can replay the real runner without running the model again."""
    import math

    from realtime.pose.stream import PoseStreamRecorder

    samples, fps, _size = model_poses("videos/treadmill_side_male.mp4")
    rec = PoseStreamRecorder("side", fps)
    for i, s in enumerate(samples):
        rec.add(s, s.t_source_s if math.isfinite(s.t_source_s) else i / fps)
    return rec.save(tmp_path_factory.mktemp("clip") / "pose.npz")


@pytest.fixture(scope="module")
def pg_server():  # type: ignore[no-untyped-def]
    """A real PostgreSQL server for a test module (tests/pg.py; about 1 s to start), stopped
    after it so that it never runs beside the timing-sensitive live tests; each test makes
    its own database.  Skips without PostgreSQL, fails under REALTIME_REQUIRE_DATA=1."""
    from tests.pg import PgServer, pg_bindir

    if pg_bindir() is None:
        msg = "PostgreSQL is not installed (apt-get install postgresql)"
        if REQUIRE_DATA:
            pytest.fail(msg + " (REALTIME_REQUIRE_DATA=1)")
        pytest.skip(msg)
    server = PgServer()
    try:
        yield server
    finally:
        server.close()


_PG_DBS = iter(range(1, 10_000))


@pytest.fixture
def pg_url(pg_server) -> str:  # type: ignore[no-untyped-def]
    """A new, empty database on the test server."""
    return pg_server.create(f"clinic_{next(_PG_DBS)}")
