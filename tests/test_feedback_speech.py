"""Real pyttsx3 + espeak-ng synthesis, the speech thread's one-slot queue, and cues.csv."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
import threading
import wave
from pathlib import Path

import numpy as np
import pytest

from realtime.config import CUE_KINDS, DEFAULT_PHRASES, SpeechConfig, load_config
from realtime.feedback.sessionlog import CUE_COLUMNS, CueLogSink
from realtime.feedback.speech import (
    Speaker,
    all_phrases,
    make_speaker,
    render_phrases,
    trim_silence,
)
from realtime.types import Cue, Step

ROOT = Path(__file__).resolve().parent.parent


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as f:
        assert f.getsampwidth() == 2 and f.getnchannels() == 1
        data = np.frombuffer(f.readframes(f.getnframes()), np.int16)
        return data, f.getframerate()


def test_every_cue_phrase_synthesises_to_plausible_audio(tmp_path: Path, espeak: None) -> None:
    phrases = all_phrases(load_config(profile="default").cues.phrases)
    assert set(phrases) == set(CUE_KINDS)
    paths = render_phrases(phrases, tmp_path, SpeechConfig())
    assert set(paths) == set(CUE_KINDS)
    for kind, path in paths.items():
        data, rate = read_wav(path)
        dur = len(data) / rate
        rms = float(np.sqrt(np.mean(data.astype(np.float64) ** 2)))
        assert 0.3 <= dur <= 3.0, f"{kind}: {dur:.2f} s"
        assert rms > 300, f"{kind}: RMS {rms:.0f} is near silence"
        # speech, not a steady tone or noise: syllables make the loudness swing widely
        win = rate // 20
        energies = [np.abs(data[i:i + win]).mean() for i in range(0, len(data) - win, win)]
        assert max(energies) > 4 * (min(energies) + 1)
        # start-up silence was trimmed (it would delay the cue), the end pause shortened
        loud = np.flatnonzero(np.abs(data) > 300)
        assert loud[0] / rate < 0.01 and (len(data) - loud[-1]) / rate < 0.06


def test_speaking_rate_changes_the_length(tmp_path: Path, espeak: None) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "f").mkdir()
    slow = render_phrases({"a": "drive the knee"}, tmp_path / "s", SpeechConfig(rate_wpm=110))
    fast = render_phrases({"a": "drive the knee"}, tmp_path / "f", SpeechConfig(rate_wpm=300))
    n_slow = len(read_wav(slow["a"])[0])
    n_fast = len(read_wav(fast["a"])[0])
    assert n_slow > 1.5 * n_fast


def test_a_phrase_without_audio_is_an_error_not_a_silent_cue(tmp_path: Path, espeak: None) -> None:
    with pytest.raises(RuntimeError, match="no audio"):
        render_phrases({"x": "   "}, tmp_path, SpeechConfig())


def test_trim_silence_reports_the_sound_length(tmp_path: Path, espeak: None) -> None:
    rate = 22050
    data = np.zeros(rate, np.int16)
    data[5000:16025] = (8000 * np.sin(np.arange(11025) * 0.3)).astype(np.int16)
    path = tmp_path / "t.wav"
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(data.tobytes())
    assert trim_silence(path) == pytest.approx(0.5, abs=0.01)
    trimmed, _ = read_wav(path)
    assert len(trimmed) / rate == pytest.approx(0.5 + 0.045, abs=0.01)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(np.zeros(100, np.int16).tobytes())
    assert trim_silence(path) == 0.0


def cue(kind: str = "knee_drive", t: float = 1.0) -> Cue:
    return Cue(kind, DEFAULT_PHRASES[kind], 5, int(t * 1e9))


class Results:
    def __init__(self) -> None:
        self.items: list[tuple[str, bool, int | None]] = []
        self.event = threading.Event()

    def __call__(self, c: Cue, spoken: bool, latency_ns: int | None) -> None:
        self.items.append((c.kind, spoken, latency_ns))
        self.event.set()


def test_one_slot_queue_a_newer_cue_replaces_a_waiting_one() -> None:
    res = Results()
    sp = Speaker(SpeechConfig(), DEFAULT_PHRASES, on_result=res)  # not started: cues wait
    sp.say(cue("knee_drive"))
    sp.say(cue("level_hips"))
    assert res.items == [("knee_drive", False, None)]  # replaced, reported at once
    sp.stop()
    assert res.items[-1] == ("level_hips", False, None)  # never spoken after stop
    sp.say(cue("cadence"))
    assert res.items[-1] == ("cadence", False, None)


def test_speaker_plays_on_the_mixer_and_stops_cleanly(espeak: None) -> None:
    res = Results()
    sp = Speaker(SpeechConfig(), DEFAULT_PHRASES, on_result=res).start()
    assert sp.wait_ready(20.0)
    assert sp.mode == "prerender"
    sp.say(cue("overstride"))
    assert res.event.wait(20.0)
    kind, spoken, latency = res.items[0]
    assert kind == "overstride"
    # the dummy SDL driver plays into the void: played (latency known), not "spoken"
    assert latency is not None and latency > 0
    assert spoken is (sp.driver not in ("dummy",))
    sp.muted = True
    res.event.clear()
    sp.say(cue("cadence"))
    assert res.event.wait(20.0)
    assert res.items[-1] == ("cadence", False, None)
    sp.stop(timeout=5.0)
    assert not sp._thread.is_alive()


def test_speech_off_gives_no_speaker() -> None:
    assert make_speaker(SpeechConfig(mode="off")) is None


def test_cue_log_sink_writes_every_cue_with_its_fate(tmp_path: Path, espeak: None) -> None:
    res = Results()
    sp = Speaker(SpeechConfig(), DEFAULT_PHRASES, on_result=res)  # not started
    sink = CueLogSink(tmp_path / "cues.csv", sp)
    step = Step("L", 1.0, confidence=0.9)
    sink.on_step(step, [cue("knee_drive", 1.0), cue("cadence", 1.0)])
    sink.on_step(step, [cue("level_hips", 2.0)])  # replaces the waiting knee cue
    sink.on_step(step, [])
    sink.close()
    with (tmp_path / "cues.csv").open() as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == CUE_COLUMNS
    body = sorted(rows[1:])
    assert body == sorted([
        ["1.000", "cadence", "quicker steps", "5", "0", ""],  # no plan given: no phase
        ["1.000", "knee_drive", "drive the knee", "5", "0", ""],
        ["2.000", "level_hips", "level hips", "5", "0", ""],
    ])
    assert res.items  # the speaker's own callback still runs


def test_cue_log_without_speaker(tmp_path: Path) -> None:
    heard = []
    sink = CueLogSink(tmp_path / "c.csv", None, phase_of=lambda t: "drill" if t > 3 else "",
                      listeners=[lambda c, spoken: heard.append((c.kind, spoken))])
    sink.on_step(Step("R", 0.0, confidence=1.0), [cue("good_knee", 3.25)])
    sink.close()
    lines = (tmp_path / "c.csv").read_text().splitlines()
    assert lines == ["t_s,kind,text,priority,spoken,phase",
                     "3.250,good_knee,good knee drive,5,0,drill"]
    assert heard == [("good_knee", False)]  # the session store gets the same row


DISK_SCRIPT = textwrap.dedent("""
    import sys, threading
    from realtime.config import DEFAULT_PHRASES, SpeechConfig
    from realtime.feedback.speech import Speaker
    from realtime.types import Cue
    done = threading.Event()
    out = []
    sp = Speaker(SpeechConfig(), DEFAULT_PHRASES,
                 on_result=lambda c, s, l: (out.append((s, l)), done.set())).start()
    assert sp.wait_ready(20)
    sp.say(Cue("knee_drive", "drive the knee", 5, 0))
    assert done.wait(20)
    sp.stop()
    print(sp.driver, out[0][0], out[0][1])
""")


def test_disk_audio_driver_receives_the_spoken_phrase(tmp_path: Path, espeak: None) -> None:
    """SDL's disk driver writes what a sound card would play: the phrase must be in it."""
    raw = tmp_path / "audio.raw"
    env = {**os.environ, "SDL_AUDIODRIVER": "disk", "SDL_DISKAUDIOFILE": str(raw),
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", DISK_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    driver, spoken, latency = proc.stdout.split()[-3:]
    assert (driver, spoken) == ("disk", "True") and int(latency) > 0
    data = np.frombuffer(raw.read_bytes(), np.int16)
    loud = np.flatnonzero(np.abs(data) > 1000)
    assert loud.size > 0
    assert (loud[-1] - loud[0]) / 22050 > 0.3  # a phrase, not a click


@pytest.mark.parametrize("mode", ["prerender", "live", "off"])
def test_speech_modes_are_config_choices(mode: str) -> None:
    assert load_config(overrides=[f'speech.mode="{mode}"']).speech.mode == mode


LIVE_SCRIPT = textwrap.dedent("""
    import threading
    from realtime.config import DEFAULT_PHRASES, SpeechConfig
    from realtime.feedback.speech import Speaker, render_phrases
    from realtime.types import Cue
    import tempfile
    import pyttsx3
    # a save_to_file first on another, still-alive engine: pyttsx3 2.99 would write a
    # later say() on that engine to the file instead of speaking it
    engine = pyttsx3.init()
    render_phrases({"x": "level hips"}, tempfile.mkdtemp(), SpeechConfig(), engine)
    done = threading.Event()
    out = []
    sp = Speaker(SpeechConfig(mode="live"), DEFAULT_PHRASES,
                 on_result=lambda c, s, l: (out.append(s), done.set())).start()
    assert sp.wait_ready(20)
    sp.say(Cue("cadence", "quicker steps", 2, 0))
    assert done.wait(20)
    sp.stop()
    print(sp.mode, out[0])
""")


def test_live_mode_hands_the_synthesised_phrase_to_aplay(tmp_path: Path, espeak: None) -> None:
    """pyttsx3's live path on Linux ends in `aplay FILE`; a stand-in keeps that file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    got = tmp_path / "got.wav"
    shim = bin_dir / "aplay"
    shim.write_text(f'#!/bin/sh\ncp "$1" "{got}"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", LIVE_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-2:] == ["live", "True"]
    data, rate = read_wav(got)
    assert 0.3 <= len(data) / rate <= 3.0
    assert np.abs(data).max() > 3000


NO_AUDIO_SCRIPT = textwrap.dedent("""
    import sys
    from realtime.config import DEFAULT_PHRASES, SpeechConfig
    from realtime.feedback.sessionlog import CueLogSink
    from realtime.feedback.speech import make_speaker
    from realtime.types import Cue, Step
    sp = make_speaker(SpeechConfig(), DEFAULT_PHRASES)
    assert sp.wait_ready(20)
    sink = CueLogSink(sys.argv[1], sp)
    sink.on_step(Step("L", 1.0, confidence=0.9), [Cue("knee_drive", "drive the knee", 5, 10**9)])
    sink.close()
    print("driver", sp.driver, "audible", sp.audible)
""")


def test_no_audio_device_still_logs_the_cues(tmp_path: Path, espeak: None) -> None:
    env = {**os.environ, "SDL_AUDIODRIVER": "no-such-driver", "PYTHONPATH": str(ROOT)}
    log = tmp_path / "cues.csv"
    proc = subprocess.run([sys.executable, "-c", NO_AUDIO_SCRIPT, str(log)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "driver None audible False" in proc.stdout
    assert "no audio device" in proc.stderr
    assert log.read_text().splitlines()[1:] == ["1.000,knee_drive,drive the knee,5,0,"]
