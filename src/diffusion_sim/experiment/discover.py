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

This module reads the store and puts the question; PRIM and the choice of a box are in
:mod:`~diffusion_sim.experiment.discovery_boxes`, the answer's classes in
:mod:`~diffusion_sim.experiment.discovery_results`, the figures and files in
:mod:`~diffusion_sim.experiment.discovery_figures` and :mod:`~diffusion_sim.experiment.discovery_output`
(their public names are importable from here too).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from diffusion_sim.errors import UserError
from diffusion_sim.experiment.discovery_boxes import DEFAULT_MIN_DENSITY, choose_step, run_prim
from diffusion_sim.experiment.discovery_figures import box_figure, trajectory_figure
from diffusion_sim.experiment.discovery_output import DISCOVERY_FILES, discovery_folder_name, write_files
from diffusion_sim.experiment.discovery_results import Box, Discovery
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


# -------------------------------------------------------------------------------- the question


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
    boxes = run_prim(
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


# -------------------------------------------------------------------------------- writing


def write_discovery(
    store_dir: str | os.PathLike[str],
    outcome: str,
    *,
    out_dir: str | os.PathLike[str] | None = None,
    **options: Any,
) -> str:
    """Run :func:`discover` and write its files; return the plain-text summary (what the CLI prints).

    The files (:data:`DISCOVERY_FILES`) go into ``out_dir``, by default
    ``<store_dir>/discovery/<outcome>-below-<threshold>`` (:func:`discovery_folder_name`), written
    atomically: all of them or none. ``summary.txt`` is the summary; ``trajectory.csv`` every step of the
    peeling trajectory; ``box.csv`` the chosen box's restricted parameters (min/max, or the kept
    categories separated by ``"; "``) with quasi-p-values; ``cases.csv`` every design point analysed, its
    value, whether it is a case and which box holds it; ``trajectory.png`` and ``box.png`` the figures.

    Args:
        store_dir: an experiment's result store, as for :func:`discover`.
        outcome: the outcome, as for :func:`discover`.
        out_dir: the folder to write (default: see above).
        **options: passed on to :func:`discover`, which documents them: ``below`` or ``above``, ``by``,
            ``missing``, ``min_density``, ``step``, ``peel_alpha``, ``paste_alpha``, ``mass_min`` and
            ``max_boxes``.

    Returns:
        The summary (:meth:`Discovery.summary`) and the folder written.

    Raises:
        UserError: as :func:`discover`; or ``out_dir`` cannot be written (it holds something other than an
            earlier discovery, or the system refuses).

    """
    d = discover(store_dir, outcome, **options)
    if out_dir is None:
        below, above = (d.threshold, None) if d.direction == "below" else (None, d.threshold)
        out_dir = Path(store_dir) / "discovery" / discovery_folder_name(outcome, below=below, above=above, by=d.by)
    write_files(d, out_dir)
    return f"{d.summary()}\nWritten to {out_dir}"
