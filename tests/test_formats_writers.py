"""Writers: rows and header copied from the template, values decoded and filled as a per-row
reference loop written here says, every layout, atomic files."""

from __future__ import annotations

import numpy as np
import pytest
from formats_cases import (
    VIDEOS,
    id_list,
    key,
    make_preds,
    mtl_list_text,
    required_rows,
    template_text,
    write_list,
)

from abaw import metrics, protocol
from abaw.core.decisions import Decision
from abaw.core.prediction_set import PredictionSet
from abaw.errors import AbawError
from abaw.formats import render, write_submission
from abaw.formats.templates import read_template


def reference_row(frames, outputs, f, policy):
    """Raw outputs of frame f of one video by the fill policy, one row at a time."""
    frames = list(frames)
    if f in frames:
        return outputs[frames.index(f)]
    before = [p for p in frames if p < f]
    after = [p for p in frames if p > f]
    lo, hi = (max(before) if before else None), (min(after) if after else None)
    if policy == "ffill":
        pick = lo if lo is not None else hi
        return outputs[frames.index(pick)]
    if policy == "linear" and lo is not None and hi is not None:
        w = (f - lo) / (hi - lo)
        return (1 - w) * outputs[frames.index(lo)] + w * outputs[frames.index(hi)]
    if lo is None or (hi is not None and hi - f < f - lo):
        return outputs[frames.index(hi)]
    return outputs[frames.index(lo)]


def reference_values(track, edition, raw, thresholds=0.5):
    """Decoded row values as strings would hold them (VA floats, ints)."""
    raw = np.asarray(raw, np.float64)
    if track == "VA":
        return list(np.clip(raw, -1, 1))
    if track == "AU":
        return [int(x) for x in raw >= thresholds]
    if track == "MTL":
        return (list(np.clip(raw[:2], -1, 1)) + [int(np.argmax(raw[2:10]))]
                + [int(x) for x in raw[10:] >= thresholds])
    return [int(np.argmax(raw))]


def parsed_rows(text, keyed=True):
    lines = text.splitlines()
    return lines[0], [line.split(",", 1) if keyed else ["", line] for line in lines[1:]]


SINGLE = [("VA", 8), ("EXPR", 5), ("AU", 10), ("CE", 6), ("MTL", 7), ("LSD", 4), ("EXPR", 6)]


@pytest.mark.parametrize("track,edition", SINGLE)
@pytest.mark.parametrize("policy", ["nearest", "linear", "ffill"])
def test_single_file_values_match_reference(track, edition, policy, tmp_path):
    preds = make_preds(track, edition, drop=0.35, seed=edition)
    tpl = write_list(tmp_path, track, edition, style="dummy" if edition == 6 else "empty")
    w = write_submission(preds, tmp_path / "out.txt", tpl, fill=policy)
    header, rows = parsed_rows(w.path.read_text())
    template_lines = tpl.read_text().splitlines()
    assert header == template_lines[0]
    assert [k for k, _ in rows] == [t.split(",", 1)[0] for t in template_lines[1:]]
    n_filled = 0
    for (k, values), (video, frame) in zip(rows, _template_rows(track), strict=True):
        f, o, _ = preds.video(preds.videos[0] if track == "LSD" else video)
        n_filled += frame not in set(f.tolist())
        want = reference_values(track, edition, reference_row(f, o, frame, policy))
        got = [float(x) for x in values.split(",")]
        assert np.allclose(got, want, atol=5.1e-7), (k, got, want)
    assert sum(w.filled.values()) == n_filled > 0
    assert w.params["fill"] == policy


def _template_rows(track):
    return [(v, int(f)) for v, frames in required_rows(track).items() for f in frames]


def test_hand_computed_fill_policies(tmp_path):
    preds = PredictionSet.from_videos("VA", 8, {"v": ([1, 4], [[0.0, 0.0], [0.3, -0.6]])})
    tpl = tmp_path / "t.txt"
    tpl.write_text("image_location,valence,arousal\n" + "".join(f"{key('v', f)},\n"
                                                             for f in range(1, 6)))
    expected = {
        "nearest": ["0.000000,0.000000", "0.000000,0.000000", "0.300000,-0.600000",
                    "0.300000,-0.600000", "0.300000,-0.600000"],
        "linear": ["0.000000,0.000000", "0.100000,-0.200000", "0.200000,-0.400000",
                   "0.300000,-0.600000", "0.300000,-0.600000"],
        "ffill": ["0.000000,0.000000", "0.000000,0.000000", "0.000000,0.000000",
                  "0.300000,-0.600000", "0.300000,-0.600000"],
    }
    for policy, values in expected.items():
        w = write_submission(preds, tmp_path / f"{policy}.txt", tpl, fill=policy)
        assert [r.split(",", 1)[1] for r in w.path.read_text().splitlines()[1:]] == values
        assert w.filled == {"v": 3}
    with pytest.raises(AbawError, match="v frame 2"):
        write_submission(preds, tmp_path / "e.txt", tpl, fill="error")


def test_crlf_template_is_reproduced(tmp_path):
    tpl = tmp_path / "t.txt"
    tpl.write_bytes(template_text("EXPR", 8).replace("\n", "\r\n").encode())
    w = write_submission(make_preds("EXPR", 8), tmp_path / "o.txt", tpl)
    data = w.path.read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n") == sum(VIDEOS.values()) + 1


def test_missing_video_is_an_error_and_leaves_no_file(tmp_path):
    preds = make_preds("AU", 8)
    rows = {v: f for v, f in required_rows("AU").items() if v != "105"}
    partial = make_preds("AU", 8, rows=rows)
    tpl = write_list(tmp_path, "AU", 8)
    with pytest.raises(AbawError, match="105"):
        write_submission(partial, tmp_path / "o.txt", tpl)
    assert not (tmp_path / "o.txt").exists()
    assert write_submission(preds, tmp_path / "o.txt", tpl).rows == sum(VIDEOS.values())


def test_thresholds_list_dict_scalar_and_provenance(tmp_path):
    names = protocol.AUS_12
    tpl = write_list(tmp_path, "AU", 8)
    base = make_preds("AU", 8, drop=0.0)
    tuned = np.linspace(0.2, 0.8, 12)
    prov = base.replace(decision=Decision(thresholds=tuned.tolist()))
    outs = {
        "list": write_submission(base, tmp_path / "a.txt", tpl, thresholds=list(tuned)),
        "dict": write_submission(base, tmp_path / "b.txt", tpl,
                                 thresholds=dict(zip(names, tuned, strict=True))),
        "provenance": write_submission(prov, tmp_path / "c.txt", tpl),
    }
    want = (base.outputs >= tuned[None, :].astype(np.float64)).astype(int)
    for w in outs.values():
        got = np.array([[int(x) for x in r.split(",")[1:]]
                        for r in w.path.read_text().splitlines()[1:]])
        assert np.array_equal(got, want)
        assert w.params["au_thresholds"]["AU26"] == pytest.approx(0.8)
    w = write_submission(base, tmp_path / "d.txt", tpl, thresholds=0.9)
    assert w.path.read_text().count(",1") == int((base.outputs >= 0.9).sum())
    with pytest.raises(AbawError, match="AU thresholds"):
        write_submission(base, tmp_path / "e.txt", tpl, thresholds={"AU1": 0.3})
    with pytest.raises(AbawError, match="AU thresholds"):
        write_submission(base, tmp_path / "e.txt", tpl, thresholds=[0.5] * 11)


def test_params_say_how_the_values_were_decoded(tmp_path):
    """What the manifest records: fill, decimals and, per block, clip range / argmax / thresholds
    (the per-video layout too)."""
    aus = dict.fromkeys(protocol.AUS_12, 0.5)
    clip = {"va_clip": [-1.0, 1.0]}
    for track, edition, fill, decimals, decoded in [
            ("VA", 8, "ffill", 4, clip), ("EXPR", 8, "nearest", 6, {"classes": "argmax"}),
            ("AU", 8, "linear", 6, {"au_thresholds": aus}),
            ("MTL", 7, "linear", 5, {**clip, "classes": "argmax", "au_thresholds": aus})]:
        out = tmp_path / f"{track}.txt"
        w = write_submission(make_preds(track, edition), out, write_list(tmp_path, track, edition),
                             fill=fill, decimals=decimals)
        assert w.params == {"fill": fill, "decimals": decimals, **decoded}, track
        assert w.path == out and w.files == [out]
    w = write_submission(make_preds("AU", 2), tmp_path / "pv", test_list=list(VIDEOS),
                         lengths=dict(VIDEOS), fill="ffill", decimals=3, thresholds=0.3)
    assert w.params == {"fill": "ffill", "decimals": 3, "layout": "track",
                        "au_thresholds": dict.fromkeys(protocol.AUS_12, 0.3)}


def test_template_header_is_copied_as_spelt(tmp_path):
    """A header naming the right columns in its own spelling is kept byte for byte; a list
    without one (MTL) gets the protocol's."""
    tpl = tmp_path / "t.txt"
    tpl.write_text(template_text("VA", 8).replace("image_location,valence,arousal",
                                                  "Image_Location, Valence, Arousal", 1))
    w = write_submission(make_preds("VA", 8), tmp_path / "va.txt", tpl)
    assert w.path.read_text().splitlines()[0] == "Image_Location, Valence, Arousal"
    bare = tmp_path / "mtl_list.txt"
    bare.write_text(mtl_list_text(with_header=False))
    w = write_submission(make_preds("MTL", 7), tmp_path / "mtl.txt", test_list=bare)
    lines = w.path.read_text().splitlines()
    assert lines[0] == protocol.MTL_HEADER
    assert [r.split(",", 1)[0] for r in lines[1:]] == mtl_list_text(False).replace(",", "").split()


def test_release_order_tracks_take_the_test_list(tmp_path):
    lst = write_list(tmp_path, "MTL", 7)
    preds = make_preds("MTL", 7)
    a = write_submission(preds, tmp_path / "a.txt", test_list=lst).path.read_bytes()
    assert a == write_submission(preds, tmp_path / "b.txt", lst).path.read_bytes()
    with pytest.raises(AbawError, match="found no test list, expected the organisers' test list"):
        write_submission(preds, tmp_path / "c.txt")
    with pytest.raises(AbawError, match="found no template, expected the organisers' template"):
        write_submission(make_preds("VA", 8), tmp_path / "d.txt")


def test_six_decimals_do_not_move_ccc(tmp_path):
    preds = make_preds("VA", 8, drop=0.0, seed=3)
    tpl = write_list(tmp_path, "VA", 8)
    w = write_submission(preds, tmp_path / "o.txt", tpl)
    written = np.array([[float(x) for x in r.split(",")[1:]]
                        for r in w.path.read_text().splitlines()[1:]])
    exact = np.clip(preds.outputs.astype(np.float64), -1, 1)
    truth = np.random.default_rng(0).uniform(-1, 1, exact.shape)
    for c in range(2):
        assert abs(metrics.ccc(written[:, c], truth[:, c])
                   - metrics.ccc(exact[:, c], truth[:, c])) < 1e-6
    with pytest.raises(AbawError, match="decimals"):
        write_submission(preds, tmp_path / "x.txt", tpl, decimals=1)


@pytest.mark.parametrize("layout,folder,policy", [("track", "EXPR", "nearest"),
                                                  ("annotation", "EXPR_Set", "ffill"),
                                                  ("none", "", "linear")])
def test_per_video_files_and_layouts(layout, folder, policy, tmp_path):
    preds = make_preds("EXPR", 2, drop=0.3)
    w = write_submission(preds, tmp_path / "sub", test_list=list(VIDEOS), lengths=dict(VIDEOS),
                         layout=layout, fill=policy)
    where = tmp_path / "sub" / folder if folder else tmp_path / "sub"
    assert sorted(p.name for p in where.glob("*.txt")) == sorted(f"{v}.txt" for v in VIDEOS)
    assert sorted(w.files) == sorted(where / f"{v}.txt" for v in VIDEOS)
    for video, n in VIDEOS.items():
        lines = (where / f"{video}.txt").read_text().splitlines()
        assert lines[0] == ",".join(protocol.EXPR_CLASSES_7)       # the 7-class header of ed. 2
        f, o, _ = preds.video(video)
        want = [int(np.argmax(reference_row(f, o, k, policy))) for k in range(1, n + 1)]
        assert [int(x) for x in lines[1:]] == want
    assert w.rows == sum(VIDEOS.values()) and sum(w.filled.values()) > 0


def test_per_video_ids_and_order_come_from_the_test_list_file(tmp_path):
    ids = list(reversed(VIDEOS))[:3]               # a list in its own order, one video fewer
    w = write_submission(make_preds("VA", 3), tmp_path / "s", test_list=id_list(tmp_path, ids),
                         lengths=dict(VIDEOS), layout="none")
    assert w.files == [tmp_path / "s" / f"{v}.txt" for v in ids]
    assert sorted(p.name for p in (tmp_path / "s").glob("*.txt")) == sorted(f"{v}.txt" for v in ids)
    assert w.rows == sum(VIDEOS[v] for v in ids)


def test_edition1_au_has_eight_columns(tmp_path):
    w = write_submission(make_preds("AU", 1), tmp_path / "s", test_list=list(VIDEOS),
                         lengths=dict(VIDEOS), layout="none")
    lines = (w.path / "105.txt").read_text().splitlines()
    assert lines[0] == ",".join(protocol.AUS_8)
    assert all(len(r.split(",")) == 8 for r in lines[1:])


def test_per_video_needs_lengths_for_every_id(tmp_path):
    preds = make_preds("VA", 3)
    with pytest.raises(AbawError, match="lengths"):
        write_submission(preds, tmp_path / "s", test_list=list(VIDEOS))
    with pytest.raises(AbawError, match="^VA: found no length for 1 test id"):
        write_submission(preds, tmp_path / "s", test_list=list(VIDEOS) + ["999"],
                         lengths=dict(VIDEOS))
    with pytest.raises(AbawError, match="^VA: found no test ids, expected --test-list or --root"):
        write_submission(preds, tmp_path / "s", lengths={})
    with pytest.raises(AbawError, match="found 'flat', expected one of track, annotation, none"):
        write_submission(preds, tmp_path / "s", test_list=list(VIDEOS), lengths=dict(VIDEOS),
                         layout="flat")
    assert not (tmp_path / "s").exists()


def test_failed_write_keeps_the_previous_file_and_leaves_no_temp(tmp_path, monkeypatch):
    tpl = write_list(tmp_path, "EXPR", 8)
    out = tmp_path / "o.txt"
    write_submission(make_preds("EXPR", 8), out, tpl)
    before = out.read_bytes()

    def boom(self):
        raise KeyboardInterrupt
    monkeypatch.setattr(render.Rows, "render", boom)
    with pytest.raises(KeyboardInterrupt):
        write_submission(make_preds("EXPR", 8, seed=5), out, tpl)
    with pytest.raises(KeyboardInterrupt):
        write_submission(make_preds("EXPR", 2), tmp_path / "pv", test_list=list(VIDEOS),
                         lengths=dict(VIDEOS))
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([tpl.name, "o.txt"])


def test_prediction_set_checks(tmp_path):
    tpl = write_list(tmp_path, "EXPR", 8)
    seven = make_preds("EXPR", 2)                      # 7 classes written for edition 8
    with pytest.raises(AbawError, match="columns"):
        write_submission(seven, tmp_path / "o.txt", tpl, edition=8)
    bad = make_preds("EXPR", 8)
    bad.outputs[3, 2] = np.nan
    with pytest.raises(AbawError, match="NaN"):
        write_submission(bad, tmp_path / "o.txt", tpl)
    with pytest.raises(AbawError, match="template"):
        write_submission(make_preds("EXPR", 8), tmp_path / "o.txt")
    two = make_preds("LSD", 4, rows={"a": np.arange(1, 24), "b": np.arange(1, 24)})
    with pytest.raises(AbawError, match="found 2 sequences, expected one"):
        write_submission(two, tmp_path / "o.txt", write_list(tmp_path, "LSD", 4))


def test_template_reader_keeps_header_and_rows(tmp_path):
    tpl = read_template(write_list(tmp_path, "VA", 6, style="dummy"))
    assert tpl.header == "image_location,valence,arousal" and tpl.value_style == "dummy"
    assert tpl.videos == list(VIDEOS) and tpl.lengths() == VIDEOS
