"""Damaged copies of good files, generated: what a killed copy, a bad disk or a hand edit leaves.

Each generator takes the bytes (or the arrays / the JSON) of a good artifact and yields
(name, bytes) pairs; the corpus tests write each next to the good one and run commands on it.
Byte flips are put where a format notices them (inside a zip member's data, guarded by its CRC;
in headers and signatures), since a flipped float inside an array is a different but valid file.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile

import numpy as np


def truncations(data: bytes, count: int = 10):
    """The file cut at `count` offsets spread over its length (cut0: an empty file)."""
    n = len(data)
    cuts = [0, n - 1, 8, min(30, n - 1), n // 5, n // 3, n // 2, 2 * n // 3, max(n - 22, 0), 1]
    for i, cut in enumerate(cuts[:count]):
        yield f"cut{i}", data[:cut]


def zip_flips(data: bytes):
    """One byte flipped in each member's local header signature and in its data (start, middle,
    end: the member's CRC catches it), and in the end-of-archive signature."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        infos = z.infolist()
    for info in infos:
        start = info.header_offset
        name_len, extra_len = struct.unpack("<HH", data[start + 26:start + 30])
        body = start + 30 + name_len + extra_len
        yield f"{info.filename}-signature", flip(data, start)
        for where, pos in (("first", body), ("middle", body + info.compress_size // 2),
                           ("last", body + info.compress_size - 1)):
            yield f"{info.filename}-{where}-byte", flip(data, pos)
    yield "end-signature", flip(data, data.rindex(b"PK\x05\x06"))


def flip(data: bytes, pos: int) -> bytes:
    return data[:pos] + bytes([data[pos] ^ 0xFF]) + data[pos + 1:]


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def not_npz(good_array: np.ndarray):
    """Files that are no .npz at all, under the .npz's name."""
    buf = io.BytesIO()
    np.save(buf, good_array)
    yield "npy", buf.getvalue()
    yield "text", b"frame,value\n1,0.5\n"
    yield "json", b'{"track": "EXPR"}'
    yield "random", np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("meta.npy", "not an array")
    yield "zip-of-text", zbuf.getvalue()
    pick = io.BytesIO()
    np.save(pick, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    yield "pickled", npz_raw({"meta.npy": pick.getvalue()})


def npz_raw(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, b in members.items():
            z.writestr(name, b)
    return buf.getvalue()


def array_variants(arrays: dict[str, np.ndarray], wrong: dict[str, list]):
    """The arrays with one missing, one extra, and each entry of `wrong` (array -> values to
    put in its place) swapped in; yields (name, npz bytes)."""
    for name in arrays:
        yield f"no-{name}", npz(**{k: v for k, v in arrays.items() if k != name})
    yield "extra-array", npz(**arrays, junk=np.zeros(3))
    for name, values in wrong.items():
        for i, v in enumerate(values):
            yield f"{name}-wrong{i}", npz(**{**arrays, name: v})


def json_texts(good: dict | list, fields: dict[str, list], required=None):
    """Damaged JSON: cut, not JSON, the wrong top-level type, each `required` field (default:
    every key of `fields`) missing and each field given each value of `fields[field]`."""
    text = json.dumps(good, indent=1)
    for name, data in truncations(text.encode(), 5):
        yield f"json-{name}", data
    yield "not-json", b"{track: EXPR"
    yield "binary", b"\x00\xff\xfe" * 10
    yield "wrong-top", json.dumps(["a list"] if isinstance(good, dict) else {"an": "object"}).encode()
    yield "deep", b"[" * 100_000 + b"]" * 100_000
    if isinstance(good, dict):
        for key in fields if required is None else required:
            yield f"no-{key}", json.dumps({k: v for k, v in good.items() if k != key}).encode()
    for key, values in fields.items():
        for i, v in enumerate(values):
            yield f"{key}-bad{i}", json.dumps(_set(good, key, v)).encode()


def _set(good, key, value):
    out = json.loads(json.dumps(good))
    if isinstance(out, list):
        out[int(key)] = value
    else:
        out[key] = value
    return out
