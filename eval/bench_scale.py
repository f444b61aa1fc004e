"""Aff-Wild2 scale: wall time, CPU time and peak resident memory of every stage of `abaw run`.

On the full twin (`abaw data synth --size full`, ~2.8M frames, edition 10) or a fraction of it
(the same world with 1/k of its videos), with the twin's signal store of width D (float16,
memory-mapped), per track (VA, EXPR, AU), `abaw run` itself (`pipeline.run_track`, the track's
demo recipe with 5 folds and a fixed number of epochs, on the store given with `--features`)
runs in a fresh process whose stages are timed at their edges:

    preflight (builds the index) -> index (cached) -> features (the given store checked) ->
    train: epochs (reported as frames/s) | train: rest (windows, validation, each fold's
    held-out predictions) -> predict val (the out-of-fold set) -> tune -> save val ->
    val scores (cross-fitted estimate, bootstrap intervals) -> baseline -> predict test
    (5 folds, averaged) -> test score -> submit (write, validate, zip, manifest)

The run uses one torch thread (`--threads`): on a machine shared beyond its cores, threads that
wait for each other spin, and CPU time then measures the load instead of the work. This process
samples the child's /proc/<pid>/status every 20 ms: resident memory is RssAnon + RssShmem (what
the process holds itself); file-backed pages (RssFile: the store's pages read through the memory
map, which the kernel may drop, and the libraries) are printed beside it. Growth exponent per
stage: least squares of log(CPU time) on log(the frames the stage works on) over the sizes.

Targets (exit status 1 when one misses; `--quick`: speed targets printed, not judged):
  - peak resident memory below the bytes of the store read (at sizes whose store is >= 1 GiB)
    and at most 4 GiB at every size;
  - every stage's CPU time grows at most linearly (exponent <= 1.1; sizes where a stage takes
    under 1 s of CPU are left out of its fit, the timer's noise; judged on >= 2 sizes left);
  - everything but the training epochs <= 5 min of CPU time per track at full size (CPU time:
    the machine is shared; wall time is printed beside it). Without a full-size run the full
    figures are printed as a projection from the fitted lines, and not judged.

    python eval/bench_scale.py --quick           # 1/64, 1/32, 1/16 of full, D = 64 (minutes)
    python eval/bench_scale.py --sizes 8,4,2     # D = 768 (~25 min on 2 shared cores)
    python eval/bench_scale.py --sizes 1 --tracks VA --work /tmp/scale --keep
    python eval/bench_scale.py --table FIGURES.json   # the table of a run written with --json

Trees and stores go to --work (default: a temporary folder) and are deleted after each size
unless --keep; the full store at D = 768 is ~4.3 GB.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from timing import Targets, add_quick

HERE = Path(__file__).resolve()
GIB = 2**30
EDITION = 10
STAGES = ("preflight", "index", "features", "train: epochs", "train: rest", "predict val",
          "tune", "save val", "val scores", "baseline", "predict test", "test score", "submit")
# the frames each stage works on, its growth is fitted against (a fraction of the twin draws its
# videos, so the splits do not shrink in step): the whole index, the 5-fold pool (train + val),
# the rows of the validation set the run tunes and scores, the test set, or the frames the epochs
# went through
BASIS = {"preflight": "all", "index": "all", "features": "all", "train: epochs": "epochs",
         "predict val": "val", "tune": "val", "save val": "val", "val scores": "val",
         "baseline": "val", "predict test": "test", "test score": "test", "submit": "test"}


def register(den: int) -> str:
    """Make `full/<den>` a twin size: the full twin's shape with 1/den of its videos."""
    from abaw.data.synth import plan

    name = "full" if den == 1 else f"full/{den}"
    if name not in plan.SIZES:
        full = plan.SIZES["full"]
        plan.SIZES[name] = dataclasses.replace(full, videos=max(12, round(full.videos / den)),
                                               pairs=max(2, round(full.pairs / den)))
    return name


# --- the child: one track's `abaw run`, its stages timed -----------------------------------------

def child(track_name: str, root: Path, store: Path, work: Path, overrides: list,
          threads: int) -> None:
    import torch

    import abaw.data
    import abaw.formats.package
    import abaw.pipeline.preflight
    import abaw.pipeline.run as run
    import abaw.post.tune
    from abaw.train import modeling, trainer
    from tracks import get_track

    torch.set_num_threads(threads)
    log = open(work / "events.jsonl", "a", buffering=1)

    def emit(**kw):
        log.write(json.dumps({"t": time.time(), "cpu": time.process_time(), **kw}) + "\n")

    inside: list = []        # a stage called by another (preflight's index) is the caller's

    def timed(module, attr, name):
        real = getattr(module, attr)

        def wrapper(*a, **kw):
            if inside:
                return real(*a, **kw)
            stage = name(*a) if callable(name) else name
            emit(start=stage)
            inside.append(stage)
            try:
                return real(*a, **kw)
            finally:
                inside.pop()
                emit(end=stage)
        setattr(module, attr, wrapper)

    # the model's own work, summed over its calls: training epochs and prediction passes
    cost = {k: {"wall": 0.0, "cpu": 0.0, "frames": 0} for k in ("epochs", "passes")}

    def counted(module, attr, key, frames):
        real = getattr(module, attr)

        def wrapper(*a, **kw):
            w0, c0 = time.time(), time.process_time()
            out = real(*a, **kw)
            c = cost[key]
            c["wall"], c["cpu"] = c["wall"] + time.time() - w0, c["cpu"] + time.process_time() - c0
            c["frames"] += frames(*a)
            return out
        setattr(module, attr, wrapper)
    counted(trainer, "_train_epoch", "epochs", lambda s, *_: sum(vd.n for vd in s.windows.videos))
    counted(modeling, "predict_frames", "passes", lambda m, videos, *_: sum(vd.n for vd in videos))
    val_rows = []

    def scored(real):
        def wrapper(outcome, val, *a, **kw):
            val_rows.append(len(val))
            return real(outcome, val, *a, **kw)
        return wrapper
    run.validation_scores = scored(run.validation_scores)
    for module, attr, name in [
            (abaw.pipeline.preflight, "preflight", "preflight"), (abaw.data, "load_index", "index"),
            (run, "ensure_features", "features"), (trainer, "train", "train"),
            (run, "fold_predictions", lambda *a: f"predict {a[2]}"), (abaw.post.tune, "tune", "tune"),
            (run, "save_val", "save val"), (run, "validation_scores", "val scores"),
            (run, "constant_baseline", "baseline"), (run, "interval", "test score"),
            (abaw.formats.package, "submit", "submit")]:
        timed(module, attr, name)
    emit(ready=True)
    out = run.run_track(get_track(track_name), root, edition=EDITION, recipe="demo",
                        overrides=overrides, work=work / "runs", out=work / "subs", quiet=True,
                        features=str(store))
    index = abaw.data.build.load_index(root, EDITION)
    table = get_track(track_name).index_name
    split = {s: sum(len(index.sequence(table, i).frames) for i in index.ids(table, s))
             for s in ("train", "val", "test")}
    emit(frames={"all": sum(split.values()), "labelled": split["train"] + split["val"],
                 "test": split["test"], "epochs": cost["epochs"]["frames"],
                 "val": sum(val_rows)},
         store_bytes=sum(p.stat().st_size for p in store.glob("*.npy")), **cost,
         scores={"val raw": out.val_raw, "val post": out.val_post, "test": out.hidden_test})


# --- sampling the child's memory ------------------------------------------------------------------

def measure(cmd: list, events: Path, env: dict) -> tuple[np.ndarray, list, int]:
    """Run `cmd`, sampling its memory every 20 ms: (samples (t, anon, file, load), events, exit)."""
    proc = subprocess.Popen(cmd, env=env)
    samples = []

    def sample():
        while proc.poll() is None:
            try:
                text = Path(f"/proc/{proc.pid}/status").read_text()
            except OSError:
                break
            kb = {k: int(v.split()[0]) * 1024 for k, _, v in
                  (line.partition(":") for line in text.splitlines())
                  if k in ("RssAnon", "RssShmem", "RssFile")}
            samples.append((time.time(), kb.get("RssAnon", 0) + kb.get("RssShmem", 0),
                            kb.get("RssFile", 0), os.getloadavg()[0]))
            time.sleep(0.02)
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    code = proc.wait()
    thread.join()
    lines = events.read_text().splitlines() if events.is_file() else []
    return np.array(samples, np.float64).reshape(-1, 4), [json.loads(x) for x in lines], code


def summarise(s: np.ndarray, events: list) -> dict:
    """Per stage: wall and CPU seconds (summed over its calls) and peak resident memory."""
    info = {k: v for e in events for k, v in e.items()
            if k in ("frames", "store_bytes", "epochs", "passes", "scores")}
    stages: dict = {}
    open_at: dict = {}
    for e in events:
        if "start" in e:
            open_at[e["start"]] = e
        elif "end" in e:
            a, name = open_at.pop(e["end"]), e["end"]
            sel = s[(s[:, 0] >= a["t"]) & (s[:, 0] <= e["t"])]
            st = stages.setdefault(name, {"wall": 0.0, "cpu": 0.0, "rss": 0, "rss_file": 0})
            st["wall"] += e["t"] - a["t"]
            st["cpu"] += e["cpu"] - a["cpu"]
            if len(sel):
                st["rss"] = max(st["rss"], int(sel[:, 1].max()))
                st["rss_file"] = max(st["rss_file"], int(sel[:, 2].max()))
    ep, tr = info["epochs"], stages.pop("train")
    stages["train: epochs"] = {**tr, "wall": ep["wall"], "cpu": ep["cpu"]}
    stages["train: rest"] = {**tr, "wall": tr["wall"] - ep["wall"], "cpu": tr["cpu"] - ep["cpu"]}
    ready = next(e["t"] for e in events if "ready" in e)
    before = s[s[:, 0] <= ready + 0.05]
    return {"stages": {k: stages.get(k, {"wall": 0.0, "cpu": 0.0, "rss": 0, "rss_file": 0})
                       for k in STAGES},
            "peak_rss": int(s[:, 1].max()), "peak_file": int(s[:, 2].max()),
            "baseline_rss": int(before[-1, 1]) if len(before) else 0,
            "load": float(s[:, 3].mean()),
            "train_fps": ep["frames"] / ep["wall"] if ep["wall"] else float("nan"),
            "train_fps_cpu": ep["frames"] / ep["cpu"] if ep["cpu"] else float("nan"),
            **{k: info[k] for k in ("frames", "store_bytes", "passes", "scores")}}


def fit(x, y) -> tuple[float, float]:
    """(exponent, log-intercept) of y = c x^e by least squares on the logs."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.maximum(np.asarray(y, float), 1e-3))
    if len(lx) < 2:
        return float("nan"), float("nan")
    e, c = np.polyfit(lx, ly, 1)
    return float(e), float(c)


# --- the table and the targets --------------------------------------------------------------------

def gb(n) -> str:
    return f"{n / GIB:.2f}"


def report(results: dict, dens: list, tracks: list, targets: Targets) -> None:
    full = dens[-1] == 1
    for track in tracks:
        runs = [results[(track, d)] for d in dens]
        frames = [r["frames"]["all"] for r in runs]
        last = runs[-1]
        print(f"\n{track}: frames {', '.join(f'{f:,}' for f in frames)} (1/"
              f"{', 1/'.join(map(str, dens))} of full; test "
              + ", ".join(f"{r['frames']['test']:,}" for r in runs) + "; validation rows "
              + ", ".join(f"{r['frames']['val']:,}" for r in runs) + "); load average "
              + ", ".join(f"{r['load']:.1f}" for r in runs))
        proj = "" if full else f" {'full (proj.)':>13}"
        print(f"{'stage':<14}" + "".join(f"{'1/' + str(d) + ' wall/CPU s':>19}" for d in dens)
              + f" {'exp':>5}{proj} {'peak RSS GiB':>12}")
        rest_cpu = rest_wall = rest_proj = 0.0
        for name in STAGES:
            cpu = [r["stages"][name]["cpu"] for r in runs]
            wall = [r["stages"][name]["wall"] for r in runs]
            basis = [r["frames"][BASIS.get(name, "labelled")] for r in runs]
            # sizes where the stage takes under 1 s of CPU are the timer's noise: not fitted
            timed = [i for i, c_ in enumerate(cpu) if c_ >= 1.0]
            e, c = fit([basis[i] for i in timed], [cpu[i] for i in timed])
            at_full = float(np.exp(c) * (basis[-1] * dens[-1]) ** e)   # 1/den of the videos
            cells = "".join(f"{w:>11.1f}/{c_:>7.1f}" for w, c_ in zip(wall, cpu, strict=True))
            fitted = len(timed) > 1
            print(f"{name:<14}{cells} " + (f"{e:>5.2f}" if fitted else f"{'-':>5}")
                  + ("" if full else f" {at_full:>12.1f}s" if fitted else f" {'-':>13}")
                  + f" {gb(last['stages'][name]['rss']):>12}")
            if fitted:
                targets.check(f"{track} {name} growth", e <= 1.1,
                              f"CPU time ~ frames^{e:.2f} over {len(timed)} sizes (<= 1.1)")
            if name != "train: epochs":
                rest_cpu, rest_wall = rest_cpu + cpu[-1], rest_wall + wall[-1]
                rest_proj += at_full if fitted else cpu[-1] * dens[-1]
        print(f"training: {last['train_fps']:,.0f} frames/s wall, {last['train_fps_cpu']:,.0f} "
              "per CPU second (frames of the folds' training videos per epoch)")
        p = last["passes"]
        print(f"all but the epochs: {rest_wall:.0f} s wall, {rest_cpu:.0f} s CPU at 1/{dens[-1]}"
              + ("" if full else f" (projected at full size: {rest_proj:.0f} s CPU)")
              + f", of which the prediction passes {p['cpu']:.0f} s CPU "
              f"({p['frames'] / max(p['cpu'], 1e-9):,.0f} frames per CPU second)")
        e_mem, c_mem = fit(frames, [r["peak_rss"] for r in runs])
        print(f"peak resident {gb(last['peak_rss'])} GiB (after imports "
              f"{gb(last['baseline_rss'])}; file-backed {gb(last['peak_file'])}) vs store "
              f"{gb(last['store_bytes'])} GiB"
              + ("" if len(dens) < 2 else f"; ~ frames^{e_mem:.2f}")
              + ("" if full or len(dens) < 2 else
                 f", projected at full size {gb(np.exp(c_mem) * (frames[-1] * dens[-1]) ** e_mem)} GiB")
              + f"; scores {last['scores']}")
        for r, d in zip(runs, dens, strict=True):
            targets.check(f"{track} 1/{d} memory", r["peak_rss"] <= 4 * GIB,
                          f"peak resident {gb(r['peak_rss'])} GiB (<= 4)", speed=False)
            if r["store_bytes"] >= GIB:
                targets.check(f"{track} 1/{d} memory vs store", r["peak_rss"] < r["store_bytes"],
                              f"peak resident {gb(r['peak_rss'])} GiB (< the store's "
                              f"{gb(r['store_bytes'])})", speed=False)
        if full:
            targets.check(f"{track} all but the epochs", rest_cpu <= 300,
                          f"{rest_cpu:.0f} s CPU (<= 300)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="8,4,2,1", help="denominators of the full size")
    ap.add_argument("--tracks", default="VA,EXPR,AU")
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=64, help="windows per step")
    ap.add_argument("--threads", type=int, default=1, help="torch threads of a run (on a shared "
                    "machine, threads waiting for each other spin: CPU time then measures load)")
    ap.add_argument("--work", type=Path, help="where trees, stores and runs go [a temp folder]")
    ap.add_argument("--keep", action="store_true", help="keep trees and stores")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--table", type=Path, metavar="JSON",
                    help="only print the table and verdicts of figures written with --json")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    add_quick(ap)
    args = ap.parse_args()
    overrides = [f"run.folds={args.folds}", f"optim.epochs={args.epochs}",
                 f"optim.batch_size={args.batch_size}", 'run.device="cpu"']
    if args.child:
        track, root, store, work = args.child
        child(track, Path(root), Path(store), Path(work), overrides, args.threads)
        return 0
    if args.table:
        saved = json.loads(args.table.read_text())
        results = {(k.split()[0], int(k.split()[1])): r for k, r in saved["runs"].items()}
        tracks = list(dict.fromkeys(t for t, _ in results))
        dens = sorted({d for t, d in results if all((u, d) in results for u in tracks)},
                      reverse=True)
        print(f"D = {saved['dim']}, from {args.table}")
        targets = Targets(args.quick)
        report(results, dens, tracks, targets)
        return targets.exit_status()
    dens = [64, 32, 16] if args.quick else sorted({int(d) for d in args.sizes.split(",")},
                                                  reverse=True)
    dim = 64 if args.quick else args.dim
    tracks = [t.strip().upper() for t in args.tracks.split(",")]
    targets = Targets(args.quick)
    work = args.work or Path(tempfile.mkdtemp(prefix="abaw-scale-"))
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "PYTHONPATH": os.pathsep.join(
        [str(HERE.parents[1])] + [p for p in [os.environ.get("PYTHONPATH")] if p])}
    results = {}
    try:
        for den in dens:
            from abaw.data.cache import cache_dirs
            from abaw.data.synth import synthesize
            from abaw.features.twin import write_twin_features

            root, store = work / f"twin-{den}", work / f"twin-{den}" / ".features" / f"twin-{dim}"
            if not (store / "meta.json").is_file():
                shutil.rmtree(root, ignore_errors=True)
                t0 = time.time()
                synthesize(root, edition=EDITION, size=register(den), seed=0)
                write_twin_features(root, dim)
                print(f"1/{den}: twin and its D={dim} store written in {time.time() - t0:.0f} s",
                      flush=True)
            for track in tracks:
                for folder in cache_dirs(root):     # the index is built in the run, not read
                    shutil.rmtree(folder, ignore_errors=True)
                out = work / f"run-{track}-{den}"
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir(parents=True)
                cmd = [sys.executable, str(HERE), "--folds", str(args.folds), "--epochs",
                       str(args.epochs), "--batch-size", str(args.batch_size), "--threads",
                       str(args.threads), "--child", track,
                       str(root), str(store), str(out)]
                samples, events, code = measure(cmd, out / "events.jsonl", env)
                if code != 0:
                    print(f"{track} 1/{den}: the run failed (exit {code})")
                    return 2
                r = results[(track, den)] = summarise(samples, events)
                print(f"{track} 1/{den}: {r['frames']['all']:,} frames, peak resident "
                      f"{gb(r['peak_rss'])} GiB, load {r['load']:.1f}; "
                      + ", ".join(f"{k} {v['wall']:.1f}s" for k, v in r["stages"].items()),
                      flush=True)
                shutil.rmtree(out, ignore_errors=True)
                if args.json:       # after every run: an interrupted series keeps what it has
                    args.json.write_text(json.dumps(
                        {"dim": dim, "runs": {f"{t} {d}": r for (t, d), r in results.items()}}))
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nD = {dim}, {args.folds} folds, {args.epochs} epoch(s), batch {args.batch_size} "
          f"windows, {args.threads} thread(s); {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs")
    report(results, dens, tracks, targets)
    return targets.exit_status()


if __name__ == "__main__":
    sys.exit(main())
