"""Counter-based named streams: reproducible, independent of subsets and order, uniform."""

from __future__ import annotations

import numpy as np
from scipy import stats

from diffusion_sim.rng import Streams, generator, step_keys, stream_key, uniform, uniform_scalar


def test_draws_are_a_function_of_seed_stream_step_agent():
    k = stream_key(7, 0, "adoption")
    a = uniform(k, 3, np.arange(1000))
    np.testing.assert_array_equal(a, uniform(k, 3, np.arange(1000)))
    # a subset, in another order, draws the same numbers for the same agents
    idx = np.array([999, 5, 17, 400])
    np.testing.assert_array_equal(uniform(k, 3, idx), a[idx])
    assert uniform_scalar(k, 3, 17) == a[17]
    # other step, stream, seed or replicate: other numbers
    for other in (
        uniform(k, 4, np.arange(1000)),
        uniform(stream_key(7, 0, "seeding"), 3, np.arange(1000)),
        uniform(stream_key(8, 0, "adoption"), 3, np.arange(1000)),
        uniform(stream_key(7, 1, "adoption"), 3, np.arange(1000)),
    ):
        assert np.mean(other == a) == 0.0
        assert abs(np.corrcoef(a, other)[0, 1]) < 0.1


def test_replicate_columns_equal_single_replicate_streams():
    many = Streams(11, [0, 1, 2]).uniform("x", 5, np.arange(50))
    for r in range(3):
        np.testing.assert_array_equal(many[:, r], Streams(11, [r]).uniform("x", 5, np.arange(50))[:, 0])
    keys = Streams(11, [0, 1, 2]).keys("x")
    z = step_keys(keys, 5)  # what the compiled kernels receive
    from diffusion_sim.kernels import u01

    assert [u01(z[r], 40) for r in range(3)] == list(many[40])


def test_uniformity_and_independence_of_draws():
    u = uniform(stream_key(1, 0, "adoption"), 0, np.arange(200_000))
    assert u.min() >= 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    # consecutive agents and consecutive steps are uncorrelated
    v = uniform(stream_key(1, 0, "adoption"), 1, np.arange(200_000))
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.01
    # pairs fall evenly in a 10 x 10 grid (a chi-square test with 99 degrees of freedom)
    h = np.histogram2d(u[:-1], u[1:], bins=10)[0]
    chi2 = ((h - h.mean()) ** 2 / h.mean()).sum()
    assert chi2 < stats.chi2.ppf(0.999, 99)


def test_bulk_generators_are_named_and_seeded():
    a = generator(3, "network.kin").random(5)
    np.testing.assert_array_equal(a, generator(3, "network.kin").random(5))
    assert not np.array_equal(a, generator(3, "network.neighbour").random(5))
    assert not np.array_equal(a, generator(4, "network.kin").random(5))
