"""Template / test-list reading and the vectorised text scanning, against plain Python parsing."""

from __future__ import annotations

import numpy as np
import pytest

from abaw import protocol
from abaw.errors import AbawError
from abaw.formats import textscan as ts
from abaw.formats.templates import (
    image_template,
    read_template,
    read_test_list,
    template_from_bytes,
    template_from_rows,
)


def python_keys(text: str):
    """(videos in order, video of row, frame of row) the slow, obvious way."""
    videos, vid, frames = [], [], []
    for line in text.splitlines()[1:]:
        k = line.split(",", 1)[0]
        video, name = k.rsplit("/", 1)
        if video not in videos:
            videos.append(video)
        vid.append(videos.index(video))
        frames.append(int(name.split(".")[0]))
    return videos, vid, frames


def test_keys_match_python_parsing_including_unusual_spellings():
    rng = np.random.default_rng(0)
    lines = ["image_location,valence,arousal"]
    names = ["1-30-1280x720", "1-30-1280x720_left", "video_7", "a", "122-60-1920x1080-1"]
    for v in names:
        for f in range(1, int(rng.integers(3, 40))):
            spelt = f"{f:05d}.jpg" if rng.random() > 0.1 else f"{f:06d}.png"   # slow path too
            lines.append(f"{v}/{spelt},0.5,-0.5")
    lines.append("a/123456.jpg,0,0")                     # a video seen again, 6 digits
    text = "\n".join(lines) + "\n"
    tpl = template_from_bytes(text.encode())
    videos, vid, frames = python_keys(text)
    assert tpl.videos == videos
    assert tpl.video_of_row.tolist() == vid
    assert tpl.frames.tolist() == frames
    assert tpl.value_style == "dummy" and tpl.header == lines[0]
    assert [tpl.key(i) for i in range(len(tpl))] == [s.split(",")[0] for s in lines[1:]]


def test_headerless_lists_crlf_bom_and_styles():
    t = template_from_bytes(b"\xef\xbb\xbfimage,expression\r\n0.jpg\r\n1.jpg\r\n")
    assert t.header == "image,expression" and t.newline == b"\r\n" and t.value_style == "none"
    assert t.image_level and t.frames.tolist() == [1, 2] and t.videos == [""]
    m = template_from_bytes(b"v1/00003.jpg,\nv1/00007.jpg,\nv2/00001.jpg,\n")
    assert m.header is None and m.value_style == "empty"
    assert m.lengths() == {"v1": 2, "v2": 1} and m.frames.tolist() == [3, 7, 1]


@pytest.mark.parametrize("text,words", [
    (b"", "empty file"),
    (b"image_location,valence,arousal\n", "only a header"),
    (b"image_location,valence,arousal\nv/00001.jpg,\nhello.jpg,\n", "T.txt:3:"),
    (b"image_location,valence,arousal\nv/00000.jpg,\n", "1-based"),
])
def test_bad_templates_raise_one_line(text, words):
    with pytest.raises(AbawError, match=words) as e:
        _ = template_from_bytes(text, "T.txt").frames      # rows are parsed on first use
    assert "\n" not in str(e.value)


def test_rows_from_an_index_and_image_lists():
    t = template_from_rows(["a", "b_left"], [np.array([1, 2]), np.array([5])], "image,x")
    assert [t.key(i) for i in range(3)] == ["a/00001.jpg", "a/00002.jpg", "b_left/00005.jpg"]
    im = image_template(["0.jpg", "1.jpg"], protocol.LSD_HEADER)
    assert im.image_level and len(im) == 2


def test_test_list(tmp_path):
    p = tmp_path / "list.txt"
    p.write_bytes(b"\xef\xbb\xbf1-30-1280x720\n\n  105 \n")
    assert read_test_list(p) == ["1-30-1280x720", "105"]
    p.write_text("a\nb\na\n")
    with pytest.raises(AbawError, match="twice"):
        read_test_list(p)
    with pytest.raises(AbawError, match="not found"):
        read_template(tmp_path / "nope.txt")


def test_parse_numbers_against_float():
    texts = ["0", "-0.5", "+3", ".5", "5.", "0.123456", "-1.000000", "12345678901234567",
             "1e-3", "nan", "inf", "", " 1", "1 ", "abc", "1.2.3", "-", "--1", "0x10", "٣"]
    rng = np.random.default_rng(2)
    texts += [f"{x:.{int(rng.integers(0, 9))}f}" for x in rng.uniform(-5, 5, 300)]
    data = ",".join(texts).encode()
    buf = np.frombuffer(data, np.uint8)
    seps = [-1] + [i for i, b in enumerate(data) if b == 44] + [len(data)]
    starts = np.array([a + 1 for a in seps[:-1]])
    lengths = np.array([b - a - 1 for a, b in zip(seps[:-1], seps[1:], strict=True)])
    values, codes = ts.parse_numbers(buf, starts, lengths, chunk=64)
    for t, v, c in zip(data.split(b","), values, codes, strict=True):
        s = t.decode()
        plain = s != "" and all(ch in "0123456789.+-" for ch in s) and s.count(".") <= 1 \
            and s.lstrip("+-").replace(".", "").isdigit() and s[1:].lstrip("0123456789.") == ""
        if s == "":
            assert c == ts.EMPTY
        elif plain:
            assert c == (ts.DECIMAL if "." in s else ts.INT), s
            assert v == float(s), s                        # exact: correctly rounded
        else:
            assert c == ts.OTHER and np.isnan(v), s


def test_equal_prefixes_against_python():
    rng = np.random.default_rng(3)
    a = bytes(rng.integers(97, 100, 4000, dtype=np.uint8))
    b = bytearray(a)
    for i in rng.integers(0, 4000, 40):
        b[i] = 120
    b = bytes(b)
    starts = rng.integers(0, 3950, 500)
    lengths = rng.integers(0, 45, 500)
    got = ts.equal_prefixes(np.frombuffer(a, np.uint8), starts, np.frombuffer(b, np.uint8),
                            starts, lengths)
    want = [a[s:s + n] == b[s:s + n] for s, n in zip(starts, lengths, strict=True)]
    assert got.tolist() == want and 0 < sum(want) < 500


def test_split_lines_and_gather_at_the_end():
    lines = ts.split_lines(b"a,b\r\nc\n\nlast")
    assert [lines.text(i) for i in range(len(lines))] == ["a,b", "c", "", "last"]
    assert lines.crlf.tolist() == [True, False, False, False] and not lines.final_newline
    g = ts.gather(lines.buf, np.array([0, len(lines.data) - 2]), 4)
    assert bytes(g[0]) == b"a,b\r" and bytes(g[1]) == b"st\x00\x00"
