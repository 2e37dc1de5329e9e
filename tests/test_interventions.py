"""Interventions change what they should and nothing else; costs add up; exposures stay exact."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diffusion_sim import behaviour as bh
from diffusion_sim import kernels, rng
from diffusion_sim.interventions.base import pick_per_provider, visit_and_convert
from diffusion_sim.model import DiffusionModel
from diffusion_sim.population import HOUSEHOLD, LEADER
from diffusion_sim.scenario import apply_overrides, scenario_from_dict

BASE = {
    "community": {"households": 800, "villages": 4},
    "behaviour": {"scepticism": {"share": 0.3}},
    "schedule": {"steps": 30},
}

# each family switched on for nobody: the run must be identical to the baseline, agent for agent
INERT = {
    "leader_training": {"coverage": 0.0},
    "home_visits": {"visits_per_worker": 0},
    "media_campaign": {"reach": 0.0},
    "feedback_mechanism": {"reach": 0.0},
    "community_dialogue": {"attendance": 0.0},
    "youth_volunteers": {"per_village": 0},
    "community_distribution": {"distributors_per_village": 0},
    "peer_monitoring": {"abandonment_reduction": 0.0},
    "seeding": {"count": 0},
}


def run(interventions, seed=5, replicates=(0, 1), **extra):
    sc = scenario_from_dict({**BASE, "interventions": interventions, **extra})
    model = DiffusionModel(sc, seed=seed, replicates=replicates, create_agents=False)
    return model, model.run()


@pytest.fixture(scope="module")
def baseline():
    return run([])


@pytest.mark.parametrize("family", list(INERT))
def test_intervention_reaching_nobody_changes_nothing(baseline, family):
    base_model, _ = baseline
    model, result = run([{"type": family, "start": 3, **INERT[family]}])
    for key in ("adopted", "adopted_at", "channel", "abandoned_at"):
        np.testing.assert_array_equal(getattr(model, key), getattr(base_model, key), err_msg=key)


@pytest.mark.parametrize("family", list(INERT))
def test_every_family_runs_and_keeps_exposures_exact(family):
    spec = {"type": family, "start": 3, "end": 20}
    if family == "seeding":
        spec["count"] = 30
    model, result = run([spec])
    # the incrementally kept integer exposures equal a from-scratch recount
    s = np.zeros_like(model._s)
    w = np.zeros_like(model._w)
    kernels.exposure_full(kernels.tie_rows(model.T.indptr), model.T.indices, model.T.data, model._m, model._A, s, w)
    np.testing.assert_array_equal(s, model._s)
    np.testing.assert_array_equal(w, model._w)
    assert result.series("coverage").between(0, 1).all()


def test_home_visits_convert_only_catchment_households_within_capacity():
    k, cost = 3, 2.5
    model, result = run([{"type": "home_visits", "visits_per_worker": k, "conversion": 0.5, "cost_per_visit": cost}])
    pop = model.community.population
    visited = model.channel == bh.HOME_VISIT
    assert visited.any()
    rows = np.flatnonzero(visited.any(axis=1))
    assert (pop.role[rows] == HOUSEHOLD).all() and (pop.catchment[rows] >= 0).all()
    df = result.steps
    delivered = df[(df.metric == "delivered") & (df.group == "intervention=home_visits")]
    n_workers = int((pop.role == 2).sum())
    assert delivered["value"].max() <= k * n_workers
    # costs add up: cost = visits x unit cost, every step, every replicate
    costs = df[(df.metric == "cost") & (df.group == "intervention=home_visits")]
    np.testing.assert_allclose(costs["value"].to_numpy(), delivered["value"].to_numpy() * cost)
    total = df[(df.metric == "cost") & (df.group == "all")]
    np.testing.assert_allclose(total["value"].to_numpy(), costs["value"].to_numpy())


def test_marginalised_first_visits_reach_more_marginalised_households():
    def share(priority):
        model, _ = run(
            [{"type": "home_visits", "visits_per_worker": 2, "conversion": 1.0, "priority": priority, "end": 3}]
        )
        hv = (model.channel == bh.HOME_VISIT).any(axis=1)
        return model.community.population.marginalised[hv].mean()

    assert share("marginalised_first") > share("random") + 0.2


def test_leader_training_trains_the_named_kinds_at_the_start_step():
    model, result = run([{"type": "leader_training", "kinds": ["religious"], "start": 4, "influence_multiplier": 2.0,
                          "conversations": 0, "cost_per_leader": 100.0, "fixed_cost": 50.0}])  # fmt: skip
    pop = model.community.population
    religious = (pop.role == LEADER) & (pop.leader_kind == 0)
    trained = model.channel == bh.TRAINING
    assert trained[religious].all() and not trained[~religious].any()
    assert (model.adopted_at[trained] == 4).all()
    influence = model.params.roles.religious_leader.influence * model.params.roles.religious_leader.trust
    np.testing.assert_allclose(model.source_weight[religious], 2.0 * influence)
    df = result.steps
    costs = df[(df.metric == "cost") & (df.group == "intervention=leader_training") & (df.replicate == 0)]
    assert costs.set_index("step")["value"].to_dict() == {
        t: (50.0 + 100.0 * religious.sum() if t == 4 else 0.0) for t in range(31)
    }


def test_media_campaign_raises_hazard_of_those_reached_only_during_its_window():
    sc = scenario_from_dict(
        {**BASE, "interventions": [{"type": "media_campaign", "start": 3, "end": 6, "rate": 0.5, "reach": 0.4}]}
    )
    model = DiffusionModel(sc, seed=2, create_agents=False)
    base_rate = sc.behaviour.external
    iv = model.interventions[0]
    model.run_for(3)  # steps 1-3: on from step 3
    assert np.allclose(model.external[iv.reached], base_rate + 0.5)
    assert np.allclose(model.external[~iv.reached], base_rate)
    assert 0.35 < iv.reached.mean() < 0.45
    model.run_for(4)  # step 7: over
    assert np.allclose(model.external, base_rate)


def test_feedback_mechanism_effects_end_with_it():
    sc = scenario_from_dict(
        {**BASE, "interventions": [{"type": "feedback_mechanism", "start": 2, "end": 5, "reach": 0.5}]}
    )
    model = DiffusionModel(sc, seed=3, create_agents=False)
    before = (model.abandon_multiplier.copy(), model.threshold.copy())
    model.run_for(2)
    reached = model.interventions[0].reached
    assert np.allclose(model.abandon_multiplier[reached], 0.5) and np.allclose(model.abandon_multiplier[~reached], 1.0)
    lowered = reached & model.sceptic
    assert (model.threshold[lowered] < before[1][lowered]).all()
    model.run_for(4)
    np.testing.assert_array_equal(model.abandon_multiplier, before[0])
    np.testing.assert_array_equal(model.threshold, before[1])


def test_community_distribution_costs_are_shared_with_the_community():
    model, result = run([{"type": "community_distribution", "cost_per_household": 2.0, "community_share": 0.25}])
    df = result.steps
    g = "intervention=community_distribution"
    prog = df[(df.metric == "cost") & (df.group == g)]["value"].to_numpy()
    comm = df[(df.metric == "community_cost") & (df.group == g)]["value"].to_numpy()
    deliv = df[(df.metric == "delivered") & (df.group == g)]["value"].to_numpy()
    np.testing.assert_allclose(prog, deliv * 2.0 * 0.75)
    np.testing.assert_allclose(comm, deliv * 2.0 * 0.25)
    assert (model.channel == bh.DISTRIBUTION).any()


def test_seeding_strategies_pick_what_they_say():
    def seeds(**spec):
        model, _ = run([{"type": "seeding", "start": 2, **spec}], replicates=(0,))
        chosen = model.interventions[0].seeds[0]
        assert (model.adopted_at[chosen, 0] <= 2).all()  # every seed has adopted by the start step
        return model, chosen

    model, chosen = seeds(strategy="highest_degree", count=10)
    degree = np.diff(model.T.indptr)
    assert len(chosen) == 10 and degree[chosen].min() >= np.sort(degree)[-10]
    model, chosen = seeds(strategy="leaders", kinds=["youth"], count=4)
    pop = model.community.population
    assert len(chosen) == 4 and ((pop.role[chosen] == LEADER) & (pop.leader_kind[chosen] == 2)).all()
    model, chosen = seeds(strategy="marginalised_first", count=20)
    assert pop.marginalised[chosen].all() and (pop.role[chosen] == HOUSEHOLD).all()


def test_seeding_the_chosen_people_seeds_exactly_them_in_every_replicate():
    people = [3, 77, 400, 801]
    model, _ = run([{"type": "seeding", "strategy": "chosen", "people": people, "start": 2, "cost_per_seed": 5.0}])
    for r in range(2):
        np.testing.assert_array_equal(model.interventions[0].seeds[r], people)
        np.testing.assert_array_equal(np.flatnonzero(model.channel[:, r] == bh.SEEDING), people)
    assert model.recorder.cost[2].sum() == 2 * 4 * 5.0


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"strategy": "chosen"}, "give it with strategy chosen, and only then"),
        ({"strategy": "random", "count": 2, "people": [1]}, "give it with strategy chosen, and only then"),
        ({"strategy": "chosen", "people": [1, 1]}, "lists an agent twice"),
        ({"strategy": "chosen", "people": [1, 2], "count": 3}, "count is 3 but people lists 2 agents"),
        ({"strategy": "chosen", "people": [5, 100_000]}, "lists agent 100000, but the community has only"),
        ({"strategy": "chosen", "people": [-1]}, "greater than or equal to 0"),
    ],
)
def test_chosen_seeding_mistakes_are_named(spec, message):
    with pytest.raises(Exception, match=message):
        scenario_from_dict({**BASE, "interventions": [{"type": "seeding", **spec}]})


def test_seeding_budget_buys_seeds():
    sc = scenario_from_dict({**BASE, "interventions": [{"type": "seeding", "budget": 100.0, "cost_per_seed": 7.0}]})
    assert sc.interventions[0].n_seeds() == 14


def test_interventions_do_not_disturb_each_others_streams():
    """Adding a second intervention leaves the first one's own choices unchanged."""
    a, _ = run([{"type": "media_campaign", "name": "radio", "reach": 0.5}])
    b, _ = run([{"type": "media_campaign", "name": "radio", "reach": 0.5}, {"type": "home_visits"}])
    radio = next(iv for iv in b.interventions if iv.label == "radio")  # interventions act family by family
    np.testing.assert_array_equal(a.interventions[0].reached, radio.reached)


def test_set_override_reaches_an_intervention_field():
    sc = scenario_from_dict({**BASE, "interventions": [{"type": "home_visits"}]})
    assert apply_overrides(sc, {"interventions.0.conversion": 0.9}).interventions[0].conversion == 0.9


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 200),
    n_providers=st.integers(1, 8),
    cap=st.integers(0, 40),
    seed=st.integers(0, 2**32 - 1),
)
def test_pick_per_provider_matches_a_plain_sort(n, n_providers, cap, seed):
    """The compiled selection equals sorting each provider's candidates by (first, key, index)."""
    rng = np.random.default_rng(seed)
    provider = rng.integers(0, n_providers, n)
    key = rng.random(n)
    key[rng.random(n) < 0.2] = 0.5  # ties
    first = rng.random(n) < 0.3
    got = pick_per_provider(provider, key, cap, first)
    expected = np.zeros(n, bool)
    for p in range(n_providers):
        members = [i for i in np.lexsort((np.arange(n), key, ~first)) if provider[i] == p]
        expected[members[:cap]] = True
    np.testing.assert_array_equal(got, expected)


def test_batched_replicates_equal_separate_runs_with_every_family():
    """Parameters shared by the replicates (source weight, media hazard, abandonment multiplier) get a
    row per replicate once an intervention changes them in some replicates; batched columns still
    equal separate runs."""
    every = [
        {"type": "leader_training", "start": 2, "coverage": 0.6},
        {"type": "home_visits", "start": 1, "visits_per_worker": 3},
        {"type": "media_campaign", "start": 4, "end": 12, "reach": 0.4},
        {"type": "feedback_mechanism", "start": 3, "end": 15, "reach": 0.5},
        {"type": "community_dialogue", "start": 5, "end": 9, "attendance": 0.3},
        {"type": "youth_volunteers", "start": 2, "per_village": 2},
        {"type": "community_distribution", "start": 6, "distributors_per_village": 2},
        {"type": "peer_monitoring", "start": 8, "abandonment_reduction": 0.5},
        {"type": "seeding", "start": 1, "count": 10},
    ]
    batch, _ = run(every, seed=9, replicates=(0, 1, 2))
    assert batch._m.shape[0] == 3 and batch._ext.shape[0] == 3 and batch._drop.shape[0] == 3
    for r in range(3):
        single, _ = run(every, seed=9, replicates=(r,))
        for key in ("adopted", "adopted_at", "channel", "abandoned_at", "source_weight", "external"):
            np.testing.assert_array_equal(getattr(batch, key)[:, r], getattr(single, key)[:, 0], err_msg=key)
        np.testing.assert_array_equal(batch._s[r], single._s[0])
        np.testing.assert_array_equal(batch._w[r], np.broadcast_to(single._w, single._s.shape)[0])


def _visits_in_numpy(adopted, provider, household, cap, marginalised, first, key_stream, convert_stream, conversion):
    """The visit rule written with numpy and the numpy streams: queue, capacity, conversion by count."""
    idx = np.flatnonzero(~adopted[household])
    if len(idx) == 0:
        return 0, np.zeros(0, np.int64)
    uniq, inverse = np.unique(household[idx], return_inverse=True)
    key = rng.uniform(key_stream, 9, uniq)
    chosen = pick_per_provider(provider[idx], key[inverse], cap, marginalised[household[idx]] if first else None)
    m = np.bincount(inverse[chosen], minlength=len(uniq))
    reached = np.flatnonzero(m)
    convert = rng.uniform(convert_stream, 9, uniq[reached])
    return int(chosen.sum()), uniq[reached[convert < 1.0 - (1.0 - conversion) ** m[reached]]]


@settings(max_examples=120, deadline=None)
@given(
    n=st.integers(0, 300),
    n_households=st.integers(1, 120),
    n_providers=st.integers(1, 6),
    cap=st.integers(0, 12),
    first=st.booleans(),
    conversion=st.sampled_from([0.0, 0.12, 0.5, 1.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_compiled_visits_equal_the_numpy_rule(n, n_households, n_providers, cap, first, conversion, seed):
    """Households may be listed under several providers (conversations along ties) or once (catchments)."""
    gen = np.random.default_rng(seed)
    household = gen.integers(0, n_households, n)
    provider = gen.integers(0, n_providers, n)
    adopted = gen.random(n_households) < 0.3
    marginalised = gen.random(n_households) < 0.4
    k_order, k_convert = (rng.stream_key(seed, 0, name) for name in ("order", "convert"))
    expected = _visits_in_numpy(adopted, provider, household, cap, marginalised, first, k_order, k_convert, conversion)
    z = rng.step_keys(np.array([k_order, k_convert], np.uint64), 9)
    caps = np.full(n_providers, cap, np.int64)
    for hh, pv, unique in (
        (household, provider, False),
        *([(household, provider, True)] if len(set(household)) == n else []),
    ):
        got = visit_and_convert(adopted, pv, hh, caps, marginalised, first, unique, z[0], z[1], conversion)
        assert got[0] == expected[0]
        np.testing.assert_array_equal(np.sort(got[1]), expected[1])  # listing order when unique: same set
