"""Timing and verdicts for the benchmarks.

Every timed thing, abaw's code and the reference it is compared with alike, is the best of
REPEAT runs (other processes on a shared machine only ever add time), so a ratio compares like
with like. `Targets` prints each target's verdict and gives the exit status: 1 when any is
missed, so `make bench` fails. On a machine shared beyond its core count wall time mostly
measures waiting for a core, so times are then judged on CPU time (single-threaded work: on an
idle machine the two agree). `--quick` (every benchmark takes it) is a smoke run: small sizes,
one run each, correctness still judged, speed targets only printed.
"""

from __future__ import annotations

import os
import time

REPEAT = 3


def best_of(fn, repeat: int | None = None):
    """(wall seconds, CPU seconds, result) of the fastest of `repeat` (REPEAT) calls of `fn`."""
    best, out = (float("inf"), float("inf")), None
    for _ in range(REPEAT if repeat is None else repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, (time.perf_counter() - w0, time.process_time() - c0))
    return best[0], best[1], out


def add_quick(parser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: small sizes, one run each, speed targets not judged")


class Targets:
    def __init__(self, quick: bool = False):
        self.quick = quick
        self.missed: list[str] = []
        load, cores = os.getloadavg()[0], os.cpu_count() or 1
        self.busy = load > cores
        print(f"load average {load:.1f} on {cores} CPUs: times judged on "
              f"{'CPU time (machine shared)' if self.busy else 'wall time'}"
              f"{'; quick run: speed targets not judged' if quick else ''}")

    def time(self, wall: float, cpu: float) -> float:
        """The time a target is judged on."""
        return cpu if self.busy else wall

    def check(self, name: str, ok: bool, detail: str, speed: bool = True) -> None:
        judged = not (speed and self.quick)
        verdict = "met" if ok else ("MISSED" if judged else "not met (not judged)")
        print(f"target {name}: {detail}: {verdict}")
        if judged and not ok:
            self.missed.append(name)

    def exit_status(self) -> int:
        print("targets met" if not self.missed else f"TARGETS MISSED: {', '.join(self.missed)}")
        return 1 if self.missed else 0
