"""One monotonic clock for every timestamp (never wall-clock time)."""

import time

now_ns = time.perf_counter_ns


def ns_to_s(t_ns: int) -> float:
    return t_ns * 1e-9
