"""`abaw train` and `abaw predict` from the command line (in process), and their one-line errors."""

import json

import numpy as np
import pytest
import torch
from train_helpers import make_dataset

from abaw.cli import main
from abaw.core.prediction_set import PredictionSet

torch.set_num_threads(1)


@pytest.fixture
def dataset(tmp_path, monkeypatch):
    index, store = make_dataset(tmp_path / "data", n_videos=4, n_frames=60, n_val=1, n_test=1)
    # the index of this tiny dataset is built by hand; the CLI reads it through load_index
    monkeypatch.setattr("abaw.data.load_index", lambda root, edition=None, **options: index)
    return index, store


def test_train_then_predict(dataset, tmp_path, capsys):
    index, store = dataset
    run = tmp_path / "run"
    recipe = tmp_path / "r.toml"
    recipe.write_text('[model]\nhead = "tcn"\nhidden = 16\nlayers = 2\n'
                      '[optim]\nepochs = 2\nbatch_size = 8\n[data]\nwindow = 16\n')
    args = ["train", "--track", "au", "--recipe", str(recipe), "--root", str(tmp_path / "data"),
            "--features", str(store.path), "--out", str(run), "--set", "optim.lr=0.01", "--quiet"]
    assert main(args) == 0
    assert "best validation score" in capsys.readouterr().out
    saved = (run / "config.toml").read_text()
    assert 'head = "tcn"' in saved and "lr = 0.01" in saved and 'track = "AU"' in saved
    assert json.loads((run / "run.json").read_text())["track"] == "AU"
    assert main(["predict", str(run), "--split", "test"]) == 0
    ps = PredictionSet.load(run / "predictions" / "test.npz")
    assert ps.track == "AU" and ps.outputs.shape[1] == 12
    assert ((ps.outputs >= 0) & (ps.outputs <= 1)).all()           # AU probabilities
    assert np.array_equal(ps.frames, index.sequence("AU", ps.videos[0]).frames)
    # a second train into the same folder without --resume is refused in one line
    with pytest.raises(SystemExit) as e:
        main(args)
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and "--resume" in err and "\n" not in err
    assert main(args + ["--resume"]) == 0                          # finished: nothing to redo


@pytest.mark.parametrize("extra,message", [
    (["--set", "model.hiden=8"], "field model.hiden: unknown"),
    (["--set", "model.head=lstm"], "field model.head: found 'lstm', expected one of"),
    (["--track", "xyz"], "--track: found 'xyz'"),
])
def test_user_mistakes_exit_2_with_one_line(dataset, tmp_path, capsys, extra, message):
    _, store = dataset
    args = ["train", "--track", "va", "--root", str(tmp_path / "data"), "--features",
            str(store.path), "--out", str(tmp_path / "r"), "--quiet"]
    if extra[0] == "--track":
        args[2] = extra[1]
    else:
        args += extra
    with pytest.raises(SystemExit) as e:
        main(args)
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and message in err and "\n" not in err and "Traceback" not in err


def test_predict_of_a_folder_that_is_no_run(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["predict", str(tmp_path), "--split", "val"])
    assert "expected a run folder written by `abaw train`" in capsys.readouterr().err
