"""`abaw report` and `abaw eval` on real run folders of the tiny twin: every figure is a PNG file
the page embeds and links, and the tables hold the numbers computed here independently."""

import base64
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from abaw import pipeline, protocol
from abaw.core.prediction_set import PredictionSet
from abaw.data import load_index
from abaw.post.params import PostParams
from abaw.report import write_report
from tracks import get_track

FAST = ["optim.epochs=2", "post.kinds=[\"mean\", \"median\"]", "post.windows=[1, 5, 9]",
        "features.backbones=[\"efficientnet-b0\"]", "features.workers=0"]
RUNS = {"expr-kfold": ("expr", 8, ["run.folds=2"]), "va": ("va", 8, []), "au": ("au", 8, []),
        "mtl": ("mtl", 4, []), "lsd": ("lsd", 4, [])}
FIGURES = {"expr-kfold": ["training", "sweep", "confusion"],
           "va": ["training", "sweep", "va_density", "va_per_video", "va_timelines"],
           "au": ["training", "sweep", "aus"],
           "mtl": ["training", "sweep", "confusion", "aus", "va_density", "va_per_video",
                   "va_timelines"],
           "lsd": ["training", "sweep", "confusion"]}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    import torch

    from abaw.data.synth import synthesize
    from abaw.features.tiny import write_tiny

    torch.set_num_threads(1)
    base = tmp_path_factory.mktemp("report")
    weights = write_tiny("efficientnet-b0", base / "tiny-effnet")
    roots = {8: synthesize(base / "ed8", edition=8, size="tiny", seed=2),
             4: synthesize(base / "ed4", edition=4, size="tiny", seed=2)}
    over = [*FAST, f'features.weights={{"efficientnet-b0" = "{weights}"}}']
    out = {}
    for name, (track, ed, extra) in RUNS.items():
        o = pipeline.run_track(get_track(track), roots[ed], recipe="demo", overrides=over + extra,
                               work=base / "runs" / name, out=base / "subs" / name, quiet=True)
        out[name] = (Path(o.run_dir), roots[ed], o)
    return out


@pytest.fixture(scope="module")
def reports(runs, tmp_path_factory):
    """name -> (index.html, analysis, report folder), each run's report written once."""
    base = tmp_path_factory.mktemp("pages")
    out = {}
    for name, (run_dir, _, _) in runs.items():
        page, analysis = write_report(run_dir, base / name, draws=200)
        out[name] = (page, analysis, base / name)
    return out


@pytest.mark.parametrize("name", list(RUNS))
def test_the_page_embeds_and_links_every_figure(reports, name):
    page, _, folder = reports[name]
    text = page.read_text()
    data = json.loads((folder / "report.json").read_text())
    assert data["figures"] == [f"{f}.png" for f in FIGURES[name]]
    for f in FIGURES[name]:
        png = (folder / f"{f}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert f'href="{f}.png"' in text
        assert f"data:image/png;base64,{base64.b64encode(png).decode()}" in text
    assert "cross-fitted" in text and "in-sample" in text and "Provenance" in text
    assert ("out-of-fold" in text) == (name == "expr-kfold")
    assert "includes the epoch choice" in text or name == "expr-kfold"


def val_truth(root, track, edition):
    """video -> (frames, labels) of the validation split, straight from the index."""
    index = load_index(root)
    return {v: (index.sequence(track, v).frames, index.sequence(track, v).labels)
            for v in index.ids(track, "val")}


def decided_rows(run_dir, root, track, edition, folds=0):
    """(outputs after the run's post-processing, labels) at every annotated validation frame,
    the k-fold predictions combined by hand from each fold's held-out list."""
    if folds:
        per_video = {}
        for i in range(folds):
            held = json.loads((run_dir / f"fold{i}" / "run.json").read_text())["val_ids"]
            ps = PredictionSet.load(run_dir / f"fold{i}" / "predictions" / "val.npz")
            per_video.update({v: ps.video(v) for v in ps.videos if v in held})
        first = PredictionSet.load(run_dir / "fold0" / "predictions" / "val.npz")
        val = PredictionSet.from_videos(first.track, first.edition, per_video, first.columns)
    else:
        val = PredictionSet.load(run_dir / "predictions" / "val.npz")
    post = PostParams.load(run_dir / "post.json")
    val = post.apply(val)
    outs, labs = [], []
    for v, (frames, labels) in val_truth(root, track, edition).items():
        f, o, _ = val.video(v)
        pos = np.searchsorted(f, frames)
        outs.append(o[pos])
        labs.append(np.asarray(labels, np.float64).reshape(len(frames), -1))
    return np.concatenate(outs), np.concatenate(labs), post


def test_class_tables_equal_sklearn(runs, reports):
    run_dir, root, outcome = runs["expr-kfold"]
    page, a, folder = reports["expr-kfold"]
    out, lab, post = decided_rows(run_dir, root, "EXPR", 8, folds=2)
    ok = lab[:, 0] >= 0
    true, pred = lab[ok, 0].astype(int), np.argmax(out[ok], axis=1)   # the bias is folded in
    labels = list(range(len(protocol.EXPR_CLASSES_8)))
    p, r, f, s = precision_recall_fscore_support(true, pred, labels=labels, zero_division=0)
    t = json.loads((folder / "report.json").read_text())["classes"]
    np.testing.assert_array_equal(t["confusion"], confusion_matrix(true, pred, labels=labels))
    np.testing.assert_allclose(t["precision"], p, atol=1e-12)
    np.testing.assert_allclose(t["recall"], r, atol=1e-12)
    np.testing.assert_allclose(t["f1"], f, atol=1e-12)
    np.testing.assert_array_equal(t["support"], s)
    text = page.read_text()
    for name, pr, rc, f1 in zip(protocol.EXPR_CLASSES_8, p, r, f, strict=True):
        assert f"<td>{name}</td><td class=n>{pr:.4f}</td><td class=n>{rc:.4f}</td>" \
               f"<td class=n>{f1:.4f}</td>" in text
    scores = {x.name: x.value for x in a.scores}
    assert scores["post-processed, in-sample"] == pytest.approx(f.mean(), abs=1e-12)
    assert scores["post-processed, in-sample"] == pytest.approx(outcome.val_post, abs=1e-12)
    assert scores["raw"] == pytest.approx(outcome.val_raw, abs=1e-12)
    fold_best = [max(e["val"] for e in json.loads((run_dir / f"fold{i}" / "log.json")
                                                   .read_text())) for i in range(2)]
    row = next(x for x in a.scores if x.name.startswith("folds"))
    assert row.value == pytest.approx(np.mean(fold_best)) and \
        row.sd == pytest.approx(np.std(fold_best, ddof=1))


def test_au_table_equals_sklearn(runs, reports):
    run_dir, root, _ = runs["au"]
    page, _, folder = reports["au"]
    out, lab, post = decided_rows(run_dir, root, "AU", 8)
    ok = (lab != -1).all(axis=1)
    true, pred = lab[ok] == 1, out[ok] >= np.asarray(post.thresholds)
    t = json.loads((folder / "report.json").read_text())["aus"]
    want = [f1_score(true[:, j], pred[:, j], zero_division=0) for j in range(true.shape[1])]
    np.testing.assert_allclose(t["f1"], want, atol=1e-12)
    np.testing.assert_allclose(t["threshold"], post.thresholds)
    np.testing.assert_allclose(t["rate_true"], true.mean(axis=0))
    np.testing.assert_allclose(t["rate_pred"], pred.mean(axis=0))
    for name, v in zip(t["names"], want, strict=True):
        assert f"<td>{name}</td><td class=n>{v:.4f}</td>" in page.read_text()


def test_ccc_per_video_equals_its_formula(runs, reports):
    run_dir, root, _ = runs["va"]
    t = json.loads((reports["va"][2] / "report.json").read_text())["va"]
    post = PostParams.load(run_dir / "post.json")
    val = post.apply(PredictionSet.load(run_dir / "predictions" / "val.npz"))
    for v, (frames, labels) in val_truth(root, "VA", 8).items():
        f, o, _ = val.video(v)
        x = np.clip(o[np.searchsorted(f, frames)], -1, 1).astype(np.float64)
        y = np.asarray(labels, np.float64)
        ok = (y != -5).all(axis=1)
        for d, key in enumerate(("CCC_V", "CCC_A")):
            a, b = x[ok, d], y[ok, d]
            want = 2 * np.cov(a, b, bias=True)[0, 1] / (a.var() + b.var() + (a.mean() - b.mean())
                                                          ** 2)
            assert t[key][t["videos"].index(v)] == pytest.approx(want, abs=1e-9)


def test_eval_reads_a_kfold_run_and_keeps_every_digit_in_a_pipe(runs, tmp_path):
    run_dir, root, outcome = runs["expr-kfold"]
    res = subprocess.run([sys.executable, "-m", "abaw", "eval", "--root", str(root), "--pred",
                          str(run_dir), "--report", str(tmp_path / "r")],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert f"{outcome.val_raw:.4f}" in res.stdout and f"{outcome.val_post:.4f}" in res.stdout
    # a long cell whole on one line: nothing cut at 80 columns when not a terminal
    assert "tuned on 1 of 2 video groups, scored on the held-out one" in res.stdout
    assert "…" not in res.stdout
    assert (tmp_path / "r" / "index.html").is_file()
    assert (tmp_path / "r" / "confusion.png").is_file()


def test_report_command_and_a_fast_help(runs, tmp_path):
    run_dir, _, _ = runs["lsd"]
    res = subprocess.run([sys.executable, "-m", "abaw", "report", str(run_dir), "--out",
                          str(tmp_path / "r"), "--quiet"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"wrote {tmp_path / 'r' / 'index.html'}"
    res = subprocess.run([sys.executable, "-m", "abaw", "report", str(tmp_path)],
                         capture_output=True, text=True)
    assert res.returncode != 0 and res.stderr.count("\n") == 1 and "run folder" in res.stderr
    code = ("import sys, abaw.cli.report, abaw.report, abaw.report.run, abaw.report.analysis; "
            "assert 'matplotlib' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
