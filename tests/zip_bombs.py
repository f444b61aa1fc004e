"""Zip bombs built in seconds without writing gigabytes: a deflate stream of N zero bytes is the
same few bytes for every 1 MiB (a full flush resets the compressor), so a member announcing 1 GiB
is written as 1024 copies of one compressed block, with its CRC and sizes in plain zip headers."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

MIB = 1 << 20


def zero_member(mib: int) -> tuple[bytes, int, int]:
    """(raw deflate data, crc32, size) of `mib` MiB of zero bytes."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(MIB)) + c.flush(zlib.Z_FULL_FLUSH)
    data = block * mib + zlib.compressobj(9, zlib.DEFLATED, -15).flush()   # final empty block
    crc = 0
    zeros = bytes(MIB)
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    return data, crc, mib * MIB


def write_zip(path: Path, members: dict[str, tuple[bytes, int, int]]) -> Path:
    """A zip of pre-deflated members {name: (data, crc32, size)} (sizes under 4 GiB each)."""
    out, central = bytearray(), bytearray()
    for name, (data, crc, size) in members.items():
        n = name.encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), size,
                           len(n), 0) + n + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc,
                               len(data), size, len(n), 0, 0, 0, 0, 0, offset) + n
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central),
                      len(out), 0)
    path.write_bytes(bytes(out + central + end))
    return path
