"""Pose-stream files (`.npz`): a recorded session that can be re-analysed without the model.

The layout is fixed so that other tools (lab motion capture, other pose models) can write
it too:

- `t` float64 [T]: seconds
- `landmarks` float32 [T, 33, 4]: x, y (normalised image coordinates, x right, y down), z,
  visibility; NaN x/y and visibility 0 where there is no pose
- `image_size` int [2]: (width, height) in pixels
- `view` 0-d string: "side" or "rear"
- `fps` float: nominal frame rate
- `foot_flow` float32 [T, 2, 4], optional: each foot's pixel velocity (vx, vy in image
  widths / heights per second, features, spread; realtime.pose.footflow), NaN where not
  measured.  Streams without it (other tools, older sessions) are analysed from the
  landmarks alone.

BlazePose's left landmarks are the person's left.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from realtime.errors import PoseStreamError
from realtime.outdir import AppendFile, write_atomic
from realtime.types import N_LANDMARKS, VIEWS, PoseSample, View

REQUIRED = ("t", "landmarks", "image_size", "view", "fps")


@dataclass(frozen=True, slots=True)
class PoseStream:
    t: np.ndarray  # float64 [T]
    landmarks: np.ndarray  # float32 [T, 33, 4]
    image_size: tuple[int, int]
    view: View
    fps: float
    foot_flow: np.ndarray | None = None  # float32 [T, 2, 4] or None

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @property
    def frames_with_pose(self) -> int:
        return int((~np.isnan(self.landmarks[:, :, 0]).all(axis=1)).sum())

    def samples(self) -> Iterator[PoseSample]:
        """The stream as pose samples, with times in integer nanoseconds."""
        flow = self.foot_flow
        for i in range(len(self)):
            t_ns = round(float(self.t[i]) * 1e9)
            yield PoseSample(i, t_ns, t_ns, self.landmarks[i], None, self.image_size,
                             t_source_s=float(self.t[i]),
                             foot_flow=None if flow is None else flow[i])


def validate(
    t: np.ndarray, landmarks: np.ndarray, image_size: object, view: object, fps: object,
    where: str = "pose stream", foot_flow: object = None,
) -> PoseStream:
    """Check shapes, types and values; raise PoseStreamError naming the bad array."""
    t = np.asarray(t)
    lm = np.asarray(landmarks)
    if t.ndim != 1 or not np.issubdtype(t.dtype, np.floating):
        raise PoseStreamError(f"{where}: 't' must be a 1-D float array, got {t.dtype} {t.shape}")
    if lm.ndim != 3 or lm.shape[1:] != (N_LANDMARKS, 4) or not np.issubdtype(
        lm.dtype, np.floating
    ):
        raise PoseStreamError(
            f"{where}: 'landmarks' must be float [T, 33, 4], got {lm.dtype} {lm.shape}"
        )
    if lm.shape[0] != t.shape[0]:
        raise PoseStreamError(
            f"{where}: 't' has {t.shape[0]} entries but 'landmarks' has {lm.shape[0]}"
        )
    with np.errstate(invalid="ignore"):
        bad_xy = ~(np.isnan(lm[..., :2]) | ((lm[..., :2] > -10.0) & (lm[..., :2] < 11.0)))
        bad_vis = ~((lm[..., 3] >= 0.0) & (lm[..., 3] <= 1.0))
    if bad_xy.any():
        f = int(np.argwhere(bad_xy)[0][0])
        raise PoseStreamError(
            f"{where}: 'landmarks' x, y must be normalised image coordinates (about 0..1, "
            f"NaN for none), got {lm[f, :, :2][bad_xy[f]][0]!r} in frame {f}")
    if bad_vis.any():
        f = int(np.argwhere(bad_vis)[0][0])
        raise PoseStreamError(
            f"{where}: 'landmarks' visibility must be within 0..1, got "
            f"{lm[f, :, 3][bad_vis[f]][0]!r} in frame {f}")
    if t.size and (not np.isfinite(t).all() or (np.diff(t) <= 0).any()):
        raise PoseStreamError(f"{where}: 't' must be finite and strictly increasing")
    size = np.asarray(image_size).reshape(-1)
    if size.shape != (2,) or not np.issubdtype(size.dtype, np.number) or (size <= 0).any():
        raise PoseStreamError(
            f"{where}: 'image_size' must be two positive numbers (width, height), got {size}"
        )
    v = str(np.asarray(view).reshape(()).item()) if np.asarray(view).size == 1 else None
    if v not in VIEWS:
        raise PoseStreamError(f"{where}: 'view' must be 'side' or 'rear', got {view!r}")
    fps_v = float(np.asarray(fps).reshape(()).item()) if np.asarray(fps).size == 1 else -1.0
    if not (fps_v > 0 and np.isfinite(fps_v)):
        raise PoseStreamError(f"{where}: 'fps' must be a positive number, got {fps!r}")
    flow = None
    if foot_flow is not None:
        flow = np.asarray(foot_flow)
        if flow.shape != (t.shape[0], 2, 4) or not np.issubdtype(flow.dtype, np.floating):
            raise PoseStreamError(f"{where}: 'foot_flow' must be float [T, 2, 4] with T = "
                                  f"{t.shape[0]}, got {flow.dtype} {flow.shape}")
        with np.errstate(invalid="ignore"):
            bad = ~(np.isnan(flow) | (np.abs(flow) < 1e3))
        if bad.any():
            f = int(np.argwhere(bad)[0][0])
            raise PoseStreamError(f"{where}: 'foot_flow' must be image sizes per second "
                                  f"(NaN for none), got {flow[bad][0]!r} in frame {f}")
        flow = flow.astype(np.float32)
    return PoseStream(
        t.astype(np.float64), lm.astype(np.float32), (int(size[0]), int(size[1])), v, fps_v,
        flow,
    )


def save(path: str | Path, stream: PoseStream) -> Path:
    """Write a pose stream all or nothing (a temporary file renamed over `path`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Compressed in memory first: a write that fails (disk full) then fails on plain
    # bytes, not inside numpy's zip writer (which would complain again when collected).
    buf = io.BytesIO()
    _savez(buf, stream)
    return write_atomic(path, lambda fh: fh.write(buf.getbuffer()), "wb")


def _savez(fh: object, stream: PoseStream) -> None:
    extra = {} if stream.foot_flow is None else {
        "foot_flow": np.asarray(stream.foot_flow, np.float32)}
    np.savez_compressed(
        fh,
        # no copies: an hour's landmarks are ~60 MB (numpy writes a strided view in chunks)
        t=np.asarray(stream.t, np.float64),
        landmarks=np.asarray(stream.landmarks, np.float32),
        image_size=np.asarray(stream.image_size, dtype=np.int32),
        view=np.asarray(stream.view),
        fps=np.float64(stream.fps),
        **extra,
    )


def load(path: str | Path) -> PoseStream:
    path = Path(path)
    if not path.exists():
        raise PoseStreamError(f"pose-stream file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in REQUIRED if k not in z.files]
            if missing:
                raise PoseStreamError(
                    f"{path}: not a pose stream, missing arrays {', '.join(missing)} "
                    f"(has: {', '.join(z.files) or 'none'})"
                )
            arrays = {k: z[k] for k in REQUIRED}
            if "foot_flow" in z.files:
                arrays["foot_flow"] = z["foot_flow"]
    except PoseStreamError:
        raise
    except Exception as exc:  # zipfile/np errors: unreadable file
        raise PoseStreamError(f"{path}: cannot read as a .npz pose stream ({exc})") from None
    return validate(**arrays, where=str(path))


# A live session also spills every sample to disk as it happens, so a session that dies
# (power cut, SIGKILL) keeps its poses: `recover()` turns the spill into pose.npz.
SPILL_DTYPE = np.dtype([("t", "<f8"), ("lm", "<f4", (N_LANDMARKS, 4)),
                        ("flow", "<f4", (2, 4))])
# spills written before the feet's pixel evidence was recorded (`recover` still reads them)
SPILL_DTYPE_V1 = np.dtype([("t", "<f8"), ("lm", "<f4", (N_LANDMARKS, 4))])
NO_FLOW = np.full((2, 4), np.nan, np.float32)
SPILL_BIN = "pose.partial.bin"
SPILL_META = "pose.partial.json"


def spill_names(name: str) -> tuple[str, str]:
    """The spill files of the pose file `name` (e.g. "pose_rear" of a rear camera)."""
    return f"{name}.partial.bin", f"{name}.partial.json"


class PoseStreamRecorder:
    """Collects pose samples during a run and writes them as one pose-stream file.

    Times are the session's stream times (`Session.process`), so re-analysing the file
    reproduces the session; a live session's file starts at 0.
    With `spill_dir`, each sample is also written to `pose.partial.bin` as it comes
    (unbuffered: a killed process loses nothing the OS has; 568 bytes a frame) and
    fsynced about once a second and at every step (`sync`), so a power cut loses at most
    a second; the spill is deleted once pose.npz is written.  If the disk fills, the
    spill stops with one line (`spill_error`) and the session goes on; what was written
    stays valid.

    A spilled sample is not also kept in memory (an hour of poses is ~60 MB, and an
    unattended hour must not grow): `save` reads the spill back.  Only samples that
    could not be spilled (no folder, or after the disk filled) stay in memory.
    """

    def __init__(self, view: View, fps: float, spill_dir: str | Path | None = None,
                 name: str = "pose") -> None:
        self.view = view
        self._spill_bin, self._spill_meta = spill_names(name)
        self.fps = fps
        self._t: list[float] = []  # samples not in the spill
        self._lm: list[np.ndarray] = []
        self._flow: list[np.ndarray] = []
        self._any_flow = False  # some sample carried the feet's pixel evidence
        self._spilled = 0  # samples written whole to the spill, before those in memory
        self._spill_path: Path | None = None
        self._size: tuple[int, int] = (0, 0)
        self._t0: int | None = None
        self._spill_dir = Path(spill_dir) if spill_dir is not None else None
        self._spill: AppendFile | None = None
        self._last_sync = -math.inf
        self.spill_error: str | None = None
        self.spilled_until_s = math.nan  # stream time of the last pose the spill holds

    def add(self, sample: PoseSample, t: float) -> None:
        """Record one sample at stream time t (seconds)."""
        if self._t0 is None:
            self._t0 = sample.t_capture_ns
            self._size = sample.image_size
            self._guard(self._open_spill)
        spill = self._spill
        flow = NO_FLOW if sample.foot_flow is None else sample.foot_flow
        self._any_flow |= sample.foot_flow is not None
        if spill is not None:
            rec = np.empty((), SPILL_DTYPE)
            rec["t"], rec["lm"], rec["flow"] = t, sample.landmarks, flow
            if self._guard(lambda: spill.append(rec.tobytes())):  # whole records only
                self._spilled += 1
                self.spilled_until_s = t
                if t - self._last_sync >= 1.0:
                    self.sync()
                    self._last_sync = t
                return
        self._t.append(t)
        self._lm.append(np.array(sample.landmarks, np.float32))
        self._flow.append(np.array(flow, np.float32))

    def sync(self) -> None:
        """Make the spill durable (fsync): about once a second, and at every step."""
        spill = self._spill
        if spill is not None:
            self._guard(spill.sync)

    def _guard(self, op: Callable[[], object]) -> bool:
        """Run one spill operation; False (and the spill stopped) if it failed."""
        try:
            op()
            return True
        except OSError as exc:  # disk full, device gone: stop the spill, keep the session
            self.spill_error = (f"pose recording to disk stopped ({exc.strerror or exc}); "
                                "feedback goes on, what was written stays valid")
            print(f"realtime: {self.spill_error}", file=sys.stderr, flush=True)
            if self._spill is not None:
                with contextlib.suppress(OSError):
                    self._spill.close()
            self._spill = None
            self._spill_dir = None
            return False

    def _open_spill(self) -> None:
        if self._spill_dir is None:
            return
        self._spill_dir.mkdir(parents=True, exist_ok=True)
        meta = {"view": self.view, "fps": self.fps, "image_size": list(self._size),
                "record": "float64 t, float32 landmarks[33][4], float32 foot_flow[2][4], "
                "little-endian", "foot_flow": True}
        text = json.dumps(meta)  # whole or not at all: recover needs it to read the spill
        write_atomic(self._spill_dir / self._spill_meta, lambda fh: fh.write(text))
        self._spill_path = self._spill_dir / self._spill_bin
        self._spill = AppendFile(self._spill_path)

    def __len__(self) -> int:
        return self._spilled + len(self._t)

    @property
    def in_memory(self) -> int:
        """Samples held in memory (those the spill could not take)."""
        return len(self._t)

    def to_stream(self) -> PoseStream:
        """Every sample: the spilled ones read back from disk, then those in memory."""
        t = np.asarray(self._t, np.float64)
        lm = np.stack(self._lm) if self._lm else np.zeros((0, N_LANDMARKS, 4), np.float32)
        flow = np.stack(self._flow) if self._flow else np.zeros((0, 2, 4), np.float32)
        if self._spilled:
            assert self._spill_path is not None
            rec = np.fromfile(self._spill_path, SPILL_DTYPE, count=self._spilled)
            if len(rec) != self._spilled:
                raise OSError(f"{self._spill_path} holds {len(rec)} of the {self._spilled} "
                              "poses written to it")
            t = np.concatenate([rec["t"], t]) if len(t) else rec["t"]
            lm = np.concatenate([rec["lm"], lm]) if len(lm) else rec["lm"]
            flow = np.concatenate([rec["flow"], flow]) if len(flow) else rec["flow"]
        return PoseStream(t, lm, self._size, self.view, self.fps,
                          flow if self._any_flow else None)

    def save(self, path: str | Path) -> Path:
        out = save(path, self.to_stream())
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        if self._spill_path is not None:  # the complete file exists: the spill is done
            for name in (self._spill_bin, self._spill_meta):
                (self._spill_path.parent / name).unlink(missing_ok=True)
            self._spill_path = None
            self._spilled = 0
        return out


@dataclass(frozen=True, slots=True)
class Recovered:
    """What `recover` did with one spill."""

    path: Path
    frames: int
    skipped: int  # corrupt records left out
    kept_existing: bool  # a complete pose file was already there: left untouched


def recover_all(session_dir: str | Path) -> list[Recovered]:
    """Rebuild every pose file (pose.npz, and pose_rear.npz of a two-camera session) whose
    spill a session that did not end normally left behind."""
    d = Path(session_dir)
    if not d.is_dir():
        raise PoseStreamError(f"{d} is not a folder")
    names = sorted({p.name.removesuffix(".partial.bin") for p in d.glob("*.partial.bin")}
                   | {p.name.removesuffix(".partial.json") for p in d.glob("*.partial.json")})
    if not names:
        raise PoseStreamError(f"{d}: no unfinished pose recording here (no {SPILL_BIN})")
    return [recover(d, name) for name in names]


def recover(session_dir: str | Path, name: str = "pose") -> Recovered:
    """Rebuild `NAME.npz` from the spill of a session that did not end normally.

    A pose file that is already complete is never overwritten (the session ended after
    all, or was recovered before): the spill is then left as it is.  A record that
    cannot be a pose (time not finite or not after the previous one, coordinates far
    outside the image, visibility outside 0..1) is skipped and counted; a torn last
    record (the process died mid-write) is dropped.
    """
    d = Path(session_dir)
    bin_name, meta_name = spill_names(name)
    meta_path, bin_path = d / meta_name, d / bin_name
    if not bin_path.exists() and not meta_path.exists():
        raise PoseStreamError(f"{d}: no unfinished pose recording here (no {bin_name})")
    if not bin_path.exists():
        raise PoseStreamError(f"{d}: {bin_name} is missing ({meta_name} is there): the "
                              "recording has no poses to recover")
    if not meta_path.exists():
        raise PoseStreamError(f"{d}: {meta_name} is missing: the view, frame rate and image "
                              f"size of {bin_name} are unknown")
    out = d / f"{name}.npz"
    if out.exists():
        try:
            existing = load(out)
        except PoseStreamError:
            existing = None
        if existing is not None:
            return Recovered(out, len(existing), 0, True)
    try:
        meta = json.loads(meta_path.read_text())
        raw = bin_path.read_bytes()
        dtype = SPILL_DTYPE if meta.get("foot_flow") else SPILL_DTYPE_V1
        n = len(raw) // dtype.itemsize  # a torn last record is dropped
        rec = np.frombuffer(raw[: n * dtype.itemsize], dtype)
        t, lm = rec["t"].copy(), rec["lm"].copy()
        flow = rec["flow"].copy() if "flow" in rec.dtype.names else None
        xy, vis = lm[..., :2], lm[..., 3]
        with np.errstate(invalid="ignore"):
            sane = (np.isfinite(t)
                    & np.all(np.isnan(xy) | ((xy > -10.0) & (xy < 11.0)), axis=(1, 2))
                    & np.all((vis >= 0.0) & (vis <= 1.0), axis=1))
            if flow is not None:
                sane &= np.all(np.isnan(flow) | (np.abs(flow) < 1e3), axis=(1, 2))
        keep = np.zeros(n, bool)
        last = -np.inf
        for i in np.flatnonzero(sane):  # strictly increasing times among the sane ones
            if t[i] > last:
                keep[i], last = True, t[i]
        stream = validate(t[keep], lm[keep], meta["image_size"], np.asarray(meta["view"]),
                          meta["fps"], where=str(bin_path),
                          foot_flow=None if flow is None else flow[keep])
    except (ValueError, KeyError, TypeError) as exc:
        raise PoseStreamError(f"{d}: the unfinished recording is unreadable ({exc})") from None
    save(out, stream)
    bin_path.unlink()
    meta_path.unlink()
    return Recovered(out, len(stream), int(n - keep.sum()), False)
