"""Timing for the benchmarks: the best of a few runs, the usual way to time on a shared machine
(other processes only ever add time)."""

import time


def best_of(fn, repeat: int = 3):
    """(wall seconds, CPU seconds, result) of the fastest of `repeat` calls of `fn`. CPU time is
    given too: a loaded machine stretches wall time; on an idle one the two agree for one thread."""
    best, out = (float("inf"), float("inf")), None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, (time.perf_counter() - w0, time.process_time() - c0))
    return best[0], best[1], out
