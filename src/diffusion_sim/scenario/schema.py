"""The scenario schema: every parameter once, with type, bounds, default and description.

A :class:`Scenario` is validated strictly (unknown keys are errors, ``"5"`` is not an integer),
frozen, and hashable through :meth:`Scenario.digest`. ``Scenario()`` is the built-in default
community: several villages, a few thousand households and every role.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import Field, model_validator

from diffusion_sim.scenario.fields import AGENT_TYPES, LAYERS, LEADER_KINDS, Probability, Rate
from diffusion_sim.scenario.fields import Strict as _Strict
from diffusion_sim.scenario.intervention_schema import (
    INTERVENTION_TYPES,
    CommunityDialogue,
    CommunityDistribution,
    FeedbackMechanism,
    HomeVisits,
    Intervention,
    LeaderTraining,
    MediaCampaign,
    PeerMonitoring,
    Seeding,
    YouthVolunteers,
    stream_identities,
)
from diffusion_sim.scenario.network_schema import Layer, Network
from diffusion_sim.scenario.survey_schema import SurveyCommunity

__all__ = [
    "AGENT_TYPES",
    "LEADER_KINDS",
    "LAYERS",
    "Abandonment",
    "Behaviour",
    "Community",
    "ImportedCommunity",
    "Layer",
    "LeaderCounts",
    "Network",
    "RoleParams",
    "Roles",
    "Scenario",
    "Schedule",
    "Threshold",
    "Scepticism",
    "SurveyCommunity",
    "Intervention",
    "INTERVENTION_TYPES",
    "LeaderTraining",
    "HomeVisits",
    "MediaCampaign",
    "FeedbackMechanism",
    "CommunityDialogue",
    "YouthVolunteers",
    "CommunityDistribution",
    "PeerMonitoring",
    "Seeding",
    "Costs",
    "Outputs",
]


class Threshold(_Strict):
    """Distribution of adoption thresholds: normal(mean, sd), clipped below at 0 (and at 1 when fractional)."""

    mean: float = Field(
        0.25,
        ge=0.0,
        le=1000.0,
        description="Mean threshold: a fraction of weighted ties for the fractional rule, a weighted count for the absolute rule.",
    )
    sd: float = Field(
        0.1, ge=0.0, le=1000.0, description="Standard deviation of thresholds across agents of this type."
    )


class RoleParams(_Strict):
    """Parameters of one agent type."""

    influence: float = Field(
        1.0,
        ge=0.0,
        le=100.0,
        description="Influence weight: how much a tie from this agent counts in its contacts' exposure.",
    )
    trust: Probability = Field(
        1.0, description="Trust the community places in this type of agent; multiplies its influence weight."
    )
    threshold: Threshold = Field(default_factory=Threshold, description="Adoption-threshold distribution of this type.")
    initial_adoption: Probability = Field(
        0.0, description="Probability that an agent of this type has adopted at step 0 (a seed)."
    )


def _role(influence: float, trust: float, mean: float, sd: float, initial: float) -> RoleParams:
    return RoleParams(influence=influence, trust=trust, threshold=Threshold(mean=mean, sd=sd), initial_adoption=initial)


class Roles(_Strict):
    """Per-type parameters: households, leaders by kind, health workers."""

    household: RoleParams = Field(default_factory=lambda: _role(1.0, 1.0, 0.45, 0.15, 0.02), description="Households.")
    religious_leader: RoleParams = Field(
        default_factory=lambda: _role(3.0, 0.9, 0.3, 0.1, 0.0), description="Religious leaders (imam, pastor, priest)."
    )
    traditional_leader: RoleParams = Field(
        default_factory=lambda: _role(3.0, 0.8, 0.3, 0.1, 0.0), description="Traditional leaders (chief, village head)."
    )
    youth_leader: RoleParams = Field(
        default_factory=lambda: _role(2.0, 0.7, 0.2, 0.1, 0.0), description="Youth leaders."
    )
    women_leader: RoleParams = Field(
        default_factory=lambda: _role(2.0, 0.8, 0.2, 0.1, 0.0), description="Women leaders."
    )
    health_worker: RoleParams = Field(
        default_factory=lambda: _role(2.0, 0.8, 0.1, 0.05, 0.5), description="Community health workers."
    )

    def by_type(self) -> list[RoleParams]:
        """Parameters in the order of :data:`AGENT_TYPES`."""
        return [getattr(self, name) for name in AGENT_TYPES]


class LeaderCounts(_Strict):
    """Number of leaders of each kind in every village."""

    religious: int = Field(2, ge=0, le=1000, description="Religious leaders per village; each heads one congregation.")
    traditional: int = Field(1, ge=0, le=1000, description="Traditional leaders per village.")
    youth: int = Field(1, ge=0, le=1000, description="Youth leaders per village.")
    women: int = Field(1, ge=0, le=1000, description="Women leaders per village.")


class ImportedCommunity(_Strict):
    """A community read from files instead of generated."""

    nodes: str | None = Field(
        None,
        description="CSV of nodes: id, role, village, and optional leader_kind, marginalised, household_size, congregation, catchment.",
    )
    edges: str | None = Field(None, description="CSV of edges: source, target, layer, and optional weight (default 1).")
    graphml: str | None = Field(
        None, description="GraphML file with the same node and edge attributes (instead of the two CSVs)."
    )
    networks: list[str] | None = Field(
        None,
        min_length=1,
        max_length=100_000,
        description=(
            "A network per replicate (with network.per_replicate): replicate r reads the r-th file, an edges CSV over "
            "the nodes file's people (with nodes + edges) or a GraphML file of the same people (with graphml)."
        ),
    )

    @model_validator(mode="after")
    def _one_source(self) -> ImportedCommunity:
        csv = self.nodes is not None or self.edges is not None
        if csv and self.graphml is not None:
            raise ValueError("give either nodes+edges CSV files or one graphml file, not both")
        if csv and (self.nodes is None or self.edges is None):
            raise ValueError("a CSV community needs both 'nodes' and 'edges'")
        if not csv and self.graphml is None:
            raise ValueError("give nodes+edges CSV files or a graphml file")
        return self


class Community(_Strict):
    """Who lives in the simulated community."""

    villages: int = Field(
        8,
        ge=1,
        le=100_000,
        description="Number of villages. Ignored when the community is imported or read from a survey.",
    )
    households: int = Field(
        4000,
        ge=1,
        le=20_000_000,
        description="Households in all villages together, split evenly among villages. Ignored when the community is imported or read from a survey.",
    )
    household_size: float = Field(
        5.0,
        ge=1.0,
        le=50.0,
        description="Mean household size (1 + Poisson). Ignored when the community is imported or read from a survey.",
    )
    marginalised_share: Probability = Field(
        0.2,
        description="Share of households that are marginalised (poorer, less connected, less reached). Ignored when the community is imported or read from a survey.",
    )
    marginalised_tie_factor: Probability = Field(
        0.5,
        description="Kin and leader ties of marginalised households are kept with this probability. Ignored when the community is imported or read from a survey.",
    )
    leaders: LeaderCounts = Field(
        default_factory=LeaderCounts,
        description="Leaders of each kind per village. Ignored when the community is imported or read from a survey.",
    )
    health_workers: int = Field(
        2,
        ge=0,
        le=10_000,
        description="Community health workers per village; the village's households are split into their catchments. Ignored when the community is imported or read from a survey.",
    )
    seed: int | None = Field(
        None,
        ge=0,
        description="Seed of the community (population and network). Empty: the run's seed. Ignored when the community is imported or read from a survey.",
    )
    imported: ImportedCommunity | None = Field(
        None,
        description="Read the community from node and edge files instead of generating it (not with survey).",
    )
    survey: SurveyCommunity | None = Field(
        None,
        description="Read the community from a network survey (respondents and whom they named) instead of generating it (not with imported). Each relation becomes a directed layer.",
    )
    people: str | None = Field(
        None,
        min_length=1,
        description="CSV of per-person values for a generated, imported or survey community: column id (row index 0..n-1 of a generated community, node id of an imported one, respondent id of a survey, with a community column when its ids are local) and optional initial (true/false), threshold (number) and marginalised (true/false). Empty cells keep the person's value. Relative to the scenario file.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> Community:
        if self.imported is not None and self.survey is not None:
            raise ValueError("give either imported (node and edge files) or survey (a network survey), not both")
        return self

    @property
    def from_files(self) -> bool:
        """Whether the community is read from files (imported or survey) rather than generated."""
        return self.imported is not None or self.survey is not None


class Abandonment(_Strict):
    """Dis-adoption: adopters give the behaviour up."""

    rate: Rate = Field(
        0.02, description="Hazard per step of abandoning (probability 1 - exp(-rate * (1 - peer_support * x)))."
    )
    peer_support: Probability = Field(
        0.8, description="How much a fully adopted neighbourhood (x = 1) lowers the hazard."
    )


class Scepticism(_Strict):
    """Sceptics: agents whose adoption threshold is raised (distrust, rumours, bad experiences)."""

    share: Probability = Field(0.0, description="Share of agents (per replicate, at random) who are sceptical.")
    threshold_increase: float = Field(
        0.2,
        ge=0.0,
        le=1000.0,
        description="Added to a sceptic's threshold (a share under the fractional rule, a weighted count under the absolute rule).",
    )


class Behaviour(_Strict):
    """The behaviour and the adoption rules that spread it."""

    name: str = Field(
        "hand-washing with soap", min_length=1, max_length=200, description="The behaviour being promoted."
    )
    threshold_rule: Literal["fractional", "absolute", "linear_threshold", "none"] = Field(
        "fractional",
        description=(
            "Deterministic threshold rule. fractional (Granovetter/Watts): adopt once the weighted share of adopted "
            "contacts reaches the threshold, each contact weighing tie weight x layer weight x its influence x trust; "
            "absolute (complex contagion): once that weighted count of adopted contacts reaches it; linear_threshold "
            "(Kempe, Kleinberg & Tardos 2003): the fractional rule with thresholds uniform on [0, 1] per agent and "
            "replicate instead of the roles' threshold distributions and sceptics, so each contact's normalised weight "
            "is its weight over the agent's total; none: no threshold adoption. Per-person thresholds of an imported "
            "community replace the drawn ones."
        ),
    )
    cascade_probability: Probability = Field(
        0.0,
        description=(
            "Independent cascade: a contact who adopted in the previous step converts a non-adopter across a tie of "
            "influence q (tie weight x layer weight x the contact's influence x trust) with chance 1 - (1 - p)^q, one "
            "chance per new adopter; so a tie of weight 1.5 is not one chance but 1 - (1 - p)^1.5, and a per-arc "
            "probability p_ij is the tie weight ln(1 - p_ij) / ln(1 - p) (with unit layer weight and influence)."
        ),
    )
    imitation: Rate = Field(
        0.0, description="Imitation rate q: hazard q * x, x the weighted share of adopted contacts (Bass)."
    )
    external: Rate = Field(
        0.003, description="External influence p (mass media): hazard per step for every non-adopter (Bass)."
    )
    spontaneous: Rate = Field(0.0, description="Spontaneous adoption hazard per step, not caused by anyone.")
    abandonment: Abandonment = Field(default_factory=Abandonment, description="Dis-adoption.")
    scepticism: Scepticism = Field(default_factory=Scepticism, description="Sceptics, whose thresholds are raised.")


class Costs(_Strict):
    """How costs are reported."""

    currency: str = Field("USD", min_length=1, max_length=10, description="Currency label of every cost.")


class Outputs(_Strict):
    """Outcome settings."""

    coverage_targets: list[Probability] = Field(
        default_factory=lambda: [0.5, 0.8], description="Coverage levels whose time to reach is reported."
    )
    sustain_steps: int = Field(
        12,
        ge=0,
        le=100_000,
        description="Durability: coverage is read this many steps after every intervention has ended.",
    )


class Schedule(_Strict):
    """How long a run lasts."""

    steps: int = Field(52, ge=0, le=100_000, description="Number of steps to run (with until: quiescent, at most).")
    until: Literal["steps", "quiescent"] = Field(
        "steps",
        description=(
            "steps: run schedule.steps steps. quiescent: stop after the first step in which no agent of any "
            "replicate changed state and after which none can (every chance of adopting or giving up is zero and no "
            "intervention is still to act or to end), or after schedule.steps steps at the latest."
        ),
    )
    days_per_step: float = Field(7.0, gt=0.0, le=365.0, description="Days one step stands for (only labels output).")


class Scenario(_Strict):
    """A complete, validated description of one simulated community and behaviour."""

    name: str = Field("default", min_length=1, max_length=200, description="Short name used in outputs.")
    description: str = Field(
        "Built-in default: 8 villages, 4,000 households, every role.",
        max_length=5000,
        description="What this scenario represents.",
    )
    community: Community = Field(default_factory=Community, description="Who lives in the community.")
    network: Network = Field(default_factory=Network, description="The layered network.")
    roles: Roles = Field(default_factory=Roles, description="Per-type parameters.")
    behaviour: Behaviour = Field(default_factory=Behaviour, description="The behaviour and its adoption rules.")
    schedule: Schedule = Field(default_factory=Schedule, description="Steps and their length.")
    interventions: list[Intervention] = Field(
        default_factory=list, description="Interventions, each with its type, timing, targeting, effects and costs."
    )
    costs: Costs = Field(default_factory=Costs, description="How costs are reported.")
    outputs: Outputs = Field(default_factory=Outputs, description="Outcome settings.")

    @model_validator(mode="after")
    def _fractional_thresholds(self) -> Scenario:
        if self.behaviour.threshold_rule == "fractional":
            for name, role in zip(AGENT_TYPES, self.roles.by_type(), strict=True):
                if role.threshold.mean > 1.0:
                    raise ValueError(
                        f"roles.{name}.threshold.mean is {role.threshold.mean}, but the fractional "
                        "threshold rule needs a fraction in [0, 1]"
                    )
        return self

    @model_validator(mode="after")
    def _unique_stream_identities(self) -> Scenario:
        types = [iv.type for iv in self.interventions]
        for k, iv in enumerate(self.interventions):
            if iv.id is None and types.count(iv.type) > 1:
                where = " and ".join(f"interventions.{j}" for j, t in enumerate(types) if t == iv.type)
                raise ValueError(
                    f"interventions.{k}.id: {where} are all of type {iv.type!r}; give each of them an id (their "
                    "random streams are keyed by it, so renaming or reordering them changes no number), e.g. "
                    f"id: {iv.type}-{k + 1}"
                )
        ids = stream_identities(self.interventions)
        for k, ident in enumerate(ids):
            if ident in ids[:k]:
                raise ValueError(
                    f"interventions.{k}.id: {ident!r} is the stream identity of interventions.{ids.index(ident)} "
                    "too; give each intervention a unique id"
                )
        return self

    @model_validator(mode="after")
    def _unique_intervention_names(self) -> Scenario:
        seen: set[str] = set()
        for k, iv in enumerate(self.interventions):
            if iv.label in seen:
                raise ValueError(
                    f"interventions.{k}.name: {iv.label!r} is used twice; give each intervention a unique name"
                )
            seen.add(iv.label)
        return self

    @model_validator(mode="after")
    def _fits_the_community(self) -> Scenario:
        c = self.community
        if not c.from_files and c.villages > c.households:
            raise ValueError(
                f"community.villages is {c.villages}, but there are only {c.households} households "
                "(community.households) to share among them; expected at most one village per household"
            )
        return self

    @model_validator(mode="after")
    def _network_choices_fit(self) -> Scenario:
        net, c = self.network, self.community
        if net.per_replicate and self.schedule.until == "quiescent":
            raise ValueError(
                "network.per_replicate draws a network per replicate, and with schedule.until quiescent each would stop "
                "at its own step; expected schedule.until steps (or one network for all replicates)"
            )
        read = "community.imported" if c.imported is not None else "community.survey" if c.survey is not None else None
        if read and (net.random_graph is not None or net.mixing != "network"):
            raise ValueError(
                f"{read} reads the network from files; network.random_graph and network.mixing apply to generated "
                "communities only"
            )
        listed = c.imported is not None and c.imported.networks is not None
        if read and net.per_replicate and not listed:
            raise ValueError(
                f"network.per_replicate draws a network per replicate, but {read} reads one network; expected "
                "community.imported.networks: a file per replicate"
            )
        if listed and not net.per_replicate:
            raise ValueError(
                "community.imported.networks lists a network per replicate: expected network.per_replicate true"
            )
        if net.random_graph is not None and net.mixing != "network":
            raise ValueError("network.random_graph draws ties and network.mixing builds none: expected one of them")
        return self

    @model_validator(mode="after")
    def _mixing_without_cascades(self) -> Scenario:
        if self.network.mixing != "network" and self.behaviour.cascade_probability > 0:
            raise ValueError(
                f"network.mixing is {self.network.mixing!r}, which builds no ties, but behaviour.cascade_probability "
                f"is {self.behaviour.cascade_probability:g}; a cascade passes along ties: expected "
                "cascade_probability 0, or network.mixing network"
            )
        return self

    @model_validator(mode="after")
    def _interventions_fit_the_run(self) -> Scenario:
        steps = self.schedule.steps
        for k, iv in enumerate(self.interventions):
            if iv.start > steps:
                raise ValueError(
                    f"interventions.{k}.start is {iv.start}, but the run has only {steps} steps (schedule.steps, "
                    f"or --steps), so {iv.label!r} would never act and its costs would never be booked; "
                    f"expected a start of at most {steps}"
                )
        from diffusion_sim.population import expected_agents  # population builds on this module

        n = expected_agents(self)
        for k, iv in enumerate(self.interventions):
            if n is not None and isinstance(iv, Seeding) and iv.people and max(iv.people) >= n:
                raise ValueError(
                    f"interventions.{k}.people lists agent {max(iv.people)}, but the community has only {n:,} agents; "
                    f"expected row indices 0 to {n - 1:,}"
                )
            if n is None or not isinstance(iv, Seeding) or iv.n_seeds() <= n:
                continue
            if iv.count is not None:
                raise ValueError(
                    f"interventions.{k}.count is {iv.count}, but the community has only {n:,} agents; "
                    f"expected at most {n:,} seeds"
                )
            raise ValueError(
                f"interventions.{k}.budget is {iv.budget:g}, but it buys {iv.n_seeds():,} seeds at "
                f"cost_per_seed {iv.cost_per_seed:g} and the community has only {n:,} agents; "
                f"expected a budget buying at most {n:,} seeds"
            )
        return self

    def digest(self) -> str:
        """Stable short hash of the scenario's content (for provenance and caching)."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
