"""``calibrate`` from the command line (scenario, --data, --fit PATH=PRIOR), the held-out check and the diagnostics."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from diffusion_sim.calibrate.check import default_hold_out, held_out_table, held_out_villages
from diffusion_sim.calibrate.data import Observed
from diffusion_sim.calibrate.output import correlations, summary_table
from diffusion_sim.calibrate.spec import parse_prior
from diffusion_sim.cli import main
from diffusion_sim.errors import UserError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_calibrate import BASELINE, TINY, _tiny_data  # noqa: E402

SET = ["--set", "community.households=200", "--set", "community.villages=4", "--set", "schedule.steps=52",
       "--set", "behaviour.imitation=0.08"]  # fmt: skip  # the tiny calibration file's fixed changes
SMALL = ["--particles", "30", "--generations", "3", "--seed", "5"]


# ------------------------------------------------------------------------------------------- --fit priors


@pytest.mark.parametrize(
    ("text", "path", "fields"),
    [
        ("behaviour.external=uniform(0, 0.02)", "behaviour.external", {"low": 0.0, "high": 0.02}),
        (" a.b = uniform( high=2 , low=1 ) ", "a.b", {"low": 1.0, "high": 2.0}),
        ("x=truncated_normal(0.6, 0.1, 0.3, 0.9)", "x", {"mean": 0.6, "sd": 0.1, "low": 0.3, "high": 0.9}),
        ("x=triangular(0, 0.2, 1)", "x", {"low": 0.0, "mode": 0.2, "high": 1.0}),
        ("x=log_uniform(1e-4, 1e-1)", "x", {"low": 1e-4, "high": 0.1}),
        ("x=normal(0.5, 0.1)", "x", {"mean": 0.5, "sd": 0.1}),
    ],
)
def test_prior_text_is_parsed(text, path, fields):
    got_path, got = parse_prior(text)
    assert got_path == path and got == {"distribution": text.split("=", 1)[1].split("(")[0].strip(), **fields}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("behaviour.external", "expected PATH=DISTRIBUTION"),
        ("x=beta(1, 2)", "unknown distribution 'beta'"),
        ("x=uniform(0)", r"expected uniform\(low, high\) with numbers"),
        ("x=uniform(0, 1, 2)", r"expected uniform\(low, high\)"),
        ("x=uniform(0, nan)", r"with numbers"),
        ("x=uniform(low=0, low=1)", r"with numbers"),
        ("x=uniform(0, __import__('os'))", r"with numbers"),
    ],
)
def test_bad_prior_text_is_one_clear_error(text, expected):
    with pytest.raises(UserError) as err:
        parse_prior(text)
    assert err.value.source == "--fit" and re.search(expected, err.value.message)


# ------------------------------------------------------------------------------ scenario on the command line


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("opts")
    return _tiny_data(folder).parent / "observed.csv"


def test_scenario_with_data_and_fit_equals_the_calibration_file(data, tmp_path):
    """The same fit said on the command line or in a file gives the same posterior, byte for byte."""
    text = TINY.replace("population: 100, generations: 5, batch: 100", "population: 30, generations: 3")
    (data.parent / "same.yaml").write_text(text, encoding="utf-8")
    by_file = tmp_path / "file"
    assert main(["calibrate", str(data.parent / "same.yaml"), "--out", str(by_file), "--quiet"]) == 0
    by_options = tmp_path / "options"
    argv = ["calibrate", str(BASELINE), "--data", str(data), "--fit", "behaviour.imitation=uniform(0, 0.2)"]
    assert main([*argv, *SET, *SMALL, "--out", str(by_options), "--quiet"]) == 0
    for name in ("posterior.csv", "summary.csv", "heldout.csv"):
        assert (by_options / name).read_bytes() == (by_file / name).read_bytes(), name
    cal = json.loads((by_options / "provenance.json").read_text())["calibration"]
    assert cal["name"] == "baseline" and cal["data"]["file"] == str(data.resolve())


def test_options_change_a_calibration_files_settings(data, tmp_path):
    path = data.parent / "cal.yaml"
    out = tmp_path / "changed"
    argv = ["calibrate", str(path), "--fit", "behaviour.external=uniform(0, 0.01)", "--hold-out-villages", "0,2"]
    assert main([*argv, "--particles", "20", "--generations", "2", "--out", str(out), "--quiet"]) == 0
    prov = json.loads((out / "provenance.json").read_text())
    assert list(prov["calibration"]["fit"]) == ["behaviour.imitation", "behaviour.external"]  # added to the file's
    assert prov["calibration"]["method"]["population"] == 20 and prov["generations"] == 2
    assert prov["held_out"]["villages"] == ["0", "2"] and prov["held_out"]["training_villages"] == 2
    held = pd.read_csv(out / "heldout.csv", dtype={"village": str})
    assert list(held["village"]) == ["0", "2", "all"]
    assert not (out / "heldout.png").read_bytes() == b""
    assert main(["calibrate", str(path), "--hold-out", "0", *SMALL, "--out", str(tmp_path / "none"), "--quiet"]) == 0
    assert not (tmp_path / "none" / "heldout.csv").exists()
    assert json.loads((tmp_path / "none" / "provenance.json").read_text())["held_out"] is None
    assert "No held-out check was made" in (tmp_path / "none" / "calibration.html").read_text()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], r"^error: --fit: a scenario file needs at least one --fit"),
        (["--fit", "behaviour.imitaton=uniform(0, 0.2)"], r"^error: --fit: behaviour\.imitaton: unknown parameter"),
        (["--fit", "behaviour.imitation=uniform(0, 60)"], r"^error: --fit: behaviour\.imitation: .*<= 50"),
        (["--fit", "behaviour.imitation=uniform(0.3, 0.2)"], r"^error: --fit: behaviour\.imitation: low \(0\.3\)"),
        (["--fit", "behaviour.imitation=uniform(0, 0.2)", "--hold-out", "4"], r"hold_out: holding out 4 of 4"),
        (["--fit", "behaviour.imitation=uniform(0, 0.2)", "--hold-out", "9"], r"hold_out: holding out 9 of 4"),
        (["--fit", "behaviour.imitation=uniform(0, 0.2)", "--hold-out-villages", "0,7"], r"village\(s\) 7 are not in"),
        (["--fit", "behaviour.imitation=uniform(0, 0.2)", "--data", "nope.csv"], r"^error: nope\.csv: no such file"),
    ],
)
def test_command_line_mistakes_are_one_error_and_nothing_written(data, tmp_path, capsys, args, expected):
    argv = ["calibrate", str(BASELINE), *args, *SET, "--out", str(tmp_path / "out")]
    if "--data" not in args:
        argv += ["--data", str(data)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and re.search(expected, err[0]), err
    assert captured.out == "" and not (tmp_path / "out").exists()


def test_a_scenario_without_data_or_survey_says_what_to_give(tmp_path, capsys):
    argv = ["calibrate", str(BASELINE), "--fit", "behaviour.imitation=uniform(0, 0.2)", "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    assert "give a CSV of cumulative adoption (--data" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ held-out villages


def _observed(n: int) -> Observed:
    steps = np.arange(0, 11)
    curves = np.tile(np.linspace(0.05, 0.8, 11)[:, None], (1, n))
    return Observed(steps, [f"v{i}" for i in range(n)], curves, np.full(n, 40))


def test_default_hold_out_is_a_fifth_with_at_least_one():
    assert [default_hold_out(n) for n in (1, 2, 3, 4, 7, 8, 25, 26)] == [0, 0, 1, 1, 1, 2, 5, 5]


def test_held_out_villages_are_seeded_and_in_data_order():
    obs = _observed(25)
    a = held_out_villages(obs, None, 3, "x")
    assert len(a) == 5 and a == held_out_villages(obs, None, 3, "x")
    assert a == sorted(a, key=obs.villages.index)
    assert a != held_out_villages(obs, None, 4, "x")
    assert held_out_villages(obs, ["v9", "v2"], 3, "x") == ["v2", "v9"]
    assert held_out_villages(obs, 0, 3, "x") == []


def test_held_out_table_by_hand():
    """Band coverage, errors and the households-weighted total on a case worked by hand."""
    steps = np.arange(0, 5)
    obs = Observed(
        steps,
        ["a", "b", "c"],
        np.array([[0.1, 0.0, 0.1], [0.2, 0.1, 0.2], [0.4, 0.2, 0.3], [0.6, 0.3, 0.5], [0.7, 0.4, 0.6]]),
        np.array([10, 30, 10]),
    )
    base = obs.subset(["b", "c"]).curves
    curves = np.stack([base + d for d in np.linspace(-0.05, 0.05, 11)])  # median = the observed curves
    curves[:, 2, 1] += 0.5  # village c at step 2: the whole band misses the observed point
    table = held_out_table(obs, ["b", "c"], curves).set_index("village")
    assert table.loc["b", "model_rms"] == pytest.approx(0.0, abs=1e-12)
    assert table.loc["c", "model_rms"] == pytest.approx(np.sqrt(0.5**2 / 5))
    assert table.loc["b", "inside_90"] == 1.0 and table.loc["c", "inside_90"] == pytest.approx(0.8)
    assert table.loc["all", "households"] == 40
    assert table.loc["all", "model_rms"] == pytest.approx(0.25 * np.sqrt(0.05))
    assert table.loc["all", "inside_90"] == pytest.approx(0.75 + 0.25 * 0.8)
    assert bool(table.loc["b", "model_better"]) is True
    from diffusion_sim.calibrate.bass import bass_by_village

    reused = held_out_table(obs, ["b", "c"], curves, bass_by_village(obs)).set_index("village")  # fits made once
    pd.testing.assert_frame_equal(reused, table)
    assert reused.attrs == table.attrs


# ---------------------------------------------------------------------------------------------- diagnostics


def test_diagnosis_names_width_bounds_and_trade_offs(data):
    """A hand-made posterior: one parameter narrow, one piled at its prior's upper bound, two correlated."""
    from diffusion_sim.calibrate.fit import check_calibration

    path = data.parent / "diag.yaml"
    line = "  behaviour.imitation: {distribution: uniform, low: 0.0, high: 0.2}\n"
    extra = (
        "  behaviour.external: {distribution: uniform, low: 0.0, high: 0.01}\n"
        "  roles.household.threshold.mean: {distribution: uniform, low: 0.3, high: 0.9}\n"
    )
    path.write_text(TINY.replace(line, line + extra), encoding="utf-8")
    _, scenarios = check_calibration(path)
    rng = np.random.default_rng(0)
    n = 400
    imitation = rng.uniform(0.07, 0.09, n)  # narrow: identified
    external = rng.uniform(0.0094, 0.01, n)  # piled against the upper bound 0.01 (and narrow)
    threshold = 0.3 + 6 * (imitation - 0.07) * 0.6 / 0.12 + rng.normal(0, 0.08, n)  # wide, follows imitation
    posterior = pd.DataFrame(
        {
            "behaviour.imitation": imitation,
            "behaviour.external": external,
            "roles.household.threshold.mean": threshold,
            "weight": np.full(n, 1 / n),
        }  # fmt: skip
    )
    table = summary_table(posterior, scenarios).set_index("parameter")
    corr = correlations(posterior).set_index("parameter")
    assert corr.loc["behaviour.imitation", "roles.household.threshold.mean"] > 0.7
    imi, ext, thr = (table.loc[k, "diagnosis"] for k in table.index)
    assert imi.startswith("trades off with roles.household.threshold.mean (correlation +0.9")
    assert ext == "piled against the prior's upper bound 0.01: the data may want higher values"
    assert thr.startswith("not identified: its 90% interval is") and "trades off with behaviour.imitation" in thr
    assert list(table["identified"]) == [True, True, False]


def test_shipped_calibration_files_validate(capsys):
    files = sorted((Path(__file__).resolve().parents[1] / "calibrations").glob("*.yaml"))
    assert [f.name for f in files] == ["medical_innovation.yaml"]
    for f in files:
        assert main(["validate", str(f)]) == 0
    out = capsys.readouterr().out
    assert "4 villages x 16 observed steps, 1 held out" in out  # months 3 to 17 of the survey
