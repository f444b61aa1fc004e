"""`abaw eval`: scores of prediction sets and of submission-format files against a hand-built
validation index agree with abaw.metrics on independently decoded, concatenated arrays."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from formats_cases import MTL_FRAMES, VIDEOS, make_preds
from test_formats_writers import reference_row, reference_values

from abaw import metrics, protocol
from abaw.cli import main
from abaw.data.index import DatasetIndex, Sequence
from abaw.errors import AbawError
from abaw.formats import write_submission
from abaw.formats.evaluate import evaluate_predictions
from abaw.formats.reader import read_official
from abaw.formats.templates import template_from_rows

LSD_N = 30


def labels(track, n, rng, edition=8):
    if track == "VA":
        y = rng.uniform(-1, 1, (n, 2))
        y[rng.random(n) < 0.15] = -5
    elif track in ("EXPR", "CE", "LSD"):
        k = {"EXPR": len(protocol.expr_classes(edition)), "CE": 7, "LSD": 6}[track]
        y = rng.integers(0, k, (n, 1)).astype(float)
        y[rng.random(n) < 0.15] = -1
    elif track == "AU":
        y = rng.integers(0, 2, (n, 12)).astype(float)
        y[rng.random(n) < 0.15] = -1
    else:   # MTL: each task masked on its own
        y = np.column_stack([labels("VA", n, rng), labels("EXPR", n, rng), labels("AU", n, rng)])
    return y.astype(np.float32)


def make_index(tmp, edition=8, seed=0) -> DatasetIndex:
    rng = np.random.default_rng(seed)
    seqs = {}
    for track in ("VA", "EXPR", "AU"):
        seqs[track] = {v: Sequence(v, track, "val", np.arange(1, n + 1),
                                   labels(track, n, rng, edition)) for v, n in VIDEOS.items()}
        seqs[track]["train_only"] = Sequence("train_only", track, "train", np.arange(1, 5),
                                             labels(track, 4, rng))
    seqs["MTL"] = {v: Sequence(v, "MTL", "val", np.array(f), labels("MTL", len(f), rng))
                   for v, f in MTL_FRAMES.items()}
    seqs["LSD"] = {"val": Sequence("val", "LSD", "val", np.arange(1, LSD_N + 1),
                                   labels("LSD", LSD_N, rng),
                                   images=[f"validation_set_real_images/ANGER/{i}.jpg"
                                           for i in range(LSD_N)])}
    return DatasetIndex(tmp, edition, "test", seqs)


def val_rows(index, track):
    return {i: index.sequence(track, i).frames for i in index.ids(track, "val")}


def reference_score(index, track, edition, preds, videos=None):
    """Decode row by row (nearest fill), concatenate, score with abaw.metrics."""
    pred, true = [], []
    for vid in videos or index.ids(track, "val"):
        seq = index.sequence(track, vid)
        f, o, _ = preds.video(vid)
        for frame in seq.frames:
            pred.append(reference_values(track, edition, reference_row(f, o, int(frame),
                                                                        "nearest")))
        true.append(seq.labels)
    pred, true = np.array(pred), np.concatenate(true)
    if track == "MTL":
        return metrics.score("MTL", edition, {"VA": pred[:, :2], "EXPR": pred[:, 2],
                                              "AU": pred[:, 3:]},
                             {"VA": true[:, :2], "EXPR": true[:, 2], "AU": true[:, 3:]})
    if track in ("EXPR", "LSD"):
        return metrics.score(track, edition, pred[:, 0], true[:, 0])
    return metrics.score(track, edition, pred, true)


CASES = [("VA", 8), ("EXPR", 8), ("AU", 8), ("EXPR", 2), ("AU", 1), ("MTL", 7), ("LSD", 4)]


@pytest.mark.parametrize("track,edition", CASES)
def test_prediction_set_score_matches_metrics(track, edition, tmp_path):
    index = make_index(tmp_path, edition)
    if track == "AU" and edition == 1:                 # 8 AUs in edition 1
        for s in index.sequences["AU"].values():
            s.labels = s.labels[:, :8]
    preds = make_preds(track, edition, drop=0.3, rows=val_rows(index, track))
    ev = evaluate_predictions(index, preds)
    want = reference_score(index, track, edition, preds)
    assert ev.score.value == pytest.approx(want.value, abs=1e-12)
    assert ev.score.parts == pytest.approx(want.parts, abs=1e-12)
    assert ev.score.frames == want.frames and ev.videos == len(index.ids(track, "val"))
    assert ev.filled > 0


@pytest.mark.parametrize("track,edition", [("VA", 8), ("EXPR", 8), ("AU", 8), ("MTL", 7),
                                           ("LSD", 4), ("VA", 3), ("EXPR", 3)])
def test_submission_format_file_scores_like_the_prediction_set(track, edition, tmp_path):
    index = make_index(tmp_path, edition)
    rows = val_rows(index, track)
    preds = make_preds(track, edition, drop=0.2, rows=rows)
    r = protocol.rules(track, edition)
    if r.submission == "per_video":
        out = write_submission(preds, tmp_path / "val", test_list=list(rows),
                               lengths={v: len(f) for v, f in rows.items()}).path
    elif track == "LSD":
        names = [p.rsplit("/", 1)[1] for p in index.sequence("LSD", "val").images]
        tpl = tmp_path / "lsd_list.txt"
        tpl.write_text("\n".join([protocol.LSD_HEADER] + names) + "\n")
        out = write_submission(preds, tmp_path / "val.txt", tpl).path
    else:
        tpl = template_from_rows(list(rows), list(rows.values()), r.prediction_header)
        out = write_submission(preds, tmp_path / "val.txt", tpl).path
    from_file = evaluate_predictions(index, read_official(out, track, edition))
    from_set = evaluate_predictions(index, preds)
    assert from_file.score.value == pytest.approx(from_set.score.value, abs=2e-6)
    assert from_file.score.frames == from_set.score.frames and from_file.filled == 0


@pytest.mark.parametrize("how", ["absent", "no rows"])
def test_missing_video_is_an_error_unless_allowed(how, tmp_path):
    index = make_index(tmp_path)
    rows = {v: f for v, f in val_rows(index, "EXPR").items() if v != "105"}
    preds = make_preds("EXPR", 8, rows=rows)
    if how == "no rows":             # listed in the set with no frame (as a saved set can be)
        preds = preds.replace(videos=[*preds.videos, "105"],
                              offsets=np.append(preds.offsets, preds.offsets[-1]))
    with pytest.raises(AbawError, match="105"):
        evaluate_predictions(index, preds)
    ev = evaluate_predictions(index, preds, allow_missing=True)
    assert ev.missing == ["105"] and ev.videos == len(VIDEOS) - 1
    want = reference_score(index, "EXPR", 8, preds, videos=list(rows))
    assert ev.score.value == pytest.approx(want.value, abs=1e-12)


def test_missing_video_in_a_submission_file_names_the_file(tmp_path):
    index = make_index(tmp_path)
    rows = {v: f for v, f in val_rows(index, "VA").items() if v != "105"}
    tpl = template_from_rows(list(rows), list(rows.values()), protocol.rules("VA", 8)
                             .prediction_header)
    out = write_submission(make_preds("VA", 8, rows=rows), tmp_path / "val.txt", tpl).path
    with pytest.raises(AbawError, match=re.escape(f"{out}: found no predictions for 1 required video")):
        evaluate_predictions(index, read_official(out, "VA", 8))


def test_predictions_on_invalid_frames_are_ignored(tmp_path):
    index = make_index(tmp_path)
    preds = make_preds("VA", 8, drop=0.0, rows=val_rows(index, "VA"))
    invalid = sum(int((~index.valid("VA", v)).sum()) for v in index.ids("VA", "val"))
    ev = evaluate_predictions(index, preds)
    assert ev.ignored == invalid > 0 and ev.score.masked == invalid
    changed = preds.replace(outputs=preds.outputs.copy())
    for v in index.ids("VA", "val"):                 # any value on invalid frames: same score
        rows = preds.rows(v)
        bad = ~index.valid("VA", v)
        changed.outputs[rows.start:rows.stop][bad] = 0.9
    assert evaluate_predictions(index, changed).score.value == pytest.approx(ev.score.value)


def test_eval_command_json_and_table(tmp_path, monkeypatch, capsys):
    index = make_index(tmp_path)
    monkeypatch.setattr("abaw.data.load_index", lambda root, edition: index)
    preds = make_preds("AU", 8, rows=val_rows(index, "AU"))
    npz = preds.save(tmp_path / "run" / "predictions" / "val.npz")
    want = reference_score(index, "AU", 8, preds)
    main(["eval", "--split", "val", "--track", "au", "--root", str(tmp_path),
          "--pred", str(tmp_path / "run"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["score"] == pytest.approx(want.value, abs=1e-12)
    assert out["frames_used"] == want.frames and out["metric"] == "au_f1"
    main(["eval", "--root", str(tmp_path), "--pred", str(npz)])
    table = capsys.readouterr().out
    assert "F1_AU12" in table and f"{want.value:.4f}" in table


def test_eval_command_errors_are_one_line(tmp_path, monkeypatch, capsys):
    index = make_index(tmp_path)
    monkeypatch.setattr("abaw.data.load_index", lambda root, edition: index)
    rows = {v: f for v, f in val_rows(index, "VA").items() if v != "105"}
    npz = make_preds("VA", 8, rows=rows).save(tmp_path / "va.npz")
    with pytest.raises(SystemExit) as e:
        main(["eval", "--root", str(tmp_path), "--pred", str(npz)])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and "105" in err
    main(["eval", "--root", str(tmp_path), "--pred", str(npz), "--allow-missing", "--json"])
    assert json.loads(capsys.readouterr().out)["missing_videos"] == ["105"]
