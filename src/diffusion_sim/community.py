"""A community: its population and its layered network, generated or imported."""

from __future__ import annotations

from dataclasses import dataclass

from diffusion_sim.network.build import build_network
from diffusion_sim.network.graph import LayeredNetwork
from diffusion_sim.population import Population, generate_population
from diffusion_sim.rng import generator
from diffusion_sim.scenario.schema import Scenario

__all__ = ["Community", "build_community"]


@dataclass(eq=False)
class Community:
    """Who lives in the community and who is tied to whom."""

    population: Population
    network: LayeredNetwork

    def __post_init__(self) -> None:
        if self.network.n != self.population.n:
            raise ValueError(f"network has {self.network.n} nodes but the population {self.population.n} agents")

    @property
    def n(self) -> int:
        """Number of agents."""
        return self.population.n


def build_community(scenario: Scenario, seed: int) -> Community:
    """Generate (or import) the scenario's community; ``community.seed`` overrides ``seed``."""
    if scenario.community.seed is not None:
        seed = scenario.community.seed
    if scenario.community.imported is not None:
        from diffusion_sim.network.io import read_community

        return read_community(scenario.community.imported, scenario)
    pop = generate_population(scenario, generator(seed, "community.population"))
    return Community(population=pop, network=build_network(scenario, pop, seed))
