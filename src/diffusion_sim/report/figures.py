"""Matplotlib figures, drawn on Figure objects (no pyplot global state, no display needed)."""

from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from scipy import stats

from diffusion_sim.behaviour import CHANNEL_LABELS, CHANNELS
from diffusion_sim.results import RunResult

if TYPE_CHECKING:
    from diffusion_sim.compare import Comparison

__all__ = [
    "adoption_by_role_figure",
    "adoption_curves_figure",
    "ce_plane_figure",
    "channel_adoptions",
    "channel_figure",
    "cost_figure",
    "equity_figure",
    "intervention_costs",
    "mean_interval",
    "scenario_style",
]

_ROLE_GROUPS = [
    ("role=household", "households (coverage)", "black"),
    ("marginalised=yes", "marginalised households", "tab:purple"),
    ("role=leader", "leaders", "tab:orange"),
    ("role=health_worker", "health workers", "tab:green"),
]


def adoption_by_role_figure(result: RunResult, title: str | None = None) -> Figure:
    """Coverage over time by role (mean over replicates, with min-max band when R > 1)."""
    df = result.steps
    cov = df[df["metric"] == "coverage"]
    days = float(result.provenance.get("scenario", {}).get("schedule", {}).get("days_per_step", 7.0))
    fig = Figure(figsize=(8, 4.5), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    for group, label, colour in _ROLE_GROUPS:
        g = cov[cov["group"] == group]
        if g.empty or g["value"].isna().all():
            continue
        by_step = g.groupby("step")["value"]
        mean = by_step.mean()
        width = 2 if group == "role=household" else 1.4
        ax.plot(mean.index, mean.to_numpy() * 100, label=label, color=colour, lw=width)
        if g["replicate"].nunique() > 1:
            ax.fill_between(mean.index, by_step.min() * 100, by_step.max() * 100, color=colour, alpha=0.15, lw=0)
    ax.set_xlabel(f"step ({days:g} days each)")
    ax.set_ylabel("% of the group who practise the behaviour")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", frameon=False)
    name = result.provenance.get("scenario_name", "")
    ax.set_title(title or f"Adoption by role: {name} (seed {result.provenance.get('seed')})")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Comparison figures (one Figure per function; the HTML report embeds them as PNG).


_TAB10 = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]
_TAB20 = [*_TAB10, "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7"]
"""Channel colours: one per channel code."""
_LINESTYLES = ["-", "--", ":", "-."]
_HATCHES = ["", "//", "..", "xx"]


def scenario_style(k: int) -> tuple[str, str]:
    """Colour and line style of the k-th scenario (tab10; the style changes after every ten)."""
    return _TAB10[k % 10], _LINESTYLES[(k // 10) % len(_LINESTYLES)]


def _text(s: str, width: int = 40) -> str:
    """A user string made safe for matplotlib text: no mathtext (``$`` escaped), long names shortened."""
    s = " ".join(str(s).split())
    if len(s) > width:
        s = s[: width - 1] + "…"
    return s.replace("$", r"\$")


def _wrapped(s: str, width: int = 18) -> str:
    """A tick label wrapped on spaces into lines of about ``width`` characters (at most 3 lines)."""
    lines = textwrap.wrap(" ".join(str(s).split()), width) or [""]
    if len(lines) > 3:
        lines = [*lines[:2], lines[2][: width - 1] + "…"]
    return "\n".join(line.replace("$", r"\$") for line in lines)


def mean_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """Mean of the finite values and its ``level`` t-interval (the interval is the mean itself for n = 1).

    Returns ``(mean, low, high)``; all NaN when there is no finite value.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan
    m = float(x.mean())
    if n == 1:
        return m, m, m
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n) if sd > 0 else 0.0
    return m, m - half, m + half


def _coverage_by_step(result: RunResult, group: str = "role=household") -> pd.DataFrame:
    """Steps x replicates table of a group's coverage, indexed by step, with the ``day`` of each step."""
    df = result.steps
    sel = df[(df["metric"] == "coverage") & (df["group"] == group)]
    table = sel.pivot(index="step", columns="replicate", values="value").sort_index()
    days = sel.drop_duplicates("step").set_index("step")["day"].reindex(table.index)
    return table.assign(_day=days)


def adoption_curves_figure(comp: Comparison, group: str = "role=household", title: str | None = None) -> Figure:
    """Coverage over time of every scenario: mean over replicates, band = 5th-95th percentile over replicates.

    The x axis is the step; when every scenario has the same step length a second axis on top gives days.
    Horizontal dotted lines mark the baseline's coverage targets.
    """
    n = len(comp.scenarios)
    fig = Figure(figsize=(9, 5.0 + 0.22 * ((n + 2) // 3)), dpi=100, layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    days_per_step = {float(s.schedule.days_per_step) for s in comp.scenarios}
    for k, sc in enumerate(comp.scenarios):
        table = _coverage_by_step(comp.results[sc.name], group)
        values = table.drop(columns="_day")
        colour, style = scenario_style(k)
        x = table.index.to_numpy() if len(days_per_step) == 1 else table["_day"].to_numpy()
        label = _text(sc.name) + (" (baseline)" if k == 0 else "")
        ax.plot(x, values.mean(axis=1).to_numpy() * 100, color=colour, ls=style, lw=2, label=label)
        if values.shape[1] > 1:
            low = values.quantile(0.05, axis=1).to_numpy() * 100
            high = values.quantile(0.95, axis=1).to_numpy() * 100
            ax.fill_between(x, low, high, color=colour, alpha=0.18, lw=0)
    for level in comp.scenarios[0].outputs.coverage_targets:
        ax.axhline(level * 100, color="0.4", ls=":", lw=1)
        ax.annotate(
            f"{level * 100:g}%",
            (1.0, level * 100),
            xycoords=("axes fraction", "data"),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
            color="0.3",
        )
    if len(days_per_step) == 1:
        dps = days_per_step.pop()
        ax.set_xlabel(f"step ({dps:g} days each)")
        top = ax.secondary_xaxis("top", functions=(lambda s, d=dps: s * d, lambda t, d=dps: t / d))
        top.set_xlabel("day")
    else:
        ax.set_xlabel("day")
    ax.set_ylabel("coverage (% of households)")
    ax.set_ylim(0, 100)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    fig.legend(loc="outside lower center", ncol=min(3, n), frameon=False, fontsize=9)
    ax.set_title(title or "Adoption over time (line: mean; band: 5th-95th percentile over replicates)", fontsize=11)
    return fig


def equity_figure(comp: Comparison, level: float = 0.95) -> Figure:
    """Final coverage of marginalised and other households, and of the lowest village, per scenario.

    Bars are means over replicates; error bars are ``level`` t-intervals of the mean (clipped to 0-100%).
    """
    o = comp.outcomes
    series = [
        ("coverage_marginalised", "marginalised households", _TAB10[4], ""),
        ("coverage_not_marginalised", "other households", _TAB10[0], ""),
        ("lowest_village_coverage", "lowest village (its households)", _TAB10[7], "//"),
    ]
    n = len(comp.names)
    fig = Figure(figsize=(min(12.0, max(6.5, 1.6 + 1.5 * n)), 4.8), dpi=100, layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / len(series)
    x = np.arange(n)
    for j, (col, label, colour, hatch) in enumerate(series):
        stats_ = np.array([mean_interval(o.loc[o["scenario"] == name, col], level) for name in comp.names]) * 100
        m = stats_[:, 0]
        err = np.abs(np.stack([m - np.clip(stats_[:, 1], 0, 100), np.clip(stats_[:, 2], 0, 100) - m]))
        pos = x + (j - (len(series) - 1) / 2) * width
        ax.bar(pos, m, width * 0.95, color=colour, hatch=hatch, edgecolor="white", label=label)
        ax.errorbar(pos, m, yerr=err, fmt="none", ecolor="black", capsize=3, lw=1)
    ax.set_xticks(x, [_wrapped(name, 18 if n <= 6 else 12) for name in comp.names], fontsize=9 if n <= 6 else 8)
    ax.set_ylabel("final coverage (%)")
    ax.set_ylim(0, 105)
    ax.grid(axis="y", alpha=0.3)
    fig.legend(loc="outside lower center", ncol=3, frameon=False, fontsize=9)
    ax.set_title(f"Equity: final coverage by group (error bars: {level:.0%} interval of the mean)", fontsize=11)
    return fig


def _annotate_totals(ax, y: np.ndarray, totals: np.ndarray) -> None:
    """Write each stacked bar's total just right of its end."""
    for yi, total in zip(y, totals, strict=True):
        ax.annotate(f"{total:,.0f}", (total, yi), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)


def channel_adoptions(comp: Comparison) -> pd.DataFrame:
    """Mean adoptions by channel over replicates: scenarios (rows, in order) x channels that are not all zero."""
    o = comp.outcomes
    cols = [f"adoptions_{c}" for c in CHANNELS if f"adoptions_{c}" in o.columns]
    table = o.groupby("scenario", sort=False)[cols].mean().reindex(comp.names).fillna(0.0)
    table.columns = [c.removeprefix("adoptions_") for c in cols]
    return table.loc[:, (table != 0).any(axis=0)]


def channel_figure(comp: Comparison) -> Figure:
    """Mean adoptions by channel per scenario, as stacked horizontal bars (channels never used are left out)."""
    table = channel_adoptions(comp)
    n = len(comp.names)
    fig = Figure(figsize=(9, max(3.0, 1.9 + 0.55 * n)), dpi=100, layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    y = np.arange(n)
    left = np.zeros(n)
    for ch in table.columns:
        v = table[ch].to_numpy(float)
        colour = _TAB20[CHANNELS.index(ch) % len(_TAB20)]
        ax.barh(y, v, left=left, color=colour, label=CHANNEL_LABELS[ch], height=0.6)
        left += v
    _annotate_totals(ax, y, left)
    ax.set_yticks(y, [_wrapped(name, 24) for name in comp.names], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("adoptions over the run (mean over replicates; re-adoptions count again)")
    ax.set_xlim(0, max(1.0, left.max()) * 1.12)
    ax.grid(axis="x", alpha=0.3)
    if len(table.columns):
        fig.legend(loc="outside lower center", ncol=min(3, len(table.columns)), frameon=False, fontsize=9)
    ax.set_title("Adoptions by channel", fontsize=11)
    return fig


def intervention_costs(comp: Comparison) -> pd.DataFrame:
    """Cost of each intervention of each scenario, summed over steps and averaged over replicates.

    One row per (scenario, intervention) in scenario and intervention order, with columns ``scenario``,
    ``intervention`` (its label), ``type``, ``cost`` (programme cost), ``community_cost`` and
    ``delivered`` (units delivered: visits, leaders trained, ...).
    """
    rows = []
    for sc in comp.scenarios:
        df = comp.results[sc.name].steps
        sel = df[df["metric"].isin(["cost", "community_cost", "delivered"])]
        sel = sel.assign(group=sel["group"].astype(str), metric=sel["metric"].astype(str))
        sel = sel[sel["group"].str.startswith("intervention=")]
        totals = sel.groupby(["group", "metric", "replicate"])["value"].sum().groupby(["group", "metric"]).mean()
        for iv in sc.interventions:
            g = f"intervention={iv.label}"
            rows.append(
                {
                    "scenario": sc.name,
                    "intervention": iv.label,
                    "type": iv.type,
                    **{m: float(totals.get((g, m), 0.0)) for m in ("cost", "community_cost", "delivered")},
                }
            )
    return pd.DataFrame(rows, columns=["scenario", "intervention", "type", "cost", "community_cost", "delivered"])


def cost_figure(comp: Comparison) -> Figure:
    """Programme cost (and community cost, if any) per scenario, stacked by intervention (means over replicates)."""
    costs = intervention_costs(comp)
    currency = comp.scenarios[0].costs.currency
    labels = list(dict.fromkeys(costs["intervention"]))
    panels = [("cost", "Programme cost")]
    if (costs["community_cost"] != 0).any():
        panels.append(("community_cost", "Community cost"))
    n = len(comp.names)
    fig = Figure(figsize=(5 + 4 * len(panels), max(3.0, 2.0 + 0.55 * n)), dpi=100, layout="constrained")
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    y = np.arange(n)
    handles = []
    for ax, (metric, title) in zip(axes, panels, strict=True):
        table = costs.pivot_table(index="scenario", columns="intervention", values=metric, aggfunc="sum", sort=False)
        table = table.reindex(index=comp.names, columns=labels).fillna(0.0)
        left = np.zeros(n)
        for k, label in enumerate(labels):
            v = table[label].to_numpy(float)
            hatch = _HATCHES[(k // 10) % len(_HATCHES)]
            bars = ax.barh(y, v, left=left, height=0.6, color=_TAB10[k % 10], hatch=hatch, edgecolor="white")
            if ax is axes[0]:
                handles.append(bars)
            left += v
        _annotate_totals(ax, y, left)
        if not left.any():
            ax.text(0.5, 0.5, "no costs", transform=ax.transAxes, ha="center", va="center", color="0.4")
        ax.set_xlim(0, max(1.0, left.max()) * 1.18)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        ax.set_xlabel(f"{_text(currency, 12)} over the run (mean over replicates)")
        ax.set_title(title if len(panels) > 1 else f"{title} (no community cost in any scenario)", fontsize=11)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, [_wrapped(name, 24) for name in comp.names], fontsize=9)
    axes[0].invert_yaxis()
    if labels:
        fig.legend(
            handles,
            [_text(label, 30) for label in labels],
            loc="outside lower center",
            ncol=min(4, len(labels)),
            frameon=False,
            title="intervention",
            fontsize=9,
        )
    return fig


_STATUS_MARKERS = {
    "frontier": ("o", "on the frontier (filled)"),
    "strongly dominated": ("s", "strongly dominated (open square)"),
    "extendedly dominated": ("^", "extendedly dominated (open triangle)"),
}


def ce_plane_figure(comp: Comparison, table: pd.DataFrame, level: float = 0.95) -> Figure:
    """The cost-effectiveness plane: extra adopters (x) and extra programme cost (y) against the baseline.

    Each scenario is a point at its means, numbered as in the legend, with ``level`` t-intervals of the
    paired per-replicate differences on both axes. Frontier options are filled circles joined by the
    efficiency frontier; strongly dominated options are open squares, extendedly dominated ones open
    triangles. The legend sits below the axes, so it never covers a point.

    Args:
        comp: the comparison.
        table: its :func:`diffusion_sim.economics.incremental_analysis` table (``scenario``, ``cost``,
            ``effect``, ``status``).
        level: interval level of the error bars.

    """
    from matplotlib.lines import Line2D

    o = comp.outcomes.set_index(["scenario", "replicate"])
    base_cost = o.loc[comp.baseline, "cost"].reindex(comp.replicates).to_numpy(float)
    by = table.set_index("scenario")
    n = len(comp.names)
    ncol = 1 if n <= 4 else 2
    rows = -(-(n + 4) // ncol)  # legend rows: scenarios + frontier + three marker kinds
    fig = Figure(figsize=(9, 5.4 + 0.2 * rows), dpi=100, layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    ax.axhline(0, color="0.55", lw=0.8, zorder=1)
    ax.axvline(0, color="0.55", lw=0.8, zorder=1)
    front = table[table["status"] == "frontier"].drop_duplicates(["cost", "effect"])
    base_mean = float(base_cost.mean())
    ax.plot(front["effect"], front["cost"] - base_mean, color="0.15", lw=1.6, zorder=2)
    handles = []
    for k, name in enumerate(comp.names):
        colour, _ = scenario_style(k)
        status = by.loc[name, "status"]
        marker = _STATUS_MARKERS[status][0]
        extra = o.loc[name, "extra_adopters"].reindex(comp.replicates).to_numpy(float)
        cost = o.loc[name, "cost"].reindex(comp.replicates).to_numpy(float) - base_cost
        (mx, lx, hx), (my, ly, hy) = mean_interval(extra, level), mean_interval(cost, level)
        ax.errorbar(
            mx, my, xerr=[[mx - lx], [hx - mx]], yerr=[[my - ly], [hy - my]], fmt="none", ecolor=colour,
            elinewidth=1.2, capsize=3, zorder=3,
        )  # fmt: skip
        filled = status == "frontier"
        ax.plot(
            mx, my, marker=marker, ms=9, color=colour, mfc=colour if filled else "white", mew=2, ls="none", zorder=4
        )
        ax.annotate(
            str(k + 1), (mx, my), xytext=(7, 6), textcoords="offset points", fontsize=9, fontweight="bold",
            color=colour, zorder=5,
        )  # fmt: skip
        label = f"{k + 1}  {_text(name, 34)}" + (" (baseline)" if k == 0 else "")
        handles.append(
            Line2D([], [], marker=marker, ms=8, color=colour, mfc=colour if filled else "white", mew=2, ls="none",
                   label=label)
        )  # fmt: skip
    handles.append(Line2D([], [], color="0.15", lw=1.6, label="efficiency frontier"))
    for status, (marker, text) in _STATUS_MARKERS.items():
        if status not in set(table["status"]):
            continue
        filled = status == "frontier"
        handles.append(
            Line2D([], [], marker=marker, ms=7, color="0.3", mfc="0.3" if filled else "white", mew=1.5, ls="none",
                   label=text)
        )  # fmt: skip
    ax.margins(0.12)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    currency = _text(comp.scenarios[0].costs.currency, 12)
    ax.set_xlabel("extra adopters vs baseline (mean over replicates)")
    ax.set_ylabel(f"extra programme cost vs baseline ({currency})")
    ax.grid(alpha=0.3)
    ax.set_title(f"Cost-effectiveness plane (error bars: {level:.0%} interval of the paired difference)", fontsize=11)
    fig.legend(handles=handles, loc="outside lower center", ncol=ncol, frameon=False, fontsize=9)
    return fig
