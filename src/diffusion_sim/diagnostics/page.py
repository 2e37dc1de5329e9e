"""The inspection's offline HTML page, built from the comparison report's page, style and table blocks.

Like the report it has no scripts and no external URLs, embeds its figures as PNG data, carries no
timestamp and escapes every string that came from a file (ids, village and layer names, paths).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from diffusion_sim.diagnostics.inspection import AS_GIVEN, SYMMETRISED, Inspection
from diffusion_sim.diagnostics.structure import CLUSTERING_WORK_LIMIT
from diffusion_sim.diagnostics.tables import ALL_LAYERS
from diffusion_sim.report.format import DASH, format_count, is_missing
from diffusion_sim.report.markup import cell, esc, figure_html, html_page, html_table, table_row

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["render_page"]


def _num(x, decimals: int) -> str:
    return DASH if is_missing(x) else f"{float(x):,.{decimals}f}"  # is_missing: None, NaN and pd.NA


FOLD_VILLAGES = 12
"""With more villages than this, a table's village rows are folded away (in a ``<details>``), the CSV has them."""


def _table(
    table_id: str, headers: list[str], rows: list[str], note: str = "", village_rows: list[str] = (), villages: int = 0
) -> str:
    """The report's table with its note below it (a caption squeezes into a narrow table).

    ``village_rows`` (about ``villages`` villages) follow ``rows`` in the same table, or, with more than
    :data:`FOLD_VILLAGES` villages, in a second table folded away below the first.
    """
    if villages <= FOLD_VILLAGES:
        body = html_table(table_id, headers, [*rows, *village_rows])
    else:
        folded = html_table(f"{table_id}-villages" if rows else table_id, headers, list(village_rows))
        body = html_table(table_id, headers, rows) if rows else ""
        body += f"<details><summary>Show the {villages:,} villages</summary>{folded}</details>"
    return body + (f'<p class="note">{note}</p>' if note else "")


def _scope_name(ins: Inspection, scope: str) -> str:
    """``all agents``, a village's name, or ``village 3`` for a generated community's village 3."""
    if scope == "all":
        return "all agents"
    name = scope.removeprefix("village=")
    return name if ins.community.population.village_names else f"village {name}"


def _columns(ins: Inspection) -> list[tuple[str, str, int]]:
    """Measure columns of the layer and village tables; without directed ties, none that would only repeat."""
    if ins.community.network.directed & set(ins.community.network.layers):
        return _LAYER_HEADERS
    return [(c, "max degree" if c == "max_out_degree" else h, d) for c, h, d in _LAYER_HEADERS
            if c not in ("reciprocity", "max_in_degree")]  # fmt: skip


def _header(ins: Inspection, files: list[str]) -> str:
    from diffusion_sim import __version__

    pop, net = ins.community.population, ins.community.network
    layers = ", ".join(f"{esc(k)} ({'directed' if k in net.directed else 'undirected'})" for k in net.layers) or "none"
    if ins.has_adoption:
        e = ins.exposure[AS_GIVEN]
        t = e.adoption_time[e.adopters]
        span = f", {esc(ins.time_unit)} {t.min():g} to {t.max():g}" if len(t) else ""
        adoption = f"{format_count(len(t))} of {format_count(pop.n)} agents adopted{span}"
    else:
        adoption = "none (the community carries no adoption times)"
    facts = [
        ("Inspected", esc(ins.source)),
        ("Agents", format_count(pop.n)),
        ("Villages", format_count(pop.n_villages)),
        ("Layers", layers),
        ("Adoption times", adoption),
        ("Produced by", f"diffusion-sim {esc(__version__)}"),
    ]
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    toc = [("agents", "Agents"), ("layers", "Ties by layer"), ("degrees", "Degree distributions")]
    if pop.n_villages > 1:
        toc.append(("villages", "Villages"))
    if ins.has_adoption:
        toc += [("adoption", "Adoption over time"), ("exposure", "Exposure at adoption")]
    toc += [("method", "How these are computed")] + ([("files", "Files")] if files else [])
    nav = "".join(f'<li><a href="#{a}">{t}</a></li>' for a, t in toc)
    return (
        f"<header><h1>Community inspection</h1>"
        f'<p class="subtitle">The shape of the network{" and its diffusion" if ins.has_adoption else ""}: '
        f"{esc(ins.source)}</p>"
        f'<dl class="facts">{dl}</dl><nav class="toc"><strong>Contents</strong><ol>{nav}</ol></nav></header>'
    )


def _agents_section(ins: Inspection) -> str:
    nodes = ins.nodes
    types = [c for c in nodes.columns[1:-1] if nodes[c].sum() > 0]
    headers = ["", *(esc(t.replace("_", " ")) for t in types), "total"]
    rows = [
        table_row(
            [f'<th scope="row">{esc(_scope_name(ins, r.scope))}</th>']
            + [cell(format_count(getattr(r, t))) for t in [*types, "total"]]
        )
        for r in nodes.itertuples(index=False)
    ]
    note = "Agent types with no agent are left out (nodes.csv has every type)."
    table = _table("agents-table", headers, rows[:1], note, rows[1:], ins.community.population.n_villages)
    return f'<section id="agents"><h2>Agents</h2>{table}</section>'


_LAYER_HEADERS = [
    ("ties", "ties", 0),
    ("reciprocity", "reciprocity", 3),
    ("mean_degree", "mean degree", 2),
    ("max_out_degree", "max out-degree", 0),
    ("max_in_degree", "max in-degree", 0),
    ("isolated", "isolated", 0),
    ("components", "components", 0),
    ("largest_component", "largest component", 0),
    ("clustering", "clustering", 3),
]


def _measure_cells(ins: Inspection, r: pd.Series) -> list[str]:
    return [cell(_num(r[c], d)) for c, _, d in _columns(ins)]


def _layers_section(ins: Inspection) -> str:
    rows_all = ins.layers[ins.layers["scope"] == "all"]
    several = ins.community.population.n_villages > 1
    headers = ["layer", "kind", *(h for _, h, _ in _columns(ins))] + (["between villages"] if several else [])
    rows = []
    for _, r in rows_all.iterrows():
        extra = [cell(_num(r["between_villages"], 0))] if several else []
        rows.append(
            table_row([f'<th scope="row">{esc(r["layer"])}</th>', cell(r["kind"], "")] + _measure_cells(ins, r) + extra)
        )
    directed = any(c == "reciprocity" for c, _, _ in _columns(ins))
    note = (
        "Ties: arcs of a directed layer (ego named alter), ties of an undirected one; on the all-layers row, pairs "
        "tied in at least one layer. "
        + (
            "Reciprocity: share of arcs whose reverse arc exists (1 for undirected ties). Mean degree: arcs per "
            "agent, the mean out-degree and the mean in-degree alike. "
            if directed
            else "Mean degree: the mean number of ties an agent has. "
        )
        + "Components: weakly connected, isolated agents included. Clustering: average local clustering of the "
        "undirected projection."
    )
    return f'<section id="layers"><h2>Ties by layer</h2>{_table("layers-table", headers, rows, note)}</section>'


def _degrees_section(figures: dict[str, Figure]) -> str:
    fig = figures.get("degree_distributions")
    body = (
        ""
        if fig is None
        else figure_html(
            fig,
            "Degree distributions per layer",
            "Agents per degree, every agent of the community; out-degree counts the people an agent named, in-degree "
            "those who named it (equal for undirected ties). Both axes are logarithmic. Per village: degrees.csv.",
        )
    )
    return f'<section id="degrees"><h2>Degree distributions</h2>{body}</section>'


def _villages_section(ins: Inspection) -> str:
    if ins.community.population.n_villages <= 1:
        return ""
    layers = ins.layers[(ins.layers["scope"] != "all") & (ins.layers["layer"] == ALL_LAYERS)]
    totals = ins.nodes.set_index("scope")["total"]
    headers = ["village", "agents", "kind", *(h for _, h, _ in _columns(ins))]
    rows = [
        table_row(
            [
                f'<th scope="row">{esc(_scope_name(ins, r["scope"]))}</th>',
                cell(format_count(totals[r["scope"]])),
                cell(r["kind"], ""),
            ]
            + _measure_cells(ins, r)
        )  # fmt: skip
        for _, r in layers.iterrows()
    ]
    note = (
        "Each village's own network, all layers together: its agents and the ties between two of them (ties "
        "between villages are counted in the table above). Per layer: layers.csv."
    )
    table = _table("villages-table", headers, rows, note)  # the section is about villages: never folded
    return f'<section id="villages"><h2>Villages</h2>{table}</section>'


def _adoption_section(ins: Inspection, figures: dict[str, Figure]) -> str:
    if not ins.has_adoption:
        return ""
    fig = figures.get("adoption_curve")
    body = (
        ""
        if fig is None
        else figure_html(
            fig,
            "Cumulative adoption curve",
            f"Share of agents who had adopted by each {esc(ins.time_unit)} (never-adopters count in the denominator). "
            "Numbers: adoption_curve.csv.",
        )
    )
    return f'<section id="adoption"><h2>Adoption over time</h2>{body}</section>'


_EXPOSURE_HEADERS = ["", "ties", "adopters", "no nominations (excluded)", "included", "mean", "median", "exposure 0"]


def _exposure_section(ins: Inspection, figures: dict[str, Figure]) -> str:
    if not ins.has_adoption:
        return ""
    rows = [
        table_row(
            [f'<th scope="row">{esc(_scope_name(ins, r["scope"]))}</th>', cell(r["ties"], "")]
            + [cell(format_count(r[c])) for c in ("adopters", "without_nominations", "included")]
            + [cell(_num(r["mean"], 3)), cell(_num(r["median"], 3)), cell(_num(100 * r["share_zero"], 1) + "%")]
        )
        for _, r in ins.exposure_summary.iterrows()
    ]
    whole = ins.exposure_summary["scope"].eq("all").to_numpy()
    sym = (
        f" <em>{SYMMETRISED.capitalize()}</em> reads each directed tie both ways: ego's alters are the people ego "
        "named and those who named ego."
        if SYMMETRISED in ins.exposure
        else ""
    )
    text = (
        '<p class="howto">For each adopter (ego), the share of ego\'s alters who adopted <em>strictly</em> before '
        "ego: Valente's (1995) network threshold. Ego's alters are the distinct people ego nominated, over every "
        "layer: out-neighbours over directed layers (the people ego named), neighbours over undirected ones. Alters "
        "who adopted at the same time as ego, never adopted or whose time is unknown do not count as earlier. "
        f"People who never adopted are left out, and so are adopters who nominated nobody (counted).{sym} A village's "
        "row is about its adopters, wherever their alters live. Per agent: exposure_at_adoption.csv.</p>"
    )
    fig = figures.get("exposure_at_adoption")
    body = (
        ""
        if fig is None
        else figure_html(
            fig, "Histogram of exposure at adoption", "Share of included adopters in each tenth of exposure."
        )
    )
    note = (
        "Exposure at adoption, mean and median over the included adopters; exposure 0: the share of them with no "
        "alter adopting earlier."
    )
    n = ins.community.population.n_villages
    mine = [r for r, w in zip(rows, whole, strict=True) if w]
    theirs = [r for r, w in zip(rows, whole, strict=True) if not w]
    table = _table("exposure-table", _EXPOSURE_HEADERS, mine, note, theirs, n if theirs else 0)
    return f'<section id="exposure"><h2>Exposure at adoption</h2>{text}{table}{body}</section>'


def _method_section(ins: Inspection) -> str:
    items = [
        "Every measure counts a pair tied twice in one layer once, ignores ties of an agent with itself and does not "
        "read tie weights.",
        "Average clustering is the mean of every agent's local clustering coefficient (twice the triangles through "
        "the agent over d(d - 1), d its number of contacts; 0 for agents with fewer than two contacts), as networkx "
        "computes it, exact at any size: triangles are counted in order of degree, so hubs cost little. Were that "
        f"to take more than {CLUSTERING_WORK_LIMIT:,} steps (a very dense network), clustering would be left out "
        "(shown as –) rather than estimated.",
        "Directed layers hold arcs: ego named alter, and alter's adoption counts in ego's exposure. Components of "
        "directed ties are weakly connected ones.",
    ]
    refused = int(ins.layers["clustering"].isna().sum())
    if refused:
        items.append(f"Clustering was left out here in {refused} of {len(ins.layers)} rows of layers.csv.")
    lis = "".join(f"<li>{esc(t)}</li>" for t in items)
    return f'<section id="method"><h2>How these are computed</h2><ul>{lis}</ul></section>'


def _files_section(files: list[str]) -> str:
    if not files:
        return ""
    lis = "".join(f"<li><code>{esc(f)}</code></li>" for f in files)
    return f'<section id="files"><h2>Files</h2><p>Written beside this page:</p><ul>{lis}</ul></section>'


def render_page(ins: Inspection, figures: dict[str, Figure] | None = None, files: list[str] | None = None) -> str:
    """The inspection as one self-contained HTML page; ``figures`` by file stem, ``files`` written beside it."""
    figures = figures or {}
    files = files or []
    body = "".join(
        [
            _header(ins, files),
            _agents_section(ins),
            _layers_section(ins),
            _degrees_section(figures),
            _villages_section(ins),
            _adoption_section(ins, figures),
            _exposure_section(ins, figures),
            _method_section(ins),
            _files_section(files),
        ]
    )
    return html_page(f"Community inspection: {ins.source}", body)
