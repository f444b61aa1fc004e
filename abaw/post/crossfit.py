"""What post-processing is worth, estimated on validation videos it was not tuned on.

Tuning the smoothing, AU thresholds and class biases on validation and scoring the same
validation is in-sample: the printed gain includes what the tuning learnt about those very
videos. Cross-fitting splits the validation videos into K groups (people of one raw video, e.g.
`_left`/`_right`, stay together: `protocol.split_person`), tunes on K-1 groups with the same
options as `tune`, applies those parameters to the held-out group, and scores all held-out
predictions pooled, once, with the official metric. Image-level tracks (LSD) have no videos:
their images are the units.

Pooling is what the official metric does, and it has one side effect on CCC: held-out groups
smoothed with different windows share the pooled variance in the CCC's denominator, so a group's
chance correlation also steers the other groups' windows. On pure-noise VA predictions of 10
videos this leaves the cross-fitted gain at about +0.02 CCC (the in-sample gain: +0.03); class
scores show no such effect (on noise their cross-fitted gain is negative).

`video_pairs` decodes a prediction set per video into what `metrics.score` and
`abaw.uncertainty.bootstrap` take; on a cross-fitted set it decodes each video with the
parameters of the fold that held it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from abaw import metrics, protocol
from abaw.core.decisions import Decision, decide_blocks
from abaw.core.prediction_set import PredictionSet
from abaw.errors import AbawError
from abaw.post import impute as imp
from abaw.post.params import PostParams
from abaw.post.truth import ValTruth
from abaw.post.tune import tune

K = 5


@dataclass
class Fold:
    tuned_on: list          # units whose truth chose the parameters
    scored: list            # held-out units the parameters were applied to
    params: PostParams


@dataclass
class CrossFit:
    estimate: metrics.Score     # the pooled held-out score: the cross-fitted estimate
    held_out: PredictionSet     # every unit post-processed by parameters tuned without it
    folds: list = field(default_factory=list)    # [Fold]
    pairs: dict = field(default_factory=dict)    # unit -> (pred, true), as decided and scored


def crossfit(ps: PredictionSet, truth: ValTruth, k: int = K, seed: int = 0, progress=None,
             **options) -> CrossFit:
    """Cross-fitted post-processed score of `ps` against `truth`; `options` as for `tune`
    (kinds, windows, impute, ignore_imputed, thresholds, bias, and the metric choices)."""
    choices = {c: options[c] for c in metrics.CHOICES if c in options}
    method = options.get("impute", "linear")
    if ps.track in protocol.IMAGE_TRACKS and method is not None and imp.missing_rows(ps).any():
        # images are filled from the rows beside them: once, over the whole set (outputs only,
        # no labels), so that an image's fill does not depend on which images share its fold
        ps = imp.impute(ps, method)
        options = {**options, "impute": None}
    units = _units(ps, truth)
    groups = unit_groups(list(units), k, seed, ps.edition, image=ps.track in protocol.IMAGE_TRACKS)
    folds, pieces, pairs = [], [], {}
    for j, scored in enumerate(groups):
        tuned_on = [u for g in groups[:j] + groups[j + 1:] for u in g]
        params = tune(_subset(ps, units, tuned_on), _truth_subset(truth, units, tuned_on),
                      **options)
        held = params.apply(_subset(ps, units, scored))
        pieces.append(held)
        pairs.update(video_pairs(held, _truth_subset(truth, units, scored)))
        folds.append(Fold(tuned_on, scored, params))
        if progress:
            progress(f"fold {j + 1}/{len(groups)}: tuned on {len(tuned_on)}, "
                     f"scored {len(scored)}")
    collector = metrics.MetricCollector(ps.track, ps.edition, **choices)
    for u in units:                 # the set's order: the pooled frames do not depend on k
        if u in pairs:
            collector.add(u, *pairs[u])
    held_out = _merge(ps, pieces, folds, k, seed)
    return CrossFit(collector.compute(), held_out, folds, pairs)


def unit_groups(units: list, k: int, seed: int, edition: int = protocol.LATEST_EDITION,
                image: bool = False) -> list[list]:
    """`units` cut into min(k, raw videos) groups; the ids of one raw video share a group
    (images: each its own). Groups of raw videos in a seeded random order, near-equal sizes."""
    by_raw: dict = {}
    for u in units:
        by_raw.setdefault(u if image else protocol.split_person(u, edition)[0], []).append(u)
    if len(by_raw) < 2:
        raise AbawError(f"cross-fitting: found {len(by_raw)} raw video, expected at least 2 to "
                        "tune on one and score the other")
    if k < 2:
        raise AbawError(f"cross-fitting: found k={k}, expected at least 2 groups")
    raws = sorted(by_raw)
    order = np.random.default_rng(seed).permutation(len(raws))
    return [sorted(u for i in part for u in by_raw[raws[i]])
            for part in np.array_split(order, min(k, len(raws)))]


def video_pairs(ps: PredictionSet, truth: ValTruth, decision: Decision | None = None) -> dict:
    """unit -> (pred, true) at the unit's annotated frames, decided as the metric takes them
    (MTL: dicts per task, each task at its own annotated frames). `decision`: default the set's
    own; a cross-fitted set: each unit's fold's parameters."""
    units = _units(ps, truth)
    fold_decision = {}
    if decision is None and "crossfit" in ps.provenance:
        fold_decision = {u: PostParams.from_dict(f["post"]).decision(folded=True)
                         for f in ps.provenance["crossfit"]["folds"] for u in f["scored"]}
    decision = ps.decision if decision is None else decision
    lay = ps.layout
    targets = truth.align(ps)           # first: every annotated frame has a row
    # unit of each row: the video, or for image tracks the image
    row_unit = np.full(len(ps), -1, np.int64)
    names = list(units)
    for i, (v, frames) in enumerate(units.values()):
        s = ps.rows(v)
        at = np.arange(s.start, s.stop) if frames is None else \
            s.start + np.searchsorted(ps.frames[s], frames)
        row_unit[at] = i
    owner = row_unit[targets.rows]
    # the target rows of each unit, in one sort (a mask per unit would cost units x rows)
    mine = np.flatnonzero(owner >= 0)
    mine = mine[np.argsort(owner[mine], kind="stable")]
    ids, starts = np.unique(owner[mine], return_index=True)
    out: dict = {}
    for i, sel in zip(ids, np.split(mine, starts[1:]), strict=True):
        pred = decide_blocks(lay, ps.outputs[targets.rows[sel]],
                             fold_decision.get(names[i], decision))
        true = lay.split(targets.labels[sel])
        if len(lay.blocks) == 1:
            out[names[i]] = (pred[lay.blocks[0].task], true)
            continue
        pair: tuple[dict, dict] = ({}, {})
        for b in lay.blocks:            # each task at its own annotated frames
            keep = metrics.valid_mask(b.task, true[b.task])
            pair[0][b.task], pair[1][b.task] = pred[b.task][keep], true[b.task][keep]
        out[names[i]] = pair
    return {u: out[u] for u in names if u in out}


def _units(ps: PredictionSet, truth: ValTruth) -> dict:
    """unit name -> (video, frames or None): annotated videos; images of image-level tracks."""
    units, predicted = {}, set(ps.videos)
    for v, (frames, _) in truth.per_video.items():
        if v not in predicted:
            raise AbawError(f"{ps.origin}: found no rows for validation video {v}, expected "
                            "every annotated video")
        if ps.track in protocol.IMAGE_TRACKS:
            for f in frames:
                units[f"{v}:{int(f)}"] = (v, np.array([f], np.int64))
        else:
            units[v] = (v, None)
    return units


def _picks(units: dict, names) -> dict:
    """video -> frames (None: all) of the named units."""
    picks: dict = {}
    for name in names:
        v, frames = units[name]
        if frames is None:
            picks[v] = None
        else:
            picks.setdefault(v, []).append(frames)
    return {v: None if f is None else np.sort(np.concatenate(f)) for v, f in picks.items()}


def _subset(ps: PredictionSet, units: dict, names) -> PredictionSet:
    per_video = {}
    for v, frames in _picks(units, names).items():
        f, o, im = ps.video(v)
        keep = slice(None) if frames is None else np.isin(f, frames)
        per_video[v] = (f[keep], o[keep], im[keep])
    return PredictionSet.from_videos(ps.track, ps.edition, per_video, ps.columns, ps.provenance)


def _truth_subset(truth: ValTruth, units: dict, names) -> ValTruth:
    per_video = {}
    for v, frames in _picks(units, names).items():
        f, y = truth.per_video[v]
        keep = slice(None) if frames is None else np.isin(f, frames)
        per_video[v] = (f[keep], y[keep])
    return ValTruth(truth.track, per_video)


def _merge(ps: PredictionSet, pieces: list, folds: list, k: int, seed: int) -> PredictionSet:
    """The held-out pieces as one set, in `ps`'s video order, frames sorted within a video."""
    parts: dict = {}
    for piece in pieces:
        for v in piece.videos:
            parts.setdefault(v, []).append(piece.video(v))
    per_video = {}
    for v in ps.videos:
        if v in parts:
            f, o, im = (np.concatenate(x) for x in zip(*parts[v], strict=True))
            order = np.argsort(f, kind="stable")
            per_video[v] = (f[order], o[order], im[order])
    record = {"k": k, "seed": seed, "folds": [
        {"tuned_on": f.tuned_on, "scored": f.scored, "post": f.params.to_dict()}
        for f in folds]}
    # no single decision: each video is decided by its own fold's parameters (`video_pairs`)
    return PredictionSet.from_videos(ps.track, ps.edition, per_video, ps.columns,
                                     {**ps.provenance, "post": None, "crossfit": record})
