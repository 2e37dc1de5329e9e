"""Incremental cost-effectiveness: dominance, the frontier and ICERs by hand, properties, paired intervals."""

from __future__ import annotations

import math
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diffusion_sim.economics import (
    COLUMNS,
    EXTENDEDLY_DOMINATED,
    FRONTIER,
    STRONGLY_DOMINATED,
    incremental_analysis,
    incremental_from_comparison,
)


def by_name(table: pd.DataFrame) -> dict[str, dict]:
    return {r["scenario"]: r for r in table.to_dict("records")}


# ------------------------------------------------------------------------- known answers by hand


def test_five_options_worked_by_hand():
    # option   cost   effect (extra adopters)
    # A        0      0        the baseline (comparator)
    # B        2000   40
    # C        2500   100
    # D        4000   90
    # E        8000   200
    #
    # 1. By cost: A, B, C, D, E.
    # 2. Strong dominance: D costs more than C (4000 > 2500) and achieves less (90 < 100): D is
    #    strongly dominated by C. Nothing else is (each costs more and achieves more than all cheaper ones).
    # 3. Extended dominance among A, B, C, E:
    #      ICER B vs A = (2000 - 0) / (40 - 0)     = 50
    #      ICER C vs B = (2500 - 2000) / (100 - 40) = 500 / 60 = 8.33
    #    50 > 8.33: B is extendedly dominated. A blend of A and C reaching 40 adopters (40% of C)
    #    costs 0.4 * 2500 = 1000 < 2000.
    #    Again among A, C, E:
    #      ICER C vs A = 2500 / 100 = 25
    #      ICER E vs C = (8000 - 2500) / (200 - 100) = 55
    #    25 < 55: the frontier is A, C, E.
    t = incremental_analysis(list("ABCDE"), [0, 2000, 2500, 4000, 8000], [0, 40, 100, 90, 200])
    assert list(t.columns) == COLUMNS
    assert list(t["scenario"]) == list("ABCDE")  # sorted by cost
    assert list(t["status"]) == [FRONTIER, EXTENDEDLY_DOMINATED, FRONTIER, STRONGLY_DOMINATED, FRONTIER]
    r = by_name(t)
    assert r["B"]["dominated_by"] == ("A", "C")
    assert r["D"]["dominated_by"] == ("C",)
    assert r["A"]["compared_with"] is None and math.isnan(r["A"]["icer"])
    assert (r["C"]["compared_with"], r["C"]["incremental_cost"], r["C"]["incremental_effect"]) == ("A", 2500, 100)
    assert r["C"]["icer"] == 25.0
    assert (r["E"]["compared_with"], r["E"]["incremental_cost"], r["E"]["incremental_effect"]) == ("C", 5500, 100)
    assert r["E"]["icer"] == 55.0
    for name in "BD":  # dominated options have no ICER
        assert r[name]["compared_with"] is None and math.isnan(r[name]["icer"])


def test_extended_dominance_is_repeated_until_icers_increase():
    # A (0, 0), B (10, 1), C (25, 2), D (28, 3).
    #   ICERs: B vs A = 10, C vs B = 15, D vs C = 3  -> C goes (15 > 3)
    #   then:  B vs A = 10, D vs B = 18 / 2 = 9      -> B goes (10 > 9)
    #   then:  D vs A = 28 / 3 = 9.33. Both B and C are beaten by a blend of A and D.
    t = incremental_analysis(list("ABCD"), [0, 10, 25, 28], [0, 1, 2, 3])
    r = by_name(t)
    assert [r[n]["status"] for n in "ABCD"] == [FRONTIER, EXTENDEDLY_DOMINATED, EXTENDEDLY_DOMINATED, FRONTIER]
    assert r["B"]["dominated_by"] == ("A", "D") and r["C"]["dominated_by"] == ("A", "D")
    assert r["D"]["icer"] == pytest.approx(28 / 3)


def test_equal_costs_equal_effects_and_identical_options():
    # base (0, 0); P and Q cost the same, Q achieves more -> P strongly dominated by Q.
    # R achieves as much as Q for more -> strongly dominated by Q.
    # S is identical to Q: both on the frontier with the same ICER, each tied with the other.
    t = incremental_analysis(["base", "P", "Q", "R", "S"], [0, 1000, 1000, 1200, 1000], [0, 40, 60, 60, 60])
    r = by_name(t)
    assert r["P"]["status"] == STRONGLY_DOMINATED and r["P"]["dominated_by"] == ("Q",)
    assert r["R"]["status"] == STRONGLY_DOMINATED and r["R"]["dominated_by"] == ("Q",)
    assert r["Q"]["status"] == r["S"]["status"] == FRONTIER
    assert r["Q"]["tied_with"] == ("S",) and r["S"]["tied_with"] == ("Q",)
    assert r["Q"]["icer"] == r["S"]["icer"] == pytest.approx(1000 / 60)
    assert r["Q"]["compared_with"] == r["S"]["compared_with"] == "base"
    assert list(t["scenario"]) == ["base", "Q", "S", "P", "R"]  # by cost, the more effective first, then input order


def test_zero_and_negative_effects():
    # zero: costs more for nothing -> dominated by the baseline; free and useless -> tied with the baseline.
    # worse: does worse than the baseline and costs more -> dominated by the baseline.
    t = incremental_analysis(["base", "zero", "free", "worse", "good"], [0, 500, 0, 300, 900], [0, 0, 0, -20, 30])
    r = by_name(t)
    assert r["zero"]["status"] == STRONGLY_DOMINATED and r["zero"]["dominated_by"] == ("base",)
    assert r["worse"]["status"] == STRONGLY_DOMINATED and r["worse"]["dominated_by"] == ("base",)
    assert r["free"]["status"] == FRONTIER and r["free"]["tied_with"] == ("base",)
    assert r["good"]["icer"] == 30.0 and r["good"]["compared_with"] == "base"


def test_a_cheaper_but_worse_package_starts_the_frontier():
    # The baseline costs 100 (an existing programme); "cut" saves 50 and loses 10 adopters.
    # Cost order: cut (50, -10), base (100, 0). Neither dominates the other; the ICER of the
    # baseline against the cheaper package is (100 - 50) / (0 - -10) = 5 per adopter.
    t = incremental_analysis(["base", "cut"], [100, 50], [0, -10])
    assert list(t["scenario"]) == ["cut", "base"]
    r = by_name(t)
    assert r["cut"]["status"] == r["base"]["status"] == FRONTIER
    assert r["base"]["compared_with"] == "cut" and r["base"]["icer"] == 5.0


def test_a_package_better_and_cheaper_than_the_baseline_dominates_it():
    t = incremental_analysis(["base", "dominant"], [100, 80], [0, 5])
    r = by_name(t)
    assert r["base"]["status"] == STRONGLY_DOMINATED and r["base"]["dominated_by"] == ("dominant",)
    assert r["dominant"]["status"] == FRONTIER and math.isnan(r["dominant"]["icer"])


def test_one_option_and_one_package():
    t = incremental_analysis(["base"], [0], [0])
    assert list(t["status"]) == [FRONTIER] and math.isnan(t["icer"][0])
    t = incremental_analysis(["base", "pkg"], [0, 700], [0, 35])
    assert list(t["status"]) == [FRONTIER, FRONTIER] and t["icer"][1] == 20.0


def test_collinear_options_all_stay_on_the_frontier():
    # (0, 0), (10, 1), (20, 2): a blend of the outer two does exactly as well as the middle one, not better.
    t = incremental_analysis(list("ABC"), [0, 10, 20], [0, 1, 2])
    assert list(t["status"]) == [FRONTIER] * 3 and list(t["icer"][1:]) == [10.0, 10.0]


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="unique"):
        incremental_analysis(["a", "a"], [0, 1], [0, 1])
    with pytest.raises(ValueError, match="one cost and one effect"):
        incremental_analysis(["a", "b"], [0, 1], [0])
    with pytest.raises(ValueError, match="finite.*b"):
        incremental_analysis(["a", "b"], [0, float("nan")], [0, 1])


# ------------------------------------------------------------------------------------ properties

options = st.lists(
    st.tuples(st.integers(-50, 200), st.integers(-30, 60)), min_size=1, max_size=9
)  # (cost, effect) as small integers: every ICER is then exact as a Fraction


def _analyse(points):
    names = [f"o{k}" for k in range(len(points))]
    return incremental_analysis(names, [p[0] for p in points], [p[1] for p in points])


@settings(max_examples=300, deadline=None)
@given(options)
def test_frontier_icers_increase_and_no_frontier_option_is_dominated(points):
    t = _analyse(points)
    pts = {f"o{k}": p for k, p in enumerate(points)}
    front = t[t["status"] == FRONTIER].drop_duplicates(["cost", "effect"])
    # effect and cost strictly increase along the frontier
    assert front["cost"].is_monotonic_increasing and front["effect"].is_monotonic_increasing
    assert front["cost"].is_unique and front["effect"].is_unique
    icers = [Fraction(int(r["incremental_cost"]), int(r["incremental_effect"])) for _, r in front.iloc[1:].iterrows()]
    for a, b in zip(icers, icers[1:], strict=False):
        assert a <= b  # strictly, unless three frontier points lie on one line (equal ICERs)
    for k in range(1, len(front) - 1):
        (c0, e0), (c1, e1), (c2, e2) = (front.iloc[j][["cost", "effect"]] for j in (k - 1, k, k + 1))
        if (c1 - c0) * (e2 - e1) != (c2 - c1) * (e1 - e0):  # not collinear
            assert icers[k - 1] < icers[k]
    for name in t.loc[t["status"] == FRONTIER, "scenario"]:
        cf, ef = pts[name]
        for other, (c, e) in pts.items():
            # not strongly dominated by anyone...
            assert not (c <= cf and e >= ef and (c < cf or e > ef)), (name, other)
        for a, (ca, ea) in pts.items():  # ...and no blend of any two options beats it
            for b, (cb, eb) in pts.items():
                if ea < ef < eb:
                    w = Fraction(ef - ea, eb - ea)
                    assert ca + w * (cb - ca) >= cf, (name, a, b)


@settings(max_examples=300, deadline=None)
@given(options)
def test_every_dominated_option_is_dominated_as_named(points):
    t = _analyse(points)
    pts = {f"o{k}": p for k, p in enumerate(points)}
    statuses = dict(zip(t["scenario"], t["status"], strict=True))
    for _, r in t.iterrows():
        c, e = pts[r["scenario"]]
        if r["status"] == STRONGLY_DOMINATED:
            (d,) = r["dominated_by"]
            cd, ed = pts[d]
            assert cd <= c and ed >= e and (cd < c or ed > e)
            assert statuses[d] != STRONGLY_DOMINATED
        elif r["status"] == EXTENDEDLY_DOMINATED:
            lo, hi = r["dominated_by"]
            (cl, el), (ch, eh) = pts[lo], pts[hi]
            assert statuses[lo] == statuses[hi] == FRONTIER and el < e < eh
            assert cl + Fraction(e - el, eh - el) * (ch - cl) < c  # the blend costs strictly less
        else:
            assert r["dominated_by"] == ()
    # the cheapest option (the most effective of the cheapest) and the most effective (the cheapest of
    # those) are always on the frontier
    cheapest = min(pts.values(), key=lambda p: (p[0], -p[1]))
    best = min(pts.values(), key=lambda p: (-p[1], p[0]))
    on = {pts[n] for n in t.loc[t["status"] == FRONTIER, "scenario"]}
    assert cheapest in on and best in on


@settings(max_examples=100, deadline=None)
@given(options, st.randoms(use_true_random=False))
def test_input_order_does_not_matter(points, random):
    names = [f"o{k}" for k in range(len(points))]
    t = incremental_analysis(names, [p[0] for p in points], [p[1] for p in points])
    perm = list(range(len(points)))
    random.shuffle(perm)
    u = incremental_analysis([names[k] for k in perm], [points[k][0] for k in perm], [points[k][1] for k in perm])
    key = ["scenario", "status", "icer"]
    a = t[key].sort_values("scenario").reset_index(drop=True)
    b = u[key].sort_values("scenario").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


# ------------------------------------------------------------------------------ paired intervals


def test_paired_bootstrap_interval_is_exact_when_cost_is_proportional_to_effect():
    # In every replicate package P costs exactly 20 per extra adopter, though effects vary a lot from
    # replicate to replicate. Resampling the same replicates for both (paired), every resampled ICER is
    # 20: the interval is [20, 20]. (An unpaired resample would mix replicates and scatter the ratio.)
    effect = np.array([[0, 0, 0, 0, 0], [10, 50, 30, 80, 5]], float)
    cost = 20 * effect
    t = incremental_analysis(["base", "P"], cost.mean(1), effect.mean(1), draws=(cost, effect), seed=3)
    r = by_name(t)["P"]
    assert r["icer"] == pytest.approx(20) and r["icer_low"] == pytest.approx(20) and r["icer_high"] == pytest.approx(20)


def test_bootstrap_is_seeded_locally_and_contains_the_estimate():
    rng = np.random.default_rng(7)
    effect = np.vstack([np.zeros(8), rng.normal(100, 20, 8), rng.normal(180, 30, 8)])
    cost = np.vstack([np.zeros(8), rng.normal(2000, 300, 8), rng.normal(6000, 500, 8)])
    state = np.random.get_state()
    args = (["base", "P", "Q"], cost.mean(1), effect.mean(1))
    t1 = incremental_analysis(*args, draws=(cost, effect), seed=11)
    assert np.random.get_state()[1].tolist() == state[1].tolist()  # global state untouched
    t2 = incremental_analysis(*args, draws=(cost, effect), seed=11)
    pd.testing.assert_frame_equal(t1, t2)
    t3 = incremental_analysis(*args, draws=(cost, effect), seed=12)
    assert not t1["icer_low"].equals(t3["icer_low"])
    for _, r in t1[t1["compared_with"].notna()].iterrows():
        assert r["icer_low"] < r["icer"] < r["icer_high"]
    assert t1["icer_low"].notna().sum() == 2  # both frontier packages, not the baseline


def test_no_interval_when_the_extra_effect_is_too_uncertain_or_from_one_replicate():
    effect = np.array([[0, 0, 0, 0], [-30, 40, -25, 20]], float)  # the mean gain (1.25) is mostly noise
    cost = np.array([[0, 0, 0, 0], [100, 100, 100, 100]], float)
    t = incremental_analysis(["base", "P"], cost.mean(1), effect.mean(1), draws=(cost, effect))
    r = by_name(t)["P"]
    assert r["icer"] == 80.0 and math.isnan(r["icer_low"]) and math.isnan(r["icer_high"])
    t = incremental_analysis(["base", "P"], [0, 100], [0, 5], draws=(np.array([[0], [100]]), np.array([[0], [5]])))
    assert math.isnan(t["icer_low"][1])


def test_from_a_comparison_uses_programme_cost_and_extra_adopters_per_replicate():
    rows = []
    for rep in range(3):
        rows += [
            {"scenario": "base", "replicate": rep, "cost": 0.0, "extra_adopters": 0.0},
            {"scenario": "P", "replicate": rep, "cost": 300.0 + rep, "extra_adopters": 10.0 + rep},
        ]
    comp = SimpleNamespace(
        outcomes=pd.DataFrame(rows), names=["base", "P"], replicates=[0, 1, 2], seed=5, scenarios=None
    )
    t = incremental_from_comparison(comp)
    r = by_name(t)["P"]
    assert (r["cost"], r["effect"], r["icer"]) == (301.0, 11.0, 301.0 / 11.0)
    assert r["icer_low"] <= r["icer"] <= r["icer_high"]
    pd.testing.assert_frame_equal(t, incremental_from_comparison(comp))
