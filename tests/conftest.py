"""Shared helpers: small hand-made communities and scenarios for known-answer tests."""

from __future__ import annotations

import numpy as np
import pytest

from diffusion_sim.community import Community
from diffusion_sim.network.graph import EdgeList, LayeredNetwork
from diffusion_sim.population import HEALTH_WORKER, HOUSEHOLD, Population
from diffusion_sim.scenario import Scenario, apply_overrides


def make_community(
    n: int, edges: list[tuple[int, int]] | np.ndarray, seeds: list[int] | np.ndarray = (), layer: str = "kin"
) -> Community:
    """n agents in one village tied by ``edges`` in one layer; agents in ``seeds`` are health
    workers (made to adopt at step 0 by :func:`plain_scenario`), the others households."""
    role = np.full(n, HOUSEHOLD, np.int8)
    role[list(seeds)] = HEALTH_WORKER
    pop = Population(
        role=role,
        leader_kind=np.full(n, -1, np.int8),
        village=np.zeros(n, np.int32),
        household_size=np.ones(n, np.int16),
        marginalised=np.zeros(n, bool),
        congregation=np.full(n, -1, np.int32),
        catchment=np.full(n, -1, np.int32),
        n_villages=1,
    )
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    net = LayeredNetwork(n=n, layers={layer: EdgeList.unit(e[:, 0], e[:, 1])} if len(e) else {})
    return Community(population=pop, network=net)


def plain_scenario(**overrides) -> Scenario:
    """Unit weights everywhere, health workers adopt at step 0, households never seed, every
    stochastic channel off, no abandonment; ``overrides`` are dotted paths (use __ for dots)."""
    base = {
        "behaviour.external": 0.0,
        "behaviour.spontaneous": 0.0,
        "behaviour.imitation": 0.0,
        "behaviour.cascade_probability": 0.0,
        "behaviour.abandonment.rate": 0.0,
        "behaviour.abandonment.peer_support": 0.0,
        "roles.household.initial_adoption": 0.0,
        "roles.health_worker.initial_adoption": 1.0,
    }
    for t in ("household", "religious_leader", "traditional_leader", "youth_leader", "women_leader", "health_worker"):
        base[f"roles.{t}.influence"] = 1.0
        base[f"roles.{t}.trust"] = 1.0
    for layer in ("kin", "neighbour", "congregation", "leader", "catchment", "inter_village"):
        base[f"network.{layer}.weight"] = 1.0
    base.update({k.replace("__", "."): v for k, v in overrides.items()})
    return apply_overrides(Scenario(), base)


def ring_lattice(n: int, half: int) -> list[tuple[int, int]]:
    """Edges of a ring where each node is tied to its ``half`` nearest nodes on each side."""
    return [(i, (i + d) % n) for i in range(n) for d in range(1, half + 1)]


@pytest.fixture
def small_scenario() -> Scenario:
    """The default scenario shrunk to 600 households in 3 villages (fast)."""
    return apply_overrides(Scenario(), {"community.households": 600, "community.villages": 3})
