"""Motion-capture ground truth and the validation harness for the metrics stage.

    from realtime.validation import trials, make_stream, score
    stream, truth_steps, truth_events = make_stream("subject01_Run_4", "side", 30, 2.0)
    detected = run_analyzer(my_analyzer, stream)
    print(score(detected, truth_steps, "side", truth_events))

`python -m realtime.validation` runs every trial and condition and prints the tables.
"""

from realtime.validation.catalog import load_truth, trials
from realtime.validation.score import (
    TARGETS,
    evaluate,
    run_analyzer,
    run_validation,
    score,
    summarize,
)
from realtime.validation.streams import make_stream

__all__ = [
    "TARGETS",
    "evaluate",
    "load_truth",
    "make_stream",
    "run_analyzer",
    "run_validation",
    "score",
    "summarize",
    "trials",
]
