"""HTML building blocks of the report: the page style, escaping, embedded figures, table cells and rows."""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING, Any

from diffusion_sim.scenario.schema import Scenario

if TYPE_CHECKING:
    from matplotlib.figure import Figure


__all__ = [
    "CSS",
    "breakable",
    "cell",
    "esc",
    "figure_data_uri",
    "figure_html",
    "html_page",
    "html_table",
    "scenario_header",
    "table_row",
    "two_line_cell",
]


CSS = """
:root { --fg: #1b1b1b; --muted: #5a5a5a; --line: #d0d0d0; --head: #f1f3f5; --accent: #1f5f99; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 1.5rem 1.25rem 4rem; }
h1 { font-size: 1.7rem; margin: 0 0 .3rem; }
h2 { font-size: 1.3rem; margin: 2.4rem 0 .6rem; padding-bottom: .25rem; border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
p, li { max-width: 62rem; }
.subtitle { color: var(--muted); margin: 0 0 1rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: 1rem 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
nav.toc ol { columns: 2; margin: .4rem 0; }
.warning { background: #fff4e5; border-left: 4px solid #d9822b; padding: .5rem 1rem; }
.howto { background: #f7f9fb; border-left: 4px solid var(--accent); padding: .6rem 1rem; }
.table-wrap { overflow-x: auto; margin: .6rem 0; }
table { border-collapse: collapse; font-size: .9rem; }
th, td { border: 1px solid var(--line); padding: .3rem .5rem; vertical-align: top; text-align: left; }
thead th { background: var(--head); position: sticky; top: 0; }
th[scope=row] { overflow-wrap: break-word; min-width: 7rem; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.num.wrap { white-space: normal; min-width: 9rem; }
.ci { color: var(--muted); font-size: .85em; white-space: nowrap; }
td.verdict { min-width: 11rem; }
#headline-table th[scope=row] { max-width: 13rem; }
#headline-table td.num.wrap { min-width: 7.5rem; }
tr.baseline td, tr.baseline th { background: #fafafa; }
tr.total td, tr.total th { border-bottom: 2px solid #999; }
th[scope=row] { font-weight: 600; background: #fcfcfc; }
.badge { display: inline-block; margin-left: .3rem; padding: 0 .35rem; border-radius: .6rem;
         background: #fff2cc; border: 1px solid #e0b000; font-size: .85em; font-weight: 600; white-space: nowrap; }
.tag { color: var(--muted); font-weight: normal; font-size: .9em; }
.note { color: var(--muted); font-size: .88rem; }
.raw { color: var(--muted); font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .85em; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: var(--muted); font-size: .88rem; max-width: 62rem; }
pre { background: #f6f8fa; border: 1px solid var(--line); padding: .7rem; overflow-x: auto; font-size: .82rem;
      line-height: 1.35; white-space: pre; }
details { margin: .4rem 0 1rem; }
summary { cursor: pointer; color: var(--accent); }
@page { size: A4 landscape; margin: 12mm 10mm; }
@media print {
  body { font-size: 9pt; line-height: 1.35; }
  main { max-width: none; padding: 0; }
  h2 { margin: 1.2rem 0 .4rem; break-after: avoid; }
  h3 { break-after: avoid; }
  p, li, figcaption { max-width: none; }
  .note, figcaption, caption { font-size: 8pt; }
  .table-wrap { overflow: visible; }
  table { width: 100%; font-size: 7.5pt; }
  thead { display: table-header-group; }
  thead th { position: static; }
  th, td { padding: .15rem .3rem; }
  td.num.wrap, .ci, .badge { white-space: normal; min-width: 0; }
  td.verdict, th[scope=row], #headline-table th[scope=row] { min-width: 0; max-width: none; }
  th, td { overflow-wrap: break-word; }
  tr, figure { break-inside: avoid; }
  figure img { max-height: 150mm; width: auto; }
  pre { white-space: pre-wrap; overflow-wrap: anywhere; overflow: visible; font-size: 7pt; }
  a { color: inherit; text-decoration: none; }
}
"""


def esc(x: Any) -> str:
    """Escape any value for HTML text or an attribute value."""
    return html.escape(str(x), quote=True)


def html_page(title: str, body: str) -> str:
    """A whole self-contained page: ``title`` (escaped here), this module's style, and ``body`` (trusted HTML)."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def figure_data_uri(fig: Figure) -> str:
    """A figure as a ``data:image/png;base64,...`` URI (100 dpi; no PNG metadata, so the bytes are stable)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def figure_html(fig: Figure, alt: str, caption: str) -> str:
    """A ``<figure>`` holding the figure as an embedded PNG; ``caption`` is trusted HTML."""
    return (
        f'<figure><img src="{figure_data_uri(fig)}" alt="{esc(alt)}">'
        f"<figcaption>{caption}</figcaption></figure>"  # caption: HTML built by the caller, already escaped
    )


def cell(text: str, cls: str = "num", extra: str = "") -> str:
    """A ``<td>`` holding escaped ``text`` followed by ``extra`` (trusted HTML)."""
    return f'<td class="{cls}">{esc(text)}{extra}</td>'


def two_line_cell(main: str, detail: str, cls: str = "num", extra: str = "") -> str:
    """A ``<td>``: ``main``, then ``detail`` (an interval, a count) on a second line in smaller type, then ``extra``.

    ``main`` and ``detail`` are escaped; ``extra`` is trusted HTML (a badge). No second line when ``detail`` is empty.
    """
    second = f'<br><span class="ci">{esc(detail)}</span>' if detail else ""
    return f'<td class="{cls}">{esc(main)}{second}{extra}</td>'


def table_row(cells: list[str], baseline: bool = False) -> str:
    """A ``<tr>`` of built cells (class ``baseline`` for the baseline's row)."""
    return f"<tr{' class="baseline"' if baseline else ''}>{''.join(cells)}</tr>"


def html_table(table_id: str, headers: list[str], rows: list[str], caption: str = "") -> str:
    """A table from escaped header texts and pre-built ``<tr>`` rows."""
    head = "".join(f'<th scope="col">{h}</th>' for h in headers)
    cap = f'<caption class="note">{caption}</caption>' if caption else ""
    return (
        f'<div class="table-wrap"><table id="{table_id}">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def breakable(name: str, run: int = 16) -> str:
    """A name escaped, with line-break opportunities (``<wbr>``) after each ``_``, ``-`` and ``/``.

    Also after every ``run`` characters without a space or such a mark, so that ``religious_leaders_ipc``
    (or a long name with no separators) wraps in a narrow column instead of widening the table.
    """
    out, since = [], 0
    for ch in name:
        out.append(esc(ch))
        since = 0 if ch.isspace() else since + 1
        if ch in "_-/" or since >= run:
            out.append("<wbr>")
            since = 0
    return "".join(out)


def scenario_header(sc: Scenario, baseline: bool) -> str:
    """The row header cell of a scenario (tagged when it is the baseline); long names may wrap at ``_ - /``."""
    tag = ' <span class="tag">(baseline)</span>' if baseline else ""
    return f'<th scope="row">{breakable(sc.name)}{tag}</th>'
