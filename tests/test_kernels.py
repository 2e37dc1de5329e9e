"""The compiled kernels against plain Python sums of the same integers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from diffusion_sim import kernels


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
