"""Exact integer exposures: the whole-graph recount, and the pushes that keep exposures exact."""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from diffusion_sim.kernels.base import quantised_weight, row

__all__ = [
    "PREFETCH_TIES",
    "cascade_exposure",
    "exposure_full",
    "mark_stale",
    "push_adopters",
    "push_contacts",
    "reweight_sources",
]

PREFETCH_TIES = 96
"""How many ties ahead :func:`exposure_full` asks for its contact's weight and state.

A contact in another part of the graph (a rewired or inter-village tie) is a cache miss; without the
hint the sums stall on it. ``./dev bench scale --parts B`` measures the pass against the bandwidth bound."""


@intrinsic
def _prefetch(typingctx, arr, idx):
    """Hint the CPU to start loading ``arr[idx]`` into cache (``llvm.prefetch``: read, high locality).

    No effect on results; an index out of range is harmless (a prefetch never faults).
    """
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False, boundscheck=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch.p0i8"
        )
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True)
def exposure_full(rows, indices, T, m, A, s, w):
    """Whole-graph exposure: ``s[r, i] = sum_j q_ij(r) A[r, j]`` and ``w[r, i] = sum_j q_ij(r)``.

    One flat pass over the ties (``rows[k]``, ``indices[k]``: agent and contact of tie k, from
    :func:`tie_rows`), which streams the tie arrays; integer sums do not depend on order. The
    contact's weight and state are prefetched :data:`PREFETCH_TIES` ties ahead, and indices are
    taken as unsigned, which spares numba's negative-index wrap-around on every access. ``m`` and
    ``w`` may be one row shared by every replicate (see :func:`row`); a shared ``w`` is summed once.
    """
    R = A.shape[0]
    n = len(indices)
    ahead = min(PREFETCH_TIES, n)
    spare = np.empty(w.shape[1], np.int64)  # where a shared w's repeated sums go
    for r in range(R):
        mr = m[row(m, r)]
        ar = A[r]
        sr = s[r]
        wr = w[r] if r < w.shape[0] else spare
        sr[:] = 0
        wr[:] = 0
        for k in range(n):
            jn = np.uintp(indices[min(k + ahead, n - 1)])
            _prefetch(mr, jn)
            _prefetch(ar, jn)
            j = np.uintp(indices[k])
            i = np.uintp(rows[k])
            q = quantised_weight(T[k], mr[j])
            wr[i] += q
            sr[i] += q * np.int64(ar[j])  # branch-free: adoption is unpredictable


@njit(cache=True)
def push_adopters(indptr, indices, T, m, A, s, stale, r0):
    """Push every adopter's ``q_ij`` into its contacts' exposure ``s`` (marking them stale), replicates ``r0`` on.

    With ``s`` zero on entry this is the exposure of the adopted state, at a cost proportional to
    the adopters' ties (the model's start, where few have adopted).
    """
    R, n = A.shape
    for r in range(r0, R):
        for j in range(n):
            if A[r, j]:
                push_contacts(indptr, indices, T, j, r, m[row(m, r), j], 1, s, stale)


@njit(cache=True, inline="always")
def push_contacts(indptr, indices, T, j, r, mj, sign, s, stale):
    """Add ``sign * q_ij`` to the exposure of every contact i of agent j (replicate r); mark them stale."""
    for e in range(indptr[j], indptr[j + 1]):
        i = indices[e]
        s[r, i] += sign * quantised_weight(T[e], mj)
        stale[r, i] = True


@njit(cache=True)
def mark_stale(rows, stale):
    """Mark every replicate of ``rows`` stale: their cached hazards are recomputed first.

    ``stale`` is (R, N).
    """
    R = stale.shape[0]
    for k in range(len(rows)):
        i = rows[k]
        for r in range(R):
            stale[r, i] = True


@njit(cache=True)
def cascade_exposure(indptr, indices, T, m, N_prev, s_new, touched, touched_flag, n_touched, stale):
    """Cascade exposure ``s_new[r, i] = sum_j q_ij N_prev[r, j]`` from last step's new adopters.

    Clears the rows set last step (``touched[:n_touched[0]]``, flagged in ``touched_flag``), pushes
    from every new adopter, and marks every changed row stale.
    """
    R, n = N_prev.shape
    for k in range(n_touched[0]):
        i = touched[k]
        for r in range(R):
            if s_new[r, i] != 0:
                s_new[r, i] = 0
                stale[r, i] = True
        touched_flag[i] = False
    nt = 0
    for j in range(n):
        for r in range(R):
            if N_prev[r, j]:
                mj = m[row(m, r), j]
                for e in range(indptr[j], indptr[j + 1]):
                    i = indices[e]
                    s_new[r, i] += quantised_weight(T[e], mj)
                    stale[r, i] = True
                    if not touched_flag[i]:
                        touched_flag[i] = True
                        touched[nt] = i
                        nt += 1
    n_touched[0] = nt


@njit(cache=True)
def reweight_sources(rows, cols, factor, indptr, indices, T, m, A, s, w, stale):
    """Multiply the source weight of ``(cols[k], rows[k])`` by ``factor[k]``.

    Every contact's exposure ``s`` and total weight ``w`` stay exact: the integer differences are
    pushed. ``m`` and ``w`` must have a row per replicate here (the weights now differ).
    """
    R, n = A.shape
    for k in range(len(rows)):
        j = rows[k]
        r = cols[k]
        old = m[r, j]
        new = old * factor[k]
        m[r, j] = new
        for e in range(indptr[j], indptr[j + 1]):
            i = indices[e]
            d = quantised_weight(T[e], new) - quantised_weight(T[e], old)
            w[r, i] += d
            if A[r, j]:
                s[r, i] += d
            stale[r, i] = True
