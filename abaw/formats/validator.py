"""`validate`: check a submission file, a folder of per-video files, or a zip, before upload.

What the rows must be comes from the template / test list the user passes, or from the test
sequences of a dataset index (`root`). Zip members are read in memory; an entry with an absolute
path or `..` is reported and never read. Every problem is reported (see `report.KINDS`), each as
`file:line: found ..., expected ...`, grouped and capped per kind with exact counts.

Layout choices (the organisers never documented them, `protocol.UNSURE["per_video_folder"]`):
a single-file submission is expected at the top level of a zip; per-video files at the top level
or in one folder named after the track (`VA/`) or its annotation folder (`VA_Set/`, ...).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from abaw import protocol
from abaw.errors import AbawError
from abaw.formats.checks import check_file
from abaw.formats.report import DEFAULT_CAP, Report, quote
from abaw.formats.templates import Template, image_template, read_template, template_from_rows
from abaw.formats.writers import per_video_lengths

JUNK = ("__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini")
MAX_MEMBER_BYTES = 1 << 31          # a zip member larger than 2 GiB is not a submission


@dataclass
class Entry:
    name: str                         # shown in problems: the path inside the zip / folder
    parts: tuple[str, ...]            # folders + file name inside the container
    read: Callable[[], bytes]


def validate(path, track: str, edition: int, template=None, test_list=None, root=None,
             lengths: dict | None = None, cap: int = DEFAULT_CAP) -> Report:
    """Validate the submission at `path` for `track` in `edition`.

    template: file or Template (editions 5+, CE). test_list: MTL / LSD release list, or the
    edition 1-3 id list (file or list). root: dataset folder or DatasetIndex (its test sequences
    give the rows, ids and lengths). lengths: id -> frames for per-video files.
    """
    path = Path(path)
    if not path.exists():
        raise AbawError(f"{path}: not found, expected a submission file, folder or zip")
    r = protocol.rules(track, edition)
    report = Report(str(path), r.track, edition, cap)
    index = _index(root, edition)
    entries = list_entries(path, report)
    if r.submission == "per_video":
        _per_video(report, entries, r, test_list, index, lengths)
    else:
        tpl = expected_rows(r, template, test_list, index)
        _single(report, entries, r, tpl, path)
    return report


def _index(root, edition):
    if root is None or not isinstance(root, str | Path):
        return root                                    # None or a DatasetIndex
    from abaw.data import load_index
    return load_index(root, edition)


def expected_rows(r, template, test_list, index) -> Template:
    source = template if template is not None else test_list
    if isinstance(source, Template):
        return source
    if source is not None:
        return read_template(source)
    if index is not None:
        ids = index.ids(r.track, "test")
        if not ids:
            raise AbawError(f"index of {index.root}: found no {r.track} test sequences, expected "
                            "the test set (or pass the template)")
        if r.track in protocol.IMAGE_TRACKS:      # one sequence of images, named by the list
            seq = index.sequence(r.track, ids[0])
            return image_template([PurePosixPath(p).name for p in seq.images or []],
                                  r.prediction_header, f"{r.track} test list of {index.root}")
        return template_from_rows(ids, [index.sequence(r.track, i).frames for i in ids],
                                  r.prediction_header, f"{r.track} test rows of {index.root}")
    what = "test list" if r.submission == "release_order" else "template"
    raise AbawError(f"{r.track} edition {r.edition}: found no {what}, expected --template FILE "
                    "(the organisers' file) or --root DATASET")


def list_entries(path: Path, report: Report) -> list[Entry]:
    if path.is_file() and path.suffix.lower() == ".zip":
        return _zip_entries(path, report)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        return [Entry(p.relative_to(path).as_posix(), p.relative_to(path).parts,
                      (lambda p=p: p.read_bytes())) for p in files]
    return [Entry(str(path), (path.name,), path.read_bytes)]


def _zip_entries(path: Path, report: Report) -> list[Entry]:
    try:
        zf = zipfile.ZipFile(path)
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as e:
        report.add("zip_unreadable", path, None, f"an unreadable zip ({e})", "a valid zip file")
        return []
    out = []
    for info in infos:
        name = info.filename
        pure = PurePosixPath(name.replace("\\", "/"))
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
            report.add("zip_unsafe", path, None, f"entry {quote(name)} with an absolute path",
                       "relative paths inside the zip")
            continue
        if ".." in pure.parts:
            report.add("zip_unsafe", path, None, f"entry {quote(name)} that climbs out with '..'",
                       "relative paths inside the zip")
            continue
        if info.is_dir():
            continue
        if info.file_size > MAX_MEMBER_BYTES:
            report.add("zip_unreadable", path, None, f"entry {quote(name)} of "
                       f"{info.file_size} bytes", "submission files under 2 GiB")
            continue

        def read(info=info):
            try:
                return zf.read(info)
            except (zipfile.BadZipFile, RuntimeError, OSError) as e:
                report.add("zip_unreadable", path, None, f"entry {quote(info.filename)} that "
                           f"can't be read ({e})", "readable, unencrypted entries")
                return None
        out.append(Entry(pure.as_posix(), pure.parts, read))
    return out


def _split_junk(report: Report, entries: list[Entry], container: Path) -> list[Entry]:
    keep = []
    for e in entries:
        if any(part in JUNK or part.startswith("._") for part in e.parts):
            report.add("unexpected_file", container, None, f"{quote(e.name)} (system file)",
                       "only submission files")
        else:
            keep.append(e)
    return keep


def _single(report: Report, entries, r, tpl: Template, path: Path) -> None:
    entries = _split_junk(report, entries, path)
    if not entries:
        if not report.counts:
            report.add("empty_file", path, None, "no files", "one submission file")
        return
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
        check_file(report, entry.name, data, r.track, r.edition, template=tpl)
    report.checked["template rows"] = len(tpl)


def _allowed_folders(track: str) -> set[str]:
    names = {track}
    for ed in protocol.EDITIONS.values():
        if track in ed.task_folders:
            names.add(ed.task_folders[track])
    return names


def _per_video(report: Report, entries, r, test_list, index, lengths) -> None:
    container = Path(report.path)
    entries = _split_junk(report, entries, container)
    expected = None
    if test_list is not None or index is not None or lengths is not None:
        expected = per_video_lengths(r.track, lengths if lengths is not None else index,
                                     test_list)
    if expected is None or all(n < 0 for n in expected.values()):
        report.notes.append("per-video lengths not checked: pass --root (the dataset with the test "
                            "videos)" + ("" if expected else " or --test-list for the ids"))
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
    if expected is not None:
        _videos(report, container, files, expected, r.edition)
    for video in sorted(files):
        n = expected.get(video) if expected else None
        data = files[video].read()
        if data is not None:
            check_file(report, files[video].name, data, r.track, r.edition,
                       expected_rows=None if n is None or n < 0 else n, video=video)
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
