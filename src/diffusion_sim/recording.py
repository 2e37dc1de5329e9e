"""Per-step recording of a run: the groups results are counted by, and the counts of every step.

The step kernel adds each change to the counts of the agent's groups (:class:`Recorder`), so
recording costs O(changes), not O(N); :class:`diffusion_sim.results.StepCounts` turns the
recorded lists into arrays and the tidy frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from diffusion_sim.behaviour import CHANNELS
from diffusion_sim.kernels import COUNT_FIRST, HOUSEHOLD_GROUP
from diffusion_sim.population import ROLES, Population
from diffusion_sim.scenario.schema import LEADER_KINDS

__all__ = ["FIRST_VILLAGE_GROUP", "Recorder", "agent_group_index", "categorical", "count_by_group", "group_labels"]


FIRST_VILLAGE_GROUP = 1 + len(ROLES) + len(LEADER_KINDS)
"""Index of the first ``village=`` group: after ``all``, the roles and the leader kinds."""


def categorical(codes: np.ndarray, categories: list[str], repeat: int = 1) -> pd.Categorical:
    """A categorical from codes this module made (each in ``range(len(categories))``), tiled ``repeat`` times.

    The codes are cast to the integer width pandas keeps for that many categories before tiling,
    and are not validated again: at a million rows this is the difference between milliseconds
    and nothing.
    """
    width = np.int8 if len(categories) < 127 else np.int16 if len(categories) < 32767 else np.int32
    tiled = np.tile(np.asarray(codes).astype(width, copy=False), repeat)
    return pd.Categorical.from_codes(tiled, dtype=pd.CategoricalDtype(categories), validate=False)


def group_labels(pop: Population) -> list[str]:
    """Names of the groups results are counted by, in the order of their indices.

    0 ``all`` (every agent); 1-3 ``role=...``; 4-7 ``leader_kind=...``; 8..8+V-1 ``village=...``
    (the village's households); 8+V ``marginalised=yes`` and 9+V ``marginalised=no`` (households).
    """
    return [
        "all",
        *(f"role={name}" for name in ROLES),
        *(f"leader_kind={name}" for name in LEADER_KINDS),
        *(f"village={pop.village_label(v)}" for v in range(pop.n_villages)),
        "marginalised=yes",
        "marginalised=no",
    ]


def agent_group_index(pop: Population) -> np.ndarray:
    """For each agent, the indices of the groups of :func:`group_labels` it belongs to (N x 4, -1 = none)."""
    V = pop.n_villages
    out = np.full((pop.n, 4), -1, np.int32)
    out[:, 0] = 0
    out[:, 1] = 1 + pop.role
    leader = pop.role == 1
    out[leader, 2] = 1 + len(ROLES) + pop.leader_kind[leader]
    hh = pop.role == 0
    out[hh, 2] = np.where(pop.marginalised[hh], FIRST_VILLAGE_GROUP + V, FIRST_VILLAGE_GROUP + V + 1)
    out[hh, 3] = FIRST_VILLAGE_GROUP + pop.village[hh]  # village groups count households only
    return out


def count_by_group(
    agent_groups: np.ndarray, flags: np.ndarray, n_groups: int, weight: np.ndarray | None = None
) -> np.ndarray:
    """Number (or total ``weight``) of flagged agents in each group: ``flags`` (N, R) boolean -> (n_groups, R)."""
    R = flags.shape[1]
    rows, cols = np.nonzero(flags)
    g = agent_groups[rows]
    keep = g >= 0
    idx = (g * R + cols[:, None])[keep]
    w = None if weight is None else np.broadcast_to(np.asarray(weight)[rows][:, None], g.shape)[keep]
    return np.rint(np.bincount(idx, weights=w, minlength=n_groups * R)).reshape(n_groups, R).astype(np.int64)


class Recorder:
    """Counts per group for every step: adopters, new adopters, abandonments, adoptions by channel.

    The step kernel adds each change to the counts of the agent's groups, so recording costs
    O(changes), not O(N). Counts come in planes (:data:`diffusion_sim.kernels.COUNT_EVENTS`,
    ``COUNT_PEOPLE``, ``COUNT_FIRST``): agents, people (household sizes) and first-time events.
    """

    def __init__(self, pop: Population, R: int, interventions: list[str] | None = None):
        self.interventions = list(interventions or [])
        self.groups = group_labels(pop)
        self.agent_groups = agent_group_index(pop)
        self.size = np.asarray(pop.household_size, np.int64)
        everyone = np.ones((pop.n, 1), bool)
        self.population = count_by_group(self.agent_groups, everyone, len(self.groups))[:, 0]
        self.people = count_by_group(self.agent_groups, everyone, len(self.groups), self.size)[:, 0]
        self.R = R
        self.steps: list[int] = []
        self.adopters: list[np.ndarray] = []  # (3, G, R) each: agents, people, ever adopted
        self.new: list[np.ndarray] = []
        self.abandoned: list[np.ndarray] = []
        self.by_channel: list[np.ndarray] = []
        self.cost: list[np.ndarray] = []
        self.community_cost: list[np.ndarray] = []
        self.delivered: list[np.ndarray] = []

    def new_spending(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Zeroed (interventions x R) arrays for one step: programme cost, community cost, units delivered."""
        shape = (len(self.interventions), self.R)
        return np.zeros(shape), np.zeros(shape), np.zeros(shape)

    def add_intervention(self, label: str) -> None:
        """A new intervention (switched on during the run): a cost row of zeros in every step so far."""
        self.interventions.append(label)
        for store in (self.cost, self.community_cost, self.delivered):
            store[:] = [np.vstack([x, np.zeros((1, self.R))]) for x in store]

    def remove_intervention(self, index: int) -> None:
        """Forget an intervention that never acted (switched off before its start; its rows are zero)."""
        del self.interventions[index]
        for store in (self.cost, self.community_cost, self.delivered):
            store[:] = [np.delete(x, index, axis=0) for x in store]

    def new_counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Zeroed count arrays for one step.

        New adopters and abandonments per plane and group (3, G, R), and adoptions per channel
        (2, C, R): every adoption, and households' first adoptions.
        """
        g = len(self.groups)
        return (
            np.zeros((3, g, self.R), np.int64),
            np.zeros((3, g, self.R), np.int64),
            np.zeros((2, len(CHANNELS), self.R), np.int64),
        )

    def record_initial(self, adopted: np.ndarray, channel: np.ndarray) -> None:
        """Record step 0 (the initial adopters: everyone's first adoption)."""
        g = len(self.groups)
        counts = count_by_group(self.agent_groups, adopted, g)
        people = count_by_group(self.agent_groups, adopted, g, self.size)
        new = np.stack([counts, people, counts])
        nc = len(CHANNELS)
        rows, cols = np.nonzero(adopted)
        ch = np.bincount(cols * nc + channel[rows, cols].astype(np.int64), minlength=nc * self.R).reshape(self.R, nc).T
        hh = self.agent_groups[rows, 1] == HOUSEHOLD_GROUP
        ch_hh = (
            np.bincount(cols[hh] * nc + channel[rows[hh], cols[hh]].astype(np.int64), minlength=nc * self.R)
            .reshape(self.R, nc)
            .T
        )
        self.steps.append(0)
        self.adopters.append(new.copy())
        self.new.append(new)
        self.abandoned.append(np.zeros_like(new))
        self.by_channel.append(np.stack([ch, ch_hh]))
        for store, value in zip((self.cost, self.community_cost, self.delivered), self.new_spending(), strict=True):
            store.append(value)

    def record(self, step: int, n_new: np.ndarray, n_ab: np.ndarray, by_channel: np.ndarray, spending=None) -> None:
        """Record the counts of ``step``: adopters(t) = adopters(t-1) + new - abandoned; and costs.

        The third plane of ``adopters`` is the number who ever adopted (cumulative first adoptions).
        """
        spending = spending if spending is not None else self.new_spending()
        for store, value in zip((self.cost, self.community_cost, self.delivered), spending, strict=True):
            store.append(value)
        prev = self.adopters[-1]
        now = prev + n_new - n_ab
        now[COUNT_FIRST] = prev[COUNT_FIRST] + n_new[COUNT_FIRST]
        self.steps.append(step)
        self.adopters.append(now)
        self.new.append(n_new)
        self.abandoned.append(n_ab)
        self.by_channel.append(by_channel)
