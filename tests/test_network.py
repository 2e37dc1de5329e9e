"""Network builders: invariants (hypothesis), exact small cases, determinism."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from diffusion_sim.community import build_community
from diffusion_sim.network.build import dedupe, neighbour_layer
from diffusion_sim.network.graph import influence_matrix
from diffusion_sim.population import HEALTH_WORKER, HOUSEHOLD, LEADER
from diffusion_sim.rng import generator
from diffusion_sim.scenario import Scenario, apply_overrides

communities = st.fixed_dictionaries(
    {
        "community.villages": st.integers(1, 6),
        "community.households": st.integers(1, 400),
        "community.marginalised_share": st.floats(0, 1),
        "community.marginalised_tie_factor": st.floats(0, 1),
        "community.leaders.religious": st.integers(0, 3),
        "community.leaders.traditional": st.integers(0, 2),
        "community.leaders.youth": st.integers(0, 2),
        "community.leaders.women": st.integers(0, 2),
        "community.health_workers": st.integers(0, 4),
        "network.kin.degree": st.floats(0, 8),
        "network.neighbour.degree": st.floats(0, 10),
        "network.neighbour.rewire": st.floats(0, 1),
        "network.congregation.reach": st.floats(0, 1),
        "network.leader.reach": st.floats(0, 1),
        "network.catchment.reach": st.floats(0, 1),
        "network.inter_village.degree": st.floats(0, 3),
    }
)


@settings(max_examples=60, deadline=None)
@given(params=communities, seed=st.integers(0, 2**32))
def test_builder_invariants(params, seed):
    assume(params["community.households"] >= params["community.villages"])  # validation refuses fewer
    sc = apply_overrides(Scenario(), params)
    c = build_community(sc, seed)
    pop, net = c.population, c.network
    V, H = params["community.villages"], params["community.households"]
    counts = pop.counts()
    assert counts["household"] == H
    assert counts["religious_leader"] == V * params["community.leaders.religious"]
    assert counts["health_worker"] == V * params["community.health_workers"]
    assert sum(counts.values()) == pop.n == net.n
    sizes = np.bincount(pop.village[pop.role == HOUSEHOLD], minlength=V)
    assert sizes.max() - sizes.min() <= 1  # households split evenly
    assert (pop.household_size[pop.role == HOUSEHOLD] >= 1).all()
    for name, e in net.layers.items():
        assert len(e.src) == len(e.dst) == len(e.weight)
        if len(e) == 0:
            continue
        assert e.src.min() >= 0 and max(e.src.max(), e.dst.max()) < pop.n
        assert not (e.src == e.dst).any(), f"self-loop in {name}"
        pairs = np.minimum(e.src, e.dst).astype(np.int64) * pop.n + np.maximum(e.src, e.dst)
        assert len(np.unique(pairs)) == len(pairs), f"repeated tie in {name}"
        assert (e.weight > 0).all()
        rs, rd = pop.role[e.src], pop.role[e.dst]
        same_village = pop.village[e.src] == pop.village[e.dst]
        if name in ("kin", "neighbour"):
            assert (rs == HOUSEHOLD).all() and (rd == HOUSEHOLD).all() and same_village.all()
        elif name == "inter_village":
            assert (rs == HOUSEHOLD).all() and (rd == HOUSEHOLD).all() and not same_village.any()
        elif name == "congregation":
            assert (rs == HOUSEHOLD).all() and (rd == LEADER).all() and same_village.all()
            assert (pop.leader_kind[e.dst] == 0).all()
        elif name == "catchment":
            assert (rs == HOUSEHOLD).all() and (rd == HEALTH_WORKER).all() and same_village.all()
            assert (pop.catchment[e.src] == e.dst).all()
        elif name == "leader":
            assert same_village.all()
            assert ((rs == LEADER) | (rd == LEADER)).all()
    # the influence matrix is symmetric in its ties (weights differ by source), non-negative
    W = influence_matrix(net, {k: 1.0 for k in net.layers}, np.ones(pop.n))
    assert (W != W.T).nnz == 0
    assert (W.data > 0).all()


def test_neighbour_layer_without_rewiring_is_an_exact_ring_per_village():
    sc = apply_overrides(Scenario(), {"community.villages": 2, "community.households": 20})
    pop = build_community(sc, 1).population
    e = neighbour_layer(pop, degree=4, rewire=0.0, rng=generator(0, "x"))
    got = set(zip(e.src.tolist(), e.dst.tolist(), strict=True))
    expected = set()
    for v in range(2):
        hh = np.flatnonzero((pop.role == HOUSEHOLD) & (pop.village == v))
        for i in range(10):
            for d in (1, 2):
                a, b = int(hh[i]), int(hh[(i + d) % 10])
                expected.add((min(a, b), max(a, b)))
    assert got == expected
    assert np.all(np.bincount(np.concatenate([e.src, e.dst]), minlength=pop.n)[pop.role == HOUSEHOLD] == 4)


def test_rewiring_keeps_the_number_of_ties_close_and_shortens_paths():
    sc = apply_overrides(Scenario(), {"community.villages": 1, "community.households": 2000})
    pop = build_community(sc, 1).population
    ring = neighbour_layer(pop, 4, 0.0, generator(0, "x"))
    small = neighbour_layer(pop, 4, 0.1, generator(0, "x"))
    assert len(ring) == 4000
    assert 3900 < len(small) <= 4000  # a rewired tie is lost only when it lands on an existing one
    from scipy.sparse.csgraph import shortest_path

    def mean_path(e):
        adj = sp.coo_matrix((np.ones(len(e)), (e.src, e.dst)), shape=(pop.n, pop.n)).tocsr()
        d = shortest_path(adj, directed=False, unweighted=True, indices=np.arange(0, 2000, 100))
        return d[np.isfinite(d) & (d > 0)].mean()

    assert mean_path(small) < mean_path(ring) / 5  # Watts & Strogatz: a few shortcuts collapse path lengths


def test_layers_are_independent_streams():
    sc = Scenario()
    a = build_community(sc, 4).network
    b = build_community(apply_overrides(sc, {"network.kin.degree": 6.0}), 4).network
    for name in ("neighbour", "leader", "catchment", "inter_village", "congregation"):
        np.testing.assert_array_equal(a.layers[name].src, b.layers[name].src)
        np.testing.assert_array_equal(a.layers[name].dst, b.layers[name].dst)
    assert len(b.layers["kin"]) > len(a.layers["kin"])


def test_community_seed_overrides_the_run_seed():
    sc = apply_overrides(Scenario(), {"community.seed": 99})
    a, b = build_community(sc, 1), build_community(sc, 2)
    np.testing.assert_array_equal(a.network.layers["kin"].src, b.network.layers["kin"].src)


def test_dedupe_drops_loops_and_repeats():
    src, dst = dedupe(np.array([0, 1, 2, 2, 3]), np.array([1, 0, 2, 3, 2]), 4)
    assert list(zip(src.tolist(), dst.tolist(), strict=True)) == [(0, 1), (2, 3)]


def test_marginalised_households_have_fewer_kin_and_leader_ties():
    sc = apply_overrides(
        Scenario(),
        {"community.households": 20000, "community.marginalised_share": 0.3, "community.marginalised_tie_factor": 0.5},
    )
    c = build_community(sc, 3)
    pop, net = c.population, c.network
    for layer in ("kin", "leader"):
        e = net.layers[layer]
        deg = np.bincount(np.concatenate([e.src, e.dst]), minlength=pop.n)
        hh = pop.role == HOUSEHOLD
        ratio = deg[hh & pop.marginalised].mean() / deg[hh & ~pop.marginalised].mean()
        assert 0.4 < ratio < 0.65, (layer, ratio)
