"""Builders of the layered community network, vectorised with numpy (no networkx here).

Each builder draws from its own named generator, so switching one layer off or changing its
parameters leaves the other layers' ties unchanged.
"""

from __future__ import annotations

import numpy as np

from diffusion_sim.network.graph import EdgeList, LayeredNetwork
from diffusion_sim.population import HEALTH_WORKER, HOUSEHOLD, LEADER, Population
from diffusion_sim.rng import generator
from diffusion_sim.scenario.schema import Scenario

__all__ = ["build_network", "expected_ties", "kin_layer", "neighbour_layer", "inter_village_layer", "dedupe"]


def dedupe(src: np.ndarray, dst: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Drop self-loops and repeated undirected pairs; return pairs with ``src < dst``, sorted."""
    keep = src != dst
    a = np.minimum(src[keep], dst[keep]).astype(np.int64)
    b = np.maximum(src[keep], dst[keep]).astype(np.int64)
    key = a * n + b
    key.sort()  # sort then drop repeats: much faster than np.unique's hash path on large arrays
    if len(key):
        key = key[np.concatenate(([True], key[1:] != key[:-1]))]
    return (key // n).astype(np.int32), (key % n).astype(np.int32)


def _village_blocks(pop: Population) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Households grouped by village: (household indices sorted by village, start offset, size) per village."""
    hh = pop.indices(HOUSEHOLD)
    order = hh[np.argsort(pop.village[hh], kind="stable")]
    sizes = np.bincount(pop.village[hh], minlength=pop.n_villages).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return order, starts, sizes


def _thin_marginalised(pop: Population, src: np.ndarray, dst: np.ndarray, factor: float, rng: np.random.Generator):
    """Keep ties with a marginalised household end with probability ``factor`` (once per marginalised end)."""
    if factor >= 1.0 or len(src) == 0:
        return src, dst
    m = pop.marginalised[src].astype(np.int8) + pop.marginalised[dst].astype(np.int8)
    keep = rng.random(len(src)) < np.power(factor, m)
    return src[keep], dst[keep]


def kin_layer(pop: Population, degree: float, marginal_factor: float, rng: np.random.Generator) -> EdgeList:
    """Random kin ties within villages: about ``degree`` ties per household before thinning."""
    order, starts, sizes = _village_blocks(pop)
    H = len(order)
    n_pairs = int(round(H * degree / 2))
    if H < 2 or n_pairs == 0:
        return EdgeList.empty()
    pos = rng.integers(0, H, size=n_pairs)
    v = pop.village[order[pos]]
    other = starts[v] + (rng.random(n_pairs) * sizes[v]).astype(np.int64)
    src, dst = dedupe(order[pos], order[other], pop.n)
    src, dst = _thin_marginalised(pop, src, dst, marginal_factor, rng)
    return EdgeList.unit(src, dst)


def neighbour_layer(pop: Population, degree: float, rewire: float, rng: np.random.Generator) -> EdgeList:
    """Watts-Strogatz small world in each village.

    A ring where each household is tied to its ``degree // 2`` nearest households on each side,
    each tie rewired within the village with
    probability ``rewire`` (Watts & Strogatz 1998). Villages smaller than the ring become cliques.
    """
    order, starts, sizes = _village_blocks(pop)
    H = len(order)
    half = int(degree) // 2
    if H < 2 or half == 0:
        return EdgeList.empty()
    village_of = np.repeat(np.arange(len(sizes)), sizes)
    local = np.arange(H) - starts[village_of]
    size = sizes[village_of]
    srcs, dsts = [], []
    for d in range(1, half + 1):
        ok = d < size  # a tie to itself would wrap around in tiny villages
        s = np.flatnonzero(ok)
        t = starts[village_of[s]] + (local[s] + d) % size[s]
        srcs.append(s)
        dsts.append(t)
    s = np.concatenate(srcs)
    t = np.concatenate(dsts)
    if rewire > 0:
        flip = rng.random(len(s)) < rewire
        vs = village_of[s[flip]]
        t = t.copy()
        t[flip] = starts[vs] + (rng.random(int(flip.sum())) * sizes[vs]).astype(np.int64)
    src, dst = dedupe(order[s], order[t], pop.n)
    return EdgeList.unit(src, dst)


def inter_village_layer(pop: Population, degree: float, rng: np.random.Generator) -> EdgeList:
    """Random ties between households of different villages.

    ``degree * H / 2`` draws, each from a random household to a random household of another
    village (repeats are merged).
    """
    order, starts, sizes = _village_blocks(pop)
    H = len(order)
    n_pairs = int(round(H * degree / 2))
    if pop.n_villages < 2 or n_pairs == 0 or H < 2:
        return EdgeList.empty()
    pos = rng.integers(0, H, size=n_pairs)
    v = pop.village[order[pos]]
    outside = H - sizes[v]
    ok = outside > 0
    pos, v, outside = pos[ok], v[ok], outside[ok]
    other = (rng.random(len(pos)) * outside).astype(np.int64)
    other = np.where(other >= starts[v], other + sizes[v], other)  # skip the household's own village
    src, dst = dedupe(order[pos], order[other], pop.n)
    return EdgeList.unit(src, dst)


def _membership_layer(pop: Population, head: np.ndarray) -> EdgeList:
    """Household-to-head ties from a per-agent head index (-1: none)."""
    members = np.flatnonzero(head >= 0)
    return EdgeList.unit(members, head[members])


def _leader_layer(pop: Population, reach: float, marginal_factor: float, rng: np.random.Generator) -> EdgeList:
    """Ties of leaders: outreach to households and a council per village.

    Traditional, youth and women leaders each tied to every household of their village with
    probability ``reach`` (``reach * marginal_factor`` for marginalised households), and every
    village's leaders tied to each other (a leaders' council).
    """
    order, starts, sizes = _village_blocks(pop)
    leaders = pop.indices(LEADER)
    srcs, dsts = [], []
    outreach = leaders[pop.leader_kind[leaders] != 0]  # religious leaders reach through congregations
    if len(outreach) and reach > 0:
        # every (leader, household of the leader's village) pair is tied independently with
        # probability reach, or reach * marginal_factor for a marginalised household
        v = pop.village[outreach]
        k = sizes[v]
        lead = np.repeat(outreach, k)
        offsets = np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k)
        hh = order[np.repeat(starts[v], k) + offsets]
        p = np.where(pop.marginalised[hh], reach * marginal_factor, reach)
        keep = rng.random(len(hh)) < p
        srcs.append(lead[keep])
        dsts.append(hh[keep])
    # council: all pairs of leaders within a village
    lv = pop.village[leaders]
    o = np.argsort(lv, kind="stable")
    ls, lvs = leaders[o], lv[o]
    counts = np.bincount(lvs, minlength=pop.n_villages)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    for gap in range(1, int(counts.max(initial=0))):
        i = np.flatnonzero(np.arange(len(ls)) - first[lvs] + gap < counts[lvs])
        srcs.append(ls[i])
        dsts.append(ls[i + gap])
    if not srcs:
        return EdgeList.empty()
    src, dst = dedupe(np.concatenate(srcs), np.concatenate(dsts), pop.n)
    return EdgeList.unit(src, dst)


def _catchment_layer(pop: Population, reach: float, rng: np.random.Generator) -> EdgeList:
    """Health workers tied to a ``reach`` share of the households of their catchment."""
    members = np.flatnonzero((pop.catchment >= 0) & (pop.role == HOUSEHOLD))
    if reach < 1.0:
        members = members[rng.random(len(members)) < reach]
    return EdgeList.unit(members, pop.catchment[members])


def build_network(scenario: Scenario, pop: Population, seed: int) -> LayeredNetwork:
    """Generate every enabled layer of the scenario's network for a population (or its random graph)."""
    net = scenario.network
    c = scenario.community
    if net.random_graph is not None:
        from diffusion_sim.network.random_graphs import LAYER, random_graph_layer

        layer = random_graph_layer(net.random_graph, pop, seed)
        return LayeredNetwork(n=pop.n, layers={LAYER: layer}, layer_weights={LAYER: net.random_graph.weight})
    layers: dict[str, EdgeList] = {}
    if net.kin.enabled:
        layers["kin"] = kin_layer(pop, net.kin.degree, c.marginalised_tie_factor, generator(seed, "network.kin"))
    if net.neighbour.enabled:
        layers["neighbour"] = neighbour_layer(
            pop, net.neighbour.degree, net.neighbour.rewire, generator(seed, "network.neighbour")
        )
    if net.congregation.enabled:
        layers["congregation"] = _membership_layer(pop, pop.congregation)
    if net.leader.enabled:
        layers["leader"] = _leader_layer(
            pop, net.leader.reach, c.marginalised_tie_factor, generator(seed, "network.leader")
        )
    if net.catchment.enabled and (pop.role == HEALTH_WORKER).any():
        layers["catchment"] = _catchment_layer(pop, net.catchment.reach, generator(seed, "network.catchment"))
    if net.inter_village.enabled:
        layers["inter_village"] = inter_village_layer(
            pop, net.inter_village.degree, generator(seed, "network.inter_village")
        )
    return LayeredNetwork(n=pop.n, layers=layers)


def expected_ties(scenario: Scenario) -> int | None:
    """About how many ties :func:`build_network` draws for a scenario's generated community (None if read from files).

    Counted from the scenario alone, before anything is generated, to size the memory a build needs:
    the pairs each layer draws before repeats are merged, and for the leader layer every (leader,
    household of its village) pair it considers and the council's pairs of leaders.
    """
    c, net = scenario.community, scenario.network
    if c.from_files:
        return None
    if net.mixing != "network":
        return 0
    H, V = c.households, c.villages
    if net.random_graph is not None:  # over every agent
        g = net.random_graph
        n = H + V * (c.leaders.religious + c.leaders.traditional + c.leaders.youth + c.leaders.women + c.health_workers)
        if g.family == "erdos_renyi":
            return int(n * g.mean_degree / 2)
        if g.family == "configuration":
            return sum(g.degrees or []) // 2
        if g.family == "watts_strogatz":
            return n * g.degree // 2
        return int(g.within * n * n / (2 * V) + g.between * n * n / 2)
    outreach = c.leaders.traditional + c.leaders.youth + c.leaders.women
    per_village = outreach + c.leaders.religious
    ties = 0.0
    if net.kin.enabled:
        ties += H * net.kin.degree / 2
    if net.neighbour.enabled:
        ties += H * (int(net.neighbour.degree) // 2)
    if net.inter_village.enabled:
        ties += H * net.inter_village.degree / 2
    if net.congregation.enabled and c.leaders.religious:
        ties += H
    if net.leader.enabled:
        ties += outreach * H + V * per_village * (per_village - 1) / 2
    if net.catchment.enabled and c.health_workers:
        ties += H
    return int(ties)
