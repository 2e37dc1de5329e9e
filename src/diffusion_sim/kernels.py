"""Compiled kernels of the step: the one implementation of every adoption rule.

The rules are those written in :mod:`diffusion_sim.behaviour`; this module evaluates them for all
agents and replicate columns (numba, one thread by default, compile cache on).

**Exact integer exposure.** The influence of contact j on agent i is the integer
``q_ij = rint(T_ij * m_j * 2**32)``, with ``T`` the symmetric tie-weight matrix (layer weight
times tie weight, summed over layers) and ``m_j`` the source weight of j (influence times trust).
Exposures are sums of these integers, so they are exact whatever the order of summation: when an
agent adopts or abandons, the kernel *pushes* ``+/- q_ij`` to its contacts, at a cost proportional
to the changes, and the result is bit-identical to summing every row from scratch (and to the
per-agent reference, which sums the same integers). Quantising weights to multiples of 2**-32 of a
unit tie changes no model result of any practical size.

**Cached probabilities.** The adoption and abandonment probabilities of an agent depend only on
its exposure and its parameters, so they are recomputed only for *stale* rows: agents whose
exposure changed, or whose parameters an intervention changed.

Random draws are the counter-based uniforms of :mod:`diffusion_sim.rng`, computed inline: the
uniform of (stream key k, step t, agent i) is ``mix((i + 1) * GOLDEN + mix(k ^ step_key(t)))``.
"""

from __future__ import annotations

import math
import os

import numba
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from diffusion_sim.rng import step_keys

__all__ = [
    "PREFETCH_TIES",
    "SCALE",
    "SPARSE_DRAWS",
    "advance",
    "cascade_exposure",
    "configure_threads",
    "exposure_full",
    "force_adopt",
    "mark_stale",
    "push_adopters",
    "quantised_weight",
    "reweight_sources",
    "row",
    "step_keys",
    "tie_rows",
    "uniforms",
]

SCALE = float(2**32)
"""Exposure unit: one unit of tie weight from a unit-weight source is 2**32."""

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO_M53 = 2.0**-53
_CH_OF_PART = np.array([4, 5, 1, 2, 3, 1, 2, 3], dtype=np.int8)
"""Channel of each hazard component: external, spontaneous, imitation by source role, cascade by source role."""


def configure_threads() -> int:
    """Use one numba thread unless ``NUMBA_NUM_THREADS`` says otherwise; return the count.

    Two threads on a loaded 2-core machine made small steps 100 times slower, so one is the default.
    The kernels are serial today; the setting matters for any parallel kernel added later.
    """
    wanted = int(os.environ.get("NUMBA_NUM_THREADS", "1") or 1)
    wanted = max(1, min(wanted, numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(wanted)
    return wanted


@njit(cache=True, inline="always")
def _mix(z):
    z = z ^ (z >> np.uint64(30))
    z = z * _M1
    z = z ^ (z >> np.uint64(27))
    z = z * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def _u01(zr, agent):
    x = (np.uint64(agent) + np.uint64(1)) * _GOLDEN + zr
    # < 2**53 after the shift: converting through int64 is exact and avoids the slow unsigned path
    return np.float64(np.int64(_mix(x) >> np.uint64(11))) * _TWO_M53


@njit(cache=True, inline="always")
def row(x, r):
    """Row of a per-agent parameter array for replicate ``r``: ``r``, or 0 if the one row is shared.

    Parameters that start equal in every replicate (source weight ``m``, total weight ``w``,
    external hazard, abandonment multiplier) are kept as one (1, N) row until an intervention
    changes them in some replicates: a third less state to carry through the cache each step.
    """
    return r if x.shape[0] > 1 else 0


@njit(cache=True, inline="always")
def quantised_weight(t, m):
    """Integer influence of one tie: ``rint(t * m * 2**32)``."""
    return np.int64(np.rint(t * m * SCALE))


def tie_rows(indptr: np.ndarray) -> np.ndarray:
    """Row (agent) of every tie of a CSR matrix, for flat loops over ties (int32)."""
    return np.repeat(np.arange(len(indptr) - 1, dtype=np.int32), np.diff(indptr))


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


SPARSE_DRAWS = 16
"""When fewer than one agent in this many can change state, the draws visit only those agents."""

PREFETCH_TIES = 96
"""How many ties ahead :func:`exposure_full` asks for its contact's weight and state.

A contact in another part of the graph (a rewired or inter-village tie) is a cache miss of about
100 ns; without the hint the sums stall on it. ``./dev bench scale`` (part B) measures the pass."""


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
def uniforms(z, n):
    """Uniforms ``u[r, i]`` of agents ``0..n-1`` under the per-replicate step keys ``z`` (from :func:`step_keys`).

    The same numbers as ``rng.uniform(keys, step, arange(n)).T``, computed in one compiled pass.
    """
    R = len(z)
    u = np.empty((R, n))
    for r in range(R):
        zr = z[r]
        for i in range(n):
            u[r, i] = _u01(zr, i)
    return u


@njit(cache=True)
def push_adopters(indptr, indices, T, m, A, s, r0):
    """Add every adopter's ``q_ij`` to its contacts' exposure ``s``, in replicate rows ``r0`` and after.

    With ``s`` zero on entry this is the exposure of the adopted state, at a cost proportional to
    the adopters' ties (the model's start, where few have adopted).
    """
    R, n = A.shape
    for r in range(r0, R):
        for j in range(n):
            if A[r, j]:
                mj = m[row(m, r), j]
                for e in range(indptr[j], indptr[j + 1]):
                    s[r, indices[e]] += quantised_weight(T[e], mj)


# Helpers below take scalars only: a numba function that takes arrays pays atomic reference counting
# on every call, which costs more than the work in these loops. Loops over contacts are written out.


@njit(cache=True, inline="always")
def _flip_probability(a, si, wi, th, ex, dm, sn, xb, mon, rule, spontaneous, imitation, c, ab_rate, ab_support):
    """Probability that an agent changes state this step (1.0 when its threshold is crossed).

    ``xb`` is an exposure-share boost (a community dialogue the agent attends this step), ``mon``
    the reduction of abandonment for adopters with at least one adopted contact (peer monitoring).
    """
    x = np.float64(si) / np.float64(wi) if wi > 0 else 0.0
    if a:
        if ab_rate > 0:
            rate = ab_rate * dm
            if mon > 0.0 and si > 0:
                rate = rate * (1.0 - mon)
            return -math.expm1(-rate * (1.0 - ab_support * x))
        return 0.0
    if _crossed(si, wi, th, xb, rule):
        return 1.0
    xe = x + xb
    h = 0.0 + ex
    h = h + spontaneous
    if imitation > 0:
        h = h + imitation * xe
    if c > 0.0 and sn > 0:
        h = h + c * (np.float64(sn) / SCALE)
    return -math.expm1(-h) if h > 0 else 0.0


@njit(cache=True, inline="always")
def _crossed(si, wi, th, xb, rule):
    """Whether a non-adopter's threshold is crossed (rule 1 fractional, 2 absolute, 0 none).

    The share ``x = s / w`` (plus any boost ``xb``) must reach the threshold, and the agent must
    have at least one adopted contact or a boost.
    """
    if rule == 0 or (si <= 0 and xb <= 0.0):
        return False
    if rule == 1:
        return (np.float64(si) / np.float64(wi) if wi > 0 else 0.0) + xb >= th
    return np.float64(si) / SCALE + xb * (np.float64(wi) / SCALE) >= th


@njit(cache=True, inline="always")
def _push(indptr, indices, T, j, r, mj, sign, s, stale):
    """Add ``sign * q_ij`` to the exposure of every contact i of agent j (replicate r); mark them stale."""
    for e in range(indptr[j], indptr[j + 1]):
        i = indices[e]
        s[r, i] += sign * quantised_weight(T[e], mj)
        stale[r, i] = True


@njit(cache=True, inline="always")
def _count(agent_groups, i, r, counts):
    """Add agent i (replicate r) to the counts of each of its groups."""
    for g in range(agent_groups.shape[1]):
        grp = agent_groups[i, g]
        if grp >= 0:
            counts[grp, r] += 1


@njit(cache=True)
def mark_stale(rows, stale):
    """Mark every replicate of ``rows`` stale: their cached probabilities are recomputed first.

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
def _draw_row(
    r, nc, hit, p_flip, A, z_adopt, z_abandon, cand,
    s, w, theta, ext, drop_mult, s_new, boost, mon, rule, spontaneous, imitation, c, ab_rate, ab_support,
    stale,
):  # fmt: skip
    """Every agent of replicate ``r`` draws against its probability of changing state.

    The probability is cached; stale agents (exposure or parameters changed) recompute it first, in
    a sparse pass, so that the draws are one branch-free loop the compiler vectorises (``hit`` is
    scratch of length N). Appends the flat indices ``r * n + i`` of the agents whose draw falls
    below it to ``cand`` from position ``nc``; returns the new end.
    """
    n = A.shape[1]
    cascade = c > 0.0
    boosted = boost.shape[1] == n
    rw, rx, rd = row(w, r), row(ext, r), row(drop_mult, r)
    for i in range(n):
        if stale[r, i]:
            sn = s_new[r, i] if cascade else 0
            xb = boost[r, i] if boosted else 0.0
            p_flip[r, i] = _flip_probability(
                A[r, i], s[r, i], w[rw, i], theta[r, i], ext[rx, i], drop_mult[rd, i], sn, xb, mon,
                rule, spontaneous, imitation, c, ab_rate, ab_support,
            )  # fmt: skip
            stale[r, i] = False
    za = z_adopt[r]
    flip = z_abandon[r] ^ za  # adopters draw from the abandonment stream: za ^ flip
    pr = p_flip[r]
    ar = A[r]
    base = r * n
    live = 0
    for i in range(n):  # how many can change at all (a vectorised count)
        live += pr[i] > 0.0
    if live == 0:  # a settled threshold cascade: nothing to draw
        return nc
    if live * SPARSE_DRAWS < n:  # few can change (a threshold rule without random channels): skip the rest
        for i in range(n):
            if pr[i] > 0.0:
                zr = za ^ (flip * np.uint64(ar[i]))
                if _u01(zr, i) < pr[i]:
                    cand[nc] = base + i
                    nc += 1
        return nc
    for i in range(n):  # a probability <= 0 never beats a uniform in [0, 1)
        zr = za ^ (flip * np.uint64(ar[i]))
        hit[i] = _u01(zr, i) < pr[i]
    for i in range(n):
        if hit[i]:
            cand[nc] = base + i
            nc += 1
    return nc


@njit(cache=True)
def _resolve(
    cand, k0, k1, indptr, indices, T, m, role, theta, ext, boost, A, N_prev, s, w, rule, spontaneous, imitation, c,
    z_channel, agent_groups, step, A_next, N_next, abandoned, adopted_at, channel, abandoned_at,
    cnt_new, cnt_ab, cnt_channel,
):  # fmt: skip
    """Resolve the candidates ``cand[k0:k1]``: abandonment, or adoption by threshold or stochastic channel.

    A threshold adoption is credited to the source role contributing most exposure; a stochastic
    one to a hazard component drawn in proportion to its size. Reads only the snapshot (``A``,
    ``N_prev``, ``s``, ``w``); writes ``A_next`` (which must arrive as a copy of ``A``), ``N_next``
    and ``abandoned`` (which must arrive all False), the per-agent records and per-group counts.
    """
    R, n = A.shape
    cc = min(c, 1e300)
    boosted = boost.shape[1] == n
    by = np.zeros(3, np.int64)
    byn = np.zeros(3, np.int64)
    parts = np.zeros(8)
    Af = A.reshape(-1)  # flat views (the (R, N) state is C-contiguous): no per-access wrap-around
    Nf = N_prev.reshape(-1)
    mf = m.reshape(-1)
    for k in range(k0, k1):
        r = cand[k] // n
        i = cand[k] % n
        if A[r, i]:  # abandonment
            if N_next[r, i]:  # adopted at the start of this step by an intervention: no change
                cand[k] = -1
                continue
            abandoned[r, i] = True
            A_next[r, i] = False
            abandoned_at[r, i] = step
            _count(agent_groups, i, r, cnt_ab)
            continue
        si = s[r, i]
        wi = w[row(w, r), i]
        # exposure by source role (household, leader, health worker), from the snapshot; branch-free
        # (whether a contact adopted is unpredictable), in registers, on flat views of row r
        base = np.uintp(r * n)
        base_m = np.uintp(row(m, r) * n)
        a0 = np.int64(0)
        a1 = np.int64(0)
        a2 = np.int64(0)
        n0 = np.int64(0)
        n1 = np.int64(0)
        n2 = np.int64(0)
        for e in range(indptr[i], indptr[i + 1]):
            j = np.uintp(indices[e])
            q = quantised_weight(T[e], mf[base_m + j])
            qa = q * np.int64(Af[base + j])
            qn = q * np.int64(Nf[base + j])
            rl = role[j]
            a0 += qa if rl == 0 else 0
            a1 += qa if rl == 1 else 0
            a2 += qa if rl == 2 else 0
            n0 += qn if rl == 0 else 0
            n1 += qn if rl == 1 else 0
            n2 += qn if rl == 2 else 0
        by[0] = a0
        by[1] = a1
        by[2] = a2
        byn[0] = n0
        byn[1] = n1
        byn[2] = n2
        xb = boost[r, i] if boosted else 0.0
        if _crossed(si, wi, theta[r, i], xb, rule):
            best = 0
            for b in range(1, 3):
                if by[b] > by[best]:
                    best = b
            ch = best + 1
        else:
            parts[0] = ext[row(ext, r), i]
            parts[1] = spontaneous
            wd = np.float64(wi) if wi > 0 else 1.0
            for b in range(3):
                parts[2 + b] = imitation * np.float64(by[b]) / wd if imitation > 0 else 0.0
                parts[5 + b] = cc * (np.float64(byn[b]) / SCALE) if (c > 0.0 and byn[b] > 0) else 0.0
            if imitation > 0 and xb > 0.0:  # a dialogue's boost counts as leader-led imitation
                parts[3] += imitation * xb
            total = 0.0
            for b in range(8):
                total += parts[b]
                parts[b] = total
            v = _u01(z_channel[r], i) * total
            pick = 0
            for b in range(8):
                if parts[b] <= v:
                    pick += 1
            if pick > 7:
                pick = 7
            ch = _CH_OF_PART[pick]
        N_next[r, i] = True
        A_next[r, i] = True
        cnt_channel[ch, r] += 1
        if adopted_at[r, i] < 0:
            adopted_at[r, i] = step
            channel[r, i] = ch
        _count(agent_groups, i, r, cnt_new)


@njit(cache=True)
def force_adopt(rows, cols, code, indptr, indices, T, m, agent_groups, step, A, N_next, s, adopted_at, channel,
                cnt_new, cnt_channel, stale):  # fmt: skip
    """Adopt the non-adopters ``(cols[k], rows[k])`` now (an intervention at the start of a step).

    Updates the snapshot ``A`` and pushes their influence, so this step's decisions see them; they
    count as new adopters of this step through channel ``code``. Returns how many were adopted.
    """
    R, n = A.shape
    done = 0
    for k in range(len(rows)):
        i = rows[k]
        r = cols[k]
        if A[r, i]:
            continue
        done += 1
        A[r, i] = True
        N_next[r, i] = True
        cnt_channel[code, r] += 1
        if adopted_at[r, i] < 0:
            adopted_at[r, i] = step
            channel[r, i] = code
        _count(agent_groups, i, r, cnt_new)
        mi = m[row(m, r), i]
        stale[r, i] = True
        _push(indptr, indices, T, i, r, mi, 1, s, stale)
    return done


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


@njit(cache=True)
def _push_changes(cand, k0, k1, indptr, indices, T, m, N_next, s, stale):
    """Push each change of ``cand[k0:k1]`` into its contacts' exposure and mark them and the changed agent stale.

    An adoption adds ``q_ij`` to every contact i, an abandonment subtracts it. Every candidate of
    :func:`_draw_row` changed state, one way or the other.
    """
    R, n = N_next.shape
    for k in range(k0, k1):
        if cand[k] < 0:  # resolved as no change
            continue
        r = cand[k] // n
        j = cand[k] % n
        sg = 1 if N_next[r, j] else -1
        mj = m[row(m, r), j]
        stale[r, j] = True
        _push(indptr, indices, T, j, r, mj, sg, s, stale)


@njit(cache=True)
def advance(
    p_flip, A, z_adopt, z_abandon, cand,
    s, w, theta, ext, drop_mult, s_new, boost, mon, rule, spontaneous, imitation, c, ab_rate, ab_support,
    stale, indptr, indices, T, m, role, N_prev, z_channel, agent_groups, step,
    A_next, N_next, abandoned, adopted_at, channel, abandoned_at, cnt_new, cnt_ab, cnt_channel,
):  # fmt: skip
    """One step's decisions and their effects, replicate by replicate: draw, resolve, push.

    Replicates share nothing here, so each is finished before the next starts (the same numbers
    as phase by phase over all replicates, in one call from Python). Per replicate: every agent
    draws against its (refreshed) probability (:func:`_draw_row`); the candidates are resolved from
    the snapshot into ``A_next`` (which must arrive as a copy of ``A``), ``N_next`` and the records
    (:func:`_resolve`); the changes are pushed into the contacts' exposures ``s``
    (:func:`_push_changes`). Returns the number of candidates (``cand[:nc]``).
    """
    R, n = A.shape
    hit = np.empty(n, np.uint8)
    nc = 0
    for r in range(R):
        k0 = nc
        nc = _draw_row(
            r, nc, hit, p_flip, A, z_adopt, z_abandon, cand,
            s, w, theta, ext, drop_mult, s_new, boost, mon, rule, spontaneous, imitation, c, ab_rate, ab_support,
            stale,
        )  # fmt: skip
        _resolve(
            cand, k0, nc, indptr, indices, T, m, role, theta, ext, boost, A, N_prev, s, w, rule, spontaneous,
            imitation, c, z_channel, agent_groups, step, A_next, N_next, abandoned, adopted_at, channel,
            abandoned_at, cnt_new, cnt_ab, cnt_channel,
        )  # fmt: skip
        _push_changes(cand, k0, nc, indptr, indices, T, m, N_next, s, stale)
    return nc
