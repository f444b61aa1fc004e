"""Face tracks and who is who.

- Linking (`Linker`): online, frame by frame. A face continues a track when its box overlaps the
  track's last box (IoU >= `IOU_LINK`) or, after a gap or a fast move, when its centre lies
  within `REACH` face sizes of it at a similar size. Pairs are taken best first (greedy). A
  track is never closed, so a face that comes back where it was after frames without a face
  keeps its track. Two faces in one frame never share a track.
- Identity (`assign`): the video's annotation ids decide which tracks each one takes. One plain
  id takes the dominant track (most frames, then the larger face); `_left` / `_right` take the
  longest track left / right of the line midway between the two longest tracks (by mean centre;
  with one track, the frame's middle). Each then takes the tracks that continue it: those that
  share no frame with it, last `MIN_JOIN` frames or more, with a face of about its size (the
  person left the picture or was not detected for a while, and came back elsewhere). The rule
  applied is returned in words, to be written down per video.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abaw import protocol

IOU_LINK = 0.3
REACH = 0.5          # centre distance, in face sizes (sqrt of the track's box area)
SIZE_RATIO = 2.0     # a linked face is at most this much larger or smaller (in side)
MIN_JOIN = 3         # frames a track needs to continue a person after a gap (drops flickers)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) intersection over union of boxes a (N, 4) and b (M, 4), x1y1x2y2."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), -1)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), -1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), -1)
    return inter / np.maximum(area_a[:, None] + area_b[None] - inter, 1e-9)


class Linker:
    def __init__(self):
        self.last: list[np.ndarray] = []   # track -> its latest box

    def step(self, boxes: np.ndarray) -> np.ndarray:
        """Track ids (K,) for one frame's boxes (K, 4); new faces open new tracks."""
        out = np.full(len(boxes), -1, np.int64)
        if len(boxes) and self.last:
            prev = np.stack(self.last)
            overlap = iou(prev, boxes)                                   # (T, K)
            side_p = np.sqrt(np.prod(np.clip(prev[:, 2:] - prev[:, :2], 1e-3, None), -1))
            side_b = np.sqrt(np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 1e-3, None), -1))
            centre_p = (prev[:, :2] + prev[:, 2:]) / 2
            centre_b = (boxes[:, :2] + boxes[:, 2:]) / 2
            dist = np.linalg.norm(centre_p[:, None] - centre_b[None], axis=-1) / side_p[:, None]
            ratio = np.maximum(side_p[:, None] / side_b[None], side_b[None] / side_p[:, None])
            ok = (overlap >= IOU_LINK) | ((dist <= REACH) & (ratio <= SIZE_RATIO))
            t_idx, b_idx = np.nonzero(ok)
            order = np.lexsort((dist[t_idx, b_idx], -overlap[t_idx, b_idx]))
            used_t, used_b = set(), set()
            for t, b in zip(t_idx[order], b_idx[order], strict=True):
                if t in used_t or b in used_b:
                    continue
                used_t.add(t)
                used_b.add(b)
                out[b] = t
        for b in np.nonzero(out < 0)[0]:
            self.last.append(boxes[b].copy())
            out[b] = len(self.last) - 1
        for b, t in enumerate(out):
            self.last[t] = boxes[b].copy()
        return out


@dataclass
class TrackStats:
    frames: set          # frame indices the track has a face in
    centre_x: float      # mean box centre, px
    side: float          # mean box side (sqrt of the area), px


def stats(frames: np.ndarray, tracks: np.ndarray, boxes: np.ndarray) -> dict[int, TrackStats]:
    """Per track id, from every face's frame (D,), track (D,) and box (D, 4)."""
    out = {}
    for t in np.unique(tracks[tracks >= 0]):
        b = boxes[tracks == t]
        out[int(t)] = TrackStats(set(frames[tracks == t].tolist()),
                                 float(((b[:, 0] + b[:, 2]) / 2).mean()),
                                 float(np.sqrt(np.prod(b[:, 2:] - b[:, :2], -1)).mean()))
    return out


def _person(seed: int, others: list[int], tracks: dict[int, TrackStats]) -> list[int]:
    """The seed track plus, longest first, every track of `others` that shares no frame with
    those taken and has a face of about the same size: one person leaving and coming back."""
    taken, frames = [seed], set(tracks[seed].frames)
    for t in others:
        st = tracks[t]
        ratio = max(st.side, tracks[seed].side) / max(min(st.side, tracks[seed].side), 1e-6)
        if len(st.frames) >= MIN_JOIN and ratio <= SIZE_RATIO and not frames & st.frames:
            taken.append(t)
            frames |= st.frames
    return sorted(taken)


def assign(ids: list[str], tracks: dict[int, TrackStats], width: int,
           edition: int = protocol.LATEST_EDITION) -> dict[str, tuple[list[int], str]]:
    """id -> (its tracks, the rule that chose them, in words)."""
    by_length = sorted(tracks, key=lambda t: (-len(tracks[t].frames), -tracks[t].side, t))
    sides = {i: protocol.split_person(i, edition)[1] for i in ids}
    if not any(s in ("_left", "_right") for s in sides.values()):
        if not by_length:
            return {i: ([], "no face found") for i in ids}
        chosen = _person(by_length[0], by_length[1:], tracks)
        rule = (f"dominant track {by_length[0]} ({len(tracks[by_length[0]].frames)} frames) and "
                f"the tracks that continue it {chosen}, of {len(tracks)} tracks")
        return {i: (chosen, rule) for i in ids}
    seeds = sorted(by_length[:2], key=lambda t: tracks[t].centre_x)
    # the line between the two people: midway between the seeds, or the frame's middle
    middle = (sum(tracks[t].centre_x for t in seeds) / 2 if len(seeds) == 2 else width / 2)
    out = {}
    for i in ids:
        side = sides[i]
        if side not in ("_left", "_right"):
            out[i] = ([], f"{side or 'a plain id'} beside _left/_right: no rule")
            continue
        on_side = [t for t in by_length if (tracks[t].centre_x < middle) == (side == "_left")]
        if not on_side:
            out[i] = ([], f"no track on the {side[1:]} of x = {middle:.0f} px")
            continue
        chosen = _person(on_side[0], on_side[1:], tracks)
        out[i] = (chosen, f"longest track on the {side[1:]} of x = {middle:.0f} px "
                          f"({on_side[0]}, {len(tracks[on_side[0]].frames)} frames) and the "
                          f"tracks that continue it {chosen}")
    return out
