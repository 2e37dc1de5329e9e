"""What every intervention shares: timing, named random streams, costs, and picking whom to reach."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from numba import njit

from diffusion_sim.kernels import u01
from diffusion_sim.population import HOUSEHOLD

if TYPE_CHECKING:
    from diffusion_sim.model import DiffusionModel
    from diffusion_sim.scenario.intervention_schema import _Intervention

__all__ = ["InterventionImpl", "contact_pairs", "pick_per_provider", "visit_and_convert"]


class InterventionImpl:
    """One intervention of a scenario, acting on a model.

    Subclasses set ``type`` (the schema's tag) and implement :meth:`setup` (once, when the model is
    built) and :meth:`on_step` (at the start of each step, first in the step order). Every random
    decision draws from streams named ``intervention.<identity>.<purpose>``, where the identity is
    the intervention's stable stream identity (:func:`~diffusion_sim.scenario.intervention_schema.stream_identities`:
    its ``id``, else its type), not its display name or list position: renaming, reordering,
    adding, removing or resizing an intervention never shifts another's numbers or the adoption
    rules'.
    """

    type: ClassVar[str] = ""

    def __init__(self, spec: _Intervention, index: int, identity: str | None = None):
        self.spec = spec
        self.index = index
        self.label = spec.label
        self.identity = identity or spec.type

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
        return f"intervention.{self.identity}.{purpose}"

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


@njit(cache=True)
def visit_and_convert(adopted, provider, household, cap, marginalised, first, unique, z_order, z_convert, conversion):
    """One replicate's visits: each provider reaches up to ``cap[p]`` of its households still open.

    ``adopted`` is the replicate's row of the adopted flags; candidate k is ``household[k]`` of
    ``provider[k]``. A household's place in its provider's queue is its uniform under the step key
    ``z_order`` (marginalised households first if ``first``, as :func:`pick_per_provider`); a
    household reached by m providers converts if its uniform under ``z_convert`` falls below
    ``1 - (1 - conversion)^m``. ``unique`` says no household is listed twice. Returns the number of
    visits and the households that convert (the numbers of the numpy streams, compiled).
    """
    n = len(household)
    idx = np.empty(n, np.int64)
    n_open = 0
    for k in range(n):
        if not adopted[household[k]]:
            idx[n_open] = k
            n_open += 1
    idx = idx[:n_open]
    none = np.zeros(0, np.int64)
    if n_open == 0:
        return 0, none
    hh = household[idx]
    if unique:
        uniq = hh
        inverse = np.arange(n_open)
    else:  # households reached through several providers: one draw each
        uniq = np.unique(hh)
        inverse = np.searchsorted(uniq, hh)
    key_u = np.empty(len(uniq))
    for j in range(len(uniq)):
        key_u[j] = u01(z_order, uniq[j])
    prov = provider[idx]
    key = np.empty(n_open)
    n_providers = 0
    for k in range(n_open):
        prio = 0.0 if not first else (0.0 if marginalised[hh[k]] else 1.0)
        key[k] = key_u[inverse[k]] + 2.0 * prio
        n_providers = max(n_providers, prov[k] + 1)
    chosen = _pick(prov, key, cap, n_providers)
    m = np.zeros(len(uniq), np.int64)
    n_visits = 0
    for k in range(n_open):
        if chosen[k]:
            m[inverse[k]] += 1
            n_visits += 1
    if n_visits == 0:
        return 0, none
    win = np.empty(len(uniq), np.int64)
    n_win = 0
    for j in range(len(uniq)):
        if m[j] > 0 and u01(z_convert, uniq[j]) < 1.0 - (1.0 - conversion) ** np.float64(m[j]):
            win[n_win] = uniq[j]
            n_win += 1
    return n_visits, win[:n_win]


def contact_pairs(model: DiffusionModel, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (source, household) ties of ``sources`` in the network: two aligned arrays."""
    T = model.P  # the agents each source influences (with directed ties: those who named it)
    sources = np.asarray(sources, np.int64)
    lengths = T.indptr[sources + 1] - T.indptr[sources]
    src = np.repeat(sources, lengths)
    starts = np.repeat(T.indptr[sources] - (np.cumsum(lengths) - lengths), lengths)  # row start minus offset
    idx = starts + np.arange(int(lengths.sum()))
    dst = T.indices[idx].astype(np.int64)
    keep = model.community.population.role[dst] == HOUSEHOLD
    return src[keep], dst[keep]
