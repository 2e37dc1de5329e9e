"""Mesa agents that view the model's arrays: Household, Leader, HealthWorker.

They hold no state of their own: every attribute is a property reading row ``index`` of the
model's arrays (replicate column 0), so ``model.agents_by_type[Leader]``, ``AgentSet.select``,
``agg``, ``groupby`` and Mesa's ``DataCollector`` see exactly what the vectorised step wrote. The
agents have no ``step``: the model's step is vectorised and never calls ``agents.do("step")``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from diffusion_sim.behaviour import CHANNELS
from diffusion_sim.scenario.schema import AGENT_TYPES, LEADER_KINDS

if TYPE_CHECKING:
    from diffusion_sim.model import DiffusionModel

__all__ = ["CommunityAgent", "HealthWorker", "Household", "Leader"]


class CommunityAgent(mesa.Agent):
    """Common view of one row of the model's arrays."""

    def __init__(self, model: DiffusionModel, index: int):
        super().__init__(model)
        self.index = index

    @property
    def agent_type(self) -> str:
        """household, religious_leader, ..., health_worker."""
        return AGENT_TYPES[int(self.model.community.population.agent_type[self.index])]

    @property
    def village(self) -> int:
        """Village index."""
        return int(self.model.community.population.village[self.index])

    @property
    def adopted(self) -> bool:
        """Whether the agent currently practises the behaviour."""
        return bool(self.model.adopted[self.index, 0])

    @property
    def adopted_at(self) -> int | None:
        """Step of first adoption (0 for seeds), None if never adopted."""
        v = int(self.model.adopted_at[self.index, 0])
        return None if v < 0 else v

    @property
    def channel(self) -> str | None:
        """Channel of first adoption (seed, peer, leader, health_worker, media, spontaneous)."""
        v = int(self.model.channel[self.index, 0])
        return None if v < 0 else CHANNELS[v]

    @property
    def abandoned_at(self) -> int | None:
        """Step of the most recent dis-adoption, None if never."""
        v = int(self.model.abandoned_at[self.index, 0])
        return None if v < 0 else v

    @property
    def threshold(self) -> float:
        """Adoption threshold."""
        return float(self.model.threshold[self.index, 0])

    @property
    def exposure(self) -> float:
        """Weighted share of this agent's contacts who have adopted."""
        w = self.model._w[0, self.index]
        return float(self.model._s[0, self.index] / w) if w > 0 else 0.0

    def contacts(self) -> list[CommunityAgent]:
        """Agents whose adoption counts for this one, in any layer carrying influence (directed ties: whom it named)."""
        T = self.model.T
        cols = T.indices[T.indptr[self.index] : T.indptr[self.index + 1]]
        return [self.model.agent(int(j)) for j in cols]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(index={self.index}, village={self.village}, adopted={self.adopted})"


class Household(CommunityAgent):
    """A household: the unit that adopts the behaviour."""

    @property
    def household_size(self) -> int:
        """People in the household."""
        return int(self.model.community.population.household_size[self.index])

    @property
    def marginalised(self) -> bool:
        """Marginalised household flag."""
        return bool(self.model.community.population.marginalised[self.index])

    @property
    def congregation(self) -> int | None:
        """Agent index of the household's religious leader."""
        v = int(self.model.community.population.congregation[self.index])
        return None if v < 0 else v

    @property
    def catchment(self) -> int | None:
        """Agent index of the household's health worker."""
        v = int(self.model.community.population.catchment[self.index])
        return None if v < 0 else v


class Leader(CommunityAgent):
    """A religious, traditional, youth or women leader."""

    @property
    def kind(self) -> str:
        """religious, traditional, youth or women."""
        return LEADER_KINDS[int(self.model.community.population.leader_kind[self.index])]


class HealthWorker(CommunityAgent):
    """A community health worker with a catchment of households."""

    @property
    def catchment_households(self) -> np.ndarray:
        """Agent indices of the households in this worker's catchment."""
        return np.flatnonzero(self.model.community.population.catchment == self.index)
