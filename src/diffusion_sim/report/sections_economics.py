"""The report's incremental cost-effectiveness section: which packages are worth their extra cost, and at what price."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from diffusion_sim.economics import (
    EXTENDEDLY_DOMINATED,
    FRONTIER,
    REFERENCE,
    STRONGLY_DOMINATED,
    incremental_from_comparison,
)
from diffusion_sim.report.figures import ce_plane_figure
from diffusion_sim.report.format import DASH, format_count, format_money, is_missing, money_decimals
from diffusion_sim.report.markup import (
    breakable,
    cell,
    esc,
    figure_html,
    html_table,
    scenario_header,
    table_row,
    two_line_cell,
)

if TYPE_CHECKING:
    from diffusion_sim.compare import Comparison

__all__ = ["economics_section", "icer_parts", "verdict"]


def verdict(row: pd.Series | dict[str, Any]) -> str:
    """A planner's reading of an option's status (HTML, names escaped)."""
    status, by = row["status"], row["dominated_by"]
    if status == STRONGLY_DOMINATED:
        text = f"Ruled out: <strong>{breakable(by[0])}</strong> costs no more and achieves at least as much"
    elif status == EXTENDEDLY_DOMINATED:
        text = (
            f"Ruled out: a mix of <strong>{breakable(by[0])}</strong> and <strong>{breakable(by[1])}</strong> "
            "achieves as much for less"
        )
    elif row["compared_with"] is None:
        text = "On the frontier: the starting point (least costly option)"
    else:
        text = "On the frontier"
    if row["tied_with"]:
        same = ", ".join(f"<strong>{breakable(t)}</strong>" for t in row["tied_with"])
        text += f" (same cost and effect as {same})"
    return text


def icer_parts(row: pd.Series | dict[str, Any], currency: str, n_rep: int) -> tuple[str, str]:
    """The ICER of a frontier option and its interval, as (main, detail); a dash for the others."""
    if is_missing(row["icer"]):
        return DASH, ""
    main = format_money(row["icer"], currency)
    if n_rep < 2:
        return main, "(one replicate: no interval)"
    if is_missing(row["icer_low"]) or is_missing(row["icer_high"]):
        return main, "(no interval: extra adopters too uncertain)"
    d = money_decimals(row["icer"])
    return main, f"[{format_money(row['icer_low'], None, d)}, {format_money(row['icer_high'], None, d)}]"


def _summary(table: pd.DataFrame, currency: str) -> str:
    """The frontier in words: the path, the price of each step along it, and how to choose."""
    front = table[table["status"] == FRONTIER].drop_duplicates(["cost", "effect"])
    path = " → ".join(f"<strong>{esc(name)}</strong>" for name in front["scenario"])
    steps = [
        f"from <strong>{esc(r['compared_with'])}</strong> to <strong>{esc(r['scenario'])}</strong>, each extra adopter "
        f"costs {esc(format_money(r['icer'], currency))}"
        for _, r in front.iloc[1:].iterrows()
    ]
    out = [f"The efficiency frontier runs {path}."]
    if steps:
        out.append("Moving " + "; moving ".join(steps) + ".")
        out.append(
            "To choose, decide the most the programme is willing to pay for one extra adopter: the best package is "
            "the most effective one on the frontier whose cost per extra adopter (ICER) is at or below that amount."
        )
    else:
        out.append("No option on the frontier gains extra adopters over a cheaper one.")
    ruled_out = table.loc[table["status"] != FRONTIER, "scenario"]
    if len(ruled_out):
        out.append(
            "Ruled out whatever that amount: " + ", ".join(f"<strong>{esc(n)}</strong>" for n in ruled_out) + "."
        )
    return f'<p id="ce-summary">{" ".join(out)}</p>'


def economics_section(comp: Comparison, table: pd.DataFrame | None = None) -> str:
    """Incremental cost-effectiveness: the table of dominance and ICERs, the plane, and how to read them.

    Args:
        comp: the comparison.
        table: its :func:`diffusion_sim.economics.incremental_from_comparison` table (computed when None).

    """
    if table is None:
        table = incremental_from_comparison(comp)
    cur = comp.scenarios[0].costs.currency
    n_rep = len(comp.replicates)
    scenarios = {sc.name: sc for sc in comp.scenarios}
    rows = []
    for _, r in table.iterrows():
        sc = scenarios[r["scenario"]]
        base = sc.name == comp.baseline
        effect = "baseline" if base else format_count(r["effect"], signed=True)
        cells = [
            scenario_header(sc, base),
            cell(format_money(r["cost"], cur)),
            cell(effect),
            f'<td class="verdict">{verdict(r)}</td>',
        ]
        if r["compared_with"] is None:
            cells += [cell(DASH)] * 4
        else:
            cells += [
                f"<td>{breakable(r['compared_with'])}</td>",
                cell(format_money(r["incremental_cost"], cur, signed=True)),
                cell(format_count(r["incremental_effect"], signed=True)),
                two_line_cell(*icer_parts(r, cur, n_rep)),
            ]
        rows.append(table_row(cells, base))
    headers = [
        "Option (by cost)",
        "Programme cost",
        "Extra adopters vs baseline",
        "Verdict",
        "Compared with (next cheaper on the frontier)",
        "Extra cost",
        "Extra adopters",
        "Cost per extra adopter (ICER, 95% CI)",
    ]
    caption = "Means over replicates; the last four columns compare a frontier option with the one before it."
    fig = ce_plane_figure(comp, table)
    fig_caption = (
        "Each option at its mean extra adopters and extra programme cost against the baseline (the origin), "
        "numbered as in the legend. Error bars: 95% t-intervals of the paired per-replicate differences. The line "
        "is the efficiency frontier; its slope between two options is the ICER of the more costly one. Open "
        "markers are options ruled out by dominance."
    )
    alt = "Scatter plot of extra programme cost against extra adopters for " + ", ".join(comp.names)
    note = (
        "<strong>How to read this.</strong> Options are ordered by programme cost. An option is "
        "<em>strongly dominated</em> when another costs no more and achieves at least as many adopters (one of the "
        "two strictly): nobody should choose it. It is <em>extendedly dominated</em> when its cost per extra adopter "
        "against the previous option is higher than that of the next, more effective option: running the two "
        "neighbouring options each in part of the district would reach as many adopters for less. The options left "
        "form the <em>efficiency frontier</em>. For each, the <em>incremental cost-effectiveness ratio</em> (ICER) is "
        "its extra cost divided by its extra adopters against the next cheaper option on the frontier. It differs "
        "from the headline's cost per extra adopter, which compares every package with the baseline alone: the "
        "ICER prices the step a committee actually takes from one affordable option to the next. "
        "Costs are programme costs (what the programme pays); community costs are left out here and shown in the "
        "Costs section. The frontier is drawn through the means; the 95% interval of each ICER is a paired bootstrap "
        f"over the {n_rep:,} replicates (the same resampled replicates for every option), given only when the extra "
        "adopters over the previous option are positive in nearly all resamples. Three options on one straight "
        "line all stay on the frontier. Decision rules as in "
        f"{esc(REFERENCE)}"
    )
    body = (
        _summary(table, cur)
        + html_table("ce-table", [esc(h) for h in headers], rows, esc(caption))
        + figure_html(fig, alt, fig_caption)
        + f'<p class="note" id="ce-note">{note}</p>'
    )
    return f'<section id="economics"><h2>Incremental cost-effectiveness</h2>{body}</section>'
