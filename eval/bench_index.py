"""Benchmark: indexing an Aff-Wild2-scale tree, cold and cached, against a pandas-per-file loop.

    python eval/bench_index.py [--root DIR] [--edition 10] [--videos 600] [--frames 2800000]
    python eval/bench_index.py --quick

The tree is the `full` synthetic twin's annotations, lists and templates (no images) when
`abaw.data.synth` can write it; otherwise (or with --plain) an equivalent annotation tree is
generated here: ~600 videos, ~2.8M frames, VA / EXPR / AU train+val annotation files and the
edition's test templates (EXPR 228 / VA 162 / AU 141 test videos, as the real release).

Measured in the same run:
- cold: `build_index(..., rebuild=True)`: walk, parse and check everything, write the cache;
- cached: `load_index(...)` again (fingerprint + one .npz read);
- reference: `pandas.read_csv` on every annotation file and template, one call per file (the
  loop most team loaders use), with no checks at all.
Each figure is the best of --repeat runs (CPU time beside wall time): on a shared machine other
processes only ever add time. Only the first cold run pays for importing pandas (~0.5 s).
Targets: cold <= 5 s, cached <= 0.5 s. Exit status 1 on a missed target (`--quick`: a small
generated tree, one run each, a smoke run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from timing import REPEAT, Targets, add_quick, best_of

from abaw import protocol


def _ints_text(vals: np.ndarray) -> bytes:
    """Rows of small ints (-9..9) as CSV lines, written with NumPy (no per-line Python)."""
    flat = vals.ravel().astype(np.int64)
    width = vals.shape[1]
    lens = np.where(flat < 0, 2, 1) + 1  # token + separator
    pos = np.cumsum(lens) - lens
    out = np.empty(int(lens.sum()), np.uint8)
    neg = flat < 0
    out[pos[neg]] = ord("-")
    out[pos + neg] = (np.abs(flat) + 48).astype(np.uint8)
    sep = np.full(len(flat), ord(","), np.uint8)
    sep[width - 1::width] = ord("\n")
    out[pos + lens - 1] = sep
    return out.tobytes()


def _va_text(vals: np.ndarray) -> bytes:
    """Rows of (v, a) in [-1, 1] with 6 decimals, or the sentinel -5, written with NumPy."""
    flat = vals.ravel()
    sent = flat == protocol.SENTINELS["VA"]
    q = np.rint(np.abs(flat) * 1e6).astype(np.int64)
    neg = (flat < 0) & ~sent
    tok = np.zeros((len(flat), 10), np.uint8)  # "-d.dddddd" + separator, left-aligned
    lens = np.where(sent, 3, 9 + neg)
    tok[:, 0] = np.where(neg, ord("-"), 0)
    digits = [(q // 10 ** (6 - k)) % 10 for k in range(7)]  # integer digit, then 6 decimals
    body = np.stack([digits[0] + 48, np.full(len(q), ord("."))] + [d + 48 for d in digits[1:]],
                    axis=1).astype(np.uint8)
    for j in range(8):
        tok[np.arange(len(q)), j + neg] = body[:, j]
    tok[sent, :2] = np.frombuffer(b"-5", np.uint8)
    sep = np.full(len(flat), ord(","), np.uint8)
    sep[1::2] = ord("\n")
    tok[np.arange(len(flat)), lens - 1] = sep
    keep = np.arange(10)[None, :] < lens[:, None]
    return tok[keep].tobytes()


def generate(root: Path, edition: int, n_videos: int, n_frames: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    ed = protocol.EDITIONS[edition]
    lengths = rng.gamma(2.0, n_frames / n_videos / 2.0, n_videos).astype(np.int64) + 50
    lengths = (lengths * n_frames / lengths.sum()).astype(np.int64) + 1
    names = [f"{i}-30-1280x720" if i % 7 else f"{i}" for i in range(n_videos)]
    ann = root / f"{edition}th ABAW Annotations"
    test_n = protocol.SIZES["template_rows_ed5"]
    order = rng.permutation(n_videos)
    for k, track in enumerate(("VA", "EXPR", "AU")):
        n_test = test_n[track][1]
        test = order[(k * 50) % n_videos:][:n_test]
        rest = np.setdiff1d(np.arange(n_videos), test)
        train = rng.permutation(rest)[: int(len(rest) * 0.55)]
        val = train[: len(train) // 4]
        train = train[len(train) // 4:]
        header = protocol.rules(track, edition).annotation_header
        for split, vids in (("train", train), ("val", val)):
            folder = ann / ed.task_folders[track] / ed.split_folders[split]
            folder.mkdir(parents=True, exist_ok=True)
            for v in vids:
                n = int(lengths[v])
                if track == "VA":
                    lab = rng.uniform(-1, 1, (n, 2))
                    lab[rng.random(n) < 0.05] = -5
                    text = _va_text(lab)
                elif track == "EXPR":
                    lab = rng.integers(-1, 8, (n, 1))
                    text = _ints_text(lab)
                else:
                    lab = rng.integers(0, 2, (n, 12))
                    lab[rng.random(n) < 0.05] = -1
                    text = _ints_text(lab)
                (folder / f"{names[v]}.txt").write_bytes(header.encode() + b"\n" + text)
        rows = []
        for v in test:
            n = int(lengths[v])
            frames = np.arange(1, n + 1)
            digits = np.stack([(frames // 10 ** (4 - j)) % 10 + 48 for j in range(5)], 1)
            pre = np.frombuffer(f"{names[v]}/".encode(), np.uint8)
            line = np.concatenate([np.broadcast_to(pre, (n, len(pre))), digits.astype(np.uint8),
                                   np.broadcast_to(np.frombuffer(b".jpg,\n", np.uint8), (n, 6))], 1)
            rows.append(line.tobytes())
        header = protocol.rules(track, edition).prediction_header
        (ann / protocol.template_name(track, edition)).write_bytes(header.encode() + b"\n"
                                                                   + b"".join(rows))


def pandas_loop(root: Path) -> int:
    import pandas as pd

    rows = 0
    for path in sorted(root.rglob("*.txt")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue  # the cache, and the twin's hidden test truth: not inputs of the index
        rows += len(pd.read_csv(path))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, help="Use (or write) the tree here instead of a temp dir.")
    ap.add_argument("--edition", type=int, default=10)
    ap.add_argument("--videos", type=int, default=600)
    ap.add_argument("--frames", type=int, default=2_800_000)
    ap.add_argument("--plain", action="store_true", help="Generate the tree here, not the twin.")
    ap.add_argument("--repeat", type=int, default=REPEAT,
                    help="Runs per measurement (best is kept).")
    add_quick(ap)
    args = ap.parse_args()
    if args.quick:
        args.plain, args.videos, args.frames, args.repeat = True, 30, 60_000, 1
    tmp = None
    root = args.root
    if root is None:
        tmp = Path(tempfile.mkdtemp(prefix="abaw-bench-"))
        root = tmp / "tree"
    try:
        if not root.exists():
            t0 = time.perf_counter()
            how = "generated here"
            try:
                if args.plain:
                    raise ImportError
                from abaw.data.synth import synthesize

                synthesize(root, edition=args.edition, size="full", seed=0)
                how = "full synthetic twin"
            except ImportError:
                generate(root, args.edition, args.videos, args.frames)
            print(f"tree: {how}, written in {time.perf_counter() - t0:.1f} s")
        return run(root, args.edition, args.repeat, Targets(args.quick))
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def run(root: Path, edition: int, repeat: int, targets: Targets) -> int:
    from abaw.data.build import build_index, load_index

    cold, cold_cpu, (index, problems) = best_of(lambda: build_index(root, edition, rebuild=True),
                                                 repeat)
    errors = [p for p in problems if p.severity == "error"]
    cached, cached_cpu, again = best_of(lambda: load_index(root, edition), repeat)
    rows = sum(len(s.frames) for seqs in index.sequences.values() for s in seqs.values())
    assert sum(len(s.frames) for seqs in again.sequences.values() for s in seqs.values()) == rows
    ref, ref_cpu, ref_rows = best_of(lambda: pandas_loop(root), repeat)
    n_seq = {t: len(s) for t, s in index.sequences.items()}
    print(f"index: {n_seq} sequences, {rows:,} rows, {len(errors)} errors, "
          f"{len(problems) - len(errors)} warnings")
    print(f"best of {repeat} runs; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"cold index      {cold:7.2f} s wall {cold_cpu:6.2f} s CPU  (target <= 5 s)")
    print(f"cached index    {cached:7.3f} s wall {cached_cpu:6.3f} s CPU  (target <= 0.5 s)")
    print(f"pandas per file {ref:7.2f} s wall {ref_cpu:6.2f} s CPU  ({ref_rows:,} rows, no checks)")
    print(f"ratio: cold is {ref / cold:.1f}x the pandas loop's speed, cached {ref / cached:.0f}x")
    targets.check("no errors", not errors, f"{len(errors)} errors in the index", speed=False)
    t_cold, t_cached = targets.time(cold, cold_cpu), targets.time(cached, cached_cpu)
    targets.check("cold index", t_cold <= 5.0, f"{t_cold:.2f} s (<= 5 s)")
    targets.check("cached index", t_cached <= 0.5, f"{t_cached:.3f} s (<= 0.5 s)")
    return targets.exit_status()


if __name__ == "__main__":
    sys.exit(main())
