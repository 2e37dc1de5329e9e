"""The report's detail sections: equity, channels, costs, every outcome, and the scenario files."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from diffusion_sim.behaviour import CHANNEL_LABELS, CHANNEL_TABLE
from diffusion_sim.report.figures import (
    channel_adoptions,
    channel_figure,
    cost_figure,
    equity_figure,
    intervention_costs,
    mean_interval,
)
from diffusion_sim.report.format import (
    DASH,
    format_change_row,
    format_count,
    format_money,
    format_percent,
    format_pp,
    format_value,
    is_missing,
    outcome_kind,
)
from diffusion_sim.report.markup import (
    cell,
    esc,
    figure_html,
    html_table,
    scenario_header,
    table_row,
)
from diffusion_sim.report.summaries import (
    dash_for,
    level_label,
    unit_cost_breakdown,
)
from diffusion_sim.scenario.schema import Scenario
from diffusion_sim.scenario.yaml_source import to_yaml

if TYPE_CHECKING:
    from diffusion_sim.compare import Comparison

__all__ = [
    "appendix_section",
    "channels_section",
    "costs_section",
    "equity_section",
    "format_quantity",
    "outcomes_section",
]


def equity_section(comp: Comparison) -> str:
    """Coverage of marginalised and other households and of the lowest village."""
    o = comp.outcomes
    fig = equity_figure(comp)
    caption = (
        "Final coverage of marginalised households, of other households, and of the worst-covered village. "
        "Bars: means over replicates; error bars: 95% t-interval of the mean."
    )
    cols = [
        ("coverage_marginalised", "Marginalised households"),
        ("coverage_not_marginalised", "Other households"),
        ("equity_gap", "Equity gap"),
        ("lowest_village_coverage", "Lowest village"),
    ]
    rows = []
    for k, sc in enumerate(comp.scenarios):
        t = o.loc[o["scenario"] == sc.name]
        cells = [scenario_header(sc, k == 0)]
        for col, _ in cols:
            m, lo, hi = mean_interval(t[col])
            if is_missing(m):
                text = dash_for(col, sc)
            elif col == "equity_gap":
                text = f"{format_pp(m)} [{format_pp(lo, unit=False)}, {format_pp(hi, unit=False)}]"
            else:  # a mean share lies in [0, 1]: so does its interval
                text = f"{format_percent(m)} [{format_percent(max(lo, 0.0))}, {format_percent(min(hi, 1.0))}]"
            if not is_missing(m) and t[col].notna().sum() < 2:
                text = text[: text.index(" [")]
            cells.append(cell(text))
        rows.append(table_row(cells, k == 0))
    table = html_table(
        "equity-table",
        ["Scenario", *(esc(h) for _, h in cols)],
        rows,
        "Means over replicates with 95% t-intervals of the mean.",
    )
    alt = "Grouped bar chart of final coverage of marginalised and other households and of the lowest village"
    return f'<section id="equity"><h2>Equity</h2>{figure_html(fig, alt, caption)}{table}</section>'


def channels_section(comp: Comparison) -> str:
    """Adoptions by channel per scenario."""
    table = channel_adoptions(comp)
    fig = channel_figure(comp)
    caption = (
        "Mean number of adoptions through each channel over the run (initial seeds included; an agent who "
        "abandons and adopts again counts twice). Channels no scenario used are left out."
    )
    # one row per channel and a column per scenario: as many channels as there are fit any page
    rows = []
    for ch in table.columns:
        cells = [f'<th scope="row">{esc(CHANNEL_LABELS[ch])}</th>']
        cells += [cell(format_count(table.loc[sc.name, ch])) for sc in comp.scenarios]
        rows.append(table_row(cells))
    totals = [cell(format_count(table.loc[sc.name].sum())) for sc in comp.scenarios]
    rows.append(f'<tr class="total"><th scope="row">Total</th>{"".join(totals)}</tr>')
    headers = ["Channel"] + [
        esc(sc.name) + (' <span class="tag">(baseline)</span>' if k == 0 else "") for k, sc in enumerate(comp.scenarios)
    ]
    alt = "Stacked bar chart of adoptions by channel per scenario"
    body = figure_html(fig, alt, caption) + html_table(
        "channel-table", headers, rows, "Mean adoptions over replicates."
    )
    return f'<section id="channels"><h2>Adoption channels</h2>{body}{_attribution(comp)}</section>'


def _attribution(comp: Comparison) -> str:
    """Per package: households converted directly by its interventions against its extra adopting households."""
    o = comp.outcomes
    direct_channels = [c for c in CHANNEL_TABLE if c.source not in ("initial", "rule")]
    rows = []
    for k, sc in enumerate(comp.scenarios):
        if k == 0:
            continue
        t = o.loc[o["scenario"] == sc.name]
        direct = t["direct_conversions"].mean()
        extra = t["extra_adopters"].mean()
        used = [c for c in direct_channels if t[f"first_adoptions_{c.name}"].mean() > 0]
        how = ", ".join(f"{c.label.lower()} {format_count(t[f'first_adoptions_{c.name}'].mean())}" for c in used)
        cells = [
            scenario_header(sc, False),
            cell(format_count(direct)),
            cell(how or DASH, "wrap"),
            cell(format_count(extra, signed=True)),
            cell(format_count(extra - direct, signed=True)),
        ]
        rows.append(table_row(cells))
    if not rows:
        return ""
    headers = [
        "Package",
        "Households converted directly",
        "Through",
        "Extra adopting households at the end",
        "Difference: spill-over (+) or overlap (−)",
    ]
    note = (
        "Direct conversions: households whose first adoption came through one of the package's own channels "
        "(a trained leader's conversation, a home visit, a distributor, a youth volunteer, a campaign, a community "
        "dialogue, seeding). Extra adopting households: households practising the behaviour at the end, minus the "
        "baseline's in the same replicate. A positive difference is spill-over: households converted by their "
        "contacts, leaders and health workers (ordinary influence) because of the package. A negative one means "
        "some directly converted households would have adopted anyway, or gave up again. Means over replicates."
    )
    return "<h3>Direct effect and spill-over</h3>" + html_table("attribution-table", headers, rows, esc(note))


def costs_section(comp: Comparison) -> str:
    """Programme and community costs per intervention."""
    cur = comp.scenarios[0].costs.currency
    costs = intervention_costs(comp)
    fig = cost_figure(comp)
    caption = (
        f"Cost of each intervention over the run, summed over steps, mean over replicates ({esc(cur)}). Programme "
        "cost is paid by the programme; community cost is borne by the community (e.g. its share of distribution)."
    )
    rows = []
    o = comp.outcomes
    for k, sc in enumerate(comp.scenarios):
        t = o.loc[o["scenario"] == sc.name]
        mine = costs[costs["scenario"] == sc.name]
        if mine.empty:
            cells = [
                scenario_header(sc, k == 0),
                "<td>no interventions</td>",
                cell(format_money(t["cost"].mean(), cur)),
                cell(format_money(t["community_cost"].mean(), cur)),
                cell(""),
            ]
            rows.append(table_row(cells, k == 0))
        for _, r in mine.iterrows():
            label = f'{esc(r["intervention"])} <span class="tag">({esc(r["type"])})</span>'
            cells = [
                scenario_header(sc, k == 0),
                f"<td>{label}</td>",
                cell(format_money(r["cost"], cur)),
                cell(format_money(r["community_cost"], cur)),
                cell(format_count(r["delivered"])),
            ]
            rows.append(table_row(cells, k == 0))
        if len(mine) < 2:
            continue
        total = [
            f'<th scope="row">{esc(sc.name)} <span class="tag">total</span></th>',
            "<td></td>",
            cell(format_money(t["cost"].mean(), cur)),
            cell(format_money(t["community_cost"].mean(), cur)),
            cell(""),
        ]
        rows.append(f'<tr class="total">{"".join(total)}</tr>')
    headers = ["Scenario", "Intervention", "Programme cost", "Community cost", "Units delivered"]
    note = (
        "Means over replicates. Units delivered: visits, conversations, people reached, depending on the intervention."
    )
    alt = "Bar chart of programme cost per scenario, stacked by intervention"
    body = figure_html(fig, alt, caption) + html_table("cost-table", headers, rows, esc(note)) + _cost_build(comp)
    return f'<section id="costs"><h2>Costs</h2>{body}</section>'


def format_quantity(q: float, label: str) -> str:
    """A number of units with what they count: ``120 leaders trained``; a mean that is not whole keeps one decimal."""
    if is_missing(q):
        return f"{DASH} not recorded"
    if label == "one-off":
        return "once" if q == 1 else ("not paid (starts after the run)" if q == 0 else f"{q:,.2f} times")
    text = f"{q:,.0f}" if float(q).is_integer() else f"{q:,.1f}"
    return f"{text} {label}"


def _cost_build(comp: Comparison) -> str:
    """How each intervention's cost was built: unit cost x quantity = subtotal, per non-zero unit cost."""
    cur = comp.scenarios[0].costs.currency
    build = unit_cost_breakdown(comp)
    scenarios = {sc.name: sc for sc in comp.scenarios}
    rows = []
    for (name, label), items in build.groupby(["scenario", "intervention"], sort=False):
        sc = scenarios[name]
        base = name == comp.baseline
        iv = f'<td>{esc(label)} <span class="tag">({esc(items["type"].iloc[0])})</span></td>'
        for _, r in items.iterrows():
            derived = " *" if r["derived"] else ""
            cells = [
                scenario_header(sc, base),
                iv,
                f'<td>{esc(format_money(r["unit_cost"], cur))} {esc(r["unit"])} <span class="raw">{esc(r["field"])}'
                "</span></td>",
                cell(format_quantity(r["quantity"], r["quantity_label"]) + derived, "num wrap"),
                cell(format_money(r["subtotal"], cur)),
            ]
            rows.append(table_row(cells, base))
        total = items["total"].iloc[0]
        known = items["subtotal"].sum()
        cells = [
            f'<th scope="row">{esc(name)} <span class="tag">total</span></th>',
            iv,
            "<td>programme + community cost</td>",
            cell("" if abs(known - total) <= 1e-6 * max(1.0, abs(total)) else "parts not recorded", "num wrap"),
            cell(format_money(total, cur)),
        ]
        rows.append(f'<tr class="total">{"".join(cells)}</tr>')
    if not rows:
        return '<h3 id="cost-build">How each cost was built</h3><p class="note">No intervention has a cost.</p>'
    headers = ["Scenario", "Intervention", "Unit cost (what it scales with)", "Quantity paid for", "Subtotal"]
    note = (
        "Every unit cost that is not zero, with the unit it scales with (from the scenario schema) and the quantity it "
        "was multiplied by, as means over replicates; each intervention's subtotals add up to its programme plus "
        "community cost. Fixed costs are paid once at the start step; costs per step on every step the intervention "
        "acts. * worked out from the recorded cost (what is left after the other items, over the unit cost), as the "
        "model does not record that quantity separately; shown only when it comes out whole in every replicate."
    )
    return (
        '<h3 id="cost-build">How each cost was built</h3>'
        + html_table("cost-build-table", headers, rows)
        + f'<p class="note">{esc(note)}</p>'
    )


_OUTCOME_LABELS = {
    "final_coverage": "Final coverage (households)",
    "final_coverage_people": "Final coverage (people, by household size)",
    "sustained_coverage": "Sustained coverage (households)",
    "sustained_coverage_people": "Sustained coverage (people)",
    "abandoned_share": "Abandoned (share of households that had adopted)",
    "adopters_people": "People in adopting households at the end",
    "direct_conversions": "Households converted directly by the package",
    "coverage_leaders": "Coverage, leaders",
    "coverage_health_workers": "Coverage, health workers",
    "coverage_marginalised": "Coverage, marginalised households",
    "coverage_not_marginalised": "Coverage, other households",
    "equity_gap": "Equity gap (other − marginalised)",
    "lowest_village_coverage": "Lowest village coverage",
    "adopters": "Adopting households at the end",
    "cost": "Programme cost",
    "community_cost": "Community cost",
    "extra_adopters": "Extra adopting households vs baseline",
}


def _outcome_label(outcome: str) -> str:
    if outcome.startswith("time_to_"):
        return f"Time to {level_label(outcome)} coverage"
    return _OUTCOME_LABELS.get(outcome, outcome.replace("_", " ").capitalize())


def outcomes_section(comp: Comparison) -> str:
    """Every outcome per scenario, with its paired difference from the baseline."""
    d = comp.differences
    cur = comp.scenarios[0].costs.currency
    n_rep = len(comp.replicates)
    by = d.set_index(["scenario", "outcome"])
    rows = []
    for outcome in dict.fromkeys(d["outcome"]):
        kind = outcome_kind(outcome)
        cells = [f'<th scope="row">{esc(_outcome_label(outcome))}<br><span class="raw">{esc(outcome)}</span></th>']
        for k, sc in enumerate(comp.scenarios):
            if (sc.name, outcome) not in by.index:
                cells.append(cell(DASH))
                continue
            r = by.loc[(sc.name, outcome)]
            mean = format_value(r["mean"], kind, cur)
            if is_missing(r["mean"]):
                cells.append(cell(dash_for(outcome, sc), "num wrap"))
                continue
            if k == 0:
                cells.append(cell(mean, "num wrap"))
                continue
            if is_missing(r["diff"]):
                why = "no replicate where both reached it" if kind == "time" else "no paired values"
                change = f"Δ {DASH}: {why}"
            else:
                change = "Δ " + format_change_row(r, kind, cur)
                if int(r["n"]) < n_rep:
                    change += f", {int(r['n'])} pairs"
            cells.append(cell(f"{mean} ({change})", "num wrap"))
        rows.append(f"<tr>{''.join(cells)}</tr>")
    headers = ["Outcome"] + [
        esc(sc.name) + (' <span class="tag">(baseline)</span>' if k == 0 else "") for k, sc in enumerate(comp.scenarios)
    ]
    note = (
        "Each cell: mean over replicates (Δ paired difference from the baseline [95% t-interval]). Time outcomes "
        "are means over the replicates that reached the target, and their differences use only the replicates "
        "where both scenarios reached it (the number of such pairs is given when it is not all of them)."
    )
    return (
        '<section id="outcomes"><h2>All outcomes</h2>'
        + html_table("outcome-table", headers, rows)
        + f'<p class="note">{esc(note)}</p></section>'
    )


def _changes_from_default(sc: Scenario) -> dict[str, Any]:
    """Top-level sections of a scenario that differ from the built-in default (name excluded)."""
    mine, default = sc.model_dump(mode="json"), Scenario().model_dump(mode="json")
    return {k: v for k, v in mine.items() if k != "name" and v != default.get(k)}


def appendix_section(comp: Comparison) -> str:
    """Each scenario's file text (or its changes from the default) and all parameters as run."""
    parts = []
    for k, (sc, source, text) in enumerate(zip(comp.scenarios, comp.sources, comp.texts, strict=False)):
        tag = ' <span class="tag">(baseline)</span>' if k == 0 else ""
        head = (
            f'<h3 id="scenario-{k + 1}">{esc(sc.name)}{tag}</h3>'
            f"<p>Source: <code>{esc(source)}</code>; scenario digest <code>{esc(sc.digest())}</code>.</p>"
        )
        if text:
            body = f'<pre class="scenario-text">{esc(text)}</pre>'
        else:
            changes = _changes_from_default(sc)
            if not changes:
                body = "<p>built-in default scenario</p>"
            else:
                dumped = to_yaml(changes)
                body = (
                    "<p>No scenario file text; the sections that differ from the built-in default scenario:</p>"
                    f'<pre class="scenario-changes">{esc(dumped)}</pre>'
                )
        full = to_yaml(sc)
        body += f"<details><summary>All parameters as run</summary><pre>{esc(full)}</pre></details>"
        parts.append(head + body)
    return '<section id="appendix"><h2>Appendix: scenario files</h2>' + "".join(parts) + "</section>"
