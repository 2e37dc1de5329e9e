"""Analysis of an experiment's result store: sensitivity indices, effects, summaries and replicate noise.

:func:`analyze` reads a store (``manifest.json``, ``design.parquet``, ``results/chunk-*.parquet``; see
``docs/experiments-analysis.md``) and returns tidy tables; :func:`write_analysis` writes them as CSV
files with PNG plots into one folder, atomically (:func:`diffusion_sim.atomic.atomic_folder`). The
per-method computations are in :mod:`~diffusion_sim.experiment.indices` and the plots in
:mod:`~diffusion_sim.experiment.analysis_figures` (their public names are importable from here too).

What is computed, by the manifest's ``method``:

* ``sobol``: SALib ``sobol.analyze`` (S1, ST, S2 with confidence half-widths at ``level``);
* ``morris``: SALib ``morris.analyze`` on the design's ``u.`` columns (mu, mu*, its confidence, sigma);
* ``fast``: SALib's FAST estimator (S1, ST); no confidence intervals (see :func:`fast_indices`);
* ``full_factorial``: main effects, two-way interaction effects and each term's share of the sum of squares;
* ``latin_hypercube`` and ``monte_carlo``: Spearman rank correlations between each parameter and outcome;
* every method: a summary of each outcome over all runs and the replicate noise (``variance.csv``).

**Replicate noise.** A simulation outcome is noisy: the same parameters give different values for
different random numbers. Every index is computed on the **mean of the R replicates** of each design
point, which divides the noise variance by R. Beside the indices, ``variance.csv`` reports per outcome:

* ``noise_share = mean within-point variance / total variance over runs`` (needs R >= 2): how much of
  the spread of single runs is replicate noise rather than the parameters;
* ``noise_share_of_means = (mean within-point variance / R) / variance of the point means``: the same for
  the means the indices are computed on; this number, eta, is repeated in each index table.

With independent noise of variance s2 on each run, the means are f(x) + e with Var(e) = s2 / R, and
the first-order (and closed second-order) Sobol indices of the means are the noise-free ones shrunk by
the noise: ``S1_measured = (1 - eta) * S1_true``; the total indices are pulled towards one, since the
noise acts like one more input that interacts with all of them: ``ST_measured = (1 - eta) * ST_true +
eta``. The store uses common random numbers (replicate r of every point has the same seed), so part of
the noise is shared by all points and cancels in the indices; eta from the within-point variance is
then an upper bound on the bias. Indices are not corrected: if eta is more than a few per cent, run
more replicates.

**Missing values.** A point mean is missing when any of its replicates is NaN (``time_to_0.8`` when
the target is never reached) or not in the store yet (an interrupted experiment): averaging only the
replicates that reached a target would bias the mean. An outcome with any missing point mean is left
out of the indices, effects and correlations (the sample designs need every point) and ``notes.csv``
says so and why; its summary counts the missing runs and describes the others, and its noise is
computed on the points with all replicates. Nothing is imputed: to analyse such an outcome, let the
experiment keep one without gaps (a share reached, or the time capped at the run length).

Random numbers (the bootstrap of the confidence intervals) come from a generator made from ``seed``
for each outcome, never from numpy's global state, so an outcome's numbers do not depend on which
other outcomes are analysed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd

from diffusion_sim.atomic import atomic_folder
from diffusion_sim.errors import UserError
from diffusion_sim.experiment.analysis_figures import PLOTS, analysis_figure
from diffusion_sim.experiment.indices import (
    MORRIS_RESAMPLES,
    SOBOL_RESAMPLES,
    factorial_effects,
    fast_indices,
    is_balanced,
    morris_indices,
    ratio,
    sobol_indices,
    spearman_correlations,
)
from diffusion_sim.experiment.store import METHODS, StoreData, load_store

__all__ = [
    "ANALYSIS_FILES",
    "METHODS",
    "MORRIS_RESAMPLES",
    "PLOTS",
    "QUANTILES",
    "SOBOL_RESAMPLES",
    "StoreData",
    "analyze",
    "factorial_effects",
    "fast_indices",
    "load_store",
    "morris_indices",
    "replicate_variance",
    "sobol_indices",
    "spearman_correlations",
    "summary",
    "write_analysis",
]

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
"""Quantiles of each outcome over runs in ``summary.csv``."""

ANALYSIS_FILES = (
    "summary.csv",
    "variance.csv",
    "notes.csv",
    "analysis.json",
    "sobol_first_total.csv",
    "sobol_second_order.csv",
    "morris.csv",
    "fast.csv",
    "factorial_main_effects.csv",
    "factorial_interactions.csv",
    "factorial_variance_shares.csv",
    "spearman.csv",
    *PLOTS.values(),
)
"""Every file :func:`write_analysis` may write (those of the store's method are written)."""


# ------------------------------------------------------------------------------------ the store


# the store is read by diffusion_sim.experiment.store.load_store (the one reader of the format)


# ----------------------------------------------------------------------------- every method


def summary(store: StoreData, outcomes: Sequence[str]) -> pd.DataFrame:
    """Each outcome over all runs: counts, mean, sd (ddof 1), min, :data:`QUANTILES`, max (NaN runs left out)."""
    rows = []
    for outcome in outcomes:
        values = store.runs[outcome][store.present]
        finite = values[~np.isnan(values)]
        row = {
            "outcome": outcome,
            "runs": int(store.present.sum()),
            "missing_runs": int(store.present.size - store.present.sum()),
            "nan_runs": int(np.isnan(values).sum()),
            "mean": finite.mean() if finite.size else np.nan,
            "sd": finite.std(ddof=1) if finite.size > 1 else np.nan,
            "min": finite.min() if finite.size else np.nan,
        }
        for q in QUANTILES:
            row[f"q{round(q * 100):02d}"] = np.quantile(finite, q) if finite.size else np.nan
        row["max"] = finite.max() if finite.size else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def replicate_variance(store: StoreData, outcomes: Sequence[str]) -> pd.DataFrame:
    """Replicate noise per outcome, on the points whose replicates are all present and not NaN.

    Columns: ``points`` used, ``replicates`` R, ``total_variance`` over those runs (ddof 1),
    ``within_point_variance`` (the mean over points of each point's variance over replicates, ddof 1),
    ``between_point_variance`` (variance of the point means, ddof 1), ``noise_share`` (within / total)
    and ``noise_share_of_means`` ((within / R) / between). Noise columns are NaN when R is 1.
    """
    reps = store.replicates
    rows = []
    for outcome in outcomes:
        values = store.runs[outcome]
        complete = values[~np.isnan(values).any(axis=1)]
        n = len(complete)
        total = complete.var(ddof=1) if complete.size > 1 else np.nan
        within = complete.var(axis=1, ddof=1).mean() if reps > 1 and n else np.nan
        between = complete.mean(axis=1).var(ddof=1) if n > 1 else np.nan
        rows.append(
            {
                "outcome": outcome,
                "points": n,
                "replicates": reps,
                "total_variance": total,
                "within_point_variance": within,
                "between_point_variance": between,
                "noise_share": ratio(within, total),
                "noise_share_of_means": ratio(within / reps, between),
            }
        )
    return pd.DataFrame(rows)


def _usable(store: StoreData, outcomes: Sequence[str]) -> tuple[list[str], list[dict]]:
    """Outcomes whose point means can enter the indices, and notes on the others."""
    usable, notes = [], []
    for outcome in outcomes:
        values = store.runs[outcome]
        absent = int((~store.present.all(axis=1)).sum())
        nan_points = int((np.isnan(values) & store.present).any(axis=1).sum())
        means = store.point_means(outcome)
        if absent:
            notes.append(
                _note(
                    outcome,
                    f"left out of the indices: {absent} of {store.n_points} points lack replicates "
                    "(the experiment is not complete)",
                )
            )
        elif nan_points:
            notes.append(
                _note(
                    outcome,
                    f"left out of the indices: {nan_points} of {store.n_points} points have a NaN "
                    "replicate (e.g. a target never reached); nothing is imputed",
                )
            )
        elif np.ptp(means) == 0:
            notes.append(_note(outcome, "left out of the indices: the same mean at every point (no variance)"))
        else:
            usable.append(outcome)
    return usable, notes


def _note(outcome: str, text: str) -> dict:
    return {"outcome": outcome, "note": text}


# ---------------------------------------------------------------------------------- analysis


def _check_options(store: StoreData, outcomes: Sequence[str] | None, level: float) -> list[str]:
    if not (isinstance(level, int | float) and 0 < level < 1):
        raise UserError(f"expected a confidence level between 0 and 1, got {level!r}", source="level")
    if outcomes is None:
        return store.outcomes
    chosen = list(outcomes)
    unknown = [o for o in chosen if o not in store.runs]
    if unknown:
        raise UserError(
            f"no outcome {', '.join(map(repr, unknown))}; the store keeps {', '.join(store.outcomes)}",
            source="outcomes",
        )
    return chosen


def _analyze(store: StoreData, outcomes: Sequence[str], level: float, seed: int) -> dict[str, pd.DataFrame]:
    variance = replicate_variance(store, outcomes)
    eta = dict(zip(variance["outcome"], variance["noise_share_of_means"], strict=True))
    tables = {"summary": summary(store, outcomes), "variance": variance}
    usable, notes = _usable(store, outcomes)
    notes.insert(
        0,
        _note(
            "",
            "indices, effects and correlations use the mean of the replicates of each point; "
            "variance.csv gives the noise share of those means (eta): S1 and S2 are biased down "
            "by the factor (1 - eta), ST towards one, to (1 - eta) ST + eta (independent noise; "
            "common random numbers make it less)",
        ),
    )
    if store.replicates < 2:
        notes.append(_note("", "one replicate per point: the replicate noise cannot be estimated"))
    method = store.method
    if method == "sobol":
        tables["sobol_first_total"], tables["sobol_second_order"] = sobol_indices(
            store, usable, level=level, seed=seed, eta=eta
        )
    elif method == "morris":
        tables["morris"] = morris_indices(store, usable, level=level, seed=seed, eta=eta)
    elif method == "fast":
        tables["fast"] = fast_indices(store, usable, eta=eta)
    elif method == "full_factorial":
        main, inter, shares = factorial_effects(store, usable)
        tables["factorial_main_effects"] = main
        tables["factorial_interactions"] = inter
        tables["factorial_variance_shares"] = shares
        if not is_balanced(store):
            notes.append(
                _note(
                    "",
                    "the design is not a balanced full grid: effects are not orthogonal and the "
                    "shares of the sum of squares need not add up",
                )
            )
    elif store.parameters:  # latin_hypercube, monte_carlo
        tables["spearman"] = spearman_correlations(store, usable, level=level)
    tables["notes"] = pd.DataFrame(notes, columns=["outcome", "note"])
    return tables


def analyze(
    store_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    outcomes: Sequence[str] | None = None,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """Analyse a result store by its method; return the tables by name (each also a CSV file's stem).

    Always ``summary``, ``variance`` and ``notes``; then by method ``sobol_first_total`` and
    ``sobol_second_order``; ``morris``; ``fast``; ``factorial_main_effects``, ``factorial_interactions``
    and ``factorial_variance_shares``; ``spearman`` (latin_hypercube, monte_carlo).

    Args:
        store_dir: the experiment's folder (``manifest.json``, ``design.parquet``, ``results/``).
        out_dir: if given, also write the tables and plots there (see :func:`write_analysis`).
        outcomes: outcomes to analyse (default: all the store keeps).
        level: confidence level of the intervals.
        seed: seed of the bootstrap resampling behind the intervals.

    Returns:
        The tables, tidy: one row per outcome and parameter (or pair, level, term).

    Raises:
        UserError: the folder is not a consistent store, or an option is out of range.

    """
    store = load_store(store_dir)
    chosen = _check_options(store, outcomes, level)
    tables = _analyze(store, chosen, level, seed)
    if out_dir is not None:
        _write(store, tables, Path(out_dir), level=level, seed=seed)
    return tables


def write_analysis(
    store_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    outcomes: Sequence[str] | None = None,
    level: float = 0.95,
    seed: int = 0,
) -> Path:
    """Analyse a store and write its tables (CSV), plots (PNG) and ``analysis.json`` into one folder.

    The folder (default ``store_dir/analysis``) is written atomically: complete, or not at all. An
    earlier analysis there is replaced; a folder holding anything else is refused. Returns its path.
    """
    out = Path(store_dir) / "analysis" if out_dir is None else Path(out_dir)
    analyze(store_dir, out, outcomes=outcomes, level=level, seed=seed)
    return out


# ------------------------------------------------------------------------------------- output


def _versions() -> dict[str, str]:
    found = {}
    for package in ("diffusion-sim", "SALib"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "unknown"
    return found


def _write(store: StoreData, tables: dict[str, pd.DataFrame], out: Path, *, level: float, seed: int) -> None:
    about = {
        "store": store.manifest.get("name"),
        "experiment_hash": store.manifest.get("experiment_hash"),
        "method": store.method,
        "n_points": store.n_points,
        "replicates": store.replicates,
        "outcomes": list(tables["summary"]["outcome"]),
        "level": level,
        "seed": seed,
        "indices_on": "replicate means per point",
        "versions": _versions(),
    }
    with atomic_folder(out, command="analyze", managed=ANALYSIS_FILES, option="out_dir") as tmp:
        for name, table in tables.items():
            table.to_csv(tmp / f"{name}.csv", index=False)
        (tmp / "analysis.json").write_text(json.dumps(about, indent=1) + "\n", encoding="utf-8")
        figure = analysis_figure(store.method, tables, level)
        if figure is not None:
            figure.savefig(tmp / PLOTS[store.method], dpi=100, metadata={"Software": None})
