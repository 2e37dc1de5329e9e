"""Scenario discovery: under which conditions does an outcome fall short? PRIM over an experiment's result store.

The question is put as an outcome and a threshold ("``final_coverage`` below 0.8"). A design point is a
*case of interest* when its outcome is below (or above) the threshold: by default its replicate mean
(``by="mean"``), or in at least one replicate (``by="any_replicate"``, the risk view). PRIM (the Patient
Rule Induction Method, Friedman and Fisher 1999, as used for scenario discovery by Bryant and Lempert
2010) then peels the design space, a few per cent of the points at a time, towards a box of parameter
limits where cases are dense, and pastes back what it peeled too eagerly. Each step on this *peeling
trajectory* is a candidate box with a

* **coverage**: the share of all cases of interest that lie in the box;
* **density**: the share of the box's points that are cases of interest;
* **mass**: the share of all design points in the box;
* number of **restricted** parameters.

One box is chosen from the trajectory (:func:`choose_step`): the one with the largest coverage among
those whose density reaches ``min_density`` (ties: the higher density, then fewer restricted parameters,
then the earlier step), or the step the user names. Each restricted parameter gets a quasi-p-value
(Bryant and Lempert 2010): the one-sided binomial probability of the box's cases if that restriction
were dropped; a large value says the restriction adds little.

The inputs are the parameter values as run (``design.parquet``): real parameters as floats, integer
parameters as integers (peeled at whole values), categorical parameters as categories (PRIM drops one
category at a time). The store is the one described in ``docs/experiments-discovery.md`` and DESIGN.md.
PRIM is the ``prim`` package (David Hadka's standalone PRIM, derived from the EMA Workbench's); it has
no randomness, so the same store and options always give the same boxes.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.stats import binom

from diffusion_sim.atomic import atomic_folder
from diffusion_sim.errors import UserError
from diffusion_sim.experiment.store import StoreData, load_store

__all__ = [
    "BY",
    "DEFAULT_MIN_DENSITY",
    "DISCOVERY_FILES",
    "MISSING",
    "Box",
    "Discovery",
    "box_figure",
    "choose_step",
    "discover",
    "discovery_folder_name",
    "trajectory_figure",
    "write_discovery",
]

BY = ("mean", "any_replicate")
"""How a design point's replicates decide whether it is a case of interest."""

MISSING = ("error", "case", "not_case", "drop")
"""What a design point with a missing (NaN) outcome in any replicate counts as."""

DEFAULT_MIN_DENSITY = 0.8
"""The density a chosen box should reach: at least 4 in 5 of its design points are cases of interest."""

DISCOVERY_FILES = ("summary.txt", "trajectory.csv", "box.csv", "cases.csv", "trajectory.png", "box.png")
"""Files :func:`write_discovery` writes into its folder."""

_CATEGORY_SEPARATOR = "; "


# ------------------------------------------------------------------------------------ results


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
        chosen_by: ``"rule"`` (:func:`choose_step`) or ``"user"``.

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
    """The answer of :func:`discover`: the cases of interest and the boxes PRIM found for them.

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


# ------------------------------------------------------------------------------- the store


def _read_outcome(data: StoreData, outcome: str) -> pd.DataFrame:
    """Columns ``point``, ``replicate`` and the outcome of every run in the store (read by :func:`load_store`)."""
    if outcome not in data.outcomes:
        listed = ", ".join(data.outcomes) if data.outcomes else "none"
        raise UserError(
            f"unknown outcome {outcome!r}; this experiment kept: {listed}", source=str(data.path), field="outcome"
        )
    if not data.present.any():
        raise UserError("the experiment has no results yet (results/ holds no shard)", source=str(data.path))
    return data.frame([outcome])


def _inputs(store: Path, manifest: dict[str, Any], design: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The design's parameter values as run, typed for PRIM; index ``point``; and each parameter's kind.

    Real parameters become float64 (peeled at quantiles), integer parameters int64 (peeled at whole
    values), categorical parameters object columns of their categories (PRIM keeps or drops whole
    categories). A boolean column is categorical too.
    """
    kinds: dict[str, str] = {}
    columns: dict[str, Any] = {}
    if "point" not in design.columns:
        raise UserError("design.parquet has no 'point' column", source=str(store))
    for p in manifest["parameters"]:
        name = str(p.get("name", "")) if isinstance(p, dict) else ""
        if name not in design.columns:
            raise UserError(f"design.parquet has no column for parameter {name!r}", source=str(store))
        col = design[name]
        kind = str(p.get("kind", "real"))
        if kind == "categorical" or pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            kinds[name] = "categorical"
            columns[name] = np.asarray(col.astype(object), dtype=object)
        elif kind == "integer":
            kinds[name] = "integer"
            columns[name] = col.to_numpy(dtype=np.int64)
        else:
            kinds[name] = "real"
            columns[name] = col.to_numpy(dtype=np.float64)
    if not kinds:
        raise UserError("the experiment varies no parameter; there is nothing to discover", source=str(store))
    x = pd.DataFrame(columns, index=pd.Index(design["point"].to_numpy(dtype=np.int64), name="point"))
    return x.sort_index(), kinds


def _cases(
    results: pd.DataFrame, outcome: str, direction: str, threshold: float, by: str, missing: str, store: Path
) -> tuple[pd.DataFrame, int]:
    """Per design point: the outcome's value, whether a replicate was missing, and whether it is a case."""
    values = results.groupby("point")[outcome]
    below = direction == "below"
    if by == "mean":
        value = values.mean()
    else:
        value = values.min() if below else values.max()
    nan = results[outcome].isna().groupby(results["point"]).any()
    frame = pd.DataFrame({"value": value, "missing": nan})
    frame["case"] = (frame["value"] < threshold) if below else (frame["value"] > threshold)
    n_missing = int(frame["missing"].sum())
    if n_missing:
        if missing == "error":
            raise UserError(
                f"{outcome} is missing (NaN) in {n_missing:,} of {len(frame):,} design points (for a time-to "
                "outcome: the target was never reached); say what they count as: missing='case', 'not_case' "
                "or 'drop'",
                source=str(store),
                field="outcome",
            )
        if missing == "drop":
            frame = frame[~frame["missing"]]
        else:
            frame.loc[frame["missing"], "case"] = missing == "case"
            frame.loc[frame["missing"], "value"] = np.nan
    replicates = int(results.groupby("point")["replicate"].nunique().max())
    return frame, replicates


# -------------------------------------------------------------------------------- the boxes


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


def _fmt(value: float, kind: str) -> str:
    """A limit for people: integers as integers, reals to 3 significant digits."""
    return str(int(value)) if kind == "integer" else f"{value:.3g}"


def _condition(name: str, kind: str, lo: Any, hi: Any, full_lo: Any, full_hi: Any, cats: list[str]) -> str:
    """One restriction in words."""
    if kind == "categorical":
        return f"{name} is {cats[0]}" if len(cats) == 1 else f"{name} in {{{', '.join(cats)}}}"
    if lo == hi:
        return f"{name} = {_fmt(lo, kind)}"
    if lo != full_lo and hi != full_hi:
        return f"{_fmt(lo, kind)} <= {name} <= {_fmt(hi, kind)}"
    return f"{name} >= {_fmt(lo, kind)}" if lo != full_lo else f"{name} <= {_fmt(hi, kind)}"


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


def _check_options(
    below: float | None,
    above: float | None,
    by: str,
    missing: str,
    peel_alpha: float,
    paste_alpha: float,
    mass_min: float,
    min_density: float,
    max_boxes: int,
) -> tuple[str, float]:
    """Validate the options; return the direction and the threshold."""
    if (below is None) == (above is None):
        raise UserError(
            "give exactly one of below= or above= (the threshold the outcome falls short of)", field="below/above"
        )
    direction, threshold = ("below", below) if below is not None else ("above", above)
    try:
        threshold = float(threshold)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UserError(f"expected a number, got {threshold!r}", field=direction) from None
    if not math.isfinite(threshold):
        raise UserError(f"expected a finite number, got {threshold!r}", field=direction)
    if by not in BY:
        raise UserError(f"expected one of {', '.join(BY)}, got {by!r}", field="by")
    if missing not in MISSING:
        raise UserError(f"expected one of {', '.join(MISSING)}, got {missing!r}", field="missing")
    for name, value, low, high in [
        ("peel_alpha", peel_alpha, 0.0, 0.5),
        ("paste_alpha", paste_alpha, 0.0, 0.5),
        ("mass_min", mass_min, 0.0, 1.0),
    ]:
        if not (isinstance(value, int | float) and low < value < high):
            raise UserError(f"expected a number between {low:g} and {high:g} (exclusive), got {value!r}", field=name)
    if not (isinstance(min_density, int | float) and 0.0 < min_density <= 1.0):
        raise UserError(f"expected a number in (0, 1], got {min_density!r}", field="min_density")
    if isinstance(max_boxes, bool) or not isinstance(max_boxes, int) or max_boxes < 1:
        raise UserError(f"expected a whole number of at least 1, got {max_boxes!r}", field="max_boxes")
    return direction, threshold


def discover(
    store_dir: str | os.PathLike[str],
    outcome: str,
    *,
    below: float | None = None,
    above: float | None = None,
    by: Literal["mean", "any_replicate"] = "mean",
    missing: Literal["error", "case", "not_case", "drop"] = "error",
    min_density: float = DEFAULT_MIN_DENSITY,
    step: int | None = None,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    mass_min: float = 0.05,
    max_boxes: int = 1,
) -> Discovery:
    """Find the conditions under which ``outcome`` falls below (or rises above) a threshold.

    Args:
        store_dir: an experiment's result store (``manifest.json``, ``design.parquet``, ``results/``).
        outcome: an outcome the experiment kept (``manifest.json``'s ``"outcomes"``).
        below: a design point is a case of interest when its outcome is strictly below this.
        above: ... or strictly above this (give exactly one of ``below`` and ``above``).
        by: ``"mean"`` (default): the replicate mean decides, the expected outcome under those
            conditions; ``"any_replicate"``: a point is a case if any one replicate falls short, the
            risk view (with many replicates of a noisy outcome, most points may then be cases).
        missing: a design point with a NaN outcome in any replicate (a target never reached) is an
            error (default), a ``"case"``, ``"not_case"``, or dropped (``"drop"``).
        min_density: the density the chosen box should reach (see :func:`choose_step`).
        step: report this step of the first box's peeling trajectory instead of the rule's choice (counted
            from 0, the whole design; -1 is the last, smallest and densest box, PRIM's own default).
        peel_alpha: share of the box's points each peel removes (PRIM's alpha).
        paste_alpha: share of points each paste adds back.
        mass_min: smallest box, as a share of all design points.
        max_boxes: find up to this many boxes, each among the points outside the earlier chosen boxes;
            a box after the first is kept only if its chosen step reaches ``min_density``.

    Returns:
        The cases of interest and the boxes (:class:`Discovery`).

    Raises:
        UserError: an unreadable store, an unknown outcome, bad options, missing values with
            ``missing="error"``, or no (or only) cases of interest.

    """
    direction, threshold = _check_options(
        below, above, by, missing, peel_alpha, paste_alpha, mass_min, min_density, max_boxes
    )
    store = Path(store_dir)
    data = load_store(store)
    manifest, design = data.manifest, data.design
    results = _read_outcome(data, outcome)
    x_all, kinds = _inputs(store, manifest, design)
    unknown = sorted(set(results["point"].unique()) - set(x_all.index))
    if unknown:
        raise UserError(
            f"results/ holds design points that design.parquet lacks (e.g. {unknown[0]})", source=str(store)
        )
    cases, replicates = _cases(results, outcome, direction, threshold, by, missing, store)
    question = f"{outcome} {'<' if direction == 'below' else '>'} {threshold:g}"
    n_cases, n = int(cases["case"].sum()), len(cases)
    if n == 0:
        raise UserError(f"no design point is left to analyse for {question}", source=str(store))
    if n_cases == 0 or n_cases == n:
        which = "none" if n_cases == 0 else "all"
        view = "replicate mean" if by == "mean" else "in any replicate"
        raise UserError(
            f"{question} holds in {which} of the {n:,} design points ({view}), so there is nothing to tell apart; "
            f"choose another threshold (the {outcome} values run from {cases['value'].min():.3g} to "
            f"{cases['value'].max():.3g})",
            source=str(store),
        )
    x = x_all.loc[cases.index]
    y = cases["case"].to_numpy(dtype=bool)
    boxes = _run_prim(
        x,
        y,
        kinds,
        min_density=min_density,
        step=step,
        peel_alpha=peel_alpha,
        paste_alpha=paste_alpha,
        mass_min=mass_min,
        max_boxes=max_boxes,
    )
    frame = cases.reset_index()
    frame["box"] = 0
    for box, inside in boxes:
        frame.loc[inside & (frame["box"].to_numpy() == 0), "box"] = box.number
    return Discovery(
        store=store,
        outcome=outcome,
        direction=direction,
        threshold=threshold,
        by=by,
        replicates=replicates,
        n_design=len(x_all),
        cases=frame[["point", "value", "missing", "case", "box"]],
        boxes=[b for b, _ in boxes],
        min_density=float(min_density),
        settings=dict(
            peel_alpha=peel_alpha,
            paste_alpha=paste_alpha,
            mass_min=mass_min,
            max_boxes=max_boxes,
            missing=missing,
            step=step,
        ),
    )


def _run_prim(
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


# -------------------------------------------------------------------------------- writing


def discovery_folder_name(
    outcome: str, *, below: float | None = None, above: float | None = None, by: str = "mean"
) -> str:
    """The folder name of a question: ``final_coverage-below-0.8`` (``-any_replicate`` added for that view)."""
    direction, threshold = ("below", below) if below is not None else ("above", above)
    name = f"{outcome}-{direction}-{float(threshold):g}"  # type: ignore[arg-type]
    return name if by == "mean" else f"{name}-{by}"


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
                    ax.text(end + pad, i, _fmt(value, row.kind), ha=at, va="center", fontsize=9, weight="bold")
            ax.text(0.0, i - 0.34, _fmt(row.full_min, row.kind), ha="left", va="bottom", fontsize=7, color="0.4")
            ax.text(1.0, i - 0.34, _fmt(row.full_max, row.kind), ha="right", va="bottom", fontsize=7, color="0.4")
    return fig


def _box_table(d: Discovery) -> pd.DataFrame:
    """``box.csv``: one row per restricted parameter of each chosen box."""
    frames = []
    for box in d.boxes:
        t = box.limits.copy()
        for col in ("categories", "full_categories"):
            t[col] = [_CATEGORY_SEPARATOR.join(c) if isinstance(c, list) else "" for c in t[col]]
        t.insert(0, "box", box.number)
        t.insert(1, "step", box.step)
        frames.append(t)
    return pd.concat(frames, ignore_index=True)


def _trajectory_table(d: Discovery) -> pd.DataFrame:
    """``trajectory.csv``: every step of every box, the chosen ones marked."""
    frames = []
    for box in d.boxes:
        t = box.trajectory.copy()
        t.insert(0, "box", box.number)
        t["chosen"] = t["step"] == box.step
        frames.append(t)
    return pd.concat(frames, ignore_index=True)


def write_discovery(
    store_dir: str | os.PathLike[str],
    outcome: str,
    *,
    below: float | None = None,
    above: float | None = None,
    by: Literal["mean", "any_replicate"] = "mean",
    missing: Literal["error", "case", "not_case", "drop"] = "error",
    min_density: float = DEFAULT_MIN_DENSITY,
    step: int | None = None,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    mass_min: float = 0.05,
    max_boxes: int = 1,
    out_dir: str | os.PathLike[str] | None = None,
) -> str:
    """Run :func:`discover` and write its files; return the plain-text summary (what the CLI prints).

    The files (:data:`DISCOVERY_FILES`) go into ``out_dir``, by default
    ``<store_dir>/discovery/<outcome>-below-<threshold>`` (:func:`discovery_folder_name`), written
    atomically: all of them or none. ``summary.txt`` is the summary; ``trajectory.csv`` every step of the
    peeling trajectory; ``box.csv`` the chosen box's restricted parameters (min/max, or the kept
    categories separated by ``"; "``) with quasi-p-values; ``cases.csv`` every design point analysed, its
    value, whether it is a case and which box holds it; ``trajectory.png`` and ``box.png`` the figures.
    Options as for :func:`discover`.
    """
    d = discover(
        store_dir,
        outcome,
        below=below,
        above=above,
        by=by,
        missing=missing,
        min_density=min_density,
        step=step,
        peel_alpha=peel_alpha,
        paste_alpha=paste_alpha,
        mass_min=mass_min,
        max_boxes=max_boxes,
    )
    if out_dir is None:
        out_dir = Path(store_dir) / "discovery" / discovery_folder_name(outcome, below=below, above=above, by=by)
    summary = d.summary()
    with atomic_folder(out_dir, command="discover", managed=DISCOVERY_FILES) as tmp:
        (tmp / "summary.txt").write_text(summary + "\n", encoding="utf-8")
        _trajectory_table(d).to_csv(tmp / "trajectory.csv", index=False)
        _box_table(d).to_csv(tmp / "box.csv", index=False)
        d.cases.to_csv(tmp / "cases.csv", index=False)
        for name, fig in (("trajectory.png", trajectory_figure(d)), ("box.png", box_figure(d))):
            fig.savefig(tmp / name, dpi=100, metadata={"Software": None})
    return f"{summary}\nWritten to {out_dir}"
