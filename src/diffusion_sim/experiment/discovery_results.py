"""The answer of scenario discovery: :class:`Discovery` (the cases of interest) and its PRIM boxes (:class:`Box`).

Plain frozen dataclasses made by :func:`diffusion_sim.experiment.discover.discover`, with the numbers of
each chosen box, its conditions in words and the plain-text summary the command line prints; and
:func:`format_limit`, how a parameter limit is written for people (in conditions, tables and figures).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["Box", "Discovery", "format_limit"]


@dataclass(frozen=True)
class Box:
    """One PRIM box: its peeling trajectory, the chosen step and that step's limits.

    Attributes:
        number: 1 for the first box; later boxes (``max_boxes`` > 1) are found among the design points
            outside the earlier chosen boxes.
        trajectory: one row per step: ``step``, ``coverage``, ``density``, ``mass``, ``restricted``
            (number of restricted parameters); coverage and mass are shares of all design points analysed.
        step: the chosen step on the trajectory.
        limits: one row per restricted parameter of the chosen step: ``parameter``, ``kind``, ``min``,
            ``max`` (numbers; NaN for a categorical parameter), ``categories`` (kept categories, or None),
            ``full_min``, ``full_max``, ``full_categories`` (the range over all design points),
            ``quasi_p`` and ``condition`` (the restriction in words), most significant first.
        chosen_by: ``"rule"`` (:func:`~diffusion_sim.experiment.discover.choose_step`) or ``"user"``.

    """

    number: int
    trajectory: pd.DataFrame
    step: int
    limits: pd.DataFrame
    chosen_by: str = "rule"

    @property
    def coverage(self) -> float:
        """Coverage of the chosen step."""
        return float(self.trajectory["coverage"].iloc[self.step])

    @property
    def density(self) -> float:
        """Density of the chosen step."""
        return float(self.trajectory["density"].iloc[self.step])

    @property
    def mass(self) -> float:
        """Mass of the chosen step."""
        return float(self.trajectory["mass"].iloc[self.step])

    @property
    def restricted(self) -> list[str]:
        """Names of the parameters the chosen step restricts."""
        return list(self.limits["parameter"])

    def conditions(self) -> str:
        """The chosen box in words: ``"a <= 0.302 and b >= 0.612"`` (``"no restriction"`` if none)."""
        return " and ".join(self.limits["condition"]) if len(self.limits) else "no restriction"


@dataclass(frozen=True)
class Discovery:
    """The answer of scenario discovery: the cases of interest and the boxes PRIM found for them.

    Attributes:
        store: the result store's folder.
        outcome: the outcome column.
        direction: ``"below"`` or ``"above"``.
        threshold: the threshold (a case is strictly below, or strictly above, it).
        by: ``"mean"`` or ``"any_replicate"``.
        replicates: replicates per design point (the most found for any point).
        n_design: design points in the store.
        cases: one row per design point analysed: ``point``, ``value`` (the replicate mean, or for
            ``any_replicate`` the lowest (below) or highest (above) replicate), ``missing`` (a
            replicate's outcome was NaN), ``case`` and ``box`` (the first chosen box holding the point, 0
            for none).
        boxes: the boxes found (at least one).
        min_density: the density the box choice aimed for.
        settings: the PRIM options used.

    """

    store: Path
    outcome: str
    direction: str
    threshold: float
    by: str
    replicates: int
    n_design: int
    cases: pd.DataFrame
    boxes: list[Box]
    min_density: float
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def n_points(self) -> int:
        """Design points analysed."""
        return len(self.cases)

    @property
    def n_cases(self) -> int:
        """Design points that are cases of interest."""
        return int(self.cases["case"].sum())

    @property
    def question(self) -> str:
        """The question in symbols: ``"final_coverage < 0.8"``."""
        return f"{self.outcome} {'<' if self.direction == 'below' else '>'} {self.threshold:g}"

    def summary(self) -> str:
        """Plain-text summary, as the command line prints it."""
        share = self.n_cases / self.n_points
        how = (
            f"mean of {self.replicates} replicates"
            if self.by == "mean"
            else f"in at least one of {self.replicates} replicates"
        )
        if self.replicates == 1:
            how = "one replicate"
        lines = [f"{self.question} ({how}) in {self.n_cases:,} of {self.n_points:,} design points ({share:.1%})."]
        if self.n_points < self.n_design:
            lines.append(
                f"({self.n_design - self.n_points:,} of {self.n_design:,} design points left out: "
                "no results yet, or a missing outcome dropped.)"
            )
        for box in self.boxes:
            name = "Box" if len(self.boxes) == 1 else f"Box {box.number}"
            chosen = "chosen by you" if box.chosen_by == "user" else "chosen"
            lines.append(
                f"{name} (step {box.step} of {len(box.trajectory) - 1} on the peeling trajectory, {chosen}): "
                f"coverage {box.coverage:.2f}, density {box.density:.2f}, mass {box.mass:.2f}: {box.conditions()}"
            )
            if box.chosen_by == "rule" and box.density < self.min_density:
                lines.append(f"  No step reaches density {self.min_density:g}; this is the densest.")
            if len(box.limits):
                qp = ", ".join(f"{r.parameter} {r.quasi_p:.2g}" for r in box.limits.itertuples())
                lines.append(f"  quasi-p-values (large: the restriction adds little): {qp}")
        return "\n".join(lines)


def format_limit(value: float, kind: str) -> str:
    """A limit for people: integers as integers, reals to 3 significant digits."""
    return str(int(value)) if kind == "integer" else f"{value:.3g}"
