"""PRIM's boxes for scenario discovery: peel the design space, choose a step, describe its limits.

:func:`run_prim` runs the ``prim`` package (an optional extra) on the design points' parameter values
and cases of interest and turns each box it finds into a :class:`~diffusion_sim.experiment.discovery_results.Box`:
the peeling trajectory, the step :func:`choose_step` picks (or the user's), and the restricted parameters
with their conditions in words and quasi-p-values (Bryant and Lempert 2010).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binom

from diffusion_sim.errors import UserError
from diffusion_sim.experiment.discovery_results import Box, format_limit

__all__ = ["DEFAULT_MIN_DENSITY", "choose_step", "run_prim"]

DEFAULT_MIN_DENSITY = 0.8
"""The density a chosen box should reach: at least 4 in 5 of its design points are cases of interest."""


def choose_step(trajectory: pd.DataFrame, min_density: float = DEFAULT_MIN_DENSITY) -> int:
    """The step of a peeling trajectory to report: the widest box that is dense enough.

    Among the steps whose density is at least ``min_density``, the one with the largest coverage; ties
    go to the higher density, then to fewer restricted parameters, then to the earlier step. (Along a
    trajectory density rises as coverage falls, so this is where the trajectory first reaches
    ``min_density``, moved on while further peels only drop points that are not cases.) If no step is
    dense enough: the densest, ties as before.
    """
    t = trajectory.reset_index(drop=True)
    ok = t[t["density"] >= min_density]
    if ok.empty:
        order = t.assign(_step=t.index).sort_values(
            ["density", "coverage", "restricted", "_step"], ascending=[False, False, True, True], kind="stable"
        )
    else:
        order = ok.assign(_step=ok.index).sort_values(
            ["coverage", "density", "restricted", "_step"], ascending=[False, False, True, True], kind="stable"
        )
    return int(order["_step"].iloc[0])


def _condition(name: str, kind: str, lo: Any, hi: Any, full_lo: Any, full_hi: Any, cats: list[str]) -> str:
    """One restriction in words."""
    if kind == "categorical":
        return f"{name} is {cats[0]}" if len(cats) == 1 else f"{name} in {{{', '.join(cats)}}}"
    if lo == hi:
        return f"{name} = {format_limit(lo, kind)}"
    if lo != full_lo and hi != full_hi:
        return f"{format_limit(lo, kind)} <= {name} <= {format_limit(hi, kind)}"
    return f"{name} >= {format_limit(lo, kind)}" if lo != full_lo else f"{name} <= {format_limit(hi, kind)}"


def _in(x: pd.DataFrame, name: str, kind: str, lim: Any) -> np.ndarray:
    """Which design points lie within one parameter's limits (limits inclusive, as PRIM's)."""
    col = x[name].to_numpy()
    if kind == "categorical":
        return np.isin(col, list(lim[0]))
    return (lim[0] <= col) & (col <= lim[1])


def _limits(
    x: pd.DataFrame, y: np.ndarray, kinds: dict[str, str], box_lims: Any, box_init: Any, remaining: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray]:
    """The restricted parameters of one box with their quasi-p-values, and the mask of its points.

    Quasi-p-values follow Bryant and Lempert (2010), as the ``prim`` package computes them, but from exact
    counts: with H of the box's T points cases of interest, and a share p of cases in the box with one
    restriction dropped, the value is P(Binomial(T, p) >= H). Counts are among ``remaining`` points (those
    outside earlier chosen boxes), as PRIM's.
    """
    rows = []
    masks: dict[str, np.ndarray] = {}
    for name, kind in kinds.items():
        lim, full = box_lims[name], box_init[name]
        if kind == "categorical":
            cats, all_cats = set(lim[0]), set(full[0])
            if cats == all_cats:
                continue
            kept, every = sorted(map(str, cats)), sorted(map(str, all_cats))
            rows.append(
                dict(
                    parameter=name,
                    kind=kind,
                    min=math.nan,
                    max=math.nan,
                    categories=kept,
                    full_min=math.nan,
                    full_max=math.nan,
                    full_categories=every,
                    condition=_condition(name, kind, 0, 0, 0, 0, kept),
                )
            )
        else:
            lo, hi, full_lo, full_hi = (lim[0].item(), lim[1].item(), full[0].item(), full[1].item())
            if lo == full_lo and hi == full_hi:
                continue
            rows.append(
                dict(
                    parameter=name,
                    kind=kind,
                    min=lo,
                    max=hi,
                    categories=None,
                    full_min=full_lo,
                    full_max=full_hi,
                    full_categories=None,
                    condition=_condition(name, kind, lo, hi, full_lo, full_hi, []),
                )
            )
        masks[name] = _in(x, name, kind, lim)
    inside = remaining.copy()
    for m in masks.values():
        inside &= m
    t_box, h_box = int(inside.sum()), int(y[inside].sum())
    for row in rows:
        others = remaining.copy()
        for name, m in masks.items():
            if name != row["parameter"]:
                others &= m
        t_j, h_j = int(others.sum()), int(y[others].sum())
        row["quasi_p"] = float(binom.sf(h_box - 1, t_box, h_j / t_j)) if t_j else math.nan
    columns = [
        "parameter",
        "kind",
        "min",
        "max",
        "categories",
        "full_min",
        "full_max",
        "full_categories",
        "quasi_p",
        "condition",
    ]
    limits = pd.DataFrame(rows, columns=columns)
    if len(limits):
        limits = limits.sort_values("quasi_p", kind="stable").reset_index(drop=True)
    return limits, inside


def run_prim(
    x: pd.DataFrame,
    y: np.ndarray,
    kinds: dict[str, str],
    *,
    min_density: float,
    step: int | None,
    peel_alpha: float,
    paste_alpha: float,
    mass_min: float,
    max_boxes: int,
) -> list[tuple[Box, np.ndarray]]:
    """PRIM's boxes, each with the mask of the design points it holds (among those outside earlier boxes)."""
    try:
        import prim  # imported here: it loads matplotlib.pyplot and mplcursors, which only discovery needs
    except ImportError:
        raise UserError(
            "scenario discovery needs the prim package (GPL-3.0-or-later, so an optional extra): "
            "pip install 'diffusion-sim[discovery]'",
            source="experiment discover",
        ) from None

    data = x.reset_index(drop=True)
    finder = prim.Prim(data, y, peel_alpha=peel_alpha, paste_alpha=paste_alpha, mass_min=mass_min)
    remaining = np.ones(len(y), dtype=bool)
    boxes: list[tuple[Box, np.ndarray]] = []
    for number in range(1, max_boxes + 1):
        if not y[remaining].any():
            break
        found = finder.find_box()
        if found is None:
            break
        trajectory = pd.DataFrame(
            {
                "step": np.arange(len(found.peeling_trajectory)),
                "coverage": found.peeling_trajectory["coverage"].to_numpy(dtype=float),
                "density": found.peeling_trajectory["density"].to_numpy(dtype=float),
                "mass": found.peeling_trajectory["mass"].to_numpy(dtype=float),
                "restricted": found.peeling_trajectory["res dim"].to_numpy(dtype=np.int64),
            }
        )
        if number == 1 and step is not None:
            last = len(trajectory) - 1
            if isinstance(step, bool) or not isinstance(step, int) or not -last - 1 <= step <= last:
                raise UserError(
                    f"expected a step from 0 to {last} of the peeling trajectory (or -1 for the last), got {step!r}",
                    field="step",
                )
            chosen, chosen_by = step % len(trajectory), "user"
        else:
            chosen, chosen_by = choose_step(trajectory, min_density), "rule"
        if number > 1 and trajectory["density"].iloc[chosen] < min_density:
            break
        found.select(chosen)  # the next box is sought outside this one
        limits, inside = _limits(data, y, kinds, found._box_lims[chosen], finder._box_init, remaining)
        boxes.append(
            (Box(number=number, trajectory=trajectory, step=chosen, limits=limits, chosen_by=chosen_by), inside)
        )
        remaining &= ~inside
    return boxes
