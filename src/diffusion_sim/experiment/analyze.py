"""Analysis of an experiment's result store: sensitivity indices, effects, summaries and replicate noise.

:func:`analyze` reads a store (``manifest.json``, ``design.parquet``, ``results/chunk-*.parquet``; see
``docs/experiments-analysis.md``) and returns tidy tables; :func:`write_analysis` writes them as CSV
files with PNG plots into one folder, atomically (:func:`diffusion_sim.atomic.atomic_folder`).

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
import math
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from diffusion_sim.atomic import atomic_folder
from diffusion_sim.errors import UserError
from diffusion_sim.experiment.store import METHODS, StoreData, load_store

__all__ = [
    "ANALYSIS_FILES",
    "METHODS",
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

"""Design methods a store's manifest may name."""

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
"""Quantiles of each outcome over runs in ``summary.csv``."""

PLOTS = {
    "sobol": "sobol_indices.png",
    "morris": "morris_mu_star_sigma.png",
    "fast": "fast_indices.png",
    "full_factorial": "factorial_main_effects.png",
}
"""The plot written for each method (the others have none)."""

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

MORRIS_RESAMPLES = 1000
"""Bootstrap resamples for Morris's mu* confidence interval (SALib's default)."""

SOBOL_RESAMPLES = 100
"""Bootstrap resamples for Sobol confidence intervals (SALib's default)."""


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
                "noise_share": _ratio(within, total),
                "noise_share_of_means": _ratio(within / reps, between),
            }
        )
    return pd.DataFrame(rows)


def _ratio(a: float, b: float) -> float:
    return float(a / b) if np.isfinite(a) and np.isfinite(b) and b > 0 else np.nan


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


# ----------------------------------------------------------------------------------- methods


def _need_points(store: StoreData, step: int, what: str) -> int:
    """The number of blocks of ``step`` points, or :class:`UserError` if the design does not divide."""
    if step < 1 or store.n_points % step:
        raise UserError(
            f"{store.n_points} points is not a multiple of {step} ({what}); the design does not match the method",
            source=str(store.path / "manifest.json"),
        )
    return store.n_points // step


def sobol_indices(
    store: StoreData, outcomes: Sequence[str], *, level: float, seed: int, eta: dict[str, float]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SALib Sobol indices per outcome on the point means: (first and total order, second order).

    ``calc_second_order`` comes from the design option ``second_order`` (SALib's default, true, when
    absent). ``eta`` maps an outcome to its ``noise_share_of_means``, repeated in each row.
    """
    from SALib.analyze import sobol

    k = len(store.parameters)
    second = bool(store.options.get("second_order", True))
    _need_points(store, 2 * k + 2 if second else k + 2, "Sobol: N * (2k + 2), or N * (k + 2) without second order")
    first_rows, second_rows = [], []
    for outcome in outcomes:
        # A Generator, not the int: SALib 1.6 takes `if seed:` and so falls back to numpy's global state for 0.
        si = sobol.analyze(
            store.problem(),
            store.point_means(outcome),
            calc_second_order=second,
            num_resamples=SOBOL_RESAMPLES,
            conf_level=level,
            seed=np.random.default_rng(seed),
        )
        for j, name in enumerate(store.parameters):
            first_rows.append(
                {
                    "outcome": outcome,
                    "parameter": name,
                    "S1": float(si["S1"][j]),
                    "S1_conf": float(si["S1_conf"][j]),
                    "ST": float(si["ST"][j]),
                    "ST_conf": float(si["ST_conf"][j]),
                    "noise_share_of_means": eta.get(outcome, np.nan),
                }
            )
        if second:
            for j, m in combinations(range(k), 2):
                second_rows.append(
                    {
                        "outcome": outcome,
                        "parameter_a": store.parameters[j],
                        "parameter_b": store.parameters[m],
                        "S2": float(si["S2"][j, m]),
                        "S2_conf": float(si["S2_conf"][j, m]),
                        "noise_share_of_means": eta.get(outcome, np.nan),
                    }
                )
    first_cols = ["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf", "noise_share_of_means"]
    second_cols = ["outcome", "parameter_a", "parameter_b", "S2", "S2_conf", "noise_share_of_means"]
    return pd.DataFrame(first_rows, columns=first_cols), pd.DataFrame(second_rows, columns=second_cols)


def morris_indices(
    store: StoreData, outcomes: Sequence[str], *, level: float, seed: int, eta: dict[str, float]
) -> pd.DataFrame:
    """SALib Morris screening per outcome on the point means, X the ``u.`` columns, ``num_levels`` the design's.

    Elementary effects are per unit-space step, so mu* is in outcome units over a parameter's whole range
    (for ``y = c * x`` with ``x`` from ``low`` to ``high``: ``mu* = |c| * (high - low)``).
    """
    from SALib.analyze import morris

    k = len(store.parameters)
    _need_points(store, k + 1, "Morris: trajectories of k + 1 points")
    x = store.unit_sample()
    num_levels = int(store.options.get("levels", 4))
    rows = []
    for outcome in outcomes:
        si = morris.analyze(
            store.problem(),
            x,
            store.point_means(outcome),
            num_resamples=MORRIS_RESAMPLES,
            conf_level=level,
            num_levels=num_levels,
            seed=np.random.default_rng(seed),
        )
        for j, name in enumerate(store.parameters):
            rows.append(
                {
                    "outcome": outcome,
                    "parameter": name,
                    "mu": float(si["mu"][j]),
                    "mu_star": float(si["mu_star"][j]),
                    "mu_star_conf": float(si["mu_star_conf"][j]),
                    "sigma": float(si["sigma"][j]),
                    "noise_share_of_means": eta.get(outcome, np.nan),
                }
            )
    return pd.DataFrame(
        rows, columns=["outcome", "parameter", "mu", "mu_star", "mu_star_conf", "sigma", "noise_share_of_means"]
    )


def fast_indices(store: StoreData, outcomes: Sequence[str], *, eta: dict[str, float]) -> pd.DataFrame:
    """Extended FAST first and total indices per outcome on the point means, ``M`` the design's (default 4).

    The indices are SALib's (``SALib.analyze.fast.compute_orders`` on each parameter's search curve).
    No confidence intervals: SALib 1.6's FAST bootstrap draws from numpy's global random state and
    SALib itself calls its intervals unreliable (SALib issue 649).
    """
    from SALib.analyze.fast import compute_orders

    k = len(store.parameters)
    n = _need_points(store, k, "FAST: N points per parameter")
    m = int(store.options.get("M", 4))
    if n <= 4 * m * m:
        raise UserError(
            f"FAST needs more than 4 * M^2 = {4 * m * m} points per parameter, the design has {n}",
            source=str(store.path / "manifest.json"),
        )
    omega = math.floor((n - 1) / (2 * m))
    rows = []
    for outcome in outcomes:
        y = store.point_means(outcome)
        for j, name in enumerate(store.parameters):
            s1, st = compute_orders(y[j * n : (j + 1) * n], n, m, omega)
            rows.append(
                {
                    "outcome": outcome,
                    "parameter": name,
                    "S1": float(s1),
                    "ST": float(st),
                    "noise_share_of_means": eta.get(outcome, np.nan),
                }
            )
    return pd.DataFrame(rows, columns=["outcome", "parameter", "S1", "ST", "noise_share_of_means"])


def _level_order(store: StoreData, name: str) -> list:
    """A parameter's levels in the order of their unit-space samples (the order they were mapped in)."""
    u = store.design.groupby(name, sort=False)[f"u.{name}"].mean()
    return list(u.sort_values(kind="stable").index)


def factorial_effects(store: StoreData, outcomes: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Main effects, two-way interaction effects and shares of the sum of squares, on the point means.

    Main effect of a level: the mean over points at that level minus the grand mean. Interaction of
    two levels: the cell mean minus both main effects minus the grand mean. A term's sum of squares
    adds its effect squared over all points; its share divides by the total sum of squares of the point
    means. ``higher-order`` is what main effects and two-way interactions leave (in a full, balanced
    grid, the interactions of three or more parameters).
    """
    names = store.parameters
    main_rows, inter_rows, share_rows = [], [], []
    levels = {name: _level_order(store, name) for name in names}
    for outcome in outcomes:
        frame = store.design[names].copy()
        frame["_y"] = store.point_means(outcome)
        grand = frame["_y"].mean()
        total = float(((frame["_y"] - grand) ** 2).sum())
        effects = {}
        explained = 0.0
        for name in names:
            groups = frame.groupby(name, sort=False)["_y"].agg(["mean", "size"])
            effect = groups["mean"] - grand
            effects[name] = effect
            for lv in levels[name]:
                main_rows.append(
                    {
                        "outcome": outcome,
                        "parameter": name,
                        "level": lv,
                        "points": int(groups.loc[lv, "size"]),
                        "mean": float(groups.loc[lv, "mean"]),
                        "effect": float(effect[lv]),
                    }
                )
            ss = float((frame[name].map(effect) ** 2).sum())
            explained += ss
            share_rows.append(
                {"outcome": outcome, "term": name, "kind": "main", "sum_of_squares": ss, "share": _ratio(ss, total)}
            )
        for a, b in combinations(names, 2):
            cells = frame.groupby([a, b], sort=False)["_y"].agg(["mean", "size"])
            interaction = {}
            for la in levels[a]:
                for lb in levels[b]:
                    if (la, lb) not in cells.index:
                        continue
                    cell = cells.loc[(la, lb)]
                    value = float(cell["mean"] - effects[a][la] - effects[b][lb] - grand)
                    interaction[(la, lb)] = value
                    inter_rows.append(
                        {
                            "outcome": outcome,
                            "parameter_a": a,
                            "level_a": la,
                            "parameter_b": b,
                            "level_b": lb,
                            "points": int(cell["size"]),
                            "mean": float(cell["mean"]),
                            "interaction": value,
                        }
                    )
            per_point = np.array([interaction[key] for key in zip(frame[a], frame[b], strict=True)])
            ss = float((per_point**2).sum())
            explained += ss
            share_rows.append(
                {
                    "outcome": outcome,
                    "term": f"{a}:{b}",
                    "kind": "interaction",
                    "sum_of_squares": ss,
                    "share": _ratio(ss, total),
                }
            )
        rest = total - explained
        share_rows.append(
            {
                "outcome": outcome,
                "term": "higher-order",
                "kind": "higher-order",
                "sum_of_squares": rest,
                "share": _ratio(rest, total),
            }
        )
    main = pd.DataFrame(main_rows, columns=["outcome", "parameter", "level", "points", "mean", "effect"])
    inter = pd.DataFrame(
        inter_rows,
        columns=["outcome", "parameter_a", "level_a", "parameter_b", "level_b", "points", "mean", "interaction"],
    )
    shares = pd.DataFrame(share_rows, columns=["outcome", "term", "kind", "sum_of_squares", "share"])
    return main, inter, shares


def _balanced(store: StoreData) -> bool:
    """Whether the design is a full grid with the same number of points in every cell of every two parameters."""
    design, names = store.design, store.parameters
    if len(names) == 1:
        return design[names[0]].value_counts().nunique() <= 1
    for a, b in combinations(names, 2):
        counts = design.groupby([a, b]).size()
        if len(counts) != design[a].nunique() * design[b].nunique() or counts.nunique() > 1:
            return False
    return True


def spearman_correlations(store: StoreData, outcomes: Sequence[str], *, level: float) -> pd.DataFrame:
    """Spearman rank correlation of each parameter's unit sample with each outcome's point means.

    The unit sample is a monotone map of the value as run, so the ranks (and rho) are the value's,
    for any distribution; for a categorical parameter rho follows the order of its levels. The
    interval is Fisher's z with the Spearman standard error ``sqrt(1.06 / (n - 3))`` (Fieller,
    Hartley and Pearson 1957) at ``level``; NaN where rho is +-1 or there are fewer than 4 points.
    """
    x = store.unit_sample()
    n = store.n_points
    z = stats.norm.ppf(0.5 + level / 2)
    rows = []
    for outcome in outcomes:
        y = store.point_means(outcome)
        for j, name in enumerate(store.parameters):
            if np.ptp(x[:, j]) == 0 or n < 4:
                rho = np.nan
            else:
                rho = float(stats.spearmanr(x[:, j], y).statistic)
            half = z * math.sqrt(1.06 / (n - 3)) if n > 3 else np.nan
            defined = np.isfinite(rho) and abs(rho) < 1 and np.isfinite(half)  # Fisher's z is infinite at +-1
            rows.append(
                {
                    "outcome": outcome,
                    "parameter": name,
                    "rho": rho,
                    "rho_low": math.tanh(math.atanh(rho) - half) if defined else np.nan,
                    "rho_high": math.tanh(math.atanh(rho) + half) if defined else np.nan,
                    "points": n,
                }
            )
    return pd.DataFrame(rows, columns=["outcome", "parameter", "rho", "rho_low", "rho_high", "points"])


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
        if not _balanced(store):
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
        figure = _plot(store.method, tables, level)
        if figure is not None:
            figure.savefig(tmp / PLOTS[store.method], dpi=100, metadata={"Software": None})


def _plot(method: str, tables: dict[str, pd.DataFrame], level: float):
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
