"""Paired comparisons: exact zeros where nothing differs, differences that match the runs, costs that add up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from diffusion_sim.compare import compare
from diffusion_sim.metrics import outcomes
from diffusion_sim.model import DiffusionModel
from diffusion_sim.scenario import scenario_from_dict

SMALL = {"community": {"households": 500, "villages": 2}, "schedule": {"steps": 25}}


def scen(name, interventions=(), **extra):
    return scenario_from_dict({**SMALL, "name": name, "interventions": list(interventions), **extra})


@pytest.fixture(scope="module")
def comparison():
    base = scen("base")
    visits = scen("visits", [{"type": "home_visits", "end": 15, "cost_per_visit": 2.0, "fixed_cost": 100.0}])
    inert = scen("inert", [{"type": "home_visits", "visits_per_worker": 0, "fixed_cost": 10.0}])
    return compare([base, visits, inert], seed=3, replicates=6)


def test_an_intervention_reaching_nobody_has_exactly_zero_effect(comparison):
    d = comparison.differences.set_index(["scenario", "outcome"])
    for outcome in ("final_coverage", "adopters", "equity_gap", "extra_adopters"):
        row = d.loc[("inert", outcome)]
        assert row["diff"] == 0.0 and row["diff_low"] == 0.0 and row["diff_high"] == 0.0, outcome
    # ...but its fixed cost is counted
    assert d.loc[("inert", "cost")]["diff"] == pytest.approx(10.0)


def test_differences_are_the_paired_means_of_the_runs(comparison):
    t = comparison.outcomes.set_index(["scenario", "replicate"])
    diff = (t.loc["visits", "final_coverage"] - t.loc["base", "final_coverage"]).to_numpy()
    row = comparison.differences.set_index(["scenario", "outcome"]).loc[("visits", "final_coverage")]
    assert row["diff"] == pytest.approx(diff.mean())
    half = (row["diff_high"] - row["diff_low"]) / 2
    from scipy import stats

    assert half == pytest.approx(stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff)))
    assert row["diff"] > 0  # home visits help


def test_each_scenario_equals_its_own_batched_run(comparison):
    sc = comparison.scenarios[1]
    model = DiffusionModel(sc, 3, replicates=range(6), create_agents=False)
    expected = outcomes(model.run())
    got = comparison.outcomes[comparison.outcomes["scenario"] == "visits"].reset_index(drop=True)
    pd.testing.assert_frame_equal(got.drop(columns=["scenario", "extra_adopters"]), expected, check_dtype=False)


def test_costs_add_up(comparison):
    res = comparison.results["visits"]
    df = res.steps
    per_step = df[(df.metric == "cost") & (df.group == "intervention=home_visits")]
    delivered = df[(df.metric == "delivered") & (df.group == "intervention=home_visits")]
    for rep in range(6):
        c = per_step[per_step.replicate == rep]["value"].sum()
        v = delivered[delivered.replicate == rep]["value"].sum()
        assert c == pytest.approx(100.0 + 2.0 * v)
        assert comparison.outcomes.set_index(["scenario", "replicate"]).loc[("visits", rep), "cost"] == pytest.approx(c)
    ce = comparison.cost_effectiveness.set_index("scenario").loc["visits"]
    t = comparison.outcomes.set_index(["scenario", "replicate"])
    extra = (t.loc["visits", "adopters"] - t.loc["base", "adopters"]).mean()
    cost = (t.loc["visits", "cost"] - t.loc["base", "cost"]).mean()
    assert ce["cost_per_extra_adopter"] == pytest.approx(cost / extra)
    assert ce["ce_low"] <= ce["cost_per_extra_adopter"] <= ce["ce_high"]


def test_repeated_names_are_made_unique():
    comp = compare([scen("same"), scen("same")], replicates=2)
    assert comp.names == ["same", "same (2)"]


def test_compare_command_writes_report_and_tables(tmp_path, capsys):
    from diffusion_sim.atomic import MARKER
    from diffusion_sim.cli import main
    from diffusion_sim.compare import COMPARE_FILES

    base = tmp_path / "base.yaml"
    base.write_text("name: base\ncommunity: {households: 300, villages: 2}\nschedule: {steps: 12}\n")
    other = tmp_path / "visits.yaml"
    other.write_text("extends: base.yaml\nname: visits\ninterventions:\n  - {type: home_visits, cost_per_visit: 1.5}\n")
    out = tmp_path / "out"
    assert main(["compare", str(base), str(other), "--replicates", "3", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([*COMPARE_FILES, MARKER])  # MARKER: written by "compare"
    assert sorted(p.name for p in (out / "scenarios").iterdir()) == ["00-base.yaml", "01-visits.yaml"]
    table = pd.read_csv(out / "outcomes.csv")
    assert sorted(table["scenario"].unique()) == ["base", "visits"] and len(table) == 6
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "differences.parquet"), pd.read_csv(out / "differences.csv"), check_dtype=False
    )
    html = (out / "report.html").read_text()
    assert "visits" in html and "http://" not in html and "https://" not in html
    text = capsys.readouterr().out
    assert "visits" in text and "wrote" in text


def test_compare_command_bad_input_exits_2_and_writes_nothing(tmp_path, capsys):
    from diffusion_sim.cli import main

    good = tmp_path / "good.yaml"
    good.write_text("name: good\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ninterventions:\n  - {type: home_visits, conversion: 2}\n")
    out = tmp_path / "out"
    assert main(["compare", str(good), "--out", str(out)]) == 2
    assert "at least one other scenario" in capsys.readouterr().err
    assert main(["compare", str(good), str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: line 3: interventions.0.conversion" in err
    assert not out.exists()
