"""The real BlazePose model on the shared videos, and the pose-stream file format."""

from __future__ import annotations

import numpy as np
import pytest

from realtime.errors import PoseStreamError
from realtime.pose import stream as ps
from realtime.types import PoseSample
from tests.conftest import model_poses


def test_treadmill_clip_pose_in_every_frame() -> None:
    samples, fps, size = model_poses("videos/treadmill_side_male.mp4")
    assert len(samples) == 360 and fps == 30.0 and size == (720, 1280)
    found = [s for s in samples if s.has_pose]
    assert len(found) / len(samples) >= 0.99
    assert [s.seq for s in samples] == list(range(360))
    for s in found:
        assert s.landmarks.dtype == np.float32 and s.landmarks.shape == (33, 4)
        assert s.world is not None and s.world.shape == (33, 3)
        assert s.t_pose_ns >= 0 and s.image_size == (720, 1280)
    # the runner is in the frame: hips roughly mid-image, ankles below hips (y down)
    lm = np.stack([s.landmarks for s in found])
    hips_y = lm[:, 23:25, 1].mean()
    ankles_y = lm[:, 27:29, 1].mean()
    assert 0.2 < hips_y < 0.8 and ankles_y > hips_y


def test_person_entering_and_leaving_gives_explicit_no_pose_samples() -> None:
    samples, _fps, _size = model_poses("videos/walk_side_enter_leave.mp4")
    assert len(samples) == 401
    empty = [s for s in samples if not s.has_pose]
    # README: about a quarter of frames have no usable pose
    assert 0.1 * len(samples) < len(empty) < 0.5 * len(samples)
    for s in empty:
        assert np.isnan(s.landmarks[:, :2]).all()
        assert (s.landmarks[:, 3] == 0).all()
    # the empty frames come in runs at the start and/or end, not scattered noise
    flags = np.array([s.has_pose for s in samples])
    assert np.count_nonzero(np.diff(flags.astype(int))) <= 6


def test_pose_sample_rejects_wrong_arrays() -> None:
    with pytest.raises(ValueError, match="float32"):
        PoseSample(0, 0, 0, np.zeros((33, 4), np.float64))
    with pytest.raises(ValueError, match=r"\[33, 4\]"):
        PoseSample(0, 0, 0, np.zeros((17, 4), np.float32))
    assert not PoseSample.no_pose(0, 0, 0, (10, 10)).has_pose


def _stream(n: int = 5) -> ps.PoseStream:
    lm = np.random.default_rng(0).random((n, 33, 4)).astype(np.float32)
    lm[2, :, :2] = np.nan
    lm[2, :, 3] = 0
    return ps.PoseStream(np.arange(n) / 30.0, lm, (720, 1280), "side", 30.0)


def test_stream_round_trip(tmp_path) -> None:
    s = _stream()
    path = ps.save(tmp_path / "pose.npz", s)
    back = ps.load(path)
    assert np.array_equal(back.t, s.t)
    np.testing.assert_array_equal(back.landmarks, s.landmarks)  # NaN == NaN here
    assert (back.image_size, back.view, back.fps) == ((720, 1280), "side", 30.0)
    assert back.frames_with_pose == 4
    with np.load(path) as z:  # the exact layout other tools must produce
        assert z["t"].dtype == np.float64 and z["landmarks"].dtype == np.float32
        assert z["view"].shape == () and str(z["view"]) == "side"


BAD = [
    ({"landmarks": np.zeros((5, 33, 3), np.float32)}, "'landmarks' must be float"),
    ({"t": np.arange(4) / 30.0}, "'t' has 4 entries"),
    ({"t": np.zeros(5)}, "strictly increasing"),
    ({"view": np.asarray("front")}, "'view' must be 'side' or 'rear'"),
    ({"image_size": np.asarray([720])}, "'image_size' must be two positive"),
    ({"fps": np.float64(0)}, "'fps' must be a positive"),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_stream_with_wrong_arrays_is_a_clear_error(tmp_path, change, message) -> None:
    s = _stream()
    arrays = {"t": s.t, "landmarks": s.landmarks, "image_size": np.asarray(s.image_size),
              "view": np.asarray(s.view), "fps": np.float64(s.fps)} | change
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(PoseStreamError, match=message):
        ps.load(tmp_path / "bad.npz")


def test_stream_missing_arrays_and_unreadable_files(tmp_path) -> None:
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(PoseStreamError, match="missing arrays t, landmarks"):
        ps.load(tmp_path / "other.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(PoseStreamError, match="cannot read"):
        ps.load(tmp_path / "junk.npz")
    with pytest.raises(PoseStreamError, match="not found"):
        ps.load(tmp_path / "absent.npz")


def test_recorder_spills_as_it_goes_and_recover_drops_a_torn_record(tmp_path) -> None:
    rec = ps.PoseStreamRecorder("side", 30.0, spill_dir=tmp_path)
    lm = np.random.default_rng(1).random((33, 4)).astype(np.float32)
    for i in range(10):
        rec.add(PoseSample(i, 5_000_000_000 + i * 33_333_333, 0, lm, None, (640, 480)), i / 30)
    # unbuffered: every added frame is already in the file, without a flush or a close
    spill = tmp_path / ps.SPILL_BIN
    assert spill.stat().st_size == 10 * ps.SPILL_DTYPE.itemsize
    with spill.open("ab") as fh:  # a record torn by the crash
        fh.write(b"\x00" * 100)
    res = ps.recover(tmp_path)
    assert (res.frames, res.skipped, res.kept_existing) == (10, 0, False)
    back = ps.load(res.path)
    assert len(back) == 10 and back.image_size == (640, 480) and back.view == "side"
    np.testing.assert_allclose(back.t, np.arange(10) * 0.033333333, atol=1e-9)
    np.testing.assert_array_equal(back.landmarks[3], lm)
    assert not spill.exists()
    with pytest.raises(PoseStreamError, match="no unfinished pose recording"):
        ps.recover(tmp_path)


def test_recorder_removes_its_spill_once_the_file_is_written(tmp_path) -> None:
    rec = ps.PoseStreamRecorder("rear", 30.0, spill_dir=tmp_path)
    rec.add(PoseSample.no_pose(0, 0, 0, (10, 10)), 0.0)
    rec.add(PoseSample.no_pose(1, 33_333_333, 0, (10, 10)), 1 / 30)
    rec.save(tmp_path / "pose.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pose.npz"]
    assert ps.load(tmp_path / "pose.npz").frames_with_pose == 0


def test_spilled_poses_are_not_also_kept_in_memory(tmp_path) -> None:
    """An unattended hour is ~60 MB of poses: with a spill they live on disk only, and
    the saved file reads them back."""
    rec = ps.PoseStreamRecorder("side", 30.0, spill_dir=tmp_path)
    rng = np.random.default_rng(3)
    lms = rng.random((40, 33, 4)).astype(np.float32)
    for i in range(40):
        rec.add(PoseSample(i, i * 33_333_333, 0, lms[i], None, (64, 48)), i / 30)
    assert len(rec) == 40 and rec.in_memory == 0
    back = ps.load(rec.save(tmp_path / "pose.npz"))
    np.testing.assert_array_equal(back.landmarks, lms)
    np.testing.assert_allclose(back.t, np.arange(40) / 30)


SPILL_LIMIT_SCRIPT = """
import resource, signal, sys
import numpy as np
from realtime.pose import stream as ps
from realtime.types import PoseSample
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
out = sys.argv[1]
rec = ps.PoseStreamRecorder("side", 30.0, spill_dir=out)
lms = np.random.default_rng(4).random((50, 33, 4)).astype(np.float32)
rec.add(PoseSample(0, 0, 0, lms[0], None, (64, 48)), 0.0)  # opens the spill
limit = 20 * ps.SPILL_DTYPE.itemsize  # the disk holds 20 records
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
for i in range(1, 50):
    rec.add(PoseSample(i, i * 33_333_333, 0, lms[i], None, (64, 48)), i / 30)
print(len(rec), rec.in_memory, rec.spill_error is not None)
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
rec.save(out + "/pose.npz")
np.save(out + "/truth.npy", lms)
"""


def test_a_spill_that_fills_the_disk_keeps_the_rest_in_memory(tmp_path) -> None:
    """A file-size limit (a real EFBIG from the kernel) stops the spill after 20 records:
    the session goes on, the later poses stay in memory, and pose.npz has all 50."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", SPILL_LIMIT_SCRIPT, str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["50", "30", "True"]
    assert "pose recording to disk stopped" in r.stderr
    back = ps.load(tmp_path / "pose.npz")
    np.testing.assert_array_equal(back.landmarks, np.load(tmp_path / "truth.npy"))
    assert (np.diff(back.t) > 0).all()
    assert not (tmp_path / ps.SPILL_BIN).exists()  # the complete file replaces the spill


def test_a_record_the_disk_cut_in_half_is_taken_back(tmp_path) -> None:
    """The disk accepts half a pose (a file-size limit 100 bytes past 20 records: the
    kernel writes what fits, then refuses): the spill is cut back to 20 whole records
    (a torn record in the middle of a spill would shift every later one), and the
    steps.csv and cues.csv writers do the same with a row."""
    import subprocess
    import sys

    script = SPILL_LIMIT_SCRIPT.replace("limit = 20 * ps.SPILL_DTYPE.itemsize",
                                        "limit = 20 * ps.SPILL_DTYPE.itemsize + 100")
    script = script.replace('rec.save(out + "/pose.npz")', "")
    r = subprocess.run([sys.executable, "-c", script, str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["50", "30", "True"]
    assert (tmp_path / ps.SPILL_BIN).stat().st_size == 20 * ps.SPILL_DTYPE.itemsize
    assert ps.recover(tmp_path).frames == 20

    rows = """
import resource, signal, sys
from realtime.outdir import AppendFile
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
f = AppendFile(sys.argv[1])
f.append(b"a,b\\r\\n")
resource.setrlimit(resource.RLIMIT_FSIZE, (25, resource.RLIM_INFINITY))
try:
    f.append(b"1234567890,1234567890\\r\\n")
except OSError as exc:
    print(exc.strerror)
f.append(b"")
"""
    r = subprocess.run([sys.executable, "-c", rows, str(tmp_path / "rows.csv")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "File too large"
    assert (tmp_path / "rows.csv").read_bytes() == b"a,b\r\n"  # the header, whole


THREADS_SCRIPT = """
import os, sys
import cv2, numpy as np
from realtime.config import PoseConfig
from realtime.pose.mediapipe_pose import MediaPipePose
from realtime.types import Frame
cap = cv2.VideoCapture(sys.argv[1])
frames = [Frame(i, i, cap.read()[1]) for i in range(3)]
cap.release()
before = len(os.listdir("/proc/self/task"))
est = MediaPipePose(PoseConfig(threads=int(sys.argv[2])))
lms = [est.estimate(f).landmarks for f in frames]
print(len(os.listdir("/proc/self/task")) - before)
np.save(sys.argv[3], np.asarray(lms))
"""


def test_pose_threads_size_the_models_thread_pools(tmp_path) -> None:
    """pose.threads reaches both TFLite networks (mediapipe's solutions API has no
    parameter for it: realtime.pose.mediapipe_pose._pose_class): 3 threads add two
    workers to each network's pool over 1 thread (counted in a fresh process), the
    default is 1 thread, and the landmarks stay the same."""
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import data_file

    if not Path("/proc/self/task").is_dir():
        pytest.skip("counting threads needs Linux's /proc")
    clip = str(data_file("videos/treadmill_side_male.mp4"))
    added, found = {}, {}
    for n in (1, 3, 0):
        out = tmp_path / f"lm{n}.npy"
        r = subprocess.run([sys.executable, "-c", THREADS_SCRIPT, clip, str(n), str(out)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        added[n], found[n] = int(r.stdout.split()[-1]), np.load(out)
    assert added[3] - added[1] == 4, added  # (3 - 1) workers x 2 networks
    assert added[0] == added[1], added  # MediaPipe's default: 1 thread per network
    for n in (3, 0):
        np.testing.assert_allclose(found[n][..., :2], found[1][..., :2], atol=1e-3)


def test_recover_all_rebuilds_both_cameras_of_a_two_camera_session(tmp_path) -> None:
    lm = np.random.default_rng(2).random((33, 4)).astype(np.float32)
    for view, name, n in (("side", "pose", 12), ("rear", "pose_rear", 7)):
        rec = ps.PoseStreamRecorder(view, 30.0, spill_dir=tmp_path, name=name)
        for i in range(n):
            rec.add(PoseSample(i, i * 33_333_333, 0, lm, None, (640, 480)), i / 30)
    paths = [r.path for r in ps.recover_all(tmp_path)]
    assert [p.name for p in paths] == ["pose.npz", "pose_rear.npz"]
    assert [len(ps.load(p)) for p in paths] == [12, 7]
    assert ps.load(paths[1]).view == "rear"
    assert not list(tmp_path.glob("*.partial.*"))
    with pytest.raises(PoseStreamError, match="no unfinished pose recording"):
        ps.recover_all(tmp_path)


def _spill(tmp_path, n: int = 10) -> np.ndarray:
    lm = np.random.default_rng(3).random((33, 4)).astype(np.float32)
    rec = ps.PoseStreamRecorder("side", 30.0, spill_dir=tmp_path)
    for i in range(n):
        rec.add(PoseSample(i, i * 33_333_333, 0, lm, None, (640, 480)), i / 30)
    return lm


def test_recover_skips_corrupt_records_instead_of_giving_up(tmp_path) -> None:
    _spill(tmp_path, 10)
    raw = bytearray((tmp_path / ps.SPILL_BIN).read_bytes())
    size = ps.SPILL_DTYPE.itemsize
    rec = np.frombuffer(bytes(raw[3 * size:4 * size]), ps.SPILL_DTYPE).copy()
    rec["lm"][0, 0, 0] = 1e30  # a landmark far outside any image
    raw[3 * size:4 * size] = rec.tobytes()
    rec = np.frombuffer(bytes(raw[6 * size:7 * size]), ps.SPILL_DTYPE).copy()
    rec["t"] = np.nan  # a time that cannot be
    raw[6 * size:7 * size] = rec.tobytes()
    (tmp_path / ps.SPILL_BIN).write_bytes(bytes(raw))
    res = ps.recover(tmp_path)
    assert (res.frames, res.skipped) == (8, 2)
    assert len(ps.load(res.path)) == 8


def test_recover_never_overwrites_a_complete_pose_file(tmp_path) -> None:
    _spill(tmp_path, 5)
    complete = ps.PoseStreamRecorder("side", 30.0)
    for i in range(20):
        complete.add(PoseSample.no_pose(i, i, 0, (640, 480)), i / 30)
    complete.save(tmp_path / "pose.npz")
    res = ps.recover(tmp_path)
    assert res.kept_existing and res.frames == 20
    assert len(ps.load(tmp_path / "pose.npz")) == 20  # not the spill's 5
    assert (tmp_path / ps.SPILL_BIN).exists()  # left for a person to look at


def test_recover_names_the_missing_file(tmp_path) -> None:
    _spill(tmp_path, 3)
    (tmp_path / ps.SPILL_META).unlink()
    with pytest.raises(PoseStreamError, match=r"pose\.partial\.json is missing"):
        ps.recover(tmp_path)


def _flow(n: int = 5) -> np.ndarray:
    f = np.random.default_rng(2).normal(0, 0.5, (n, 2, 4)).astype(np.float32)
    f[1] = np.nan  # a frame where nothing was measured
    return f


def test_foot_flow_travels_with_the_stream(tmp_path) -> None:
    """The feet's pixel evidence is part of the pose stream: saved, loaded, replayed as
    samples, spilled and recovered, so re-analysing a recording gives the live steps."""
    s = ps.PoseStream(_stream().t, _stream().landmarks, (720, 1280), "side", 30.0, _flow())
    back = ps.load(ps.save(tmp_path / "pose.npz", s))
    np.testing.assert_array_equal(back.foot_flow, s.foot_flow)
    assert [x.foot_flow is not None for x in back.samples()] == [True] * 5
    assert ps.load(ps.save(tmp_path / "old.npz", _stream())).foot_flow is None
    rec = ps.PoseStreamRecorder("side", 30.0, spill_dir=tmp_path / "live")
    for i, sample in enumerate(s.samples()):
        rec.add(sample, float(s.t[i]))
    np.testing.assert_array_equal(rec.to_stream().foot_flow, s.foot_flow)
    res = ps.recover(tmp_path / "live")
    np.testing.assert_array_equal(ps.load(res.path).foot_flow, s.foot_flow)


def test_a_spill_written_before_foot_flow_is_still_recovered(tmp_path) -> None:
    """A session recorded by the previous version left a spill without the flow."""
    rec = np.zeros(4, ps.SPILL_DTYPE_V1)
    rec["t"] = np.arange(4) / 30.0
    rec["lm"] = np.random.default_rng(3).random((4, 33, 4)).astype(np.float32)
    (tmp_path / ps.SPILL_BIN).write_bytes(rec.tobytes())
    (tmp_path / ps.SPILL_META).write_text(
        '{"view": "side", "fps": 30.0, "image_size": [640, 480]}')
    back = ps.load(ps.recover(tmp_path).path)
    assert len(back) == 4 and back.foot_flow is None
    np.testing.assert_array_equal(back.landmarks, rec["lm"])


@pytest.mark.parametrize(("flow", "message"), [
    (np.zeros((4, 2, 4), np.float32), "'foot_flow' must be float"),
    (np.full((5, 2, 4), 1e9, np.float32), "image sizes per second"),
])
def test_a_wrong_foot_flow_is_a_clear_error(tmp_path, flow, message) -> None:
    s = _stream()
    np.savez(tmp_path / "bad.npz", t=s.t, landmarks=s.landmarks, image_size=np.asarray(
        s.image_size), view=np.asarray(s.view), fps=np.float64(s.fps), foot_flow=flow)
    with pytest.raises(PoseStreamError, match=message):
        ps.load(tmp_path / "bad.npz")
