"""On the tiny synthetic twin of every edition: every track is written, validated and packed from
the twin's own templates / test lists, and `abaw eval` on the validation split agrees with
abaw.metrics on independently decoded arrays."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from abaw import metrics, protocol
from abaw.cli import main
from abaw.core.prediction_set import PredictionSet
from abaw.data import load_index
from abaw.data.synth import synthesize
from abaw.formats import validate
from abaw.formats.evaluate import evaluate_predictions
from abaw.formats.package import submit

# editions 1-4 need the crops / videos / images to know their test rows; the others do not
NEEDS_IMAGES = (1, 2, 3, 4)


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    made = {}

    def get(edition):
        if edition not in made:
            root = synthesize(tmp_path_factory.mktemp(f"ed{edition}") / "twin", edition,
                              size="tiny", seed=edition, images=edition in NEEDS_IMAGES)
            made[edition] = (root, load_index(root, edition, cache=False))
        return made[edition]
    return get


def random_set(index, track, edition, split, seed=0, drop=0.2) -> PredictionSet:
    rng = np.random.default_rng(seed)
    k = len(protocol.rules(track, edition).names)
    per = {}
    for i in index.ids(track, split):
        frames = np.asarray(index.sequence(track, i).frames)
        keep = rng.random(len(frames)) >= drop
        keep[0] = True
        out = rng.uniform(-1, 1, (int(keep.sum()), k)) if track == "VA" else \
            rng.random((int(keep.sum()), k))
        per[i] = (frames[keep], out)
    return PredictionSet.from_videos(track, edition, per, provenance={"run": "twin"})


def rows_file(root, track, edition):
    """The twin's template or test list for a single-file track (None: per-video editions)."""
    r = protocol.rules(track, edition)
    if r.submission == "per_video":
        return None
    lists = {"MTL": protocol.MTL_TEST_LIST, "LSD": protocol.LSD_TEST_LIST}
    name = lists[track] if track in lists else protocol.template_name(track, edition)
    found = sorted(root.rglob(name))
    assert len(found) == 1, (name, found)
    return found[0]


@pytest.mark.parametrize("edition", sorted(protocol.EDITIONS))
def test_every_track_writes_validates_and_packs(edition, twin, tmp_path):
    root, index = twin(edition)
    for track in protocol.tracks_of(edition):
        preds = random_set(index, track, edition, "test", seed=edition)
        source = rows_file(root, track, edition)
        sub = submit(preds, tmp_path / track, template=source, root=index)
        assert sub.report.valid, (track, sub.report.text_lines())
        n_rows = sum(len(index.sequence(track, i).frames) for i in index.ids(track, "test"))
        assert sub.report.checked["rows"] == n_rows
        assert sub.manifest["post_processing"]["filled_frames"] > 0
        # the zip alone, against the index's test rows (no template given)
        assert validate(sub.zip_path, track, edition, root=index).valid, track
        with zipfile.ZipFile(sub.zip_path) as z:
            assert len(z.namelist()) == len(sub.written.files)


def scoring_cases():
    return [(e, t) for e in sorted(protocol.EDITIONS) for t in protocol.tracks_of(e)
            if t != "CE"]                              # CE has no annotated split


def decoded(track, edition, outputs):
    """Decoding written here from the protocol: clip, argmax, >= 0.5."""
    o = np.asarray(outputs, np.float64)
    if track == "VA":
        return np.clip(o, -1, 1)
    if track == "AU":
        return (o >= 0.5).astype(int)
    if track == "MTL":
        return {"VA": np.clip(o[:, :2], -1, 1), "EXPR": o[:, 2:10].argmax(1),
                "AU": (o[:, 10:] >= 0.5).astype(int)}
    return o.argmax(1)


def truth(track, labels):
    if track == "MTL":
        return {"VA": labels[:, :2], "EXPR": labels[:, 2], "AU": labels[:, 3:]}
    return labels[:, 0] if labels.shape[1] == 1 else labels


@pytest.mark.parametrize("edition,track", scoring_cases())
def test_eval_agrees_with_metrics_on_the_val_split(edition, track, twin):
    _, index = twin(edition)
    preds = random_set(index, track, edition, "val", seed=1, drop=0.0)
    collector = metrics.MetricCollector(track, edition)
    for i in index.ids(track, "val"):
        f, o, _ = preds.video(i)
        assert np.array_equal(f, index.sequence(track, i).frames)
        collector.add(i, decoded(track, edition, o), truth(track, index.sequence(track, i).labels))
    want = collector.compute()
    got = evaluate_predictions(index, preds).score
    assert got.value == pytest.approx(want.value, abs=1e-12)
    assert got.parts == pytest.approx(want.parts, abs=1e-12)


def test_eval_command_on_the_twin_root(twin, tmp_path, capsys):
    root, index = twin(8)
    preds = random_set(index, "EXPR", 8, "val", seed=2, drop=0.1)
    run = tmp_path / "run"
    preds.save(run / "predictions" / "val.npz")
    main(["eval", "--split", "val", "--track", "expr", "--root", str(root), "--pred", str(run),
          "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["score"] == pytest.approx(evaluate_predictions(index, preds).score.value)
    assert out["filled_frames"] > 0 and out["frames_used"] + out["frames_masked"] == sum(
        len(index.sequence("EXPR", i).frames) for i in index.ids("EXPR", "val"))


def test_validate_command_with_the_twin_root(twin, tmp_path, capsys):
    root, index = twin(3)
    sub = submit(random_set(index, "VA", 3, "test"), tmp_path, root=index, layout="annotation")
    argv = ["validate", str(sub.zip_path), "--track", "va", "--edition", "3", "--root", str(root)]
    main(argv)                                         # valid: returns, no SystemExit
    assert "valid VA submission" in capsys.readouterr().out
    with zipfile.ZipFile(sub.zip_path) as z:           # drop the last row of one video
        members = {n: z.read(n) for n in z.namelist()}
    name = sorted(members)[0]
    members[name] = members[name][:members[name].rstrip(b"\n").rfind(b"\n") + 1]
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    with pytest.raises(SystemExit) as e:
        main(argv[:1] + [str(bad)] + argv[2:])
    assert e.value.code == 1 and "per-video lengths [length]: 1" in capsys.readouterr().out
