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
    """The scenario's interventions, set up on a model, in the order the scenario lists them."""
    out = []
    for index, spec in enumerate(model.params.interventions):
        impl = REGISTRY[spec.type](spec, index)
        impl.setup(model)
        out.append(impl)
    return out
