"""Schema of a scenario's ``network`` section: its layers, a random-graph family, mixing, networks per replicate."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from diffusion_sim.scenario.fields import LAYERS, Probability
from diffusion_sim.scenario.fields import Strict as _Strict

__all__ = ["Layer", "Network", "RandomGraph"]


class Layer(_Strict):
    """One layer of the community network."""

    enabled: bool = Field(True, description="Whether the layer exists.")
    weight: float = Field(
        1.0,
        ge=0.0,
        le=100.0,
        description=(
            "Weight of a tie of this layer (times the tie's own weight and the contact's influence x trust): its "
            "share of the weighted exposure under the fractional and linear_threshold rules and imitation, its count "
            "under the absolute rule, and the exponent q of a cascade's chance 1 - (1 - p)^q."
        ),
    )
    degree: float = Field(
        2.0,
        ge=0.0,
        le=1000.0,
        description="Ties per household drawn (kin, inter_village: random pairs, before repeats are merged and marginalised ties thinned; neighbour: ring neighbours, rounded down to even). Unused by other layers.",
    )
    rewire: Probability = Field(
        0.0, description="Small-world rewiring probability within the village (neighbour layer only)."
    )
    reach: Probability = Field(
        1.0,
        description="congregation: share of households in a congregation; leader: chance each household is tied to each traditional, youth and women leader of its village; catchment: share of a catchment's households tied to its worker. Unused by other layers.",
    )


class RandomGraph(_Strict):
    """A named random-graph family drawn over every agent instead of the generated layers."""

    family: Literal["erdos_renyi", "configuration", "watts_strogatz", "stochastic_block"] = Field(
        description=(
            "erdos_renyi: each pair tied with probability mean_degree / (n - 1); configuration: the configuration "
            "model of degrees (self-loops and repeats dropped); watts_strogatz: a ring of degree neighbours rewired "
            "with probability rewire; stochastic_block: villages are the blocks, pairs tied with probability within "
            "inside a village and between across villages."
        )
    )
    weight: float = Field(1.0, ge=0.0, le=100.0, description="Weight of a tie (as a layer's weight).")
    mean_degree: float = Field(4.0, ge=0.0, le=10_000.0, description="erdos_renyi: expected ties per agent.")
    degrees: list[Annotated[int, Field(ge=0)]] | None = Field(
        None, max_length=20_000_000, description="configuration: the degree of every agent, in agent order."
    )
    degree: int = Field(4, ge=0, le=10_000, description="watts_strogatz: ring neighbours per agent (even).")
    rewire: Probability = Field(0.1, description="watts_strogatz: rewiring probability.")
    within: Probability = Field(0.05, description="stochastic_block: tie probability within a village.")
    between: Probability = Field(0.001, description="stochastic_block: tie probability across villages.")

    @model_validator(mode="after")
    def _needs(self) -> RandomGraph:
        if self.family == "configuration" and self.degrees is None:
            raise ValueError("the configuration family needs degrees: one per agent, in agent order")
        return self


def _layer(**kw: float | bool) -> Layer:
    return Layer(**kw)


class Network(_Strict):
    """The layered network: which layers exist and how much their ties weigh."""

    mixing: Literal["network", "population", "village"] = Field(
        "network",
        description=(
            "Who influences whom. network: the ties of the layers below. population: a well-mixed population, "
            "every agent exposed to the (influence x trust weighted) share of adopters in the whole population, "
            "no ties built (Bass diffusion); village: the same within each village. Cascades need ties."
        ),
    )
    random_graph: RandomGraph | None = Field(
        None, description="A named random-graph family over every agent, instead of the layers below (generated only)."
    )
    per_replicate: bool = Field(
        False,
        description=(
            "Draw a new network for every replicate (the generated layers or the random graph; the population stays "
            "the one drawn from the run's seed). Replicate r's network depends only on the seed and r."
        ),
    )

    kin: Layer = Field(
        default_factory=lambda: _layer(weight=1.5, degree=3.0), description="Kin ties between households of a village."
    )
    neighbour: Layer = Field(
        default_factory=lambda: _layer(weight=1.0, degree=4.0, rewire=0.05),
        description="Neighbour ties: a ring of households in each village, rewired into a small world.",
    )
    congregation: Layer = Field(
        default_factory=lambda: _layer(weight=1.0, reach=0.8),
        description="Households' ties to the religious leader of their congregation.",
    )
    leader: Layer = Field(
        default_factory=lambda: _layer(weight=1.0, reach=0.3),
        description="Ties of traditional, youth and women leaders to households of their village, and among a village's leaders.",
    )
    catchment: Layer = Field(
        default_factory=lambda: _layer(weight=1.0, reach=0.3),
        description="Health workers' ties to the households of their catchment.",
    )
    inter_village: Layer = Field(
        default_factory=lambda: _layer(weight=0.5, degree=0.1),
        description="Sparse ties between households of different villages.",
    )

    def by_layer(self) -> list[Layer]:
        """Layers in the order of :data:`LAYERS`."""
        return [getattr(self, name) for name in LAYERS]
