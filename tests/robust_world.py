"""One finished `abaw run` on the tiny twin, built once per test session and shared read-only by
the robustness corpus: a dataset, a feature store, a run folder with checkpoints, prediction sets
and post-processing, and a validated submission.

It is built inside a tree with sibling files and folders and the working directory set inside
it, with a snapshot of the tree before and after, so the filesystem test can check that the run
touched nothing but the folders it was given.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from abaw.cli import main

FAST = ["optim.epochs=1", 'post.kinds=["mean"]', "post.windows=[1, 5]",
        'features.backbones=["efficientnet-b0"]', "features.workers=0"]


@dataclass
class World:
    tree: Path          # everything below lives here, with siblings the run must not touch
    root: Path          # the dataset (its index cache is the one thing abaw writes there)
    work: Path          # --work of the run
    subs: Path          # --out of the run
    cwd: Path           # the working directory of every command
    weights: Path       # the tiny backbone's folder
    run: Path           # the run folder
    store: Path         # its feature store
    overrides: list     # the --set values of the run
    before: dict        # snapshots of the tree around the run
    after: dict

    def copy_run(self, dest: Path) -> Path:
        """A private copy of the run folder (its run.json still points at the shared store)."""
        return Path(shutil.copytree(self.run, dest / self.run.name, symlinks=True))

    def copy_store(self, dest: Path) -> Path:
        return Path(shutil.copytree(self.store, dest / "store", symlinks=True))


def snapshot(top: Path) -> dict:
    """path -> (kind, size, mtime_ns, link target) for everything under `top`, links not
    followed. A folder is recorded by its kind only: its own mtime moves whenever an entry is
    added inside (an allowed output), and its entries are recorded one by one anyway."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            if stat.S_ISDIR(st.st_mode):
                out[str(p.relative_to(top))] = ("folder",)
                continue
            link = os.readlink(p) if p.is_symlink() else None
            out[str(p.relative_to(top))] = (st.st_mode, st.st_size, st.st_mtime_ns, link)
    return out


_WORLD: World | None = None


def world(tmp_path_factory) -> World:
    global _WORLD
    if _WORLD is None:
        _WORLD = _build(tmp_path_factory.mktemp("robust-world"))
    return _WORLD


def _build(base: Path) -> World:
    import torch

    from abaw.data.synth import synthesize
    from abaw.features.tiny import write_tiny

    torch.set_num_threads(1)
    tree = base / "tree"
    root = synthesize(tree / "data" / "ed8", edition=8, size="tiny", seed=1)
    weights = write_tiny("efficientnet-b0", tree / "models" / "tiny-effnet")
    for d in ("sibling/inner", "cwd", "work", "subs"):
        (tree / d).mkdir(parents=True, exist_ok=True)
    (tree / "note.txt").write_text("keep me\n")
    (tree / "sibling" / "a.npz").write_bytes(b"user file")
    (tree / "sibling" / "inner" / "b.json").write_text("{}")
    (tree / "runs").symlink_to(tree / "sibling")           # a link a careless walk would follow
    overrides = [*FAST, f'features.weights={{"efficientnet-b0" = "{weights}"}}']
    work, subs, cwd = tree / "work", tree / "subs", tree / "cwd"
    before = snapshot(tree)
    args = ["run", "--track", "expr", "--root", str(root), "--recipe", "demo", "--work", str(work),
            "--out", str(subs), "--quiet"]
    for o in overrides:
        args += ["--set", o]
    old = Path.cwd()
    os.chdir(cwd)
    try:
        assert main(args) == 0
    finally:
        os.chdir(old)
    after = snapshot(tree)
    run = next((work / "expr").iterdir())
    store = next(work.glob("features/*/efficientnet-b0*"))
    assert (run / "predictions" / "val.npz").is_file() and (store / "meta.json").is_file()
    return World(tree, root, work, subs, cwd, weights, run, store, overrides, before, after)
