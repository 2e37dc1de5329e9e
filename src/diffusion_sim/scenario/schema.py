"""The scenario schema: every parameter once, with type, bounds, default and description.

A :class:`Scenario` is validated strictly (unknown keys are errors, ``"5"`` is not an integer),
frozen, and hashable through :meth:`Scenario.digest`. ``Scenario()`` is the built-in default
community: several villages, a few thousand households and every role.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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

LEADER_KINDS: tuple[str, ...] = ("religious", "traditional", "youth", "women")
"""Leader kinds, in the order of their codes 0..3."""

AGENT_TYPES: tuple[str, ...] = (
    "household",
    "religious_leader",
    "traditional_leader",
    "youth_leader",
    "women_leader",
    "health_worker",
)
"""Agent types, in the order of their codes 0..5 (one row of :class:`Roles` each)."""

LAYERS: tuple[str, ...] = (
    "kin",
    "neighbour",
    "congregation",
    "leader",
    "catchment",
    "inter_village",
)
"""Network layers, in the order of their codes 0..5."""

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Rate = Annotated[float, Field(ge=0.0, le=50.0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, validate_default=True)


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

    villages: int = Field(8, ge=1, le=100_000, description="Number of villages.")
    households: int = Field(
        4000, ge=1, le=20_000_000, description="Households in all villages together, split evenly among villages."
    )
    household_size: float = Field(5.0, ge=1.0, le=50.0, description="Mean household size (1 + Poisson).")
    marginalised_share: Probability = Field(
        0.2, description="Share of households that are marginalised (poorer, less connected, less reached)."
    )
    marginalised_tie_factor: Probability = Field(
        0.5, description="Kin and leader ties of marginalised households are kept with this probability."
    )
    leaders: LeaderCounts = Field(default_factory=LeaderCounts, description="Leaders of each kind per village.")
    health_workers: int = Field(
        2,
        ge=0,
        le=10_000,
        description="Community health workers per village; the village's households are split into their catchments.",
    )
    seed: int | None = Field(
        None, ge=0, description="Seed of the community (population and network). Empty: the run's seed."
    )
    imported: ImportedCommunity | None = Field(
        None, description="Read the community from files instead of generating it."
    )


class Layer(_Strict):
    """One layer of the community network."""

    enabled: bool = Field(True, description="Whether the layer exists.")
    weight: float = Field(1.0, ge=0.0, le=100.0, description="Weight of a tie of this layer in exposure.")
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


def _layer(**kw: float | bool) -> Layer:
    return Layer(**kw)


class Network(_Strict):
    """The layered network: which layers exist and how much their ties weigh."""

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
    threshold_rule: Literal["fractional", "absolute", "none"] = Field(
        "fractional",
        description="Deterministic threshold rule: fractional (Granovetter/Watts), absolute (complex contagion), or none.",
    )
    cascade_probability: Probability = Field(
        0.0,
        description="Independent cascade: chance that a newly adopted contact converts a non-adopter, per unit of influence (tie weight x layer weight x source influence x trust).",
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


# ------------------------------------------------------------------------------------------ interventions
Priority = Literal["random", "marginalised_first"]
LeaderKind = Literal["religious", "traditional", "youth", "women"]
Money = Annotated[float, Field(ge=0.0, le=1e12)]


class _Intervention(_Strict):
    name: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Label in outputs (default: the type). Unique within a scenario.",
    )
    start: int = Field(1, ge=1, le=100_000, description="First step on which it acts.")
    end: int | None = Field(
        None, ge=1, le=100_000, description="Last step on which it acts (empty: to the end of the run)."
    )
    fixed_cost: Money = Field(0.0, description="One-off cost at the start step (set-up, materials).")

    @model_validator(mode="after")
    def _window(self):
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self

    @property
    def label(self) -> str:
        """The name used in outputs."""
        return self.name or self.type  # type: ignore[attr-defined]

    def active(self, step: int) -> bool:
        """Whether the intervention acts on this step."""
        return step >= self.start and (self.end is None or step <= self.end)


class LeaderTraining(_Intervention):
    """Train leaders in interpersonal communication: they adopt, gain influence, and hold conversations."""

    type: Literal["leader_training"]
    kinds: list[LeaderKind] = Field(
        default_factory=lambda: ["religious"], min_length=1, description="Kinds of leaders trained."
    )
    coverage: Probability = Field(1.0, description="Share of those leaders trained (chosen at random per replicate).")
    influence_multiplier: float = Field(
        1.5, ge=0.0, le=100.0, description="Trained leaders' influence x trust is multiplied by this."
    )
    conversations: int = Field(
        3,
        ge=0,
        le=10_000,
        description="Conversations per step each trained leader holds with non-adopters among its ties.",
    )
    conversion: Probability = Field(0.1, description="Chance that a conversation converts the household.")
    cost_per_leader: Money = Field(0.0, description="Cost of training one leader (at the start step).")
    cost_per_conversation: Money = Field(0.0, description="Cost of one conversation.")


class HomeVisits(_Intervention):
    """Health workers visit households of their catchment."""

    type: Literal["home_visits"]
    visits_per_worker: int = Field(
        5,
        ge=0,
        le=10_000,
        description="Households each worker visits per step, chosen among the non-adopters of its catchment.",
    )
    priority: Priority = Field(
        "random", description="Whom to visit first: at random, or marginalised households first."
    )
    conversion: Probability = Field(0.2, description="Chance that a visit converts the household.")
    cost_per_visit: Money = Field(0.0, description="Cost of one visit.")


class MediaCampaign(_Intervention):
    """Mass-media or local-influencer campaign: external influence over a window, with a reach."""

    type: Literal["media_campaign"]
    rate: Rate = Field(0.02, description="Extra external hazard per step for those reached.")
    reach: Probability = Field(0.6, description="Share of agents the campaign reaches (drawn once per replicate).")
    marginalised_reach_factor: Probability = Field(
        1.0, description="Marginalised households are reached with reach x this."
    )
    cost_per_step: Money = Field(0.0, description="Cost of one step of campaign.")


class FeedbackMechanism(_Intervention):
    """Two-way feedback (hotlines, suggestion boxes, community scorecards).

    Those it reaches abandon less and are less sceptical.
    """

    type: Literal["feedback_mechanism"]
    reach: Probability = Field(0.5, description="Share of agents reached (drawn once per replicate).")
    abandonment_reduction: Probability = Field(0.5, description="Reached agents abandon at (1 - this) times the rate.")
    scepticism_reduction: Probability = Field(
        0.5, description="Share of a reached sceptic's threshold increase that is removed."
    )
    cost_per_step: Money = Field(0.0, description="Running cost per step.")
    cost_per_person_reached: Money = Field(0.0, description="Cost per agent reached (at the start step).")


class CommunityDialogue(_Intervention):
    """Scheduled village meetings that raise the exposure of those attending."""

    type: Literal["community_dialogue"]
    interval: int = Field(4, ge=1, le=10_000, description="A meeting every this many steps, from the start step.")
    attendance: Probability = Field(0.3, description="Chance that an agent attends a meeting.")
    marginalised_attendance: Probability | None = Field(
        None, description="Attendance of marginalised households (empty: same as attendance)."
    )
    exposure_boost: Probability = Field(0.2, description="Added to attendees' exposure share on the meeting step.")
    cost_per_meeting: Money = Field(0.0, description="Cost of one meeting in one village.")


class YouthVolunteers(_Intervention):
    """Youth change agents: recruited volunteers who adopt, count more, and talk to their contacts."""

    type: Literal["youth_volunteers"]
    per_village: int = Field(2, ge=0, le=10_000, description="Volunteers recruited per village among its households.")
    influence_multiplier: float = Field(
        2.0, ge=0.0, le=100.0, description="Volunteers' influence x trust is multiplied by this."
    )
    visits: int = Field(
        2, ge=0, le=10_000, description="Contacts each volunteer talks to per step, among its non-adopter ties."
    )
    conversion: Probability = Field(0.1, description="Chance that a talk converts the contact.")
    cost_per_volunteer_step: Money = Field(0.0, description="Stipend of one volunteer for one step.")


class CommunityDistribution(_Intervention):
    """Community-directed distribution: distributors chosen by each village reach households of their village."""

    type: Literal["community_distribution"]
    distributors_per_village: int = Field(
        2, ge=0, le=10_000, description="Distributors each village chooses among its households."
    )
    selection: Literal["random", "most_connected"] = Field(
        "most_connected", description="How villages choose distributors."
    )
    households_per_step: int = Field(
        10,
        ge=0,
        le=100_000,
        description="Households each distributor reaches per step, among its village's non-adopters.",
    )
    priority: Priority = Field("random", description="Whom distributors reach first.")
    conversion: Probability = Field(0.3, description="Chance that a distribution visit converts the household.")
    cost_per_household: Money = Field(0.0, description="Cost of reaching one household.")
    community_share: Probability = Field(
        0.5, description="Share of the cost the community bears (the rest is the programme's)."
    )


class PeerMonitoring(_Intervention):
    """Adopters check on one another: adopters with an adopted contact abandon less."""

    type: Literal["peer_monitoring"]
    abandonment_reduction: Probability = Field(
        0.5, description="Adopters with at least one adopted contact abandon at (1 - this) times the rate."
    )
    cost_per_step: Money = Field(0.0, description="Running cost per step.")


class Seeding(_Intervention):
    """Seed the behaviour in chosen agents under a budget: they adopt at the start step."""

    type: Literal["seeding"]
    strategy: Literal["random", "highest_degree", "betweenness", "leaders", "marginalised_first"] = Field(
        "highest_degree", description="Whom to seed."
    )
    kinds: list[LeaderKind] = Field(
        default_factory=lambda: ["religious", "traditional", "youth", "women"],
        min_length=1,
        description="Leader kinds, for the leaders strategy.",
    )
    count: int | None = Field(None, ge=0, le=10_000_000, description="Number of seeds (empty: budget / cost_per_seed).")
    budget: Money | None = Field(None, description="Money for seeding (used when count is empty).")
    cost_per_seed: Money = Field(0.0, description="Cost of seeding one agent.")

    @model_validator(mode="after")
    def _size(self):
        if self.count is None and (self.budget is None or self.cost_per_seed <= 0):
            raise ValueError("give count, or budget with a positive cost_per_seed")
        return self

    def n_seeds(self) -> int:
        """Number of seeds: count, or what the budget buys."""
        return self.count if self.count is not None else int(self.budget // self.cost_per_seed)  # type: ignore[operator]


Intervention = Annotated[
    LeaderTraining
    | HomeVisits
    | MediaCampaign
    | FeedbackMechanism
    | CommunityDialogue
    | YouthVolunteers
    | CommunityDistribution
    | PeerMonitoring
    | Seeding,
    Field(discriminator="type"),
]
"""One intervention; ``type`` names its family."""

INTERVENTION_TYPES: tuple[str, ...] = (
    "leader_training",
    "home_visits",
    "media_campaign",
    "feedback_mechanism",
    "community_dialogue",
    "youth_volunteers",
    "community_distribution",
    "peer_monitoring",
    "seeding",
)


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

    steps: int = Field(52, ge=0, le=100_000, description="Number of steps to run.")
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
    def _unique_intervention_names(self) -> Scenario:
        seen: set[str] = set()
        for k, iv in enumerate(self.interventions):
            if iv.label in seen:
                raise ValueError(
                    f"interventions.{k}.name: {iv.label!r} is used twice; give each intervention a unique name"
                )
            seen.add(iv.label)
        return self

    def digest(self) -> str:
        """Stable short hash of the scenario's content (for provenance and caching)."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
