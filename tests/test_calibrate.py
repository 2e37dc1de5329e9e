"""Calibration: the file schema, observed data, summaries, a small known-answer fit, reproducibility."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from diffusion_sim.calibrate.data import observed_from_csv, observed_from_survey
from diffusion_sim.calibrate.fit import Simulator, check_calibration, fit, intervals
from diffusion_sim.calibrate.spec import load_calibration
from diffusion_sim.calibrate.summary import distance, village_curves
from diffusion_sim.community import build_community
from diffusion_sim.errors import UserError
from diffusion_sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"

TINY = f"""\
name: tiny
scenario: {BASELINE}
set: {{community.households: 200, community.villages: 4, schedule.steps: 52, behaviour.imitation: 0.08}}
data: {{file: observed.csv}}
fit:
  behaviour.imitation: {{distribution: uniform, low: 0.0, high: 0.2}}
method: {{population: 100, generations: 5, batch: 100}}
seed: 5
"""


def _write(tmp_path: Path, text: str, name: str = "cal.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# ------------------------------------------------------------------------------------------------- schema


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("seed: 5", "seed: 5\nsteps: 3"), "steps"),  # unknown key
        (("low: 0.0, high: 0.2", "low: 0.0"), "needs high"),
        (("{distribution: uniform, low: 0.0, high: 0.2}", "{distribution: categorical, levels: [0.1, 0.2]}"),
         "cannot be fitted"),
        (("population: 100", "population: 3"), "population"),
    ],
)  # fmt: skip
def test_schema_errors_name_the_field(tmp_path, change, expected):
    path = _write(tmp_path, TINY.replace(*change))
    with pytest.raises(UserError, match=expected):
        load_calibration(path)


def test_error_names_the_line(tmp_path):
    path = _write(tmp_path, TINY.replace("low: 0.0, high: 0.2", "low: 0.0"))
    with pytest.raises(UserError, match=r"line 6: fit\.behaviour\.imitation"):
        load_calibration(path)


def test_prior_outside_the_scenario_bounds_is_refused_at_its_line(tmp_path):
    path = _write(tmp_path, TINY.replace("low: 0.0, high: 0.2", "low: -0.5, high: 0.2"))
    with pytest.raises(UserError, match=r"line 6: fit\.behaviour\.imitation: behaviour\.imitation"):
        check_calibration(path)


def test_unknown_path_is_refused(tmp_path):
    path = _write(tmp_path, TINY.replace("  behaviour.imitation:", "  behaviour.imitaton:"))
    with pytest.raises(UserError, match="imitaton"):
        check_calibration(path)


def test_a_normal_prior_on_a_bounded_field_is_refused(tmp_path):
    """A normal prior reaches beyond any bound, so on a share it must be truncated."""
    path = _write(
        tmp_path,
        TINY.replace("{distribution: uniform, low: 0.0, high: 0.2}", "{distribution: normal, mean: 0.1, sd: 0.05}"),
    )
    with pytest.raises(UserError, match="behaviour.imitation"):
        check_calibration(path)


# ------------------------------------------------------------------------------------------------- summaries


def test_village_curves_and_distance_on_a_hand_made_case():
    # groups: all, village=a (2 households), village=b (4 households); steps 0..2; one replicate
    ever = np.array([[[1, 0, 1]], [[3, 1, 2]], [[5, 2, 3]]]).transpose(0, 2, 1)  # (T, G, R)
    counts = SimpleNamespace(
        steps=np.array([0, 1, 2]), population=np.array([6, 2, 4]), ever_adopted=ever, village_groups=np.array([1, 2])
    )
    curves = village_curves(counts, np.array([0, 2, 5]))  # step 5 reads the last step
    np.testing.assert_allclose(curves, [[0.0, 0.25], [1.0, 0.75], [1.0, 0.75]])
    observed = np.array([[0.0, 0.25], [0.5, 0.75], [1.0, 0.25]])
    # per village: sqrt((0.25 + 0.25) / 6); pooled (weights 1/3, 2/3): differences 0, 1/6, 1/3
    expected = np.sqrt(0.5 / 6) + 0.5 * np.sqrt((0 + (1 / 6) ** 2 + (1 / 3) ** 2) / 3)
    assert distance(curves, observed, np.array([2, 4]), overall=0.5) == pytest.approx(expected)
    assert distance(observed, observed, np.array([2, 4])) == 0.0


# ------------------------------------------------------------------------------------------------- data


def test_observed_from_survey_adoption_times():
    sc = load_scenario(ROOT / "scenarios" / "medical_innovation.yaml")
    community = build_community(sc, 0)
    obs = observed_from_survey(sc, community)
    # observed up to month 17 (never: 18), i.e. step 15 (start: 3), although the schedule runs 17 steps
    assert sc.schedule.steps == 17 and list(obs.steps) == list(range(16)) and obs.curves.shape == (16, 4)
    assert int(np.rint(obs.curves[0] * obs.sizes).sum()) == 20  # adopted before month 3: the initial adopters
    t = community.population.adoption_time
    assert int(np.rint(obs.curves[-1] * obs.sizes).sum()) == int(np.sum(np.isfinite(t) & (t <= 17))) == 109
    assert int(np.rint(obs.curves[5] * obs.sizes).sum()) == int(np.sum(np.isfinite(t) & (t <= 7)))  # month 7
    assert np.all(np.diff(obs.curves, axis=0) >= 0)
    shorter = observed_from_survey(sc.model_copy(update={"schedule": sc.schedule.model_copy(update={"steps": 9})}),
                                   community)  # fmt: skip
    assert list(shorter.steps) == list(range(10))  # a shorter schedule ends the observations first


def test_observed_csv_errors_name_the_problem(tmp_path):
    sc = load_scenario(BASELINE)
    from diffusion_sim.scenario import apply_overrides

    sc = apply_overrides(sc, {"community.households": 40, "community.villages": 2}, source="test")
    community = build_community(sc, 0)
    good = _write(tmp_path, "village,step,adopters\n0,0,2\n1,0,4\n0,4,10\n1,4,20\n", "obs.csv")
    obs = observed_from_csv(good, community)
    np.testing.assert_allclose(obs.curves, [[0.1, 0.2], [0.5, 1.0]])
    for text, match in [
        ("village,step,count\n0,0,1\n", "adopters or coverage"),
        ("village,step,adopters\n7,0,1\n", "not in the community"),
        ("village,step,adopters\n0,x,1\n", "line 2"),
        ("village,step,adopters\n0,0,1\n0,4,3\n1,0,1\n", "at every listed step"),
        ("village,step,adopters\n0,0,99\n", "exceed"),
    ]:
        with pytest.raises(UserError, match=match):
            observed_from_csv(_write(tmp_path, text, "bad.csv"), community)


# ------------------------------------------------------------------------------------------------- fit


def _tiny_data(tmp_path: Path, truth: float = 0.08) -> Path:
    """Observed curves simulated at behaviour.imitation = truth (the scenario's value), written as CSV."""
    path = _write(tmp_path, TINY)
    cal, scenarios = check_calibration(path)
    base = scenarios.by_file[scenarios.default]
    community = build_community(base, cal.seed)
    steps = np.arange(0, 53, 4)
    from diffusion_sim.calibrate.data import Observed

    placeholder = Observed(steps, [str(v) for v in range(4)], np.zeros((len(steps), 4)), np.full(4, 50))
    sim = Simulator(scenarios, community, placeholder, cal.seed)
    curves = sim([truth / 0.2], seed=999)  # the unit sample of the truth under the uniform(0, 0.2) prior
    placeholder.__class__(steps, placeholder.villages, curves, placeholder.sizes).to_frame()[
        ["village", "step", "coverage"]
    ].to_csv(tmp_path / "observed.csv", index=False)
    return path


def test_known_answer_fit_recovers_imitation(tmp_path):
    path = _tiny_data(tmp_path)
    cal, _ = check_calibration(path)
    state = np.random.get_state()[1].copy(), random.getstate()
    posterior = fit(cal, tmp_path)
    assert np.array_equal(state[0], np.random.get_state()[1]) and state[1] == random.getstate()  # untouched
    assert posterior["weight"].sum() == pytest.approx(1.0)
    row = intervals(posterior).set_index("parameter").loc["behaviour.imitation"]
    assert row["low"] <= 0.08 <= row["high"]
    assert row["high"] - row["low"] < 0.5 * 0.2  # narrower than half the prior's 90% interval (0.18)
    assert posterior.attrs["generations"] == 5


def test_fit_is_the_same_on_two_workers(tmp_path):
    from joblib import Parallel, delayed

    path = _tiny_data(tmp_path)
    cal, _ = check_calibration(path)
    cal = cal.model_copy(
        update={"method": cal.method.model_copy(update={"population": 30, "generations": 2, "batch": 40})}
    )
    serial = fit(cal, tmp_path)
    with Parallel(n_jobs=2, backend="loky") as pool:
        parallel = fit(cal, tmp_path, map_=lambda f, xs: pool(delayed(f)(x) for x in xs))
    np.testing.assert_array_equal(serial.to_numpy(), parallel.to_numpy())
