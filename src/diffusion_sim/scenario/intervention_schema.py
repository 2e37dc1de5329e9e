"""Schema of the interventions a scenario lists: one model per family, told apart by ``type``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from diffusion_sim.scenario.fields import Money, Probability, Rate, Strict, unit_cost

__all__ = [
    "INTERVENTION_TYPES",
    "CommunityDialogue",
    "CommunityDistribution",
    "FeedbackMechanism",
    "HomeVisits",
    "Intervention",
    "LeaderTraining",
    "MediaCampaign",
    "PeerMonitoring",
    "Seeding",
    "YouthVolunteers",
    "stream_identities",
]

Priority = Literal["random", "marginalised_first"]
LeaderKind = Literal["religious", "traditional", "youth", "women"]


class _Intervention(Strict):
    name: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Label in outputs (default: the type). Unique within a scenario. Only a label: renaming changes no random number.",
    )
    id: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.#-]+$",
        description="Stable identity of this intervention's random streams (default: its type). Required when a scenario has several interventions of one type. Renaming or reordering interventions changes no random number; changing an id does.",
    )
    start: int = Field(1, ge=1, le=100_000, description="First step on which it acts.")
    end: int | None = Field(
        None, ge=1, le=100_000, description="Last step on which it acts (empty: to the end of the run)."
    )
    fixed_cost: Money = unit_cost("fixed (one-off)", "One-off cost at the start step (set-up, materials).")

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
    cost_per_leader: Money = unit_cost("per leader trained", "Cost of training one leader (at the start step).")
    cost_per_conversation: Money = unit_cost("per conversation", "Cost of one conversation.")


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
    cost_per_visit: Money = unit_cost("per visit", "Cost of one visit.")


class MediaCampaign(_Intervention):
    """Mass-media or local-influencer campaign: external influence over a window, with a reach."""

    type: Literal["media_campaign"]
    rate: Rate = Field(0.02, description="Extra external hazard per step for those reached.")
    reach: Probability = Field(0.6, description="Share of agents the campaign reaches (drawn once per replicate).")
    marginalised_reach_factor: Probability = Field(
        1.0, description="Marginalised households are reached with reach x this."
    )
    cost_per_step: Money = unit_cost("per step", "Cost of one step of campaign.")


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
    cost_per_step: Money = unit_cost("per step", "Running cost per step.")
    cost_per_person_reached: Money = unit_cost("per person reached", "Cost per agent reached (at the start step).")


class CommunityDialogue(_Intervention):
    """Scheduled village meetings that raise the exposure of those attending."""

    type: Literal["community_dialogue"]
    interval: int = Field(4, ge=1, le=10_000, description="A meeting every this many steps, from the start step.")
    attendance: Probability = Field(0.3, description="Chance that an agent attends a meeting.")
    marginalised_attendance: Probability | None = Field(
        None, description="Attendance of marginalised households (empty: same as attendance)."
    )
    exposure_boost: Probability = Field(0.2, description="Added to attendees' exposure share on the meeting step.")
    cost_per_meeting: Money = unit_cost("per village per meeting", "Cost of one meeting in one village.")


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
    cost_per_volunteer_step: Money = unit_cost("per volunteer per step", "Stipend of one volunteer for one step.")


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
    cost_per_household: Money = unit_cost(
        "per household reached", "Cost of reaching one household (programme and community shares together)."
    )
    community_share: Probability = Field(
        0.5, description="Share of the cost the community bears (the rest is the programme's)."
    )


class PeerMonitoring(_Intervention):
    """Adopters check on one another: adopters with an adopted contact abandon less."""

    type: Literal["peer_monitoring"]
    abandonment_reduction: Probability = Field(
        0.5, description="Adopters with at least one adopted contact abandon at (1 - this) times the rate."
    )
    cost_per_step: Money = unit_cost("per step", "Running cost per step.")


class Seeding(_Intervention):
    """Seed the behaviour in chosen agents under a budget: they adopt at the start step."""

    type: Literal["seeding"]
    strategy: Literal["random", "highest_degree", "betweenness", "leaders", "marginalised_first", "chosen"] = Field(
        "highest_degree", description="Whom to seed (chosen: the agents listed in people)."
    )
    people: list[Annotated[int, Field(ge=0)]] | None = Field(
        None,
        max_length=10_000_000,
        description="The agents to seed, by row index (the agent column of the outputs), for the chosen strategy.",
    )
    kinds: list[LeaderKind] = Field(
        default_factory=lambda: ["religious", "traditional", "youth", "women"],
        min_length=1,
        description="Leader kinds, for the leaders strategy.",
    )
    count: int | None = Field(None, ge=0, le=10_000_000, description="Number of seeds (empty: budget / cost_per_seed).")
    budget: Money | None = Field(None, description="Money for seeding (used when count is empty).")
    cost_per_seed: Money = unit_cost("per seed", "Cost of seeding one agent.")

    @model_validator(mode="after")
    def _size(self):
        if (self.strategy == "chosen") != (self.people is not None):
            raise ValueError("people lists the agents to seed: give it with strategy chosen, and only then")
        if self.people is not None:
            if len(set(self.people)) != len(self.people):
                raise ValueError("people lists an agent twice; expected each agent at most once")
            if self.count is not None and self.count != len(self.people):
                raise ValueError(f"count is {self.count} but people lists {len(self.people)} agents; give one of them")
            return self
        if self.count is None and (self.budget is None or self.cost_per_seed <= 0):
            raise ValueError("give count, or budget with a positive cost_per_seed")
        return self

    def n_seeds(self) -> int:
        """Number of seeds: the people listed, count, or what the budget buys."""
        if self.people is not None:
            return len(self.people)
        return self.count if self.count is not None else int(self.budget // self.cost_per_seed)  # type: ignore[operator]


def stream_identities(interventions) -> list[str]:
    """The stable identity of each intervention's random streams, in list order: its ``id``, else its type.

    The identity does not depend on names, on the position in the list, or on other interventions,
    so renaming an intervention, reordering the list or adding an intervention changes no other
    draw. A scenario with several interventions of one type must give each of them an ``id``
    (checked by the scenario schema), since nothing else tells them apart stably.
    """
    return [iv.id if iv.id is not None else iv.type for iv in interventions]


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
