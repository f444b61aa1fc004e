"""Test-set lists and templates: which rows a test submission must have.

- Editions 1-3: one id per line, no header (`TEST_LISTS_ED3`); the rows of an id are frames 1..N
  with N from its raw video (`media.organiser_length`).
- Editions 5+: the organisers' per-frame template, `image_location,...` then `<video>/<NNNNN>.jpg,`
  with empty or dummy values. The template is the only authority: a test sequence has exactly the
  template rows of its video, in order.
- LSD: `image,expression` then one image name per line (release order).
"""

from __future__ import annotations

from pathlib import Path

from abaw import protocol
from abaw.data import problems as P
from abaw.data import textfile as T


def read_id_list(path: Path, rel: str, problems: list) -> list[str] | None:
    """Edition 3 test list: one annotation id per line, no header."""
    t = T.read_text(path, rel, problems, has_header=False)
    if t is None:
        return None
    ids = t.body.decode("utf-8", errors="replace").split("\n")[:-1]
    failed = False
    for i, name in enumerate(ids):  # a few hundred ids
        if not name or name != name.strip() or "," in name or "/" in name:
            problems.append(P.error(rel, i + 1, P.quote(name), "one annotation id per line"))
            failed = True
    return None if failed or _duplicates(ids, rel, 1, problems) else ids


def _duplicates(names, rel, first_line, problems, what="id") -> bool:
    """Report every repeated name (with the line of its second appearance); True if any."""
    if len(set(names)) == len(names):
        return False
    seen: dict[str, int] = {}
    for i, name in enumerate(names):  # only when a repeat exists
        if name in seen:
            problems.append(P.error(rel, first_line + i, f"{what} {name!r} again",
                                    f"each {what} once (first on line {first_line + seen[name]})"))
        else:
            seen[name] = i
    return True


def template_header_hint(track: str, edition: int):
    def hint(found: str) -> str:
        eds = [e for e in protocol.EDITIONS if track in protocol.EDITIONS[e].tracks
               and protocol.EDITIONS[e].submission == "template"
               and protocol.rules(track, e).prediction_header == found]
        if eds:
            return f"that is the {track} template header of edition(s) {eds}: is the edition right?"
        return "is this the template of another track?"
    return hint


def read_template(path: Path, rel: str, track: str, edition: int, problems: list):
    """An organisers' template -> {video id: (N,) int64 frames in template order}, or None."""
    track = track.upper()
    header = protocol.rules(track, edition).prediction_header
    t = T.read_text(path, rel, problems, header, header_hint=template_header_hint(track, edition))
    if t is None:
        return None
    a, starts, ends = T.lines(t.body)
    col = T.image_column(a, starts, ends)
    nfields = col.nfields
    max_fields = header.count(",") + 1
    failed = T.report_rows(col.bad, t, starts, ends, problems, "image_location",
                           f"'<video>/<{'N' * protocol.FRAME_DIGITS}>.jpg'")
    failed |= T.report_rows(nfields > max_fields, t, starts, ends, problems, None,
                            f"at most {max_fields} fields ({header})")
    groups = None if failed else T.rows_by_video(col, t, problems)
    return None if groups is None else {v: col.frames[rows] for v, rows in groups.items()}


def read_image_list(path: Path, rel: str, header: str, problems: list) -> list[str] | None:
    """A list of image names with a header (LSD test list): the first field of every row."""
    t = T.read_text(path, rel, problems, header)
    if t is None:
        return None
    names = T.first_fields(t.body)
    empty = [i for i, n in enumerate(names) if not n.strip()] if "" in names else []
    if empty:
        problems.append(P.error(rel, t.first_line + empty[0], "an empty image name",
                                "one image name per row"))
        return None
    return None if _duplicates(names, rel, t.first_line, problems, "image") else names
