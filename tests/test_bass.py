"""The Bass baseline of the calibration (issue #13, item 4): known answers, determinism, bounds, degenerate
villages and the held-out comparison's arithmetic."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from diffusion_sim.calibrate.bass import (
    P_BOUNDS,
    Q_BOUNDS,
    BassFit,
    BassParams,
    bass_by_village,
    bass_curve,
    fit_bass,
    held_out_errors,
)
from diffusion_sim.calibrate.data import Observed

STEPS = np.arange(0, 61, dtype=float)


def _by_hand(p: float, q: float, m: float, t: np.ndarray) -> np.ndarray:
    """Bass (1969) cumulative adopters from zero at t = 0, written out as in the paper."""
    e = np.exp(-(p + q) * t)
    return m * (1 - e) / (1 + (q / p) * e)


def test_curve_is_bass_1969_and_starts_at_n0():
    np.testing.assert_allclose(bass_curve(BassParams(0.01, 0.3, 400.0), STEPS), _by_hand(0.01, 0.3, 400.0, STEPS))
    c = bass_curve(BassParams(0.01, 0.3, 400.0, n0=40.0, t0=5.0), STEPS + 5)
    assert c[0] == pytest.approx(40.0)
    # a later start on the same curve: F reaches 0.1 at some time tau, and the shifted curve follows from there
    full = bass_curve(BassParams(0.01, 0.3, 400.0), np.linspace(0, 60, 600001))
    tau = np.interp(40.0, full, np.linspace(0, 60, 600001))
    np.testing.assert_allclose(c[1:], _by_hand(0.01, 0.3, 400.0, STEPS[1:] + tau), rtol=1e-5)
    assert np.all(np.diff(c) > 0) and c[-1] < 400.0


@pytest.mark.parametrize(
    ("p", "q", "m", "n0"),
    [(0.01, 0.3, 400.0, 0.0), (0.003, 0.5, 450.0, 20.0), (0.02, 0.05, 300.0, 5.0), (0.05, 0.0, 500.0, 0.0)],
)
def test_exact_bass_data_are_recovered(p, q, m, n0):
    y = bass_curve(BassParams(p, q, m, n0), STEPS)
    f = fit_bass(STEPS, y, 500)
    assert isinstance(f, BassFit)
    assert f.p == pytest.approx(p, rel=1e-4)
    assert f.q == pytest.approx(q, rel=1e-4, abs=1e-6)  # q = 0 is a bound: absolute there
    assert f.m == pytest.approx(m, rel=1e-4)
    assert f.params.n0 == pytest.approx(n0) and f.params.t0 == 0.0
    assert f.rms < 1e-6
    np.testing.assert_allclose(f.fitted, y, atol=1e-6)
    np.testing.assert_allclose(bass_curve(f, STEPS), f.fitted)


def test_sparse_steps_from_a_later_start():
    """Every 8 steps from step 3, as the calibration's observed data are."""
    t = np.arange(3, 105, 8, dtype=float)
    y = bass_curve(BassParams(0.004, 0.15, 180.0, n0=6.0, t0=3.0), t)
    f = fit_bass(t, y, 200)
    assert (f.p, f.q, f.m) == pytest.approx((0.004, 0.15, 180.0), rel=1e-4)


def test_noisy_data_within_tolerance():
    """Noise of sd 2% of the population at each of 61 steps, 50 draws.

    Tolerance, set from 200 draws (largest relative errors there: p 0.41, q 0.17, m 0.014, RMS vs the
    noise sd 0.25): every draw has p within 45%, q within 20%, m within 2% and a residual RMS within
    30% of the noise; the median errors are far smaller (p within 10%, q 5%, m 0.5%).
    """
    p, q, m, pop = 0.01, 0.3, 400.0, 500.0
    truth = bass_curve(BassParams(p, q, m), STEPS)
    rng = np.random.default_rng(2026)
    errors = []
    for _ in range(50):
        y = np.clip(truth + rng.normal(0, 0.02 * pop, truth.shape), 0, pop)
        y[0] = 0.0
        f = fit_bass(STEPS, y, pop)
        errors.append((f.p / p - 1, f.q / q - 1, f.m / m - 1, f.rms / (0.02 * pop) - 1))
    errors = np.abs(np.array(errors))
    assert np.all(errors.max(axis=0) < [0.45, 0.20, 0.02, 0.30])
    assert np.all(np.median(errors, axis=0)[:3] < [0.10, 0.05, 0.005])


def test_fit_is_deterministic_and_leaves_global_random_state_alone():
    y = np.clip(bass_curve(BassParams(0.01, 0.3, 400.0), STEPS) + np.random.default_rng(1).normal(0, 8, 61), 0, 500)
    before = np.random.get_state()[1].copy(), random.getstate()
    a, b = fit_bass(STEPS, y, 500), fit_bass(STEPS, y, 500)
    assert a.params == b.params and a.rms == b.rms
    np.testing.assert_array_equal(a.fitted, b.fitted)
    assert np.array_equal(before[0], np.random.get_state()[1]) and before[1] == random.getstate()


def test_bounds_are_respected():
    # faster than the q bound allows: everyone in one step
    t = np.arange(0, 20, dtype=float)
    f = fit_bass(t, np.r_[0.0, np.full(19, 100.0)], 100)
    assert P_BOUNDS[0] <= f.p <= P_BOUNDS[1] and Q_BOUNDS[0] <= f.q <= Q_BOUNDS[1] and 0 < f.m <= 100
    # still linear at the end: the market is bounded by the population
    g = fit_bass(t, 2.0 * t, 50)
    assert g.m <= 50 and g.p >= P_BOUNDS[0] and g.q >= 0
    # a decline (e.g. noise) keeps m at least the first count
    h = fit_bass(t, np.r_[10.0, 12.0, 15.0, np.full(17, 11.0)], 100)
    assert h.m >= 10.0


@pytest.mark.parametrize(
    ("cumulative", "match"),
    [
        (np.zeros(10), "no one adopted"),
        (np.full(10, 50.0), "50 of 50 had adopted"),
        (np.full(10, 7.0), "7 of 50 had adopted"),
    ],
)
def test_flat_villages_raise_a_clear_error(cumulative, match):
    with pytest.raises(ValueError, match=match):
        fit_bass(np.arange(10), cumulative, 50)


@pytest.mark.parametrize(
    ("steps", "cumulative", "population", "match"),
    [
        ([0, 1], [0, 1], 10, "at least 3"),
        ([0, 2, 1], [0, 1, 2], 10, "increasing"),
        ([0, 1, 2], [0, 1, 20], 10, "between 0 and"),
        ([0, 1, 2], [0, -1, 2], 10, "between 0 and"),
        ([0, 1, 2], [0, 1, 2], 0, "positive"),
        ([0, 1, 2], [0, 1], 10, "one length"),
    ],
)
def test_malformed_input_is_refused(steps, cumulative, population, match):
    with pytest.raises(ValueError, match=match):
        fit_bass(steps, cumulative, population)


def _observed(curves: dict[str, np.ndarray], sizes: dict[str, int], steps: np.ndarray) -> Observed:
    names = list(curves)
    return Observed(steps, names, np.column_stack([curves[v] for v in names]), np.array([sizes[v] for v in names]))


def test_bass_by_village_fits_each_and_notes_flat_ones():
    steps = np.arange(0, 41, dtype=float)
    curves = {
        "a": bass_curve(BassParams(0.02, 0.3, 80.0), steps) / 100,
        "b": bass_curve(BassParams(0.01, 0.2, 150.0, n0=3.0), steps) / 200,
        "c": np.zeros(len(steps)),
    }
    table = bass_by_village(_observed(curves, {"a": 100, "b": 200, "c": 50}, steps)).set_index("village")
    assert list(table.index) == ["a", "b", "c"]
    assert tuple(table.loc["a", ["p", "q", "m"]]) == pytest.approx((0.02, 0.3, 80.0), rel=1e-4)
    assert tuple(table.loc["b", ["p", "q", "m", "n0"]]) == pytest.approx((0.01, 0.2, 150.0, 3.0), rel=1e-4)
    assert np.isnan(table.loc["c", "p"]) and np.isnan(table.loc["c", "q"]) and table.loc["c", "m"] == 0.0
    assert "not identified" in table.loc["c", "note"] and table.loc["a", "note"] == ""


def test_held_out_errors_by_hand():
    steps = np.arange(0, 41, dtype=float)
    # training villages with known p and q: medians p = 0.03, q = 0.3; the flat one is left out of the medians
    train = {
        "t1": bass_curve(BassParams(0.02, 0.3, 90.0), steps) / 100,
        "t2": bass_curve(BassParams(0.04, 0.5, 70.0), steps) / 100,
        "t3": bass_curve(BassParams(0.03, 0.1, 100.0), steps) / 100,
        "flat": np.zeros(len(steps)),
    }
    # held out: h1 follows the median curve with m = its population, from 5 adopters at step 0;
    # h2 is that curve + 0.05 after step 0 (n0 is read from step 0, so the baseline misses every other step by 0.05)
    base = bass_curve(BassParams(0.03, 0.3, 200.0, n0=5.0), steps) / 200
    test = {"h1": base, "h2": np.r_[base[0], base[1:] + 0.05]}
    obs = _observed(train | test, {"t1": 100, "t2": 100, "t3": 100, "flat": 100, "h1": 200, "h2": 200}, steps)
    shift = np.where(np.arange(len(steps)) % 2 == 0, 0.1, -0.1)  # model errs by +-0.1: RMS 0.1
    prediction = {"h1": base + shift, "h2": test["h2"]}
    out = held_out_errors(obs, ["t1", "t2", "t3", "flat"], ["h1", "h2"], prediction)
    assert list(out.columns) == ["village", "households", "bass_rms", "model_rms", "model_better"]
    assert out.attrs["p"] == pytest.approx(0.03, rel=1e-6) and out.attrs["q"] == pytest.approx(0.3, rel=1e-6)
    h1, h2 = out.set_index("village").loc["h1"], out.set_index("village").loc["h2"]
    assert h1["bass_rms"] == pytest.approx(0.0, abs=1e-6) and h1["model_rms"] == pytest.approx(0.1)
    assert h2["bass_rms"] == pytest.approx(0.05 * np.sqrt(40 / 41), rel=1e-5) and h2["model_rms"] == 0.0
    assert not h1["model_better"] and h2["model_better"]
    # the same prediction as a (steps, held-out) array
    arr = np.column_stack([prediction["h1"], prediction["h2"]])
    pd.testing.assert_frame_equal(out, held_out_errors(obs, ["t1", "t2", "t3", "flat"], ["h1", "h2"], arr))


def test_held_out_errors_refuses_bad_input():
    steps = np.arange(0, 11, dtype=float)
    good = bass_curve(BassParams(0.05, 0.4, 9.0), steps) / 10
    obs = _observed({"a": good, "b": good, "z": np.zeros(11)}, {"a": 10, "b": 10, "z": 10}, steps)
    cases = [
        (["a"], ["x"], {"x": good}, "not in the observed"),
        (["a"], ["a"], {"a": good}, "both trained on and held out"),
        (["a"], ["b"], {}, "no model prediction"),
        (["a"], ["b"], {"b": good[:5]}, "11 values"),
        (["a"], ["b"], np.zeros((11, 2)), "shape"),
        (["z"], ["b"], {"b": good}, "no training village"),
    ]
    for train, test, pred, match in cases:
        with pytest.raises(ValueError, match=match):
            held_out_errors(obs, train, test, pred)
