"""Incremental cost-effectiveness analysis across packages: dominance, the efficiency frontier and ICERs.

The decision rules are the standard ones of health-economic evaluation (Drummond MF, Sculpher MJ,
Claxton K, Stoddart GL, Torrance GW. *Methods for the Economic Evaluation of Health Care
Programmes*, 4th ed. Oxford University Press, 2015, ch. 4, the decision rules of cost-effectiveness
analysis across several mutually exclusive options):

1. Order the options (the baseline, which is the comparator, and every package) by cost.
2. **Strong (simple) dominance.** An option is ruled out when another costs no more and achieves at
   least as much, one of the two strictly.
3. **Extended dominance.** Among the rest, taken by increasing cost, an option is ruled out when its
   incremental cost-effectiveness ratio (ICER) against the previous option exceeds the ICER of the
   next, more effective, option against it: a blend of its two neighbours (running each for part of
   the population) then achieves the same effect for less. Repeat until the ICERs increase.
4. What remains is the **efficiency frontier**; each frontier option's ICER is its incremental cost
   per extra unit of effect against the previous (next cheaper) frontier option.

Here costs are programme costs and the effect is extra adopters against the baseline, so an ICER is
an incremental cost per extra adopter. Identical options (same cost and effect) share one point of
the plane and one status. Three options on one line (equal ICERs) all stay on the frontier: no blend
does strictly better. The analysis is of the means; intervals of the frontier ICERs come from a
paired bootstrap over replicates (the same resampled replicates for every option, as the comparison
is paired by common random numbers), with a local generator seeded from the comparison's seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from diffusion_sim.compare import Comparison

__all__ = [
    "COLUMNS",
    "EXTENDEDLY_DOMINATED",
    "FRONTIER",
    "REFERENCE",
    "STRONGLY_DOMINATED",
    "comparison_draws",
    "incremental_analysis",
    "incremental_from_comparison",
]

FRONTIER = "frontier"
STRONGLY_DOMINATED = "strongly dominated"
EXTENDEDLY_DOMINATED = "extendedly dominated"
REFERENCE = "Drummond MF, Sculpher MJ, Claxton K, Stoddart GL, Torrance GW. Methods for the Economic Evaluation of \
Health Care Programmes. 4th ed. Oxford: Oxford University Press; 2015 (ch. 4: cost-effectiveness decision rules)."
"""The reference the report cites for the decision rules."""

COLUMNS = [
    "scenario",
    "cost",
    "effect",
    "status",
    "dominated_by",
    "tied_with",
    "compared_with",
    "incremental_cost",
    "incremental_effect",
    "icer",
    "icer_low",
    "icer_high",
]
"""Columns of :func:`incremental_analysis`'s table, in order."""

_SEED_TAG = 0x1CE12  # mixed with the comparison seed: a stream of its own, apart from compare's bootstrap


def _dominates(cj: float, ej: float, ci: float, ei: float) -> bool:
    """Whether option j (cost cj, effect ej) strongly dominates option i."""
    return cj <= ci and ej >= ei and (cj < ci or ej > ei)


def _frontier(cost: np.ndarray, effect: np.ndarray, order: list[int]) -> list[int]:
    """Points (indices, by increasing cost) left after removing extended dominance, repeatedly.

    ``order`` holds distinct, not strongly dominated points by increasing cost (so also by
    increasing effect). The first point whose ICER exceeds the next one's is removed, and the scan
    starts again, until the ICERs no longer decrease.
    """
    front = list(order)
    removed = True
    while removed:
        removed = False
        for k in range(1, len(front) - 1):
            a, b, c = front[k - 1], front[k], front[k + 1]
            icer_b = (cost[b] - cost[a]) / (effect[b] - effect[a])
            icer_c = (cost[c] - cost[b]) / (effect[c] - effect[b])
            if icer_b > icer_c:
                del front[k]
                removed = True
                break
    return front


def incremental_analysis(
    names: Sequence[str],
    cost: Sequence[float] | np.ndarray,
    effect: Sequence[float] | np.ndarray,
    *,
    draws: tuple[np.ndarray, np.ndarray] | None = None,
    seed: int = 0,
    n_boot: int = 2000,
    level: float = 0.95,
) -> pd.DataFrame:
    """Incremental cost-effectiveness of mutually exclusive options: dominance, frontier and ICERs.

    Args:
        names: the options (unique), usually the baseline first, then the packages.
        cost: mean cost of each option (for packages: programme cost over the run).
        effect: mean effect of each option (extra adopters against the baseline; the baseline's is 0).
            Negative effects (doing worse than the baseline) are allowed.
        draws: optional per-replicate ``(cost, effect)`` arrays of shape (options, replicates), paired
            by column (replicate r of every option ran on the same random numbers). With at least two
            replicates, each frontier ICER gets a paired bootstrap percentile interval.
        seed: seeds the bootstrap's local generator (``numpy.random.default_rng``); global random
            state is never used.
        n_boot: bootstrap resamples.
        level: interval level.

    Returns:
        One row per option, sorted by cost (then by decreasing effect, then input order), with the
        columns :data:`COLUMNS`: ``status`` is ``frontier``, ``strongly dominated`` or ``extendedly
        dominated``; ``dominated_by`` a tuple of names (one option that costs no more and achieves at
        least as much, or the two frontier options whose blend does better; empty on the frontier);
        ``tied_with`` the other options with exactly the same cost and effect; ``compared_with`` the
        previous (next cheaper) frontier option a frontier option is compared with (None for the
        first); ``incremental_cost``, ``incremental_effect`` and ``icer`` (incremental cost per unit
        of effect) against it, and ``icer_low``/``icer_high`` its paired bootstrap interval (NaN without
        draws, with fewer than two replicates, or when the extra effect is too uncertain: see
        :func:`_icer_interval`).

    Raises:
        ValueError: on repeated names, lengths that differ, missing or infinite values.

    """
    names = [str(n) for n in names]
    c = np.asarray(cost, dtype=float)
    e = np.asarray(effect, dtype=float)
    n = len(names)
    if len(set(names)) != n:
        raise ValueError("option names must be unique")
    if c.shape != (n,) or e.shape != (n,):
        raise ValueError(f"need one cost and one effect per option: {n} names, {c.shape} costs, {e.shape} effects")
    if n == 0:
        raise ValueError("no options to analyse")
    if not (np.isfinite(c).all() and np.isfinite(e).all()):
        bad = [names[i] for i in range(n) if not (math.isfinite(c[i]) and math.isfinite(e[i]))]
        raise ValueError(f"cost and effect must be finite numbers; not for: {', '.join(bad)}")

    # Sorted by cost, then most effective first, then input order; identical points grouped.
    order = sorted(range(n), key=lambda i: (c[i], -e[i], i))
    groups: dict[tuple[float, float], list[int]] = {}
    for i in order:
        groups.setdefault((c[i], e[i]), []).append(i)
    points = [members[0] for members in groups.values()]  # one representative per distinct point, by cost
    strong: dict[int, int] = {}
    for i in points:
        dominators = [j for j in points if _dominates(c[j], e[j], c[i], e[i])]
        if dominators:
            # name a dominator that is itself not strongly dominated: the cheapest (then most effective) one
            best = [j for j in dominators if not any(_dominates(c[k], e[k], c[j], e[j]) for k in points)]
            strong[i] = best[0]
    front = _frontier(c, e, [i for i in points if i not in strong])
    on_front = set(front)

    rows: dict[int, dict] = {}
    for i in points:
        row = {
            "cost": c[i],
            "effect": e[i],
            "dominated_by": (),
            "compared_with": None,
            "incremental_cost": math.nan,
            "incremental_effect": math.nan,
            "icer": math.nan,
            "icer_low": math.nan,
            "icer_high": math.nan,
        }
        if i in strong:
            row.update(status=STRONGLY_DOMINATED, dominated_by=(names[strong[i]],))
        elif i not in on_front:
            # bracketed by two consecutive frontier points (it is costlier than the cheapest and less
            # effective than the most effective); their blend at its effect costs less
            lower = max((j for j in front if e[j] < e[i]), key=lambda j: e[j])
            upper = min((j for j in front if e[j] > e[i]), key=lambda j: e[j])
            row.update(status=EXTENDEDLY_DOMINATED, dominated_by=(names[lower], names[upper]))
        else:
            row["status"] = FRONTIER
            k = front.index(i)
            if k > 0:
                prev = front[k - 1]
                dc, de = c[i] - c[prev], e[i] - e[prev]
                row.update(compared_with=names[prev], incremental_cost=dc, incremental_effect=de, icer=dc / de)
        rows[i] = row

    if draws is not None:
        _add_intervals(rows, front, names, draws, seed, n_boot, level)

    out = []
    for members in groups.values():
        for i in members:
            out.append(
                {
                    "scenario": names[i],
                    **rows[members[0]],
                    "tied_with": tuple(names[j] for j in members if j != i),
                }
            )
    table = pd.DataFrame(out, columns=COLUMNS)
    table["compared_with"] = pd.Series([r["compared_with"] for r in out], dtype=object)  # None stays None
    return table


def _add_intervals(
    rows: dict[int, dict],
    front: list[int],
    names: list[str],
    draws: tuple[np.ndarray, np.ndarray],
    seed: int,
    n_boot: int,
    level: float,
) -> None:
    """Paired bootstrap intervals of the frontier ICERs (the frontier itself is that of the means)."""
    dc_all, de_all = (np.asarray(x, dtype=float) for x in draws)
    if dc_all.ndim != 2 or dc_all.shape != de_all.shape or dc_all.shape[0] != len(names):
        raise ValueError("draws must be two arrays of shape (options, replicates)")
    if not (np.isfinite(dc_all).all() and np.isfinite(de_all).all()):
        raise ValueError("per-replicate costs and effects must be finite")
    n_rep = dc_all.shape[1]
    if n_rep < 2 or len(front) < 2:
        return
    rng = np.random.default_rng([seed, _SEED_TAG])  # local generator: global random state is never touched
    idx = rng.integers(0, n_rep, size=(n_boot, n_rep))  # the same resampled replicates for every option
    for k in range(1, len(front)):
        i, prev = front[k], front[k - 1]
        dc = (dc_all[i] - dc_all[prev])[idx].mean(axis=1)
        de = (de_all[i] - de_all[prev])[idx].mean(axis=1)
        rows[i]["icer_low"], rows[i]["icer_high"] = _icer_interval(dc, de, level)


def _icer_interval(dc: np.ndarray, de: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval of resampled ICERs ``dc / de``.

    A resample in which the option gains no adopters over its comparator (``de <= 0``) has no finite
    ICER; it counts as an ICER above any finite one (it buys nothing, or less, for the money), which
    can only widen the upper bound. When such resamples are more than ``(1 - level) / 2`` of all,
    the upper bound would be unbounded: the interval is NaN (the extra effect is too uncertain).
    The quantiles are order statistics (``inverted_cdf``), so no bound is interpolated with infinity.
    """
    tail = (1.0 - level) / 2.0
    ok = de > 0
    if (~ok).mean() >= tail:
        return math.nan, math.nan
    ratio = np.full(len(dc), np.inf)
    ratio[ok] = dc[ok] / de[ok]
    low, high = np.quantile(ratio, [tail, 1.0 - tail], method="inverted_cdf")
    return float(low), float(high)


def comparison_draws(comp: Comparison) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per-replicate programme cost and extra adopters of each scenario of a comparison.

    Returns ``(names, cost, effect)`` with arrays of shape (scenarios, replicates), replicates in the
    comparison's order (so columns are paired); the baseline's effect is 0 in every replicate.
    """
    o = comp.outcomes.set_index(["scenario", "replicate"])
    cost = np.array([o.loc[name, "cost"].reindex(comp.replicates).to_numpy(float) for name in comp.names])
    effect = np.array([o.loc[name, "extra_adopters"].reindex(comp.replicates).to_numpy(float) for name in comp.names])
    return list(comp.names), cost, effect


def incremental_from_comparison(comp: Comparison, n_boot: int = 2000, level: float = 0.95) -> pd.DataFrame:
    """:func:`incremental_analysis` of a comparison: mean programme cost and mean extra adopters per scenario.

    The baseline is the comparator (effect 0). Intervals use a paired bootstrap over the comparison's
    replicates, from a generator seeded with the comparison's seed (the same comparison gives the same
    table).
    """
    names, cost, effect = comparison_draws(comp)
    return incremental_analysis(
        names,
        cost.mean(axis=1),
        effect.mean(axis=1),
        draws=(cost, effect),
        seed=comp.seed,
        n_boot=n_boot,
        level=level,
    )
