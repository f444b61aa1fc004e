"""`validate`: check a submission file, a folder of per-video files, or a zip, before upload.

What the rows must be comes from the template / test list the user passes, else from the same
file found under the dataset root (`root`: the file its test sequences were read from): the
template's rows, names and order are the only authority, never the index's sorted ids. Every
problem is reported (see `report.KINDS`), each as `file:line: found ..., expected ...`, grouped
and capped per kind with exact counts; warnings (`report.WARNINGS`) leave a file valid unless
`strict`. Per-video files checked without the test videos and their lengths are "not checked".

Bounded, whatever the input (a zip bomb, a huge file): files are read by `entries` (streams,
at most 128 MiB uncompressed in all, a compression-ratio bound, at most 10,000 entries; nothing
is ever extracted, an entry with an absolute path or `..` is reported and never read); a file of
more than `checks.MAX_LINES` lines is not split into lines; value fields are parsed
`values.CHUNK_ROWS` rows at a time. So a validation holds one file of at most 128 MiB and its
per-line arrays at a time: its peak memory was measured at about 0.7 GB on the worst file within
the bounds, and ~10 MB above start-up on an 8 MB zip of eight 1 GiB members
(`tests/test_validator_bounds.py`).

Layout choices (the organisers never documented them, `protocol.UNSURE["per_video_folder"]`):
a single-file submission is expected at the top level of a zip; per-video files at the top level
or in one folder named after the track (`VA/`) or its annotation folder (`VA_Set/`, ...).
"""

from __future__ import annotations

from pathlib import Path

from abaw import protocol
from abaw.errors import AbawError
from abaw.formats.checks import check_file
from abaw.formats.entries import JUNK, Entry, list_entries
from abaw.formats.report import DEFAULT_CAP, Report, quote
from abaw.formats.templates import Template, template_for
from abaw.formats.values import ValueStats
from abaw.formats.writers import per_video_lengths


def validate(path, track: str, edition: int, template=None, test_list=None, root=None,
             lengths: dict | None = None, cap: int = DEFAULT_CAP, strict: bool = False) -> Report:
    """Validate the submission at `path` for `track` in `edition`.

    template: file or Template (editions 5+, CE). test_list: MTL / LSD release list, or the
    edition 1-3 id list (file or list). root: dataset folder or DatasetIndex (the template or
    list it was built from gives the rows; editions 1-3: its test sequences give ids and
    lengths). lengths: id -> frames for per-video files. strict: warnings are errors.
    """
    path = Path(path)
    if not path.exists():
        raise AbawError(f"{path}: not found, expected a submission file, folder or zip")
    r = protocol.rules(track, edition)
    report = Report(str(path), r.track, edition, cap, strict=strict)
    index = _index(root, edition)
    template, test_list = user_file(template, index), user_file(test_list, index)
    tpl = None if r.submission == "per_video" else expected_rows(r, template, test_list, index)
    entries = list_entries(path, report)
    stats = ValueStats(r.track, edition)
    if r.submission == "per_video":
        _per_video(report, entries, r, test_list, index, lengths, stats)
        stats.warn(report, path)
    else:
        file = _single(report, entries, r, tpl, path, stats)
        stats.warn(report, file)
    return report


def _index(root, edition):
    if root is None or not isinstance(root, str | Path):
        return root                                    # None or a DatasetIndex
    from abaw.data import load_index
    return load_index(root, edition)


def user_file(given, index):
    """A template or test list as the user named it: the file itself, or the one of that name
    under the dataset root (`--template CVPR_8th_ABAW_AU_test_set_example.txt --root DATA`)."""
    from abaw.data.detect import find_file

    if not isinstance(given, str | Path):
        return given                                   # None, a Template, a list of ids
    found = find_file(given, index.root if index is not None else None)
    if found is None:
        under = f" or under {index.root}" if index is not None else ""
        raise AbawError(f"{given}: found no such file in {Path.cwd()}{under}, expected the "
                        "organisers' template or test list")
    return found


def expected_rows(r, template, test_list, index) -> Template:
    """The rows a single-file submission must have: the template / list given, else the one the
    dataset index's test sequences were read from (found under its root)."""
    source = template if template is not None else test_list
    what = "test list" if r.submission == "release_order" else "template"
    if source is not None:
        return template_for(source, r)
    if index is None:
        raise AbawError(f"{r.track} edition {r.edition}: found no {what}, expected --template FILE "
                        "(the organisers' file) or --root DATASET")
    return template_for(find_rows_file(r, index), r)


def find_rows_file(r, index) -> Path:
    """The template / test list under the index's root that its `r.track` test rows came from."""
    from abaw.data.layout import test_rows_pattern

    root = Path(index.root)
    sources = sorted({index.sequence(r.track, i).source for i in index.ids(r.track, "test")})
    files = [root / s for s in sources if s and (root / s).is_file()]
    what = "test list" if r.submission == "release_order" else "template"
    if len(files) == 1 and len(sources) == 1:
        return files[0]
    if len(sources) > 1:
        raise AbawError(f"index of {root}: found {r.track} test rows from {len(sources)} files "
                        f"({', '.join(sources[:3])}), expected one {what}: pass --template FILE")
    raise AbawError(f"{root}: found no {r.track} {what} (looked for "
                    f"{test_rows_pattern(r.track, r.edition)} under it), expected the organisers' "
                    f"file: pass --template FILE")


def _split_junk(report: Report, entries: list[Entry], container: Path) -> list[Entry]:
    keep = []
    for e in entries:
        if any(part in JUNK or part.startswith("._") for part in e.parts):
            report.add("unexpected_file", container, None, f"{quote(e.name)} (system file)",
                       "only submission files")
        else:
            keep.append(e)
    return keep


def _single(report: Report, entries, r, tpl: Template, path: Path, stats: ValueStats) -> str:
    """Check the one file of a single-file submission; returns its name (for warnings)."""
    entries = _split_junk(report, entries, path)
    if not entries:
        if not report.counts:
            report.add("empty_file", path, None, "no files", "one submission file")
        return str(path)
    if len(entries) > 1:
        names = ", ".join(quote(e.name) for e in entries[:5])
        report.add("layout", path, None, f"{len(entries)} files ({names})",
                   "exactly one submission file")
    entry = entries[0]
    if len(entry.parts) > 1:
        report.add("layout", path, None, f"{quote(entry.name)} inside a folder",
                   "the submission file at the top level of the zip")
    data = entry.read()
    if data is not None:
        check_file(report, entry.name, data, r.track, r.edition, template=tpl, stats=stats)
    report.checked["template rows"] = len(tpl)
    return entry.name


def _allowed_folders(track: str) -> set[str]:
    names = {track}
    for ed in protocol.EDITIONS.values():
        if track in ed.task_folders:
            names.add(ed.task_folders[track])
    return names


def _per_video(report: Report, entries, r, test_list, index, lengths, stats) -> None:
    container = Path(report.path)
    entries = _split_junk(report, entries, container)
    expected = None
    if test_list is not None or index is not None or lengths is not None:
        expected = per_video_lengths(r.track, lengths if lengths is not None else index,
                                     test_list)
    if expected is None:
        report.unchecked.append("the test videos and their lengths (pass --root: the dataset "
                                "with the test videos)")
    elif all(n < 0 for n in expected.values()):
        report.unchecked.append("the per-video lengths (pass --root: the dataset with the test "
                                "videos)")
    allowed = _allowed_folders(r.track)
    files: dict[str, Entry] = {}
    folders = set()
    for e in entries:
        if not e.parts[-1].endswith(".txt"):
            report.add("unexpected_file", container, None, quote(e.name), "only <video>.txt files")
            continue
        if len(e.parts) > 2 or (len(e.parts) == 2 and e.parts[0] not in allowed):
            report.add("layout", container, None, f"{quote(e.name)} in a nested or unknown folder",
                       f"<video>.txt at the top level or in one of {', '.join(sorted(allowed))}/")
        else:                                  # misplaced files are still checked below
            folders.add(e.parts[0] if len(e.parts) == 2 else "")
        video = e.parts[-1][:-4]
        if video in files:
            report.add("layout", container, None, f"{quote(e.name)} and "
                       f"{quote(files[video].name)}", "one file per video")
            continue
        files[video] = e
    if len(folders) > 1:
        report.add("layout", container, None, f"files spread over {len(folders)} places "
                   f"({', '.join(sorted(f or 'top level' for f in folders))})", "one place")
    if not files and not report.counts:
        report.add("empty_file", container, None, "no <video>.txt files",
                   "one file per test video")
        return
    if not files and report.counts.keys() & {"too_large", "zip_unreadable"}:
        return                                   # the container itself could not be read
    if expected is not None:
        _videos(report, container, files, expected, r.edition)
    for video in sorted(files):
        n = expected.get(video) if expected else None
        data = files[video].read()
        if data is not None:
            check_file(report, files[video].name, data, r.track, r.edition,
                       expected_rows=None if n is None or n < 0 else n, video=video, stats=stats)
    report.checked["videos"] = len(files)


def _videos(report, container, files, expected, edition) -> None:
    for video in expected:
        if video in files:
            continue
        base, suffix = protocol.split_person(video, edition)
        pairs = [base + s for s in protocol.EDITIONS[edition].person_suffixes
                 if suffix and s != suffix and base + s in files]
        hint = f"; {', '.join(pairs)} is there: each person has its own file" if pairs else ""
        report.add("missing_video", container, None, f"no file {video}.txt{hint}",
                   "one file per test video or person")
    for video in sorted(set(files) - set(expected)):
        report.add("extra_video", container, None, f"file {quote(files[video].name)}",
                   "only the test videos' files")
