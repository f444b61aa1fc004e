"""Config values and numeric command-line options carry bounds: a value out of them is one line
naming the key (and the file or `--set` it came from), before any work is done.

The grid: every field of every recipe section with a bound, each given several values outside
it (generated from the field's type and default, not from the bound: a field left unbounded
still gets them and must refuse them); every option of every registered head and fusion, the
same way; a model or batch too big for the machine; the examples users hit; and every int /
float option of every command.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from pathlib import Path

import click
import pytest
from robust_cases import assert_one_line
from robust_world import world

from abaw.errors import AbawError
from abaw.recipe import Recipe, load_recipe
from abaw.train.bounds import Free, Range

DEMO = Path(__file__).resolve().parents[1] / "tracks" / "expr" / "recipes" / "demo.toml"


def _sections():
    """(section name, section class) of the recipe, the training sections first."""
    hints = typing.get_type_hints(Recipe)
    return [(f.name, hints[f.name]) for f in dataclasses.fields(Recipe) if f.name != "track"]


def _fields():
    out = []
    for sec, cls in _sections():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            out.append((sec, f.name, hints[f.name], default))
    return out


def _bad_values(typ, default) -> list[str]:
    """TOML texts no field of this type and default can sensibly take."""
    if typ is bool:
        return ['"yes"', "1"]
    if typ is int:
        return ["-1000000000000", "1000000000000", "2.5", '"3"', "nan"]
    if typ is float:
        return ["nan", "inf", "-inf", "1e300", "-1e300", '"fast"']
    if typ is str:
        return ['"no such value !"', "5", "[1]"]
    if typ is list:
        return ["5", '"x"', '[{a = 1}]', "[1e300]"]
    if typ is dict:
        return ['{"no such key !" = 1}', "5", '"x"']
    raise AssertionError(typ)


# free-text fields: paths and names checked where they are used (a missing file, an unknown
# backbone name)
FREE = {("loss", "teacher"), ("loss", "prompts"), ("features", "layers"), ("features", "pooling")}

GRID = [(sec, name, value) for sec, name, typ, default in _fields()
        if (sec, name) not in FREE for value in _bad_values(typ, default)]


def test_every_field_declares_a_bound_and_numbers_are_ranges():
    for sec, cls in _sections():
        bounds = getattr(cls, "BOUNDS", {})
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if hints[f.name] is bool:
                continue                                  # the type says it all
            assert f.name in bounds, f"{sec}.{f.name} has no bound"
            if hints[f.name] in (int, float):
                assert isinstance(bounds[f.name], Range), f"{sec}.{f.name}"
            if isinstance(bounds[f.name], Free):
                assert (sec, f.name) in FREE | {("model", "head"), ("model", "fusion")}


def test_the_image_stage_bound_names_the_methods_image_stages_has():
    from abaw.recipe import StagesConfig
    from abaw.train.image_stages import METHODS

    assert StagesConfig.BOUNDS["image"].item.values == METHODS


@pytest.mark.parametrize("sec,name,value", GRID, ids=[f"{s}.{n}={v}" for s, n, v in GRID])
def test_a_value_out_of_bounds_is_one_line_naming_the_key(tmp_path, sec, name, value):
    text = f"{sec}.{name}={value}"
    with pytest.raises(AbawError) as e:
        load_recipe(None, [text], track="EXPR")
    msg = str(e.value)
    assert "\n" not in msg and f"field {sec}.{name}" in msg and f"--set {text}" in msg, msg
    recipe = tmp_path / "r.toml"                        # and from a recipe file: names it
    recipe.write_text(f"[{sec}]\n{name} = {value}\n")
    with pytest.raises(AbawError) as e:
        load_recipe(recipe, track="EXPR")
    assert str(recipe) in str(e.value) and f"field {sec}.{name}" in str(e.value), str(e.value)


def _option_cases():
    import abaw.models  # noqa: F401  (registers every model)
    from abaw.models.registry import list_models, model_kind, model_signature

    cases = []
    for model in list_models("head") + list_models("fusion") + list_models("adapter"):
        kind = model_kind(model)
        for option, (typ, _) in model_signature(model).items():
            values = {int: ["0", "-5", "100000000", "2.5", "nan"], float: ["-0.5", "2.0", "nan", "inf"],
                      bool: ['"yes"'], str: ['"nope"', "5"], dict: ['{"nope" = 1}', "5"]}[typ]
            if option in ("audio",):                  # an index: negative counts from the end
                values = ["-100", "100", "1.5"]
            cases += [(kind, model, option, v) for v in values]
        cases.append((kind, model, "no_such_option", "1"))
    return cases


OPTION_CASES = _option_cases()


@pytest.mark.parametrize("kind,model,option,value", OPTION_CASES,
                         ids=[f"{m}.{o}={v}" for _, m, o, v in OPTION_CASES])
def test_a_model_option_out_of_bounds_is_one_line(kind, model, option, value):
    table = {"head": "head_options", "fusion": "fusion_options",
             "adapter": "adapter_options.audio"}[kind]
    chosen = f'model.adapters={{audio = "{model}"}}' if kind == "adapter" else \
        f'model.{kind}="{model}"'
    sets = [chosen, f"model.{table}.{option}={value}"]
    with pytest.raises(AbawError) as e:
        load_recipe(None, sets, track="EXPR")
    msg = str(e.value)
    assert "\n" not in msg and f"field model.{table}.{option}" in msg, msg


def test_every_numeric_model_option_has_a_bound():
    import abaw.models  # noqa: F401
    from abaw.models.registry import list_models, model_signature
    from abaw.train.config import OPTION_BOUNDS

    for model in list_models("head") + list_models("fusion") + list_models("adapter"):
        for option, (typ, _) in model_signature(model).items():
            if typ in (int, float):
                assert option in OPTION_BOUNDS, f"{model}.{option} has no bound"


def test_an_adapter_that_is_not_registered_is_one_line_naming_its_stream():
    with pytest.raises(AbawError, match=r"--set model.adapters=\{audio = \"nope\"\}: field "
                       r"model.adapters.audio: found 'nope', expected one of attn_stats"):
        load_recipe(None, ['model.adapters={audio = "nope"}'], track="EXPR")


def test_adapter_options_reach_the_adapter_of_their_stream_and_need_one():
    import torch

    from abaw.train.modeling import build_model

    cfg = load_recipe(None, ['model.adapters={audio = "attn_stats"}',
                             "model.adapter_options.audio.context=15"], track="VA")
    assert cfg.model.adapter_options == {"audio": {"context": 15}}
    model = build_model(cfg, [8, 4], 2, streams=[{"kind": "visual"}, {"kind": "audio"}])
    assert isinstance(model.adapters[0], torch.nn.Identity)
    assert model.adapters[1].context == 15
    with pytest.raises(AbawError, match=r"field model.adapter_options.audio: found options "
                       r"without an adapter, expected model.adapters.audio"):
        load_recipe(None, ["model.adapter_options.audio.context=15"], track="VA")


def test_options_of_a_head_set_before_the_head_are_checked_against_the_final_head():
    cfg = load_recipe(None, ["model.head_options.kernel=5", "model.head=tcn"], track="EXPR")
    assert cfg.model.head_options == {"kernel": 5}
    with pytest.raises(AbawError, match="field model.head_options.kernel: found an option gru"):
        load_recipe(None, ["model.head_options.kernel=5", "model.head=gru"], track="EXPR")


def test_the_values_a_recipe_needs_are_accepted():
    cfg = load_recipe(None, ["optim.lr=1e-5", "model.dropout=0.0", "loss.label_smoothing=0.1",
                             "run.seed=4294967295", "data.window=16384", "optim.batch_size=1",
                             "model.head=tcn", "model.head_options={kernel = 7}",
                             'loss.task_weights={VA = 1, AU = 0.5}', "run.device=\"cuda:1\"",
                             "post.windows=[1, 10001]", "features.workers=0"], track="MTL")
    assert cfg.optim.lr == 1e-5 and cfg.model.head_options == {"kernel": 7}
    assert math.isclose(cfg.loss.label_smoothing, 0.1)


# --- through the commands -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def w(tmp_path_factory):
    return world(tmp_path_factory)


EXAMPLES = [("optim.lr=nan", "optim.lr"), ("model.dropout=2.0", "model.dropout"),
            ("model.head_options.kernel=-5", "model.head_options.kernel"),
            ("run.seed=-1", "run.seed"), ("loss.label_smoothing=2", "loss.label_smoothing"),
            ("data.window=100000000", "data.window"), ("optim.batch_size=0", "optim.batch_size"),
            ("optim.lr=inf", "optim.lr"), ("model.hidden=1000000000", "model.hidden"),
            ("post.windows=[100000000]", "post.windows")]


@pytest.mark.parametrize("command", ["train", "run"])
@pytest.mark.parametrize("override,key", EXAMPLES, ids=[o for o, _ in EXAMPLES])
def test_the_examples_users_hit_are_one_line_before_any_work(w, tmp_path, capsys, command,
                                                             override, key):
    sets = ["--set", "model.head=tcn", "--set", override]
    if command == "train":
        if key.startswith("post."):
            return                                   # `abaw train` reads the training sections
        argv = ["train", "--track", "expr", "--recipe", DEMO, "--root", w.root, "--features",
                w.store, "--out", tmp_path / "r", *sets]
    else:
        argv = ["run", "--track", "expr", "--root", w.root, "--recipe", "demo", "--work",
                tmp_path / "work", "--out", tmp_path / "subs", *sets]
    assert_one_line(argv, capsys, f"field {key}")
    assert not any(tmp_path.iterdir())               # nothing made


@pytest.mark.parametrize("sets", [
    ["model.head=transformer", "model.hidden=16384", "model.layers=64"],
    ["optim.batch_size=65536", "data.window=16384"],
    ["model.head=tcn", "model.hidden=16384", "model.layers=48", "model.head_options.kernel=1025"],
])
def test_a_model_or_batch_that_cannot_fit_is_refused_before_allocating(w, tmp_path, capsys, sets):
    argv = ["train", "--track", "expr", "--recipe", DEMO, "--root",
            w.root, "--features", w.store, "--out", tmp_path / "r"] + sum((["--set", s] for s in sets), [])
    line = assert_one_line(argv, capsys, "model.hidden")
    assert "GiB" in line and "expected what fits" in line
    assert not (tmp_path / "r").exists()


# --- numeric command-line options ---------------------------------------------------------------

def _commands():
    from abaw.cli import COMMANDS, cli

    ctx = click.Context(cli)
    out = []
    for name in COMMANDS:
        cmd = cli.get_command(ctx, name)
        subs = cmd.commands.items() if isinstance(cmd, click.Group) else [(None, cmd)]
        out += [((name, sub), c) for sub, c in subs]
    return out


def test_every_numeric_option_is_bounded():
    """An int / float option is a click range, or an edition (the protocol checks it); a float
    range is a finite one (click's FloatRange lets NaN through)."""
    from abaw.cli.options import FiniteRange

    for (name, sub), cmd in _commands():
        for p in cmd.params:
            where = f"abaw {name} {sub or ''} --{p.name}"
            if p.type in (click.INT, click.FLOAT):
                assert p.name == "edition", f"{where} has no bound"
            if isinstance(p.type, click.FloatRange):
                assert isinstance(p.type, FiniteRange), f"{where} lets NaN through"


NUMERIC = [
    (["ensemble", "a.npz", "b.npz", "--out", "e.npz", "--step", "0"], "--step"),
    (["ensemble", "a.npz", "b.npz", "--out", "e.npz", "--step", "nan"], "--step"),
    (["ensemble", "a.npz", "b.npz", "--out", "e.npz", "--step", "-1"], "--step"),
    (["ensemble", "a.npz", "b.npz", "--out", "e.npz", "--step", "2"], "--step"),
    (["ensemble", "a.npz", "b.npz", "--out", "e.npz", "--step", "1e-9"], "--step"),
    (["data", "synth", "x", "--seed", "-1"], "--seed"),
    (["data", "synth", "x", "--features", "0"], "--features"),
    (["data", "synth", "x", "--seed", "99999999999999999999"], "--seed"),
    (["report", ".", "--seed", "-1"], "--seed"),
    (["demo", "--seed", "-3"], "--seed"),
    (["submit", ".", "--decimals", "0"], "--decimals"),
    (["submit", ".", "--decimals", "99"], "--decimals"),
    (["faces", "extract", ".", "--out", "o", "--threshold", "2"], "--threshold"),
    (["faces", "extract", ".", "--out", "o", "--threshold", "nan"], "--threshold"),
    (["validate", "x.txt", "--track", "va", "--edition", "8", "--max-examples", "0"],
     "--max-examples"),
    (["features", "extract", ".", "--backbone", "x", "--batch-size", "0"], "--batch-size"),
    (["features", "extract", ".", "--backbone", "x", "--workers", "-1"], "--workers"),
]


@pytest.mark.parametrize("argv,word", NUMERIC, ids=[" ".join(a) for a, _ in NUMERIC])
def test_a_numeric_option_out_of_range_is_one_line(tmp_path, capsys, monkeypatch, argv, word):
    monkeypatch.chdir(tmp_path)
    assert_one_line(argv, capsys, word)
    assert not any(tmp_path.iterdir())


EDITIONS = ["-1", "0", "11", "99999999999999999999999"]


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("argv", [
    ["data", "index", "{root}"], ["data", "check", "{root}"], ["train", "--track", "expr",
    "--root", "{root}", "--features", "{store}", "--out", "{tmp}/r"],
    ["eval", "--split", "val", "--root", "{root}", "--pred", "{val}"],
    ["smooth", "{val}", "--tune-on", "{val}", "--root", "{root}", "--out", "{tmp}/s.npz"],
    ["ensemble", "{val}", "{val}", "--root", "{root}", "--out", "{tmp}/e.npz", "--method", "mean"],
    ["submit", "{test}", "--out", "{tmp}/subs"],
    ["run", "--track", "expr", "--root", "{root}", "--work", "{tmp}/w", "--out", "{tmp}/o"],
], ids=lambda a: a[0] if isinstance(a, list) else a)
def test_an_edition_out_of_range_is_one_line_in_every_command(w, tmp_path, capsys, argv,
                                                              edition):
    vals = {"root": w.root, "store": w.store, "tmp": tmp_path,
            "val": w.run / "predictions" / "val.npz", "test": w.run / "predictions" / "test.npz"}
    argv = [a.format(**vals) for a in argv] + ["--edition", edition]
    if argv[0] == "run":            # a recipe whose weights are there: the edition is the problem
        argv += ["--recipe", "demo", *[a for o in w.overrides for a in ("--set", o)]]
    assert_one_line(argv, capsys, "edition")
    assert not any(tmp_path.iterdir())
