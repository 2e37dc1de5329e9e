"""The PNG plot :func:`diffusion_sim.experiment.analyze.write_analysis` draws for a method's index table.

Sobol and FAST indices as bars (S1 beside ST, one panel per outcome), Morris screening as mu* against
sigma, and a full factorial's main effects as level means; the other methods have no plot. Figures are
:class:`matplotlib.figure.Figure` objects, made without pyplot (no global state, no display needed).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["PLOTS", "analysis_figure"]

PLOTS = {
    "sobol": "sobol_indices.png",
    "morris": "morris_mu_star_sigma.png",
    "fast": "fast_indices.png",
    "full_factorial": "factorial_main_effects.png",
}
"""The plot written for each method (the others have none)."""


def analysis_figure(method: str, tables: dict[str, pd.DataFrame], level: float):
    """The method's figure, or None if it has none or no outcome to show."""
    if method == "sobol":
        return _bars(tables["sobol_first_total"], conf=level, title="Sobol indices")
    if method == "fast":
        return _bars(tables["fast"], conf=None, title="FAST indices")
    if method == "morris":
        return _morris_plot(tables["morris"], level)
    if method == "full_factorial":
        return _main_effects_plot(tables["factorial_main_effects"])
    return None


def _bars(table: pd.DataFrame, *, conf: float | None, title: str):
    from matplotlib.figure import Figure

    if table.empty:
        return None
    outcomes = list(dict.fromkeys(table["outcome"]))
    k = table["parameter"].nunique()
    fig = Figure(figsize=(max(6.0, 1.6 + 0.9 * k), 0.6 + 2.6 * len(outcomes)), dpi=100, layout="constrained")
    axes = fig.subplots(len(outcomes), 1, squeeze=False)[:, 0]
    width = 0.38
    for ax, outcome in zip(axes, outcomes, strict=True):
        rows = table[table["outcome"] == outcome]
        x = np.arange(len(rows))
        for shift, key, colour in ((-width / 2, "S1", "#4477aa"), (width / 2, "ST", "#ee6677")):
            err = rows[f"{key}_conf"].to_numpy() if conf is not None else None
            label = {"S1": "first order S1", "ST": "total ST"}[key]
            ax.bar(x + shift, rows[key].to_numpy(), width, yerr=err, capsize=3, color=colour, label=label)
        ax.set_xticks(x, rows["parameter"].tolist(), rotation=20 if k > 5 else 0, ha="right" if k > 5 else "center")
        ax.axhline(0, color="0.4", linewidth=0.8)
        ax.set_ylim(min(0.0, float(rows[["S1", "ST"]].min().min()) - 0.05), 1.05)
        eta = rows["noise_share_of_means"].iloc[0]
        noise = f" (noise share of means {eta:.3f})" if np.isfinite(eta) else ""
        ax.set_title(f"{outcome}{noise}", fontsize=10)
        ax.set_ylabel("index")
    axes[0].legend(loc="upper right", fontsize=8)
    what = f"{title}; error bars: {conf:.0%} confidence interval" if conf is not None else title
    fig.suptitle(what, fontsize=11)
    return fig


def _morris_plot(table: pd.DataFrame, level: float):
    from matplotlib.figure import Figure

    if table.empty:
        return None
    outcomes = list(dict.fromkeys(table["outcome"]))
    cols = min(3, len(outcomes))
    nrows = math.ceil(len(outcomes) / cols)
    fig = Figure(figsize=(4.6 * cols, 4.0 * nrows), dpi=100, layout="constrained")
    axes = fig.subplots(nrows, cols, squeeze=False).ravel()
    for ax, outcome in zip(axes, outcomes, strict=False):
        rows = table[table["outcome"] == outcome]
        ax.errorbar(
            rows["mu_star"], rows["sigma"], xerr=rows["mu_star_conf"], fmt="o", color="#4477aa", ecolor="0.6", capsize=2
        )
        for _, row in rows.iterrows():
            ax.annotate(
                row["parameter"], (row["mu_star"], row["sigma"]), textcoords="offset points", xytext=(4, 4), fontsize=8
            )
        top = float(max(rows["mu_star"].max(), rows["sigma"].max(), 1e-12)) * 1.15
        ax.plot([0, top], [0, top], linestyle="--", color="0.6", linewidth=0.8, label="sigma = mu*")
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_xlabel("mu* (mean |elementary effect|)")
        ax.set_ylabel("sigma (sd of elementary effects)")
        ax.set_title(outcome, fontsize=10)
        ax.legend(loc="upper left", fontsize=8)
    for ax in axes[len(outcomes) :]:
        ax.set_visible(False)
    fig.suptitle(f"Morris screening; error bars: {level:.0%} confidence interval of mu*", fontsize=11)
    return fig


def _main_effects_plot(table: pd.DataFrame):
    from matplotlib.figure import Figure

    if table.empty:
        return None
    outcomes = list(dict.fromkeys(table["outcome"]))
    params = list(dict.fromkeys(table["parameter"]))
    fig = Figure(figsize=(2.4 + 2.4 * len(params), 0.6 + 2.4 * len(outcomes)), dpi=100, layout="constrained")
    axes = fig.subplots(len(outcomes), len(params), squeeze=False, sharey="row")
    for i, outcome in enumerate(outcomes):
        for j, param in enumerate(params):
            ax = axes[i, j]
            rows = table[(table["outcome"] == outcome) & (table["parameter"] == param)]
            x = np.arange(len(rows))
            ax.plot(x, rows["mean"].to_numpy(), marker="o", color="#4477aa")
            ax.axhline(
                rows["mean"].to_numpy().mean() - rows["effect"].to_numpy().mean(),
                color="0.6",
                linestyle="--",
                linewidth=0.8,
            )
            ax.set_xticks(x, [_label(v) for v in rows["level"]], fontsize=8)
            if i == len(outcomes) - 1:
                ax.set_xlabel(param)
            if j == 0:
                ax.set_ylabel(f"mean {outcome}")
    fig.suptitle("Main effects (dashed: grand mean)", fontsize=11)
    return fig


def _label(value) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.4g}"
    return str(value)
