"""``compare --posterior``: each replicate draws its fitted parameters from a calibration's posterior.

The draw is paired (the same particle for every scenario of a replicate), depends on the seed and
the replicate only, follows the weights, equals a plain run with the particle's values, widens the
spread of outcomes, is checked before anything runs, and is said in the report and provenance.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from diffusion_sim.calibrate.draws import PosteriorDraws
from diffusion_sim.calibrate.spec import Calibration
from diffusion_sim.cli import main
from diffusion_sim.compare import compare
from diffusion_sim.errors import UserError
from diffusion_sim.metrics import outcomes
from diffusion_sim.report.html import render_report
from diffusion_sim.runner import run
from diffusion_sim.scenario import apply_overrides, load_scenario, scenario_from_dict
from diffusion_sim.scenario.yaml_source import to_yaml

SMALL = {"community": {"households": 200, "villages": 2}, "schedule": {"steps": 20}}
IMITATION = {"behaviour.imitation": {"distribution": "uniform", "low": 0.0, "high": 0.4}}
VISITS = [{"type": "home_visits", "end": 12, "cost_per_visit": 2.0}]
CHANCE_ONLY = "not uncertainty about those assumptions"
WITH_PARAMETERS = "include uncertainty about the fitted parameter as well as the simulation's chance variation"


def scen(name, interventions=(), **extra):
    return scenario_from_dict({**SMALL, "name": name, "interventions": list(interventions), **extra})


def write_posterior(folder: Path, table: dict, *, fit=None, fitted=None, name="tiny", seed=0) -> Path:
    """A folder as ``diffusion-sim calibrate`` writes it: posterior.csv, provenance.json, fitted_scenario.yaml."""
    folder.mkdir(parents=True)
    cal = Calibration.model_validate({"name": name, "scenario": "base.yaml", "fit": fit or IMITATION, "seed": seed})
    pd.DataFrame(table).to_csv(folder / "posterior.csv", index=False)
    prov = {"command": "calibrate", "seed": seed, "calibration": cal.model_dump(mode="json")}
    (folder / "provenance.json").write_text(json.dumps(prov, indent=1), encoding="utf-8")
    fitted = fitted if fitted is not None else apply_overrides(scen("base"), {"community.seed": seed})
    (folder / "fitted_scenario.yaml").write_text(to_yaml(fitted), encoding="utf-8")
    return folder


def imitation_table(values, weights) -> dict:
    return {"behaviour.imitation": values, "u.behaviour.imitation": [v / 0.4 for v in values], "weight": weights}


@pytest.fixture(scope="module")
def five(tmp_path_factory) -> PosteriorDraws:
    """Five particles of behaviour.imitation, unequal weights."""
    folder = tmp_path_factory.mktemp("post") / "cal"
    w = np.array([1.0, 2.0, 3.0, 2.0, 1.0])
    return PosteriorDraws.load(write_posterior(folder, imitation_table([0.02, 0.06, 0.1, 0.2, 0.3], w / w.sum())))


@pytest.fixture(scope="module")
def paired(five):
    return compare([scen("base"), scen("visits", VISITS)], seed=4, replicates=6, posterior=five)


def test_every_scenario_of_a_replicate_gets_the_same_particle(paired, five):
    o = paired.outcomes
    by = o.pivot(index="replicate", columns="scenario", values="posterior_particle")
    assert (by["base"] == by["visits"]).all()
    assert list(by["base"]) == [five.particle(4, r) for r in range(6)]
    assert by["base"].nunique() > 1  # replicates do draw different particles
    assert paired.posterior["particle_by_replicate"] == list(by["base"])
    assert paired.posterior["replicates"] == list(range(6)) and paired.posterior["particles"] == 5
    assert paired.posterior["parameters"] == [{"label": "behaviour.imitation", "path": "behaviour.imitation"}]
    assert list(o.columns[:3]) == ["scenario", "replicate", "posterior_particle"]


def test_the_draw_depends_only_on_seed_and_replicate(paired, five):
    """Batches (as --precision adds them) give the outcomes of one block of the same replicates."""
    batched = compare(
        [scen("base"), scen("visits", VISITS)], seed=4, replicates=2, precision=1e-9, max_replicates=6, batch=2,
        posterior=five,
    )  # fmt: skip
    assert batched.replicates == list(range(6)) and not batched.precision.met
    pd.testing.assert_frame_equal(batched.outcomes, paired.outcomes)
    other_seed = [five.particle(5, r) for r in range(6)]
    assert other_seed != [five.particle(4, r) for r in range(6)]


def test_a_replicate_equals_a_plain_run_with_its_particles_values(paired, five):
    visits = paired.scenarios[1]
    table = pd.read_csv(five.folder / "posterior.csv")
    for r in (0, 3, 5):
        k = five.particle(4, r)
        sc = apply_overrides(visits, {"behaviour.imitation": float(table["behaviour.imitation"][k])})
        alone = run(sc, 4, replicates=[r], agents=False)
        counts, mine = alone.counts.without_villages(), paired.results["visits"].counts
        for name in ("adopters", "people_adopters", "ever_adopted", "new", "abandoned", "by_channel", "cost"):
            assert np.array_equal(getattr(mine, name)[..., r], getattr(counts, name)[..., 0]), name
        row = paired.outcomes.set_index(["scenario", "replicate"]).loc[("visits", r)]
        expected = outcomes(alone, paired.clock).iloc[0]
        for col in ("final_coverage", "adopters", "direct_conversions", "cost", "time_to_0.5"):
            assert row[col] == expected[col] or (np.isnan(row[col]) and np.isnan(expected[col])), col


def test_particles_are_drawn_in_proportion_to_weight(tmp_path):
    """Weights 0.9 and 0.1 (and a third particle of weight 1e-12) over 2,000 replicates."""
    draws = PosteriorDraws.load(write_posterior(tmp_path / "cal", imitation_table([0.1, 0.2, 0.3], [0.9, 0.1, 1e-12])))
    picks = np.array([draws.particle(11, r) for r in range(2000)])
    counts = np.bincount(picks, minlength=3)
    # binomial sd of the first share: sqrt(0.9 * 0.1 / 2000) = 0.0067; allow 4.5 sd
    assert abs(counts[0] / 2000 - 0.9) < 0.03
    assert abs(counts[1] / 2000 - 0.1) < 0.03
    assert counts[2] == 0  # a weight of 1e-12: expected 2e-9 draws
    assert [draws.particle(11, r) for r in range(50)] == list(picks[:50])  # a pure function of (seed, replicate)


def test_global_random_state_is_untouched(five):
    before = np.random.get_state()[1].copy(), random.getstate()
    compare([scen("base"), scen("visits", VISITS)], seed=1, replicates=2, posterior=five)
    assert np.array_equal(before[0], np.random.get_state()[1]) and before[1] == random.getstate()


def test_the_posterior_widens_the_spread_of_final_coverage(tmp_path):
    """Two particles far apart (imitation 0 and 0.3): the spread of final coverage over replicates exceeds the
    chance variation of either value alone (measured here: sd 0.47 against 0.21 and 0.005)."""
    draws = PosteriorDraws.load(write_posterior(tmp_path / "cal", imitation_table([0.0, 0.3], [0.5, 0.5])))

    def spread(imitation: float, posterior=None) -> float:
        pair = [scen("base", behaviour={"imitation": imitation}), scen("visits", VISITS)]
        o = compare(pair, seed=2, replicates=10, posterior=posterior).outcomes
        if posterior is not None:
            assert set(o["posterior_particle"]) == {0, 1}
        return float(o[o["scenario"] == "base"]["final_coverage"].std())

    chance = max(spread(0.0), spread(0.3))
    assert spread(0.15, draws) > 1.5 * chance


def test_report_says_the_intervals_include_parameter_uncertainty(paired):
    html = render_report(paired)
    assert WITH_PARAMETERS in html and CHANCE_ONLY not in html
    assert "Each replicate ran with its own draw from the posterior of the calibration <strong>tiny</strong>" in html
    assert "same draw was used for every scenario of that replicate" in html
    assert "<code>behaviour.imitation</code>" in html
    assert "intervals of the <em>average</em> difference over the draws: they narrow as replicates are added" in html
    assert 'id="parameter-spread"' in html and "final coverage: middle 90% of replicates" in html
    plain = compare([scen("base"), scen("visits", VISITS)], seed=4, replicates=2)
    html = render_report(plain)
    assert CHANCE_ONLY in html and "Parameter uncertainty" not in html and "parameter-spread" not in html


def test_spread_is_the_middle_90_percent_of_single_replicates_differences(paired):
    """spread_low/high are the 5% and 95% quantiles of the per-replicate paired differences (not the mean's CI)."""
    o = paired.outcomes.set_index(["scenario", "replicate"])["final_coverage"]
    d = (o.loc["visits"] - o.loc["base"]).to_numpy(float)
    row = paired.differences.set_index(["scenario", "outcome"]).loc[("visits", "final_coverage")]
    assert row["spread_low"] == pytest.approx(np.quantile(d, 0.05)) and row["spread_high"] == pytest.approx(
        np.quantile(d, 0.95)
    )


def test_a_different_community_is_a_warning(tmp_path):
    pair = [scen("base"), scen("visits", VISITS)]
    same = PosteriorDraws.load(write_posterior(tmp_path / "same", imitation_table([0.1], [1.0]), seed=3))
    assert same.community_warning(pair[0], 3) is None
    assert "--seed 3" in same.community_warning(pair[0], 0)  # a generated community takes the run's seed
    bigger = apply_overrides(pair[0], {"community.households": 300, "community.seed": 3})
    other = PosteriorDraws.load(write_posterior(tmp_path / "other", imitation_table([0.1], [1.0]), fitted=bigger))
    comp = compare(pair, seed=3, replicates=2, posterior=other)
    [w] = [w for w in comp.warnings if "fitted on a different community" in w]
    assert "community.households (300 in the calibration, 200 here)" in w


# ------------------------------------------------------------------------------------------------- command


@pytest.fixture
def files(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("name: base\ncommunity: {households: 200, villages: 2}\nschedule: {steps: 16}\n")
    other = tmp_path / "visits.yaml"
    other.write_text("extends: base.yaml\nname: visits\ninterventions:\n  - {type: home_visits, cost_per_visit: 1.5}\n")
    return [str(base), str(other)]


def test_command_with_posterior_writes_it_everywhere(tmp_path, files, capsys):
    folder = write_posterior(tmp_path / "cal", imitation_table([0.05, 0.25], [0.5, 0.5]), seed=0)
    out = tmp_path / "out"
    assert main(["compare", *files, "--replicates", "4", "--posterior", str(folder), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "each replicate drew behaviour.imitation from 2 posterior particles of calibration tiny" in text
    assert "coverage difference in the middle 90% of replicates (draws and chance):" in text
    table = pd.read_csv(out / "outcomes.csv")
    assert set(table["posterior_particle"]) <= {0, 1} and len(table) == 8
    prov = json.loads((out / "provenance.json").read_text())["posterior"]
    assert prov["calibration"] == "tiny" and prov["folder"] == str(folder.resolve()) and prov["particles"] == 2
    assert prov["particle_by_replicate"] == list(table[table["scenario"] == "base"]["posterior_particle"])
    assert prov["parameters"] == [{"label": "behaviour.imitation", "path": "behaviour.imitation"}]
    html = (out / "report.html").read_text()
    assert WITH_PARAMETERS in html and CHANCE_ONLY not in html


def test_memory_is_checked_for_one_replicate_at_a_time_with_a_posterior(tmp_path, files, monkeypatch, capsys):
    """With a posterior replicates run one at a time, so a limit that 30 side by side exceed does not refuse it."""
    import diffusion_sim.resources as resources
    from diffusion_sim.network.build import expected_ties
    from diffusion_sim.population import expected_agents
    from diffusion_sim.scenario import load_scenario

    sc = load_scenario(files[1])
    n, ties = expected_agents(sc), expected_ties(sc)
    one = resources.run_memory(n, 1, ties, community_built=False)
    thirty = resources.run_memory(n, 30, ties, community_built=False)
    assert thirty > 2 * one
    monkeypatch.setattr(resources, "memory_limits", lambda: [("a test's limit", (one + thirty) // 2)])
    folder = write_posterior(tmp_path / "cal", imitation_table([0.05, 0.25], [0.5, 0.5]), seed=0)
    base = ["compare", *files, "--replicates", "30"]
    assert main([*base, "--out", str(tmp_path / "plain")]) == 2  # 30 replicates in one block: refused
    assert "a test's limit" in capsys.readouterr().err and not (tmp_path / "plain").exists()
    assert main([*base, "--posterior", str(folder), "--out", str(tmp_path / "post"), "--no-progress"]) == 0


def _fitting(path: str, label: str | None = None, low: float = 0.0, high: float = 1.0):
    """A posterior folder maker: one particle of a calibration that fitted ``path``."""
    prior = {"distribution": "uniform", "low": low, "high": high, **({"name": label} if label else {})}
    return lambda f: write_posterior(f, {label or path: [(low + high) / 2], "weight": [1.0]}, fit={path: prior})


BAD = {
    "missing-folder": (
        lambda f: None,
        r"cal: no such folder; expected the output folder of diffusion-sim calibrate",
    ),
    "no-label-column": (
        lambda f: write_posterior(f, {"imitation": [0.1], "weight": [1.0]}),
        r"posterior\.csv: behaviour\.imitation: no column 'behaviour\.imitation'",
    ),
    "zero-weight": (
        lambda f: write_posterior(f, imitation_table([0.1, 0.2], [1.0, 0.0])),
        r"posterior\.csv: weight: expected positive finite weights, got 0 on line 3",
    ),
    "path-not-in-scenario": (
        _fitting("behaviour.imitaton"),
        r"in scenario base \(.*base\.yaml\).*unknown parameter 'behaviour\.imitaton'",
    ),
    "intervention-lacking": (
        _fitting("interventions.home_visits.conversion", "conv"),
        r"in scenario base .*interventions\.home_visits\.conversion: no intervention 'home_visits' in scenario base",
    ),
    "community": (
        _fitting("community.household_size", low=3, high=6),
        r"cannot vary between replicates: who lives in the community",
    ),
}


@pytest.mark.parametrize(("make", "expected"), list(BAD.values()), ids=list(BAD))
def test_bad_posterior_exits_2_with_one_message_and_writes_nothing(tmp_path, files, capsys, make, expected):
    import re

    folder = tmp_path / "cal"
    make(folder)
    out = tmp_path / "out"
    assert main(["compare", *files, "--posterior", str(folder), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert re.search(expected, err), err
    assert not out.exists()


def test_a_value_outside_the_schema_bounds_is_refused_before_running(tmp_path):
    """Every particle's value must fit the scenario: the lowest and highest are checked, not only the first draw's."""
    draws = PosteriorDraws.load(write_posterior(tmp_path / "cal", imitation_table([0.1, -0.5], [1 - 1e-12, 1e-12])))
    with pytest.raises(UserError, match="behaviour.imitation"):
        draws.check([scen("base")], ["base.yaml"], seed=0)


def test_the_folder_calibrate_writes_is_read_as_written(tmp_path):
    """A real ``diffusion-sim calibrate`` folder (10 particles, one generation) is read as it was written."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_calibrate import TINY, _tiny_data

    path = _tiny_data(tmp_path)
    path.write_text(TINY.replace("population: 100, generations: 5", "population: 10, generations: 1"))
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    draws = PosteriorDraws.load(tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "posterior.csv")
    assert draws.particles == len(table) == 10 and draws.calibration.name == "tiny"
    np.testing.assert_allclose(draws.values[:, 0], table["behaviour.imitation"])
    np.testing.assert_allclose(draws.weights, table["weight"] / table["weight"].sum())
    fitted = load_scenario(tmp_path / "out" / "fitted_scenario.yaml")
    assert draws.community_warning(fitted, 0) is None  # the calibration's own community, whatever the seed
    sc = draws.apply(fitted, 7, seed=0)
    assert sc.behaviour.imitation == table["behaviour.imitation"][draws.particle(0, 7)]
