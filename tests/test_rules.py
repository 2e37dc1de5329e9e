"""The adoption rules the classic results need: directed ties, linear threshold, per-arc cascade."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from diffusion_sim.community import single_layer_community
from diffusion_sim.model import DiffusionModel
from diffusion_sim.scenario.presets import plain_scenario


def directed(n: int, arcs, seeds=(), weights=None):
    """A one-layer community of arcs (ego, alter): alter's adoption counts for ego."""
    c = single_layer_community(n, arcs, seeds=seeds)
    c.network.directed = {"kin"}
    if weights is not None:
        c.network.layers["kin"].weight = np.asarray(weights, np.float32)
    return c


def test_directed_ties_carry_influence_one_way_and_exposure_stays_exact():
    rng = np.random.default_rng(4)
    n = 60
    arcs = np.unique(rng.integers(0, n, (240, 2)), axis=0)
    arcs = arcs[arcs[:, 0] != arcs[:, 1]]
    community = directed(n, arcs, seeds=range(6))
    scenario = plain_scenario(
        {
            "behaviour.imitation": 0.4,
            "behaviour.abandonment.rate": 0.2,
            "schedule.steps": 12,
            "behaviour.threshold_rule": "none",
        }
    )
    model = DiffusionModel(scenario, 3, replicates=range(4), community=community)
    pull = sp.csr_matrix((np.ones(len(arcs)), (arcs[:, 0], arcs[:, 1])), shape=(n, n))  # row ego: whom ego named
    assert (model.T != pull).nnz == 0
    for _ in range(12):
        model.step()
        np.testing.assert_allclose(model.exposure, pull @ model.adopted.astype(float))
        np.testing.assert_allclose(model.total_weight[:, 0], np.asarray(pull.sum(axis=1)).ravel())


def test_an_arc_passes_influence_from_the_named_to_the_namer_only():
    """0 named 1 (1 -> 0); 2 named 0 (0 -> 2). Seed 1: 0 then 2 adopt; seed 2: nobody else does."""
    scenario = plain_scenario(
        {
            "behaviour.threshold_rule": "absolute",
            "schedule.steps": 4,
            "roles.household.threshold.mean": 0.5,
            "roles.household.threshold.sd": 0.0,
        }
    )
    m = DiffusionModel(scenario, 0, community=directed(3, [(0, 1), (2, 0)], seeds=[1]))
    m.run()
    assert m.adopted_at[:, 0].tolist() == [1, 0, 2]
    m = DiffusionModel(scenario, 0, community=directed(3, [(0, 1), (2, 0)], seeds=[2]))
    m.run()
    assert m.adopted_at[:, 0].tolist() == [-1, -1, 0]


# a small directed graph: arcs (ego, alter, weight), alter's adoption counting for ego; agent 0 is the seed
ARCS = [(1, 0, 1.0), (2, 0, 2.0), (2, 1, 1.0), (3, 1, 1.0), (3, 2, 3.0), (4, 3, 1.0), (4, 0, 0.5), (1, 4, 1.0)]
N_AGENTS, SEEDS, R = 5, (0,), 4000


def _live_edge_probabilities(choices_of) -> np.ndarray:
    """P(agent active at the end) by enumerating live-edge graphs: ``choices_of[i]`` lists (alter, probability)."""
    prob = np.zeros(N_AGENTS)
    others = [i for i in range(N_AGENTS) if i not in SEEDS]
    for pick in itertools.product(*(choices_of[i] for i in others)):
        p = np.prod([q for _, q in pick])
        chosen = {i: alters for i, (alters, _) in zip(others, pick, strict=True)}
        active = set(SEEDS)
        while True:
            new = {i for i in others if i not in active and any(a in active for a in chosen[i])}
            if not new:
                break
            active |= new
        for i in active:
            prob[i] += p
    return prob


def _simulated(scenario) -> np.ndarray:
    arcs = np.array([(a, b) for a, b, _ in ARCS])
    community = directed(N_AGENTS, arcs, seeds=SEEDS, weights=[w for *_, w in ARCS])
    model = DiffusionModel(scenario, 11, replicates=range(R), community=community)
    model.run()
    return model.adopted.mean(axis=1)


def _close(simulated, exact):
    se = np.sqrt(np.maximum(exact * (1 - exact), 1e-12) / R)
    assert np.all(np.abs(simulated - exact) <= 4.5 * se + 1e-12), (simulated, exact)


def test_linear_threshold_matches_the_live_edge_enumeration():
    """Kempe et al. (2003): uniform thresholds and normalised weights = each agent keeps one incoming tie."""
    incoming = {i: [(b, w) for a, b, w in ARCS if a == i] for i in range(N_AGENTS)}
    choices = {i: [((b,), w / sum(x for _, x in incoming[i])) for b, w in incoming[i]] for i in incoming}
    exact = _live_edge_probabilities(choices)
    scenario = plain_scenario({"behaviour.threshold_rule": "linear_threshold", "schedule.steps": 8})
    _close(_simulated(scenario), exact)
    assert 0.05 < exact[1:].min() and exact[1:].max() < 0.95  # a test that can tell


def test_independent_cascade_with_per_arc_probabilities_matches_the_enumeration():
    """Each new adopter gets one chance per arc; an arc of weight w carries 1 - (1 - p)^w (the schema's rule)."""
    p = 0.3
    arc_p = {(a, b): 1 - (1 - p) ** w for a, b, w in ARCS}
    choices = {}
    for i in range(N_AGENTS):
        alters = [b for a, b, _ in ARCS if a == i]
        options = []
        for live in itertools.product([True, False], repeat=len(alters)):
            q = np.prod([arc_p[(i, b)] if on else 1 - arc_p[(i, b)] for b, on in zip(alters, live, strict=True)])
            options.append((tuple(b for b, on in zip(alters, live, strict=True) if on), q))
        choices[i] = options
    exact = _live_edge_probabilities(choices)
    scenario = plain_scenario(
        {"behaviour.threshold_rule": "none", "behaviour.cascade_probability": p, "schedule.steps": 8}
    )
    _close(_simulated(scenario), exact)
    assert 0.05 < exact[1:].min() and exact[1:].max() < 0.95


def test_per_person_thresholds_and_initial_adopters_replace_the_draws():
    from diffusion_sim.scenario.overrides import apply_overrides

    arcs = [(i, i + 1) for i in range(9)]  # a chain: each names the next
    community = directed(10, arcs, seeds=[])
    pop = community.population
    pop.initial = np.zeros(10, bool)
    pop.initial[9] = True
    pop.threshold = np.full(10, np.nan)
    pop.threshold[4] = 2.0  # never crossed (fractional rule): the chain stops at 5
    scenario = apply_overrides(plain_scenario({"schedule.steps": 12}), {"roles.household.threshold.sd": 0.0})
    model = DiffusionModel(scenario, 0, replicates=range(3), community=community)
    assert (model.threshold[4] == 2.0).all() and np.allclose(
        model.threshold[:4], scenario.roles.household.threshold.mean
    )
    model.run()
    for r in range(3):
        assert model.adopted_at[:, r].tolist() == [-1, -1, -1, -1, -1, 4, 3, 2, 1, 0]


def _bass(p: float, q: float, steps: int) -> np.ndarray:
    """The Bass recursion for the model's hazard form: F' = F + (1 - F)(1 - exp(-(p + q F)))."""
    F = [0.0]
    for _ in range(steps):
        F.append(F[-1] + (1 - F[-1]) * -np.expm1(-(p + q * F[-1])))
    return np.array(F)


def _well_mixed(mixing: str, households: int, villages: int = 1, steps: int = 30):
    from diffusion_sim.scenario.overrides import apply_overrides

    overrides = {
        "community.households": households,
        "community.villages": villages,
        "network.mixing": mixing,
        "behaviour.threshold_rule": "none",
        "behaviour.external": 0.01,
        "behaviour.imitation": 0.4,
        "schedule.steps": steps,
        "community.health_workers": 0,
        **{f"community.leaders.{k}": 0 for k in ("religious", "traditional", "youth", "women")},
    }
    return apply_overrides(plain_scenario({"roles.health_worker.initial_adoption": 0.0}), overrides)


def test_a_well_mixed_population_follows_the_bass_recursion():
    scenario = _well_mixed("population", 200_000)
    model = DiffusionModel(scenario, 5)
    assert model.T.nnz == 0  # no ties were built
    result = model.run()
    F = result.counts.adopters[:, 0, 0] / 200_000
    expected = _bass(0.01, 0.4, 30)
    assert np.abs(F - expected).max() < 0.004, np.abs(F - expected).max()
    assert expected[-1] > 0.9 and expected[10] < 0.5  # the S-curve is there to be matched
    ch = result.counts.by_channel[0].sum(axis=0)[:, 0]
    from diffusion_sim import behaviour as bh

    assert ch[bh.PEER] > ch[bh.MEDIA] > 0  # imitation of households' adoption, and the external push


def test_village_mixing_keeps_villages_apart():
    """One village seeded, the other not, no external push: only the seeded one grows."""
    scenario = _well_mixed("village", 2_000, villages=2, steps=25)
    scenario = scenario.model_copy(update={"behaviour": scenario.behaviour.model_copy(update={"external": 0.0})})
    community_model = DiffusionModel(scenario, 2)
    pop = community_model.community.population
    pop.initial = (pop.village == 0) & (np.arange(pop.n) % 20 == 0)
    model = DiffusionModel(scenario, 2, community=community_model.community)
    model.run()
    adopted = model.adopted[:, 0]
    assert adopted[pop.village == 0].mean() > 0.9 and not adopted[pop.village == 1].any()


def test_a_quiescent_schedule_stops_when_nothing_can_change():
    from diffusion_sim.runner import run
    from diffusion_sim.scenario.overrides import apply_overrides

    arcs = np.array([(a, b) for a, b, _ in ARCS])
    community = directed(N_AGENTS, arcs, seeds=SEEDS, weights=[w for *_, w in ARCS])
    capped = plain_scenario({"behaviour.threshold_rule": "linear_threshold", "schedule.steps": 1000})
    quiet = apply_overrides(capped, {"schedule.until": "quiescent"})
    result = run(quiet, 3, replicates=range(50), community=community)
    last = int(result.counts.steps[-1])
    assert 1 <= last < 10  # a progressive process on 5 agents is over within a few steps
    assert (result.counts.new[0, -1, 0] == 0).all()  # nothing happened in the last step
    full = run(capped, 3, replicates=range(50), community=community, steps=last + 5).counts
    np.testing.assert_array_equal(full.adopters[: last + 1], result.counts.adopters)  # the same run, cut
    assert (full.adopters[last:] == full.adopters[last]).all()  # and nothing after it
    # an external push keeps it going until everyone has adopted (abandonment is off)
    pushed = apply_overrides(quiet, {"behaviour.external": 0.2, "behaviour.threshold_rule": "none"})
    counts = run(pushed, 3, replicates=range(20), community=community).counts
    assert counts.steps[-1] < 1000 and (counts.adopters[-1, 0] == N_AGENTS).all()
    # the last adoption was in the step before the last, which was the first in which nothing happened
    assert counts.new[0, -2, 0].any() and not counts.new[0, -1, 0].any()
    # an intervention without an end keeps the run to its cap
    visits = apply_overrides(quiet, {"schedule.steps": 40, "interventions": [{"type": "peer_monitoring"}]})
    assert run(visits, 3, community=community).counts.steps[-1] == 40


def _families_scenario(**graph):
    from diffusion_sim.scenario.overrides import apply_overrides

    base = apply_overrides(
        plain_scenario({"behaviour.imitation": 0.3, "behaviour.threshold_rule": "none", "schedule.steps": 10}),
        {"community.households": 400, "community.villages": 4, "community.health_workers": 1},
    )
    return apply_overrides(base, {f"network.random_graph.{k}": v for k, v in graph.items()})


@pytest.mark.parametrize(
    "graph",
    [
        {"family": "erdos_renyi", "mean_degree": 6.0},
        {"family": "watts_strogatz", "degree": 6, "rewire": 0.2},
        {"family": "stochastic_block", "within": 0.05, "between": 0.002},
    ],
)
def test_random_graph_families_have_their_expected_shape(graph):
    from diffusion_sim.community import build_community

    scenario = _families_scenario(**graph)
    community = build_community(scenario, 1)
    net = community.network
    assert list(net.layers) == ["random_graph"]
    e = net.layers["random_graph"]
    n = community.n
    degree = net.degree()
    if graph["family"] == "erdos_renyi":
        assert abs(degree.mean() - 6.0) < 0.5
    elif graph["family"] == "watts_strogatz":
        assert degree.mean() == 6.0  # rewiring keeps the number of ties
    else:
        village = community.population.village
        inside = (village[e.src] == village[e.dst]).sum()
        pairs_in = sum(k * (k - 1) / 2 for k in np.bincount(village))
        assert abs(inside / pairs_in - 0.05) < 0.01
        assert abs((len(e) - inside) / (n * (n - 1) / 2 - pairs_in) - 0.002) < 0.001


def test_configuration_model_keeps_the_degree_sequence_up_to_dropped_repeats():
    from diffusion_sim.community import build_community

    rng = np.random.default_rng(0)
    probe = build_community(_families_scenario(family="erdos_renyi"), 0)
    degrees = rng.integers(1, 6, probe.n)
    degrees[0] += degrees.sum() % 2
    community = build_community(_families_scenario(family="configuration", degrees=degrees.tolist()), 0)
    got = community.network.degree()
    assert (got <= degrees).all() and got.sum() >= 0.95 * degrees.sum()


def test_a_network_per_replicate():
    from diffusion_sim.runner import run
    from diffusion_sim.scenario.overrides import apply_overrides

    scenario = apply_overrides(
        _families_scenario(family="erdos_renyi", mean_degree=3.0), {"network.per_replicate": True}
    )
    together = run(scenario, 7, replicates=range(3))
    alone = [run(scenario, 7, replicates=[r]) for r in range(3)]
    for r in range(3):  # replicate r is the same run whichever replicates run beside it
        np.testing.assert_array_equal(together.counts.adopters[..., r], alone[r].counts.adopters[..., 0])
    assert together.provenance["replicates"] == [0, 1, 2] and together.scenario == scenario
    assert len(together.agents) == 3 * alone[0].agents.shape[0]
    # the networks differ between replicates (and the shared-network run is a different run)
    from diffusion_sim.community import build_community, replicate_community

    base = build_community(scenario, 7)
    a, b = (replicate_community(scenario, base, 7, r).network.layers["random_graph"] for r in (0, 1))
    assert len(a) != len(b) or (a.src != b.src).any()


def test_an_imported_community_with_a_network_file_per_replicate(tmp_path):
    from diffusion_sim.community import build_community, replicate_community
    from diffusion_sim.errors import UserError
    from diffusion_sim.network.io import write_csv_community
    from diffusion_sim.runner import run
    from diffusion_sim.scenario import scenario_from_dict
    from diffusion_sim.scenario.overrides import apply_overrides

    generated = apply_overrides(
        plain_scenario({"behaviour.imitation": 0.3, "behaviour.threshold_rule": "none", "schedule.steps": 10}),
        {"community.households": 300, "community.villages": 3},
    )
    base = build_community(generated, 1)
    files = []
    for r in range(3):
        nodes, edges = tmp_path / "nodes.csv", tmp_path / f"edges{r}.csv"
        write_csv_community(replicate_community(generated, base, 1, r), nodes, edges)
        files.append(str(edges))
    data = generated.model_dump(mode="json")
    data["community"]["imported"] = {"nodes": str(tmp_path / "nodes.csv"), "edges": files[0], "networks": files}
    data["network"]["per_replicate"] = True
    scenario = scenario_from_dict(data)
    together = run(scenario, 4, replicates=range(3), agents=False).counts
    for r in range(3):  # replicate r is an ordinary imported run on the r-th file
        one = dict(data, network={**data["network"], "per_replicate": False})
        one["community"] = {**data["community"], "imported": {"nodes": str(tmp_path / "nodes.csv"), "edges": files[r]}}
        alone = run(scenario_from_dict(one), 4, replicates=[r], agents=False).counts
        np.testing.assert_array_equal(together.adopters[..., r], alone.adopters[..., 0])
    with pytest.raises(UserError, match="replicate 3 has none; expected at least 4 files"):
        run(scenario, 4, replicates=range(4), agents=False)
    stranger = tmp_path / "stranger.csv"  # a tie of someone the nodes file does not list
    lines = Path(files[1]).read_text().splitlines()
    stranger.write_text("\n".join([*lines, lines[1].replace(lines[1].split(",")[0], "99999", 1)]) + "\n")
    data["community"]["imported"]["networks"] = [files[0], str(stranger)]
    with pytest.raises(UserError, match=f"stranger.csv: line {len(lines) + 1}"):
        run(scenario_from_dict(data), 4, replicates=range(2), agents=False)
    with pytest.raises(UserError, match="expected network.per_replicate true"):
        scenario_from_dict(dict(data, network={**data["network"], "per_replicate": False}))


def test_graphml_networks_per_replicate_must_hold_the_same_people(tmp_path):
    from diffusion_sim.community import build_community
    from diffusion_sim.errors import UserError
    from diffusion_sim.network.io import write_graphml_community
    from diffusion_sim.runner import run
    from diffusion_sim.scenario import scenario_from_dict
    from diffusion_sim.scenario.overrides import apply_overrides

    generated = apply_overrides(plain_scenario({"schedule.steps": 5}), {"community.households": 200})
    write_graphml_community(build_community(generated, 1), tmp_path / "a.graphml")
    write_graphml_community(build_community(generated, 2), tmp_path / "b.graphml")  # other ties, same people
    write_graphml_community(
        build_community(apply_overrides(generated, {"community.households": 90}), 1), tmp_path / "c.graphml"
    )
    data = generated.model_dump(mode="json")
    data["network"]["per_replicate"] = True
    files = [str(tmp_path / n) for n in ("a.graphml", "b.graphml", "c.graphml")]
    data["community"]["imported"] = {"graphml": files[0], "networks": files}
    scenario = scenario_from_dict(data)
    assert len(run(scenario, 0, replicates=range(2), agents=False).counts.replicates) == 2
    with pytest.raises(UserError, match="c.graphml: has .* people, not the .* people of the community's first file"):
        run(scenario, 0, replicates=range(3), agents=False)
