"""One self-contained HTML page: inline CSS, figures as base64 PNG, no scripts, no links out."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 max-width:1150px;margin:0 auto;padding:1.2em 1.6em 4em;color:#1b1b1b;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.25em;margin-top:2.2em;
 border-bottom:2px solid #0072B2;padding-bottom:.2em} h3{font-size:1.05em;margin-top:1.6em}
p.meta{color:#555;margin-top:0} .note{color:#444;font-size:.92em}
p.intro{background:#eef5fb;border-left:6px solid #0072B2;padding:.6em .9em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.86em}
th,td{border:1px solid #ccc;padding:.25em .55em;text-align:left;vertical-align:top}
th{background:#f0f0f0} td.r,th.r{text-align:right;font-variant-numeric:tabular-nums}
tbody tr:nth-child(even){background:#fafafa}
figure{margin:1em 0 1.6em} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.88em;color:#444;margin-top:.3em}
.verdict{padding:.5em .8em;margin:.5em 0;border-left:6px solid #999;background:#f7f7f7}
.holds{border-color:#009E73} .fails{border-color:#D55E00} .partly{border-color:#E69F00}
.na{border-color:#999}
.badge{display:inline-block;font-weight:600;padding:0 .45em;border-radius:3px;color:#fff;
 margin-right:.4em} .holds .badge{background:#007A5A} .fails .badge{background:#B34700}
.partly .badge{background:#8A5F00} .na .badge{background:#666}
nav ol{columns:2;font-size:.92em} code{background:#f3f3f3;padding:0 .2em}
.cms{display:flex;flex-wrap:wrap;gap:.4em 1.6em} .cms table{margin:.2em 0}
.cms caption{font-size:.86em;font-weight:600;text-align:left;padding-bottom:.2em}
table.cm td{text-align:center;min-width:3.2em;font-variant-numeric:tabular-nums}
table.cm td small{opacity:.8}
.verdict .ci{font-size:.92em;color:#333}
details{margin:.4em 0 1em} summary{cursor:pointer;color:#0057a0;font-size:.93em}
.corpus p{margin:.3em 0 .7em}
"""

#: verdict status -> (css class, badge text)
STATUS = {"holds": ("holds", "holds"), "fails": ("fails", "does not hold"),
          "partly": ("partly", "partly holds"), "tie": ("partly", "no clear difference"),
          "n/a": ("na", "not testable")}


def esc(text) -> str:
    """HTML-escape any value."""
    return html.escape(str(text))


def img(png: bytes, alt: str) -> str:
    """An ``<img>`` with the PNG inlined as a data URI."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


#: A cell that reads as a number: 12, -0.5, 1e-3, 93.8 ± 1.7, 45 %, [40.1, 52.3], — (missing).
_NUMBER = re.compile(r"^\s*(\[?[-+\u2212]?(\d[\d,]*(\.\d*)?|\.\d+)(e[-+]?\d+)?\]?"
                     r"(\s*(±|,)\s*[-+\u2212]?[\d.]+\]?)?\s*%?|[\u2014\u2013-]?)\s*$")


def _is_number_column(values: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(values):
        return False
    if pd.api.types.is_numeric_dtype(values):
        return True
    text = values.dropna().astype(str)
    return len(text) > 0 and bool(text.map(lambda v: bool(_NUMBER.match(v))).all())


def table(frame: pd.DataFrame, floatfmt: str = "{:.3f}", index: bool = False) -> str:
    """A DataFrame as an HTML table: text columns left-aligned, numbers (also "mean ± sd"
    strings) right-aligned with tabular digits, floats formatted with ``floatfmt``."""
    if index:
        frame = frame.reset_index()
    cols = list(frame.columns)
    align = ["r" if _is_number_column(frame[c]) else "l" for c in cols]

    def cell(v) -> str:
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return ""
        if isinstance(v, float):
            return esc(floatfmt.format(v))
        return esc(v)

    head = "".join(f'<th class="{a}">{esc(c)}</th>' for c, a in zip(cols, align))
    rows = "".join(
        "<tr>" + "".join(f'<td class="{a}">{cell(v)}</td>' for v, a in zip(row, align))
        + "</tr>\n" for row in frame.itertuples(index=False, name=None))
    return (f'<table class="data"><thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n{rows}</tbody></table>\n")


@dataclass
class Page:
    """Accumulates sections and renders one HTML document."""

    title: str
    meta: str = ""
    intro: str = ""  # HTML shown above the table of contents
    parts: list[tuple[str, str, str]] = field(default_factory=list)  # (id, title, body)

    def section(self, title: str, body: str) -> None:
        self.parts.append((f"s{len(self.parts) + 1}", title, body))

    def render(self) -> str:
        toc = "".join(f'<li><a href="#{i}">{esc(t)}</a></li>' for i, t, _ in self.parts)
        body = "".join(f'<h2 id="{i}">{esc(t)}</h2>\n{b}\n' for i, t, b in self.parts)
        return (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(self.title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{esc(self.title)}</h1><p class=\"meta\">{self.meta}</p>"
            + (f'<p class="intro">{self.intro}</p>' if self.intro else "") +
            f"<nav><ol>{toc}</ol></nav>{body}</body></html>\n"
        )


def figure(png: bytes, caption: str, alt: str | None = None) -> str:
    """A ``<figure>`` with an inline image and caption (caption is escaped)."""
    return f"<figure>{img(png, alt or caption)}<figcaption>{esc(caption)}</figcaption></figure>"


def confusion_tables(matrices, caption: str) -> str:
    """Confusion matrices as heat tables, side by side: each cell shows the share of its row
    (true class) and the count, shaded by that share (Okabe-Ito blue; white text only on the
    darkest shades, where it has the better contrast)."""
    cells = []
    for title, cm in matrices.items():
        counts = cm.to_numpy(dtype=float)
        rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        head = "".join(f"<th>{esc(c)}</th>" for c in cm.columns)
        body = ""
        for label, rate_row, count_row in zip(cm.index, rates, counts):
            tds = "".join(
                f'<td style="background:rgba(0,114,178,{r:.2f});'
                f'color:{"#fff" if r > 0.8 else "#1b1b1b"}">{r:.0%}<br><small>{int(n)}</small></td>'
                for r, n in zip(rate_row, count_row))
            body += f"<tr><th>{esc(label)}</th>{tds}</tr>"
        cells.append(f'<table class="cm"><caption>{esc(title)}</caption>'
                     f'<tr><th>true ↓ predicted →</th>{head}</tr>{body}</table>')
    return (f'<figure><div class="cms">{"".join(cells)}</div>'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def verdict(status: str, title: str, text: str, interval: str = "") -> str:
    """A coloured verdict box; ``status`` is one of :data:`STATUS`; ``interval`` (the
    bootstrap interval and the reason for the badge) goes on its own line."""
    cls, badge = STATUS.get(status, STATUS["n/a"])
    ci = f'<br><span class="ci">{esc(interval)}</span>' if interval else ""
    return (f'<div class="verdict {cls}"><span class="badge">{esc(badge)}</span>'
            f"<strong>{esc(title)}</strong><br>{esc(text)}{ci}</div>")


def details(summary: str, body: str, open_: bool = False) -> str:
    """A collapsible ``<details>`` block (no script needed); ``summary`` is escaped."""
    return (f"<details{' open' if open_ else ''}><summary>{esc(summary)}</summary>"
            f"{body}</details>\n")


def rows_outside_details(html_text: str) -> dict[str, int]:
    """Table rows (``<tr>``) per ``<h2>`` section that are not inside a ``<details>`` block
    (the report keeps each under ~40; longer tables go into ``<details>``)."""
    out: dict[str, int] = {}
    for part in re.split(r"(?=<h2 )", html_text)[1:]:
        title = re.sub(r"<[^>]+>", "", part[:part.index("</h2>")])
        visible = re.sub(r"<details[\s>].*?</details>", "", part, flags=re.S)
        out[html.unescape(title)] = visible.count("<tr")
    return out


def para(text: str, cls: str | None = None) -> str:
    c = f' class="{cls}"' if cls else ""
    return f"<p{c}>{esc(text)}</p>"
