"""The report's tables as rows of strings: one source for the terminal and the HTML page.

Every number is printed with four decimals (counts as integers), so the two agree digit for
digit and a table read from a log can be compared with the page.
"""

from __future__ import annotations

import re

_NUMERIC = re.compile(r"^(n/a|[-+±\[\], .0-9]*)$")     # numbers, intervals, "± sd"


def num(v) -> str:
    return "n/a" if v is None else f"{v:.4f}"


def scores(a) -> tuple[list, list]:
    head = ["figure", "score", "90% interval or ± sd", "what it is"]
    rows = []
    for f in a.scores:
        interval = f"[{num(f.low)}, {num(f.high)}]" if f.low is not None else \
            f"± {num(f.sd)}" if f.sd is not None else ""
        rows.append([f.name, num(f.value), interval, f.note])
    return head, rows


def classes(t: dict) -> tuple[list, list]:
    head = ["class", "precision", "recall", "F1", "support"]
    rows = [[n, num(p), num(r), num(f), str(int(s))] for n, p, r, f, s in
            zip(t["names"], t["precision"], t["recall"], t["f1"], t["support"], strict=True)]
    return head, rows


def confusion(t: dict) -> tuple[list, list]:
    head = ["true \\ predicted", *t["names"]]
    rows = [[n, *(str(int(c)) for c in row)] for n, row in zip(t["names"], t["confusion"],
                                                                 strict=True)]
    return head, rows


def aus(t: dict) -> tuple[list, list]:
    head = ["AU", "F1", "threshold", "positive rate (truth)", "positive rate (prediction)",
            "support"]
    rows = [[n, num(f), num(th), num(rt), num(rp), str(int(s))] for n, f, th, rt, rp, s in
            zip(t["names"], t["f1"], t["threshold"], t["rate_true"], t["rate_pred"],
                t["support"], strict=True)]
    return head, rows


def va(t: dict) -> tuple[list, list]:
    head = ["video", "frames", "CCC valence", "CCC arousal"]
    rows = [[v, str(n), num(cv), num(ca)] for v, n, cv, ca in
            zip(t["videos"], t["frames"], t["CCC_V"], t["CCC_A"], strict=True)]
    return head, rows


def all_tables(a) -> list:
    """[(figure it goes with, title, head, rows)] of an analysis, in the order shown."""
    out = [(None, "Validation scores", *scores(a))]
    if a.classes:
        out += [("confusion.png", "Per class (post-processed decisions, in-sample)",
                 *classes(a.classes)),
                ("confusion.png", "Confusion matrix (rows: truth)", *confusion(a.classes))]
    if a.aus:
        out.append(("aus.png", "Per AU (post-processed decisions, in-sample)", *aus(a.aus)))
    if a.va:
        out.append(("va_per_video.png", "CCC per video (post-processed, in-sample)", *va(a.va)))
    return out


def print_tables(a, file=None) -> None:
    """Rich tables on a terminal; on a pipe or in a log, at full width (no column is cut)."""
    from rich.table import Table

    console = make_console(file)
    for _, title, head, rows in all_tables(a):
        table = Table(title=title, title_justify="left")
        for i, h in enumerate(head):
            numeric = all(_NUMERIC.match(r[i]) for r in rows)
            table.add_column(h, justify="right" if numeric else "left", no_wrap=True)
        for r in rows:
            table.add_row(*r)
        console.print(table)
    for note in a.notes:
        console.print(f"note: {note}")


def make_console(file=None):
    """A rich Console; on a pipe or in a log wide enough that no column is cut or wrapped."""
    import sys

    from rich.console import Console

    out = file or sys.stdout
    tty = out.isatty() if hasattr(out, "isatty") else False
    return Console(file=out, highlight=False, width=None if tty else 1000, no_color=not tty)
