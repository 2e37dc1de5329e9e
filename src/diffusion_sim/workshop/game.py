"""The seeding game: participants pick whom to seed, and see their coverage against built-in strategies.

Each player picks ``budget`` agents on the network. Their choice is scored as a
:class:`~diffusion_sim.scenario.intervention_schema.Seeding` intervention with strategy ``chosen``
at step 1, and so is each built-in strategy with the same number of seeds, all on the same seed and
replicates (common random numbers): the only difference between two scores is whom they seeded.
The score is the share of households that have adopted at the end of the run, averaged over the
replicates, through the one run path (:func:`diffusion_sim.runner.run`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from diffusion_sim.community import Community
from diffusion_sim.runner import run
from diffusion_sim.scenario import Scenario

__all__ = ["STRATEGIES", "Score", "SeedingGame"]

STRATEGIES: tuple[tuple[str, str], ...] = (
    ("random", "random people"),
    ("highest_degree", "most connected"),
    ("leaders", "leaders"),
    ("marginalised_first", "marginalised households first"),
)
"""The built-in strategies a player is scored against: (strategy, label)."""


@dataclass(frozen=True)
class Score:
    """One entry of the leaderboard."""

    player: str
    coverage: float  # share of households adopted at the end, mean over replicates
    seeds: tuple[int, ...] = ()
    builtin: bool = False


@dataclass
class SeedingGame:
    """One session's game: a budget, the current picks, and the leaderboard."""

    scenario: Scenario
    seed: int
    community: Community
    budget: int = 5
    replicates: int = 8
    picks: list[int] = field(default_factory=list)
    board: list[Score] = field(default_factory=list)
    _builtin: dict[int, list[Score]] = field(default_factory=dict, repr=False)  # budget -> built-in scores

    def pick(self, agent: int) -> bool:
        """Toggle an agent in the picks; False (nothing changes) when the budget is already spent."""
        if agent in self.picks:
            self.picks.remove(agent)
            return True
        if len(self.picks) >= self.budget:
            return False
        self.picks.append(int(agent))
        return True

    def _coverage(self, seeding: dict[str, Any]) -> float:
        iv = {"type": "seeding", "id": "workshop.game", "start": 1, "cost_per_seed": 0.0, **seeding}
        data = self.scenario.model_dump(mode="python")
        data["interventions"] = [*data["interventions"], iv]
        scenario = Scenario.model_validate(data)
        result = run(scenario, self.seed, replicates=range(self.replicates), agents=False, community=self.community)
        counts = result.counts
        g = counts.groups.index("role=household")
        return float((counts.adopters[-1, g, :] / counts.population[g]).mean())

    def play(self, player: str) -> list[Score]:
        """Score the picks (they must fill the budget) and the built-in strategies; returns the board, best first."""
        if len(self.picks) != self.budget:
            raise ValueError(f"pick {self.budget} people first ({len(self.picks)} picked)")
        name = player.strip() or f"player {sum(not s.builtin for s in self.board) + 1}"
        self.board = [s for s in self.board if not s.builtin]
        self.board.append(
            Score(name, self._coverage({"strategy": "chosen", "people": sorted(self.picks)}), tuple(self.picks))
        )
        if self.budget not in self._builtin:
            self._builtin[self.budget] = [
                Score(label, self._coverage({"strategy": strategy, "count": self.budget}), builtin=True)
                for strategy, label in STRATEGIES
            ]
        self.board.extend(self._builtin[self.budget])
        self.board.sort(key=lambda s: -s.coverage)
        self.picks = []
        return self.board
