"""What one browser session of the workshop page holds: its models, switches, curves and game.

Everything the page shows is computed here, in plain Python, so it is tested without a browser:
the page (:mod:`diffusion_sim.workshop.app`) only draws a :class:`WorkshopSession` and calls its
methods. Each session has its own models, so two trainers on one laptop do not disturb each other.

The models are ordinary :class:`~diffusion_sim.model.DiffusionModel` runs of one replicate. A
switch is :meth:`~diffusion_sim.model.DiffusionModel.start_intervention` or
``stop_intervention``, recorded with its step, so the live run replays exactly through the one run
path (:meth:`WorkshopSession.played_scenario`). The side-by-side run uses the same seed, so the two
differ only by what differs between them (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from diffusion_sim import behaviour as bh
from diffusion_sim.community import Community, build_community
from diffusion_sim.model import DiffusionModel
from diffusion_sim.population import HOUSEHOLD, LEADER, ROLES
from diffusion_sim.scenario import Scenario
from diffusion_sim.scenario.schema import LEADER_KINDS
from diffusion_sim.workshop import style

__all__ = ["CURVES", "SWITCHES", "Curves", "SwitchSpec", "WorkshopSession", "agent_states"]


@dataclass(frozen=True)
class SwitchSpec:
    """One switch of the page: an intervention family, its default settings and the slider it offers."""

    key: str
    label: str
    intervention: dict[str, Any]
    slider: str  # the field the slider sets
    slider_label: str
    low: float
    high: float
    step: float


SWITCHES: tuple[SwitchSpec, ...] = (
    SwitchSpec(
        "leaders",
        "Train religious leaders now",
        {"type": "leader_training", "kinds": ["religious"], "coverage": 1.0, "end": 8, "cost_per_leader": 300.0},
        "coverage",
        "share of religious leaders trained",
        0.1,
        1.0,
        0.1,
    ),
    SwitchSpec(
        "visits",
        "Health-worker home visits",
        {"type": "home_visits", "visits_per_worker": 4, "conversion": 0.15, "cost_per_visit": 5.0},
        "visits_per_worker",
        "visits per health worker per week",
        1,
        10,
        1,
    ),
    SwitchSpec(
        "radio",
        "Radio campaign",
        {"type": "media_campaign", "reach": 0.6, "rate": 0.02, "cost_per_step": 500.0},
        "reach",
        "share of people the radio reaches",
        0.1,
        1.0,
        0.1,
    ),
    SwitchSpec(
        "feedback",
        "Feedback line",
        {"type": "feedback_mechanism", "reach": 0.5, "abandonment_reduction": 0.5, "cost_per_step": 200.0},
        "reach",
        "share of people who use the line",
        0.1,
        1.0,
        0.1,
    ),
)
"""The page's intervention switches. A scenario that lists an intervention of the same family lends
its settings (costs included) instead of these defaults."""

CURVES: tuple[tuple[str, str], ...] = (
    ("role=household", "households"),
    ("role=leader", "leaders"),
    ("role=health_worker", "health workers"),
    ("marginalised=yes", "marginalised households"),
)
"""The live curves: (recorder group, label); each is the share of the group that has adopted."""


def agent_states(model: DiffusionModel) -> np.ndarray:
    """Adoption state code of every agent now (replicate 0), in the picture's vocabulary (:mod:`.style`)."""
    return style.adoption_states(model.adopted[:, 0], model.new[:, 0], model.abandoned_at[:, 0] >= 0)


@dataclass
class Curves:
    """One model's curves so far: share adopted per group of :data:`CURVES`, and the cost spent."""

    steps: list[int] = field(default_factory=list)
    share: dict[str, list[float]] = field(default_factory=lambda: {label: [] for _, label in CURVES})
    cost: list[float] = field(default_factory=list)

    def read(self, model: DiffusionModel) -> None:
        """Append the model's current step."""
        rec = model.recorder
        counts = rec.adopters[-1][0, :, 0]
        for group, label in CURVES:
            g = rec.groups.index(group)
            total = rec.population[g]
            self.share[label].append(float(counts[g] / total) if total else 0.0)
        step_cost = float(rec.cost[-1][:, 0].sum() + rec.community_cost[-1][:, 0].sum())  # this step's spending
        spent = (self.cost[-1] if self.cost else 0.0) + step_cost
        self.steps.append(int(rec.steps[-1]))
        self.cost.append(spent)


class WorkshopSession:
    """A scenario played live: a model with the trainer's switches, and optionally one beside it.

    ``beside`` chooses the run drawn beside the trainer's: ``"without switches"`` (the same
    scenario, untouched), a second :class:`Scenario` (run on the same seed), or None.
    """

    def __init__(self, scenario: Scenario, seed: int = 0, beside: str | Scenario | None = "without switches"):
        self.scenario = scenario
        self.seed = int(seed)
        self.community = build_community(scenario, self.seed)
        self.beside_choice = beside
        self._own: tuple[Scenario, int, Community] | None = None  # a second scenario's community, its seed
        self.templates = {s.key: self._template(s) for s in SWITCHES}
        self.settings = {s.key: self.templates[s.key][s.slider] for s in SWITCHES}
        self.reset()
        self.start_states = self.states()  # who practises at step 0 (the seeding game's picture)

    # ------------------------------------------------------------------ set-up
    def _template(self, switch: SwitchSpec) -> dict[str, Any]:
        """The switch's intervention: the scenario's own of that family (its settings), else the defaults."""
        family = switch.intervention["type"]
        own = [iv for iv in self.scenario.interventions if iv.type == family]
        if own:
            spec = own[0].model_dump(exclude={"start", "end", "id", "name"}, exclude_none=True)
            if family == "leader_training":
                spec["kinds"] = ["religious"]
            return spec
        return dict(switch.intervention)

    def reset(self, seed: int | None = None) -> None:
        """Start again from step 0 (on a new seed if given); switches go off, settings stay."""
        if seed is not None and int(seed) != self.seed:
            self.seed = int(seed)
            self.community = build_community(self.scenario, self.seed)
        self.model = DiffusionModel(self.scenario, self.seed, community=self.community)
        self.on: dict[str, str] = {}  # switch key -> stream identity of the intervention it started
        self.curves = Curves()
        self.curves.read(self.model)
        self.beside: DiffusionModel | None = None
        self.beside_community = self.community
        self.beside_label = ""
        if isinstance(self.beside_choice, Scenario):
            other = self.beside_choice
            self.beside_community = self._community_of(other)
            self.beside = DiffusionModel(other, self.seed, community=self.beside_community)
            self.beside_label = other.name
        elif self.beside_choice == "without switches":
            self.beside = DiffusionModel(self.scenario, self.seed, community=self.community)
            self.beside_label = "without switches"
        self.beside_curves = Curves()
        if self.beside is not None:
            self.beside_curves.read(self.beside)

    def _community_of(self, other: Scenario) -> Community:
        """The community a second scenario runs on: the trainer's when both describe the same one, else its own.

        Its own is built once per seed: a reset reuses it, and with it the page's picture of it.
        """
        if all(getattr(other, part) == getattr(self.scenario, part) for part in ("community", "network")):
            return self.community
        if self._own is None or self._own[0] is not other or self._own[1] != self.seed:
            self._own = (other, self.seed, build_community(other, self.seed))
        return self._own[2]

    # ------------------------------------------------------------------ playing
    @property
    def ended(self) -> bool:
        """Whether the schedule is over (Play stops here)."""
        return not self.model.running

    @property
    def days_per_step(self) -> float:
        """Days one step stands for."""
        return self.scenario.schedule.days_per_step

    def step(self) -> bool:
        """Advance one step (both runs); False when the schedule is already over."""
        if self.ended:
            return False
        self.model.step()
        self.curves.read(self.model)
        if self.beside is not None and self.beside.running:
            self.beside.step()
            self.beside_curves.read(self.beside)
        return True

    def switch(self, key: str, on: bool) -> None:
        """Turn a switch of :data:`SWITCHES` on (with the current slider setting) or off, from the next step."""
        spec = next(s for s in SWITCHES if s.key == key)
        if on and self.cannot(key):
            raise ValueError(f"{spec.label}: {self.cannot(key)}")
        if on and key not in self.on:
            iv = {**self.templates[key], spec.slider: self.settings[key], "name": spec.label}
            if spec.step >= 1:
                iv[spec.slider] = int(iv[spec.slider])
            self.on[key] = self.model.start_intervention(iv)
        elif not on and key in self.on:
            self.model.stop_intervention(self.on.pop(key))

    @property
    def curve_labels(self) -> list[str]:
        """The curves of :data:`CURVES` whose group has members here (no empty leaders' curve at 0 %)."""
        rec = self.model.recorder
        return [label for group, label in CURVES if rec.population[rec.groups.index(group)] > 0]

    def cannot(self, key: str) -> str:
        """Why a switch cannot act in this community ("" when it can): nobody it works through."""
        pop = self.community.population
        if key == "leaders" and not ((pop.role == LEADER) & (pop.leader_kind == LEADER_KINDS.index("religious"))).any():
            return "no religious leaders in this community"
        if key == "visits" and not ((pop.role == HOUSEHOLD) & (pop.catchment >= 0)).any():
            return "no health workers with a catchment in this community"
        return ""

    def set_setting(self, key: str, value: float) -> None:
        """Set a switch's slider; it applies the next time the switch is turned on."""
        self.settings[key] = value

    def played_scenario(self) -> Scenario:
        """The scenario that replays the trainer's run exactly (switches as interventions with windows)."""
        return self.model.played_scenario()

    # ------------------------------------------------------------------ reading
    def states(self, which: str = "main") -> np.ndarray:
        """Adoption state codes of every agent of one run (``main`` or ``beside``)."""
        return agent_states(self.model if which == "main" else self.beside)

    def agent_info(self, i: int, which: str = "main") -> dict[str, Any]:
        """Who agent ``i`` is, when and through which channel it adopted, and the contacts that exposed it."""
        model = self.model if which == "main" else self.beside
        pop = model.community.population
        role = ROLES[int(pop.role[i])]
        kind = LEADER_KINDS[int(pop.leader_kind[i])] if role == "leader" else None
        at = int(model.adopted_at[i, 0])
        ch = int(model.channel[i, 0])
        T = model.T
        contacts = T.indices[T.indptr[i] : T.indptr[i + 1]].astype(np.int64)
        contact_at = model.adopted_at[contacts, 0]
        # exposers: contacts whose adoption its decision saw, those who adopted in an earlier step or at the
        # start of its step through an intervention (forced channels); if it has not adopted, those adopted now
        forced = np.array([c.forced for c in bh.CHANNEL_TABLE])[model.channel[contacts, 0]]
        seen = (contact_at >= 0) & ((contact_at < at) | ((contact_at == at) & forced))
        exposers = contacts[seen] if at >= 0 else contacts[model.adopted[contacts, 0]]
        return {
            "agent": int(i),
            "role": role.replace("_", " "),
            "leader_kind": kind,
            "village": pop.village_label(int(pop.village[i])),
            "marginalised": bool(pop.marginalised[i]) if role == "household" else None,
            "household_size": int(pop.household_size[i]) if role == "household" else None,
            "adopted": bool(model.adopted[i, 0]),
            "adopted_step": at if at >= 0 else None,
            "adopted_day": at * self.days_per_step if at >= 0 else None,
            "channel": bh.CHANNEL_LABELS[bh.CHANNELS[ch]] if ch >= 0 else None,
            "contacts": int(len(contacts)),
            "exposed_by": [int(j) for j in exposers],
            "exposure_share": float(model.exposure_share[i, 0]),
        }
