"""The synthetic Aff-Wild2 twin: a dataset tree with the exact layout of one ABAW edition and a
planted, learnable signal, deterministic by seed (same seed -> byte-identical tree).

    synthesize(out, edition=10, size="small", seed=0, images=None, messy=False) -> Path
    read_truth(root, track) -> {id or image: labels}

What it plants (see README.md beside this file for the full account):
- Faces (112x112 crops) whose geometry encodes the labels: each AU moves its own region,
  expressions fire their FACS prototype AUs, valence bends the mouth and colours lips and cheeks,
  arousal opens the eyes and moves the head; the raw videos' sound follows arousal.
- Label noise, so a perfect score is impossible: annotators lag and drift on VA, shift
  expression boundaries and swap a few segments to a confusable class, flip AUs in short runs;
  onsets and offsets of an expression are labelled with the class while the face is still
  near-neutral; occluding hands and missing faces hide the face while labels continue.
- Nuisance per person (skin, hair, face shape, pose, position, light, background, glasses,
  fringe, noise, JPEG quality) and per frame (rendering jitter of every unit), so temporal
  context and smoothing pay off, as on the real data.

Sizes: `tiny` (unit tests, seconds), `small` (demo and recipes, ~100 people, about a minute),
`full` (Aff-Wild2 scale: ~600 people, ~2.8M frames of annotations, lists and templates; images
off unless asked for).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from abaw import protocol
from abaw.data.synth.plan import SIZES, TRUTH, make_plan
from abaw.errors import AbawError

__all__ = ["synthesize", "read_truth", "generator_digest", "SIZES", "TRUTH"]


def generator_digest() -> str:
    """A digest of the twin generator's own source: a twin made by other code (a renderer that
    draws faces differently, other noise) is another twin, even when its plan is the same."""
    import hashlib

    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def synthesize(out, edition: int = protocol.LATEST_EDITION, size: str = "small", seed: int = 0,
               images: bool | None = None, progress: bool = False, messy: bool = False) -> Path:
    """Write the twin of `edition` at `out` (a new or empty folder) and return its path.

    images: write crops, raw videos and LSD images (default: on for tiny/small, off for full).
    messy: lay the tree out as teams' copies of the releases are (nested and duplicated crop
    folders, other template names and places; `abaw.data.synth.messy`).
    The tree is built beside `out` and renamed into place, so `out` is either complete or absent.
    """
    from abaw.data.synth import ce, layout, lsd, mtl
    from abaw.data.synth.people import PersonState

    protocol.tracks_of(edition)   # an unknown edition is an AbawError listing the valid ones
    if size not in SIZES:
        raise AbawError(f"--size: found {size!r}, expected one of {', '.join(SIZES)}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise AbawError(f"--seed: found {seed!r}, expected a non-negative integer")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise AbawError(f"{out}: found an existing {'folder with files' if out.is_dir() else 'file'}"
                        ", expected a new or empty folder for the synthetic tree")
    plan = make_plan(edition, size, int(seed))
    images = plan.spec.images if images is None else bool(images)
    tracks = protocol.tracks_of(edition)
    affwild = any(t in layout.TRACKS_AFF for t in tracks)

    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    bar = _progress_bar(plan, tracks, images, affwild) if progress else None
    try:
        states = {p.id: PersonState(p, plan.seed) for p in plan.persons}
        if affwild:
            layout.write_affwild(tmp, plan, states, images, bar.update if bar else None)
        if "MTL" in tracks:
            mtl.write_mtl(tmp, plan, states, images, affwild_crops=affwild)
        if "LSD" in tracks:
            lsd.write_lsd(tmp, plan, images)
        if "CE" in tracks:
            ce.write_ce(tmp, plan, images, bar.update if bar else None)
        info = {"edition": edition, "size": size, "seed": int(seed), "images": images}
        if messy:
            from abaw.data.synth.messy import make_messy

            make_messy(tmp, plan)
            info["messy"] = True        # only then: the default tree's bytes stay as they were
        (tmp / TRUTH).mkdir(exist_ok=True)
        (tmp / TRUTH / "info.json").write_text(json.dumps(info, sort_keys=True) + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    if out.exists():
        out.rmdir()
    os.replace(tmp, out)
    return out


def _progress_bar(plan, tracks, images, affwild):
    from tqdm import tqdm

    total = (len(plan.videos) if affwild and images else 0) + \
        (plan.spec.ce_videos if "CE" in tracks and images else 0)
    return tqdm(total=total, desc=f"twin ed.{plan.edition} {plan.size}", unit="video")


def read_truth(root, track: str) -> dict:
    """The hidden test labels of a synthetic tree.

    VA/EXPR/AU/CE: {id: (N,) or (N, K) array, sentinels kept}, row i = frame i+1.
    MTL: {image: (15,) array (v, a, expr, 12 AUs)}. LSD: {image: class}.
    """
    track = track.upper()
    base = Path(root) / TRUTH
    if track in ("MTL", "LSD"):
        path = base / f"{track}.txt"
        if not path.is_file():
            raise AbawError(f"{path}: found no such file, expected the hidden {track} test truth")
        lines = path.read_text().splitlines()[1:]
        if track == "LSD":
            return {name: int(c) for name, c in (line.split(",") for line in lines)}
        return {line.split(",", 1)[0]: np.array(line.split(",")[1:], np.float32) for line in lines}
    folder = base / track
    if not folder.is_dir():
        raise AbawError(f"{folder}: found no such folder, expected the hidden {track} test truth")
    out = {}
    for f in sorted(folder.glob("*.txt")):
        values = np.loadtxt(f, delimiter=",", skiprows=1, ndmin=2, dtype=np.float32)
        out[f.stem] = values if values.shape[1] > 1 else values[:, 0].astype(np.int64)
    return out
