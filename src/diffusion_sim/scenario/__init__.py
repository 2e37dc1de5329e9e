"""Scenario schema, loading and dotted-path overrides."""

from diffusion_sim.scenario.load import apply_overrides, load_scenario, parse_override, scenario_from_dict
from diffusion_sim.scenario.schema import (
    AGENT_TYPES,
    LAYERS,
    LEADER_KINDS,
    Behaviour,
    Community,
    Network,
    Roles,
    Scenario,
    Schedule,
)

__all__ = [
    "AGENT_TYPES",
    "LAYERS",
    "LEADER_KINDS",
    "Behaviour",
    "Community",
    "Network",
    "Roles",
    "Scenario",
    "Schedule",
    "apply_overrides",
    "load_scenario",
    "parse_override",
    "scenario_from_dict",
]
