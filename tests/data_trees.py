"""Tiny hand-made dataset trees in each edition's layout, for the data-layer tests.

Names and headers are written literally here (not read from abaw.protocol), so the tests check
the loader against the protocol reference rather than against itself. Every label written is kept
in `Tree.labels[track][id]` as the expected array.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

VA_HEADER = "valence,arousal"
EXPR8 = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other"
EXPR7 = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise"
AU12 = "AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26"
AU8 = "AU1,AU2,AU4,AU6,AU12,AU15,AU20,AU25"
MTL_HEADER = "image,valence,arousal,expression,aus"
CE_HEADER = ("image_location,Fearfully_Surprised,Happily_Surprised,Sadly_Surprised,"
             "Disgustedly_Surprised,Angrily_Surprised,Sadly_Fearful,Sadly_Angry")

TASKS = {  # edition -> (annotation root name, {track: folder}, train split folder)
    1: ("annotations", {"VA": "VA_Set", "EXPR": "EXPR_Set", "AU": "AU_Set"}, "Training_Set"),
    2: ("ABAW2 Annotations", {"VA": "VA_Set", "EXPR": "EXPR_Set", "AU": "AU_Set"}, "Train_Set"),
    3: ("Third ABAW Annotations", {"VA": "VA_Estimation_Challenge",
                                   "EXPR": "EXPR_Classification_Challenge",
                                   "AU": "AU_Detection_Challenge"}, "Train_Set"),
    5: ("5th ABAW Annotations", {"VA": "VA_Estimation_Challenge",
                                 "EXPR": "EXPR_Classification_Challenge",
                                 "AU": "AU_Detection_Challenge"}, "Train_Set"),
    6: ("6th ABAW Annotations", {"VA": "VA_Estimation_Challenge",
                                 "EXPR": "EXPR_Recognition_Challenge",
                                 "AU": "AU_Detection_Challenge"}, "Train_Set"),
    8: ("8th ABAW Annotations", {"VA": "VA_Estimation_Challenge",
                                 "EXPR": "EXPR_Recognition_Challenge",
                                 "AU": "AU_Detection_Challenge"}, "Train_Set"),
    9: ("ABAW Annotations", {"VA": "VA_Estimation_Challenge"}, "Train_Set"),
    10: ("ABAW Annotations", {"VA": "VA_Estimation_Challenge",
                              "EXPR": "EXPR_Recognition_Challenge",
                              "AU": "AU_Detection_Challenge"}, "Train_Set"),
}
TEMPLATES = {5: "CVPR_5th_ABAW_{T}_test_set_example.txt", 6: "CVPR_6th_ABAW_{T}_test_set_sample.txt",
             8: "CVPR_8th_ABAW_{T}_test_set_example.txt", 9: "ICCV_9th_ABAW_{T}_test_set_sample.txt",
             10: "ABAW_{T}_test_set_example.txt"}
TOKEN = {"VA": "VA", "EXPR": "Expr", "AU": "AU"}


@dataclass
class Tree:
    root: Path
    edition: int
    labels: dict = field(default_factory=dict)   # track -> id -> (N, K) expected labels
    splits: dict = field(default_factory=dict)   # track -> id -> split
    test_frames: dict = field(default_factory=dict)  # track -> id -> frames
    ann: Path | None = None


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


JPEG_STUB = b"\xff\xd8\xff\xd9"   # start and end markers: what the index's cheap check reads


def crops(root: Path, id_: str, frames, folder="cropped_aligned", data=JPEG_STUB) -> None:
    d = root / folder / id_
    d.mkdir(parents=True, exist_ok=True)
    for f in frames:
        (d / f"{f:05d}.jpg").write_bytes(data)


def fmt(track: str, row) -> str:
    if track == "VA":
        return f"{row[0]:g},{row[1]:g}"
    return ",".join(str(int(v)) for v in row)


def annotation(track: str, labels: np.ndarray, edition: int) -> str:
    header = {"VA": VA_HEADER, "EXPR": EXPR7 if edition <= 2 else EXPR8,
              "AU": AU8 if edition == 1 else AU12}[track]
    return header + "\n" + "\n".join(fmt(track, r) for r in labels) + "\n"


def affwild_labels(track: str, n: int, edition: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if track == "VA":
        lab = rng.uniform(-1, 1, (n, 2)).round(3)
        lab[1] = -5  # sentinel frames
        return lab.astype(np.float32)
    if track == "EXPR":
        lab = rng.integers(0, 7 if edition <= 2 else 8, (n, 1))
        lab[2] = -1
        return lab.astype(np.float32)
    lab = rng.integers(0, 2, (n, 8 if edition == 1 else 12))
    lab[0] = -1
    return lab.astype(np.float32)


def affwild(root: Path, edition: int, videos: dict | None = None) -> Tree:
    """Annotation folders of an edition with VA/EXPR/AU; crops with some frames missing."""
    ann_name, tasks, train = TASKS[edition]
    tree = Tree(root, edition, ann=root / ann_name)
    videos = videos or {"train": [("1-30-1280x720", 7), ("5-60-1920x1080_left", 6),
                                  ("5-60-1920x1080_right", 6)],
                        "val": [("102", 5)]}
    for k, (track, folder) in enumerate(tasks.items()):
        tree.labels[track], tree.splits[track] = {}, {}
        for split, vids in videos.items():
            sname = train if split == "train" else "Validation_Set"
            for j, (vid, n) in enumerate(vids):
                lab = affwild_labels(track, n, edition, seed=10 * k + j)
                write(tree.ann / folder / sname / f"{vid}.txt", annotation(track, lab, edition))
                tree.labels[track][vid] = lab
                tree.splits[track][vid] = split
    for vids in videos.values():
        for vid, n in vids:
            crops(root, vid, [f for f in range(1, n + 1) if f != 3])  # frame 3: no face
    return tree


def templates(tree: Tree, videos: dict, tracks=("VA", "EXPR", "AU")) -> None:
    """Edition 5+ templates; videos: {id: n_frames}. Empty values in 5/7+, dummy in 6."""
    ed = tree.edition
    header = {"VA": "image_location,valence,arousal", "EXPR": "image_location," + EXPR8,
              "AU": "image_location," + AU12}
    dummy = {"VA": ",0.5,-0.5", "EXPR": ",0", "AU": "," + ",".join("0" * 12)}
    for track in tracks:
        rows = [f"{v}/{f:05d}.jpg" + (dummy[track] if ed == 6 else ",")
                for v, n in videos.items() for f in range(1, n + 1)]
        write(tree.ann / TEMPLATES[ed].format(T=TOKEN[track]), header[track] + "\n"
              + "\n".join(rows) + "\n")
        tree.test_frames[track] = {v: np.arange(1, n + 1) for v, n in videos.items()}
        for v, n in videos.items():
            crops(tree.root, v, range(1, n))


def mtl(root: Path, edition: int) -> dict:
    """MTL split files (ed. 3 inside MTL_Challenge/, ed. 4/7 at the root). Returns expected rows."""
    folder = root / "Third ABAW Annotations" / "MTL_Challenge" if edition == 3 else root / "s-Aff-Wild2"
    names = ({"train": "train_set.txt", "val": "validation_set.txt"} if edition == 3 else
             {"train": "training_set_annotations.txt", "val": "validation_set_annotations.txt"})
    rows = {
        "train": [("10-60-1280x720", 5, "0.5,-0.25,3," + ",".join("010000000010")),
                  ("10-60-1280x720", 9, "-5,-5,-1," + ",".join("1" * 12)),
                  ("11", 2, ",,4," + ",".join("0" * 12)),   # VA missing: empty fields
                  ("10-60-1280x720", 20, "0.1,0.2,,,,,,,,,,,,,")],  # EXPR and AUs missing
        "val": [("12_left", 1, "0,0,7," + ",".join("-1" for _ in range(12)))],
    }
    for split, name in names.items():
        body = "\n".join(f"{v}/{f:05d}.jpg,{vals}" for v, f, vals in rows[split])
        write(folder / name, MTL_HEADER + "\n" + body + "\n")
    test = [("13", 4), ("13", 8), ("14_right", 1)]
    write(folder / "MTL_test_set.txt", MTL_HEADER + "\n"
          + "\n".join(f"{v}/{f:05d}.jpg," for v, f in test) + "\n")
    for v, f, _ in rows["train"] + rows["val"]:
        crops(root, v, [f])
    for v, f in test:
        crops(root, v, [f])
    return {"rows": rows, "test": test, "folder": folder, "names": names}


def lsd(root: Path, anger="ANGRER") -> dict:
    counts = {anger: 3, "DISGUST": 1, "FEAR": 2, "HAPPINESS": 1, "SADNESS": 1, "SURPRISE": 2}
    for split, folder in (("train", "training_set_synthetic_images"),
                          ("val", "validation_set_real_images")):
        for cls, n in counts.items():
            for i in range(n if split == "train" else 1):
                write(root / "LSD" / folder / cls / f"{split}_{cls.lower()}_{i}.jpg", b"")
    for i in range(4):
        write(root / "LSD" / "test_set_images" / f"{i}.jpg", b"")
    write(root / "LSD" / "LSD_Challenge_test_set_release.txt",
          "image,expression\n" + "\n".join(f"{i}.jpg" for i in (2, 0, 3, 1)) + "\n")
    return counts


def ce(root: Path, lengths=(4, 3)) -> None:
    rows = [f"{v:02d}/{f:05d}.jpg," for v, n in enumerate(lengths, start=1) for f in range(1, n + 1)]
    write(root / "C-EXPR-DB" / "CER.txt", CE_HEADER + "\n" + "\n".join(rows) + "\n")
    for v in range(1, len(lengths) + 1):
        write(root / "C-EXPR-DB" / "videos" / f"{v:02d}.mp4", b"not decoded in these tests")


def write_video(path: Path, pts_ms, size=(32, 24), audio_s: float | None = None,
                audio_rate: int = 44100, tone_hz: float = 440.0) -> Path:
    """An H.264 mp4 whose frame i is shown at pts_ms[i] milliseconds (variable frame rate when the
    gaps differ), with an optional sine tone of `audio_s` seconds. Frame i is filled with 8*i."""
    import fractions

    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    ms = fractions.Fraction(1, 1000)
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=1000)  # codec clock in ms: any pts is exact
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        vs.time_base = ms
        aus = out.add_stream("aac", rate=audio_rate, layout="mono") if audio_s else None
        for i, p in enumerate(pts_ms):
            img = np.full((size[1], size[0], 3), (8 * i) % 256, np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = int(p), ms
            for pkt in vs.encode(frame):
                out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
        if aus is not None:
            t = np.arange(int(audio_rate * audio_s)) / audio_rate
            sig = (0.5 * np.sin(2 * np.pi * tone_hz * t)).astype(np.float32)
            for s in range(0, len(sig), 1024):
                frame = av.AudioFrame.from_ndarray(sig[None, s:s + 1024], format="flt",
                                                   layout="mono")
                frame.sample_rate, frame.pts = audio_rate, s
                frame.time_base = fractions.Fraction(1, audio_rate)
                for pkt in aus.encode(frame):
                    out.mux(pkt)
            for pkt in aus.encode():
                out.mux(pkt)
    return path
