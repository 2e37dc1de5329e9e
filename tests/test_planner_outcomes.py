"""Outcomes a planner can defend: one clock, households as coverage, a channel per cause, stable streams."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from diffusion_sim import behaviour as bh
from diffusion_sim.compare import check_paired, compare
from diffusion_sim.errors import UserError
from diffusion_sim.interventions import REGISTRY
from diffusion_sim.metrics import Clock, outcomes
from diffusion_sim.model import DiffusionModel
from diffusion_sim.scenario import scenario_from_dict

BASE = {
    "community": {"households": 600, "villages": 3},
    "behaviour": {"scepticism": {"share": 0.3}, "imitation": 0.05},
    "schedule": {"steps": 40},
    "outputs": {"sustain_steps": 8},
}

# every family switched on for nobody (and costing nothing): a do-nothing package
DO_NOTHING = {
    "leader_training": {"coverage": 0.0, "cost_per_leader": 50.0},
    "home_visits": {"visits_per_worker": 0, "cost_per_visit": 2.0},
    "media_campaign": {"reach": 0.0},
    "feedback_mechanism": {"reach": 0.0, "cost_per_person_reached": 1.0},
    "community_dialogue": {"attendance": 0.0, "marginalised_attendance": 0.0},
    "youth_volunteers": {"per_village": 0, "cost_per_volunteer_step": 3.0},
    "community_distribution": {"distributors_per_village": 0, "cost_per_household": 1.0},
    "peer_monitoring": {"abandonment_reduction": 0.0},
    "seeding": {"count": 0, "cost_per_seed": 5.0},
}

# every family switched on for real: each converts someone through its own channel
ACTIVE = {
    "leader_training": {"kinds": ["religious", "traditional"], "conversations": 5, "conversion": 0.5},
    "home_visits": {"visits_per_worker": 10, "conversion": 0.5},
    "media_campaign": {"reach": 1.0, "rate": 0.2},
    "feedback_mechanism": {"reach": 0.8},
    "community_dialogue": {"attendance": 0.8, "exposure_boost": 0.5, "interval": 1},
    "youth_volunteers": {"per_village": 5, "visits": 5, "conversion": 0.5},
    "community_distribution": {"distributors_per_village": 3, "households_per_step": 10, "conversion": 0.5},
    "peer_monitoring": {"abandonment_reduction": 0.8},
    "seeding": {"count": 20, "strategy": "random"},
}


def scen(name, interventions=(), **extra):
    return scenario_from_dict({**BASE, "name": name, "interventions": list(interventions), **extra})


def package(family, spec, start=3, end=12):
    return {"type": family, "start": start, "end": end, **spec}


@pytest.fixture(scope="module")
def do_nothing_comparison():
    scenarios = [scen("baseline")]
    scenarios += [scen(f"nothing-{f}", [package(f, spec)]) for f, spec in DO_NOTHING.items()]
    scenarios.append(scen("nothing-at-all", [package(f, spec) for f, spec in DO_NOTHING.items()]))
    return compare(scenarios, seed=11, replicates=4)


def test_a_do_nothing_package_of_every_family_equals_the_baseline_in_every_cell(do_nothing_comparison):
    comp = do_nothing_comparison
    assert comp.clock.step == 12 + 8  # the packages end at 12: everyone is read 8 steps later
    o = comp.outcomes.set_index(["scenario", "replicate"])
    base = o.loc["baseline"]
    for name in comp.names[1:]:
        pd.testing.assert_frame_equal(o.loc[name], base, check_exact=True, obj=name)
    d = comp.differences.set_index(["scenario", "outcome"])
    for name in comp.names[1:]:
        mine = d.loc[name].drop(columns=["mean"])
        assert (mine[["diff", "diff_low", "diff_high"]].fillna(0.0) == 0.0).all().all(), name
        pd.testing.assert_series_equal(d.loc[name, "mean"], d.loc["baseline", "mean"], check_names=False)
    ce = comp.cost_effectiveness.set_index("scenario")
    for name in comp.names[1:]:
        pd.testing.assert_series_equal(ce.loc[name], ce.loc["baseline"], check_names=False)
    # the per-step counts kept for the report are the baseline's, except the interventions' own (zero) rows
    base_steps = comp.results["baseline"].steps
    for name in comp.names[1:]:
        steps = comp.results[name].steps
        steps = steps[~steps["group"].astype(str).str.startswith("intervention=")].reset_index(drop=True)
        pd.testing.assert_frame_equal(
            steps.astype({"group": str, "metric": str}), base_steps.astype({"group": str, "metric": str})
        )


def test_sustained_outcomes_are_read_at_one_step_for_every_scenario():
    base = scen("baseline")
    early = scen("early", [package("home_visits", {"visits_per_worker": 3}, start=2, end=6)])
    late = scen("late", [package("media_campaign", {"reach": 0.5}, start=2, end=20)])
    assert Clock.own(base).step == 8 and Clock.own(early).step == 14 and Clock.own(late).step == 28
    comp = compare([base, early, late], seed=2, replicates=3)
    assert comp.clock == Clock(28)
    o = comp.outcomes
    assert (o["read_step"] == 28).all() and (o["read_day"] == 28 * 7).all()
    assert (o["final_step"] == 40).all() and (o["final_day"] == 280).all()
    # the baseline's sustained coverage is its household coverage at step 28, not at its own step 8
    cov = comp.results["baseline"].counts.coverage("role=household")
    np.testing.assert_array_equal(o[o["scenario"] == "baseline"]["sustained_coverage"].to_numpy(), cov[28])
    # a run on its own reads at its own step
    alone = outcomes(DiffusionModel(base, 2, replicates=range(3)).run())
    np.testing.assert_array_equal(alone["sustained_coverage"].to_numpy(), cov[8])


def test_no_common_step_when_an_intervention_runs_to_the_end_or_the_run_ends_first():
    forever = scen("forever", [{"type": "media_campaign", "start": 2}])
    assert Clock.common([scen("b"), forever]) == Clock(None, "'media_campaign' of forever runs to the end of the run")
    long = scen("long", [package("home_visits", {}, start=2, end=38)])
    assert Clock.common([scen("b"), long]).reason == "the run ends at step 40, before step 46"
    comp = compare([scen("b"), long], seed=1, replicates=2)
    assert comp.outcomes["sustained_coverage"].isna().all() and comp.outcomes["abandoned_share"].isna().all()
    assert any("before step 46" in w for w in comp.warnings)


def test_abandoned_share_counts_households_that_adopted_and_gave_up_by_the_read_step():
    sc = scen("b", behaviour={"abandonment": {"rate": 0.2, "peer_support": 0.0}, "external": 0.05})
    model = DiffusionModel(sc, 4, replicates=range(2))
    steps_to_read = Clock.own(sc).step
    for _ in range(steps_to_read):
        model.step()
    hh = model.community.population.role == 0
    # abandoned_at is the most recent abandonment: at the read step it says whether a household ever abandoned
    expected = [(model.abandoned_at[hh, r] >= 0).sum() / (model.adopted_at[hh, r] >= 0).sum() for r in range(model.R)]
    for _ in range(sc.schedule.steps - steps_to_read):
        model.step()
    got = outcomes(model.result())["abandoned_share"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)


def test_coverage_is_households_and_people_weighted_by_household_size():
    model = DiffusionModel(scen("b"), 3, replicates=range(2))
    o = outcomes(model.run())
    pop = model.community.population
    hh = pop.role == 0
    for r in range(2):
        a = model.adopted[:, r]
        assert o["final_coverage"][r] == a[hh].mean()
        assert o["final_coverage_people"][r] == pop.household_size[hh & a].sum() / pop.household_size[hh].sum()
        assert o["adopters"][r] == a[hh].sum()
        assert o["coverage_leaders"][r] == a[pop.role == 1].mean()
        assert o["coverage_health_workers"][r] == a[pop.role == 2].mean()
        villages = [a[hh & (pop.village == v)].mean() for v in range(pop.n_villages)]
        assert o["lowest_village_coverage"][r] == min(villages)


def test_channel_codes_names_and_labels_are_defined_once_and_agree():
    assert bh.CHANNELS == tuple(c.name for c in bh.CHANNEL_TABLE)
    assert list(bh.CHANNEL_LABELS) == list(bh.CHANNELS)
    assert len(set(bh.CHANNELS)) == len(bh.CHANNELS) and len(set(bh.CHANNEL_LABELS.values())) == len(bh.CHANNELS)
    for name in bh.CHANNELS:  # the module constants are the codes of the names
        assert getattr(bh, name.upper()) == bh.CHANNELS.index(name)
    assert [bh.CHANNELS[c] for c in bh.ROLE_CHANNELS] == ["peer", "leader", "health_worker"]
    sources = {c.source for c in bh.CHANNEL_TABLE} - {"initial", "rule"}
    assert sources <= set(REGISTRY)  # every direct channel belongs to an intervention family


@pytest.mark.parametrize("family", list(ACTIVE))
def test_each_family_converts_through_its_own_channels_and_labels_match_codes(family):
    sc = scen("p", [package(family, ACTIVE[family], start=3, end=30)])
    model = DiffusionModel(sc, 7, replicates=range(2))
    result = model.run()
    agents = result.agents
    codes = model.channel.T.ravel()
    labels = agents["channel"].astype(str).to_numpy()
    assert (labels == np.array([bh.CHANNELS[c] if c >= 0 else "" for c in codes])).all()
    used = {bh.CHANNEL_TABLE[c] for c in np.unique(codes[codes >= 0])}
    direct = {c for c in used if c.source not in ("initial", "rule")}
    assert all(c.source == family for c in direct), direct
    expected_direct = {c.source for c in bh.CHANNEL_TABLE} & {family}
    assert {c.source for c in direct} == expected_direct  # converts through its channel when it has one
    # outcomes count households' first adoptions by channel, and direct conversions are their sum
    o = outcomes(result)
    hh = agents[agents["role"] == "household"]
    for r in range(2):
        mine = hh[(hh["replicate"] == r) & (hh["adopted_at"] >= 0)]["channel"].astype(str).value_counts()
        for ch in bh.CHANNELS:
            assert o[f"first_adoptions_{ch}"][r] == mine.get(ch, 0), ch
        assert o["direct_conversions"][r] == sum(mine.get(ch, 0) for ch in bh.DIRECT_CHANNELS)


def test_direct_conversions_and_spill_over_of_leader_training():
    base = scen("b")
    trained = scen("t", [package("leader_training", ACTIVE["leader_training"], start=3, end=30)])
    comp = compare([base, trained], seed=5, replicates=4)
    t = comp.outcomes[comp.outcomes["scenario"] == "t"]
    assert (t["first_adoptions_leader_talk"] > 0).all()
    assert (t["direct_conversions"] == t["first_adoptions_leader_talk"]).all()
    assert (t["first_adoptions_training"] == 0).all()  # the trained leaders are not households
    b = comp.outcomes[comp.outcomes["scenario"] == "b"]
    assert (b["direct_conversions"] == 0).all()


# ---------------------------------------------------------------- stable stream identities

TWO = [
    {"type": "leader_training", "start": 3, "conversations": 4, "conversion": 0.3},
    {"type": "home_visits", "start": 5, "visits_per_worker": 4, "conversion": 0.3},
]


def state(interventions, seed=9):
    model = DiffusionModel(scen("s", interventions), seed, replicates=range(2), create_agents=False)
    model.run()
    return {k: getattr(model, k).copy() for k in ("adopted", "adopted_at", "channel", "abandoned_at", "threshold")}


def assert_same(a, b):
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.fixture(scope="module")
def reference_state():
    return state(TWO)


def test_renaming_an_intervention_changes_no_random_number(reference_state):
    renamed = [{**TWO[0], "name": "imam training"}, {**TWO[1], "name": "CHW visits"}]
    assert_same(state(renamed), reference_state)


def test_reordering_the_list_changes_no_random_number(reference_state):
    assert_same(state(TWO[::-1]), reference_state)


def test_adding_an_unrelated_intervention_changes_no_other_draw(reference_state):
    # a campaign that draws whom it reaches but adds no hazard: every other draw must stay where it was
    silent = {"type": "media_campaign", "start": 2, "rate": 0.0, "reach": 0.7}
    assert_same(state([silent, *TWO]), reference_state)
    assert_same(state([TWO[0], silent, TWO[1]]), reference_state)


def test_explicit_ids_pin_streams_of_two_interventions_of_one_type():
    a = {"type": "home_visits", "start": 3, "visits_per_worker": 2, "conversion": 0.4, "id": "visits-a", "name": "A"}
    b = {"type": "home_visits", "start": 10, "visits_per_worker": 2, "conversion": 0.4, "id": "visits-b", "name": "B"}
    assert_same(state([a, b]), state([b, a]))
    with pytest.raises(UserError, match="interventions.1.id"):
        scenario_from_dict({**BASE, "interventions": [{**a}, {**b, "id": "visits-a"}]})
    # two of one type must each have an id: nothing else tells them apart whatever their order
    no_ids = [{k: v for k, v in x.items() if k != "id"} for x in (a, b)]
    with pytest.raises(UserError, match="interventions.0 and interventions.1 are all of type 'home_visits'"):
        scenario_from_dict({**BASE, "interventions": no_ids})


# ---------------------------------------------------------------- pairing and precision


def test_unpaired_scenarios_are_refused_naming_the_fields():
    with pytest.raises(UserError) as err:
        check_paired([scen("a"), scen("b", community={"households": 900, "villages": 3})], ["a.yaml", "b.yaml"])
    assert "b.yaml" in str(err.value) and "community.households (600 vs 900)" in str(err.value)
    with pytest.raises(UserError, match=r"schedule.steps \(40 vs 30\)"):
        compare([scen("a"), scen("b", schedule={"steps": 30})], replicates=2)


def test_one_replicate_gives_no_interval_and_a_warning():
    comp = compare([scen("a"), scen("b", [package("home_visits", ACTIVE["home_visits"])])], replicates=1)
    row = comp.differences.set_index(["scenario", "outcome"]).loc[("b", "final_coverage")]
    assert row["n"] == 1 and np.isnan(row["diff_low"]) and np.isnan(row["diff_high"])
    assert comp.warnings[0].startswith("one replicate: no interval")
    few = compare([scen("a"), scen("b")], replicates=3)
    assert few.warnings[0].startswith("only 3 replicates")


def test_precision_adds_replicates_until_every_interval_is_narrow_enough():
    scenarios = [scen("a"), scen("b", [package("home_visits", ACTIVE["home_visits"])])]
    loose = compare(scenarios, replicates=4, precision=0.5, batch=4, max_replicates=40)
    assert loose.precision.met and len(loose.replicates) == 4  # already met by the first batch
    tight = compare(scenarios, replicates=4, precision=0.004, batch=4, max_replicates=24)
    d = tight.differences.set_index(["scenario", "outcome"]).loc[("b", "final_coverage")]
    half = (d["diff_high"] - d["diff_low"]) / 2
    assert tight.precision.achieved == pytest.approx(half)
    if tight.precision.met:
        assert half <= 0.004
    else:
        assert len(tight.replicates) == 24 and half > 0.004
    # the batches give the numbers one block of the same replicates gives
    block = compare(scenarios, replicates=len(tight.replicates))
    pd.testing.assert_frame_equal(tight.outcomes, block.outcomes)


# ---------------------------------------------------------------- the command line

SMALL = ["--set", "community.households=600", "--set", "community.villages=3", "--steps", "30", "--no-progress"]


def test_compare_refuses_unpaired_files_before_running_and_writes_nothing(tmp_path, capsys):
    from diffusion_sim.cli import main

    out = tmp_path / "out"
    args = ["compare", "scenarios/baseline.yaml", "scenarios/home_visits_feedback.yaml", "--out", str(out), *SMALL]
    assert main([*args, "--set", "2:community.households=900"]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "not paired" in err and "community.households (600 vs 900)" in err
    assert "scenarios/home_visits_feedback.yaml" in err and not out.exists()
    assert main([*args, "--set", "5:community.households=900"]) == 2
    assert "names scenario 5, but 2 files were given" in capsys.readouterr().err


def test_compare_overrides_one_file_and_reports_precision(tmp_path, capsys):
    import pandas as pd

    from diffusion_sim.cli import main

    out = tmp_path / "out"
    files = ["scenarios/baseline.yaml", "scenarios/home_visits_feedback.yaml", "scenarios/home_visits_feedback.yaml"]
    args = ["compare", *files, "--out", str(out), "--replicates", "4", "--precision", "40", *SMALL[:4]]
    assert main([*args, "--set", "3:interventions.0.conversion=0.6"]) == 0
    text = capsys.readouterr()
    assert "precision met: every 95% interval of final_coverage is within +-" in text.out
    assert "warning: only 4 replicates" in text.err
    o = pd.read_csv(out / "outcomes.csv")
    assert list(dict.fromkeys(o["scenario"])) == ["baseline", "home_visits_feedback", "home_visits_feedback (2)"]
    mean = o.groupby("scenario")["final_coverage"].mean()
    assert mean["home_visits_feedback (2)"] > mean["home_visits_feedback"]  # the override reached file 3 only
    assert (o["read_step"] == 82).all() and (o["read_day"] == 574).all() and (o["final_day"] == 728).all()
    steps = pd.read_parquet(out / "steps.parquet")
    villages = steps[steps["group"].astype(str).str.startswith("village=")]
    assert set(villages["scenario"].astype(str)) == set(o["scenario"])  # the streamed counts keep the villages


def test_memory_of_a_comparison_does_not_grow_with_the_number_of_scenarios():
    """A comparison keeps outcomes and small counts; each finished model's state is freed at once.

    Measured with tracemalloc (bytes numpy and Python allocate, not time): comparing six scenarios
    peaks at about what one run of one of them does. (Without DiffusionModel.release a finished
    model lingers until the next cyclic garbage collection, and the peak about doubles.)
    """
    import tracemalloc

    from diffusion_sim.runner import run

    size = {"households": 20000, "villages": 40}
    base = scen("b", community=size, schedule={"steps": 30})
    pkg = scen("p", [package("home_visits", ACTIVE["home_visits"], end=20)], community=size, schedule={"steps": 30})
    compare([base, pkg], replicates=2)  # compile and import everything first
    tracemalloc.start()
    run(pkg, 0, replicates=range(4), agents=False)
    one_run = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    tracemalloc.start()
    compare([base, *[pkg] * 5], replicates=4)
    six = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert six < 1.15 * one_run, (six, one_run)


def test_a_released_model_refuses_to_step():
    model = DiffusionModel(scen("b"), 0)
    model.step()
    model.release()
    assert model.community is None and model.recorder is None
    with pytest.raises(RuntimeError, match="released"):
        model.step()


def test_outcome_columns_lists_the_columns_outcomes_makes():
    from diffusion_sim.metrics import outcome_columns

    sc = scen("b", outputs={"coverage_targets": [0.3, 0.6, 0.9]})
    o = outcomes(DiffusionModel(sc, 1).run(5))
    assert list(o.columns) == ["replicate", *outcome_columns(sc)]
