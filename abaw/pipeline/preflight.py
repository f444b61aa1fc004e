"""`preflight`: what every step of a run will need, checked before the first step runs, with
every problem reported at once (`abaw run --check` runs only this; `run_track` starts with it).

It takes seconds: nothing is extracted, no model is loaded, nothing is written under --work or
--out (the dataset index is read from its cache, or built and cached, as `abaw data index` does).
What is checked, by the step that needs it (up to `until`):
- index:    the recipe is found (a name in tracks/<track>/recipes/ or a file) and loads with its
            --set values; the dataset indexes without errors;
- features: the weights of every backbone, in a folder or the Hugging Face cache (`random` and
            `pretrain` are made by abaw itself): one problem lists every missing one with the
            command that fetches it; face crops for every test video, and for some training and
            validation videos; --work can be written; free disk for the feature stores still to
            extract (rows x feature dim x bytes per stored value);
- train:    every file the recipe names (loss.prompts, loss.teacher, ...) exists, or the problem
            names the command that makes it;
- submit:   the template / test list resolves (a bare name is looked up under the dataset root)
            and reads with the track's header; the track has test videos; --out can be written.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from abaw import protocol
from abaw.errors import AbawError

LISTED = 5          # dataset errors listed one by one; `abaw data check` lists them all
# recipe fields naming a file: what it holds, and the command that makes it
MAKES = {
    "loss.prompts": ("the prompt text embeddings (.npy)",
                     "abaw features prompts --track {track} --out {path}"),
    "loss.teacher": ("the teacher's predictions on the training split (.npz)",
                     "abaw predict TEACHER_RUN --split train --out {path}, TEACHER_RUN a finished "
                     "run of the teacher's recipe"),
}
# any other recipe string ending like this names a file too
FILE_SUFFIXES = (".npy", ".npz", ".txt", ".json", ".csv", ".toml", ".safetensors", ".pt")
ROW_BYTES = 9       # a stored row besides its features: frame number (int64) + present (bool)


class PreflightFailed(AbawError):
    """The problems a run would meet, found before it ran (exit 1: nothing was run)."""

    exit_code = 1


@dataclass
class Preflight:
    recipe: Path | None
    checked: list = field(default_factory=list)   # what was checked, one line each
    seconds: float = 0.0


def preflight(track, root, *, edition: int | None = None, recipe=None, overrides=(),
              template=None, test_list=None, work="runs", out="submissions",
              until: str = "submit", crops=(), features=None) -> Preflight:
    """Check what the steps up to `until` of `run_track` will need; raise PreflightFailed
    listing every problem found, else return what was checked. `features`: the stores given to
    train on (nothing is extracted, so no weights, crops or disk space are needed)."""
    from abaw.pipeline.run import STEPS

    t0 = time.perf_counter()
    if until not in STEPS:
        raise AbawError(f"--until: found {until!r}, expected one of {', '.join(STEPS)}")

    def needs(step: str) -> bool:
        return STEPS.index(until) >= STEPS.index(step)

    problems: list[str] = []
    checked: list[str] = []
    cfg, recipe_file = _recipe(track, recipe, overrides, problems, checked)
    index = _index(root, edition, crops, problems, checked)
    source = _source(track, cfg, recipe_file, problems)
    if cfg is not None and source is not None and cfg.features.offline:
        from abaw.pipeline.stages import offline_encoders

        offline_encoders(cfg, source)   # what the run will extract: the offline encoders
    if needs("features"):
        _writable(work, "--work", problems, checked)
        if features:
            _given(features, problems, checked)
        elif cfg is not None:
            _weights(cfg, recipe_file, problems, checked)
        if not features and index is not None and source is not None:
            tables = [source.index_name] + ([track.index_name] if source is not track else [])
            _crops(track, source, index, problems, checked)
            if cfg is not None:
                _text_inputs(cfg, recipe_file, index, problems, checked)
                _disk(cfg, index, tables, Path(work), problems, checked)
    if needs("train") and cfg is not None and source is not None:
        _files(cfg, recipe_file, source, problems, checked)
    if needs("submit"):
        if index is not None:
            _test_rows(track, index, template, test_list, problems, checked)
        _writable(out, "--out", problems, checked)
    seconds = time.perf_counter() - t0
    if len(problems) == 1:
        raise PreflightFailed(f"{track.name}, before any step ran: {problems[0]}")
    if problems:
        raise PreflightFailed(f"{track.name}: {len(problems)} problems found in {seconds:.1f} s, "
                              "before any step ran:\n" + "\n".join(f"  {p}" for p in problems))
    return Preflight(recipe_file, checked, seconds)


def _recipe(track, recipe, overrides, problems, checked):
    from abaw.recipe import load_recipe
    from tracks import resolve_recipe

    try:
        recipe_file = resolve_recipe(track, recipe)
        cfg = load_recipe(recipe_file, overrides, track=track.name)
    except AbawError as e:
        problems.append(str(e))
        return None, None
    checked.append(f"recipe {recipe_file}" + (f" with {', '.join(overrides)}" if overrides else ""))
    return cfg, recipe_file


def _index(root, edition, crops, problems, checked):
    from abaw.data import problems as P
    from abaw.data.build import build_index

    try:
        index, found = build_index(root, edition, crops=crops)
    except AbawError as e:
        problems.append(str(e))
        return None
    errors = P.errors(found)
    problems += [str(p) for p in errors[:LISTED]]
    if len(errors) > LISTED:
        problems.append(f"{index.root}: found {len(errors) - LISTED} more errors in the dataset, "
                        f"expected none: `abaw data check {index.root}` lists them all")
    checked.append(f"dataset {index.root} (edition {index.edition}): indexed, "
                   f"{len(errors)} errors")
    return index


def _source(track, cfg, recipe_file, problems):
    """The track whose model the run trains: this one, or the one it derives from (CE)."""
    from tracks import get_track

    if cfg is None or not cfg.pipeline.derive_from:
        return track
    if track.derive is None:
        problems.append(f"{recipe_file}: field pipeline.derive_from: found "
                        f"{cfg.pipeline.derive_from!r}, expected \"\" ({track.name} derives "
                        "from no other track)")
        return None
    return get_track(cfg.pipeline.derive_from)


def _weights(cfg, recipe_file, problems, checked) -> None:
    from abaw.features import registry as R

    missing, found = [], []
    for name in cfg.features.backbones:
        try:
            spec = R.get_spec(name)
        except AbawError as e:
            problems.append(f"{recipe_file}: field features.backbones: {e}")
            continue
        weights = cfg.features.weights.get(name)
        if weights == "random" and spec.family != "timm_cnn":
            timm = ", ".join(s.name for s in R.sorted_specs() if s.family == "timm_cnn")
            problems.append(f"{recipe_file}: field features.weights.{name}: found \"random\", "
                            f"expected a weights folder or hub id (abaw writes a random "
                            f"initialisation of a timm CNN only: {timm})")
        elif weights in ("random", "pretrain"):
            found.append(f"{name} ({weights}: made by abaw)")
        elif R.weights_found(spec, weights) != "missing":
            found.append(name)
        else:
            missing.append(f"{name} (`{R.fetch_command(spec, weights)}`)")
    if missing:
        problems.append(f"{recipe_file}: found no weights for {', '.join(missing)}, expected "
                        "them in a folder or the Hugging Face cache; `abaw models list` says "
                        "where each goes")
    checked.append(f"weights: {', '.join(found) or 'none found'}")


def _given(features, problems, checked) -> None:
    from abaw.train.inputs import open_stores

    try:
        stores = open_stores(features)
    except AbawError as e:
        problems.append(str(e))
        return
    checked.append(f"features: {len(stores)} given store(s), nothing to extract")


def _crops(track, source, index, problems, checked) -> None:
    from abaw.data.check import faces_hint, without_crops, without_faces

    if track.image_level:               # LSD: images of its own
        return
    where = f"{protocol.CROP_FOLDER}*/<id>/<NNNNN>.jpg"
    for split in ("train", "val"):
        ids = index.ids(source.index_name, split)
        missing = without_crops(index, source.index_name, split)
        if ids and len(missing) == len(ids):
            problems.append(f"{index.root}: found no face crop for any of the {len(ids)} "
                            f"{source.name} {split} videos, expected {where}; "
                            f"{faces_hint(index, missing)}")
    test = index.ids(track.index_name, "test")
    # a test video whose face table says no face was found is predicted from nothing but it is
    # no mistake; one nobody looked at is
    missing = without_faces(index, track.index_name, "test")
    if missing:
        some = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        problems.append(f"{index.root}: found no face crop for {len(missing)} of the {len(test)} "
                        f"{track.name} test videos ({some}), expected {where} for every test "
                        f"video; {faces_hint(index, missing)}")
    blank = len(without_crops(index, track.index_name, "test")) - len(missing)
    checked.append(f"face crops: {len(test) - len(missing) - blank} of {len(test)} {track.name} "
                   "test videos have some" + (f", {blank} looked at without a face found"
                                              if blank else ""))


def _text_inputs(cfg, recipe_file, index, problems, checked) -> None:
    """A text backbone's folder of text files (`features.inputs`) exists and holds some."""
    for name in cfg.features.backbones:
        folder = cfg.features.inputs.get(name)
        if not folder:
            continue
        there = Path(index.root) / folder
        found = sorted(there.glob("*.txt")) if there.is_dir() else []
        if not found:
            problems.append(f"{recipe_file}: field features.inputs.{name}: found no text file in "
                            f"{there}, expected <id or video>.txt per video (abaw/features/text.py "
                            "says the format)")
        else:
            checked.append(f"text inputs of {name}: {len(found)} files in {there}")


def _files(cfg, recipe_file, source, problems, checked) -> None:
    """Every file the recipe names exists, or the problem says what makes it."""
    named = []
    for section in dataclasses.fields(cfg):
        values = getattr(cfg, section.name)
        if not dataclasses.is_dataclass(values):
            continue
        for f in dataclasses.fields(values):
            key, value = f"{section.name}.{f.name}", getattr(values, f.name)
            if not (isinstance(value, str) and value
                    and (key in MAKES or value.lower().endswith(FILE_SUFFIXES))):
                continue
            named.append(value)
            if Path(value).expanduser().is_file():
                continue
            what, make = MAKES.get(key, ("an existing file", ""))
            how = f"; make it with `{make.format(track=source.name, path=value)}`" if make else ""
            problems.append(f"{recipe_file}: field {key}: found {value}, no such file, expected "
                            f"{what}{how}")
    checked.append(f"files the recipe names: {', '.join(named) or 'none'}")


def _test_rows(track, index, template, test_list, problems, checked) -> None:
    from abaw.data.layout import test_rows_pattern
    from abaw.formats.templates import read_test_list
    from abaw.formats.validator import expected_rows, user_file

    ed = track.edition_for(index.edition)
    r = protocol.rules(track.name, ed)
    try:
        given, listed = user_file(template, index), user_file(test_list, index)
        if r.submission != "per_video":
            rows = expected_rows(r, given, listed, index)
            checked.append(f"test rows: {rows.name} ({len(rows):,} rows)")
        elif listed is not None:
            checked.append(f"test list: {listed} ({len(read_test_list(listed))} ids)")
    except AbawError as e:
        problems.append(str(e))
        return
    if not index.ids(track.index_name, "test"):
        problems.append(f"{index.root}: found no {track.name} test videos, expected the rows of "
                        f"{test_rows_pattern(track.name, ed)} under it (the frames to predict)")


def _existing(folder: Path) -> Path:
    """The folder itself, or its nearest ancestor that exists."""
    there = Path(folder).absolute()
    while not os.path.lexists(there) and there != there.parent:
        there = there.parent
    return there


def _writable(folder, option: str, problems, checked) -> None:
    """A probe folder made in `folder` (or its nearest existing ancestor) and removed at once."""
    there = _existing(Path(folder))
    if not there.is_dir():
        problems.append(f"{option} {folder}: found a file at {there}, expected a folder abaw can "
                        "write in")
        return
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".abaw-probe-", dir=there))
    except OSError as e:
        problems.append(f"{option} {folder}: found {there} can't be written ({e.strerror}), "
                        "expected a folder abaw can write in")
        return
    checked.append(f"{option} {folder}: can be written")


def _disk(cfg, index, tables, work: Path, problems, checked) -> None:
    """Free space where the stores go against what is still to extract (done ids are skipped)."""
    from abaw.features import registry as R
    from abaw.features.store import DTYPE, META
    from abaw.pipeline.features import dataset_key, store_folder

    rows: dict[str, int] = {}
    for table in tables:
        for id_, s in index.sequences.get(table, {}).items():
            rows[id_] = rows.get(id_, 0) + len(s.frames)
    need, parts = 0, []
    for name in cfg.features.backbones:
        if name not in R.BACKBONES:
            continue
        folder = store_folder(cfg, name, work, dataset_key(index.root))
        if (folder / META).is_file():
            dim = int(json.loads((folder / META).read_text())["dim"])
        else:
            dim = R.feature_dim(R.get_spec(name), cfg.features.layers.get(name),
                                cfg.features.pooling.get(name))
        todo = sum(n for id_, n in rows.items() if not (folder / f"{id_}.npy").is_file())
        size = todo * (dim * np.dtype(DTYPE).itemsize + ROW_BYTES)
        need += size
        parts.append(f"{name}: {todo:,} rows x {dim:,} values, {_size(size)}")
    free = shutil.disk_usage(_existing(work)).free
    if free < need:
        problems.append(f"--work {work}: found {_size(free)} free, expected at least "
                        f"{_size(need)} for the feature stores still to extract ({'; '.join(parts)})")
    checked.append(f"disk: {_size(need)} of features to write ({'; '.join(parts) or 'none'}), "
                   f"{_size(free)} free")


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
