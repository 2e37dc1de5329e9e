"""Interventions: one implementation per family, found by the ``type`` a scenario names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from diffusion_sim.interventions.base import InterventionImpl
from diffusion_sim.interventions.families import (
    CommunityDialogueImpl,
    CommunityDistributionImpl,
    FeedbackMechanismImpl,
    HomeVisitsImpl,
    LeaderTrainingImpl,
    MediaCampaignImpl,
    PeerMonitoringImpl,
    SeedingImpl,
    YouthVolunteersImpl,
)
from diffusion_sim.interventions.switches import acting_order
from diffusion_sim.scenario.intervention_schema import stream_identities

if TYPE_CHECKING:
    from diffusion_sim.model import DiffusionModel

__all__ = ["REGISTRY", "InterventionImpl", "build_interventions"]

REGISTRY: dict[str, type[InterventionImpl]] = {
    cls.type: cls
    for cls in (
        LeaderTrainingImpl,
        HomeVisitsImpl,
        MediaCampaignImpl,
        FeedbackMechanismImpl,
        CommunityDialogueImpl,
        YouthVolunteersImpl,
        CommunityDistributionImpl,
        PeerMonitoringImpl,
        SeedingImpl,
    )
}
"""Implementation of each intervention family, by the schema's ``type`` tag."""


def build_interventions(model: DiffusionModel) -> list[InterventionImpl]:
    """The scenario's interventions, set up on a model, in the order in which they act.

    That order does not depend on the order of the scenario's list: families act in the order of
    :data:`~diffusion_sim.scenario.intervention_schema.INTERVENTION_TYPES`, and interventions of
    one family in the order of their stream identities. So reordering a file changes nothing.
    """
    specs = model.params.interventions
    out = []
    for index, (spec, identity) in enumerate(zip(specs, stream_identities(specs), strict=True)):
        impl = REGISTRY[spec.type](spec, index, identity)
        impl.setup(model)  # depends on the community and the intervention's own streams only
        out.append(impl)
    return acting_order(out)
