"""Scenario schema, loading and dotted-path overrides."""

from diffusion_sim.scenario.load import (
    apply_overrides,
    format_validation_error,
    load_scenario,
    parse_override,
    scenario_from_dict,
    scenario_json_schema,
)
from diffusion_sim.scenario.presets import plain_scenario
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
    "format_validation_error",
    "load_scenario",
    "parse_override",
    "plain_scenario",
    "scenario_from_dict",
    "scenario_json_schema",
]
