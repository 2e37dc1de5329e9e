"""Figures of an inspection: degree distributions, the adoption curve, exposure at adoption (Figure objects)."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator, PercentFormatter

from diffusion_sim.diagnostics.inspection import AS_GIVEN, Inspection
from diffusion_sim.diagnostics.tables import ALL_LAYERS
from diffusion_sim.report.figures import scenario_style

__all__ = ["EXPOSURE_BINS", "MAX_VILLAGE_CURVES", "adoption_curve_figure", "degree_figure", "exposure_figure"]

MAX_VILLAGE_CURVES = 10
"""The adoption curve draws one line per village up to this many villages (only the whole community above)."""

EXPOSURE_BINS = np.linspace(0.0, 1.0, 11)
"""Bins of the exposure histogram: tenths, the last one closed (it holds exposure 1)."""


_DEGREE_TICKS = [0, *(m * 10**e for e in range(7) for m in (1, 2, 5))]


def _label(s: object, width: int = 32) -> str:
    """A user string for matplotlib: one line, shortened, no mathtext (``$`` escaped)."""
    s = " ".join(str(s).split())
    return (s if len(s) <= width else s[: width - 1] + "…").replace("$", r"\$")


def degree_figure(ins: Inspection) -> Figure:
    """Agents per degree in each layer and in all layers together: out- and in-degree for directed ties.

    Points, not lines (most degrees between the few hubs occur nowhere). Both axes are logarithmic, the
    degree axis linear between 0 and 1 so that isolated agents show, which keeps both the many agents
    of small degree and the few hubs (leaders, health workers, popular alters) in view.
    """
    d = ins.degrees[ins.degrees["scope"] == "all"]
    layers = list(dict.fromkeys(ins.layers.loc[ins.layers["scope"] == "all", "layer"]))
    cols = min(4, len(layers))
    rows = math.ceil(len(layers) / cols)
    fig = Figure(figsize=(3.2 * cols + 0.6, 2.9 * rows + 0.5), dpi=100, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    kinds = dict(zip(ins.layers["layer"], ins.layers["kind"], strict=False))
    for k, layer in enumerate(layers):
        ax = axes[k // cols][k % cols]
        both = kinds[layer] == "undirected"
        series = [("out", "degree", "tab:blue", "o")]
        if not both:
            series = [("out", "out (named)", "tab:blue", "o"), ("in", "in (named by)", "tab:orange", "x")]
        for direction, label, colour, marker in series:
            s = d[(d["layer"] == layer) & (d["direction"] == direction)]
            ax.plot(s["degree"], s["agents"], ls="none", marker=marker, ms=4, color=colour, label=label)
        ax.set_xscale("symlog", linthresh=1, linscale=0.4)
        ax.set_yscale("log")
        top = int(d.loc[d["layer"] == layer, "degree"].max()) if (d["layer"] == layer).any() else 1
        right = max(top, 2) * 1.25
        ax.set_xticks([t for t in _DEGREE_TICKS if t <= right])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(lambda x, _: f"{x:,.0f}")
        ax.set_xlim(-0.15, right)
        ax.set_title(_label(layer) + ("" if layer == ALL_LAYERS else f" ({kinds[layer]})"), fontsize=10)
        ax.grid(alpha=0.3, which="major")
        if k % cols == 0:
            ax.set_ylabel("agents")
        if k // cols == rows - 1:
            ax.set_xlabel("degree (log scale above 1)")
        if not both:
            ax.legend(frameon=False, fontsize=8)
    for k in range(len(layers), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    fig.suptitle("Degree distributions (every agent)", fontsize=11)
    return fig


def adoption_curve_figure(ins: Inspection) -> Figure:
    """Cumulative share of agents who had adopted by each time: the whole community, and each village."""
    curve = ins.curve
    fig = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    village_scopes = [s for s in dict.fromkeys(curve["scope"]) if s != "all"]
    times = ins.exposure[AS_GIVEN].adoption_time
    start = float(np.nanmin(times)) if np.isfinite(times).any() else 0.0
    end = float(np.nanmax(times)) if np.isfinite(times).any() else 0.0
    drawn = village_scopes if len(village_scopes) <= MAX_VILLAGE_CURVES else []
    for k, scope in enumerate(["all", *drawn]):
        c = curve[curve["scope"] == scope]
        share = c["share"].to_numpy()
        x = np.concatenate([[start], c["time"].to_numpy(), [end]])  # every curve from the first to the last time
        y = np.concatenate([[0.0], share, share[-1:] if len(share) else [0.0]]) * 100
        if scope == "all":
            ax.step(x, y, where="post", color="black", lw=2.2, label="all agents")
        else:
            colour, style = scenario_style(k - 1)
            ax.step(x, y, where="post", color=colour, ls=style, lw=1.2, label=_label(scope.removeprefix("village=")))
    ax.set_xlabel(ins.time_unit)
    ax.set_ylabel("% of agents who had adopted")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", frameon=False, fontsize=9, ncol=1 + len(drawn) // 6)
    never = int((~ins.exposure[AS_GIVEN].adopters).sum())
    ax.set_title(f"Cumulative adoption ({never:,} of {len(times):,} agents never adopted, or not known)", fontsize=11)
    return fig


def exposure_figure(ins: Inspection) -> Figure:
    """Histogram of exposure at adoption (share of included adopters per tenth), as given and symmetrised."""
    fig = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    variants = list(ins.exposure.items())
    width = 0.1 / (len(variants) + 0.5)
    colours = ["tab:blue", "tab:gray"]
    for k, (variant, e) in enumerate(variants):
        values = e.exposure[e.included]
        counts, _ = np.histogram(values, EXPOSURE_BINS)
        share = counts / max(len(values), 1)
        x = EXPOSURE_BINS[:-1] + width * (k + 0.75)
        label = f"{variant}: mean {e.mean:.3f} over {len(values):,} adopters"
        ax.bar(x, share, width=width, color=colours[k % 2], label=label, align="center")
        if len(values):
            ax.axvline(e.mean, color=colours[k % 2], ls="--", lw=1.2)
    ax.set_xticks(EXPOSURE_BINS)
    ax.set_xlim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("exposure at adoption: share of ego's alters who had adopted before ego (tenths; dashed: mean)")
    ax.set_ylabel("% of adopters")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(loc="upper right", frameon=False, fontsize=9)
    ax.set_title("Exposure at the time of adoption (Valente's network threshold)", fontsize=11)
    return fig
