"""A community described in a few lines: agents, communities, ties per layer, per-person values, cleaning.

Printed by ``diffusion-sim validate`` (and, for the cleaning report, ``run``) for a community read
from files.
"""

from __future__ import annotations

import numpy as np

from diffusion_sim.community import Community
from diffusion_sim.scenario.schema import LAYERS, Scenario

__all__ = ["describe_community", "layer_weight"]

_LISTED = 12
"""Communities listed by name; the rest are counted."""


def layer_weight(community: Community, scenario: Scenario, layer: str) -> float:
    """The weight the model gives a layer: ``network.<layer>.weight`` for a generated layer, else the network's own.

    The rule is :meth:`~diffusion_sim.network.graph.LayeredNetwork.layer_weight`, as in the influence matrix.
    """
    given = {layer: getattr(scenario.network, layer).weight} if layer in LAYERS else {}
    return community.network.layer_weight(layer, given)


def describe_community(community: Community, scenario: Scenario) -> tuple[list[str], list[str]]:
    """Lines describing a community (indented by two spaces), and warnings about it.

    Args:
        community: the community, as the scenario builds it.
        scenario: the scenario (layer weights, where the files are).

    Returns:
        ``(lines, warnings)``; a warning is a sentence without the ``warning:`` prefix.

    """
    pop, net = community.population, community.network
    c = scenario.community
    kinds = ", ".join(f"{name} {k:,}" for name, k in pop.counts().items() if k)
    one, many = ("community", "communities") if c.survey is not None else ("village", "villages")
    unit = one if pop.n_villages == 1 else many
    sizes = np.bincount(pop.village, minlength=pop.n_villages)
    named = ", ".join(f"{pop.village_label(v)}: {sizes[v]:,}" for v in range(min(pop.n_villages, _LISTED)))
    if pop.n_villages > _LISTED:
        named += f", and {pop.n_villages - _LISTED:,} more"
    lines = [f"  agents: {pop.n:,} ({kinds}) in {pop.n_villages:,} {unit} ({named})"]

    total = sum(len(e) for e in net.layers.values())
    lines.append(f"  ties: {total:,} in {len(net.layers)} layer{'s' if len(net.layers) != 1 else ''}")
    width = max([len(name) for name in net.layers] + [1])
    digits = max([len(f"{len(e):,}") for e in net.layers.values()] + [1])
    for name, e in net.layers.items():
        kind = "directed (arcs: who named whom)" if name in net.directed else "undirected"
        weight = layer_weight(community, scenario, name)
        lines.append(f"    {name.ljust(width)}  {len(e):>{digits},}  {kind}, layer weight {weight:g}")

    own = []
    if pop.initial is not None:
        own.append(f"{int(pop.initial.sum()):,} initial adopters")
    if pop.threshold is not None:
        own.append(f"{int((~np.isnan(pop.threshold)).sum()):,} thresholds of their own")
    if pop.adoption_time is not None:
        own.append(f"{int((~np.isnan(pop.adoption_time)).sum()):,} observed adoption times")
    if own:
        lines.append(f"  per person: {', '.join(own)}")
    if community.cleaning is not None:
        lines.extend(community.cleaning.lines())

    warnings = []
    if total == 0:
        warnings.append(f"{_no_ties(community, scenario)}: every agent is isolated, so nobody influences anyone "
                        "through the network")  # fmt: skip
    return lines, warnings


def _no_ties(community: Community, scenario: Scenario) -> str:
    """Why a community read from files has no ties, as precisely as the scenario tells."""
    c = scenario.community
    if c.survey is not None:
        report = community.cleaning
        if report is None or report.total("nominations") == 0:
            return f"{c.survey.file} has no nominations"
        return f"no ties: cleaning dropped all {report.total('nominations'):,} nominations of {c.survey.file}"
    if c.imported is not None:
        where = c.imported.edges or c.imported.graphml
        if any(not layer.enabled for layer in scenario.network.by_layer()):
            return f"no ties in the enabled layers ({where} lists none of theirs)"
        return f"{where} lists no ties" + (" (only a header line)" if c.imported.edges else "")
    return "no ties"
