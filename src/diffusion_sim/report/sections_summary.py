"""The report's opening sections: what was compared, the headline table and the adoption curves."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from diffusion_sim.report.figures import (
    adoption_curves_figure,
)
from diffusion_sim.report.format import (
    DASH,
    format_change_parts,
    format_change_row_parts,
    format_money,
    format_percent,
    format_pp,
    format_time_to_parts,
    is_missing,
    money_decimals,
)
from diffusion_sim.report.markup import (
    cell,
    esc,
    figure_html,
    html_table,
    scenario_header,
    table_row,
    two_line_cell,
)
from diffusion_sim.report.summaries import (
    dash_for,
    first_to_reach,
    level_label,
    target_column,
    time_columns,
    time_to_summary,
)
from diffusion_sim.scenario.schema import Scenario

if TYPE_CHECKING:
    from diffusion_sim.compare import Comparison

__all__ = ["HEADLINE_COLUMNS", "curves_section", "header_section", "headline_section"]


def header_section(comp: Comparison) -> str:
    """Title, what was compared, how (seed, replicates, steps), and the version that ran it."""
    from diffusion_sim import __version__

    base = comp.scenarios[0]
    behaviours = list(dict.fromkeys(s.behaviour.name for s in comp.scenarios))
    behaviour = esc(behaviours[0]) + (
        " (other scenarios: " + ", ".join(esc(b) for b in behaviours[1:]) + ")" if len(behaviours) > 1 else ""
    )
    steps = sorted({(s.schedule.steps, s.schedule.days_per_step) for s in comp.scenarios})
    length = "; ".join(f"{n:,} steps of {d:g} days ({n * d:,.0f} days)" for n, d in steps)
    n_rep = len(comp.replicates)
    facts = [
        ("Behaviour", behaviour),
        ("Baseline", esc(comp.baseline)),
        ("Scenarios", str(len(comp.scenarios))),
        ("Replicates", f"{n_rep:,} per scenario (replicates {comp.replicates[0]}–{comp.replicates[-1]})"),
        ("Seed", esc(comp.seed)),
        *([("Parameters drawn from", _posterior_fact(comp.posterior))] if comp.posterior is not None else []),
        ("Run length", esc(length)),
        ("Currency", esc(base.costs.currency)),
        ("Produced by", f"diffusion-sim {esc(__version__)}"),
    ]
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    toc = [
        ("headline", "Headline results"),
        ("economics", "Incremental cost-effectiveness"),
        ("curves", "Adoption over time"),
        ("equity", "Equity"),
        ("channels", "Adoption channels"),
        ("costs", "Costs"),
        ("outcomes", "All outcomes"),
        ("appendix", "Appendix: scenario files"),
    ]
    nav = "".join(f'<li><a href="#{a}">{t}</a></li>' for a, t in toc)
    howto = (
        f"Every scenario was run {n_rep:,} times (replicates) from master seed {esc(comp.seed)}, using "
        "<em>common random numbers</em>: replicate <em>r</em> of every scenario uses the same seed and random "
        "streams, so two scenarios differ only where their settings and interventions differ. Each "
        f"comparison with the baseline ({esc(comp.baseline)}) is therefore <em>paired</em>: the difference is "
        "computed replicate by replicate and then averaged. Intervals in brackets are 95% t-intervals over "
        "replicates of that paired difference; when an interval excludes zero, the difference is unlikely to be "
        f"an accident of the simulation's randomness{_or_draws(comp)}. <strong>Coverage</strong> is the share of "
        "<em>households</em> that practise the behaviour; <em>coverage of people</em> weighs each household by "
        "its size; leaders and health workers are groups of their own and count in neither. An <em>adopter</em> "
        "is an adopting household. Times are in steps from the start, with their days; a step is "
        f"{esc(f'{base.schedule.days_per_step:g}')} days. {_clock_text(comp)}{_uncertainty_text(comp)}"
    )
    drawn = _posterior_text(comp)
    warnings = "".join(f'<p class="warning"><strong>Warning:</strong> {esc(w)}</p>' for w in comp.warnings)
    precision = _precision_text(comp)
    items = []
    for k, sc in enumerate(comp.scenarios):
        ivs = (
            "; ".join(
                f'{esc(iv.label)} <span class="tag">({esc(iv.type)}, steps {iv.start}–'
                f"{esc(iv.end if iv.end is not None else 'end')})</span>"
                for iv in sc.interventions
            )
            or "no interventions"
        )
        tag = ' <span class="tag">(baseline)</span>' if k == 0 else ""
        items.append(f"<li><strong>{esc(sc.name)}</strong>{tag}: {esc(sc.description)}<br>Interventions: {ivs}</li>")
    return (
        f"<header><h1>Scenario comparison: {esc(base.behaviour.name)}</h1>"
        f'<p class="subtitle">{len(comp.scenarios)} scenarios against the baseline '
        f"<strong>{esc(comp.baseline)}</strong>, {n_rep:,} paired replicates each, seed {esc(comp.seed)}.</p>"
        f'<dl class="facts">{dl}</dl>'
        f'<nav class="toc"><strong>Contents</strong><ol>{nav}</ol></nav></header>'
        f'<section id="how-to-read"><h2>How to read this</h2>{warnings}{precision}<p class="howto">{howto}</p>{drawn}'
        f'<h3>Scenarios compared</h3><ul id="scenario-list">{"".join(items)}</ul></section>'
    )


def _parameter_list(post: dict) -> str:
    """The fitted parameters as ``label (path)`` (the path only where it is the label)."""
    shown = []
    for p in post["parameters"]:
        path = f"<code>{esc(p['path'])}</code>"
        shown.append(path if p["label"] == p["path"] else f"{esc(p['label'])} ({path})")
    return ", ".join(shown)


def _posterior_fact(post: dict) -> str:
    """The facts list's line on the posterior: calibration, particles, parameters."""
    return (
        f"posterior of calibration <strong>{esc(post['calibration'])}</strong> ({post['particles']:,} particles): "
        f"{_parameter_list(post)}"
    )


def _or_draws(comp: Comparison) -> str:
    return "" if comp.posterior is None else " or of the parameter draws"


def _uncertainty_text(comp: Comparison) -> str:
    """Without a posterior: the intervals are chance variation only (with one, :func:`_posterior_text` says more)."""
    if comp.posterior is not None:
        return ""
    return (
        " Intervals describe the simulation's chance variation under the scenario's assumptions, not uncertainty "
        "about those assumptions: check the appendix for what each scenario assumes."
    )


def _posterior_text(comp: Comparison) -> str:
    """With a posterior: each replicate's own draw, paired across scenarios, what the intervals are, and the spread."""
    post = comp.posterior
    if post is None:
        return ""
    one = len(post["parameters"]) == 1
    what, values = ("parameter", "value") if one else ("parameters", "values")
    return (
        '<p class="howto" id="parameter-uncertainty"><strong>Parameter uncertainty.</strong> Each replicate ran '
        f"with its own draw from the posterior of the calibration <strong>{esc(post['calibration'])}</strong> "
        f"({post['particles']:,} particles, drawn by weight; from <code>{esc(post['folder'])}</code>): the fitted "
        f"{what} {_parameter_list(post)} took that particle's {values}. The same draw was used for every scenario "
        "of that replicate, so the differences stay paired. The results therefore include uncertainty about the "
        f"fitted {what} as well as the simulation's chance variation; every other assumption is still fixed at each "
        "scenario's value: check the appendix for what each scenario assumes. The intervals in brackets are 95% "
        "intervals of the <em>average</em> difference over the draws: they narrow as replicates are added. How "
        "much a package's effect itself could differ, given what the data leave uncertain, is the spread of single "
        "replicates' differences: the range of the middle 90% of replicates is in the table below (and in "
        "differences.csv, <code>spread_low</code> and <code>spread_high</code>). The particle of each replicate is "
        "in the outcomes table (<code>posterior_particle</code>) and in provenance.json.</p>" + _spread_table(comp)
    )


def _spread_table(comp: Comparison) -> str:
    """Per package: the average difference in final coverage (and time to the first target) and its spread."""
    d = comp.differences.set_index(["scenario", "outcome"])
    times = time_columns(comp)[:1]
    outcomes = [
        ("final_coverage", "final coverage", "share"),
        *((t, f"time to {level_label(t)}", "time") for t in times),
    ]
    rows = []
    for name in comp.names[1:]:
        cells = [f'<th scope="row">{esc(name)}</th>']
        for outcome, _, kind in outcomes:
            r = d.loc[(name, outcome)]
            main, ci = format_change_row_parts(r, kind)
            several = int(r["n"]) > 1
            _, spread = format_change_parts(r["diff"], r["spread_low"], r["spread_high"], kind, interval=several)
            unit = {"share": " pp", "time": " steps"}[kind] if several else ""
            cells += [two_line_cell(main, ci), cell(spread.strip("[]").replace(", ", " to ") + unit)]
        rows.append(table_row(cells))
    headers = ["package"]
    for _, label, _ in outcomes:
        headers += [f"{esc(label)}: average difference [95%]", f"{esc(label)}: middle 90% of replicates"]
    return html_table("parameter-spread", headers, rows)


def _clock_text(comp: Comparison) -> str:
    """When the final and the "after the programme" figures were read (the same step for every scenario)."""
    sc = comp.scenarios[0]
    days = sc.schedule.days_per_step
    last = sc.schedule.steps
    text = f"Final figures are read at the last step, {last:,} (day {last * days:,.0f}). "
    if comp.clock.step is not None:
        k = comp.clock.step
        return text + (
            f"Sustained coverage and the abandoned share are read at step {k:,} (day {k * days:,.0f}) for "
            "<em>every</em> scenario: the latest step at which any scenario's last intervention had ended "
            f"{esc(sc.outputs.sustain_steps)} steps before (outputs.sustain_steps), so all are read at the same time."
        )
    return text + f"Sustained coverage and the abandoned share are not reported: {esc(comp.clock.reason)}."


def _precision_text(comp: Comparison) -> str:
    """What the precision target asked for and whether it was met."""
    p = comp.precision
    if p is None:
        return ""
    from diffusion_sim.report.format import outcome_kind

    share = outcome_kind(p.outcome) in ("share", "gap")
    unit, scale = (" percentage points", 100.0) if share else ("", 1.0)
    asked = f"±{p.half_width * scale:g}{unit}"
    n = len(comp.replicates)
    if p.met:
        return (
            f'<p class="note">Precision asked: every package\'s 95% interval of {esc(p.outcome)} within {asked}. '
            f"Met after {n:,} replicates (widest: ±{p.achieved * scale:.3g}{unit}).</p>"
        )
    return ""  # not met: the warning says so


HEADLINE_COLUMNS = [
    "Scenario",
    "Final coverage (households)",
    "Δ final coverage vs baseline (95% CI)",
    "Time to {target}",
    "Total cost",
    "Extra adopters (95% CI)",
    "Cost per extra adopter (95% CI)",
]
"""The headline table's columns (``{target}``: the marked coverage target, 80% when reported)."""


def headline_section(comp: Comparison) -> str:
    """The headline table (coverage, its change, time to the target, costs) and the other outcomes at a glance.

    The headline keeps to the seven columns a decision needs, so it fits a 1,280 px window; intervals
    sit on a second line in smaller type. Times to other targets, sustained coverage and the equity gap
    follow in a second table.
    """
    o, d, ce = comp.outcomes, comp.differences, comp.cost_effectiveness.set_index("scenario")
    cur = comp.scenarios[0].costs.currency
    diff = d.set_index(["scenario", "outcome"])
    tcols = time_columns(comp)
    target = target_column(tcols)
    winners = first_to_reach(comp, target) if target else []
    summaries = {c: time_to_summary(comp, c) for c in tcols}
    headers = [h.format(target=level_label(target)) for h in HEADLINE_COLUMNS if target or "{target}" not in h]
    rows = []
    for k, sc in enumerate(comp.scenarios):
        name = sc.name
        t = o.loc[o["scenario"] == name]
        cells = [scenario_header(sc, k == 0), cell(format_percent(t["final_coverage"].mean()))]
        if k == 0:
            cells.append(cell("baseline"))
        else:
            cells.append(two_line_cell(*format_change_row_parts(diff.loc[(name, "final_coverage")], "share")))
        if target:
            badge = f'<span class="badge">★ first to {level_label(target)}</span>' if name in winners else ""
            cells.append(two_line_cell(*_time_parts(summaries[target].loc[name], sc), "num wrap", badge))
        cells.append(cell(format_money(t["cost"].mean(), cur)))
        if k == 0:
            cells += [cell("baseline"), cell("baseline")]
        else:
            cells.append(two_line_cell(*format_change_row_parts(diff.loc[(name, "extra_adopters")], "count")))
            cells.append(two_line_cell(*_cost_per_extra_parts(ce.loc[name], cur, len(comp.replicates)), "num wrap"))
        rows.append(table_row(cells, k == 0))
    if target and winners:
        first = ", ".join(f"<strong>{esc(w)}</strong>" for w in winners)
        mark = (
            f"★ marks the scenario that reaches {level_label(target)} coverage first: {first} (lowest median step "
            "over replicates, counting replicates that never reach it as never)."
        )
    elif target:
        mark = f"No scenario reaches {level_label(target)} coverage in more than half of its replicates."
    else:
        mark = "No coverage targets were reported (outputs.coverage_targets is empty)."
    notes = (
        f'<p class="note">{mark} Times are the mean over the replicates that reached the target, with how many '
        f"did. Total cost: programme cost over the run (mean over replicates, {esc(cur)}); community costs are in "
        "the Costs section. Cost per extra adopter: mean extra cost over mean extra adopters against the baseline, "
        "with a 95% paired bootstrap interval; the next section compares packages with one another. Intervals are "
        "on the second line of a cell.</p>"
    )
    return (
        '<section id="headline"><h2>Headline results</h2>'
        + html_table("headline-table", [esc(h) for h in headers], rows)
        + notes
        + _glance_table(comp, [c for c in tcols if c != target], summaries)
        + "</section>"
    )


def _time_parts(s: pd.Series, sc: Scenario) -> tuple[str, str]:
    """A row of :func:`time_to_summary` as (main, detail)."""
    if not s["computed"]:
        return f"{DASH} not computed", ""
    return format_time_to_parts(s["mean"], int(s["reached"]), int(s["total"]), sc.schedule.days_per_step)


def _glance_table(comp: Comparison, tcols: list[str], summaries: dict[str, pd.DataFrame]) -> str:
    """Other outcomes at a glance: times to the other targets, sustained coverage and the equity gap."""
    o = comp.outcomes
    rows = []
    for k, sc in enumerate(comp.scenarios):
        t = o.loc[o["scenario"] == sc.name]
        cells = [scenario_header(sc, k == 0)]
        cells += [two_line_cell(*_time_parts(summaries[c].loc[sc.name], sc), "num wrap") for c in tcols]
        sustained = t["sustained_coverage"].mean()
        text = format_percent(sustained) if not is_missing(sustained) else f"{DASH} ({comp.clock.reason})"
        cells.append(cell(text, "num wrap"))
        gap = t["equity_gap"].mean()
        cells.append(cell(format_pp(gap) if not is_missing(gap) else dash_for("equity_gap", sc), "num wrap"))
        rows.append(table_row(cells, k == 0))
    k = comp.clock.step
    days = comp.scenarios[0].schedule.days_per_step
    read = f" (step {k:,}, day {k * days:,.0f})" if k is not None else ""
    headers = ["Scenario", *(f"Time to {level_label(c)}" for c in tcols)]
    headers += [f"Sustained coverage{read}", "Equity gap"]
    note = (
        "Means over replicates. Sustained coverage: household coverage at one common step for every scenario, "
        "<em>outputs.sustain_steps</em> after the last intervention of any scenario ended. Equity gap: coverage of "
        "other households minus that of marginalised households, in percentage points (positive: marginalised "
        "households are left behind). Every outcome with its interval is in the All outcomes table."
    )
    return (
        '<h3 id="glance">Other outcomes at a glance</h3>'
        + html_table("glance-table", [esc(h) for h in headers], rows)
        + f'<p class="note">{note}</p>'
    )


def _cost_per_extra_parts(row: pd.Series, currency: str, n_rep: int) -> tuple[str, str]:
    """Cost per extra adopter and its bootstrap interval as (main, detail), or a dash and why it is missing."""
    ratio = row["cost_per_extra_adopter"]
    if is_missing(ratio):
        return (DASH, "(no extra adopters)") if not row["extra_adopters"] > 0 else (DASH, "")
    main = format_money(ratio, currency)
    if n_rep < 2:
        return main, "(one replicate: no interval)"
    if is_missing(row["ce_low"]) or is_missing(row["ce_high"]):
        return main, "(no interval: extra adopters too uncertain)"
    d = money_decimals(ratio)
    return main, f"[{format_money(row['ce_low'], None, d)}, {format_money(row['ce_high'], None, d)}]"


def curves_section(comp: Comparison) -> str:
    """Coverage over time, mean and 95% band per scenario."""
    fig = adoption_curves_figure(comp)
    caption = (
        "Coverage of households over time. Line: mean over replicates; shaded band: 5th to 95th percentile over "
        "replicates (where 90% of runs fall). Dotted lines: coverage targets."
    )
    alt = "Line chart of coverage over time for " + ", ".join(comp.names)
    return f'<section id="curves"><h2>Adoption over time</h2>{figure_html(fig, alt, caption)}</section>'
