"""Writer and validator speed on a full-size EXPR template (1,022,655 rows, 228 videos).

The template has the size of the edition 5/6 EXPR test template (protocol.SIZES): 228 videos with
`_left/_right` pairs, every frame of every video in order. A prediction set covers 90% of the
frames (the rest had no face and are filled by the writer).

Measured in the same run, best of 3:
- write: read the template + write the submission (fill, argmax, render, atomic write);
- validate: abaw's validator on the written file against the template;
- a straightforward pandas check: read_csv of template and submission, compare the key columns,
  check the class column;
- validate a corrupted copy (10 no-face rows dropped, one value 8): the slow, diagnostic path.
Targets: write <= 1.5 s, validate <= 1.5 s and >= 3x faster than the pandas check.

Wall and CPU time are both printed with the load average: on a machine shared beyond its core
count, wall time mostly measures waiting for a core, and the targets are judged on CPU time
(the work is single-threaded, so on an idle machine the two agree). Exit status 1 on a missed
target (`--quick`: one run each, a smoke run).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from timing import Targets, add_quick, best_of

from abaw import protocol
from abaw.core.prediction_set import PredictionSet
from abaw.formats import read_template, validate, write_submission

TRACK, EDITION = "EXPR", 8
ROWS, VIDEOS = protocol.SIZES["template_rows_ed5"]["EXPR"]
TARGET_S, TARGET_RATIO = 1.5, 3.0


def make_template(path: Path, rng) -> dict[str, int]:
    """Aff-Wild2-like names and lengths summing exactly to ROWS."""
    lengths = rng.multinomial(ROWS - VIDEOS * 500, np.ones(VIDEOS) / VIDEOS) + 500
    names = []
    for i in range(VIDEOS):
        base = f"{i + 1}-{rng.choice([24, 25, 30, 60])}-{rng.choice(['1280x720', '1920x1080'])}"
        names.append(base + ("_left" if i % 20 == 0 else "_right" if i % 20 == 1 else ""))
        if i % 20 == 1:
            names[-1] = names[-2].replace("_left", "_right")
    header = protocol.rules(TRACK, EDITION).prediction_header
    parts = [header]
    for name, n in zip(names, lengths, strict=True):
        parts.append("\n".join(f"{name}/{protocol.frame_name(f)}," for f in range(1, n + 1)))
    path.write_text("\n".join(parts) + "\n")
    return dict(zip(names, lengths.tolist(), strict=True))


def make_predictions(lengths: dict, rng) -> PredictionSet:
    per = {}
    for name, n in lengths.items():
        frames = np.flatnonzero(rng.random(n) < 0.9) + 1
        per[name] = (frames, rng.random((len(frames), 8), dtype=np.float32))
    return PredictionSet.from_videos(TRACK, EDITION, per)


def pandas_check(sub: Path, template: Path) -> bool:
    import pandas as pd
    t = pd.read_csv(template)
    s = pd.read_csv(sub)
    header_ok = open(sub).readline() == open(template).readline()
    keys_ok = len(s) == len(t) and bool((s.iloc[:, 0].values == t.iloc[:, 0].values).all())
    values = s.iloc[:, 1]
    values_ok = bool(values.notna().all() and (values % 1 == 0).all()
                     and values.between(0, 7).all())
    return header_ok and keys_ok and values_ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_quick(ap)
    args = ap.parse_args()
    repeat = 1 if args.quick else None
    targets = Targets(args.quick)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        template = tmp / protocol.template_name(TRACK, EDITION)
        lengths = make_template(template, rng)
        preds = make_predictions(lengths, rng)
        out = tmp / "EXPR.txt"
        w_write, c_write, written = best_of(
            lambda: write_submission(preds, out, read_template(template)), repeat)
        w_val, c_val, report = best_of(lambda: validate(out, TRACK, EDITION, template=template),
                                       repeat)
        w_pd, c_pd, pd_ok = best_of(lambda: pandas_check(out, template), repeat)
        lines = out.read_bytes().split(b"\n")
        lines[5000] = lines[5000].rsplit(b",", 1)[0] + b",8"
        bad = tmp / "bad.txt"
        bad.write_bytes(b"\n".join(lines[:100] + lines[110:]))
        w_bad, c_bad, bad_report = best_of(
            lambda: validate(bad, TRACK, EDITION, template=template), 1)
    filled = sum(written.filled.values())
    print(f"EXPR template: {ROWS:,} rows, {VIDEOS} videos; predictions cover {len(preds):,} "
          f"frames, {filled:,} filled")
    print(f"write     {w_write:6.3f} s wall {c_write:6.3f} s CPU")
    print(f"validate  {w_val:6.3f} s wall {c_val:6.3f} s CPU")
    print(f"pandas    {w_pd:6.3f} s wall {c_pd:6.3f} s CPU  read_csv-and-compare reference")
    print(f"corrupted {w_bad:6.3f} s wall {c_bad:6.3f} s CPU  diagnostic path: "
          f"{sorted(bad_report.counts.items())}")
    targets.check("verdicts", report.valid and pd_ok and not bad_report.valid,
                  "the written file valid, the corrupted one not", speed=False)
    t_write, t_val = targets.time(w_write, c_write), targets.time(w_val, c_val)
    ratio = targets.time(w_pd, c_pd) / t_val
    targets.check("write", t_write <= TARGET_S, f"{t_write:.3f} s (<= {TARGET_S} s)")
    targets.check("validate", t_val <= TARGET_S, f"{t_val:.3f} s (<= {TARGET_S} s)")
    targets.check("validate vs pandas", ratio >= TARGET_RATIO,
                  f"{ratio:.2f}x (>= {TARGET_RATIO}x)")
    return targets.exit_status()


if __name__ == "__main__":
    sys.exit(main())
