"""Spoken cues: a speech thread with a one-slot queue (`Speaker`, `make_speaker`).

Why pre-rendered playback is the default (`speech.mode = "prerender"`), measured with
bench/bench_feedback.py on the dev box (2 shared cores, espeak-ng, pyttsx3 2.99):

- prerender: every phrase is synthesised once at start-up (`save_to_file` +
  `runAndWait`: 5 phrases in ~55 ms), its leading and trailing silence trimmed, and
  played with `pygame.mixer` (44.1 kHz, 512-frame buffer).  Decision -> first non-silent
  sample written by SDL's disk audio driver: p50 34-45 ms, p95 51-54 ms (three runs,
  n=12 each), of which up to 46 ms
  is that driver's fixed 2048-frame period (a sound card with a 512-frame buffer waits
  less).  Decision -> `Channel.play`: 0.1 ms.
- live (`engine.say` + `runAndWait`): on Linux pyttsx3's espeak driver synthesises the
  whole phrase in memory (fast: decision -> `aplay` exec p50 3.5-3.9 ms, p95 4-9 ms), then
  runs `aplay` on a temp WAV, which must start and open the ALSA device before the first
  sample: that part could not be measured here because `aplay` is not installed, and then
  nothing is heard at all.  A playing `aplay` also cannot be cut off by mute or quit,
  and pyttsx3's empty-synthesis race (see `render_phrases`) would make a cue silent
  with no way to notice; prerendering checks every phrase once at start-up.
So prerender is chosen: measured end to end well under the 100 ms goal, no dependency
on `aplay`, shares the mixer with the tones, and `stop()` silences it at once.  `live`
remains available (it falls back to prerender when `aplay` is missing).

The pyttsx3 engine is created and run in the speech thread only (pyttsx3 engines are not
thread-safe).  `say()` never blocks: a newer cue replaces one still waiting, and a cue
that waited longer than `speech.stale_s` is dropped (an old cue is a wrong cue).  After
`stop()` nothing is spoken.  Without an audio device the cues are still logged.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import io
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from realtime.clock import now_ns
from realtime.config import CUE_KINDS, SpeechConfig
from realtime.types import Cue

log = logging.getLogger(__name__)

ResultFn = Callable[[Cue, bool, "int | None"], None]
SILENT_DRIVERS = ("dummy",)


def no_sound_output() -> bool:
    """True on a Linux machine with no sound card and no sound server (a headless box).

    Asking SDL to open audio there makes libasound print a dozen lines of errors to the
    terminal before failing; this check lets us say it in one line instead.
    """
    if sys.platform != "linux" or os.environ.get("SDL_AUDIODRIVER"):
        return False
    runtime = Path(os.environ.get("XDG_RUNTIME_DIR") or "/nonexistent")
    if os.environ.get("PULSE_SERVER") or (runtime / "pulse" / "native").exists() or (
        runtime / "pipewire-0"
    ).exists():
        return False
    try:
        cards = Path("/proc/asound/cards").read_text()
    except OSError:
        return True
    return "no soundcards" in cards or not cards.strip()


_told_no_sound: list[bool] = []


def init_mixer() -> str | None:
    """Open pygame.mixer if needed; the SDL audio driver name, or None if there is no
    audio device (the caller then only logs)."""
    import pygame

    if pygame.mixer.get_init() is None and no_sound_output():
        if not _told_no_sound:  # once per process: the display and the voice both ask
            _told_no_sound.append(True)
            log.warning("no sound card or sound server: cues are shown and logged, not spoken")
        return None
    if pygame.mixer.get_init() is None:
        try:
            # 44.1 kHz: the usual hardware rate (no resampling in the device), and SDL's
            # disk driver (used to measure latency) has a 2048-frame period: 46 ms here
            pygame.mixer.init(frequency=44100, size=-16, channels=1, buffer=512)
        except pygame.error as exc:
            log.warning("no audio device (%s): cues are logged, not spoken", exc)
            return None
    return os.environ.get("SDL_AUDIODRIVER") or "default"


# Every pyttsx3 engine made here stays referenced until the process ends: when a pyttsx3
# engine is garbage-collected its espeak driver resets espeak's one, process-wide synthesis
# callback, silently breaking whichever engine is in use then (seen as empty WAVs after an
# earlier Speaker's engine was collected).  An engine is a few kB.
_ENGINES: list[object] = []


@atexit.register
def _release_engines() -> None:
    # Collect them while the interpreter is whole: pyttsx3's __del__ run during module
    # teardown prints "'NoneType' object has no attribute 'suppress'" tracebacks.
    _ENGINES.clear()
    gc.collect()


def _engine(cfg: SpeechConfig):  # -> pyttsx3.Engine (untyped)
    """A new engine for the calling thread (pyttsx3.init() would hand back one made in
    another thread while it is alive)."""
    import pyttsx3

    engine = pyttsx3.Engine()
    _ENGINES.append(engine)
    if cfg.voice:
        engine.setProperty("voice", cfg.voice)
    engine.setProperty("rate", cfg.rate_wpm)
    engine.setProperty("volume", cfg.volume)
    return engine


def render_phrases(
    phrases: Mapping[str, str], out_dir: str | os.PathLike[str], cfg: SpeechConfig, engine=None
) -> dict[str, Path]:
    """Synthesise each phrase once to `out_dir/KIND.wav` with pyttsx3 (calling thread).

    pyttsx3 2.99 runs espeak in its asynchronous retrieval mode and ends a phrase at the
    first "message terminated" event; now and then a late event of the previous phrase
    ends the next one before any audio arrives (an empty WAV, seen in about one run in
    three of the test suite).  So each file is checked and re-rendered (up to 4 tries);
    a phrase that never yields audio is an error rather than a silent cue.
    """
    engine = engine if engine is not None else _engine(cfg)
    out: dict[str, Path] = {}
    for kind, text in phrases.items():
        path = Path(out_dir) / f"{kind}.wav"
        for attempt in range(4):
            with contextlib.redirect_stdout(io.StringIO()):  # pyttsx3 prints "Audio saved"
                engine.save_to_file(text, str(path))
                engine.runAndWait()
            if trim_silence(path) >= MIN_PHRASE_S:
                break
            log.debug("empty synthesis of %r (try %d); retrying", text, attempt + 1)
            time.sleep(0.05)  # let espeak's thread deliver any stale events
        else:
            _forget_save_file(engine)
            raise RuntimeError(f"pyttsx3/espeak produced no audio for {text!r}")
        out[kind] = path
    _forget_save_file(engine)
    return out


MIN_PHRASE_S = 0.15  # shorter than any spoken word: the synthesis failed


def trim_silence(path: Path, threshold: int = 300, lead_ms: float = 5.0,
                 tail_ms: float = 40.0) -> float:
    """Cut espeak's leading silence (it delays the cue) and its ~300 ms end pause (it
    keeps the channel busy) from a 16-bit mono WAV, in place; the seconds of sound
    between the first and the last loud sample (0 for a silent or empty file)."""
    with wave.open(str(path), "rb") as f:
        params = f.getparams()
        data = np.frombuffer(f.readframes(f.getnframes()), np.int16)
    if params.sampwidth != 2 or params.nchannels != 1:
        return len(data) / max(1, params.framerate)
    loud = np.flatnonzero(np.abs(data) > threshold)
    if loud.size == 0:
        return 0.0
    rate = params.framerate
    a = max(0, int(loud[0]) - int(rate * lead_ms / 1000))
    b = min(len(data), int(loud[-1]) + int(rate * tail_ms / 1000))
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(data[a:b].tobytes())
    return (int(loud[-1]) - int(loud[0])) / rate


def _forget_save_file(engine) -> None:
    # pyttsx3 2.99's espeak driver keeps the last save_to_file target, so a later say()
    # would silently write that file instead of speaking; clear it if present.
    driver = getattr(getattr(engine, "proxy", None), "_driver", None)
    if driver is not None and hasattr(driver, "_save_file"):
        driver._save_file = None


class Speaker:
    """Owns the speech thread.  `start()`, then `say(cue)` from any thread, `stop()`.

    `on_result(cue, spoken, latency_ns)` is called once per cue handed to `say()`, from
    the speech thread (or from say()/stop() for a cue they drop): spoken is False when
    muted, replaced, stale, stopped, or when there is no audible output.  latency_ns is
    decision -> `Channel.play` (prerender), else None.
    """

    def __init__(
        self,
        cfg: SpeechConfig,
        phrases: Mapping[str, str],
        *,
        on_result: ResultFn | None = None,
    ) -> None:
        self.cfg = cfg
        self.phrases = dict(phrases)
        self.on_result = on_result
        self.muted = False
        self.mode = cfg.mode  # the mode actually in use once ready (may fall back)
        self.driver: str | None = None
        self.latencies_ns: list[int] = []
        self.render_s = 0.0
        self._cond = threading.Condition()
        self._pending: tuple[Cue, int] | None = None
        self._stopping = False
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="speech", daemon=True)

    # ----------------------------------------------------------------- any thread
    def start(self) -> Speaker:
        self._thread.start()
        return self

    def wait_ready(self, timeout: float = 5.0) -> bool:
        """True once phrases are rendered and the output is open (cues before that wait)."""
        return self._ready.wait(timeout)

    def say(self, cue: Cue, t_decided_ns: int | None = None) -> None:
        """Queue `cue` without blocking; a cue still waiting is replaced (and reported)."""
        t = now_ns() if t_decided_ns is None else t_decided_ns
        with self._cond:
            if self._stopping:
                old: tuple[Cue, int] | None = (cue, t)
            else:
                old, self._pending = self._pending, (cue, t)
                self._cond.notify()
        if old is not None:
            self._result(old[0], False, None)

    def stop(self, timeout: float | None = None) -> None:
        """Nothing is spoken after this returns; joins the thread with a timeout."""
        with self._cond:
            self._stopping = True
            old, self._pending = self._pending, None
            self._cond.notify()
        if old is not None:
            self._result(old[0], False, None)
        if self._thread.is_alive():
            self._thread.join(self.cfg.stop_timeout_s if timeout is None else timeout)

    def close(self) -> None:
        self.stop()

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        channel = getattr(self, "_channel", None)
        if muted and channel is not None:
            channel.stop()  # mute also cuts the phrase being spoken

    def toggle_mute(self) -> None:
        self.set_muted(not self.muted)

    @property
    def audible(self) -> bool:
        return self.mode != "off" and self.driver is not None and \
            self.driver not in SILENT_DRIVERS

    # ----------------------------------------------------------------- speech thread
    def _result(self, cue: Cue, spoken: bool, latency_ns: int | None) -> None:
        if self.on_result is not None:
            try:
                self.on_result(cue, spoken, latency_ns)
            except Exception:  # a logging failure must not kill speech
                log.exception("speech result callback failed")

    def _run(self) -> None:
        tmp = tempfile.mkdtemp(prefix="realtime-phrases-")
        try:
            play = self._setup(tmp)
        except Exception as exc:  # e.g. no espeak-ng: one clear line, not a traceback
            log.warning("speech unavailable (%s: %s); on Linux install espeak-ng. Cues are "
                        "shown and logged, not spoken", type(exc).__name__, exc)
            self.mode, play = "off", None
        finally:
            self._ready.set()
        try:
            self._loop(play)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _setup(self, tmp: str) -> Callable[[Cue, int], bool] | None:
        if self.mode == "off":
            return None
        if self.mode == "live" and shutil.which("aplay") is None:
            log.warning("speech.mode=live needs aplay (pyttsx3 plays through it); "
                        "using prerender")
            self.mode = "prerender"
        engine = _engine(self.cfg)
        if self.mode == "live":
            self.driver = "aplay"

            def live(cue: Cue, t_dec: int) -> bool:
                engine.say(cue.text)
                engine.runAndWait()  # blocks while aplay plays; new cues wait in the slot
                return True

            return live
        t0 = now_ns()
        texts = sorted(set(self.phrases.values()))
        paths = render_phrases({f"p{i}": t for i, t in enumerate(texts)}, tmp, self.cfg, engine)
        self.render_s = (now_ns() - t0) * 1e-9
        self.driver = init_mixer()
        if self.driver is None:
            return None
        import pygame

        # keyed by text, so a reworded phrase (profile, hotkeys) is never the wrong sound
        sounds = {t: pygame.mixer.Sound(str(paths[f"p{i}"])) for i, t in enumerate(texts)}
        channel = pygame.mixer.Channel(0)
        self._channel = channel

        def prerendered(cue: Cue, t_dec: int) -> bool:
            sound = sounds.get(cue.text)
            if sound is None:  # a phrase not rendered at start-up: render it now (~20 ms)
                (p,) = render_phrases({f"x{len(sounds)}": cue.text}, tmp, self.cfg,
                                      engine).values()
                sound = sounds[cue.text] = pygame.mixer.Sound(str(p))
            with self._cond:
                if self._stopping:  # quit arrived while this cue was being prepared
                    return False
                channel.play(sound)
            self.latencies_ns.append(now_ns() - t_dec)
            while channel.get_busy():  # let the phrase finish; newer cues wait in the slot
                with self._cond:
                    if self._stopping:
                        channel.stop()
                        break
                    self._cond.wait(0.02)
            return True

        return prerendered

    def _loop(self, play: Callable[[Cue, int], bool] | None) -> None:
        stale_ns = int(self.cfg.stale_s * 1e9)
        while True:
            with self._cond:
                while self._pending is None and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                assert self._pending is not None
                (cue, t_dec), self._pending = self._pending, None
            if play is None or self.muted or now_ns() - t_dec > stale_ns:
                self._result(cue, False, None)
                continue
            try:
                played = play(cue, t_dec)
            except Exception:
                log.exception("speaking %r failed", cue.text)
                played = False
            self._result(cue, played and self.audible, self.latencies_ns[-1]
                         if played and self.latencies_ns else None)


def make_speaker(cfg: SpeechConfig, phrases: Mapping[str, str] | None = None
                 ) -> Speaker | None:
    """A started Speaker (None when speech.mode is "off").  Pass `cfg.cues.phrases` so
    every phrase is rendered before the first cue; others are rendered on first use."""
    if cfg.mode == "off":
        return None
    return Speaker(cfg, all_phrases(phrases or {})).start()


def all_phrases(phrases: Mapping[str, str]) -> dict[str, str]:
    """The phrase of every cue kind (config defaults fill any gap)."""
    from realtime.config import DEFAULT_PHRASES

    return {k: phrases.get(k) or DEFAULT_PHRASES[k] for k in CUE_KINDS}
