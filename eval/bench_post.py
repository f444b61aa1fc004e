"""Post-processing at full size: ~1M frames in 228 videos (the EXPR test template), 8 class and
12 AU probabilities, 5% of frames without a face.

1. Each smoother, one pass over the 12 AU columns (window 51), against a naive loop over videos
   and columns (np.convolve; for the median a sort of every sliding window), same run, same
   values. The mean is two NumPy slices of running sums (built by a compiled pass); the others
   are compiled loops (numba, `abaw.post.compiled`).
2. A 50-window tuning sweep (`abaw.post.tune.tune`, moving mean, official score per window) on
   EXPR and on AU (with per-AU thresholds), against the naive loop + `metrics.score` per window
   (measured on 5 windows, scaled to 50).

Every time, abaw's and the naive loop's alike, is the best of the same number of runs.
Targets: <= 0.2 s per smoothing pass, <= 3 s per 50-window sweep, smoothers equal to the naive
loop to <= 1e-5. Exit status 1 on a missed target.

    python eval/bench_post.py [--quick]
"""

import argparse
import sys

import numpy as np
from timing import Targets, add_quick, best_of

from abaw import metrics, protocol
from abaw.core.decisions import decide
from abaw.core.layout import layout
from abaw.core.prediction_set import PredictionSet
from abaw.post import smooth as sm
from abaw.post import tune as tn

ROWS, VIDEOS = protocol.SIZES["template_rows_ed5"]["EXPR"]
WINDOW = 51
SWEEP = tuple(range(1, 100, 2))   # 50 windows
TARGET_SMOOTH_S, TARGET_SWEEP_S, TARGET_DIFF = 0.2, 3.0, 1e-5


def full_size(rng, ROWS=ROWS, VIDEOS=VIDEOS):
    """(EXPR set, AU set, EXPR truth, AU truth): noisy per-frame outputs of slow segments."""
    lengths = rng.multinomial(ROWS - 50 * VIDEOS, np.ones(VIDEOS) / VIDEOS) + 50
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    runs = rng.geometric(1 / 60, ROWS)                      # segment lengths, ~2 s each
    starts = np.cumsum(runs)
    seg = np.searchsorted(starts[starts < ROWS], np.arange(ROWS), side="right")
    y = rng.integers(0, 8, seg.max() + 1)[seg]               # (N,) class per frame
    logits = 2.0 * np.eye(8, dtype=np.float32)[y] + rng.normal(0, 2.0, (ROWS, 8)).astype(np.float32)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    au_y = rng.random((seg.max() + 1, 12)) < np.linspace(0.1, 0.5, 12)
    au_y = au_y[seg]
    z = 2.5 * (au_y - 0.5) + np.linspace(-1, 0.8, 12) + rng.normal(0, 1.5, (ROWS, 12))
    au = (1 / (1 + np.exp(-z))).astype(np.float32)
    imputed = rng.random(ROWS) < 0.05
    frames = np.arange(ROWS) - np.repeat(offsets[:-1], lengths) + 1
    videos = [f"video{i:03d}" for i in range(VIDEOS)]
    make = lambda track, out: PredictionSet(track, 8, protocol.rules(track, 8).names, videos,  # noqa: E731
                                            offsets, frames, out, imputed)
    expr, aus = make("EXPR", probs), make("AU", au)
    ex_truth = tn.ValTruth("EXPR", {v: (expr.video(v)[0], y[expr.rows(v)]) for v in videos})
    au_truth = tn.ValTruth("AU", {v: (aus.video(v)[0], au_y[aus.rows(v)]) for v in videos})
    return expr, aus, ex_truth, au_truth


def naive(x, offsets, kind, window):
    """Loop over videos and columns: np.convolve for weights, np.median over windows."""
    before, after = sm.span(window)
    out = np.empty(x.shape, np.float64)
    for a, b in zip(offsets[:-1], offsets[1:], strict=True):
        for j in range(x.shape[1]):
            col = x[a:b, j].astype(np.float64)
            if kind == "median":
                padded = np.pad(col, (before, after), constant_values=np.nan)
                win = np.lib.stride_tricks.sliding_window_view(padded, window)
                srt = np.sort(win, axis=1)                       # NaN (outside) sort last
                count = np.sum(~np.isnan(win), axis=1)
                out[a:b, j] = srt[np.arange(len(col)), (count - 1) // 2]
            else:
                w = sm.kernel(kind, window)[::-1]
                num = np.convolve(col, w, mode="full")[after:after + len(col)]
                den = np.convolve(np.ones(len(col)), w, mode="full")[after:after + len(col)]
                out[a:b, j] = num / den
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_quick(ap)
    args = ap.parse_args()
    rows, videos = (40_000, 20) if args.quick else (ROWS, VIDEOS)
    repeat = 1 if args.quick else None
    targets = Targets(args.quick)
    rng = np.random.default_rng(0)
    expr, aus, ex_truth, au_truth = full_size(rng, rows, videos)
    print(f"{rows:,} frames, {videos} videos; smoothing 12 AU columns, window {WINDOW}")
    for kind in sm.KINDS:
        # The first call in a process loads the compiled loops from numba's cache (or compiles
        # them, a few seconds, once per checkout): reported apart from the timed calls.
        t_first, _, _ = best_of(lambda k=kind: sm.smooth(aus.outputs[:1000], [0, 1000], k, 5), 1)
        t_ours, c_ours, ours = best_of(lambda k=kind: sm.smooth(aus.outputs, aus.offsets, k,
                                                                WINDOW), repeat)
        t_ign, c_ign, _ = best_of(lambda k=kind: sm.smooth(aus.outputs, aus.offsets, k, WINDOW,
                                                           aus.imputed), repeat)
        t_ref, c_ref, ref = best_of(lambda k=kind: naive(aus.outputs, aus.offsets, k, WINDOW),
                                    repeat)
        diff = float(np.abs(ours - ref).max())
        print(f"  {kind:8s} abaw {t_ours:6.3f} s (cpu {c_ours:5.3f}; ignoring imputed {t_ign:5.3f}"
              f" s, cpu {c_ign:5.3f})   naive loop {t_ref:6.2f} s (cpu {c_ref:5.2f})   speed-up "
              f"{targets.time(t_ref, c_ref) / targets.time(t_ours, c_ours):5.1f}x   "
              f"(first call {t_first:.2f} s)")
        worst = max(targets.time(t_ours, c_ours), targets.time(t_ign, c_ign))
        targets.check(f"{kind} pass", worst <= TARGET_SMOOTH_S,
                      f"{worst:.3f} s (<= {TARGET_SMOOTH_S} s)")
        targets.check(f"{kind} values", diff <= TARGET_DIFF,
                      f"max |diff| {diff:.1e} from the naive loop (<= {TARGET_DIFF:g})",
                      speed=False)

    print("50-window tuning sweep (tune(): moving mean, windows 1..99, official score each)")
    for name, ps, truth in (("EXPR", expr, ex_truth), ("AU", aus, au_truth)):
        t_ours, c_ours, params = best_of(lambda p=ps, t=truth: tn.tune(
            p, t, kinds=("mean",), windows=SWEEP, bias=False), repeat)
        target = truth.align(ps)[name]
        ref_windows = SWEEP[::10]

        def reference(p=ps, t=target, name=name, ref_windows=ref_windows):
            for w in ref_windows:
                smoothed = naive(p.outputs, p.offsets, "mean", w)[t.rows]
                metrics.score(name, 8, decide(layout(name, 8), smoothed),
                              t.labels.astype(np.int64))
        t_ref, c_ref, _ = best_of(reference, repeat)
        scale = len(SWEEP) / len(ref_windows)
        chosen = params.smooth[name]
        ours = targets.time(t_ours, c_ours)
        print(f"  {name:4s} abaw {t_ours:6.2f} s (cpu {c_ours:5.2f})   naive {t_ref * scale:6.1f} s "
              f"(5 windows, x10)   speed-up {targets.time(t_ref, c_ref) * scale / ours:5.1f}x   "
              f"chose {chosen['kind']} {chosen['window']}: {params.scores['raw']:.4f} -> "
              f"{params.scores['tuned']:.4f}")
        targets.check(f"{name} sweep", ours <= TARGET_SWEEP_S,
                      f"{ours:.2f} s (<= {TARGET_SWEEP_S} s)")
    return targets.exit_status()


if __name__ == "__main__":
    sys.exit(main())
