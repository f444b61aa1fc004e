"""A map over a few threads, for work that releases the GIL (NumPy array work, the compiled
window loops): the windows of a sweep, the columns of a smoothing pass."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

MAX_THREADS = 8
_worker = threading.local()


def in_parallel(fn, items) -> list:
    """[fn(i) for i in items], on as many threads as there are cores (at most MAX_THREADS).
    Called from inside one of those threads (a sweep's window smoothing its columns), it runs
    serially: the outer map already keeps the cores busy."""
    items = list(items)
    workers = min(len(items), os.cpu_count() or 1, MAX_THREADS)
    if workers <= 1 or getattr(_worker, "busy", False):
        return [fn(i) for i in items]

    def run(item):
        _worker.busy = True
        try:
            return fn(item)
        finally:
            _worker.busy = False
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, items))
