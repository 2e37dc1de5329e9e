"""Building blocks of the scenario schema: code tables, bounded number types, the strict base model."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AGENT_TYPES",
    "COST_UNITS",
    "LAYERS",
    "LEADER_KINDS",
    "Money",
    "Probability",
    "Rate",
    "Strict",
    "cost_unit",
    "unit_cost",
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


Money = Annotated[float, Field(ge=0.0, le=1e12)]

COST_UNITS: tuple[str, ...] = (
    "fixed (one-off)",
    "per leader trained",
    "per conversation",
    "per visit",
    "per step",
    "per person reached",
    "per village per meeting",
    "per volunteer per step",
    "per household reached",
    "per seed",
)
"""What a unit cost can scale with: every unit cost field of an intervention names one of these."""


def unit_cost(unit: str, description: str) -> Any:
    """A unit cost field (default 0): its unit is stated in the description and, machine-readable, in the schema.

    The JSON Schema of the field carries ``"unit": unit``; :func:`cost_unit` reads it back from a model field.

    Args:
        unit: one of :data:`COST_UNITS`.
        description: what the cost pays for; the unit is appended.

    """
    if unit not in COST_UNITS:
        raise ValueError(f"unknown cost unit {unit!r}: expected one of {', '.join(COST_UNITS)}")
    return Field(0.0, description=f"{description} Unit: {unit}.", json_schema_extra={"unit": unit})


def cost_unit(model: type[BaseModel], field: str) -> str | None:
    """The unit of a unit cost field of a schema model (None for any other field)."""
    extra = model.model_fields[field].json_schema_extra
    return extra.get("unit") if isinstance(extra, dict) else None  # type: ignore[return-value]


class Strict(BaseModel):
    """Base of every schema model: unknown keys are errors, no coercion of types, frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, validate_default=True)
