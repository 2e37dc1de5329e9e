"""DiffusionModel as a Mesa model: agents, AgentSet, DataCollector, seeds, common random numbers, results."""

from __future__ import annotations

import random

import mesa
import numpy as np
import pandas as pd
import pytest

from diffusion_sim.agents import HealthWorker, Household, Leader
from diffusion_sim.behaviour import CHANNELS
from diffusion_sim.model import DiffusionModel
from diffusion_sim.scenario import Scenario, apply_overrides


def test_mesa_agents_view_the_arrays(small_scenario):
    model = DiffusionModel(small_scenario, seed=3)
    counts = model.community.population.counts()
    assert len(model.agents_by_type[Household]) == counts["household"] == 600
    assert len(model.agents_by_type[Leader]) == 3 * 5  # 2 religious + 1 traditional + 1 youth + 1 women per village
    assert len(model.agents_by_type[HealthWorker]) == 3 * 2
    model.run_for(10)
    assert model.steps == 10
    # attributes are the arrays, seen through properties
    hh = model.agents_by_type[Household]
    assert hh.agg("adopted", sum) == int(model.adopted[model.community.population.role == 0, 0].sum())
    adopters = model.agents.select(lambda a: a.adopted)
    assert len(adopters) == int(model.adopted.sum())
    assert all(a.adopted_at is not None and a.adopted_at <= 10 for a in adopters)
    kinds = model.agents_by_type[Leader].groupby("kind").count()
    assert kinds == {"religious": 6, "traditional": 3, "youth": 3, "women": 3}
    worker = model.agents_by_type[HealthWorker][0]
    assert all(model.agent(int(i)).catchment == worker.index for i in worker.catchment_households)


def test_datacollector_records_model_and_agent_values(small_scenario):
    model = DiffusionModel(small_scenario, seed=4)
    dc = mesa.DataCollector(
        model_reporters={"coverage": lambda m: m.coverage()},
        agent_reporters={"adopted": "adopted"},
    )
    for _ in range(5):
        model.step()
        dc.collect(model)
    mdf = dc.get_model_vars_dataframe()
    adf = dc.get_agent_vars_dataframe()
    result = model.result()
    expected = result.series("coverage", "role=household").loc[1:5].to_numpy()
    np.testing.assert_allclose(mdf["coverage"].to_numpy(), expected)
    last = adf.xs(adf.index.get_level_values(0).max(), level=0)
    assert int(last["adopted"].sum()) == int(model.adopted.sum())


def test_no_agent_objects_for_batches_or_large_communities(small_scenario):
    model = DiffusionModel(small_scenario, seed=1, replicates=[0, 1])
    assert not model.has_agent_objects and len(model.agents) == 0
    with pytest.raises(ValueError, match="single replicate"):
        model.create_agent_objects()
    lazy = DiffusionModel(small_scenario, seed=1, create_agents=False)
    assert len(lazy.agents) == 0
    assert lazy.agent(5).index == 5 and len(lazy.agents) == lazy.n


def test_same_seed_same_numbers_different_seed_different_numbers(small_scenario):
    a = DiffusionModel(small_scenario, seed=9).run()
    b = DiffusionModel(small_scenario, seed=9).run()
    c = DiffusionModel(small_scenario, seed=10).run()
    pd.testing.assert_frame_equal(a.steps, b.steps)
    pd.testing.assert_frame_equal(a.agents, b.agents)
    assert not a.agents["adopted_at"].equals(c.agents["adopted_at"])


def test_global_random_state_is_never_touched(small_scenario):
    np_state = np.random.get_state()[1].copy()
    py_state = random.getstate()
    DiffusionModel(small_scenario, seed=2).run()
    assert np.array_equal(np.random.get_state()[1], np_state)
    assert random.getstate() == py_state


def test_batched_replicates_equal_separate_runs(small_scenario):
    batch = DiffusionModel(small_scenario, seed=21, replicates=[0, 1, 2, 3])
    batch.run()
    for r in range(4):
        single = DiffusionModel(small_scenario, seed=21, replicates=[r], create_agents=False)
        single.run()
        for key in ("adopted", "adopted_at", "channel", "abandoned_at", "threshold"):
            np.testing.assert_array_equal(getattr(batch, key)[:, r], getattr(single, key)[:, 0], err_msg=key)
    frames = batch.result().steps
    assert sorted(frames["replicate"].unique()) == [0, 1, 2, 3]


def test_inert_change_leaves_every_trajectory_unchanged(small_scenario):
    """Common random numbers: a stream drawn for nobody (an intervention reaching no one) and a
    layer with zero weight change nothing; an agent-level change touches only what it reaches."""
    base = DiffusionModel(small_scenario, seed=33)
    base.run()

    class DrawsButReachesNobody:
        def act(self, model, t):
            model.streams.uniform("intervention.home_visits", t, np.arange(model.n))

    inert = DiffusionModel(small_scenario, seed=33)
    inert.interventions.append(DrawsButReachesNobody())
    inert.run()
    for key in ("adopted", "adopted_at", "channel", "abandoned_at"):
        np.testing.assert_array_equal(getattr(base, key), getattr(inert, key), err_msg=key)

    # switching on an extra stochastic channel with zero rate is inert too
    zero = DiffusionModel(
        apply_overrides(small_scenario, {"behaviour.spontaneous": 0.0, "behaviour.imitation": 0.0}), seed=33
    )
    zero.run()
    np.testing.assert_array_equal(base.adopted_at, zero.adopted_at)


def test_thresholds_follow_the_role_distribution():
    sc = apply_overrides(
        Scenario(),
        {"community.households": 20000, "roles.household.threshold.mean": 0.4, "roles.household.threshold.sd": 0.1},
    )
    model = DiffusionModel(sc, seed=1, create_agents=False)
    th = model.threshold[model.community.population.role == 0, 0]
    assert abs(th.mean() - 0.4) < 0.004 and abs(th.std() - 0.1) < 0.004
    assert th.min() >= 0 and th.max() <= 1


def test_results_frame_invariants(small_scenario):
    result = DiffusionModel(small_scenario, seed=8, replicates=[0, 1]).run()
    df = result.steps
    assert list(df.columns) == ["replicate", "seed", "step", "day", "group", "metric", "value"]
    pivot = df[df["metric"] == "adopters"].pivot_table(index=["replicate", "step"], columns="group", values="value")
    roles = pivot[["role=household", "role=leader", "role=health_worker"]].sum(axis=1)
    np.testing.assert_array_equal(roles.to_numpy(), pivot["all"].to_numpy())  # roles partition everyone
    villages = pivot[[c for c in pivot.columns if c.startswith("village=")]].sum(axis=1)
    np.testing.assert_array_equal(villages.to_numpy(), pivot["role=household"].to_numpy())  # villages: households
    marg = pivot["marginalised=yes"] + pivot["marginalised=no"]
    np.testing.assert_array_equal(marg.to_numpy(), pivot["role=household"].to_numpy())
    pop = df[df["metric"] == "population"].pivot_table(index="replicate", columns="group", values="value")
    assert set(df[df["metric"] == "population"]["step"]) == {0}
    for rep in (0, 1):
        assert (pivot.loc[rep] <= pop.loc[rep, pivot.columns]).all().all()
    cov = df[df["metric"] == "coverage"]["value"].dropna()
    assert cov.between(0, 1).all()
    # adopters(t) = adopters(t-1) + new(t) - abandoned(t), and new adopters split by channel
    for rep in (0, 1):

        def s(metric, group="all", rep=rep):
            return df[(df["replicate"] == rep) & (df["metric"] == metric) & (df["group"] == group)].set_index("step")[
                "value"
            ]

        np.testing.assert_array_equal(s("adopters").diff().iloc[1:], (s("new_adopters") - s("abandonments")).iloc[1:])
        by_channel = sum(s("new_adopters", f"channel={c}") for c in CHANNELS)
        np.testing.assert_array_equal(by_channel.to_numpy(), s("new_adopters").to_numpy())
    # per-agent outcomes agree with the per-step frame
    agents = result.agents
    last = df["step"].max()
    for rep in (0, 1):
        a = agents[agents["replicate"] == rep]
        sel = (df["replicate"] == rep) & (df["metric"] == "adopters") & (df["group"] == "all") & (df["step"] == last)
        final = df.loc[sel, "value"].item()
        assert a["adopted"].sum() == final
        assert ((a["adopted_at"] >= 0) == (a["channel"] != "")).all()
        assert (a.loc[a["adopted_at"] == 0, "channel"] == "seed").all()
        # people, first adoptions and first abandonments agree with the per-agent outcomes
        hh = a[a["role"] == "household"]

        def at_last(metric, group, rep=rep):
            sel = (df["replicate"] == rep) & (df["metric"] == metric) & (df["group"] == group) & (df["step"] == last)
            return df.loc[sel, "value"].item()

        assert at_last("people_adopters", "role=household") == hh.loc[hh["adopted"], "household_size"].sum()
        people = df[(df["metric"] == "people") & (df["group"] == "role=household") & (df["replicate"] == rep)]
        assert people["value"].item() == hh["household_size"].sum()
        assert at_last("ever_adopted", "role=household") == (hh["adopted_at"] >= 0).sum()
        assert at_last("ever_adopted", "all") == (a["adopted_at"] >= 0).sum()
        assert at_last("ever_abandoned", "all") == (a["abandoned_at"] >= 0).sum()
        first = df[(df["replicate"] == rep) & (df["metric"] == "first_adopters")]
        by_ch = first.groupby(first["group"].astype(str))["value"].sum()
        expected = hh.loc[hh["adopted_at"] >= 0, "channel"].astype(str).value_counts()
        for ch in CHANNELS:
            assert by_ch.get(f"channel={ch}", 0.0) == expected.get(ch, 0), ch


def test_a_result_is_a_snapshot_that_later_steps_leave_alone(small_scenario):
    model = DiffusionModel(small_scenario, seed=8, replicates=[0, 1])
    model.run_for(5)
    result = model.result()
    agents, steps = result.agents.copy(deep=True), result.steps.copy(deep=True)
    assert agents["adopted"].to_numpy().tolist() == model.adopted.T.ravel().tolist()
    model.run_for(20)
    assert model.adopted.sum() != agents["adopted"].sum()  # the state moved on ...
    pd.testing.assert_frame_equal(result.agents, agents)  # ... and the result did not
    pd.testing.assert_frame_equal(result.steps, steps)
    assert list(agents["role"].cat.categories) == ["household", "leader", "health_worker"]
    assert agents["village"].cat.codes.min() >= 0


def test_coverage_by_role_and_kind_add_up_at_every_step(small_scenario):
    result = DiffusionModel(small_scenario, seed=12).run()
    df = result.steps[result.steps["metric"] == "adopters"].pivot_table(index="step", columns="group", values="value")
    kinds = df[[c for c in df.columns if c.startswith("leader_kind=")]].sum(axis=1)
    np.testing.assert_array_equal(kinds.to_numpy(), df["role=leader"].to_numpy())


def test_a_run_too_big_for_memory_is_refused_with_a_clear_message(monkeypatch, tmp_path, capsys):
    import diffusion_sim.resources as resources
    from diffusion_sim.cli import main

    monkeypatch.setattr(resources, "memory_limits", lambda: [("test limit", 4_000_000)])  # pretend 4 MB are left
    out = tmp_path / "out"
    assert main(["run", "--set", "community.households=2000", "--replicates", "50", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "replicates" in err and "MB of memory" in err and "fewer replicates" in err and "(4 MB: test limit)" in err
    assert not out.exists()


def test_group_codes_the_kernel_uses_are_the_recorders(small_scenario):
    from diffusion_sim.community import build_community
    from diffusion_sim.kernels import HOUSEHOLD_GROUP
    from diffusion_sim.recording import FIRST_VILLAGE_GROUP, group_labels

    labels = group_labels(build_community(small_scenario, 0).population)
    assert labels[HOUSEHOLD_GROUP] == "role=household"
    assert labels[FIRST_VILLAGE_GROUP].startswith("village=")
    assert not labels[FIRST_VILLAGE_GROUP - 1].startswith("village=")
