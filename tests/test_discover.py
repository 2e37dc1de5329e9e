"""Scenario discovery (PRIM) on synthetic result stores written in the store contract's format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from diffusion_sim.errors import UserError
from diffusion_sim.experiment.discover import (
    DISCOVERY_FILES,
    choose_step,
    discover,
    discovery_folder_name,
    write_discovery,
)

OUTCOMES = ["final_coverage", "time_to_0.8", "cost"]


def make_store(
    folder: Path,
    parameters: list[dict],
    values: dict[str, np.ndarray],
    units: dict[str, np.ndarray],
    outcome: np.ndarray,
    *,
    replicates: int = 1,
    noise: float = 0.0,
    seed: int = 7,
    shards: int = 2,
) -> Path:
    """A result store: manifest.json, design.parquet and results/ shards; final_coverage per (point, replicate)."""
    n = len(outcome)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {
        "name": "synthetic",
        "method": "monte_carlo",
        "parameters": parameters,
        "problem": {
            "num_vars": len(parameters),
            "names": [p["name"] for p in parameters],
            "bounds": [[0, 1]] * len(parameters),
        },
        "design": {"n": n},
        "n_points": n,
        "replicates": replicates,
        "seed": seed,
        "outcomes": OUTCOMES,
        "series": [],
        "experiment_hash": "0" * 16,
        "experiment_text": "",
        "package_version": "0.1.0",
        "git_commit": None,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    design = {"point": np.arange(n, dtype=np.int64)}
    for p in parameters:
        design[p["name"]] = values[p["name"]]
    for p in parameters:
        design[f"u.{p['name']}"] = units[p["name"]]
    pd.DataFrame(design).to_parquet(folder / "design.parquet", index=False)
    rng = np.random.default_rng(seed)
    point = np.repeat(np.arange(n, dtype=np.int64), replicates)
    replicate = np.tile(np.arange(replicates, dtype=np.int64), n)
    cov = np.repeat(np.asarray(outcome, dtype=float), replicates) + noise * rng.uniform(-1, 1, n * replicates)
    results = pd.DataFrame(
        {
            "point": point,
            "replicate": replicate,
            "final_coverage": cov,
            "time_to_0.8": np.where(cov >= 0.8, 20.0, np.nan),
            "cost": 1000.0 * cov,
        }
    )
    (folder / "results").mkdir()
    for k, chunk in enumerate(np.array_split(np.arange(len(results)), shards)):
        results.iloc[chunk].to_parquet(folder / "results" / f"chunk-{k:05d}.parquet", index=False)
    return folder


def real(name: str) -> dict:
    return {
        "name": name,
        "path": f"behaviour.{name}",
        "distribution": "uniform",
        "kind": "real",
        "low": 0.0,
        "high": 1.0,
    }


@pytest.fixture
def box_store(tmp_path: Path) -> Path:
    """X uniform on [0, 1]^3; final_coverage < 0.8 exactly when x1 < 0.3 and x2 > 0.6 (x3 irrelevant)."""
    rng = np.random.default_rng(20240611)
    n = 1000
    u = {name: rng.random(n) for name in ("x1", "x2", "x3")}
    short = (u["x1"] < 0.3) & (u["x2"] > 0.6)
    outcome = np.where(short, 0.55, 0.9)
    return make_store(tmp_path / "store", [real("x1"), real("x2"), real("x3")], u, u, outcome, replicates=3, noise=0.05)


def true_cases(store: Path) -> int:
    design = pd.read_parquet(store / "design.parquet")
    return int(((design["x1"] < 0.3) & (design["x2"] > 0.6)).sum())


# ------------------------------------------------------------------------------ known box


def test_known_box_is_recovered(box_store: Path):
    d = discover(box_store, "final_coverage", below=0.8)
    assert (d.n_points, d.n_cases) == (1000, int(d.cases["case"].sum()))
    assert d.n_cases == true_cases(box_store) == 95  # 9.5% of the points, against 0.3 * 0.4 = 12% expected
    box = d.boxes[0]
    limits = box.limits.set_index("parameter")
    # Tolerance 0.03: the last peels remove 5% of about 110 points, i.e. a few hundredths of a unit.
    assert set(limits.index) == {"x1", "x2"}  # x3 unrestricted
    assert limits.loc["x1", "max"] == pytest.approx(0.3, abs=0.03)
    assert limits.loc["x1", "min"] == limits.loc["x1", "full_min"]  # only the upper side is restricted
    assert limits.loc["x2", "min"] == pytest.approx(0.6, abs=0.03)
    assert limits.loc["x2", "max"] == limits.loc["x2", "full_max"]
    assert box.chosen_by == "rule"
    assert box.coverage == 1.0
    assert box.density >= 0.9  # the widest box with density >= 0.8: 0.93 here, peels come in 5% steps
    assert (limits["quasi_p"] < 1e-30).all()
    # the last, densest step: every point in it is a case, and it still holds >= 95% of them
    last = discover(box_store, "final_coverage", below=0.8, step=-1).boxes[0]
    assert last.step == len(last.trajectory) - 1
    assert last.density == 1.0 and last.coverage >= 0.95
    tight = last.limits.set_index("parameter")
    assert set(tight.index) == {"x1", "x2"}
    assert tight.loc["x1", "max"] == pytest.approx(0.3, abs=0.03)
    assert tight.loc["x2", "min"] == pytest.approx(0.6, abs=0.03)
    strict = discover(box_store, "final_coverage", below=0.8, min_density=1.0).boxes[0]
    assert (strict.step, strict.density) == (last.step, 1.0)  # here the only step with density 1


def test_quasi_p_values_agree_with_the_package(box_store: Path):
    import prim

    d = discover(box_store, "final_coverage", below=0.8)
    design = pd.read_parquet(box_store / "design.parquet")
    y = d.cases.sort_values("point")["case"].to_numpy()
    finder = prim.Prim(design[["x1", "x2", "x3"]], y)
    found = finder.find_box()
    ours = d.boxes[0].limits.set_index("parameter")["quasi_p"]
    theirs = found._calculate_quasi_p(d.boxes[0].step)
    assert set(theirs) == set(ours.index)
    for name, value in theirs.items():
        assert ours[name] == pytest.approx(float(value), rel=1e-9)


def test_trajectory_holds_every_step_and_rule_picks_widest_dense_box(box_store: Path):
    d = discover(box_store, "final_coverage", below=0.8)
    t = d.boxes[0].trajectory
    assert list(t.columns) == ["step", "coverage", "density", "mass", "restricted"]
    assert t["step"].tolist() == list(range(len(t)))
    assert t.iloc[0].tolist() == pytest.approx([0, 1.0, d.n_cases / 1000, 1.0, 0])
    assert t["mass"].is_monotonic_decreasing or (t["mass"].diff().dropna() <= 1e-12).sum() > 0
    dense = t[t["density"] >= 0.8]
    assert d.boxes[0].coverage == dense["coverage"].max()
    assert d.boxes[0].step == choose_step(t, 0.8)


def test_choose_step_rule():
    t = pd.DataFrame(
        {
            "step": range(5),
            "coverage": [1.0, 1.0, 1.0, 0.9, 0.5],
            "density": [0.2, 0.7, 0.85, 0.95, 1.0],
            "mass": [1, 0.5, 0.4, 0.3, 0.1],
            "restricted": [0, 1, 2, 2, 3],
        }
    )
    assert choose_step(t, 0.8) == 2  # largest coverage among density >= 0.8
    assert choose_step(t, 0.9) == 3
    assert choose_step(t, 1.0) == 4
    t2 = t.assign(density=[0.1, 0.2, 0.3, 0.4, 0.5])
    assert choose_step(t2, 0.8) == 4  # none dense enough: the densest
    t3 = t.assign(coverage=[1.0, 1.0, 1.0, 1.0, 0.5], density=[0.2, 0.7, 0.85, 0.95, 1.0])
    assert choose_step(t3, 0.8) == 3  # equal coverage: the denser


def test_user_chosen_step(box_store: Path):
    d = discover(box_store, "final_coverage", below=0.8, step=3)
    box = d.boxes[0]
    assert box.step == 3 and box.chosen_by == "user"
    assert box.coverage == box.trajectory["coverage"].iloc[3]
    assert "chosen by you" in d.summary()
    with pytest.raises(UserError, match=r"step from 0 to \d+ of the peeling trajectory \(or -1 for the last\)"):
        discover(box_store, "final_coverage", below=0.8, step=10_000)


def test_more_boxes_are_sought_outside_the_first(tmp_path: Path):
    rng = np.random.default_rng(3)
    n = 1500
    u = {name: rng.random(n) for name in ("x1", "x2", "x3")}
    short = (u["x1"] < 0.25) | (u["x3"] > 0.8)  # two separate regions
    store = make_store(tmp_path / "s", [real("x1"), real("x2"), real("x3")], u, u, np.where(short, 0.5, 0.9))
    d = discover(store, "final_coverage", below=0.8, max_boxes=3)
    assert len(d.boxes) >= 2
    first, second = (b.limits.set_index("parameter") for b in d.boxes[:2])
    restricted = [set(first.index), set(second.index)]
    assert {"x1"} in restricted and {"x3"} in restricted
    assert all(b.density >= 0.8 for b in d.boxes)
    held = d.cases[d.cases["box"] > 0]
    assert held["case"].mean() >= 0.8


# ------------------------------------------------------------------------------ categorical and integer


def test_categorical_parameter_that_decides_is_found(tmp_path: Path):
    rng = np.random.default_rng(11)
    n = 600
    levels = ["imam", "priest", "healer"]
    u = {"kind": rng.random(n), "x1": rng.random(n), "x2": rng.random(n)}
    kind = np.array(levels, dtype=object)[np.minimum((u["kind"] * 3).astype(int), 2)]
    params = [
        {
            "name": "leader",
            "path": "interventions.leader.kind",
            "distribution": "categorical",
            "kind": "categorical",
            "levels": levels,
        },
        real("x1"),
        real("x2"),
    ]
    store = make_store(
        tmp_path / "s",
        params,
        {"leader": kind, "x1": u["x1"], "x2": u["x2"]},
        {"leader": u["kind"], "x1": u["x1"], "x2": u["x2"]},
        np.where(kind == "healer", 0.6, 0.9),
        replicates=2,
        noise=0.02,
    )
    d = discover(store, "final_coverage", below=0.8)
    box = d.boxes[0]
    limits = box.limits.set_index("parameter")
    assert list(limits.index) == ["leader"]
    assert limits.loc["leader", "categories"] == ["healer"]
    assert limits.loc["leader", "full_categories"] == sorted(levels)
    assert (box.coverage, box.density) == (1.0, 1.0)
    assert box.conditions() == "leader is healer"


def test_integer_parameter_is_peeled_at_whole_values(tmp_path: Path):
    rng = np.random.default_rng(5)
    n = 800
    u = {"visits": rng.random(n), "x1": rng.random(n)}
    visits = np.floor(u["visits"] * 6).astype(np.int64)  # 0..5
    params = [
        {
            "name": "visits",
            "path": "interventions.home_visits.per_year",
            "distribution": "uniform",
            "kind": "integer",
            "low": 0,
            "high": 5,
        },
        real("x1"),
    ]
    store = make_store(tmp_path / "s", params, {"visits": visits, "x1": u["x1"]}, u, np.where(visits <= 1, 0.5, 0.9))
    d = discover(store, "final_coverage", below=0.8)
    limits = d.boxes[0].limits.set_index("parameter")
    assert list(limits.index) == ["visits"]
    assert (limits.loc["visits", "min"], limits.loc["visits", "max"]) == (0, 1)
    assert d.boxes[0].conditions() == "visits <= 1"
    assert (d.boxes[0].coverage, d.boxes[0].density) == (1.0, 1.0)


# ------------------------------------------------------------------------------ replicates and missing values


def test_any_replicate_counts_a_point_that_falls_short_once(tmp_path: Path):
    n = 40
    u = {"x1": np.linspace(0, 1, n)}
    store = make_store(tmp_path / "s", [real("x1")], u, u, np.full(n, 0.9), replicates=2)
    results = pd.read_parquet(store / "results")
    results.loc[(results["point"] < 10) & (results["replicate"] == 0), "final_coverage"] = 0.7  # mean 0.8
    for p in (store / "results").iterdir():
        p.unlink()
    results.to_parquet(store / "results" / "chunk-00000.parquet", index=False)
    with pytest.raises(UserError, match="none of the 40 design points"):
        discover(store, "final_coverage", below=0.8)  # means are 0.8 and 0.9: none strictly below
    d = discover(store, "final_coverage", below=0.8, by="any_replicate")
    assert d.n_cases == 10
    assert d.cases.loc[d.cases["case"], "value"].tolist() == [0.7] * 10
    assert (
        d.boxes[0].conditions() == "x1 <= 0.244"
    )  # midway between the last case (9/39) and the next point (10/39), as PRIM peels
    assert "in at least one of 2 replicates" in d.summary()


def test_missing_values_must_be_counted_explicitly(box_store: Path):
    with pytest.raises(UserError, match=r"time_to_0\.8 is missing \(NaN\) in 95 of 1,000 design points"):
        discover(box_store, "time_to_0.8", above=30)
    d = discover(box_store, "time_to_0.8", above=30, missing="case")  # never reached counts as too late
    assert d.n_cases == 95
    assert set(d.boxes[0].restricted) == {"x1", "x2"}
    dropped = discover(box_store, "cost", above=700, missing="drop")
    assert dropped.n_cases == 1000 - 95 and dropped.n_points == 1000


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(("threshold", "which"), [(0.1, "none"), (0.99, "all")])
def test_no_or_only_cases_of_interest_is_a_clear_error(box_store: Path, threshold: float, which: str):
    with pytest.raises(UserError) as err:
        discover(box_store, "final_coverage", below=threshold)
    message = str(err.value)
    assert f"final_coverage < {threshold:g} holds in {which} of the 1,000 design points" in message
    assert "choose another threshold" in message


def test_unknown_outcome_lists_the_outcomes(box_store: Path):
    with pytest.raises(UserError) as err:
        discover(box_store, "final_coverag", below=0.8)
    assert "unknown outcome 'final_coverag'" in str(err.value)
    assert "final_coverage, time_to_0.8, cost" in str(err.value)
    assert err.value.field == "outcome"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "exactly one of below= or above="),
        ({"below": 0.8, "above": 0.2}, "exactly one of below= or above="),
        ({"below": float("nan")}, "finite number"),
        ({"below": 0.8, "by": "median"}, "mean, any_replicate"),
        ({"below": 0.8, "missing": "ignore"}, "error, case, not_case, drop"),
        ({"below": 0.8, "peel_alpha": 0.7}, "between 0 and 0.5"),
        ({"below": 0.8, "min_density": 0}, r"in \(0, 1\]"),
        ({"below": 0.8, "max_boxes": 0}, "at least 1"),
    ],
)
def test_bad_options_are_user_errors(box_store: Path, options: dict, message: str):
    with pytest.raises(UserError, match=message):
        discover(box_store, "final_coverage", **options)


def test_not_a_store_is_a_user_error(tmp_path: Path):
    with pytest.raises(UserError, match="no such folder"):
        discover(tmp_path / "nowhere", "final_coverage", below=0.8)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no manifest.json"):
        discover(tmp_path / "empty", "final_coverage", below=0.8)


# ------------------------------------------------------------------------------ files


def test_write_discovery_writes_files_and_summary(box_store: Path):
    summary = write_discovery(box_store, "final_coverage", below=0.8)
    out = box_store / "discovery" / "final_coverage-below-0.8"
    assert discovery_folder_name("final_coverage", below=0.8) == "final_coverage-below-0.8"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(DISCOVERY_FILES)
    first = summary.splitlines()[0]
    assert first == "final_coverage < 0.8 (mean of 3 replicates) in 95 of 1,000 design points (9.5%)."
    assert "Box (step " in summary and "coverage 1.00" in summary and " and " in summary
    assert summary.endswith(f"Written to {out}")
    assert (out / "summary.txt").read_text(encoding="utf-8").strip() == summary.rsplit("\n", 1)[0]
    box = pd.read_csv(out / "box.csv")
    assert set(box["parameter"]) == {"x1", "x2"}
    assert list(box.columns[:4]) == ["box", "step", "parameter", "kind"]
    trajectory = pd.read_csv(out / "trajectory.csv")
    assert trajectory["chosen"].sum() == 1
    assert set(trajectory.columns) >= {"coverage", "density", "mass", "restricted"}
    cases = pd.read_csv(out / "cases.csv")
    assert len(cases) == 1000 and cases["case"].sum() == 95
    for name in ("trajectory.png", "box.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # again, into the same folder: replaced, not refused
    assert write_discovery(box_store, "final_coverage", below=0.8) == summary


def test_write_discovery_categorical_and_no_restriction_figures(tmp_path: Path):
    rng = np.random.default_rng(2)
    n = 300
    u = {"kind": rng.random(n), "x1": rng.random(n)}
    levels = ["a", "b"]
    kind = np.array(levels, dtype=object)[(u["kind"] * 2).astype(int)]
    params = [
        {"name": "kind", "path": "k", "distribution": "categorical", "kind": "categorical", "levels": levels},
        real("x1"),
    ]
    store = make_store(tmp_path / "s", params, {"kind": kind, "x1": u["x1"]}, u, np.where(kind == "b", 0.5, 0.9))
    out = tmp_path / "out"
    summary = write_discovery(store, "final_coverage", below=0.8, out_dir=out, max_boxes=2)
    assert "kind is b" in summary
    assert pd.read_csv(out / "box.csv")["categories"].tolist() == ["b"]
    # step 0 (no restriction) still draws
    write_discovery(store, "final_coverage", below=0.8, out_dir=tmp_path / "out0", step=0)
    assert "no restriction" in (tmp_path / "out0" / "summary.txt").read_text(encoding="utf-8")


def test_write_discovery_refuses_a_folder_it_did_not_write(box_store: Path, tmp_path: Path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UserError, match="did not write"):
        write_discovery(box_store, "final_coverage", below=0.8, out_dir=other)
    assert (other / "notes.txt").read_text(encoding="utf-8") == "mine"
