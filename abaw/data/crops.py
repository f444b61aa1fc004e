"""The crop images of one video folder: which frames have a usable face crop.

A crop is `<NNNNN>.jpg`; anything else in the folder is reported, not used. A crop that can't be
decoded (0 bytes, or a JPEG cut short: what an interrupted copy leaves) is judged cheaply from
its size and JPEG markers (one read of at most 8 kB per crop, no decoding) and is never listed
as a frame with a face.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from abaw import protocol

_CROP_NAME = re.compile(rf"\d{{{protocol.FRAME_DIGITS}}}\.jpg\Z")
JPEG_START, JPEG_END = b"\xff\xd8", b"\xff\xd9"
_HEAD = 8192                 # one read covers a whole 112x112 crop (3-6 kB)
_TAIL = 64                   # encoders may pad a few bytes after the end marker


def unusable_crop(path) -> str | None:
    """Why a crop can't be decoded, judged cheaply from its size and JPEG markers; None if fine.

    A 0-byte file or one without the JPEG end marker near its end is what an interrupted copy
    leaves (entropy-coded JPEG data never holds FF D9, so the marker is only at the end)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as e:
        return f"an unreadable file ({e.strerror})"
    try:
        head = os.pread(fd, _HEAD, 0)
        if not head:
            return "an empty file (0 bytes)"
        if not head.startswith(JPEG_START):
            return "a file that is not a JPEG (no FF D8 start marker)"
        tail = head[-_TAIL:] if len(head) < _HEAD else \
            os.pread(fd, _TAIL, max(os.fstat(fd).st_size - _TAIL, 0))
        if JPEG_END not in tail:
            return "a JPEG cut short (no FF D9 end marker)"
        return None
    except OSError as e:
        return f"an unreadable file ({e.strerror})"
    finally:
        os.close(fd)


def crop_frames(folder: Path) -> tuple[np.ndarray, list[str], list[tuple[str, str]]]:
    """Sorted 1-based frame numbers of the usable `<NNNNN>.jpg` crops in a folder, the other
    (not hidden) names, and the (name, why) of crops that can't be decoded."""
    # hidden files (abaw's folder marker, .DS_Store) are neither crops nor worth a word
    names = [n for n in os.listdir(folder) if not n.startswith(".")]
    width = protocol.FRAME_DIGITS + 4
    joined = "".join(names).encode("ascii", errors="replace")
    if len(joined) == width * len(names):  # the usual case: parse every name at once
        a = np.frombuffer(joined, np.uint8).reshape(-1, width)  # (n, 9)
        digits = a[:, :protocol.FRAME_DIGITS].astype(np.int64) - 48
        ok = np.all((digits >= 0) & (digits <= 9), axis=1) & np.all(
            a[:, protocol.FRAME_DIGITS:] == np.frombuffer(b".jpg", np.uint8), axis=1)
        good = [names[i] for i in np.flatnonzero(ok)]
        other = [names[i] for i in np.flatnonzero(~ok)]
    else:
        good = [n for n in names if _CROP_NAME.match(n)]
        other = [n for n in names if not _CROP_NAME.match(n)]
    bad = [(n, why) for n in good if (why := unusable_crop(os.path.join(folder, n)))]
    if bad:
        broken = {n for n, _ in bad}
        good = [n for n in good if n not in broken]
    frames = np.array([int(n[:protocol.FRAME_DIGITS]) for n in good], np.int64)
    return np.sort(frames), other, sorted(bad)
