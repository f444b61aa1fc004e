"""Label trajectories of one synthetic person: the clean latent state the renderer draws, and the
noisy annotations an annotator would have written for it.

The latent state per frame is an expression class with an intensity envelope (onset, apex,
offset), 15 facial units (the 12 AUs of the challenge, AU9, AU20 and an asymmetry cue that marks
the "Other" class) and valence/arousal. Everything is vectorised over frames; one call per person.

Where the numbers come from:
- Expression prototypes follow the FACS/EMFACS descriptions of the basic emotions (Ekman &
  Friesen 1978; e.g. Happiness = AU6+AU12, Surprise = AU1+AU2+AU25+AU26, Anger = AU4+AU7+AU23/24,
  Sadness = AU1+AU4+AU15, Disgust = AU9+AU10(+AU15), Fear = AU1+AU2+AU4+AU20+AU25).
- Class frequencies follow the valid-frame counts of the Aff-Wild2 EXPR set
  (`protocol.SIZES["ed10_expr_class_counts"]`), with a floor so rare classes still appear.
- Valence/arousal targets per class follow the circumplex placement of the emotions (Russell 1980).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abaw import protocol

CLASSES = protocol.EXPR_CLASSES_8
# Units the renderer draws. The first 12 are the challenge AUs; AU9 and AU20 carry Disgust and Fear
# (AU20 is also an edition-1 label); ASYM is a one-sided smirk that marks "Other".
UNITS = protocol.AUS_12 + ("AU9", "AU20", "ASYM")
UNIT = {name: i for i, name in enumerate(UNITS)}
for _au in protocol.AUS_8:
    assert _au in UNIT, f"edition-1 AU {_au} has no rendered unit"

# Probability that a unit is on in a segment of each class (at the segment's apex).
PROTOTYPES = {
    "Neutral": {},
    "Anger": {"AU4": 0.95, "AU7": 0.85, "AU23": 0.6, "AU24": 0.55, "AU10": 0.2},
    "Disgust": {"AU9": 0.95, "AU10": 0.9, "AU15": 0.55, "AU4": 0.35, "AU25": 0.3},
    "Fear": {"AU1": 0.9, "AU2": 0.75, "AU4": 0.8, "AU20": 0.95, "AU25": 0.85, "AU26": 0.25},
    "Happiness": {"AU6": 0.9, "AU12": 0.97, "AU25": 0.6, "AU26": 0.2},
    "Sadness": {"AU1": 0.85, "AU4": 0.75, "AU15": 0.9},
    "Surprise": {"AU1": 0.95, "AU2": 0.9, "AU25": 0.9, "AU26": 0.8},
    "Other": {"ASYM": 0.95, "AU7": 0.4, "AU10": 0.3, "AU2": 0.2},
}
# (valence, arousal) at the apex of each class.
VA_TARGETS = {
    "Neutral": (0.0, 0.0), "Anger": (-0.55, 0.6), "Disgust": (-0.5, 0.3), "Fear": (-0.5, 0.6),
    "Happiness": (0.6, 0.35), "Sadness": (-0.55, -0.4), "Surprise": (0.2, 0.65),
    "Other": (0.05, 0.15),
}
assert set(PROTOTYPES) == set(CLASSES) == set(VA_TARGETS)
# Fraction of frames on which a unit switches on by itself (talking, blinking, idiosyncrasies):
# AUs are not a pure function of the expression, as in real data.
BACKGROUND_RATE = {"AU1": 0.05, "AU2": 0.04, "AU4": 0.06, "AU6": 0.06, "AU7": 0.12, "AU10": 0.08,
                   "AU12": 0.07, "AU15": 0.05, "AU23": 0.06, "AU24": 0.06, "AU25": 0.22,
                   "AU26": 0.08, "AU9": 0.01, "AU20": 0.02, "ASYM": 0.0}
# Confusions an annotator makes when relabelling a segment (label noise).
CONFUSABLE = {"Neutral": "Other", "Other": "Neutral", "Fear": "Surprise", "Surprise": "Fear",
              "Anger": "Disgust", "Disgust": "Anger", "Sadness": "Neutral", "Happiness": "Other"}
# Compound expressions (C-EXPR-DB) as pairs of basic ones, read off their names
# ("Sadly_Angry" = Sadness + Anger).
_ADVERB = {"Fearfully": "Fear", "Happily": "Happiness", "Sadly": "Sadness",
           "Disgustedly": "Disgust", "Angrily": "Anger"}
_ADJECTIVE = {"Surprised": "Surprise", "Fearful": "Fear", "Angry": "Anger"}
CE_PAIRS = {name: (_ADVERB[name.split("_")[0]], _ADJECTIVE[name.split("_")[1]])
            for name in protocol.CE_CLASSES}
AU_THRESHOLD = 0.5        # a unit whose clean intensity exceeds this is annotated present
MIN_CLASS_SHARE = 0.04    # floor on a class's share of segments so every class is learnable


def class_proportions() -> np.ndarray:
    """Aff-Wild2's EXPR class shares, floored at MIN_CLASS_SHARE and renormalised."""
    p = np.asarray(protocol.SIZES["ed10_expr_class_counts"], np.float64)
    p = np.maximum(p / p.sum(), MIN_CLASS_SHARE)
    return p / p.sum()


def segment_lengths(rng: np.random.Generator, n: int, mean_len: float) -> np.ndarray:
    """Lengths of consecutive expression segments covering n frames (each >= 8 frames)."""
    k = max(1, int(np.ceil(n / mean_len * 1.6)) + 2)
    lengths = np.maximum(8, rng.gamma(2.0, mean_len / 2.0, size=k)).astype(np.int64)
    while lengths.sum() < n:
        lengths = np.concatenate([lengths, lengths])
    cut = int(np.searchsorted(np.cumsum(lengths), n)) + 1
    lengths = lengths[:cut].copy()
    lengths[-1] -= lengths.sum() - n
    if lengths[-1] < 8 and len(lengths) > 1:   # fold a stub into the previous segment
        lengths[-2] += lengths[-1]
        lengths = lengths[:-1]
    return lengths


def stratified_classes(rng: np.random.Generator, n_segments: int, min_each: int) -> np.ndarray:
    """Class of each of n segments: shares follow class_proportions(), every class at least
    `min_each` times (when there are enough segments), order shuffled."""
    p = class_proportions()
    counts = np.floor(p * n_segments).astype(np.int64)
    while min_each > 1 and n_segments < min_each * len(p):
        min_each -= 1
    if n_segments >= min_each * len(p):
        counts = np.maximum(counts, min_each)
    while counts.sum() > n_segments:           # trim the most common classes
        counts[np.argmax(counts)] -= 1
    short = n_segments - counts.sum()
    if short > 0:                               # largest remainders first
        order = np.argsort(-(p * n_segments - np.floor(p * n_segments)), kind="stable")
        for i in range(short):
            counts[order[i % len(p)]] += 1
    return rng.permutation(np.repeat(np.arange(len(p)), counts))


@dataclass
class Latent:
    """Clean per-frame state of one person (what the face shows)."""

    expr: np.ndarray      # (n,) int class index into CLASSES
    envelope: np.ndarray  # (n,) expression intensity 0..1 (onset ramp, apex, offset ramp)
    units: np.ndarray     # (n, len(UNITS)) unit intensities 0..1
    va: np.ndarray        # (n, 2) valence, arousal in [-1, 1]


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Box filter applied twice (a triangle kernel), edges padded, along axis 0."""
    if width <= 1 or len(x) < 2:
        return x
    for _ in range(2):
        pad = np.concatenate([np.repeat(x[:1], width, 0), x, np.repeat(x[-1:], width, 0)])
        c = np.cumsum(pad, axis=0, dtype=np.float64)
        c = np.concatenate([np.zeros_like(c[:1]), c])
        x = ((c[width:] - c[:-width]) / width)[width // 2: width // 2 + len(x)]
    return x


def slow_noise(rng: np.random.Generator, n: int, step: int, sd: float, cols: int = 1) -> np.ndarray:
    """(n, cols) smooth random drift: knots every `step` frames, interpolated and smoothed."""
    k = n // step + 2
    knots = rng.normal(0.0, sd, size=(k, cols))
    t = np.arange(n) / step
    out = np.stack([np.interp(t, np.arange(k), knots[:, c]) for c in range(cols)], axis=1)
    return _smooth(out, max(2, step // 2))


def _events(rng: np.random.Generator, n: int, rate: float, mean_dur: float) -> np.ndarray:
    """(n,) intensity of a unit switching on by itself: bursts covering about `rate` of frames."""
    out = np.zeros(n, np.float32)
    if rate <= 0:
        return out
    k = rng.poisson(rate * n / mean_dur)
    starts = rng.integers(0, n, size=k)
    durs = rng.integers(int(mean_dur * 0.4), int(mean_dur * 1.6) + 1, size=k)
    amps = rng.uniform(0.6, 1.0, size=k)
    for s, d, a in zip(starts, durs, amps, strict=True):
        ramp = np.minimum(1.0, np.minimum(np.arange(1, d + 1), np.arange(d, 0, -1)) / 4.0)
        seg = out[s: s + d]
        np.maximum(seg, a * ramp[: len(seg)], out=seg)
    return out


def prototype_matrix(names=CLASSES) -> tuple[np.ndarray, np.ndarray]:
    """(C, U) probability that each unit fires in a segment of each class, and (C, 2) VA targets.

    A compound expression (CE) fires the units of both its basic expressions and sits between
    their VA targets."""
    proto = np.zeros((len(names), len(UNITS)))
    targets = np.zeros((len(names), 2))
    for c, name in enumerate(names):
        parts = CE_PAIRS.get(name, (name,))
        for part in parts:
            for unit, p in PROTOTYPES[part].items():
                proto[c, UNIT[unit]] = max(proto[c, UNIT[unit]], p)
        targets[c] = np.mean([VA_TARGETS[part] for part in parts], axis=0)
    return proto, targets


def latent(rng: np.random.Generator, lengths: np.ndarray, classes: np.ndarray,
           names=CLASSES) -> Latent:
    """Clean state of one person from its segment lengths and classes (frames = lengths.sum()).

    `names` are the class names behind the indices: the EXPR classes, or the CE compounds."""
    n = int(lengths.sum())
    seg = np.repeat(np.arange(len(lengths)), lengths)           # (n,) segment of each frame
    start = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pos = np.arange(n) - start[seg]                              # frame position in its segment
    length = lengths[seg]
    ramp_on = np.minimum(lengths * 0.2, rng.uniform(3, 10, len(lengths)))[seg]
    ramp_off = np.minimum(lengths * 0.2, rng.uniform(3, 10, len(lengths)))[seg]
    apex = rng.uniform(0.75, 1.0, len(lengths))[seg]
    env = apex * np.minimum(1.0, np.minimum((pos + 1) / ramp_on, (length - pos) / ramp_off))
    expr = classes[seg].astype(np.int64)

    units = np.zeros((n, len(UNITS)), np.float32)
    proto, targets = prototype_matrix(names)
    # per segment, which prototype units fire and how strongly
    on = rng.random((len(lengths), len(UNITS))) < proto[classes]             # (S, U)
    strength = on * rng.uniform(0.8, 1.15, (len(lengths), len(UNITS)))
    units[:] = np.clip(env[:, None] * strength[seg], 0, 1)
    for u, name in enumerate(UNITS):
        burst = _events(rng, n, BACKGROUND_RATE[name], 12.0 if name in ("AU25", "AU26") else 30.0)
        np.maximum(units[:, u], burst, out=units[:, u])

    offsets = rng.normal(0, 0.12, (len(lengths), 2))
    va = env[:, None] * (targets[expr] + offsets[seg])
    va += slow_noise(rng, n, 60, 0.15, 2) + rng.normal(0, 0.05, 2)          # drift + baseline
    va = np.clip(_smooth(va, 9), -1, 1).astype(np.float32)
    return Latent(expr, env.astype(np.float32), units, va)


@dataclass
class Annotation:
    """What the annotators wrote, sentinels included (all tracks, every AU unit)."""

    va: np.ndarray      # (n, 2) float32, -5 where not annotated
    expr: np.ndarray    # (n,) int64 0..7, -1 where not annotated
    au: np.ndarray      # (n, len(UNITS)) int8 0/1, -1 rows where not annotated


def _spans(rng: np.random.Generator, n: int, fraction: float, mean_len: int) -> np.ndarray:
    """(n,) bool mask of random spans covering about `fraction` of the frames."""
    mask = np.zeros(n, bool)
    if fraction <= 0:
        return mask
    k = max(1, rng.poisson(fraction * n / mean_len))
    for s, d in zip(rng.integers(0, n, k), rng.integers(mean_len // 2, mean_len * 3 // 2 + 1, k), strict=True):
        mask[s: s + d] = True
    return mask


def annotate(rng: np.random.Generator, lat: Latent, lengths: np.ndarray, *,
             invalid: dict, span_len: int = 40, no_face: np.ndarray | None = None) -> Annotation:
    """Noisy annotations of a latent state.

    invalid: track -> fraction of frames left unannotated (sentinel spans). Frames with no face
    are unannotated in about half of their stretches, as in Aff-Wild2.
    """
    n = len(lat.expr)
    # VA: annotators react late (lag) and drift (smooth error); values quantised to 0.001
    lag = int(rng.integers(3, 10))
    va = np.concatenate([np.repeat(lat.va[:1], lag, 0), lat.va[: n - lag]]) if n > lag else lat.va
    va = np.clip(va + slow_noise(rng, n, 25, 0.06, 2), -1, 1)
    va = np.round(va, 3).astype(np.float32)

    # EXPR: boundaries shifted by the annotator's reaction; a few segments relabelled
    classes = lat.expr[np.concatenate([[0], np.cumsum(lengths)[:-1]])]
    relabel = rng.random(len(lengths)) < 0.04
    index = {c: i for i, c in enumerate(CLASSES)}
    classes = np.where(relabel, [index[CONFUSABLE[CLASSES[c]]] for c in classes], classes)
    shifted = np.clip(lengths + rng.integers(-5, 6, len(lengths)), 1, None)
    shifted[-1] += n - shifted.sum()
    if shifted[-1] < 1:
        shifted = lengths
    expr = np.repeat(classes, shifted).astype(np.int64)

    # AU: present above threshold, then flipped in short runs (about 2% of frames per AU)
    au = (lat.units > AU_THRESHOLD).astype(np.int8)
    for u in range(au.shape[1]):
        flip = _spans(rng, n, 0.02, 6)
        au[flip, u] ^= 1

    masks = {t: _spans(rng, n, f, span_len) for t, f in invalid.items()}
    if no_face is not None and no_face.any():
        # each stretch of missing faces is unannotated with probability 1/2
        edges = np.flatnonzero(np.diff(np.concatenate([[0], no_face.astype(np.int8), [0]])))
        for s, e in zip(edges[0::2], edges[1::2], strict=True):
            if rng.random() < 0.5:
                for m in masks.values():
                    m[s:e] = True
    va[masks.get("VA", np.zeros(n, bool))] = protocol.SENTINELS["VA"]
    expr[masks.get("EXPR", np.zeros(n, bool))] = protocol.SENTINELS["EXPR"]
    au[masks.get("AU", np.zeros(n, bool))] = protocol.SENTINELS["AU"]
    return Annotation(va, expr, au)


def for_edition(ann: Annotation, edition: int) -> dict:
    """Annotation arrays in an edition's columns: {"VA": (n,2), "EXPR": (n,), "AU": (n,K)}.

    Editions 1-2 have no "Other": those frames are unannotated there.
    """
    classes = protocol.expr_classes(edition)
    expr = ann.expr.copy()
    expr[expr >= len(classes)] = protocol.SENTINELS["EXPR"]
    cols = [UNIT[a] for a in protocol.au_names(edition)]
    au = ann.au[:, cols]
    au[np.any(au < 0, axis=1)] = protocol.SENTINELS["AU"]
    return {"VA": ann.va, "EXPR": expr, "AU": au}
