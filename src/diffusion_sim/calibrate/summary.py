"""Summary statistics of adoption and the distance between observed and simulated ones.

The one summary is the **cumulative adoption curve per village**: for each observed step and
village, the share of the village's households that have ever adopted by the end of that step
(``StepCounts.ever_adopted`` over the village's household count). The distance between two such
tables is the root mean squared difference over every (step, village) cell, plus, with weight
``overall``, the same over the overall curve (villages pooled, weighted by their size), so a
village of 10 and one of 1,000 count alike in the first term and by size in the second.
"""

from __future__ import annotations

import numpy as np

from diffusion_sim.results import StepCounts

__all__ = ["distance", "village_curves"]


def village_curves(counts: StepCounts, steps: np.ndarray, replicate: int = 0) -> np.ndarray:
    """(len(steps), villages) cumulative share of each village's households that ever adopted, at ``steps``.

    Steps beyond the last simulated one read the last value (a run that stopped early, quiescent,
    no longer changes).
    """
    v = counts.village_groups
    pop = counts.population[v].astype(float)
    at = np.searchsorted(counts.steps, np.minimum(steps, counts.steps[-1]))
    ever = counts.ever_adopted[at][:, v, replicate].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pop > 0, ever / np.where(pop > 0, pop, 1.0), 0.0)


def distance(simulated: np.ndarray, observed: np.ndarray, sizes: np.ndarray, overall: float = 1.0) -> float:
    """Root mean squared difference of two (steps, villages) curve tables, plus ``overall`` x the pooled curves' one."""
    per_village = float(np.sqrt(np.mean((simulated - observed) ** 2)))
    w = np.asarray(sizes, dtype=float) / float(np.sum(sizes))
    pooled = float(np.sqrt(np.mean((simulated @ w - observed @ w) ** 2)))
    return per_village + overall * pooled
