"""Known-answer tests: analytic results the engine must reproduce."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from conftest import make_community, plain_scenario, ring_lattice
from diffusion_sim.model import DiffusionModel

# --------------------------------------------------------------------------- independent cascade
# A small graph: a triangle 0-1-2, a tail 2-3-4, a chord 1-4, and a pendant 4-5.
IC_EDGES = [(0, 1), (0, 2), (1, 2), (2, 3), (3, 4), (1, 4), (4, 5)]
IC_N = 6


def exact_cascade_distribution(n: int, edges: list[tuple[int, int]], seeds: set[int], p: float) -> np.ndarray:
    """P(final number of adopters = k), by enumerating all 2^|E| live-edge graphs: the independent
    cascade's final set has the law of the set reachable from the seeds over edges kept
    independently with probability p (Kempe, Kleinberg & Tardos 2003)."""
    dist = np.zeros(n + 1)
    for live in itertools.product((0, 1), repeat=len(edges)):
        adj: dict[int, list[int]] = {i: [] for i in range(n)}
        for (a, b), keep in zip(edges, live, strict=True):
            if keep:
                adj[a].append(b)
                adj[b].append(a)
        seen, stack = set(seeds), list(seeds)
        while stack:
            for j in adj[stack.pop()]:
                if j not in seen:
                    seen.add(j)
                    stack.append(j)
        k = sum(live)
        dist[len(seen)] += p**k * (1 - p) ** (len(edges) - k)
    return dist


def test_exact_cascade_distribution_sanity():
    # p = 1 reaches everyone; p = 0 nobody beyond the seed; probabilities sum to one
    assert exact_cascade_distribution(IC_N, IC_EDGES, {0}, 1.0)[IC_N] == pytest.approx(1.0)
    assert exact_cascade_distribution(IC_N, IC_EDGES, {0}, 0.0)[1] == pytest.approx(1.0)
    assert exact_cascade_distribution(IC_N, IC_EDGES, {0}, 0.37).sum() == pytest.approx(1.0)
    # a single edge: the other end is reached with probability p
    assert exact_cascade_distribution(2, [(0, 1)], {0}, 0.3)[2] == pytest.approx(0.3)


@pytest.mark.parametrize("p", [0.3, 0.6])
def test_independent_cascade_matches_enumeration(p):
    R = 20_000
    community = make_community(IC_N, IC_EDGES, seeds=[0])
    sc = plain_scenario(behaviour__threshold_rule="none", behaviour__cascade_probability=p, schedule__steps=IC_N + 1)
    model = DiffusionModel(sc, seed=11, replicates=range(R), community=community)
    model.run_for(IC_N + 1)
    sizes = model.adopted.sum(axis=0)
    exact = exact_cascade_distribution(IC_N, IC_EDGES, {0}, p)
    # mean spread within 4 standard errors of the exact expectation
    k = np.arange(IC_N + 1)
    mean, var = (k * exact).sum(), (k**2 * exact).sum() - (k * exact).sum() ** 2
    assert abs(sizes.mean() - mean) < 4 * math.sqrt(var / R)
    # the whole distribution: chi-square goodness of fit on the support
    observed = np.bincount(sizes, minlength=IC_N + 1)[1:]
    expected = exact[1:] * R
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert chi2 < stats.chi2.ppf(0.999, df=IC_N - 1)
    # the seed (a health worker) converts at step 1; after that only newly converted households can
    assert set(np.unique(model.channel[model.adopted_at == 1])) == {3}
    assert set(np.unique(model.channel[model.adopted_at > 1])) == {1}


def test_cascade_probability_one_reaches_everyone_in_bfs_order():
    community = make_community(IC_N, IC_EDGES, seeds=[0])
    sc = plain_scenario(behaviour__threshold_rule="none", behaviour__cascade_probability=1.0, schedule__steps=5)
    model = DiffusionModel(sc, seed=1, community=community)
    model.run()
    # breadth-first distances from node 0
    assert model.adopted_at[:, 0].tolist() == [0, 1, 1, 2, 2, 3]


# --------------------------------------------------------------------------- ring lattice thresholds
def ring_steps_to_full(n: int, reach: int) -> int:
    """Steps for a block of 2 adopters to fill a ring of n nodes, each tied to 2 nodes on each
    side, when a node adopts as soon as an adopter is within ``reach`` (1 when 2 of 4 adopted
    contacts are needed, 2 when 1 of 4 is enough). The gap of n - 2 non-adopters shrinks by
    2 * reach a step; a gap of at most 2 * reach + 1 (reach 1) or 2 * reach (reach 2) closes in one
    step, because its nodes see adopters on both sides."""
    gap, steps = n - 2, 0
    closing = 3 if reach == 1 else 4
    while gap > closing:
        gap -= 2 * reach
        steps += 1
    return steps + (1 if gap > 0 else 0)


def test_ring_steps_formula_by_hand():
    assert ring_steps_to_full(10, 1) == 4  # gaps 8 -> 6 -> 4 -> 2 -> 0
    assert ring_steps_to_full(11, 1) == 4  # gaps 9 -> 7 -> 5 -> 3 -> 0
    assert ring_steps_to_full(12, 2) == 3  # gaps 10 -> 6 -> 2 -> 0


@pytest.mark.parametrize(
    ("rule", "theta", "n", "expected_steps"),
    [
        ("fractional", 0.5, 100, ring_steps_to_full(100, 1)),
        ("fractional", 0.25, 100, ring_steps_to_full(100, 2)),
        ("absolute", 2.0, 101, ring_steps_to_full(101, 1)),
        ("absolute", 1.0, 103, ring_steps_to_full(103, 2)),
    ],
)
def test_ring_lattice_threshold_steps_to_full_coverage(rule, theta, n, expected_steps):
    community = make_community(n, ring_lattice(n, 2), seeds=[0, 1], layer="neighbour")
    sc = plain_scenario(
        behaviour__threshold_rule=rule,
        roles__household__threshold__mean=theta,
        roles__household__threshold__sd=0.0,
        schedule__steps=expected_steps + 3,
    )
    result = DiffusionModel(sc, seed=5, community=community).run()
    cov = result.series("coverage")
    full = cov[cov >= 1.0]
    assert full.index.min() == expected_steps
    assert cov.loc[expected_steps - 1] < 1.0
    # the front moves at a constant speed: adopters grow by the same number every step
    adopters = result.series("adopters").loc[: expected_steps - 1].to_numpy()
    speed = 2 if theta in (0.5, 2.0) else 4
    assert np.all(np.diff(adopters) == speed)


def test_ring_lattice_threshold_just_above_half_never_spreads():
    n = 60
    community = make_community(n, ring_lattice(n, 2), seeds=[0, 1], layer="neighbour")
    sc = plain_scenario(roles__household__threshold__mean=0.51, roles__household__threshold__sd=0.0, schedule__steps=30)
    result = DiffusionModel(sc, seed=5, community=community).run()
    assert result.series("adopters").tolist() == [2.0] * 31


# --------------------------------------------------------------------------- Bass curve
def bass_curve(t: np.ndarray, p: float, q: float) -> np.ndarray:
    """Bass (1969) cumulative adoption F(t) with innovation p and imitation q, F(0) = 0."""
    e = np.exp(-(p + q) * t)
    return (1 - e) / (1 + (q / p) * e)


def test_well_mixed_population_tracks_the_bass_curve():
    """Complete graph of 600 agents, external influence p and imitation q per step, no thresholds.

    Stated tolerances for the mean of 16 replicates, at every step:
    * within 0.015 of the discrete-time Bass recursion F' = F + (1 - F)(1 - exp(-(p + q F))),
      the mean-field law of exactly this synchronous process (the rest is finite-size noise);
    * within 0.04 of the continuous Bass curve (Bass 1969): synchronous steps add a lag of about
      half a step and 1 - exp(-h) < h, worth about 0.03 at q = 0.08 per step.
    """
    n, p, q, steps = 600, 0.003, 0.08, 160
    edges = [(i, j) for i in range(n) for j in range(i + 1, n)]
    community = make_community(n, edges)
    sc = plain_scenario(
        behaviour__threshold_rule="none",
        behaviour__external=p,
        behaviour__imitation=q,
        roles__health_worker__initial_adoption=0.0,
        schedule__steps=steps,
    )
    result = DiffusionModel(sc, seed=2024, replicates=range(16), community=community).run()
    cov = result.steps.query("metric == 'coverage' and group == 'all'").groupby("step")["value"].mean().to_numpy()
    recursion = [0.0]
    for _ in range(steps):
        f = recursion[-1]
        recursion.append(f + (1 - f) * -math.expm1(-(p + q * f * n / (n - 1))))
    assert np.max(np.abs(cov - np.array(recursion))) < 0.015
    assert np.max(np.abs(cov - bass_curve(np.arange(steps + 1.0), p, q))) < 0.04
    # and the curve is really S-shaped: it crosses 50% in the middle of the run
    t50 = int(np.argmax(cov >= 0.5))
    assert 30 < t50 < 80
