"""`validate` reads within bounds whatever the input: zip bombs are never expanded, huge files
and zips of countless entries are refused before they are read, and peak memory is measured in a
child process (its own peak resident set, `VmHWM`), under an address-space limit so that a
regression fails instead of eating the machine."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from formats_cases import make_preds, write_list
from zip_bombs import MIB, write_zip, zero_member

from abaw.formats import validate, write_submission
from abaw.formats.checks import MAX_LINES
from abaw.formats.entries import MAX_ENTRIES, MAX_TOTAL_BYTES

REPO = Path(__file__).resolve().parents[1]
CHILD = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]), int(sys.argv[1])))

def peak_kib():
    # this process's own high-water mark; ru_maxrss also counts the parent's pages the child
    # held between fork and exec (a test session that trained models: gigabytes)
    with open("/proc/self/status") as status:
        return next(int(x.split()[1]) for x in status if x.startswith("VmHWM:"))

from abaw.formats import validate
base = peak_kib()
t = time.perf_counter()
kw = json.loads(sys.argv[5])
report = validate(sys.argv[2], sys.argv[3], int(sys.argv[4]), **kw)
print(json.dumps({"seconds": time.perf_counter() - t, "kinds": dict(report.counts),
                  "base_mib": base / 1024, "peak_mib": peak_kib() / 1024}))
"""


def measured(path, track, edition, limit_gib=1.5, timeout=120, **kw) -> dict:
    """validate() in a child process limited to `limit_gib` of address space."""
    res = subprocess.run([sys.executable, "-c", CHILD, str(int(limit_gib * 2 ** 30)), str(path),
                          track, str(edition), json.dumps({k: str(v) for k, v in kw.items()})],
                         cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout)


def test_a_zip_of_eight_1_gib_members_is_not_expanded(tmp_path):
    """The reported bomb: an 8 MB zip of eight 1 GiB members (read whole before: 9.5 GB)."""
    bomb = write_zip(tmp_path / "bomb.zip", {f"part{i}.txt": zero_member(1024) for i in range(8)})
    assert bomb.stat().st_size < 10 * MIB
    tpl = write_list(tmp_path, "EXPR", 8)
    got = measured(bomb, "EXPR", 8, template=tpl)
    assert got["kinds"]["too_large"] == 1 and got["seconds"] < 10
    assert got["peak_mib"] - got["base_mib"] < 64, got          # 8 MiB read at most, then refused


def test_many_members_share_one_byte_budget(tmp_path):
    """Per-video members each under the ratio check: the total bound stops them (ed. 3)."""
    n = MAX_TOTAL_BYTES // (8 * MIB) + 4
    bomb = write_zip(tmp_path / "bomb.zip", {f"VA/{i}.txt": zero_member(8) for i in range(n)})
    got = measured(bomb, "VA", 3, test_list=_ids(tmp_path, n))
    assert got["kinds"]["too_large"] == n - MAX_TOTAL_BYTES // (8 * MIB), got   # each unread one
    assert got["peak_mib"] - got["base_mib"] < 96, got          # one member at a time


def _ids(tmp_path, n):
    path = tmp_path / "ids.txt"
    path.write_text("\n".join(str(i) for i in range(n)) + "\n")
    return path


def test_a_zip_of_too_many_entries_is_refused_before_its_directory_is_read(tmp_path, monkeypatch):
    empty = zero_member(0)
    path = write_zip(tmp_path / "many.zip", {f"{i}.txt": empty for i in range(MAX_ENTRIES + 1)})

    def no_directory(*a, **k):
        raise AssertionError("the central directory was parsed")
    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", no_directory)
    report = validate(path, "VA", 3, test_list=["1"], lengths={"1": 3})
    assert report.counts["too_large"] == 1
    assert f"{MAX_ENTRIES + 1:,} entries" in str(report.examples["too_large"][0])


@pytest.mark.parametrize("size", [MAX_TOTAL_BYTES + 1, 1 << 30, 1 << 40])
def test_a_huge_file_is_refused_unread(size, tmp_path, monkeypatch):
    tpl = write_list(tmp_path, "VA", 8)
    path = tmp_path / "huge.txt"
    with open(path, "wb") as fh:                       # sparse: nothing is written
        fh.truncate(size)
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes",
                        lambda self: pytest.fail("read") if self == path else real(self))
    report = validate(path, "VA", 8, template=tpl)
    assert dict(report.counts) == {"too_large": 1}
    assert f"{size:,} bytes" in str(report.examples["too_large"][0])


@pytest.mark.parametrize("line", [b"\n", b",\n", b"a/00001.jpg,0\n"])
def test_a_file_of_too_many_lines_is_not_split(line, tmp_path):
    tpl = write_list(tmp_path, "EXPR", 8)
    path = tmp_path / "lines.txt"
    path.write_bytes(b"image_location\n" + line * MAX_LINES)
    report = validate(path, "EXPR", 8, template=tpl)
    assert dict(report.counts) == {"too_large": 1}, report.text_lines()


def test_a_folder_of_too_many_files_is_refused(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    for i in range(MAX_ENTRIES + 1):
        (folder / f"{i}.txt").touch()
    report = validate(folder, "AU", 2, lengths={"0": 1})
    assert dict(report.counts) == {"too_large": 1}


def test_zip_members_still_read_whole_within_the_bounds(tmp_path):
    tpl = write_list(tmp_path, "AU", 8)
    w = write_submission(make_preds("AU", 8), tmp_path / "AU.txt", tpl)
    with zipfile.ZipFile(tmp_path / "s.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(w.path, "AU.txt")
    assert validate(tmp_path / "s.zip", "AU", 8, template=tpl).valid


@pytest.mark.slow
def test_peak_memory_of_the_worst_file_within_the_bounds(tmp_path):
    """Two million rows of unknown videos (every row a problem), 120 MB in a zip: the most a
    validation holds at once. Measured here: ~0.7 GB peak, ~16 s (2 cores)."""
    import numpy as np

    vals = np.random.default_rng(0).integers(0, 10 ** 6, (2_000_000, 2)).tolist()
    body = b"".join(b"longer-video-name-%07d_left/%05d.jpg,0.%06d,-0.%06d\n"
                    % (k // 3, k % 3 + 1, a, b) for k, (a, b) in enumerate(vals))
    with zipfile.ZipFile(tmp_path / "big.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("sub.txt", b"image_location,valence,arousal\n" + body)
    got = measured(tmp_path / "big.zip", "VA", 8, limit_gib=2, timeout=300,
                   template=write_list(tmp_path, "VA", 8))
    assert got["kinds"]["extra_video"] == 666_667
    assert got["peak_mib"] < 1024, got
