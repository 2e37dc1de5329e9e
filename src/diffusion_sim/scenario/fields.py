"""Building blocks of the scenario schema: code tables, bounded number types, the strict base model."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AGENT_TYPES", "LAYERS", "LEADER_KINDS", "Money", "Probability", "Rate", "Strict"]

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


Money = Annotated[float, Field(ge=0.0, le=1e12)]


class Strict(BaseModel):
    """Base of every schema model: unknown keys are errors, no coercion of types, frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, validate_default=True)
