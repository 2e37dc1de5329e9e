"""A self-contained HTML report of a scenario comparison, for planners.

The page opens offline: no scripts, no external URLs, all CSS inline and every figure embedded as a
base64 PNG. It carries no timestamp, so the same comparison always gives the same bytes. Every
user-provided string (scenario names, descriptions, intervention labels, file texts) is escaped.

Numbers are formatted by :mod:`diffusion_sim.report.format` and derived by
:mod:`diffusion_sim.report.summaries`; the sections are built by
:mod:`~diffusion_sim.report.sections_summary` and :mod:`~diffusion_sim.report.sections_detail` from the
blocks of :mod:`~diffusion_sim.report.markup`; this module assembles and writes the page.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from diffusion_sim.report.markup import figure_data_uri, html_page
from diffusion_sim.report.sections_detail import (
    appendix_section,
    channels_section,
    costs_section,
    equity_section,
    outcomes_section,
)
from diffusion_sim.report.sections_economics import economics_section
from diffusion_sim.report.sections_summary import curves_section, header_section, headline_section

if TYPE_CHECKING:
    from diffusion_sim.compare import Comparison

__all__ = ["figure_data_uri", "render_report", "write_report"]


def render_report(comp: Comparison) -> str:
    """The report of a comparison as one self-contained HTML page (see :func:`write_report`)."""
    if comp.outcomes is None or comp.differences is None or comp.cost_effectiveness is None:
        raise ValueError("the comparison has no outcomes yet: build it with diffusion_sim.compare.compare()")
    title = f"Scenario comparison: {comp.scenarios[0].behaviour.name} ({', '.join(comp.names)})"
    body = "".join(
        [
            header_section(comp),
            headline_section(comp),
            economics_section(comp),
            curves_section(comp),
            equity_section(comp),
            channels_section(comp),
            costs_section(comp),
            outcomes_section(comp),
            appendix_section(comp),
        ]
    )
    return html_page(title, body)


def write_report(comp: Comparison, out_dir: str | Path) -> Path:
    """Write the comparison's report to ``out_dir/report.html`` and return its path.

    The page is self-contained (opens offline) and reproducible (no timestamps: the same comparison gives
    the same bytes). ``out_dir`` is an existing folder; the ``compare`` command gives it the temporary
    folder of :func:`diffusion_sim.atomic.atomic_folder`, which moves the page into place with the rest
    of the output, so a reader never sees half a report.

    Args:
        comp: a comparison from :func:`diffusion_sim.compare.compare`.
        out_dir: an existing folder.

    """
    target = Path(out_dir) / "report.html"
    target.write_bytes(render_report(comp).encode("utf-8"))
    return target
