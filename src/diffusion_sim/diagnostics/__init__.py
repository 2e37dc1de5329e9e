"""Diagnostics of a community (``diffusion-sim inspect``): its network's shape and, with adoption times, its diffusion.

:func:`inspect_community` gathers every table; :func:`exposure_at_adoption` is the one definition of
exposure at the time of adoption, for observed survey data and simulated runs alike.
"""

from diffusion_sim.diagnostics.exposure import (
    ExposureAtAdoption,
    adoption_curve,
    exposure_at_adoption,
    simulated_adoption_times,
)
from diffusion_sim.diagnostics.inspection import Inspection, inspect_community
from diffusion_sim.diagnostics.structure import (
    CLUSTERING_WORK_LIMIT,
    arcs,
    average_clustering,
    components,
    degrees,
    local_clustering,
    projection,
    reciprocity,
)

__all__ = [
    "CLUSTERING_WORK_LIMIT",
    "ExposureAtAdoption",
    "Inspection",
    "adoption_curve",
    "arcs",
    "average_clustering",
    "components",
    "degrees",
    "exposure_at_adoption",
    "inspect_community",
    "local_clustering",
    "projection",
    "reciprocity",
    "simulated_adoption_times",
]
