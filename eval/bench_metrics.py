"""EXPR and AU scores on 1,000,000 frames: abaw.metrics against sklearn, in the same run.

Prints the time of each (both the best of the same number of runs), the speed-up ratio and the
largest absolute difference of the scores. Targets: >= 10x faster than sklearn's
f1_score(average="macro") and equal to <= 1e-12. Exit status 1 on a missed target.

    python eval/bench_metrics.py [--quick]
"""

import argparse
import sys

import numpy as np
from sklearn.metrics import f1_score
from timing import Targets, add_quick, best_of

from abaw import metrics

N = 1_000_000
TARGET_RATIO, TARGET_DIFF = 10.0, 1e-12


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_quick(ap)
    args = ap.parse_args()
    n, repeat = (20_000, 1) if args.quick else (N, None)
    targets = Targets(args.quick)
    rng = np.random.default_rng(0)
    true = rng.integers(0, 8, n)
    pred = np.where(rng.random(n) < 0.5, true, rng.integers(0, 8, n))
    au_true = (rng.random((n, 12)) < 0.3).astype(np.int8)
    au_pred = np.where(rng.random((n, 12)) < 0.7, au_true, rng.integers(0, 2, (n, 12))).astype(np.int8)
    cases = {
        "EXPR": (lambda: metrics.score("EXPR", 10, pred, true).value,
                 lambda: f1_score(true, pred, labels=list(range(8)), average="macro",
                                  zero_division=0)),
        "AU": (lambda: metrics.score("AU", 10, au_pred, au_true).value,
               lambda: float(np.mean(f1_score(au_true, au_pred, average=None, zero_division=0)))),
    }
    for name, (ours_fn, ref_fn) in cases.items():
        w_ours, c_ours, ours = best_of(ours_fn, repeat)
        w_ref, c_ref, ref = best_of(ref_fn, repeat)
        ratio = targets.time(w_ref, c_ref) / targets.time(w_ours, c_ours)
        print(f"{name:5s} n={n:,}  abaw {w_ours * 1e3:8.1f} ms (cpu {c_ours * 1e3:7.1f})   "
              f"sklearn {w_ref * 1e3:8.1f} ms (cpu {c_ref * 1e3:7.1f})")
        targets.check(f"{name} speed-up", ratio >= TARGET_RATIO,
                      f"{ratio:.1f}x sklearn (>= {TARGET_RATIO:g}x)")
        targets.check(f"{name} agreement", abs(ours - ref) <= TARGET_DIFF,
                      f"max |diff| {abs(ours - ref):.1e} (<= {TARGET_DIFF:g})", speed=False)
    return targets.exit_status()


if __name__ == "__main__":
    sys.exit(main())
