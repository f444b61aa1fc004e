"""Line 1 and the line ends of a single-file submission: a header is told from a first row by
its first field (a frame name has a `/` or an image suffix), a long header is shown cut, and line
ends other than the template's are counted exactly, with or without a final line end.

Files are written here by hand from the protocol's formats (independent of the writers).
"""

from __future__ import annotations

from formats_cases import write_list

from abaw import protocol
from abaw.formats import validate

VA_HEADER = "image_location,valence,arousal"


def va_lines(tpl, keys=None):
    """The template's rows (or `keys`) with varying valence / arousal, header first."""
    keys = keys or [s.split(",")[0] for s in tpl.read_text().splitlines()[1:]]
    return [VA_HEADER] + [f"{k},{(i % 9 - 4) / 8:.3f},{(i % 5 - 2) / 4:.3f}"
                          for i, k in enumerate(keys)]


def header_problems(report):
    return [str(p) for p in report.examples.get("header", [])]


def test_a_long_wrong_header_is_shown_cut_to_200_characters(tmp_path):
    tpl = write_list(tmp_path, "VA", 5)
    header = "image_location," + ",".join(f"column_{i:03d}" for i in range(30))   # 344 chars
    sub = tmp_path / "s.txt"
    sub.write_text("\n".join([header] + va_lines(tpl)[1:]) + "\n")
    shown = repr(header[:197] + "...")
    assert header_problems(validate(sub, "VA", 5, template=tpl)) == [
        f"{sub}:1: found {shown}, expected {VA_HEADER!r} byte for byte, as in the template"]


def test_frame_names_without_their_suffix_on_line_1_are_a_row(tmp_path):
    """No header, and frame names written without `.jpg`: line 1 is still taken for a row."""
    tpl = write_list(tmp_path, "VA", 5)
    keys = [s.split(",")[0][:-len(".jpg")] for s in tpl.read_text().splitlines()[1:]]
    sub = tmp_path / "s.txt"
    sub.write_text("\n".join(va_lines(tpl, keys)[1:]) + "\n")
    report = validate(sub, "VA", 5, template=tpl)
    assert header_problems(report) == [
        f"{sub}:1: found no header (line 1 is a row: {va_lines(tpl, keys)[1]!r}), expected the "
        f"header {VA_HEADER!r} on line 1"]
    assert "missing_rows" not in report.counts            # every row is read as a row


def test_one_hot_image_rows_without_a_header_are_rows(tmp_path):
    """An LSD file of six one-hot columns and no header: line 1 is an image's row."""
    tpl = write_list(tmp_path, "LSD", 4)
    images = [s.split(",")[0] for s in tpl.read_text().splitlines()[1:]]
    rows = [f"{s}," + ",".join("1" if c == i % 6 else "0" for c in range(6))
            for i, s in enumerate(images)]
    sub = tmp_path / "s.txt"
    sub.write_text("\n".join(rows) + "\n")
    report = validate(sub, "LSD", 4, template=tpl)
    assert header_problems(report) == [
        f"{sub}:1: found no header (line 1 is a row: {rows[0]!r}), expected the header "
        f"{protocol.LSD_HEADER!r} on line 1"]
    assert report.counts["one_hot"] == len(images) and "missing_rows" not in report.counts


def test_one_lf_line_in_a_crlf_file_without_a_final_line_end(tmp_path):
    tpl = write_list(tmp_path, "VA", 5)
    crlf_tpl = tmp_path / "crlf_template.txt"
    crlf_tpl.write_bytes(tpl.read_bytes().replace(b"\n", b"\r\n"))
    lines = va_lines(tpl)
    sub = tmp_path / "s.txt"                        # line 2 ends in LF, the last line in nothing
    sub.write_bytes(("\r\n".join(lines[:2]) + "\n" + "\r\n".join(lines[2:])).encode())
    assert [str(p) for p in validate(sub, "VA", 5, template=crlf_tpl).problems()] == [
        f"{sub}:2: found LF (\\n) line ends on 1 of {len(lines)} lines, expected CRLF (\\r\\n) "
        "as in the template"]
