"""The roster of agents as arrays: type, role, leader kind, village, household size, marginalised, ...

Agent ``i`` is row ``i`` of every array. A generated population lists households first (village by
village), then leaders (village by village, kind by kind), then health workers; nothing else in
the package relies on that order, so imported populations may list agents in any order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from diffusion_sim.scenario.schema import AGENT_TYPES, LEADER_KINDS, Scenario

__all__ = [
    "HEALTH_WORKER",
    "HOUSEHOLD",
    "LEADER",
    "ROLES",
    "Population",
    "expected_agents",
    "generate_population",
    "type_code",
]

ROLES: tuple[str, ...] = ("household", "leader", "health_worker")
HOUSEHOLD, LEADER, HEALTH_WORKER = 0, 1, 2


def type_code(role: int, kind: int) -> int:
    """Agent-type code (index into :data:`AGENT_TYPES`) from a role and a leader kind."""
    if role == HOUSEHOLD:
        return 0
    if role == HEALTH_WORKER:
        return len(AGENT_TYPES) - 1
    return 1 + kind


@dataclass(eq=False)
class Population:
    """Per-agent attributes, one array each, all of length ``n``.

    Attributes:
        role: 0 household, 1 leader, 2 health worker (:data:`ROLES`).
        leader_kind: 0..3 for leaders (:data:`LEADER_KINDS`), -1 otherwise.
        village: village index 0..n_villages-1.
        household_size: people in the household (0 for leaders and health workers).
        marginalised: marginalised household flag (False for leaders and health workers).
        congregation: agent index of the household's religious leader, -1 if none.
        catchment: agent index of the household's health worker, -1 if none.
        labels: original ids (for imported communities), else None.
        village_names: names of villages (imported communities), else None.
        threshold: per-person adoption threshold (NaN: drawn from the role's distribution), or None.
        initial: per-person initial adopters (they adopt at step 0, channel ``seed``), or None.
        adoption_time: observed time of adoption from survey data (NaN: never or not known), or None;
            only read by diagnostics (``inspect``), never by the dynamics.

    """

    role: np.ndarray
    leader_kind: np.ndarray
    village: np.ndarray
    household_size: np.ndarray
    marginalised: np.ndarray
    congregation: np.ndarray
    catchment: np.ndarray
    n_villages: int
    labels: np.ndarray | None = None
    village_names: list[str] | None = None
    threshold: np.ndarray | None = None
    initial: np.ndarray | None = None
    adoption_time: np.ndarray | None = None
    _type: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        n = len(self.role)
        for name in ("leader_kind", "village", "household_size", "marginalised", "congregation", "catchment"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"population array {name} has length {len(getattr(self, name))}, expected {n}")
        for name in ("threshold", "initial", "adoption_time"):
            if getattr(self, name) is not None and len(getattr(self, name)) != n:
                raise ValueError(f"population array {name} has length {len(getattr(self, name))}, expected {n}")

    @property
    def n(self) -> int:
        """Number of agents."""
        return len(self.role)

    @property
    def agent_type(self) -> np.ndarray:
        """Agent-type code 0..5 (:data:`AGENT_TYPES`): household, four leader kinds, health worker."""
        if self._type is None:
            t = np.zeros(self.n, dtype=np.int8)
            t[self.role == LEADER] = 1 + self.leader_kind[self.role == LEADER]
            t[self.role == HEALTH_WORKER] = len(AGENT_TYPES) - 1
            self._type = t
        return self._type

    def indices(self, role: int) -> np.ndarray:
        """Agent indices of one role."""
        return np.flatnonzero(self.role == role)

    def counts(self) -> dict[str, int]:
        """Number of agents of each type."""
        c = np.bincount(self.agent_type, minlength=len(AGENT_TYPES))
        return {name: int(c[i]) for i, name in enumerate(AGENT_TYPES)}

    def village_label(self, v: int) -> str:
        """Printable name of village ``v``."""
        return self.village_names[v] if self.village_names else str(v)


def _split_even(total: int, parts: int) -> np.ndarray:
    base, extra = divmod(total, parts)
    sizes = np.full(parts, base, dtype=np.int64)
    sizes[:extra] += 1
    return sizes


def expected_agents(scenario: Scenario) -> int | None:
    """Agents a scenario's generated community will have, from the scenario alone (None if read from files).

    The same count :func:`generate_population` makes: households, plus every village's leaders of
    each kind and health workers.
    """
    c = scenario.community
    if c.from_files:
        return None
    per_village = sum(getattr(c.leaders, k) for k in LEADER_KINDS) + c.health_workers
    return c.households + c.villages * per_village


def generate_population(scenario: Scenario, rng: np.random.Generator) -> Population:
    """Generate the roster of a scenario's community from one generator.

    Households are split evenly among villages; each village has the scenario's leaders of each
    kind and health workers. Households join a congregation of a random religious leader of their
    village with probability ``network.congregation.reach`` and fall into the catchment of one of
    their village's health workers by position (catchments are contiguous blocks of the village).
    """
    c = scenario.community
    V, H = c.villages, c.households
    hh_per_village = _split_even(H, V)
    hh_village = np.repeat(np.arange(V, dtype=np.int32), hh_per_village)
    hh_size = (1 + rng.poisson(c.household_size - 1.0, size=H)).astype(np.int16)
    hh_marg = rng.random(H) < c.marginalised_share

    kinds_per_village = np.array([getattr(c.leaders, k) for k in LEADER_KINDS], dtype=np.int64)
    L_v = int(kinds_per_village.sum())
    ld_village = np.repeat(np.arange(V, dtype=np.int32), L_v)
    ld_kind = np.tile(np.repeat(np.arange(len(LEADER_KINDS), dtype=np.int8), kinds_per_village), V)
    W_v = c.health_workers
    hw_village = np.repeat(np.arange(V, dtype=np.int32), W_v)

    n = H + L_v * V + W_v * V
    role = np.concatenate(
        [np.full(H, HOUSEHOLD, np.int8), np.full(L_v * V, LEADER, np.int8), np.full(W_v * V, HEALTH_WORKER, np.int8)]
    )
    leader_kind = np.concatenate([np.full(H, -1, np.int8), ld_kind, np.full(W_v * V, -1, np.int8)])
    village = np.concatenate([hh_village, ld_village, hw_village])
    household_size = np.concatenate([hh_size, np.zeros(n - H, np.int16)])
    marginalised = np.concatenate([hh_marg, np.zeros(n - H, bool)])

    hh_start = np.concatenate([[0], np.cumsum(hh_per_village)[:-1]])
    local = np.arange(H) - np.repeat(hh_start, hh_per_village)  # position of a household in its village

    congregation = np.full(n, -1, np.int32)
    n_rel = c.leaders.religious
    if n_rel > 0:
        member = rng.random(H) < scenario.network.congregation.reach
        pick = rng.integers(0, n_rel, size=H)
        # religious leaders come first within each village's leader block
        leader_of = H + hh_village.astype(np.int64) * L_v + pick
        congregation[:H] = np.where(member, leader_of, -1)

    catchment = np.full(n, -1, np.int32)
    if W_v > 0:
        sizes = np.repeat(hh_per_village, 1)
        block = (local * W_v) // np.maximum(np.repeat(sizes, sizes), 1)  # 0..W_v-1, contiguous blocks
        catchment[:H] = H + L_v * V + hh_village.astype(np.int64) * W_v + block

    return Population(
        role=role,
        leader_kind=leader_kind,
        village=village,
        household_size=household_size,
        marginalised=marginalised,
        congregation=congregation,
        catchment=catchment,
        n_villages=V,
    )
