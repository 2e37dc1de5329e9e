"""A self-contained HTML report of a scenario comparison, for planners.

The page opens offline: no scripts, no external URLs, all CSS inline and every figure embedded as a
base64 PNG. It carries no timestamp, so the same comparison always gives the same bytes. Every
user-provided string (scenario names, descriptions, intervention labels, file texts) is escaped.

Numbers are formatted by :mod:`diffusion_sim.report.format` and derived by
:mod:`diffusion_sim.report.summaries`; this module lays out the page.
"""

from __future__ import annotations

import base64
import html
import io
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from diffusion_sim.report.figures import (
    CHANNEL_LABELS,
    adoption_curves_figure,
    channel_adoptions,
    channel_figure,
    cost_figure,
    equity_figure,
    intervention_costs,
    mean_interval,
)
from diffusion_sim.report.format import (
    DASH,
    _change,
    _missing,
    format_count,
    format_money,
    format_percent,
    format_pp,
    format_time_to,
    format_value,
    money_decimals,
    outcome_kind,
)
from diffusion_sim.report.summaries import (
    _dash,
    _level_label,
    _target_column,
    _time_columns,
    first_to_reach,
    time_to_summary,
)
from diffusion_sim.scenario.schema import Scenario
from diffusion_sim.scenario.yaml_source import to_yaml

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from diffusion_sim.compare import Comparison

__all__ = ["figure_data_uri", "render_report", "write_report"]

# ---------------------------------------------------------------------------------------- HTML

_CSS = """
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
.howto { background: #f7f9fb; border-left: 4px solid var(--accent); padding: .6rem 1rem; }
.table-wrap { overflow-x: auto; margin: .6rem 0; }
table { border-collapse: collapse; font-size: .9rem; }
th, td { border: 1px solid var(--line); padding: .3rem .5rem; vertical-align: top; text-align: left; }
thead th { background: var(--head); position: sticky; top: 0; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.num.wrap { white-space: normal; min-width: 9rem; }
tr.baseline td, tr.baseline th { background: #fafafa; }
th[scope=row] { font-weight: 600; background: #fcfcfc; }
.badge { display: inline-block; margin-left: .3rem; padding: 0 .35rem; border-radius: .6rem;
         background: #fff2cc; border: 1px solid #e0b000; font-size: .8rem; font-weight: 600; white-space: nowrap; }
.tag { color: var(--muted); font-weight: normal; font-size: .85rem; }
.note { color: var(--muted); font-size: .88rem; }
.raw { color: var(--muted); font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .78rem; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: var(--muted); font-size: .88rem; max-width: 62rem; }
pre { background: #f6f8fa; border: 1px solid var(--line); padding: .7rem; overflow-x: auto; font-size: .82rem;
      line-height: 1.35; white-space: pre; }
details { margin: .4rem 0 1rem; }
summary { cursor: pointer; color: var(--accent); }
@media print { thead th { position: static; } .table-wrap { overflow: visible; } a { color: inherit; } }
"""


def _e(x: Any) -> str:
    """Escape any value for HTML text or an attribute value."""
    return html.escape(str(x), quote=True)


def figure_data_uri(fig: Figure) -> str:
    """A figure as a ``data:image/png;base64,...`` URI (100 dpi; no PNG metadata, so the bytes are stable)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(fig: Figure, alt: str, caption: str) -> str:
    return (
        f'<figure><img src="{figure_data_uri(fig)}" alt="{_e(alt)}">'
        f"<figcaption>{caption}</figcaption></figure>"  # caption: HTML built by the caller, already escaped
    )


def _cell(text: str, cls: str = "num", extra: str = "") -> str:
    """A ``<td>`` holding escaped ``text`` followed by ``extra`` (trusted HTML)."""
    return f'<td class="{cls}">{_e(text)}{extra}</td>'


def _row(cells: list[str], baseline: bool = False) -> str:
    """A ``<tr>`` of built cells (class ``baseline`` for the baseline's row)."""
    return f"<tr{' class="baseline"' if baseline else ''}>{''.join(cells)}</tr>"


def _table(table_id: str, headers: list[str], rows: list[str], caption: str = "") -> str:
    """A table from escaped header texts and pre-built ``<tr>`` rows."""
    head = "".join(f'<th scope="col">{h}</th>' for h in headers)
    cap = f'<caption class="note">{caption}</caption>' if caption else ""
    return (
        f'<div class="table-wrap"><table id="{table_id}">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _scenario_header(sc: Scenario, baseline: bool) -> str:
    tag = ' <span class="tag">(baseline)</span>' if baseline else ""
    return f'<th scope="row">{_e(sc.name)}{tag}</th>'


def _header(comp: Comparison) -> str:
    from diffusion_sim import __version__

    base = comp.scenarios[0]
    behaviours = list(dict.fromkeys(s.behaviour.name for s in comp.scenarios))
    behaviour = _e(behaviours[0]) + (
        " (other scenarios: " + ", ".join(_e(b) for b in behaviours[1:]) + ")" if len(behaviours) > 1 else ""
    )
    steps = sorted({(s.schedule.steps, s.schedule.days_per_step) for s in comp.scenarios})
    length = "; ".join(f"{n:,} steps of {d:g} days ({n * d:,.0f} days)" for n, d in steps)
    n_rep = len(comp.replicates)
    facts = [
        ("Behaviour", behaviour),
        ("Baseline", _e(comp.baseline)),
        ("Scenarios", str(len(comp.scenarios))),
        ("Replicates", f"{n_rep:,} per scenario (replicates {comp.replicates[0]}–{comp.replicates[-1]})"),
        ("Seed", _e(comp.seed)),
        ("Run length", _e(length)),
        ("Currency", _e(base.costs.currency)),
        ("Produced by", f"diffusion-sim {_e(__version__)}"),
    ]
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    toc = [
        ("headline", "Headline results"),
        ("curves", "Adoption over time"),
        ("equity", "Equity"),
        ("channels", "Adoption channels"),
        ("costs", "Costs"),
        ("outcomes", "All outcomes"),
        ("appendix", "Appendix: scenario files"),
    ]
    nav = "".join(f'<li><a href="#{a}">{t}</a></li>' for a, t in toc)
    howto = (
        f"Every scenario was run {n_rep:,} times (replicates) from master seed {_e(comp.seed)}, using "
        "<em>common random numbers</em>: replicate <em>r</em> of every scenario uses the same seed and random "
        "streams, so two scenarios differ only where their settings and interventions differ. Each "
        f"comparison with the baseline ({_e(comp.baseline)}) is therefore <em>paired</em>: the difference is "
        "computed replicate by replicate and then averaged. Intervals in brackets are 95% t-intervals over "
        "replicates of that paired difference; when an interval excludes zero, the difference is unlikely to be "
        "an accident of the simulation's randomness. <strong>Coverage</strong> is the share of all agents "
        "(households, leaders and health workers) who practise the behaviour. Times are in steps from the "
        "start; a step is a fixed number of days. Intervals describe the simulation's chance variation under "
        "the scenario's assumptions, not uncertainty about those assumptions: check the appendix for what each "
        "scenario assumes."
    )
    items = []
    for k, sc in enumerate(comp.scenarios):
        ivs = (
            "; ".join(
                f'{_e(iv.label)} <span class="tag">({_e(iv.type)}, steps {iv.start}–'
                f"{_e(iv.end if iv.end is not None else 'end')})</span>"
                for iv in sc.interventions
            )
            or "no interventions"
        )
        tag = ' <span class="tag">(baseline)</span>' if k == 0 else ""
        items.append(f"<li><strong>{_e(sc.name)}</strong>{tag}: {_e(sc.description)}<br>Interventions: {ivs}</li>")
    return (
        f"<header><h1>Scenario comparison: {_e(base.behaviour.name)}</h1>"
        f'<p class="subtitle">{len(comp.scenarios)} scenarios against the baseline '
        f"<strong>{_e(comp.baseline)}</strong>, {n_rep:,} paired replicates each, seed {_e(comp.seed)}.</p>"
        f'<dl class="facts">{dl}</dl>'
        f'<nav class="toc"><strong>Contents</strong><ol>{nav}</ol></nav></header>'
        f'<section id="how-to-read"><h2>How to read this</h2><p class="howto">{howto}</p>'
        f'<h3>Scenarios compared</h3><ul id="scenario-list">{"".join(items)}</ul></section>'
    )


def _headline(comp: Comparison) -> str:
    o, d, ce = comp.outcomes, comp.differences, comp.cost_effectiveness.set_index("scenario")
    cur = comp.scenarios[0].costs.currency
    diff = d.set_index(["scenario", "outcome"])
    tcols = _time_columns(comp)
    target = _target_column(tcols)
    winners = first_to_reach(comp, target) if target else []
    summaries = {c: time_to_summary(comp, c) for c in tcols}
    headers = [
        "Scenario",
        "Final coverage",
        "Δ final coverage vs baseline (95% CI)",
        *(f"Time to {_level_label(c)}" for c in tcols),
        "Sustained coverage",
        "Equity gap",
        "Total cost",
        "Extra adopters (95% CI)",
        "Cost per extra adopter (95% CI)",
    ]
    rows = []
    for k, sc in enumerate(comp.scenarios):
        name = sc.name
        t = o.loc[o["scenario"] == name]
        cells = [_scenario_header(sc, k == 0), _cell(format_percent(t["final_coverage"].mean()))]
        if k == 0:
            cells.append(_cell("baseline"))
        else:
            cells.append(_cell(_change(diff.loc[(name, "final_coverage")], "share")))
        for c in tcols:
            s = summaries[c].loc[name]
            if not s["computed"]:
                text = f"{DASH} not computed"
            else:
                text = format_time_to(s["mean"], int(s["reached"]), int(s["total"]), sc.schedule.days_per_step)
            badge = (
                f'<span class="badge">★ first to {_level_label(c)}</span>' if c == target and name in winners else ""
            )
            cells.append(_cell(text, "num wrap", badge))
        sustained = t["sustained_coverage"].mean()
        text = format_percent(sustained) if not _missing(sustained) else _dash("sustained_coverage", sc)
        cells.append(_cell(text, "num wrap"))
        gap = t["equity_gap"].mean()
        cells.append(_cell(format_pp(gap) if not _missing(gap) else _dash("equity_gap", sc)))
        cells.append(_cell(format_money(t["cost"].mean(), cur)))
        if k == 0:
            cells += [_cell("baseline"), _cell("baseline")]
        else:
            cells.append(_cell(_change(diff.loc[(name, "extra_adopters")], "count")))
            cells.append(_cell(_cost_per_extra(ce.loc[name], cur, len(comp.replicates)), "num wrap"))
        rows.append(_row(cells, k == 0))
    if target and winners:
        first = ", ".join(f"<strong>{_e(w)}</strong>" for w in winners)
        mark = (
            f"★ marks the scenario that reaches {_level_label(target)} coverage first: {first} (lowest median step "
            "over replicates, counting replicates that never reach it as never)."
        )
    elif target:
        mark = f"No scenario reaches {_level_label(target)} coverage in more than half of its replicates."
    else:
        mark = "No coverage targets were reported (outputs.coverage_targets is empty)."
    notes = (
        f'<p class="note">{mark} Times are the mean over the replicates that reached the target, with how many '
        "did. Sustained coverage: coverage <em>outputs.sustain_steps</em> steps after the last intervention ended. "
        "Equity gap: coverage of other households minus that of marginalised households, in percentage points "
        "(positive: marginalised households are left behind). Total cost: programme cost over the run "
        f"(mean over replicates, {_e(cur)}); community costs are in the Costs section. Cost per extra adopter: "
        "mean extra cost over mean extra adopters against the baseline, with a 95% paired bootstrap interval.</p>"
    )
    return (
        '<section id="headline"><h2>Headline results</h2>'
        + _table("headline-table", [_e(h) for h in headers], rows)
        + notes
        + "</section>"
    )


def _cost_per_extra(row: pd.Series, currency: str, n_rep: int) -> str:
    """Cost per extra adopter with its bootstrap interval, or a dash and the reason it is missing."""
    ratio = row["cost_per_extra_adopter"]
    if _missing(ratio):
        return f"{DASH} (no extra adopters)" if not row["extra_adopters"] > 0 else DASH
    main = format_money(ratio, currency)
    if n_rep < 2:
        return f"{main} (one replicate: no interval)"
    if _missing(row["ce_low"]) or _missing(row["ce_high"]):
        return f"{main} (no interval: extra adopters too uncertain)"
    d = money_decimals(ratio)
    return f"{main} [{format_money(row['ce_low'], None, d)}, {format_money(row['ce_high'], None, d)}]"


def _curves(comp: Comparison) -> str:
    fig = adoption_curves_figure(comp)
    caption = (
        "Coverage of all agents over time. Line: mean over replicates; shaded band: 5th to 95th percentile over "
        "replicates (where 90% of runs fall). Dotted lines: coverage targets."
    )
    alt = "Line chart of coverage over time for " + ", ".join(comp.names)
    return f'<section id="curves"><h2>Adoption over time</h2>{_figure(fig, alt, caption)}</section>'


def _equity(comp: Comparison) -> str:
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
        cells = [_scenario_header(sc, k == 0)]
        for col, _ in cols:
            m, lo, hi = mean_interval(t[col])
            if _missing(m):
                text = _dash(col, sc)
            elif col == "equity_gap":
                text = f"{format_pp(m)} [{format_pp(lo, unit=False)}, {format_pp(hi, unit=False)}]"
            else:  # a mean share lies in [0, 1]: so does its interval
                text = f"{format_percent(m)} [{format_percent(max(lo, 0.0))}, {format_percent(min(hi, 1.0))}]"
            if not _missing(m) and t[col].notna().sum() < 2:
                text = text[: text.index(" [")]
            cells.append(_cell(text))
        rows.append(_row(cells, k == 0))
    table = _table(
        "equity-table",
        ["Scenario", *(_e(h) for _, h in cols)],
        rows,
        "Means over replicates with 95% t-intervals of the mean.",
    )
    alt = "Grouped bar chart of final coverage of marginalised and other households and of the lowest village"
    return f'<section id="equity"><h2>Equity</h2>{_figure(fig, alt, caption)}{table}</section>'


def _channels(comp: Comparison) -> str:
    table = channel_adoptions(comp)
    fig = channel_figure(comp)
    caption = (
        "Mean number of adoptions through each channel over the run (initial seeds included; an agent who "
        "abandons and adopts again counts twice). Channels no scenario used are left out."
    )
    rows = []
    for k, sc in enumerate(comp.scenarios):
        values = table.loc[sc.name]
        cells = [
            _scenario_header(sc, k == 0),
            *(_cell(format_count(v)) for v in values),
            _cell(format_count(values.sum())),
        ]
        rows.append(_row(cells, k == 0))
    headers = ["Scenario", *(_e(CHANNEL_LABELS.get(c, c)) for c in table.columns), "Total"]
    alt = "Stacked bar chart of adoptions by channel per scenario"
    body = _figure(fig, alt, caption) + _table("channel-table", headers, rows, "Mean adoptions over replicates.")
    return f'<section id="channels"><h2>Adoption channels</h2>{body}</section>'


def _costs(comp: Comparison) -> str:
    cur = comp.scenarios[0].costs.currency
    costs = intervention_costs(comp)
    fig = cost_figure(comp)
    caption = (
        f"Cost of each intervention over the run, summed over steps, mean over replicates ({_e(cur)}). Programme "
        "cost is paid by the programme; community cost is borne by the community (e.g. its share of distribution)."
    )
    rows = []
    o = comp.outcomes
    for k, sc in enumerate(comp.scenarios):
        t = o.loc[o["scenario"] == sc.name]
        mine = costs[costs["scenario"] == sc.name]
        if mine.empty:
            cells = [
                _scenario_header(sc, k == 0),
                "<td>no interventions</td>",
                _cell(format_money(t["cost"].mean(), cur)),
                _cell(format_money(t["community_cost"].mean(), cur)),
                _cell(""),
            ]
            rows.append(_row(cells, k == 0))
        for _, r in mine.iterrows():
            label = f'{_e(r["intervention"])} <span class="tag">({_e(r["type"])})</span>'
            cells = [
                _scenario_header(sc, k == 0),
                f"<td>{label}</td>",
                _cell(format_money(r["cost"], cur)),
                _cell(format_money(r["community_cost"], cur)),
                _cell(format_count(r["delivered"])),
            ]
            rows.append(_row(cells, k == 0))
        if len(mine) < 2:
            continue
        total = [
            f'<th scope="row">{_e(sc.name)} <span class="tag">total</span></th>',
            "<td></td>",
            _cell(format_money(t["cost"].mean(), cur)),
            _cell(format_money(t["community_cost"].mean(), cur)),
            _cell(""),
        ]
        rows.append(f'<tr class="total">{"".join(total)}</tr>')
    headers = ["Scenario", "Intervention", "Programme cost", "Community cost", "Units delivered"]
    note = (
        "Means over replicates. Units delivered: visits, conversations, people reached, depending on the intervention."
    )
    alt = "Bar chart of programme cost per scenario, stacked by intervention"
    body = _figure(fig, alt, caption) + _table("cost-table", headers, rows, _e(note))
    return f'<section id="costs"><h2>Costs</h2>{body}</section>'


_OUTCOME_LABELS = {
    "final_coverage": "Final coverage",
    "sustained_coverage": "Sustained coverage",
    "abandoned_share": "Abandoned (share of those who ever adopted)",
    "coverage_households": "Coverage, households",
    "coverage_leaders": "Coverage, leaders",
    "coverage_health_workers": "Coverage, health workers",
    "coverage_marginalised": "Coverage, marginalised households",
    "coverage_not_marginalised": "Coverage, other households",
    "equity_gap": "Equity gap (other − marginalised)",
    "lowest_village_coverage": "Lowest village coverage",
    "adopters": "Adopters at the end",
    "cost": "Programme cost",
    "community_cost": "Community cost",
    "extra_adopters": "Extra adopters vs baseline",
}


def _outcome_label(outcome: str) -> str:
    if outcome.startswith("time_to_"):
        return f"Time to {_level_label(outcome)} coverage"
    return _OUTCOME_LABELS.get(outcome, outcome.replace("_", " ").capitalize())


def _outcomes(comp: Comparison) -> str:
    d = comp.differences
    cur = comp.scenarios[0].costs.currency
    n_rep = len(comp.replicates)
    by = d.set_index(["scenario", "outcome"])
    rows = []
    for outcome in dict.fromkeys(d["outcome"]):
        kind = outcome_kind(outcome)
        cells = [f'<th scope="row">{_e(_outcome_label(outcome))}<br><span class="raw">{_e(outcome)}</span></th>']
        for k, sc in enumerate(comp.scenarios):
            if (sc.name, outcome) not in by.index:
                cells.append(_cell(DASH))
                continue
            r = by.loc[(sc.name, outcome)]
            mean = format_value(r["mean"], kind, cur)
            if _missing(r["mean"]):
                cells.append(_cell(_dash(outcome, sc), "num wrap"))
                continue
            if k == 0:
                cells.append(_cell(mean, "num wrap"))
                continue
            if _missing(r["diff"]):
                why = "no replicate where both reached it" if kind == "time" else "no paired values"
                change = f"Δ {DASH}: {why}"
            else:
                change = "Δ " + _change(r, kind, cur)
                if int(r["n"]) < n_rep:
                    change += f", {int(r['n'])} pairs"
            cells.append(_cell(f"{mean} ({change})", "num wrap"))
        rows.append(f"<tr>{''.join(cells)}</tr>")
    headers = ["Outcome"] + [
        _e(sc.name) + (' <span class="tag">(baseline)</span>' if k == 0 else "") for k, sc in enumerate(comp.scenarios)
    ]
    note = (
        "Each cell: mean over replicates (Δ paired difference from the baseline [95% t-interval]). Time outcomes "
        "are means over the replicates that reached the target, and their differences use only the replicates "
        "where both scenarios reached it (the number of such pairs is given when it is not all of them)."
    )
    return (
        '<section id="outcomes"><h2>All outcomes</h2>'
        + _table("outcome-table", headers, rows)
        + f'<p class="note">{_e(note)}</p></section>'
    )


def _changes_from_default(sc: Scenario) -> dict[str, Any]:
    """Top-level sections of a scenario that differ from the built-in default (name excluded)."""
    mine, default = sc.model_dump(mode="json"), Scenario().model_dump(mode="json")
    return {k: v for k, v in mine.items() if k != "name" and v != default.get(k)}


def _appendix(comp: Comparison) -> str:
    parts = []
    for k, (sc, source, text) in enumerate(zip(comp.scenarios, comp.sources, comp.texts, strict=False)):
        tag = ' <span class="tag">(baseline)</span>' if k == 0 else ""
        head = (
            f'<h3 id="scenario-{k + 1}">{_e(sc.name)}{tag}</h3>'
            f"<p>Source: <code>{_e(source)}</code>; scenario digest <code>{_e(sc.digest())}</code>.</p>"
        )
        if text:
            body = f'<pre class="scenario-text">{_e(text)}</pre>'
        else:
            changes = _changes_from_default(sc)
            if not changes:
                body = "<p>built-in default scenario</p>"
            else:
                dumped = to_yaml(changes)
                body = (
                    "<p>No scenario file text; the sections that differ from the built-in default scenario:</p>"
                    f'<pre class="scenario-changes">{_e(dumped)}</pre>'
                )
        full = to_yaml(sc)
        body += f"<details><summary>All parameters as run</summary><pre>{_e(full)}</pre></details>"
        parts.append(head + body)
    return '<section id="appendix"><h2>Appendix: scenario files</h2>' + "".join(parts) + "</section>"


def render_report(comp: Comparison) -> str:
    """The report of a comparison as one self-contained HTML page (see :func:`write_report`)."""
    if comp.outcomes is None or comp.differences is None or comp.cost_effectiveness is None:
        raise ValueError("the comparison has no outcomes yet: build it with diffusion_sim.compare.compare()")
    title = f"Scenario comparison: {comp.scenarios[0].behaviour.name} ({', '.join(comp.names)})"
    body = "".join(
        [
            _header(comp),
            _headline(comp),
            _curves(comp),
            _equity(comp),
            _channels(comp),
            _costs(comp),
            _outcomes(comp),
            _appendix(comp),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def write_report(comp: Comparison, out_dir: str | Path) -> Path:
    """Write the comparison's report to ``out_dir/report.html`` and return its path.

    The page is self-contained (opens offline) and reproducible (no timestamps: the same comparison gives
    the same bytes). It is written to a temporary file in ``out_dir`` first and then moved into place,
    so a reader never sees half a report.

    Args:
        comp: a comparison from :func:`diffusion_sim.compare.compare`.
        out_dir: an existing folder.

    """
    out_dir = Path(out_dir)
    page = render_report(comp).encode("utf-8")
    target = out_dir / "report.html"
    tmp = out_dir / f".report.html.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(page)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
