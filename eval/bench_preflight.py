"""Benchmark: how long a run takes to report each mistake it would otherwise meet hours in.

    python eval/bench_preflight.py [--root DIR]

On the small synthetic twin of edition 8 (generated into a temporary folder unless --root names
one; it is copied, and the copy is broken and mended one mistake at a time), `preflight` (what
`abaw run` starts with and `abaw run --check` runs) is timed from its call to the report of each
mistake, on a cold index (every mistake in the tree changes its fingerprint, so the index is
rebuilt, as a user's first run after the change would), then all of them at once, and once
through the command line (`abaw run --check` in a fresh process: start-up and imports included).
Target: every mistake reported, within 10 s.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 10.0


def mistakes(root: Path, scratch: Path):
    """(name, preflight keyword arguments, text the report must hold, context that breaks the
    tree or the machine and mends it)."""
    from huggingface_hub import constants

    from abaw.data import load_index
    from abaw.pipeline import preflight as pf

    index = load_index(root)
    test_video = index.media[index.ids("VA", "test")[0]].crop_dir
    ce_crops = [index.media[i].crop_dir for i in index.ids("CE", "test")]
    template = "CVPR_8th_ABAW_VA_test_set_example.txt"
    annotation = next((root / "8th ABAW Annotations" / "VA_Estimation_Challenge" / "Train_Set")
                      .iterdir())
    blocker = scratch / "a-file"
    blocker.write_text("")

    @contextlib.contextmanager
    def moved(*rel):
        for r in rel:
            os.replace(root / r, scratch / r.replace("/", "_"))
        try:
            yield
        finally:
            for r in rel:
                os.replace(scratch / r.replace("/", "_"), root / r)

    @contextlib.contextmanager
    def broken_line():
        text = annotation.read_text()
        annotation.write_text(text.replace("\n", "\nnot,a number\n", 1))
        try:
            yield
        finally:
            annotation.write_text(text)

    @contextlib.contextmanager
    def no_weights():
        old = os.environ.get("ABAW_MODELS"), constants.HF_HUB_CACHE
        os.environ["ABAW_MODELS"], constants.HF_HUB_CACHE = str(scratch / "m"), str(scratch / "h")
        try:
            yield
        finally:
            if old[0] is None:
                os.environ.pop("ABAW_MODELS")
            else:
                os.environ["ABAW_MODELS"] = old[0]
            constants.HF_HUB_CACHE = old[1]

    @contextlib.contextmanager
    def full_disk():
        real = pf.shutil.disk_usage
        pf.shutil.disk_usage = lambda p: shutil._ntuple_diskusage(1, 1, 1000)
        try:
            yield
        finally:
            pf.shutil.disk_usage = real

    nothing = contextlib.nullcontext
    return [
        ("recipe not found", dict(recipe="nosuch"), "--recipe: found 'nosuch'", nothing()),
        ("recipe value of the wrong type", dict(overrides=["optim.lr=fast"]), "optim.lr", nothing()),
        ("template name found nowhere", dict(template="CVPR_8th_ABAW_VA_test_set_sample.txt"),
         "found no such file", nothing()),
        ("template of another track", dict(template="CVPR_8th_ABAW_AU_test_set_example.txt"),
         "is this the VA template?", nothing()),
        ("no template under the root", {}, "found no VA template", moved(template)),
        ("backbone weights missing", dict(recipe="default"), "found no weights for clip-vit-b16",
         no_weights()),
        ("a file the recipe names is missing", dict(overrides=['loss.prompts="none.npy"']),
         "abaw features prompts", nothing()),
        ("a test video without crops", {}, "found no face crop for 1 of the", moved(test_video)),
        ("CE: raw test videos, no crops", dict(track="ce"), "abaw faces extract",
         moved(*ce_crops)),
        ("--work can't be written", dict(work=blocker / "w"), "--work", nothing()),
        ("--out can't be written", dict(out=blocker / "o"), "--out", nothing()),
        ("too little disk for the features", {}, "for the feature stores", full_disk()),
        ("an annotation line that does not parse", {}, annotation.name, broken_line()),
    ]


def measure(root: Path, scratch: Path) -> list[tuple[str, float, float, bool]]:
    from abaw.pipeline.preflight import PreflightFailed, preflight
    from tracks import get_track

    rows = []
    for name, kw, expect, context in mistakes(root, scratch):
        kw = {"track": "va", "recipe": "demo", "work": scratch / "work", "out": scratch / "out",
              **kw}
        track = get_track(kw.pop("track"))
        with context:
            w0, c0 = time.perf_counter(), time.process_time()
            try:
                preflight(track, root, **kw)
                report = ""
            except PreflightFailed as e:
                report = str(e)
            rows.append((name, time.perf_counter() - w0, time.process_time() - c0,
                         expect in report))
    return rows


def cli_all_at_once(root: Path, scratch: Path) -> tuple[float, int, int]:
    """`abaw run --check` in a fresh process with four mistakes: (seconds, exit code, lines)."""
    blocker = scratch / "a-file"
    cmd = [sys.executable, "-m", "abaw", "run", "--track", "au", "--root", str(root), "--check",
           "--recipe", "default", "--template", "nosuch.txt", "--work", str(blocker / "w"),
           "--out", str(scratch / "out"), "--set", 'loss.teacher="t.npz"']
    env = dict(os.environ, ABAW_MODELS=str(scratch / "m"), HF_HUB_CACHE=str(scratch / "h"))
    w0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    return time.perf_counter() - w0, done.returncode, len(done.stderr.strip().split("\n")) - 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, help="A small edition-8 twin (default: generate one).")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = tmp / "twin"
        if args.root is None:
            from abaw.data.synth import synthesize

            print("generating the small edition-8 twin ...", flush=True)
            synthesize(root, edition=8, size="small", seed=0)
        else:
            shutil.copytree(args.root, root, ignore=shutil.ignore_patterns(".abaw-index"))
        scratch = tmp / "scratch"
        scratch.mkdir()
        rows = measure(root, scratch)
        cli = cli_all_at_once(root, scratch)
    print(f"{'mistake':42s} {'wall s':>7s} {'CPU s':>7s}  reported")
    for name, wall, cpu, ok in rows:
        print(f"{name:42s} {wall:7.2f} {cpu:7.2f}  {'yes' if ok else 'NO'}")
    print(f"{'abaw run --check, 4 mistakes, new process':42s} {cli[0]:7.2f} {'':>7s}  "
          f"exit {cli[1]}, {cli[2]} problems listed")
    missed = [r[0] for r in rows if not r[3] or r[1] > TARGET_S]
    if cli[0] > TARGET_S or cli[1] != 1 or cli[2] != 4:
        missed.append("abaw run --check")
    print(f"target: every mistake reported within {TARGET_S:.0f} s"
          + (f"; MISSED: {', '.join(missed)}" if missed else ": met"))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
