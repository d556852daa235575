"""A real sound server to hear the cues through: PulseAudio with a null sink, recorded from
its monitor.

A headless machine has no sound card, so "the cue was spoken" used to mean "SDL's disk
driver wrote samples".  Here the product plays into a real PulseAudio server exactly as
on a desktop (SDL's pulseaudio driver); `parec` records the sink's monitor in small
chunks, each stamped with the monotonic clock when it arrives, so the time a cue became
audible is known on the same clock as the cue decision.  The arrival stamp includes the
monitor's own capture latency (`--latency-msec`), so a latency measured this way is an
upper bound on what a speaker would get.

Used by tests/test_voice_heard.py and bench/bench_voice.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

RATE = 44100
SINK = "realtime_null"


def pulse_available() -> bool:
    return all(shutil.which(b) for b in ("pulseaudio", "parec", "pactl"))


@dataclass
class MonitorRecording:
    """Chunks of the null sink's monitor, each with its arrival time (ns, monotonic).

    `keep_s` bounds what is kept (an hour's soak would otherwise hold 300 MB of audio);
    `onsets` always lists when each sound began after at least `ONSET_GAP_S` of silence
    (loud meaning above `ONSET_LEVEL`)."""

    keep_s: float | None = None
    chunks: deque[tuple[int, np.ndarray]] = field(default_factory=deque)
    onsets: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _last_loud_ns: int = -(10**18)

    ONSET_LEVEL = 300
    ONSET_GAP_S = 0.5

    def __post_init__(self) -> None:
        if self.keep_s is not None:
            self.chunks = deque(maxlen=max(1, round(self.keep_s * RATE / 128)))

    def add(self, t_ns: int, data: np.ndarray) -> None:
        loud = bool(data.size) and int(np.abs(data).max()) > self.ONSET_LEVEL
        with self.lock:
            self.chunks.append((t_ns, data))
            if loud:
                if t_ns - self._last_loud_ns > self.ONSET_GAP_S * 1e9:
                    self.onsets.append(t_ns)
                self._last_loud_ns = t_ns

    def onset_after(self, t_ns: int, threshold: int = 300) -> int | None:
        """When the first sample above `threshold` that arrived after `t_ns` was played
        (ns): its chunk's arrival time less the samples after it in that chunk."""
        with self.lock:
            chunks = list(self.chunks)
        for arrived, data in chunks:
            if arrived < t_ns:
                continue
            loud = np.flatnonzero(np.abs(data) > threshold)
            if loud.size:
                return arrived - round((len(data) - loud[0]) * 1e9 / RATE)
        return None

    def audio_between(self, t0_ns: int, t1_ns: int) -> np.ndarray:
        with self.lock:
            parts = [d for t, d in self.chunks if t0_ns <= t <= t1_ns]
        return np.concatenate(parts) if parts else np.zeros(0, np.int16)


@contextmanager
def pulse_null_sink(latency_ms: int = 5,
                    keep_s: float | None = None) -> Iterator[MonitorRecording]:
    """Start a private PulseAudio server with a null sink as its default, point this
    process's environment at it (XDG_RUNTIME_DIR, SDL_AUDIODRIVER=pulseaudio), record
    the monitor (the last `keep_s` seconds of it, or all); everything is stopped and the
    environment restored at the end."""
    from realtime.clock import now_ns

    runtime = tempfile.mkdtemp(prefix="realtime-pulse-")
    saved = {k: os.environ.get(k) for k in ("XDG_RUNTIME_DIR", "SDL_AUDIODRIVER",
                                              "PULSE_SERVER")}
    env = {**os.environ, "XDG_RUNTIME_DIR": runtime}
    env.pop("PULSE_SERVER", None)
    server = subprocess.Popen(
        ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
         "--log-target=stderr", "-L", "module-native-protocol-unix",
         "-L", f"module-null-sink sink_name={SINK} rate={RATE}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    rec: subprocess.Popen[bytes] | None = None
    try:
        deadline = time.monotonic() + 10.0
        while subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode:
            if server.poll() is not None or time.monotonic() > deadline:
                err = server.stderr.read().decode(errors="replace") if server.stderr else ""
                raise RuntimeError(f"PulseAudio did not start: {err[-500:]}")
            time.sleep(0.05)
        subprocess.run(["pactl", "set-default-sink", SINK], env=env, check=True)
        rec = subprocess.Popen(
            ["parec", "-d", f"{SINK}.monitor", "--format=s16le", f"--rate={RATE}",
             "--channels=1", f"--latency-msec={latency_ms}", "--raw"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        recording = MonitorRecording(keep_s)
        out = rec.stdout
        assert out is not None

        def read() -> None:
            while True:
                b = out.read(256)  # 128 samples, 2.9 ms
                if not b:
                    return
                recording.add(now_ns(), np.frombuffer(b, np.int16).copy())

        threading.Thread(target=read, name="parec", daemon=True).start()
        os.environ["XDG_RUNTIME_DIR"] = runtime
        os.environ["SDL_AUDIODRIVER"] = "pulseaudio"
        os.environ.pop("PULSE_SERVER", None)
        yield recording
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        for p in (rec, server):
            if p is not None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(runtime, ignore_errors=True)
