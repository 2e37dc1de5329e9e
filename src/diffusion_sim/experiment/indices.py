"""Sensitivity indices and effects of one design method, computed on the replicate means of each point.

One function per method of :func:`diffusion_sim.experiment.analyze.analyze`: :func:`sobol_indices`,
:func:`morris_indices`, :func:`fast_indices` (SALib), :func:`factorial_effects` (main and two-way
interaction effects of a full grid) and :func:`spearman_correlations` (sample designs). Each takes the
store (:class:`~diffusion_sim.experiment.store.StoreData`) and the outcomes to analyse (those without
missing point means) and returns tidy tables; which outcomes qualify, the replicate noise and the notes
are the driver's (``analyze.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from diffusion_sim.errors import UserError
from diffusion_sim.experiment.store import StoreData

__all__ = [
    "MORRIS_RESAMPLES",
    "SOBOL_RESAMPLES",
    "factorial_effects",
    "fast_indices",
    "is_balanced",
    "morris_indices",
    "ratio",
    "sobol_indices",
    "spearman_correlations",
]

MORRIS_RESAMPLES = 1000
"""Bootstrap resamples for Morris's mu* confidence interval (SALib's default)."""

SOBOL_RESAMPLES = 100
"""Bootstrap resamples for Sobol confidence intervals (SALib's default)."""


def ratio(a: float, b: float) -> float:
    """``a / b`` as a float, or NaN unless both are finite and ``b`` is positive."""
    return float(a / b) if np.isfinite(a) and np.isfinite(b) and b > 0 else np.nan


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
                {"outcome": outcome, "term": name, "kind": "main", "sum_of_squares": ss, "share": ratio(ss, total)}
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
                    "share": ratio(ss, total),
                }
            )
        rest = total - explained
        share_rows.append(
            {
                "outcome": outcome,
                "term": "higher-order",
                "kind": "higher-order",
                "sum_of_squares": rest,
                "share": ratio(rest, total),
            }
        )
    main = pd.DataFrame(main_rows, columns=["outcome", "parameter", "level", "points", "mean", "effect"])
    inter = pd.DataFrame(
        inter_rows,
        columns=["outcome", "parameter_a", "level_a", "parameter_b", "level_b", "points", "mean", "interaction"],
    )
    shares = pd.DataFrame(share_rows, columns=["outcome", "term", "kind", "sum_of_squares", "share"])
    return main, inter, shares


def is_balanced(store: StoreData) -> bool:
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
