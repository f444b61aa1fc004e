"""The report page: one self-contained HTML file (figures inlined as base64 PNG data), with a
link to the same figure written as a file beside it."""

from __future__ import annotations

import base64
import html
import json

from abaw.report import tables as tb

STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}
figure{margin:1em 0}img{max-width:100%}figcaption{font-size:.9em;color:#555}
pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.85em}"""


def table(title: str, head: list, rows: list) -> str:
    h = "".join(f"<th>{html.escape(x)}</th>" for x in head)
    body = "".join("<tr>" + "".join(
        f"<td{' class=n' if i else ''}>{html.escape(x)}</td>" for i, x in enumerate(r)) + "</tr>"
        for r in rows)
    heading = f"<h3>{html.escape(title)}</h3>" if title else ""
    return f"{heading}<table><tr>{h}</tr>{body}</table>"


def figure(name: str, png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode()
    return (f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{data}">'
            f'<figcaption>{html.escape(caption)} (<a href="{html.escape(name)}">'
            f'{html.escape(name)}</a>)</figcaption></figure>')


def page(title: str, a, figures: list, provenance: dict, config_text: str = "") -> str:
    """`figures`: [(section, file name, png, caption)] in the order shown."""
    parts = [f"<h1>{html.escape(title)}</h1>"]
    tables = tb.all_tables(a)
    parts += [table(t, h, r) for fig, t, h, r in tables if fig is None]
    parts += [f"<p>note: {html.escape(n)}</p>" for n in a.notes]
    section = None
    for sec, name, png, caption in figures:
        if sec != section:
            parts.append(f"<h2>{html.escape(sec)}</h2>")
            section = sec
        parts.append(figure(name, png, caption))
        parts += [table(t, h, r) for fig, t, h, r in tables if fig == name]
    parts.append("<h2>Provenance</h2>")
    parts.append(table("", ["field", "value"],
                       [[k, v if isinstance(v, str) else json.dumps(v)]
                        for k, v in provenance.items()]))
    if config_text:
        parts.append(f"<h3>config.toml</h3><pre>{html.escape(config_text)}</pre>")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{STYLE}</style></head><body>{''.join(parts)}</body></html>\n")

