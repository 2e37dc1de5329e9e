"""``diffusion-sim calibrate``: every file written, the fitted scenario, summaries, bad input, reproducibility."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from diffusion_sim.calibrate.fit import intervals
from diffusion_sim.calibrate.output import CALIBRATE_FILES, IDENTIFIED_RATIO
from diffusion_sim.cli import main
from diffusion_sim.scenario import load_scenario

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_calibrate import TINY, _tiny_data  # noqa: E402

# two parameters (so correlations mean something), few particles and generations: a few seconds
SMALL = ("population: 100, generations: 5", "population: 30, generations: 3")
TWO = (
    "  behaviour.imitation: {distribution: uniform, low: 0.0, high: 0.2}\n",
    "  behaviour.imitation: {distribution: uniform, low: 0.0, high: 0.2}\n"
    "  behaviour.external: {distribution: uniform, low: 0.0, high: 0.01}\n",
)


def _calibration(folder: Path) -> Path:
    path = _tiny_data(folder)
    path.write_text(TINY.replace(*SMALL).replace(*TWO), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cal")
    path = _calibration(folder)
    out = folder / "out"
    assert main(["calibrate", str(path), "--out", str(out), "--quiet"]) == 0
    return path, out


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_writes_every_file(fitted):
    _, out = fitted
    assert _listing(out) == sorted([*CALIBRATE_FILES, ".diffusion-sim.json"])
    assert json.loads((out / ".diffusion-sim.json").read_text())["command"] == "calibrate"
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["seed"] == 5 and prov["generations"] == 3 and len(prov["epsilon"]) == 3
    assert [g["t"] for g in prov["generation_log"]] == [0, 1, 2]
    assert [g["epsilon"] for g in prov["generation_log"]] == pytest.approx(prov["epsilon"])
    assert sum(g["simulations"] for g in prov["generation_log"]) <= prov["simulations"]


def test_summary_is_intervals_of_the_posterior(fitted):
    _, out = fitted
    posterior = pd.read_csv(out / "posterior.csv")
    assert list(posterior.columns) == [
        "behaviour.imitation",
        "behaviour.external",
        "u.behaviour.imitation",
        "u.behaviour.external",
        "weight",
    ]
    assert len(posterior) == 30 and posterior["weight"].sum() == pytest.approx(1.0)
    summary = pd.read_csv(out / "summary.csv").set_index("parameter")
    expected = intervals(posterior).set_index("parameter")
    np.testing.assert_allclose(summary["median"], expected["median"], rtol=1e-12)
    np.testing.assert_allclose(summary["q05"], expected["low"], rtol=1e-12)
    np.testing.assert_allclose(summary["q95"], expected["high"], rtol=1e-12)
    np.testing.assert_allclose(summary["prior_q05"], [0.01, 0.0005])  # uniform priors' 5% and 95%
    np.testing.assert_allclose(summary["prior_q95"], [0.19, 0.0095])
    ratio = (summary["q95"] - summary["q05"]) / (summary["prior_q95"] - summary["prior_q05"])
    np.testing.assert_allclose(summary["width_ratio"], ratio)
    assert list(summary["identified"]) == list(ratio < IDENTIFIED_RATIO)


def test_correlations_are_weighted(fitted):
    _, out = fitted
    posterior = pd.read_csv(out / "posterior.csv")
    corr = pd.read_csv(out / "correlations.csv").set_index("parameter")
    names = ["behaviour.imitation", "behaviour.external"]
    cov = np.cov(posterior[names].to_numpy().T, aweights=posterior["weight"].to_numpy(), ddof=0)
    expected = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    np.testing.assert_allclose(corr.loc[names, names].to_numpy(), expected, atol=1e-12)


def test_fitted_scenario_loads_at_the_medians_and_runs(fitted, tmp_path):
    _, out = fitted
    sc = load_scenario(out / "fitted_scenario.yaml")
    summary = pd.read_csv(out / "summary.csv").set_index("parameter")
    assert sc.behaviour.imitation == pytest.approx(summary.loc["behaviour.imitation", "median"], rel=1e-12)
    assert sc.behaviour.external == pytest.approx(summary.loc["behaviour.external", "median"], rel=1e-12)
    assert sc.community.households == 200 and sc.community.villages == 4  # the file's fixed changes
    assert sc.community.seed == 5  # the community the fit ran on
    assert main(["run", str(out / "fitted_scenario.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0


def test_same_seed_same_posterior_and_seed_option(fitted, tmp_path):
    path, out = fitted
    again = tmp_path / "again"
    assert main(["calibrate", str(path), "--out", str(again), "--quiet"]) == 0
    assert (again / "posterior.csv").read_bytes() == (out / "posterior.csv").read_bytes()
    other = tmp_path / "other"
    assert main(["calibrate", str(path), "--out", str(other), "--quiet", "--seed", "6"]) == 0
    assert json.loads((other / "provenance.json").read_text())["seed"] == 6
    assert (other / "posterior.csv").read_bytes() != (out / "posterior.csv").read_bytes()


def test_loky_gives_the_serial_posterior(fitted, tmp_path):
    path, out = fitted
    par = tmp_path / "loky"
    assert main(["calibrate", str(path), "--out", str(par), "--quiet", "--backend", "loky", "--jobs", "2"]) == 0
    assert (par / "posterior.csv").read_bytes() == (out / "posterior.csv").read_bytes()


def test_dask_gives_the_serial_posterior(fitted, tmp_path):
    path, out = fitted
    par = tmp_path / "dask"
    assert main(["calibrate", str(path), "--out", str(par), "--quiet", "--backend", "dask", "--workers", "2"]) == 0
    for name in ("posterior.csv", "summary.csv", "heldout.csv", "predictive.csv"):
        assert (par / name).read_bytes() == (out / name).read_bytes(), name
    assert json.loads((par / "provenance.json").read_text())["backend"] == "dask"


def test_workers_build_the_community_once_instead_of_receiving_it(fitted):
    import pickle

    from diffusion_sim.calibrate import fit as fit_module
    from diffusion_sim.calibrate.fit import Simulator, check_calibration, observed_for
    from diffusion_sim.community import build_community

    path, _ = fitted
    cal, scenarios = check_calibration(path)
    community = build_community(scenarios.by_file[scenarios.default], cal.seed)
    observed = observed_for(cal, scenarios, community, path.parent)
    shipped = Simulator(scenarios, community, observed, cal.seed)
    rebuilt = Simulator(scenarios, community, observed, cal.seed, rebuild=True)
    small, big = pickle.dumps(rebuilt), pickle.dumps(shipped)
    assert len(small) < len(big) / 3  # the community is most of a simulator's bytes
    fit_module._BUILT.clear()
    worker = pickle.loads(small)
    assert worker.community is None
    a, b = worker([0.4, 0.5], seed=3), shipped([0.4, 0.5], seed=3)
    np.testing.assert_array_equal(a, b)  # the community built in the worker is the same community
    assert len(fit_module._BUILT) == 1
    again = pickle.loads(small)
    again([0.4, 0.5], seed=3)
    assert again.community is worker.community  # built once per process, then kept


def test_rerun_into_its_own_folder_replaces_it(fitted, tmp_path):
    path, out = fitted
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    assert main(["calibrate", str(path), "--out", str(copy), "--quiet", "--seed", "6"]) == 0
    assert json.loads((copy / "provenance.json").read_text())["seed"] == 6


def test_progress_lines(fitted, tmp_path, capsys):
    path, _ = fitted
    assert main(["calibrate", str(path), "--out", str(tmp_path / "p")]) == 0
    lines = capsys.readouterr().out.splitlines()
    gens = [x for x in lines if x.startswith("  generation ")]
    assert len(gens) == 6 and all("tolerance" in x and "accepted 30/" in x for x in gens)  # the fit, then the check
    heads = [k for k, x in enumerate(lines) if x.startswith(("  fit to all 4 villages", "  held-out check"))]
    assert [lines[k + 1][:14] for k in heads] == ["  generation 1", "  generation 1"] and heads[1] - heads[0] == 4
    assert "held-out check: fit to 3 villages, predict 1" in lines[heads[1]]
    assert main(["calibrate", str(path), "--out", str(tmp_path / "q"), "--quiet"]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("seed: 5", "seed: 5\nsteps: 3"), r"line 10: steps"),
        (("low: 0.0, high: 0.2", "low: -0.5, high: 0.2"), r"line 6: fit\.behaviour\.imitation"),
        (("  behaviour.imitation:", "  behaviour.imitaton:"), "imitaton"),
        (("observed.csv", "missing.csv"), "missing.csv"),
    ],
)
def test_bad_input_is_one_error_line_and_nothing_written(tmp_path, capsys, change, expected):
    path = _calibration(tmp_path)
    path.write_text(path.read_text().replace(*change), encoding="utf-8")
    before = _listing(tmp_path)
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    assert re.search(expected, err[0])
    assert captured.out == ""
    assert _listing(tmp_path) == before


def test_another_commands_folder_is_refused_before_fitting(tmp_path, capsys):
    path = _calibration(tmp_path)
    out = tmp_path / "run"
    assert main(["run", "--out", str(out), "--quiet", "--steps", "1", "--set", "community.households=50"]) == 0
    before = _listing(out)
    assert main(["calibrate", str(path), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "diffusion-sim run" in captured.err
    assert _listing(out) == before


def test_validate_accepts_calibration_files(tmp_path, capsys):
    path = _calibration(tmp_path)
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"ok  {path}  (calibration: tiny, 2 parameters")
    path.write_text(path.read_text().replace("low: 0.0, high: 0.01", "low: -1.0, high: 0.01"), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fit.behaviour.external" in err[0]


def test_an_interrupted_fit_continues_to_the_uninterrupted_posterior(fitted, tmp_path, monkeypatch, capsys):
    import diffusion_sim.cli_calibrate as cc
    from diffusion_sim.calibrate.output import work_folder
    from diffusion_sim.cli import build_parser

    path, out = fitted
    resumed = tmp_path / "resumed"
    original = cc._Progress.__call__

    def interrupt_in_generation_3(self, f, xs):
        if f.args[0].keywords.get("t") == 2:
            raise KeyboardInterrupt
        return original(self, f, xs)

    monkeypatch.setattr(cc._Progress, "__call__", interrupt_in_generation_3)
    with pytest.raises(KeyboardInterrupt):
        cc.cmd_calibrate(build_parser().parse_args(["calibrate", str(path), "--out", str(resumed), "--quiet"]))
    assert "run the same command again to continue it" in capsys.readouterr().err
    work = work_folder(resumed)
    assert not resumed.exists() and sorted(p.name for p in work.iterdir()) == ["fit.db", "key.json"]
    monkeypatch.setattr(cc._Progress, "__call__", original)
    capsys.readouterr()
    assert main(["calibrate", str(path), "--out", str(resumed)]) == 0
    printed = capsys.readouterr().out
    assert "continued the fit to every village, interrupted after generation 2" in printed
    assert [x for x in printed.splitlines() if x.startswith("  generation ")][0].startswith("  generation 3:")
    assert (resumed / "posterior.csv").read_bytes() == (out / "posterior.csv").read_bytes()
    assert json.loads((resumed / "provenance.json").read_text())["resumed_after_generation"] == {"fit": 2, "check": 0}
    for name in ("heldout.csv", "predictive.csv", "summary.csv"):  # the page differs: the time taken
        assert (resumed / name).read_bytes() == (out / name).read_bytes()
    assert not work.exists()  # removed once the output is written


def test_a_changed_file_starts_afresh(fitted, tmp_path, monkeypatch):
    import diffusion_sim.cli_calibrate as cc
    from diffusion_sim.calibrate.output import work_folder
    from diffusion_sim.cli import build_parser

    path, out = fitted
    target = tmp_path / "afresh"
    original = cc._Progress.__call__

    def interrupt_in_generation_2(self, f, xs):
        if f.args[0].keywords.get("t") == 1:
            raise KeyboardInterrupt
        return original(self, f, xs)

    monkeypatch.setattr(cc._Progress, "__call__", interrupt_in_generation_2)
    with pytest.raises(KeyboardInterrupt):
        cc.cmd_calibrate(build_parser().parse_args(["calibrate", str(path), "--out", str(target), "--seed", "6"]))
    assert work_folder(target).exists()
    monkeypatch.setattr(cc._Progress, "__call__", original)
    assert main(["calibrate", str(path), "--out", str(target), "--quiet"]) == 0  # seed 5: another fit
    assert json.loads((target / "provenance.json").read_text())["resumed_after_generation"] == {"fit": 0, "check": 0}
    assert (target / "posterior.csv").read_bytes() == (out / "posterior.csv").read_bytes()


def test_default_output_folder_is_named_after_the_calibration(tmp_path, monkeypatch):
    path = _calibration(tmp_path)
    text = path.read_text().replace("name: tiny", "name: Tiny fit/1").replace("generations: 3", "generations: 1")
    path.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["calibrate", str(path), "--quiet"]) == 0
    assert (tmp_path / "results" / "calibrate-tiny-fit-1" / "posterior.csv").is_file()


# ------------------------------------------------------------------------------------- fit plot


def test_predictive_band_and_observed_column(fitted):
    path, out = fitted
    table = pd.read_csv(out / "predictive.csv", dtype={"village": str})
    assert list(table.columns) == ["step", "village", "median", "low", "high", "observed"]
    assert (table["low"] <= table["median"] + 1e-12).all() and (table["median"] <= table["high"] + 1e-12).all()
    data = pd.read_csv(path.parent / "observed.csv", dtype={"village": str})
    per = table[table["village"] != "all"].merge(data, on=["village", "step"], how="outer", validate="1:1")
    assert len(per) == len(data) and not per.isna().any().any()
    np.testing.assert_allclose(per["observed"], per["coverage"], rtol=1e-12)
    pooled = data.pivot(index="step", columns="village", values="coverage").mean(axis=1)  # equal villages of 50
    overall = table[table["village"] == "all"].set_index("step")["observed"]
    np.testing.assert_allclose(overall.to_numpy(), pooled.loc[overall.index].to_numpy(), rtol=1e-12)


def test_fit_png_is_a_png_of_the_expected_size(fitted):
    _, out = fitted
    head = (out / "fit.png").read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    assert (width, height) == (1000, round(100 * (4 + 1.8 * 1)))  # 4 villages: one row of panels


def test_same_seed_same_predictive(fitted):
    from diffusion_sim.calibrate.figures import posterior_predictive, predictive_table
    from diffusion_sim.calibrate.fit import Simulator, check_calibration, observed_for
    from diffusion_sim.community import build_community

    path, out = fitted
    cal, scenarios = check_calibration(path)
    community = build_community(scenarios.by_file[scenarios.default], cal.seed)
    observed = observed_for(cal, scenarios, community, path.parent)
    sim = Simulator(scenarios, community, observed, cal.seed)
    posterior = pd.read_csv(out / "posterior.csv")
    again = predictive_table(observed, posterior_predictive(posterior, sim, draws=40, seed=cal.seed))
    written = pd.read_csv(out / "predictive.csv", dtype={"village": str})
    pd.testing.assert_frame_equal(again, written, check_exact=False, rtol=1e-12)
    other = predictive_table(observed, posterior_predictive(posterior, sim, draws=40, seed=cal.seed + 1))
    assert not np.allclose(other["median"].to_numpy(), written["median"].to_numpy()) or not np.allclose(
        other["low"].to_numpy(), written["low"].to_numpy()
    )


def test_fit_figure_caps_village_panels():
    from diffusion_sim.calibrate.data import Observed
    from diffusion_sim.calibrate.figures import MAX_PANELS, fit_figure, predictive_table

    rng = np.random.default_rng(1)
    steps, villages = np.arange(0, 11), [f"v{i}" for i in range(30)]
    base = np.linspace(0.0, 0.8, len(steps))[:, None]
    observed = Observed(steps, villages, np.clip(base + rng.normal(0, 0.02, (11, 30)), 0, 1), np.arange(30) + 10)
    curves = np.clip(base[None] + rng.normal(0, 0.05, (20, 11, 30)), 0, 1)
    table = predictive_table(observed, curves)
    assert set(table["village"]) == {"all", *villages} and (table["low"] <= table["high"]).all()
    pooled = observed.curves @ observed.sizes / observed.sizes.sum()
    np.testing.assert_allclose(table.loc[table["village"] == "all", "observed"], pooled)
    fig = fit_figure(observed, table)
    assert sum(a.get_visible() for a in fig.axes) == 1 + MAX_PANELS
