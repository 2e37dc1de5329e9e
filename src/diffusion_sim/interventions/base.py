"""What every intervention shares: timing, named random streams, costs, and picking whom to reach."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from numba import njit

from diffusion_sim.population import HOUSEHOLD

if TYPE_CHECKING:
    from diffusion_sim.model import DiffusionModel
    from diffusion_sim.scenario.intervention_schema import _Intervention

__all__ = ["InterventionImpl", "pick_per_provider", "contact_pairs"]


class InterventionImpl:
    """One intervention of a scenario, acting on a model.

    Subclasses set ``type`` (the schema's tag) and implement :meth:`setup` (once, when the model is
    built) and :meth:`on_step` (at the start of each step, first in the step order). Every random
    decision draws from streams named ``intervention.<label>.<purpose>``, so adding, removing or
    resizing one intervention never shifts another's numbers or the adoption rules'.
    """

    type: ClassVar[str] = ""

    def __init__(self, spec: _Intervention, index: int):
        self.spec = spec
        self.index = index
        self.label = spec.label

    # ------------------------------------------------------------------ hooks
    def setup(self, model: DiffusionModel) -> None:
        """Choose targets that stay fixed for the run (reach, trainees, distributors...)."""

    def on_step(self, model: DiffusionModel, t: int) -> None:
        """Act at the start of step ``t`` (called every step; check :meth:`active`)."""

    def act(self, model: DiffusionModel, t: int) -> None:
        """Called by the model: fixed cost at the start step, then :meth:`on_step`."""
        if t == self.spec.start and self.spec.fixed_cost:
            model.spend(self.index, np.full(model.R, self.spec.fixed_cost))
        self.on_step(model, t)

    # ------------------------------------------------------------------ helpers
    def active(self, t: int) -> bool:
        """Whether the intervention acts on step ``t``."""
        return self.spec.active(t)

    def ended(self, t: int) -> bool:
        """Whether ``t`` is the first step after the intervention's window (time to undo effects)."""
        return self.spec.end is not None and t == self.spec.end + 1

    def stream(self, purpose: str) -> str:
        """Name of this intervention's stream for one purpose."""
        return f"intervention.{self.label}.{purpose}"

    def uniform(self, model: DiffusionModel, purpose: str, t: int, agents: np.ndarray) -> np.ndarray:
        """Uniforms (len(agents), R) of one of this intervention's streams."""
        return model.streams.uniform(self.stream(purpose), t, np.asarray(agents, np.int64))


def pick_per_provider(
    provider: np.ndarray, key: np.ndarray, capacity: np.ndarray | int, first: np.ndarray | None = None
) -> np.ndarray:
    """Boolean mask of the candidates each provider reaches: up to ``capacity`` per provider.

    Candidate k belongs to ``provider[k]`` (a non-negative integer); within a provider, candidates
    with ``first`` set come first, then by increasing ``key`` (a uniform draw: a random order that
    stays the same for the same agent whatever else changes). ``capacity`` is one number or one
    per provider (indexed by provider id).
    """
    n = len(provider)
    if n == 0:
        return np.zeros(0, bool)
    provider = np.asarray(provider, np.int64)
    n_providers = int(provider.max()) + 1
    cap = np.full(n_providers, int(capacity), np.int64) if np.isscalar(capacity) else np.asarray(capacity, np.int64)
    prio = np.zeros(n, np.float64) if first is None else (~np.asarray(first, bool)).astype(np.float64)
    return _pick(provider, np.asarray(key, np.float64) + 2.0 * prio, cap, n_providers)


@njit(cache=True)
def _pick(provider, key, cap, n_providers):
    """Per provider, flag the ``cap[p]`` candidates with the smallest keys (ties: lowest index)."""
    n = len(provider)
    start = np.zeros(n_providers + 1, np.int64)
    for k in range(n):
        start[provider[k] + 1] += 1
    for p in range(n_providers):
        start[p + 1] += start[p]
    pos = start[:-1].copy()
    members = np.empty(n, np.int64)
    for k in range(n):  # counting sort by provider, stable
        members[pos[provider[k]]] = k
        pos[provider[k]] += 1
    chosen = np.zeros(n, np.bool_)
    for p in range(n_providers):
        a, b = start[p], start[p + 1]
        c = cap[p] if p < len(cap) else 0
        if c <= 0 or a == b:
            continue
        if b - a <= c:
            for k in range(a, b):
                chosen[members[k]] = True
            continue
        if c <= 16:  # keep the c smallest (key, index) in a small sorted buffer: O(size x c)
            best_k = np.full(c, np.inf)
            best_i = np.full(c, -1, np.int64)
            for m in range(a, b):
                j = members[m]
                kj = key[j]
                if kj < best_k[c - 1] or (kj == best_k[c - 1] and j < best_i[c - 1]):
                    h = c - 1
                    while h > 0 and (kj < best_k[h - 1] or (kj == best_k[h - 1] and j < best_i[h - 1])):
                        best_k[h] = best_k[h - 1]
                        best_i[h] = best_i[h - 1]
                        h -= 1
                    best_k[h] = kj
                    best_i[h] = j
            for h in range(c):
                chosen[best_i[h]] = True
        else:
            group = members[a:b]
            order = np.argsort(key[group], kind="mergesort")  # stable: ties keep index order
            for k in range(c):
                chosen[group[order[k]]] = True
    return chosen


def contact_pairs(model: DiffusionModel, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (source, household) ties of ``sources`` in the network: two aligned arrays."""
    T = model.T
    sources = np.asarray(sources, np.int64)
    lengths = T.indptr[sources + 1] - T.indptr[sources]
    src = np.repeat(sources, lengths)
    starts = np.repeat(T.indptr[sources] - (np.cumsum(lengths) - lengths), lengths)  # row start minus offset
    idx = starts + np.arange(int(lengths.sum()))
    dst = T.indices[idx].astype(np.int64)
    keep = model.community.population.role[dst] == HOUSEHOLD
    return src[keep], dst[keep]
