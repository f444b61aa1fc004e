"""The world of one synthetic tree: raw videos, the people in them, splits, lengths and quirks.

Everything here is decided from the seed alone, before any file is written, so the same seed
gives the same world in every edition (only names and folders follow the edition). Each person
gets a stable index that seeds their own random streams.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from abaw import protocol
from abaw.data.synth import labels
from abaw.errors import AbawError

# random streams: np.random.default_rng([seed, STREAM, index])
PLAN, SEGMENTS, LATENT, ANNOTATE, RENDER, MEDIA, CE, MTL, LSD, MESSY = range(10)


@dataclass(frozen=True)
class SizeSpec:
    videos: int           # raw Aff-Wild2-style videos
    pairs: int            # of which show two annotated people (_left/_right)
    frames: tuple         # decoded frames per video: ("uniform", lo, hi) or ("lognormal", median, sigma)
    segment: float        # mean expression segment length, frames
    splits: tuple         # fraction of videos in (train, val, test)
    ce_videos: int
    ce_frames: tuple      # (lo, hi) decoded frames per CE video
    mtl_rows: dict        # s-Aff-Wild2 rows per split
    lsd_images: dict      # LSD images per split
    images: bool          # default for writing crops, videos and images
    coverage: float       # chance that a person is annotated in each Aff-Wild2 track


SIZES = {
    "tiny": SizeSpec(6, 2, ("uniform", 60, 150), 35, (0.5, 0.34, 0.16), 3, (40, 70),
                     {"train": 60, "val": 30, "test": 30}, {"train": 60, "val": 30, "test": 30},
                     True, 1.0),
    # many short videos rather than a few long ones: a model must generalise across people.
    # Split shares as Aff-Wild2's (EXPR, edition 10: 247 train and 70 validation files, 228 test
    # videos), so the test split holds ~40 people and a test score means something.
    "small": SizeSpec(96, 6, ("uniform", 120, 220), 90, (0.45, 0.13, 0.42), 28, (150, 300),
                      {"train": 3000, "val": 1000, "test": 1000},
                      {"train": 1500, "val": 360, "test": 360}, True, 1.0),
    # Aff-Wild2 scale: ~600 annotated people, ~2.8M frames; s-Aff-Wild2 and LSD at release size
    "full": SizeSpec(560, 40, ("lognormal", 3800, 0.75), 150, (0.5, 0.13, 0.37),
                     protocol.SIZES["ce_videos"], (300, 640), dict(protocol.SIZES["mtl_rows"]),
                     dict(protocol.SIZES["lsd_images"]), False, 0.93),
}
TRACKS_AFF = ("VA", "EXPR", "AU")
NEW_CROP_FOLDER = protocol.CROP_FOLDER + "_new_50_vids"   # an extra crop folder of later editions
TRUTH = ".truth"   # hidden test annotations under the root; loaders never enter dot folders


@dataclass
class Person:
    id: str               # annotation id, e.g. "12-30-256x144_left"
    index: int            # stable, seeds this person's random streams
    video: str            # raw video stem
    split: str            # "train" | "val" | "test"
    tracks: tuple         # Aff-Wild2 tracks this person is annotated in
    decoded: int          # frames in the raw video
    rows: int             # annotation rows (organisers' convention: decoded + 1, a few differ)
    crop_folder: str
    side: int             # -1 left, +1 right, 0 alone in the video
    lengths: np.ndarray = field(repr=False, default=None)   # expression segment lengths
    classes: np.ndarray = field(repr=False, default=None)   # their classes


@dataclass
class Video:
    stem: str
    ext: str              # ".mp4" or ".avi"
    batch: str            # raw video folder
    fps: int              # nominal rate (also in the name; unreliable for VFR videos)
    vfr: bool
    decoded: int
    persons: list         # Person ids, left first
    index: int


@dataclass
class Plan:
    edition: int
    size: str
    seed: int
    spec: SizeSpec
    videos: list
    persons: list

    def by_split(self, split: str, track: str | None = None) -> list:
        return [p for p in self.persons
                if p.split == split and (track is None or track in p.tracks)]


def _frame_counts(rng, spec: SizeSpec, n: int) -> np.ndarray:
    kind, a, b = spec.frames
    if kind == "uniform":
        return rng.integers(a, b + 1, n)
    return np.clip(rng.lognormal(np.log(a), b, n), 200, 40_000).astype(np.int64)


def make_plan(edition: int, size: str, seed: int) -> Plan:
    if size not in SIZES:
        raise AbawError(f"size: found {size!r}, expected one of {', '.join(SIZES)}")
    ed = protocol.EDITIONS[edition]
    spec = SIZES[size]
    rng = np.random.default_rng([seed, PLAN, 0])
    n = spec.videos
    # splits per video: every split has at least one video
    n_test = max(1, round(spec.splits[2] * n))
    n_val = max(1, round(spec.splits[1] * n))
    splits = np.array(["train"] * (n - n_val - n_test) + ["val"] * n_val + ["test"] * n_test)
    splits = splits[rng.permutation(n)]
    # two-person videos: one in train and one in test first, so both sides of the pipeline meet them
    pair = np.zeros(n, bool)
    for s in ("train", "test")[: spec.pairs]:
        pair[rng.choice(np.flatnonzero(splits == s))] = True
    rest = np.flatnonzero(~pair)
    pair[rng.choice(rest, spec.pairs - pair.sum(), replace=False)] = True
    decoded = _frame_counts(rng, spec, n)

    def pick(k: int, rate: float, among=None) -> np.ndarray:
        """Videos with a quirk: at least k of them, about `rate` of all."""
        pool = np.arange(n) if among is None else among
        m = min(len(pool), max(k, round(rate * n)))
        chosen = np.zeros(n, bool)
        chosen[rng.choice(pool, m, replace=False)] = True
        return chosen

    avi = pick(1, 0.05, np.flatnonzero(~pair))
    vfr = pick(1, 0.15, np.flatnonzero((splits == "train") & ~avi))   # AVI is constant-rate
    # rows - decoded: +1 by convention; -1, 0 and +2 on a few videos (one of each at least)
    deviation = np.ones(n, np.int64)
    odd = rng.permutation(np.flatnonzero(~pair))[: max(3, round(0.1 * n))]
    deviation[odd] = np.resize(np.array([-1, 0, 2]), len(odd))
    # later editions put some videos' crops in an extra folder (drawn always: same world per seed)
    new_crops = pick(1, 50 / 600, np.flatnonzero(~pair))
    if edition < 5 or not any(t in TRACKS_AFF for t in ed.tracks):
        new_crops[:] = False
    numbers = np.sort(rng.choice(np.arange(1, 3 * n + 100), n, replace=False))
    fps = rng.choice(np.array([30, 30, 25, 24, 15]), n)
    batches = ed.raw_video_folders
    # batch1 holds the first half; the last one holds the newest videos (batch3 from edition 10)
    frac = np.arange(n) / n
    batch_of = np.where(frac < 0.5, 0, 1 + ((frac - 0.5) * 2 * (len(batches) - 1)).astype(int))

    persons, videos = [], []
    index = 0
    solo_main = int(rng.choice(np.flatnonzero(~pair)))   # edition 1 also names people `_main`
    if "_main" not in ed.person_suffixes:
        solo_main = -1
    for v in range(n):
        w, h = (256, 144)
        if avi[v]:
            stem, ext = str(numbers[v]), ".avi"
        else:
            stem = f"{numbers[v]}-{fps[v]}-{w}x{h}" + ("-1" if rng.random() < 0.1 else "")
            ext = ".mp4"
        sides = (-1, 1) if pair[v] else (0,)
        ids = []
        for side in sides:
            suffix = {-1: "_left", 1: "_right", 0: "_main" if v == solo_main else ""}[side]
            pid = stem + suffix
            tracks = tuple(t for t in TRACKS_AFF if rng.random() < spec.coverage) or TRACKS_AFF
            crop = NEW_CROP_FOLDER if new_crops[v] else protocol.CROP_FOLDER
            persons.append(Person(pid, index, stem, str(splits[v]), tracks, int(decoded[v]),
                                  int(decoded[v] + deviation[v]), crop, side))
            ids.append(pid)
            index += 1
        videos.append(Video(stem, ext, batches[batch_of[v]], int(fps[v]), bool(vfr[v]),
                            int(decoded[v]), ids, v))
    _ensure_tracks(persons)
    _assign_classes(persons, spec, seed)
    return Plan(edition, size, seed, spec, videos, persons)


def _ensure_tracks(persons: list) -> None:
    """Every track has a person in every split; one training person lacks AU (a real quirk)."""
    for split in ("train", "val", "test"):
        group = [p for p in persons if p.split == split]
        for t in TRACKS_AFF:
            if not any(t in p.tracks for p in group):
                group[0].tracks = tuple(x for x in TRACKS_AFF if x in group[0].tracks or x == t)
    train = [p for p in persons if p.split == "train"]
    if all("AU" in p.tracks for p in train) and len(train) > 2:
        train[-1].tracks = tuple(t for t in train[-1].tracks if t != "AU") or ("VA",)


def _assign_classes(persons: list, spec: SizeSpec, seed: int) -> None:
    """Expression segments per person; classes drawn per split so every class occurs in each."""
    for p in persons:
        p.lengths = labels.segment_lengths(np.random.default_rng([seed, SEGMENTS, p.index]),
                                           p.rows, spec.segment)
    for k, split in enumerate(("train", "val", "test")):
        group = [p for p in persons if p.split == split]
        total = sum(len(p.lengths) for p in group)
        classes = labels.stratified_classes(np.random.default_rng([seed, SEGMENTS, 10**9 + k]),
                                            total, 3)
        at = 0
        for p in group:
            p.classes = classes[at: at + len(p.lengths)]
            at += len(p.lengths)
