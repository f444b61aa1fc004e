"""The damaged variants of each artifact abaw reads back, and the check every command must pass
on them: a non-zero exit that is not "aborted" (130), one line on stderr naming the file or key,
no traceback.

Variant names are computed from small synthetic artifacts at import (the test ids); each test
regenerates the variants from the real artifact of the shared run and picks its own by name.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from damage import array_variants, flip, json_texts, not_npz, npz, truncations, zip_flips

from abaw.cli import main


def run_cli(argv, capsys) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `abaw argv` run in this process."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(argv, capsys, *names) -> str:
    """The command fails as a user mistake: exit != 0 and != 130, one line on stderr naming one
    of `names`, no traceback; returns the line."""
    code, out, err = run_cli(argv, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    shown = f"argv={[str(a) for a in argv]} exit={code} stderr={err[-600:]!r}"
    assert code not in (0, 130, None), shown
    assert len(lines) == 1 and "Traceback" not in err, shown
    assert any(str(n) in lines[0] for n in names), shown
    return lines[0]


# --- prediction sets ----------------------------------------------------------------------------

def prediction_set_variants(good: bytes):
    """Every damaged variant of the prediction set `good` (the bytes of a saved set)."""
    with np.load(io.BytesIO(good), allow_pickle=False) as z:
        a = {k: z[k] for k in z.files}
    meta = json.loads(str(a["meta"]))
    n = len(a["frames"])
    yield from truncations(good)
    yield from zip_flips(good)
    for name, data in not_npz(a["frames"]):
        yield f"not-npz-{name}", data
    offsets = a["offsets"]
    yield from array_variants(a, {
        "frames": [a["frames"].astype(np.float64), a["frames"][:, None], a["frames"].astype(str)],
        "offsets": [offsets.astype(np.float64), offsets[::-1].copy(), offsets[:-1],
                    offsets + 1, offsets[:, None], np.r_[0, offsets[-1], offsets[1:-1],
                                                         offsets[-1]][:len(offsets)]],
        "outputs": [a["outputs"].astype(np.int64), a["outputs"][:, :2], a["outputs"][:-1],
                    a["outputs"][None], np.array("x")],
        "imputed": [a["imputed"].astype(np.int8), a["imputed"][:-1], a["imputed"][:, None]],
        "meta": [np.array(5), np.array([str(a["meta"])]),
                 np.frombuffer(str(a["meta"]).encode(), np.uint8)],
    })
    fields = {"track": [5, "NOPE", None, "MTL"], "edition": ["8", 99, 0, 8.5, True],
              "columns": ["x", [1, 2], ["only-one"]], "videos": [[1, 2], "v", [meta["videos"][0]] * 2],
              "provenance": [[], "x"],
              "decision": ["x", {"thresholds": "abc"}, {"bias": [1, "x"]}, {"folded": "yes"},
                           {"unknown": 1}, {"thresholds": [float("nan")]}]}
    for name, text in json_texts(meta, fields, required=("track", "edition", "columns", "videos")):
        yield f"meta-{name}", npz(**{**a, "meta": np.array(text.decode("latin-1"))})
    assert n > 0


def _synthetic_set() -> bytes:
    from abaw.core.prediction_set import PredictionSet

    rng = np.random.default_rng(0)
    per = {f"v{i}": (np.arange(1, 6), rng.dirichlet(np.ones(8), 5)) for i in range(3)}
    with tempfile.TemporaryDirectory() as d:
        path = PredictionSet.from_videos("EXPR", 8, per, provenance={"run": "x"}).save(
            Path(d) / "s.npz")
        return path.read_bytes()


PREDICTION_SET_VARIANTS = [name for name, _ in prediction_set_variants(_synthetic_set())]



# --- checkpoints --------------------------------------------------------------------------------

def _st_parts(good: bytes) -> tuple[dict, dict]:
    from safetensors.numpy import load

    n = int.from_bytes(good[:8], "little")
    header = json.loads(good[8:8 + n])
    return load(good), json.loads(header["__metadata__"]["abaw"])


def _st(tensors: dict, meta_text: str) -> bytes:
    from safetensors.numpy import save

    return save(tensors, metadata={"abaw": meta_text})


def checkpoint_variants(good: bytes, last: bool):
    """Damaged checkpoints: cut, flipped header bytes, no safetensors at all, a model tensor
    missing / extra / misshaped / of integers, metadata that is no JSON object, and (for
    `last.safetensors`, which --resume reads) a training state that cannot be resumed from."""
    yield from truncations(good)
    n = int.from_bytes(good[:8], "little")
    for name, pos in (("length", 0), ("length-top", 7), ("header-open", 8),
                      ("header-middle", 8 + n // 2), ("header-end", 8 + n - 1)):
        yield f"flip-{name}", flip(good, pos)
    yield "text", b"not a checkpoint at all"
    yield "npz", npz(x=np.zeros(3))
    yield "huge-header", (2**62).to_bytes(8, "little") + good[8:]
    tensors, meta = _st_parts(good)
    text = json.dumps(meta)
    weight = next(k for k in sorted(tensors) if k.startswith("model.") and tensors[k].ndim == 2)
    yield "missing-tensor", _st({k: v for k, v in tensors.items() if k != weight}, text)
    yield "extra-tensor", _st({**tensors, "model.extra.weight": np.zeros((2, 2), np.float32)},
                              text)
    grown = np.zeros((tensors[weight].shape[0] + 1, tensors[weight].shape[1]), np.float32)
    yield "misshaped-tensor", _st({**tensors, weight: grown}, text)
    yield "integer-tensor", _st({**tensors, weight: tensors[weight].astype(np.int32)}, text)
    yield "meta-not-json", _st(tensors, text[: len(text) // 2])
    yield "meta-a-list", _st(tensors, "[]")
    if last:
        yield "no-state", _st(tensors, json.dumps({k: v for k, v in meta.items() if k != "state"}))
        yield "no-optimizer", _st(tensors, json.dumps({k: v for k, v in meta.items()
                                                       if k != "optimizer"}))
        yield "state-epoch-text", _st(tensors, json.dumps(
            {**meta, "state": {**meta["state"], "epoch": "one"}}))
        yield "state-no-history", _st(tensors, json.dumps(
            {**meta, "state": {k: v for k, v in meta["state"].items() if k != "history"}}))
        yield "optimizer-groups", _st(tensors, json.dumps(
            {**meta, "optimizer": {**meta["optimizer"], "param_groups": []}}))
        yield "optimizer-scalars", _st(tensors, json.dumps(
            {**meta, "optimizer": {**meta["optimizer"], "scalars": {"x": 1}}}))


def _synthetic_checkpoint(last: bool) -> bytes:
    meta = {"epoch": 0, "score": 0.5}
    if last:
        meta = {"state": {"epoch": 1, "step": 3, "best_score": 0.5, "best_epoch": 0,
                          "bad_epochs": 0, "history": [], "done": True},
                "optimizer": {"param_groups": [{"params": [0]}], "scalars": {"0.step": 3}}}
    return _st({"model.w.weight": np.ones((3, 2), np.float32),
                "model.w.bias": np.zeros(3, np.float32)}, json.dumps(meta))


BEST_VARIANTS = [name for name, _ in checkpoint_variants(_synthetic_checkpoint(False), False)]
LAST_VARIANTS = [name for name, _ in checkpoint_variants(_synthetic_checkpoint(True), True)]


# --- feature stores -----------------------------------------------------------------------------

def store_meta_variants(good: bytes):
    """A store's meta.json damaged (dim: the one field every reader needs)."""
    meta = json.loads(good)
    yield from json_texts(meta, {"dim": ["256", 0, -3, 1.5, None, 10**12, True]},
                          required=("dim",))


def rows_variants(good: bytes):
    """An id's `<id>.rows.npz` damaged (its frames, presence flags and inputs fingerprint)."""
    with np.load(io.BytesIO(good), allow_pickle=False) as z:
        a = {k: z[k] for k in z.files}
    yield from truncations(good)
    yield from zip_flips(good)
    for name, data in not_npz(a["frames"]):
        yield f"not-npz-{name}", data
    for name, data in array_variants({k: a[k] for k in ("frames", "present")}, {
            "frames": [a["frames"].astype(np.float32), a["frames"][:, None]],
            "present": [a["present"].astype(np.int8), a["present"][:-1]]}):
        if name != "extra-array":                   # (without `inputs`: an older store's rows)
            yield name, npz(**{"inputs": a["inputs"], **_from_npz(data)})
    yield "extra-array", npz(**a, junk=np.zeros(2))


def _from_npz(data: bytes) -> dict:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def features_variants(good: bytes):
    """An id's `<id>.npy` features damaged."""
    x = np.load(io.BytesIO(good), allow_pickle=False)
    yield from truncations(good, 8)
    yield "flip-magic", flip(good, 1)
    yield "flip-header", flip(good, 20)
    for name, data in (("integers", x.astype(np.int16)), ("1d", x[:, 0]), ("3d", x[None]),
                       ("fewer-columns", x[:, :-1]), ("fewer-rows", x[:-1])):
        buf = io.BytesIO()
        np.save(buf, data)
        yield name, buf.getvalue()
    yield "an-npz", npz(x=x)
    yield "text", b"0.1,0.2\n"


def _synthetic_rows() -> bytes:
    return npz(frames=np.arange(1, 6), present=np.ones(5, bool), inputs=np.array("abc"))


def _synthetic_features() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.zeros((5, 4), np.float16))
    return buf.getvalue()


STORE_META_VARIANTS = [n for n, _ in store_meta_variants(b'{"dim": 4, "backbone": "x"}')]
ROWS_VARIANTS = [n for n, _ in rows_variants(_synthetic_rows())]
FEATURES_VARIANTS = [n for n, _ in features_variants(_synthetic_features())]


# --- run folders --------------------------------------------------------------------------------

def run_json_variants(good: bytes):
    """run.json (what a run was trained on) damaged: every field missing or mistyped."""
    info = json.loads(good)
    fields = {"track": [5], "edition": ["8"], "index_root": [5, None], "features": ["x", [1]],
              "feature_meta": [[], "x", [1]], "train_ids": [5], "val_ids": ["x", [1]],
              "window": [0, "64", -1, 1.5], "predict_stride": [0, None]}
    yield from json_texts(info, fields)


def log_variants(good: bytes):
    """log.json (the training history) damaged: an epoch that is no object or is mistyped."""
    log = json.loads(good)
    entry = log[0]
    yield from json_texts(log, {"0": ["x", {**entry, "epoch": "0"}, {**entry, "train": "x"},
                                       {**entry, "train": {"ce": "x"}}, {**entry, "val": "x"},
                                       {k: v for k, v in entry.items() if k != "epoch"}]},
                          required=())


def post_variants(good: bytes):
    """post.json (the tuned post-processing) damaged."""
    post = json.loads(good)
    group = next(iter(post["smooth"]))
    fields = {"track": [5, "NOPE", "AU"], "edition": ["8", 99], "impute": ["bogus", 5],
              "ignore_imputed": ["yes"],
              "smooth": ["x", {group: "x"}, {group: {"kind": "bogus", "window": 5}},
                         {group: {"kind": "mean", "window": 0}},
                         {group: {"kind": "mean", "window": 10**9}},
                         {"NOPE": {"kind": "mean", "window": 5}}],
              "thresholds": ["x", [0.5] * 3], "bias": ["x", [1, 2], [float("nan")] * 8],
              "scores": ["x", []], "unknown_key": [1]}
    yield from json_texts(post, fields, required=("track", "edition"))


def summary_variants(good: bytes):
    """summary.json (a finished run's scores and zip) damaged. The second item says which
    readers notice: `run --last` reads every field, `report` only where the zip is."""
    summary = json.loads(good)
    fields = {"track": [5], "edition": ["8"], "run_dir": [5], "zip_path": [5, ["x"]],
              "val_raw": ["x"], "scored_on": [3], "folds": [[1, 2]], "intervals": [{"raw": "x"}]}
    for name, data in json_texts(summary, fields, required=("track", "edition", "run_dir")):
        everyone = not name.startswith(("no-", "track", "edition", "run_dir", "val_raw",
                                        "scored_on", "folds", "intervals"))
        yield name, (data, everyone)


def config_variants(good: bytes):
    """config.toml (the resolved recipe of a run) damaged: (text, who notices). Training keys
    are read by `predict` (and --resume); `eval` / `report` read the track and the post
    section; a file that is no TOML stops them all."""
    text = good.decode()
    every, training = ("predict", "eval", "report"), ("predict",)
    cut = text.index("[model]")
    yield "cut-in-header", (text[: cut + 4], every)
    yield "cut-in-string", (text[: text.index('head = "') + 9], every)
    yield "empty", ("", ("predict",))             # a run config without the track: refused
    yield "not-toml", ("track = EXPR\n[model\n", every)
    yield "binary", ("\x00\xff garbage", every)
    yield "deep", ("a = " + "[" * 5000 + "]" * 5000 + "\n", every)
    yield "duplicate-key", ('track = "VA"\n' + text, every)
    for key, value in (("lr", "nan"), ("lr", "-1.0"), ("lr", '"fast"'), ("dropout", "2.0"),
                       ("hidden", "0"), ("hidden", "100000000"), ("head", '"nope"'),
                       ("window", "100000000"), ("batch_size", "0"), ("seed", "-1"),
                       ("label_smoothing", "2.0"), ("epochs", "inf"), ("head_options",
                                                                        "{kernel = -5}")):
        line = next(x for x in text.splitlines() if x.startswith(f"{key} = "))
        yield f"{key}={value}", (text.replace(line, f"{key} = {value}", 1), training)
    yield "track-number", (text.replace('track = "EXPR"', "track = 5", 1), every)
    yield "unknown-section", (text + "\n[nonsense]\nx = 1\n", ())
    for key, value in (("kinds", "5"), ("windows", '["x"]'), ("impute", "3"), ("bias", '"yes"')):
        yield f"post.{key}={value}", (text + f"\n[post]\n{key} = {value}\n", ("eval", "report"))


# --- OS faults ----------------------------------------------------------------------------------

@contextlib.contextmanager
def denied(folder: Path):
    """`folder` without permissions (chmod 000) for the time of the block. Where that has no
    effect (root reads everything), the OS calls abaw goes through are made to answer as the
    OS would for such a folder: listing it, and anything below it, is EACCES."""
    import pytest

    folder = Path(folder)
    mode = folder.stat().st_mode
    folder.chmod(0)
    monkeypatch = pytest.MonkeyPatch()
    try:
        try:
            os.listdir(folder)
            effective = False
        except PermissionError:
            effective = True
        if not effective:
            _refuse_below(folder, monkeypatch)
        yield
    finally:
        monkeypatch.undo()
        folder.chmod(mode)


def _refuse_below(folder: Path, monkeypatch) -> None:
    import builtins

    top = os.path.abspath(folder)                  # (realpath would call the guarded lstat)

    def hit(path, inside_only: bool) -> bool:
        if isinstance(path, int):
            return False
        p = os.path.abspath(os.fsdecode(os.fspath(path)))
        return p.startswith(top + os.sep) or (not inside_only and p == top)

    def guard(real, inside_only):
        def call(path, *args, **kw):
            if hit(path, inside_only):
                raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(os.fspath(path)))
            return real(path, *args, **kw)
        return call

    for name, inside_only in (("scandir", False), ("listdir", False), ("stat", True),
                              ("lstat", True), ("open", False), ("mkdir", True)):
        monkeypatch.setattr(os, name, guard(getattr(os, name), inside_only))
    monkeypatch.setattr(builtins, "open", guard(builtins.open, False))
    monkeypatch.setattr(io, "open", guard(io.open, False))
