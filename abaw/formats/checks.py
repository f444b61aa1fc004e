"""Checks of one submission file: bytes and lines, header, rows against the template, values.

The common case (a valid file) is decided without splitting the file into Python strings: the
keys of all rows are compared with the template's keys in one masked comparison. Only when that
fails are keys parsed into (video, frame) and matched to template rows, to say which rows are
missing, extra, duplicated, misspelt or out of order, each reported once (a missing video is one
problem, not one per frame; a run of missing frames is one problem).
"""

from __future__ import annotations

import numpy as np

from abaw import protocol
from abaw.formats import textscan as ts
from abaw.formats.numbers import all_numbers
from abaw.formats.report import Report, quote
from abaw.formats.templates import IMAGE_SUFFIXES, Template, parse_keys
from abaw.formats.values import ValueStats, check_values

# The largest template has 1,022,655 rows (edition 5+ EXPR): a file of more lines than twice that
# is not a submission, and is not split into lines (that would cost ~50 bytes of memory per line).
MAX_LINES = 1 << 21


def check_file(report: Report, file: str, data: bytes, track: str, edition: int,
               template: Template | None = None, expected_rows: int | None = None,
               video: str = "", stats: ValueStats | None = None) -> None:
    """Check one file: with `template` a keyed single file, else a per-video file of `video`.
    `stats` gathers what the submission-wide warnings need (see `values.ValueStats`)."""
    r = protocol.rules(track, edition)
    keyed = template is not None
    if not data or data.isspace():
        n = len(template) if keyed else expected_rows
        report.add("empty_file", file, None, "an empty file" if not data else "only whitespace",
                   "a header line and " + (f"{n} rows" if n else "one row per frame"))
        return
    n_lines = data.count(b"\n")
    if n_lines > MAX_LINES:
        report.add("too_large", file, None, f"{n_lines:,} lines",
                   f"at most {MAX_LINES:,} (the largest template has 1,022,655 rows); not read")
        return
    lines = ts.split_lines(data)
    report.checked["files"] += 1
    if lines.bom:
        report.add("bom", file, 1, "a UTF-8 byte-order mark (EF BB BF) before the header",
                   "the file to start with the header")
    _line_ends(report, file, lines, template.newline if keyed else b"\n")
    expected_header = template.header if keyed and template.header is not None \
        else r.prediction_header
    has_header = _header(report, file, lines, expected_header, keyed)
    body = np.arange(1 if has_header else 0, len(lines))
    blank = body[lines.ends[body] == lines.starts[body]]
    report.add_rows("blank_line", file, blank + 1, lambda i: (
        "an empty line", "no empty lines (one row per line, nothing after the last row)"))
    body = body[lines.ends[body] > lines.starts[body]]
    if len(body) == 0:
        n = len(template) if keyed else expected_rows
        report.add("empty_file", file, None, "only the header",
                   f"{n} rows" if n else "one row per frame after the header")
        return
    starts, ends = lines.starts[body], lines.ends[body]
    report.checked["rows"] += len(body)
    if keyed:
        vstart, has_sep, aligned = check_rows(report, file, lines, body, template, edition)
        if aligned and stats is not None and template.value_style == "dummy":
            _compare_dummy(stats, lines, vstart, ends, template)
    else:
        vstart, has_sep = starts, np.ones(len(body), bool)
        if expected_rows is not None and len(body) != expected_rows:
            diff = len(body) - expected_rows
            report.add("length", file, None, f"{len(body)} rows",
                       f"{expected_rows} (one per frame of {video}, frames 1-"
                       f"{expected_rows}; {diff:+d} row{'s' if abs(diff) > 1 else ''})")
    check_values(report, file, lines, body + 1, vstart, ends, has_sep, track, edition, stats)


def _compare_dummy(stats: ValueStats, lines, vstart, vend, tpl: Template) -> None:
    """Count rows whose values are, byte for byte, the template's placeholder values."""
    t_start = tpl.row_start + tpl.key_len + 1
    t_end = tpl.lines.ends[tpl.row_line - 1]
    n = vend - vstart
    same = n == t_end - t_start
    same[same] = ts.equal_prefixes(lines.buf, vstart[same], tpl.lines.buf, t_start[same],
                                   n[same])
    stats.dummy_rows += len(same)
    stats.dummy_equal += int(same.sum())
    if not stats.dummy_example and len(same):
        stats.dummy_example = quote(tpl.lines.data[int(t_start[0]):int(t_end[0])])


def _line_ends(report, file, lines, newline: bytes) -> None:
    crlf = int(lines.crlf.sum())
    lf = len(lines) - crlf - (0 if lines.final_newline else 1)
    if newline == b"\n" and crlf:
        report.add("line_ending", file, int(np.argmax(lines.crlf)) + 1,
                   f"CRLF (\\r\\n) line ends on {crlf} of {len(lines)} lines",
                   "LF (\\n) as in the template")
    elif newline == b"\r\n" and lf > 0:
        report.add("line_ending", file, int(np.argmax(~lines.crlf)) + 1,
                   f"LF (\\n) line ends on {lf} of {len(lines)} lines",
                   "CRLF (\\r\\n) as in the template")


def _looks_like_row(line: bytes, keyed: bool) -> bool:
    first = line.split(b",", 1)[0].strip()
    if keyed:
        return b"/" in first or first.lower().endswith(IMAGE_SUFFIXES)
    return all_numbers(line)


def _header(report, file, lines, expected: str, keyed: bool) -> bool:
    """Check line 1; returns whether it is a header (a missing header leaves line 1 a row)."""
    line = lines.raw(0)
    want = expected.encode("utf-8")
    if line == want:
        return True
    if _looks_like_row(line, keyed):
        report.add("header", file, 1, f"no header (line 1 is a row: {quote(line)})",
                   f"the header {quote(expected, 200)} on line 1")
        return False
    if line.rstrip() == want:
        what = "trailing whitespace"
    elif line.strip() == want:
        what = "leading whitespace"
    elif line.replace(b" ", b"") == want:
        what = "spaces"
    elif line.lower() == want.lower():
        what = "different letter case"
    else:
        what = ""
    report.add("header", file, 1, f"{quote(line, 200)}{f' ({what})' if what else ''}",
               f"{quote(expected, 200)} byte for byte, as in the template")
    return True


def check_rows(report: Report, file: str, lines: ts.Lines, body, tpl: Template,
               edition: int):
    """Rows against the template; returns (start of values (R,), row has a separator (R,),
    every row has the template row's key in the template's order)."""
    starts, ends = lines.starts[body], lines.ends[body]
    klen = tpl.key_len
    if len(body) == len(tpl):                                      # fast path: same keys
        after = starts + klen
        ok = (after < ends) & (lines.buf[np.minimum(after, len(lines.buf) - 1)] == ts.COMMA)
        if ok.all() and ts.equal_prefixes(lines.buf, starts, tpl.lines.buf, tpl.row_start,
                                          klen).all():
            return after + 1, np.ones(len(body), bool), True
    key_end = ts.first_comma(lines.buf, len(lines.data), starts, ends, lines.commas())
    _align(report, file, lines, starts, key_end, body + 1, tpl, edition)
    return key_end + 1, key_end < ends, False


class _Keys:
    """Key bytes of row i, cut from the file only when a message needs them."""

    def __init__(self, data: bytes, starts, ends):
        self.data, self.starts, self.ends = data, starts, ends

    def __getitem__(self, i) -> bytes:
        return self.data[int(self.starts[i]):int(self.ends[i])]


def _align(report, file, lines, starts, key_end, line_no, tpl: Template, edition: int) -> None:
    sub_keys = _Keys(lines.data, starts, key_end)
    t_keys = _Keys(tpl.lines.data, tpl.row_start, tpl.row_start + tpl.key_len)
    if tpl.image_level:                        # image names: a dictionary (10^5 rows at most)
        t_index: dict[bytes, int] = {}
        for i in range(len(tpl)):
            t_index.setdefault(t_keys[i], i)
        trow = np.array([t_index.get(sub_keys[i], -1) for i in range(len(starts))], np.int64)
        extra = np.flatnonzero(trow < 0)
        report.add_rows("extra_rows", file, line_no[extra], lambda i: (
            f"image {quote(sub_keys[extra[i]])}", "only the images of the test list"))
    else:
        trow = _match(report, file, lines, starts, key_end, line_no, sub_keys, t_keys, tpl)
    matched = np.flatnonzero(trow >= 0)
    # duplicates: every occurrence after the first of a template row
    order = matched[np.argsort(trow[matched], kind="stable")]
    rep = np.zeros(len(order), bool)
    rep[1:] = trow[order[1:]] == trow[order[:-1]]
    first_of = np.maximum.accumulate(np.where(~rep, np.arange(len(order)), 0))
    in_file_order = np.argsort(order[rep], kind="stable")
    dups = order[rep][in_file_order]
    dup_first = line_no[order[first_of[rep]]][in_file_order]     # line of each one's first
    report.add_rows("duplicate_row", file, line_no[dups], lambda i: (
        f"{quote(sub_keys[dups[i]])} again (first on line {int(dup_first[i])})",
        "each template row once"))
    firsts = np.sort(order[~rep])
    _order(report, file, line_no, trow, firsts, sub_keys, tpl)
    _missing(report, file, line_no, trow, firsts, tpl, edition)


def _match(report, file, lines, starts, key_end, line_no, sub_keys, t_keys, tpl) -> np.ndarray:
    """Template row of each submission row by (video, frame), or -1; reports rows that match
    no template row (extra rows / videos, unreadable keys) and misspelt frame names."""
    _, videos, vid, frames, bad = parse_keys(lines.buf, starts, key_end - starts, line_no, file,
                                             strict=False)
    known = {v: k for k, v in enumerate(tpl.videos)}
    vmap = np.array([known.get(v, -1) for v in videos] + [-1], np.int64)
    tv = vmap[np.where(bad, len(videos), vid)]                      # template video id or -1
    t_code = (tpl.video_of_row.astype(np.int64) << 32) | tpl.frames
    t_order = np.argsort(t_code, kind="stable")
    code = (np.maximum(tv, 0) << 32) | frames
    j = np.clip(np.searchsorted(t_code[t_order], code), 0, len(t_code) - 1)
    hit = ~bad & (tv >= 0) & (t_code[t_order[j]] == code)
    trow = np.where(hit, t_order[j], -1)
    h = np.flatnonzero(hit)                    # same (video, frame): is it spelt the same?
    klen = (key_end - starts)[h]
    same = klen == tpl.key_len[trow[h]]
    same[same] = ts.equal_prefixes(lines.buf, starts[h[same]], tpl.lines.buf,
                                   tpl.row_start[trow[h[same]]], klen[same])
    spelt = h[~same]
    report.add_rows("frame_name", file, line_no[spelt], lambda i: (
        quote(sub_keys[spelt[i]]),
        f"{quote(t_keys[trow[spelt[i]]])} (copy frame names from the template)"))
    garbage = np.flatnonzero(bad)
    report.add_rows("bad_key", file, line_no[garbage], lambda i: (
        f"frame name {quote(sub_keys[garbage[i]])}",
        f"<video>/<{'N' * protocol.FRAME_DIGITS}>.jpg as in the template"))
    new_video = np.flatnonzero(~bad & (tv < 0))
    ids, first, count = np.unique(vid[new_video], return_index=True, return_counts=True)

    def extra_video(i):                            # one problem per video, counted in bulk
        name = videos[ids[i]]
        pairs = [p for p in tpl.videos if p.startswith(name + "_")]
        hint = f" (the template has {', '.join(pairs)})" if pairs else ""
        return f"{count[i]} rows of video {name!r}{hint}", "only the template's videos"
    report.add_rows("extra_video", file, line_no[new_video[first]], extra_video)
    extra = np.flatnonzero(~bad & (tv >= 0) & ~hit)
    if len(extra):                                   # runs of consecutive extra rows, per video
        a, b = _runs(extra, tv[extra])
        lengths = tpl.lengths()
        report.add_rows("extra_rows", file, line_no[extra[a]], lambda i: (
            _frames_text(videos[vid[extra[a[i]]]], frames[extra[a[i]:b[i]]]),
            f"only the template's rows (frames {_range(tpl, videos[vid[extra[a[i]]]])} of "
            f"{lengths[videos[vid[extra[a[i]]]]]} rows)"))
    return trow


def _runs(rows: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[a, b) bounds (indices into `rows`) of runs of consecutive rows of one group: no list of
    arrays, whatever the number of runs."""
    cut = np.flatnonzero((np.diff(rows) != 1) | (np.diff(group) != 0)) + 1
    return np.r_[0, cut], np.r_[cut, len(rows)]


def _range(tpl, video) -> str:
    f = tpl.frames[tpl.video_of_row == tpl.videos.index(video)]
    return f"{int(f.min())}-{int(f.max())}"


def _frames_text(video, frames) -> str:
    n = len(frames)
    span = f"frame {int(frames[0])}" if n == 1 else f"frames {int(frames[0])}-{int(frames[-1])}"
    return f"{n} row{'s' if n > 1 else ''} for {span} of video {video!r} not in the template"


def _order(report, file, line_no, trow, firsts, sub_keys, tpl) -> None:
    p = trow[firsts]
    down = np.flatnonzero(p[1:] < p[:-1]) + 1
    report.add_rows("row_order", file, line_no[firsts[down]], lambda i: (
        f"{quote(sub_keys[firsts[down[i]]])} after {quote(sub_keys[firsts[down[i] - 1]])}",
        f"the template's order ({quote(sub_keys[firsts[down[i]]])} is on template line "
        f"{int(tpl.row_line[p[down[i]]])})"))


def _missing(report, file, line_no, trow, firsts, tpl: Template, edition: int) -> None:
    n = len(tpl)
    sub_line = np.full(n, -1, np.int64)
    sub_line[trow[firsts]] = line_no[firsts]
    missing = sub_line < 0
    if not missing.any():
        return
    if tpl.image_level:
        rows = np.flatnonzero(missing)
        a, b = _runs(rows, np.zeros(len(rows), np.int8))
        report.add_rows("missing_rows", file, [None] * len(a), lambda i: (
            f"no rows for {b[i] - a[i]} image(s) from {quote(tpl.key(int(rows[a[i]])))} "
            f"(line {int(tpl.row_line[rows[a[i]]])} of the list)", "every image of the test list"))
        return
    vid = tpl.video_of_row
    per_video_missing = np.bincount(vid[missing], minlength=len(tpl.videos))
    per_video_rows = np.bincount(vid, minlength=len(tpl.videos))
    whole = per_video_missing == per_video_rows
    present = {v for k, v in enumerate(tpl.videos) if not whole[k]}
    for k in np.flatnonzero(whole):
        name = tpl.videos[k]
        base, suffix = protocol.split_person(name, edition)
        pairs = [base + s for s in protocol.EDITIONS[edition].person_suffixes
                 if s != suffix and base + s in present] if suffix else []
        hint = (f"; {', '.join(pairs)} has rows: each person of a two-person video has its own"
                if pairs else "")
        report.add("missing_video", file, None,
                   f"no rows for video {name!r} ({per_video_rows[k]} template rows{hint})",
                   "every video of the template")
    part = np.flatnonzero(missing & ~whole[vid])
    if len(part) == 0:
        return
    a, b = _runs(part, vid[part])
    first = part[a]
    last_seen = np.maximum.accumulate(np.where(sub_line >= 0, sub_line, 0))
    before = last_seen[np.maximum(first - 1, 0)]
    where = np.where((first > 0) & (before > 0), before + 1, 2)     # the line it belongs on
    report.add_rows("missing_rows", file, where, lambda i: (
        f"no rows for {_span(tpl, part[a[i]:b[i]])} of video {tpl.videos[vid[first[i]]]!r}",
        "every template row, frames without a face too"))


def _span(tpl, run) -> str:
    a, b = int(tpl.frames[run[0]]), int(tpl.frames[run[-1]])
    return f"frame {a}" if len(run) == 1 else f"frames {a}-{b} ({len(run)} rows)"
