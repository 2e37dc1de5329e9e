"""The picture of a community at one step: its network coloured by adoption, a legend, and the adoption curve.

Drawn with matplotlib's Agg renderer on a Figure object (no pyplot, no display). The figure is built once
(positions, ties, legend) and each frame only changes the agents' colours, the title and the curve, so a
frame of a 4,000-household community takes a few tens of milliseconds. Colours, shapes and labels come
from :mod:`diffusion_sim.workshop.style`.
"""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba, to_rgba_array
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from diffusion_sim.community import Community
from diffusion_sim.population import HOUSEHOLD
from diffusion_sim.workshop import style
from diffusion_sim.workshop.layout import tie_pairs

__all__ = ["FRAME_SIZE", "MARKERS", "NetworkPicture"]

FRAME_SIZE = (1280, 720)
"""Width and height of a frame in pixels: 16:9 for slides, both multiples of 16 for video encoders."""
_DPI = 100

MARKERS = {"circle": "o", "square": "s", "diamond": "D", "triangle": "^", "star": "*", "pentagon": "p"}
"""Matplotlib's marker for each shape name of :data:`diffusion_sim.workshop.style.SHAPES`."""

_LEADER_PX = (6.0, 16.0)
"""Smallest and largest drawn diameter of a leader or health worker, in pixels (for the squarest shapes;
within them, as large as their ring in the middle of a village leaves room for)."""


class NetworkPicture:
    """One community's picture, redrawn for each step by :meth:`frame`.

    Args:
        community: the community drawn.
        positions: (N, 2) positions in the unit square (:func:`diffusion_sim.workshop.layout.network_layout`).
        title: first line of the title (the scenario and behaviour).
        steps: the last step of the run (the curve's x axis).
        days_per_step: days in a step (for the title).

    """

    def __init__(self, community: Community, positions: np.ndarray, *, title: str, steps: int, days_per_step: float):
        pop = community.population
        self.population = pop
        self.steps = steps
        self.days = days_per_step
        self.households = pop.role == HOUSEHOLD
        self.marginalised = self.households & pop.marginalised
        self.layers = [name for name, e in community.network.layers.items() if len(e)]
        width, height = FRAME_SIZE
        fig = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI, facecolor="white")
        self.figure = fig
        self.canvas = FigureCanvasAgg(fig)

        # the network: a square axes on the left, below the title
        side = 0.86 * height  # pixels
        net = fig.add_axes((8 / width, 6 / height, side / width, side / height))
        net.set_xlim(-0.01, 1.01)
        net.set_ylim(-0.01, 1.01)
        net.set_aspect("equal")
        net.axis("off")
        pairs = tie_pairs(community)
        tie = style.TIE
        net.add_collection(
            LineCollection(positions[pairs], colors=[to_rgba(tie.colour, tie.opacity)], linewidths=tie.width, zorder=1)
        )
        household_px = _household_diameter(positions[self.households], side)
        leader_px = _leader_diameter(positions[~self.households], side)
        self._fill = to_rgba_array([s.colour for s in style.STATES])
        kinds = style.agent_kinds(pop)
        self._layers = []  # (agent indices, scatter) per kind present, households first so leaders sit on top
        for kind in style.KINDS:
            idx = np.flatnonzero(kinds == kind.code)
            if len(idx) == 0:
                continue
            px = household_px * kind.size if kind.outline is None else leader_px * kind.size / 2.4
            size_pt2 = (px * 72 / _DPI) ** 2
            if kind.outline is None:  # households: a ring only for the marginalised
                edge = np.zeros((len(idx), 4))
                ring = self.marginalised[idx]
                edge[ring] = to_rgba(style.MARGINALISED.colour)
                widths = np.where(ring, style.MARGINALISED.width * min(1.0, household_px / 5), 0.0)
            else:
                edge = np.tile(to_rgba(kind.outline), (len(idx), 1))
                widths = np.full(len(idx), 0.9)
            sc = net.scatter(
                positions[idx, 0], positions[idx, 1], s=size_pt2, marker=MARKERS[kind.shape],
                facecolors=np.tile(self._fill[style.NOT_ADOPTED], (len(idx), 1)), edgecolors=edge,
                linewidths=widths, zorder=2 if kind.outline is None else 3,
            )  # fmt: skip
            self._layers.append((idx, sc))

        left = (side + 24) / width
        lines = textwrap.wrap(title, 52, max_lines=2, placeholder=" ...") or [""]
        fig.text(left, 0.965, "\n".join(lines), fontsize=15, fontweight="bold", va="top")
        self._status = fig.text(
            left, 0.935 - 0.04 * len(lines), "", fontsize=13, va="top", linespacing=1.4, animated=True
        )
        self._legend(fig, left, present={k.code for k in style.KINDS if (kinds == k.code).any()})
        self._curve_axes(fig, left)
        # everything but the agents' colours, the status and the curves is drawn once (blitting)
        self._dynamic = [sc for _, sc in self._layers] + [self._status, self._now]
        self._dynamic += [a for pair in self._curves.values() for a in pair]
        for a in self._dynamic:
            a.set_animated(True)
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(fig.bbox)

    # ---------------------------------------------------------------- built once
    def _legend(self, fig: Figure, left: float, present: set[int]) -> None:
        """Two legends: who (shape) and what they do (colour)."""
        grey = style.STATES[style.NOT_ADOPTED].colour
        who = []
        for kind in style.KINDS:
            if kind.code not in present:
                continue
            big = kind.outline is not None
            who.append(
                Line2D(
                    [], [], ls="", marker=MARKERS[kind.shape], markersize=11 if big else 7, markerfacecolor=grey,
                    markeredgecolor=kind.outline or grey, markeredgewidth=0.9 if big else 0, label=kind.label,
                )
            )  # fmt: skip
        if self.marginalised.any():
            m = style.MARGINALISED
            who.append(
                Line2D(
                    [], [], ls="", marker="o", markersize=7, markerfacecolor=grey, markeredgecolor=m.colour,
                    markeredgewidth=1.6, label=m.label,
                )
            )  # fmt: skip
        what = [
            Line2D([], [], ls="", marker="o", markersize=10, markerfacecolor=s.colour, markeredgewidth=0, label=s.label)
            for s in style.STATES
        ]
        if self.layers:  # the layers there are, by name (survey relations, or the generated layers)
            shown = ", ".join(name.replace("_", " ") for name in self.layers[:3]) + (
                ", ..." if len(self.layers) > 3 else ""
            )
            what.append(Line2D([], [], color=style.TIE.colour, lw=1.2, alpha=0.6, label=f"tie ({shown})"))
        common = {"frameon": False, "fontsize": 11, "title_fontsize": 12, "alignment": "left", "handletextpad": 0.4}
        fig.legend(handles=who, title="who", loc="upper left", bbox_to_anchor=(left - 0.008, 0.73), **common)
        fig.legend(handles=what, title="practice", loc="upper left", bbox_to_anchor=(left + 0.2, 0.73), **common)

    def _curve_axes(self, fig: Figure, left: float) -> None:
        """The adoption curve panel, bottom right: coverage of households and of marginalised households."""
        ax = fig.add_axes((left + 0.04, 0.085, 0.955 - left - 0.04, 0.33))
        ax.set_xlim(0, max(self.steps, 1))
        ax.set_ylim(0, 100)
        ax.set_ylabel("% practising", fontsize=11)
        ax.set_xlabel(f"step ({self.days:g} days each)", fontsize=11)
        ax.tick_params(labelsize=10)
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
        self._curves = {}
        for c in style.CURVES:
            if c.name == "marginalised" and not self.marginalised.any():
                continue
            (line,) = ax.plot([], [], color=c.colour, lw=2.2, ls="--" if c.dashed else "-", label=c.label)
            (dot,) = ax.plot([], [], "o", color=c.colour, markersize=6, clip_on=False)
            self._curves[c.name] = (line, dot)
        self._now = ax.axvline(0, color="#555555", lw=0.8, alpha=0.6)
        ax.legend(loc="upper left", fontsize=10, frameon=False)
        self._history: dict[str, list[tuple[int, float]]] = {name: [] for name in self._curves}

    # ---------------------------------------------------------------- per frame
    def coverage(self, adopted: np.ndarray) -> dict[str, float]:
        """Share of all households and of marginalised households who practise (NaN for an empty group)."""

        def share(mask: np.ndarray) -> float:
            return float(adopted[mask].mean()) if mask.any() else float("nan")

        return {"households": share(self.households), "marginalised": share(self.marginalised)}

    def frame(self, step: int, adopted: np.ndarray, adopted_now: np.ndarray, ever_gave_up: np.ndarray) -> np.ndarray:
        """Draw the community at ``step`` from one replicate's boolean arrays; returns the RGB frame (H, W, 3) uint8.

        Frames are drawn in step order: the curve keeps every step drawn so far.
        """
        state = style.adoption_states(adopted, adopted_now, ever_gave_up)
        for idx, sc in self._layers:
            sc.set_facecolors(self._fill[state[idx]])
        cov = self.coverage(adopted)
        for name, (line, dot) in self._curves.items():
            h = self._history[name]
            h.append((step, 100 * cov[name]))
            line.set_data([s for s, _ in h], [v for _, v in h])
            dot.set_data([step], [100 * cov[name]])
        self._now.set_xdata([step, step])
        text = f"step {step} of {self.steps}, day {step * self.days:,.0f}"
        text += f"\n{_pct(cov['households'])} of households practising"
        if self.marginalised.any():
            text += f"\n{_pct(cov['marginalised'])} of marginalised households"
        self._status.set_text(text)
        self.canvas.restore_region(self._background)
        for a in self._dynamic:
            self.figure.draw_artist(a)
        return np.asarray(self.canvas.buffer_rgba())[:, :, :3].copy()


def _pct(v: float) -> str:
    return "n/a" if v != v else f"{100 * v:.0f}%"


def _leader_diameter(xy: np.ndarray, side_px: float) -> float:
    """Marker diameter of a leader or health worker in pixels: about the spacing on their ring, within bounds."""
    if len(xy) < 2:
        return _LEADER_PX[1]
    from scipy.spatial import cKDTree

    nearest = cKDTree(xy).query(xy, k=2)[0][:, 1]
    return float(np.clip(1.1 * np.median(nearest) * side_px, *_LEADER_PX))


def _household_diameter(xy: np.ndarray, side_px: float) -> float:
    """Marker diameter of a household in pixels: about the median distance to the nearest other household."""
    if len(xy) < 2:
        return 6.0
    from scipy.spatial import cKDTree

    nearest = cKDTree(xy).query(xy, k=2)[0][:, 1]
    return float(np.clip(1.1 * np.median(nearest) * side_px, 1.5, 9.0))
