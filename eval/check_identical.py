"""Do two checkouts of abaw write the same files? The conformance check of a refactor.

    python eval/check_identical.py REFERENCE [--work DIR] [--size tiny|small] [--no-folds]

Runs, with each checkout on its own PYTHONPATH (REFERENCE, and the checkout holding this file):
`abaw demo --size SIZE --quiet` (every track, data to validated zip), and unless `--no-folds` a
2-fold `abaw run --track expr` on the demo's twin (the out-of-fold validation path). Then it
compares everything both wrote, file by file:
- submission files and zip members, feature arrays, post-processing parameters (`post.json`):
  byte for byte;
- prediction sets (`.npz`): every array exactly, their metadata as JSON;
- checkpoints: every tensor exactly;
- JSON records (manifests, run.json, log.json, summary.json, feature meta) and the printed
  table: equal once what must differ between two runs is set aside: times and dates, paths and
  run-folder names, code versions, dataset fingerprints (they hash file times), config hashes
  (they hash the resolved config, whose sections may move between versions);
- config.toml: equal in the sections both write.
A set's decision is compared by its effect (the thresholds applied, the bias still to add), so
a set that records it as a typed `decision` equals one that recorded it in provenance keys
(`au_thresholds`, `post.applied`). Exits 1 and lists every difference, else prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import tomllib

HERE = Path(__file__).resolve().parents[1]
# times, versions, and the dataset fingerprint (it hashes the twins' file times)
VOLATILE = {"created", "code_version", "code", "config_hash", "seconds", "index_fingerprint"}
RUN_STAMP = re.compile(r"-\d{8}-\d{6}")                       # run folders: <recipe>-<time>
DATASET_KEY = re.compile(r"(twin-ed\d+-\w+-seed\d+)-[0-9a-f]{8}")  # + a hash of the twin's path


def same_names(text: str, root: str) -> str:
    """Paths as both sides would name them: the output root, run times and path hashes out."""
    return DATASET_KEY.sub(r"\1-HASH", RUN_STAMP.sub("-RUN", text.replace(root, "<OUT>")))


def run_side(checkout: Path, out: Path, size: str, folds: bool) -> str:
    """The printed output of the demo (and the fold run) with `checkout`'s abaw."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "HF_HUB_OFFLINE": "1"}

    def abaw(*args):
        res = subprocess.run([sys.executable, "-m", "abaw", *args], cwd=checkout, env=env,
                             capture_output=True, text=True)
        if res.returncode:
            sys.exit(f"{checkout}: abaw {' '.join(args)} failed:\n{res.stderr[-3000:]}")
        return res.stdout

    printed = abaw("demo", "--size", size, "--quiet", "--out", str(out / "demo"))
    if folds:
        twin = next((out / "demo").glob("twin-ed8-*"))
        printed += abaw("run", "--track", "expr", "--root", str(twin), "--recipe", "demo",
                        "--set", "run.folds=2", "--work", str(out / "folds"),
                        "--out", str(out / "folds-submissions"), "--quiet")
    return printed


# --- normalising what may differ between two runs ------------------------------------------------

def effective(decision: dict | None) -> dict:
    d = decision or {}
    return {"thresholds": d.get("thresholds"),
            "bias": None if d.get("folded") else d.get("bias")}


def old_decision(prov: dict) -> dict:
    """The decision a provenance of the older form implied (and the keys it took) removed."""
    post = prov.get("post")
    applied = isinstance(post, dict) and bool(post.pop("applied", False))
    au = prov.pop("au_thresholds", None)
    return {"thresholds": None if au is None else list(au.values()),
            "bias": post.get("bias") if applied else None, "folded": applied}


def norm(x, root: str):
    if isinstance(x, dict):
        x = {k: v for k, v in x.items() if k not in VOLATILE}
        if isinstance(x.get("provenance"), dict):          # a set, or its manifest record
            prov = json.loads(json.dumps(x["provenance"]))
            implied = old_decision(prov)
            x["provenance"] = prov
            x["decision"] = effective(x["decision"] if "decision" in x else implied)
        return {k: norm(v, root) for k, v in x.items()}
    if isinstance(x, list):
        return [norm(v, root) for v in x]
    if isinstance(x, str):
        return same_names(x, root)
    return x


def norm_text(text: str, root: str) -> str:
    text = same_names(text, root)
    text = re.sub(r"\(\w+ twin, \d+ s\)", "(twin, N s)", text)
    text = re.sub(r"[━─]+", "─", text)        # rich sizes columns to the longest path
    return re.sub(r"\s+", " ", text)


# --- comparing files -----------------------------------------------------------------------------

def npz_diff(a: Path, b: Path, roots) -> str | None:
    with np.load(a, allow_pickle=False) as za, np.load(b, allow_pickle=False) as zb:
        if set(za.files) != set(zb.files):
            return f"arrays {sorted(za.files)} vs {sorted(zb.files)}"
        bad = [k for k in za.files if k != "meta" and
               (za[k].dtype != zb[k].dtype or not np.array_equal(za[k], zb[k]))]
        if bad:
            return f"arrays {bad} differ"
        if "meta" not in za.files:                       # feature arrays: no metadata
            return None
        ma, mb = (norm(json.loads(str(z["meta"])), r) for z, r in ((za, roots[0]), (zb, roots[1])))
    return None if ma == mb else f"meta {first_difference(ma, mb)}"


def tensors_diff(a: Path, b: Path) -> str | None:
    from safetensors.numpy import load_file

    ta, tb = load_file(a), load_file(b)
    if ta.keys() != tb.keys():
        return "tensor names differ"
    bad = [k for k in ta if ta[k].dtype != tb[k].dtype or not np.array_equal(ta[k], tb[k])]
    return f"tensors {bad[:3]} differ" if bad else None


def zip_diff(a: Path, b: Path) -> str | None:
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        if za.namelist() != zb.namelist():
            return f"members {za.namelist()} vs {zb.namelist()}"
        bad = [n for n in za.namelist() if za.read(n) != zb.read(n)]
    return f"members {bad} differ" if bad else None


def toml_diff(a: Path, b: Path) -> str | None:
    """Every key and section this checkout writes, as the reference wrote it (the reference may
    write more sections: a config that moved out of training)."""
    ta, tb = tomllib.loads(a.read_text()), tomllib.loads(b.read_text())
    bad = sorted(k for k in tb if ta.get(k) != tb[k])
    return f"keys {bad} differ" if bad else None


def first_difference(a, b, path="") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k, "<absent>") != b.get(k, "<absent>"):
                return first_difference(a.get(k, "<absent>"), b.get(k, "<absent>"), f"{path}.{k}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return first_difference(x, y, f"{path}[{i}]")
    return f"{path or '.'}: {str(a)[:120]} vs {str(b)[:120]}"


def compare(a_root: Path, b_root: Path) -> tuple[list[str], dict]:
    def files(root):                             # the twins themselves are not compared
        return {same_names(str(p.relative_to(root)), str(root)): p
                for p in sorted(root.rglob("*"))
                if p.is_file() and not p.relative_to(root).parts[1].startswith("twin-")}

    fa, fb = files(a_root), files(b_root)
    problems = [f"only in {side}: {rel}" for side, one, other in
                (("reference", fa, fb), ("this checkout", fb, fa)) for rel in sorted(set(one) - set(other))]
    roots = (str(a_root), str(b_root))
    counts: dict = {}
    for rel in sorted(set(fa) & set(fb)):
        a, b = fa[rel], fb[rel]
        kind = a.suffix
        if kind == ".npz":
            why = npz_diff(a, b, roots)
        elif kind == ".safetensors":
            why = tensors_diff(a, b)
        elif kind == ".zip":
            why = zip_diff(a, b)
        elif kind == ".toml":
            why = toml_diff(a, b)
        elif kind == ".json" and a.name != "post.json":
            ja, jb = norm(json.loads(a.read_text()), roots[0]), norm(json.loads(b.read_text()),
                                                                    roots[1])
            why = None if ja == jb else first_difference(ja, jb)
        else:                                        # submissions, post.json, features: bytes
            why = None if a.read_bytes() == b.read_bytes() else "bytes differ"
        counts[kind or a.name] = counts.get(kind or a.name, 0) + 1
        if why:
            problems.append(f"{rel}: {why}")
    return problems, counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("reference", type=Path, help="Another checkout of abaw (e.g. of main).")
    ap.add_argument("--work", type=Path, default=Path("/tmp/abaw-identical"))
    ap.add_argument("--size", choices=("tiny", "small"), default="tiny")
    ap.add_argument("--no-folds", action="store_true", help="Skip the 2-fold run.")
    a = ap.parse_args()
    sides = {"reference": a.reference.resolve(), "this checkout": HERE}
    outs = {name: a.work.resolve() / name.replace(" ", "-") for name in sides}
    printed = {}
    for name, checkout in sides.items():
        if outs[name].exists():
            sys.exit(f"{outs[name]}: already there, expected a new folder (--work)")
        print(f"running {name} ({checkout}) ...", flush=True)
        printed[name] = norm_text(run_side(checkout, outs[name], a.size, not a.no_folds),
                                  str(outs[name]))
    problems, counts = compare(outs["reference"], outs["this checkout"])
    if printed["reference"] != printed["this checkout"]:
        problems.insert(0, "printed tables differ:\n" + "\n".join(printed.values()))
    for p in problems:
        print("DIFFERENT", p)
    print(f"compared {sum(counts.values())} files ({', '.join(f'{n} {k}' for k, n in sorted(counts.items()))})"
          f" and the printed tables: {'identical' if not problems else f'{len(problems)} differences'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
