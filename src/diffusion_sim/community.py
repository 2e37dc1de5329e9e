"""A community: its population and its layered network, generated or imported."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from diffusion_sim.network.build import build_network
from diffusion_sim.network.graph import EdgeList, LayeredNetwork
from diffusion_sim.population import HEALTH_WORKER, HOUSEHOLD, Population, generate_population
from diffusion_sim.resources import check_scenario_memory
from diffusion_sim.rng import generator
from diffusion_sim.scenario.schema import Scenario

if TYPE_CHECKING:
    from diffusion_sim.network.cleaning import CleaningReport

__all__ = ["Community", "build_community", "pinned_seed", "replicate_community", "single_layer_community"]


@dataclass(eq=False)
class Community:
    """Who lives in the community and who is tied to whom.

    ``cleaning`` is what a survey import read and cleaned (None for other communities).
    """

    population: Population
    network: LayeredNetwork
    cleaning: CleaningReport | None = None

    def __post_init__(self) -> None:
        if self.network.n != self.population.n:
            raise ValueError(f"network has {self.network.n} nodes but the population {self.population.n} agents")

    @property
    def n(self) -> int:
        """Number of agents."""
        return self.population.n


def build_community(scenario: Scenario, seed: int) -> Community:
    """Generate the scenario's community, or read it (``community.survey``, ``community.imported``).

    ``community.seed`` overrides ``seed``. A ``community.people`` table then sets the per-person
    values it lists (:mod:`diffusion_sim.network.people`).
    """
    c = scenario.community
    if c.seed is not None:
        seed = c.seed
    if c.survey is not None:
        from diffusion_sim.network.survey import read_survey_community

        community = read_survey_community(c.survey, scenario)
    elif c.imported is not None:
        from diffusion_sim.network.io import read_community

        community = read_community(c.imported, scenario)
    else:
        check_scenario_memory(scenario, 1, source=f"scenario {scenario.name!r}")  # before any large allocation
        pop = generate_population(scenario, generator(seed, "community.population"))
        if scenario.network.mixing != "network":  # well mixed: influence needs no ties, none are built
            community = Community(population=pop, network=LayeredNetwork(n=pop.n))
        else:
            community = Community(population=pop, network=build_network(scenario, pop, seed))
    if c.people is not None:
        from diffusion_sim.network.people import read_people

        community = read_people(community, c.people, scenario)
    return community


def pinned_seed(scenario: Scenario, seed: int) -> Scenario:
    """The scenario with the community seed that :func:`build_community` would use with ``seed`` written in.

    A generated community without its own ``community.seed`` is built from the run's seed; with it
    pinned, the scenario describes that one community whatever seed it is later run with.
    Communities read from files are left as they are.
    """
    if scenario.community.seed is None and not scenario.community.from_files:
        return scenario.model_copy(update={"community": scenario.community.model_copy(update={"seed": seed})})
    return scenario


def replicate_community(scenario: Scenario, base: Community, seed: int, replicate: int) -> Community:
    """Replicate ``replicate``'s community under ``network.per_replicate``: the same people, its own network.

    A generated network is drawn from a seed that depends only on the run's seed and the replicate,
    so a replicate's network is the same whichever replicates run beside it; an imported community
    reads the replicate's file of ``community.imported.networks``.
    """
    if scenario.community.imported is not None:  # a file per replicate
        from diffusion_sim.network.io import read_replicate_network

        return read_replicate_network(scenario.community.imported, scenario, base, replicate)
    if scenario.community.seed is not None:
        seed = scenario.community.seed
    own = int(generator(seed, f"network.replicate.{replicate}").integers(0, 2**63 - 1))
    return Community(population=base.population, network=build_network(scenario, base.population, own))


def single_layer_community(n: int, edges, seeds=(), layer: str = "kin") -> Community:
    """``n`` agents in one village tied by ``edges`` (pairs) in one unit-weight layer.

    Agents in ``seeds`` are health workers, every other agent a household: with
    :func:`diffusion_sim.scenario.plain_scenario` exactly the seeds adopt at step 0. For known-answer
    tests and for benchmarks that run the same graph on other engines.
    """
    role = np.full(n, HOUSEHOLD, np.int8)
    role[np.asarray(seeds, dtype=np.int64)] = HEALTH_WORKER
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
