"""Which validation figure predicts the hidden test score: in-sample or cross-fitted?

On the synthetic twin the test labels are known (hidden under `.truth/`). Per track and seed this
runs the demo recipe end to end (`abaw.pipeline.run_track`) and reads the figures it prints:

- in-sample: the validation score after the post-processing tuned on all of validation
  (post.json), scored on the same validation videos;
- cross-fitted: the same tuning options, each validation video post-processed by parameters
  tuned on the other validation videos (`abaw.post.crossfit`);
- test: the hidden-test score of the written submission (post.json applied to the run's raw
  test predictions),

and prints, per track, the mean of each over the seeds, the mean absolute distance of each
validation figure to the test score, and how wide the test score's own 90% bootstrap interval
over test videos is (a distance well inside it cannot be told apart). Exit status 1 when the
cross-fitted figure is not the closer one for every track (the target).

    python eval/honest_scores.py                      # small twin, seeds 0,1,2, five tracks
    python eval/honest_scores.py --seeds 0 --tracks expr,va
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

TRACKS = ("va", "expr", "au", "mtl", "lsd")      # CE is scored on the hidden test already


def measure(track: str, seed: int, work: Path, size: str, quiet: bool) -> dict:
    from abaw.cli.demo import twin_for
    from abaw.core.decisions import Decision
    from abaw.data import load_index
    from abaw.pipeline import hidden_truth, run_track
    from abaw.post.tune import evaluate
    from abaw.report.run import open_run
    from tracks import get_track

    root = twin_for(track, work, quiet, size, seed)
    t0 = time.perf_counter()
    out = run_track(get_track(track), root, recipe="demo", overrides=[f"run.seed={seed}"],
                    work=work / "runs", out=work / "submissions" / f"seed{seed}", quiet=quiet)
    run = open_run(out.run_dir)
    hidden = hidden_truth(load_index(root), track)
    low, high = out.intervals["test"]
    return {"track": track.upper(), "seed": seed, "run": str(run.path),
            "val_raw": out.val_raw, "in_sample": out.val_post, "cross_fitted": out.val_crossfit,
            "test_raw": evaluate(run.predictions("test"), hidden, decision=Decision()).value,
            "test": out.hidden_test, "test_low": low, "test_high": high,
            "val_units": len(run.saved("val.crossfit").videos),
            "test_units": len(hidden.per_video),
            "seconds": round(time.perf_counter() - t0, 1)}


def summarise(rows: list) -> tuple[str, bool]:
    lines = [f"{'track':6} {'seeds':>5} {'val raw':>8} {'in-sample':>10} {'cross-fit':>10} "
             f"{'test raw':>9} {'test':>8} {'|in-test|':>10} {'|cf-test|':>10} "
             f"{'test 90% width':>15} {'units val/test':>15}  closer"]
    ok = True
    for track in dict.fromkeys(r["track"] for r in rows):
        rs = [r for r in rows if r["track"] == track]
        m = {k: float(np.mean([r[k] for r in rs])) for k in
             ("val_raw", "in_sample", "cross_fitted", "test_raw", "test")}
        d_in = float(np.mean([abs(r["in_sample"] - r["test"]) for r in rs]))
        d_cf = float(np.mean([abs(r["cross_fitted"] - r["test"]) for r in rs]))
        closer = "cross-fitted" if d_cf < d_in else "in-sample" if d_in < d_cf else "tie"
        ok &= d_cf < d_in
        width = float(np.mean([r["test_high"] - r["test_low"] for r in rs]))
        units = f"{np.mean([r['val_units'] for r in rs]):.0f}/" \
                f"{np.mean([r['test_units'] for r in rs]):.0f}"
        lines.append(f"{track:6} {len(rs):>5} {m['val_raw']:8.4f} {m['in_sample']:10.4f} "
                     f"{m['cross_fitted']:10.4f} {m['test_raw']:9.4f} {m['test']:8.4f} "
                     f"{d_in:10.4f} {d_cf:10.4f} {width:15.4f} {units:>15}  {closer}")
    return "\n".join(lines), ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--tracks", default=",".join(TRACKS))
    ap.add_argument("--size", default="small", choices=["tiny", "small"])
    ap.add_argument("--work", type=Path, default=Path("demo"),
                    help="twins (shared with `abaw demo`) and runs [default: demo]")
    ap.add_argument("--json", type=Path, help="also write every row here")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        for track in args.tracks.split(","):
            r = measure(track.strip().lower(), seed, args.work, args.size, args.quiet)
            rows.append(r)
            print(json.dumps(r), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    table, ok = summarise(rows)
    print(table)
    if not ok:
        print("missed: the cross-fitted figure is not closer to the hidden test for every track")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
