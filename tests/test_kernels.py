"""The compiled kernels against plain Python sums of the same integers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from numba import njit

from diffusion_sim import kernels, rng
from diffusion_sim.kernels.step import _changes as changes


def _python_exposure(T: sp.csr_matrix, m: np.ndarray, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """s[r, i] = sum_j rint(T_ij m[r, j] 2**32) A[r, j] and w[r, i] = sum_j rint(...), one tie at a time."""
    R, n = A.shape
    s = np.zeros((R, n), np.int64)
    w = np.zeros((R, n), np.int64)
    for r in range(R):
        for i in range(n):
            for k in range(T.indptr[i], T.indptr[i + 1]):
                j = T.indices[k]
                q = int(np.rint(T.data[k] * m[r, j] * 2.0**32))
                w[r, i] += q
                s[r, i] += q * int(A[r, j])
    return s, w


@pytest.mark.parametrize(
    ("n", "density"),
    [(0, 0.0), (1, 0.0), (5, 0.5), (40, 0.05), (300, 0.03)],  # fewer and more ties than PREFETCH_TIES
)
def test_exposure_full_equals_the_sum_tie_by_tie(n, density):
    rng = np.random.default_rng(n)
    upper = sp.random(n, n, density=density, random_state=rng, format="csr")
    T = (upper + upper.T).tocsr()
    T.sort_indices()
    R = 3
    m = rng.uniform(0.0, 2.5, size=(R, n))
    A = rng.random((R, n)) < 0.4
    s = np.full((R, n), 7, np.int64)  # stale values must be overwritten, not added to
    w = np.full((R, n), 7, np.int64)
    kernels.exposure_full(kernels.tie_rows(T.indptr), T.indices, T.data, m, A, s, w)
    s_ref, w_ref = _python_exposure(T, m, A)
    assert np.array_equal(s, s_ref)
    assert np.array_equal(w, w_ref)
    if n == 300:  # this case must reach past the prefetch distance, or the tail of the pass is untested
        assert T.nnz > 10 * kernels.PREFETCH_TIES


def test_compiled_uniforms_equal_the_numpy_streams():
    keys = np.array([rng.stream_key(11, r, "threshold") for r in (0, 3, 7)], dtype=np.uint64)
    for step in (0, 5):
        u = kernels.uniforms(rng.step_keys(keys, step), 257)
        assert u.shape == (3, 257)
        assert np.array_equal(u, rng.uniform(keys, step, np.arange(257)).T)


def test_pushing_the_adopters_gives_the_whole_graph_exposure():
    gen = np.random.default_rng(5)
    upper = sp.random(60, 60, density=0.1, random_state=gen, format="csr")
    T = (upper + upper.T).tocsr()
    R = 4
    m = gen.uniform(0.5, 2.0, size=(R, 60))
    A = gen.random((R, 60)) < 0.1
    s_full = np.zeros((R, 60), np.int64)
    w_full = np.zeros((R, 60), np.int64)
    kernels.exposure_full(kernels.tie_rows(T.indptr), T.indices, T.data, m, A, s_full, w_full)
    s = np.zeros((R, 60), np.int64)
    s[0] = -1  # row 0 is left alone (r0 = 1)
    kernels.push_adopters(T.indptr, T.indices, T.data, m, A, s, np.zeros((R, 60), bool), 1)
    assert np.array_equal(s[1:], s_full[1:])
    assert (s[0] == -1).all()


@njit
def _compiled_probability(h):
    """``-expm1(-h)`` as the kernels compute it (the same libm call, compiled)."""
    out = np.empty_like(h)
    for k in range(len(h)):
        out[k] = -math.expm1(-h[k])
    return out


@njit
def _compiled_changes(u, h):
    out = np.empty(len(u), np.bool_)
    for k in range(len(u)):
        out[k] = changes(u[k], h[k])
    return out


def test_a_hazard_bounds_its_computed_probability():
    """The draws test ``u < h`` before ``u < -expm1(-h)``; that is exact only if the computed probability <= h."""
    gen = np.random.default_rng(7)
    tiny = np.array([5e-324, 1e-320, 1e-310, np.finfo(float).tiny, 1e-300, 1e-200, 1e-100])
    h = np.concatenate([tiny, 10.0 ** gen.uniform(-320, 3, 2_000_000), gen.uniform(0, 1e-3, 1_000_000)])
    h = np.concatenate([h, np.nextafter(h, 0), np.nextafter(h, np.inf)])
    p = _compiled_probability(h)
    assert np.all(p <= h)
    assert np.all(p[h > 0] > 0)  # a positive hazard is a positive probability (the draws count those)


def test_the_two_stage_draw_equals_the_plain_comparison():
    gen = np.random.default_rng(8)
    h = np.concatenate([10.0 ** gen.uniform(-12, 1, 500_000), [0.0, -1.0, np.inf]])
    p = _compiled_probability(h)  # libm's expm1, as in the kernels (numpy's may differ in the last bit)
    # uniforms at, just below and just above the probability, and anywhere
    u = np.concatenate([p, np.nextafter(p, 0), np.nextafter(p, 1), gen.random(len(h))])
    hh = np.tile(h, 4)
    u = np.clip(u, 0.0, np.nextafter(1.0, 0))
    np.testing.assert_array_equal(_compiled_changes(u, hh), u < _compiled_probability(hh))


@pytest.mark.parametrize("step", [0, 1, 52, 2**40 + 3, 2**63 - 1])
def test_compiled_step_keys_equal_the_numpy_ones(step):
    keys = np.stack([rng.Streams(11, [0, 3, 7]).keys(name) for name in ("adoption", "abandonment", "channel")])
    z = kernels.stream_step_keys(keys, step)
    for k in range(3):
        np.testing.assert_array_equal(z[k], rng.step_keys(keys[k], step))
