"""Ready-made scenarios for known-answer tests and engine comparisons."""

from __future__ import annotations

from typing import Any

from diffusion_sim.scenario.load import apply_overrides
from diffusion_sim.scenario.schema import AGENT_TYPES, LAYERS, Scenario

__all__ = ["plain_scenario", "workshop_scenario"]


def plain_scenario(overrides: dict[str, Any] | None = None) -> Scenario:
    """A bare graph process: unit weights, no stochastic channel, no abandonment, no sceptics.

    Health workers adopt at step 0 and households never seed; then ``overrides`` (dotted paths).

    With :func:`diffusion_sim.community.single_layer_community` this makes a bare graph process
    whose initial adopters are exactly the given seeds.
    """
    base: dict[str, Any] = {
        "behaviour.external": 0.0,
        "behaviour.spontaneous": 0.0,
        "behaviour.imitation": 0.0,
        "behaviour.cascade_probability": 0.0,
        "behaviour.abandonment.rate": 0.0,
        "behaviour.abandonment.peer_support": 0.0,
        "behaviour.scepticism.share": 0.0,
        "roles.household.initial_adoption": 0.0,
        "roles.health_worker.initial_adoption": 1.0,
    }
    for t in AGENT_TYPES:
        base[f"roles.{t}.influence"] = 1.0
        base[f"roles.{t}.trust"] = 1.0
    for layer in LAYERS:
        base[f"network.{layer}.weight"] = 1.0
    base.update(overrides or {})
    return apply_overrides(Scenario(), base)


def workshop_scenario() -> Scenario:
    """The workshop page's built-in scenario: the built-in default at 1,000 households in 5 villages.

    Small enough to draw every agent and redraw it each step in a browser, large enough to show
    villages, leaders and health workers.
    """
    return apply_overrides(
        Scenario(),
        {
            "name": "workshop",
            "description": "Built-in workshop community: 5 villages, 1,000 households, every role.",
            "community.households": 1000,
            "community.villages": 5,
        },
    )
