"""The figures of scenario discovery: each box's peeling trajectory and the chosen box's limits.

Both take a :class:`~diffusion_sim.experiment.discovery_results.Discovery` and return a
:class:`matplotlib.figure.Figure` made without pyplot; :func:`diffusion_sim.experiment.discover.write_discovery`
saves them as ``trajectory.png`` and ``box.png``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from diffusion_sim.experiment.discovery_results import Discovery, format_limit

__all__ = ["box_figure", "trajectory_figure"]


def _text(s: str) -> str:
    """A string made safe for matplotlib text (no mathtext)."""
    return str(s).replace("$", r"\$")


def trajectory_figure(d: Discovery) -> Figure:
    """Coverage against density along each box's peeling trajectory, coloured by restricted parameters."""
    from matplotlib.colors import BoundaryNorm
    from matplotlib.lines import Line2D

    k = len(d.boxes)
    fig = Figure(figsize=(5.6 * k + 1.0, 5.0), dpi=100, layout="constrained")
    axes = fig.subplots(1, k, squeeze=False)[0]
    top = max(int(b.trajectory["restricted"].max()) for b in d.boxes)
    norm = BoundaryNorm(np.arange(-0.5, top + 1.5), 256)
    points = None
    for ax, box in zip(axes, d.boxes, strict=True):
        t = box.trajectory
        ax.plot(t["coverage"], t["density"], color="0.75", lw=1, zorder=1)
        points = ax.scatter(t["coverage"], t["density"], c=t["restricted"], cmap="viridis", norm=norm, s=28, zorder=2)
        ax.scatter([box.coverage], [box.density], s=160, facecolors="none", edgecolors="red", lw=2, zorder=3)
        ax.annotate(
            f"step {box.step}", (box.coverage, box.density), xytext=(8, -14), textcoords="offset points", color="red"
        )
        ax.axhline(d.min_density, color="red", ls=":", lw=1)
        ax.set_xlim(0, 1.05)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("coverage (share of all cases of interest in the box)")
        ax.set_ylabel("density (share of the box's points that are cases)")
        ax.grid(alpha=0.3)
        ax.set_title(_text(f"{'Box ' + str(box.number) + ': ' if k > 1 else ''}{d.question}"))
    handles = [
        Line2D([], [], marker="o", ls="", markerfacecolor="none", markeredgecolor="red", ms=10, mew=2),
        Line2D([], [], color="red", ls=":"),
    ]
    axes[0].legend(handles, ["chosen box", f"density {d.min_density:g}"], loc="lower left", frameon=False)
    cbar = fig.colorbar(points, ax=list(axes), ticks=np.arange(0, top + 1))
    cbar.set_label("restricted parameters")
    return fig


def box_figure(d: Discovery) -> Figure:
    """Each restricted parameter's range in the chosen box against its full range (one panel per box)."""
    heights = [max(1, len(b.limits)) for b in d.boxes]
    fig = Figure(figsize=(8.5, 1.2 + 0.6 * sum(heights) + 0.5 * len(d.boxes)), dpi=100, layout="constrained")
    axes = fig.subplots(len(d.boxes), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, box in zip(axes, d.boxes, strict=True):
        ax.set_title(
            _text(
                f"Box {box.number if len(d.boxes) > 1 else ''}: coverage {box.coverage:.2f}, "
                f"density {box.density:.2f}, mass {box.mass:.2f}"
            ).replace("Box :", "Box:")
        )
        ax.set_xlim(-0.02, 1.02)
        ax.set_xticks([0, 1], ["lowest value run", "highest value run"])
        if box.limits.empty:
            ax.set_yticks([])
            ax.text(0.5, 0.5, "no parameter restricted", ha="center", va="center", transform=ax.transAxes)
            continue
        names = list(box.limits["parameter"])
        ax.set_ylim(len(names) - 0.5, -0.5)
        ax.set_yticks(range(len(names)), [_text(n) for n in names])
        for i, row in enumerate(box.limits.itertuples()):
            ax.barh(i, 1.0, left=0.0, height=0.6, color="0.88", edgecolor="0.6")
            if row.kind == "categorical":
                every = list(row.full_categories)
                width = 1.0 / len(every)
                for j, cat in enumerate(every):
                    kept = cat in row.categories
                    ax.barh(
                        i,
                        width,
                        left=j * width,
                        height=0.6,
                        color="tab:red" if kept else "0.88",
                        edgecolor="0.6",
                        alpha=0.75 if kept else 1.0,
                    )
                    ax.text(
                        (j + 0.5) * width,
                        i,
                        _text(cat),
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="black" if kept else "0.5",
                    )
                continue
            span = row.full_max - row.full_min
            lo = (row.min - row.full_min) / span if span else 0.0
            hi = (row.max - row.full_min) / span if span else 1.0
            ax.barh(i, hi - lo, left=lo, height=0.6, color="tab:red", alpha=0.75)
            ends = ((lo, "right", row.min, row.full_min), (hi, "left", row.max, row.full_max))
            for end, at, value, full in ends:
                if value != full:  # label the restricted ends only, just outside the box
                    pad = -0.01 if at == "right" else 0.01
                    ax.text(end + pad, i, format_limit(value, row.kind), ha=at, va="center", fontsize=9, weight="bold")
            ax.text(
                0.0, i - 0.34, format_limit(row.full_min, row.kind), ha="left", va="bottom", fontsize=7, color="0.4"
            )
            ax.text(
                1.0, i - 0.34, format_limit(row.full_max, row.kind), ha="right", va="bottom", fontsize=7, color="0.4"
            )
    return fig
