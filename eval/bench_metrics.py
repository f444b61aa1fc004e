"""EXPR and AU scores on 1,000,000 frames: abaw.metrics against sklearn, in the same run.

Prints the time of each, the speed-up ratio and the largest absolute difference of the scores.
Target: >= 10x faster than sklearn's f1_score(average="macro") and equal to <= 1e-12.
"""

import numpy as np
from sklearn.metrics import f1_score
from timing import best_of

from abaw import metrics

N = 1_000_000


def main():
    rng = np.random.default_rng(0)
    true = rng.integers(0, 8, N)
    pred = np.where(rng.random(N) < 0.5, true, rng.integers(0, 8, N))
    t_ours, _, ours = best_of(lambda: metrics.score("EXPR", 10, pred, true).value)
    t_ref, _, ref = best_of(lambda: f1_score(true, pred, labels=list(range(8)), average="macro",
                                             zero_division=0))
    print(f"EXPR  n={N:,}  abaw {t_ours * 1e3:8.1f} ms   sklearn {t_ref * 1e3:8.1f} ms   "
          f"speed-up {t_ref / t_ours:6.1f}x   max |diff| {abs(ours - ref):.1e}")

    au_true = (rng.random((N, 12)) < 0.3).astype(np.int8)
    au_pred = np.where(rng.random((N, 12)) < 0.7, au_true, rng.integers(0, 2, (N, 12))).astype(np.int8)
    t_ours, _, ours = best_of(lambda: metrics.score("AU", 10, au_pred, au_true).value)
    t_ref, _, ref = best_of(lambda: float(np.mean(f1_score(au_true, au_pred, average=None,
                                                           zero_division=0))))
    print(f"AU    n={N:,}  abaw {t_ours * 1e3:8.1f} ms   sklearn {t_ref * 1e3:8.1f} ms   "
          f"speed-up {t_ref / t_ours:6.1f}x   max |diff| {abs(ours - ref):.1e}")


if __name__ == "__main__":
    main()
