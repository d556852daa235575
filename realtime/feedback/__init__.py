"""Feedback stage: per-step metrics -> cues -> display, speech, tones and session logs.

Every consumer of the pipeline's output is a sink with the same three methods, so that
`realtime analyze` (CSV writer) and `realtime run` (display, speech, logs) share one path.

Modules: `cues` (pure rules: `decide`, `CueState`, `phase_at`, zones shared with the
display), `display` (pygame `Display.render(state) -> actions`),
`speech` (`make_speaker`, `Speaker`: the speech thread), `sessionlog` (`CueLogSink`:
cues.csv + speaking), `tones` (`TonePlayer` sink: earcons or knee-height tone).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from realtime.types import Cue, LiveState, PoseSample, Step, Swing


class FeedbackSink(Protocol):
    def on_pose(self, sample: PoseSample, live: LiveState) -> None:
        """Called for every processed frame (keep it cheap)."""

    def on_step(self, step: Step, cues: Sequence[Cue]) -> None:
        """Called once per completed step with the cues decided for it."""

    def on_swing(self, swing: Swing, cues: Sequence[Cue]) -> None:
        """Called once per swing whose knee drive became final, with its cues."""

    def close(self) -> None:
        """Flush and release resources; called once at the end of a session."""
