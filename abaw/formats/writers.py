"""Writers: a prediction set -> the submission file(s) of a track in an edition (protocol §4).

- Editions 1-3, VA / EXPR / AU: one `<video>.txt` per test video or person, the edition's header,
  one line per frame 1..N (N from the dataset index or a `lengths` dict), in a folder whose layout
  is an option (`protocol.UNSURE["per_video_folder"]`: under `VA/`, under `VA_Set/`, or flat).
- Editions 5+, VA / EXPR / AU, and CE: one file reproducing the template row for row: its header
  and keys are copied byte for byte, its line end kept, the values filled from the prediction set.
- MTL and LSD: one file in the release order of the test list, same mechanism.

Values: VA clipped to [-1, 1] with `decimals` fixed decimals; classes by argmax; AUs by per-AU
thresholds (`abaw.core.decisions`, with the set's decision). Frames the prediction set lacks are filled by a named policy and
counted in `Written.filled`; a missing video is an error. Files appear atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from abaw import protocol
from abaw.atomic import atomic_folder, write_bytes
from abaw.core.decisions import DEFAULT_THRESHOLD, check_outputs, decide_blocks, with_thresholds
from abaw.core.layout import layout as output_layout
from abaw.errors import AbawError
from abaw.formats import align as al
from abaw.formats import render
from abaw.formats.templates import Template, read_test_list, template_for

DEFAULT_DECIMALS = 6      # 1e-6 rounding moves a CCC by far less than its reported precision


@dataclass
class Written:
    path: Path                                   # the file, or the folder of per-video files
    files: list[Path]
    rows: int
    filled: dict = field(default_factory=dict)   # video -> frames filled by the fill policy
    params: dict = field(default_factory=dict)   # how raw outputs were decoded (for manifests)


def per_video_folder(track: str, edition: int, layout: str | None) -> str:
    """Sub-folder of per-video files: 'track' -> VA, 'annotation' -> VA_Set, 'none' -> ''."""
    choice = protocol.UNSURE["per_video_folder"]
    layout = layout or choice.default
    if layout not in choice.alternatives:
        raise AbawError(f"layout: found {layout!r}, expected one of "
                        f"{', '.join(choice.alternatives)}")
    r = protocol.rules(track, edition)
    return {"track": r.track, "annotation": r.task_folder or r.track, "none": ""}[layout]


def _check_columns(preds, track: str, edition: int) -> None:
    expected = tuple(protocol.rules(track, edition).names)
    if tuple(preds.columns) != expected:
        raise AbawError(f"{preds.origin}: found columns {','.join(preds.columns)}, expected "
                        f"{','.join(expected)} for {track} in edition {edition}")


def _params(lay, decision, fill, decimals, layout=None) -> dict:
    p = {"fill": fill, "decimals": decimals}
    for b in lay.blocks:
        if b.kind == "values":
            p["va_clip"] = list(protocol.VA_RANGE)
        elif b.kind == "classes":
            p["classes"] = "argmax"
        else:
            t = decision.thresholds or (DEFAULT_THRESHOLD,) * b.size
            p["au_thresholds"] = dict(zip(b.names, t, strict=True))
    if layout is not None:
        p["layout"] = layout
    return p


def _decided(preds, lay, outputs, thresholds):
    """(the decisions written, by block; the decision used) for aligned raw outputs."""
    decision = with_thresholds(preds.decision, thresholds, lay)
    return decide_blocks(lay, check_outputs(lay, outputs), decision), decision


def write_submission(preds, out, template=None, test_list=None, lengths=None, *,
                     edition: int | None = None, fill: str = al.DEFAULT_FILL, thresholds=None,
                     decimals: int = DEFAULT_DECIMALS, layout: str | None = None) -> Written:
    """Write `preds` (a PredictionSet) in the official format of its track and `edition`.

    template: path or Template (editions 5+, CE; MTL / LSD: the test list, also accepted as
    `test_list`). test_list / lengths: editions 1-3 — the ids (a file or a list) and a dict
    id -> number of frames, or a DatasetIndex whose test sequences give both.
    """
    track = preds.track
    edition = preds.edition if edition is None else edition
    r = protocol.rules(track, edition)
    _check_columns(preds, track, edition)
    decimals = render.decimals_ok(decimals)
    if r.submission == "per_video":
        return _write_per_video(preds, Path(out), r, test_list, lengths, fill, thresholds,
                                decimals, layout)
    source = template if template is not None else test_list
    if source is None:
        what = "test list" if r.submission == "release_order" else "template"
        raise AbawError(f"{track} edition {edition}: found no {what}, expected the organisers' "
                        f"{what} file (its rows and header are copied)")
    tpl = template_for(source, r)             # refused when it is another track's template
    return _write_single(preds, Path(out), r, tpl, fill, thresholds, decimals)


def _write_single(preds, out: Path, r, tpl: Template, fill, thresholds, decimals) -> Written:
    if tpl.image_level:
        if len(preds.videos) != 1:
            raise AbawError(f"{preds.origin}: found {len(preds.videos)} sequences, expected one "
                            f"(the rows of the image list {tpl.name}, numbered from 1)")
        videos = list(preds.videos)
    else:
        videos = tpl.videos
    aligned = al.align(preds, videos, tpl.video_of_row, tpl.frames, fill)
    lay = output_layout(r.track, r.edition)
    values, decision = _decided(preds, lay, aligned.outputs, thresholds)
    rows = render.Rows(len(tpl)).key(tpl.lines.buf, tpl.row_start, tpl.key_len)
    render.value_rows(rows, lay, values, decimals).const(tpl.newline)
    header = tpl.header if tpl.header is not None else r.prediction_header
    data = header.encode("utf-8") + tpl.newline + rows.render()
    write_bytes(out, data)
    params = _params(lay, decision, fill, decimals)
    return Written(out, [out], len(tpl), aligned.filled_per_video, params)


def per_video_lengths(track: str, lengths=None, test_list=None, where: str = "") -> dict[str, int]:
    """Editions 1-3: test id -> number of frames, in test-list order when a list is given."""
    if lengths is not None and not isinstance(lengths, dict):          # a DatasetIndex
        index = lengths
        lengths = {i: len(index.sequence(track, i).frames) for i in index.ids(track, "test")}
    if test_list is not None:
        ids = list(test_list) if isinstance(test_list, list | tuple) else read_test_list(test_list)
    elif lengths:
        ids = list(lengths)
    else:
        raise AbawError(f"{track}{where}: found no test ids, expected --test-list or --root "
                        "(a dataset whose test videos give the ids and lengths)")
    if lengths is None:
        return {i: -1 for i in ids}          # ids only: lengths unknown
    unknown = [i for i in ids if i not in lengths]
    if unknown:
        raise AbawError(f"{track}{where}: found no length for {len(unknown)} test id(s), e.g. "
                        f"{', '.join(unknown[:3])}; expected every listed video in the dataset")
    return {i: int(lengths[i]) for i in ids}


def _write_per_video(preds, out: Path, r, test_list, lengths, fill, thresholds, decimals,
                     folder_layout) -> Written:
    if lengths is None:
        raise AbawError(f"{r.track} edition {r.edition}: found no per-video lengths, expected "
                        "--root (a dataset with the test videos) or a lengths table")
    n_frames = per_video_lengths(r.track, lengths, test_list)
    videos = list(n_frames)
    counts = np.array([n_frames[v] for v in videos], np.int64)
    video_of_row = np.repeat(np.arange(len(videos), dtype=np.int32), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    frames = np.arange(int(counts.sum()), dtype=np.int64) - starts + protocol.FIRST_FRAME
    aligned = al.align(preds, videos, video_of_row, frames, fill)
    lay = output_layout(r.track, r.edition)
    values, decision = _decided(preds, lay, aligned.outputs, thresholds)
    sub = per_video_folder(r.track, r.edition, folder_layout)
    with atomic_folder(out) as tmp:
        folder = tmp / sub                                   # sub "" (flat): tmp itself
        folder.mkdir(parents=True, exist_ok=True)
        header = r.prediction_header.encode("utf-8") + b"\n"
        bounds = np.concatenate([[0], np.cumsum(counts)])
        for k, video in enumerate(videos):
            lo, hi = int(bounds[k]), int(bounds[k + 1])
            part = {task: v[lo:hi] for task, v in values.items()}
            rows = render.value_rows(render.Rows(hi - lo), lay, part, decimals)
            (folder / f"{video}.txt").write_bytes(header + rows.const(b"\n").render())
    files = [out / sub / f"{v}.txt" for v in videos]
    params = _params(lay, decision, fill, decimals,
                     folder_layout or protocol.UNSURE["per_video_folder"].default)
    return Written(out, files, len(frames), aligned.filled_per_video, params)
