"""The intervention families a scenario can name (``type:`` in the ``interventions`` list)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from diffusion_sim import behaviour as bh
from diffusion_sim import kernels
from diffusion_sim.errors import UserError
from diffusion_sim.interventions.base import InterventionImpl, contact_pairs, pick_per_provider, visit_and_convert
from diffusion_sim.population import HOUSEHOLD, LEADER
from diffusion_sim.scenario.schema import LEADER_KINDS

if TYPE_CHECKING:
    from diffusion_sim.model import DiffusionModel

__all__ = [
    "CommunityDialogueImpl",
    "CommunityDistributionImpl",
    "FeedbackMechanismImpl",
    "HomeVisitsImpl",
    "LeaderTrainingImpl",
    "MediaCampaignImpl",
    "PeerMonitoringImpl",
    "SeedingImpl",
    "YouthVolunteersImpl",
]


def _visit_and_convert(
    model: DiffusionModel,
    iv: InterventionImpl,
    t: int,
    provider: np.ndarray,
    household: np.ndarray,
    capacity: int | np.ndarray,
    conversion: float,
    channel: int,
    marginalised_first: bool = False,
    unique: bool = False,
) -> np.ndarray:
    """Each provider reaches up to ``capacity`` of its candidate households that have not adopted.

    Each reached household converts with probability ``conversion`` (``1 - (1 - p)^m`` if m
    providers reach it). ``unique`` says that no household is listed twice (then none needs
    grouping). Returns the number of visits per replicate.
    """
    visits = np.zeros(model.R)
    z = _visit_keys(model, iv, t)
    for r in range(model.R):
        visits[r] = _visit_and_convert_one(
            model, iv, z, r, provider, household, capacity, conversion, channel, marginalised_first, unique
        )
    return visits


def _talk_to_ties(model, iv, t, speakers: list[np.ndarray], pairs, capacity: int, conversion: float, channel: int):
    """Each replicate's ``speakers[r]`` talk to up to ``capacity`` non-adopter households among their ties.

    ``pairs`` holds all (speaker, household) ties. Returns the talks per replicate.
    """
    src, hh = pairs
    talks = np.zeros(model.R)
    z = _visit_keys(model, iv, t)
    for r in range(model.R):
        mine = np.zeros(model.n, bool)
        mine[speakers[r]] = True
        keep = mine[src]
        if keep.any():
            talks[r] = _visit_and_convert_one(model, iv, z, r, src[keep], hh[keep], capacity, conversion, channel)
    return talks


def _adopt_and_empower(model: DiffusionModel, chosen: list[np.ndarray], channel: int, multiplier: float) -> None:
    """The agents ``chosen[r]`` of each replicate r adopt now; their influence x trust is multiplied."""
    cols = np.concatenate([np.full(len(x), r) for r, x in enumerate(chosen)])
    rows = np.concatenate(chosen)
    model.adopt(rows, cols, channel)
    if multiplier != 1.0:
        model.scale_influence(rows, cols, multiplier)


class LeaderTrainingImpl(InterventionImpl):
    """Trained leaders adopt, count more, and hold conversations.

    Their influence x trust is multiplied; each step each talks to non-adopter households among its
    ties.
    """

    type = "leader_training"

    def setup(self, model: DiffusionModel) -> None:  # noqa: D102
        pop = model.community.population
        kinds = [LEADER_KINDS.index(k) for k in self.spec.kinds]
        leaders = np.flatnonzero((pop.role == LEADER) & np.isin(pop.leader_kind, kinds))
        u = self.uniform(model, "select", 0, leaders)
        self.trained = [leaders[u[:, r] < self.spec.coverage] for r in range(model.R)]
        self.pairs = contact_pairs(model, leaders)

    def on_step(self, model: DiffusionModel, t: int) -> None:  # noqa: D102
        s = self.spec
        if t == s.start:
            _adopt_and_empower(model, self.trained, bh.TRAINING, s.influence_multiplier)
            model.spend(self.index, np.array([len(x) for x in self.trained]) * s.cost_per_leader)
        if not self.active(t) or s.conversations == 0:
            return
        visits = _talk_to_ties(model, self, t, self.trained, self.pairs, s.conversations, s.conversion, bh.LEADER_TALK)
        model.spend(self.index, visits * s.cost_per_conversation, delivered=visits)


def _visit_keys(model: DiffusionModel, iv: InterventionImpl, t: int) -> np.ndarray:
    """Step keys (2, R) of an intervention's ``order`` and ``convert`` streams at step ``t``."""
    return kernels.stream_step_keys(np.stack([model.streams.keys(iv.stream(p)) for p in ("order", "convert")]), t)


def _visit_and_convert_one(
    model, iv, z, r, provider, household, capacity, conversion, channel, marginalised_first=False, unique=False
) -> int:
    """:func:`_visit_and_convert` for replicate column ``r`` (:func:`visit_and_convert`, compiled); returns the visits.

    ``z`` holds the step keys of the intervention's streams (:func:`_visit_keys`).
    """
    provider = np.asarray(provider, np.int64)
    if np.isscalar(capacity):
        capacity = np.full(int(provider.max()) + 1 if len(provider) else 0, int(capacity), np.int64)
    n_visits, win = visit_and_convert(
        model.adopted[:, r], provider, np.asarray(household, np.int64), np.asarray(capacity, np.int64),
        model.community.population.marginalised, bool(marginalised_first), bool(unique), z[0, r], z[1, r],
        float(conversion),
    )  # fmt: skip
    if len(win):
        model.adopt(win, np.full(len(win), r), channel)
    return int(n_visits)


class HomeVisitsImpl(InterventionImpl):
    """Each health worker visits up to k non-adopter households of its catchment per step."""

    type = "home_visits"

    def setup(self, model: DiffusionModel) -> None:  # noqa: D102
        pop = model.community.population
        hh = np.flatnonzero((pop.role == HOUSEHOLD) & (pop.catchment >= 0))  # each household once
        self.worker, self.household = pop.catchment[hh].astype(np.int64), hh

    def on_step(self, model: DiffusionModel, t: int) -> None:  # noqa: D102
        s = self.spec
        if not self.active(t) or s.visits_per_worker == 0:
            return
        visits = _visit_and_convert(
            model, self, t, self.worker, self.household, s.visits_per_worker, s.conversion, bh.HOME_VISIT,
            marginalised_first=s.priority == "marginalised_first", unique=True,
        )  # fmt: skip
        model.spend(self.index, visits * s.cost_per_visit, delivered=visits)


class MediaCampaignImpl(InterventionImpl):
    """Agents reached (drawn once) face an extra external hazard while the campaign runs."""

    type = "media_campaign"

    def setup(self, model: DiffusionModel) -> None:  # noqa: D102
        pop = model.community.population
        reach = np.where(pop.marginalised, self.spec.reach * self.spec.marginalised_reach_factor, self.spec.reach)
        self.reached = self.uniform(model, "reach", 0, np.arange(model.n)) < reach[:, None]  # (N, R)
        self.n_reached = self.reached.sum(axis=0).astype(float)

    def on_step(self, model: DiffusionModel, t: int) -> None:  # noqa: D102
        s = self.spec
        if t == s.start:
            model.external[self.reached] += s.rate
            model.mark_stale(np.flatnonzero(self.reached.any(axis=1)))
        if self.ended(t):
            model.external[self.reached] -= s.rate
            model.mark_stale(np.flatnonzero(self.reached.any(axis=1)))
        if self.active(t):
            model.spend(self.index, np.full(model.R, s.cost_per_step), delivered=self.n_reached)


class FeedbackMechanismImpl(InterventionImpl):
    """Agents reached abandon less, and reached sceptics lose part of their threshold increase."""

    type = "feedback_mechanism"

    def setup(self, model: DiffusionModel) -> None:  # noqa: D102
        self.reached = self.uniform(model, "reach", 0, np.arange(model.n)) < self.spec.reach
        self.n_reached = self.reached.sum(axis=0).astype(float)

    def on_step(self, model: DiffusionModel, t: int) -> None:  # noqa: D102
        s = self.spec
        if t == s.start or self.ended(t):
            rows = np.flatnonzero(self.reached.any(axis=1))  # only then: an (N, R) pass
        if t == s.start:
            self.saved = (model.abandon_multiplier.copy(), model.threshold.copy())
            model.abandon_multiplier[self.reached] *= 1.0 - s.abandonment_reduction
            cut = self.reached & model.sceptic
            model.threshold[cut] -= model.params.behaviour.scepticism.threshold_increase * s.scepticism_reduction
            model.threshold[cut] = np.maximum(model.threshold[cut], 0.0)
            model.mark_stale(rows)
            model.spend(self.index, self.n_reached * s.cost_per_person_reached)
        if self.ended(t):  # the mechanism stops: its effects stop with it
            model.abandon_multiplier[self.reached] = self.saved[0][self.reached]
            model.threshold[self.reached] = self.saved[1][self.reached]
            model.mark_stale(rows)
        if self.active(t):
            model.spend(self.index, np.full(model.R, s.cost_per_step), delivered=self.n_reached)


class CommunityDialogueImpl(InterventionImpl):
    """Village meetings every ``interval`` steps: attendees' exposure share is raised that step."""

    type = "community_dialogue"

    def on_step(self, model: DiffusionModel, t: int) -> None:  # noqa: D102
        s = self.spec
        meeting = self.active(t) and (t - s.start) % s.interval == 0
        if not meeting:
            if getattr(self, "_boosting", False):
                model.set_boost(None)
                self._boosting = False
            return
        pop = model.community.population
        p_marg = s.attendance if s.marginalised_attendance is None else s.marginalised_attendance
        p = np.where(pop.marginalised, p_marg, s.attendance)
        attend = self.uniform(model, "attend", t, np.arange(model.n)) < p[:, None]
        model.set_boost(np.where(attend, s.exposure_boost, 0.0))
        self._boosting = True
        model.spend(
            self.index,
            np.full(model.R, s.cost_per_meeting * pop.n_villages),
            delivered=attend.sum(axis=0).astype(float),
        )


class YouthVolunteersImpl(InterventionImpl):
    """Recruited volunteers adopt, count more, and talk to non-adopters among their ties."""

    type = "youth_volunteers"

    def setup(self, model: DiffusionModel) -> None:  # noqa: D102
        pop = model.community.population
        hh = np.flatnonzero(pop.role == HOUSEHOLD)
        key = self.uniform(model, "recruit", 0, hh)
        self.volunteers = [
            hh[pick_per_provider(pop.village[hh], key[:, r], self.spec.per_village)] for r in range(model.R)
        ]
        everyone = np.unique(np.concatenate(self.volunteers)) if self.volunteers else np.zeros(0, int)
        self.pairs = contact_pairs(model, everyone)

    def on_step(self, model: DiffusionModel, t: int) -> None:  # noqa: D102
        s = self.spec
        if t == s.start:
            _adopt_and_empower(model, self.volunteers, bh.VOLUNTEER, s.influence_multiplier)
        if not self.active(t):
            return
        n_vol = np.array([len(x) for x in self.volunteers], dtype=float)
        model.spend(self.index, n_vol * s.cost_per_volunteer_step)
        if s.visits == 0:
            return
        talks = _talk_to_ties(model, self, t, self.volunteers, self.pairs, s.visits, s.conversion, bh.VOLUNTEER)
        model.spend(self.index, np.zeros(model.R), delivered=talks)


class CommunityDistributionImpl(InterventionImpl):
    """Villages choose distributors, who adopt and reach households of their village each step."""

    type = "community_distribution"

    def setup(self, model: DiffusionModel) -> None:  # noqa: D102
        pop = model.community.population
        hh = np.flatnonzero(pop.role == HOUSEHOLD)
        k = self.spec.distributors_per_village
        if self.spec.selection == "most_connected":
            degree = np.diff(model.P.indptr)[hh].astype(float)  # the agents each can influence
            key = np.repeat((-degree + hh / (10.0 * len(hh) + 1))[:, None], model.R, axis=1)  # ties: lowest index
        else:
            key = self.uniform(model, "select", 0, hh)
        self.distributors = [hh[pick_per_provider(pop.village[hh], key[:, r], k)] for r in range(model.R)]
        self.household = hh
        self.village = pop.village[hh].astype(np.int64)

    def on_step(self, model: DiffusionModel, t: int) -> None:  # noqa: D102
        s = self.spec
        if t == s.start:
            _adopt_and_empower(model, self.distributors, bh.DISTRIBUTION, 1.0)
        if not self.active(t) or s.households_per_step == 0:
            return
        pop = model.community.population
        per_village = np.array([np.bincount(pop.village[d], minlength=pop.n_villages) for d in self.distributors])
        reached = np.zeros(model.R)
        z = _visit_keys(model, self, t)
        for r in range(model.R):
            cap = per_village[r] * s.households_per_step
            reached[r] = _visit_and_convert_one(
                model, self, z, r, self.village, self.household, cap, s.conversion, bh.DISTRIBUTION,
                s.priority == "marginalised_first", unique=True,
            )  # fmt: skip
        cost = reached * s.cost_per_household
        model.spend(self.index, cost * (1.0 - s.community_share), community=cost * s.community_share, delivered=reached)


class PeerMonitoringImpl(InterventionImpl):
    """While it runs, adopters with an adopted contact abandon at a reduced rate."""

    type = "peer_monitoring"

    def on_step(self, model: DiffusionModel, t: int) -> None:  # noqa: D102
        s = self.spec
        if t == s.start:
            model.set_monitoring(s.abandonment_reduction)
        if self.ended(t):
            model.set_monitoring(0.0)
        if self.active(t):
            model.spend(self.index, np.full(model.R, s.cost_per_step))


class SeedingImpl(InterventionImpl):
    """Seeds chosen by a strategy adopt at the start step (channel ``seeding``)."""

    type = "seeding"

    def setup(self, model: DiffusionModel) -> None:  # noqa: D102
        pop = model.community.population
        s = self.spec
        n_seeds = min(s.n_seeds(), model.n)
        degree = np.diff(model.P.indptr).astype(float)  # the agents each can influence
        ids = np.arange(model.n)
        u = self.uniform(model, "select", 0, ids)  # (N, R): random order, also breaks ties
        if s.strategy == "random":
            score = np.zeros(model.n)
        elif s.strategy == "highest_degree":
            score = degree
        elif s.strategy == "betweenness":
            score = _betweenness(model, self.stream("betweenness"))
        elif s.strategy == "leaders":
            kinds = [LEADER_KINDS.index(k) for k in s.kinds]
            score = ((pop.role == LEADER) & np.isin(pop.leader_kind, kinds)) * (1e9 + degree)
        elif s.strategy == "chosen":
            if s.people and max(s.people) >= model.n:  # an imported community: its size is known only now
                raise UserError(
                    f"lists agent {max(s.people)}, but the community has only {model.n:,} agents; expected row "
                    f"indices 0 to {model.n - 1:,}",
                    field=f"interventions.{self.index}.people",
                )
            self.seeds = [np.asarray(s.people, np.int64) for _ in range(model.R)]
            return
        else:  # marginalised_first
            score = (pop.role == HOUSEHOLD) * (pop.marginalised * 1.0)
        self.seeds = [np.lexsort((u[:, r], -score))[:n_seeds] for r in range(model.R)]

    def on_step(self, model: DiffusionModel, t: int) -> None:  # noqa: D102
        s = self.spec
        if t != s.start:
            return
        _adopt_and_empower(model, self.seeds, bh.SEEDING, 1.0)
        model.spend(
            self.index,
            np.array([len(x) for x in self.seeds]) * s.cost_per_seed,
            delivered=np.array([len(x) for x in self.seeds], float),
        )


def _betweenness(model: DiffusionModel, stream: str) -> np.ndarray:
    """Betweenness centrality of every agent (sampled from 64 sources above 5,000 agents)."""
    import networkx as nx

    from diffusion_sim.rng import generator

    T = model.T
    g = nx.from_scipy_sparse_array(T)
    k = None if model.n <= 5000 else 64
    seed = int(generator(model.seed, stream).integers(0, 2**31 - 1))
    bc = nx.betweenness_centrality(g, k=k, seed=seed, weight=None)
    return np.array([bc[i] for i in range(model.n)])
