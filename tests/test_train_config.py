"""The typed config: TOML recipe, --set overrides, one-line errors naming the key, round trip."""

import pytest

from abaw.errors import AbawError
from abaw.train.config import load_config, parse_override
from abaw.train.run_files import config_hash, diff, to_toml


def test_defaults_recipe_and_overrides_in_that_order(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('track = "expr"\n[model]\nhead = "tcn"\nhead_options = {kernel = 5}\n'
                      '[optim]\nlr = 0.01\nepochs = 3\n')
    cfg = load_config(recipe, ["optim.lr=3e-4", "model.head_options.causal=true",
                               "loss.task_weights={VA = 2}", "model.fusion=concat"], track="EXPR")
    assert cfg.track == "EXPR" and cfg.model.head == "tcn" and cfg.optim.epochs == 3
    assert cfg.optim.lr == 3e-4 and isinstance(cfg.optim.lr, float)
    assert cfg.model.head_options == {"kernel": 5, "causal": True}
    assert cfg.loss.task_weights == {"VA": 2} and cfg.model.fusion == "concat"
    assert cfg.optim.batch_size == 32                              # untouched default


def test_resolved_config_round_trips_through_toml(tmp_path):
    cfg = load_config(None, ["model.head=tcn", "model.head_options={kernel = 3, causal = true}",
                             "loss.prompts=\"a b.npy\"", "optim.epochs=7"], track="va")
    path = tmp_path / "config.toml"
    path.write_text(to_toml(cfg))
    back = load_config(path)
    assert diff(cfg, back) is None and config_hash(cfg) == config_hash(back)
    other = load_config(None, ["optim.epochs=8"], track="va")
    assert diff(cfg, other) is not None


@pytest.mark.parametrize("sets,message", [
    (["model.hiden=3"], "--set model.hiden=3: field model.hiden: unknown, expected one of head, hidden"),
    (["optimiser.lr=1"], "field optimiser: unknown, expected one of track, data, model"),
    (["optim.lr=fast"], "field optim.lr: found 'fast', expected a number"),
    (["optim.epochs=2.5"], "field optim.epochs: found 2.5, expected an integer"),
    (["model.causal=1"], "field model.causal: found 1, expected true or false"),
    (["optim.schedule=step"], "field optim.schedule: found 'step', expected one of"),
    (["optim.batch_size=0"], "field optim.batch_size: found 0, expected a finite number with 1 <= x <= 65536"),
    (["run.folds=3", "run.fold=3"], "field run.fold: found 3, expected -1 (all) or 0..2"),
    (["lr"], "--set lr: found no '=', expected key=value"),
])
def test_bad_values_are_one_line_errors_naming_the_key(sets, message):
    with pytest.raises(AbawError) as e:
        load_config(None, sets, track="expr")
    assert message in str(e.value) and "\n" not in str(e.value)


def test_recipe_errors_name_the_file(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text("[model]\nheads = 2\n")
    with pytest.raises(AbawError, match=r"r.toml: field model.heads: unknown"):
        load_config(recipe)
    recipe.write_text("[model\n")
    with pytest.raises(AbawError, match=r"r.toml: found text that is not valid TOML"):
        load_config(recipe)
    recipe.write_text('track = "va"\n')
    with pytest.raises(AbawError, match="expected 'expr' as given by --track"):
        load_config(recipe, track="expr")
    with pytest.raises(AbawError, match="recipe not found"):
        load_config(tmp_path / "missing.toml")


def test_override_values_are_read_as_toml_else_as_text():
    assert parse_override("a.b=3") == ("a.b", 3)
    assert parse_override("a.b = 1e-3") == ("a.b", 1e-3)
    assert parse_override("model.head=tcn") == ("model.head", "tcn")
    assert parse_override('x={k = "v"}') == ("x", {"k": "v"})


def test_a_recipe_extends_training_and_resuming_compares_training_only(tmp_path):
    from abaw.recipe import load_recipe
    from abaw.train.config import Config
    from abaw.train.run_files import read_run_config

    recipe = tmp_path / "r.toml"
    recipe.write_text('track = "expr"\n[model]\nhead = "tcn"\n[post]\nwindows = [1, 9]\n'
                      '[pipeline]\nderive_from = ""\n')
    full = load_recipe(recipe, ["features.workers=0"], track="EXPR")
    assert full.post.windows == [1, 9] and full.features.workers == 0
    training = full.training()
    assert type(training) is Config and training.model.head == "tcn"
    assert "[post]" not in to_toml(training) and "[features]" not in to_toml(training)
    with pytest.raises(AbawError, match="field post: unknown"):
        load_config(recipe)                               # the trainer reads training sections
    assert diff(training, load_recipe(recipe, ["post.windows=[1]"], track="EXPR")) is None
    assert diff(training, load_recipe(recipe, ["model.hidden=7"], track="EXPR")) == "model.hidden"
    run = tmp_path / "run"                                # written with a whole recipe
    run.mkdir()
    (run / "config.toml").write_text(to_toml(full))
    assert diff(read_run_config(run), training) is None
