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
from numba import njit

__all__ = [
    "SCALE",
    "configure_threads",
    "exposure_full",
    "push_exposure",
    "quantised_weight",
    "step_keys",
    "step_kernel",
    "uniforms",
]

SCALE = float(2**32)
"""Exposure unit: one unit of tie weight from a unit-weight source is 2**32."""

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO_M53 = 2.0**-53


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
    return np.float64(_mix(x) >> np.uint64(11)) * _TWO_M53


@njit(cache=True, inline="always")
def quantised_weight(t, m):
    """Integer influence of one tie: ``rint(t * m * 2**32)``."""
    return np.int64(np.rint(t * m * SCALE))


def step_keys(keys: np.ndarray, step: int) -> np.ndarray:
    """Per-replicate mixed keys of one stream at one step (the ``z`` of :func:`diffusion_sim.rng.uniform`)."""
    s = np.uint64((step * 0xA0761D6478BD642F + 0xE7037ED1A0B428DB) & ((1 << 64) - 1))
    with np.errstate(over="ignore"):
        z = keys.astype(np.uint64) ^ s
        z ^= z >> np.uint64(30)
        z *= _M1
        z ^= z >> np.uint64(27)
        z *= _M2
        z ^= z >> np.uint64(31)
    return z


@njit(cache=True)
def uniforms(z, agents):
    """Compiled counter-based uniforms: entry [k, r] for agent ``agents[k]`` under step key ``z[r]``."""
    out = np.empty((len(agents), len(z)))
    for k in range(len(agents)):
        for r in range(len(z)):
            out[k, r] = _u01(z[r], agents[k])
    return out


@njit(cache=True)
def exposure_full(indptr, indices, T, m, A, s, w):
    """Whole-graph exposure: ``s[i, r] = sum_j q_ij(r) A[j, r]`` and ``w[i, r] = sum_j q_ij(r)``."""
    n, R = A.shape
    for i in range(n):
        for r in range(R):
            s[i, r] = 0
            w[i, r] = 0
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            t = T[k]
            for r in range(R):
                q = quantised_weight(t, m[j, r])
                w[i, r] += q
                if A[j, r]:
                    s[i, r] += q


@njit(cache=True)
def push_exposure(indptr, indices, T, m, rows, cols, sign, s, stale):
    """Add ``sign[k] * q_ij`` to ``s[i, cols[k]]`` for every contact i of ``j = rows[k]``."""
    for k in range(len(rows)):
        j = rows[k]
        r = cols[k]
        mj = m[j, r]
        sg = sign[k]
        for e in range(indptr[j], indptr[j + 1]):
            i = indices[e]
            s[i, r] += sg * quantised_weight(T[e], mj)
            stale[i] = True


@njit(cache=True)
def _by_role(indptr, indices, T, m, role, ind, i, r, out):
    out[0] = 0
    out[1] = 0
    out[2] = 0
    for k in range(indptr[i], indptr[i + 1]):
        j = indices[k]
        if ind[j, r]:
            out[role[j]] += quantised_weight(T[k], m[j, r])


@njit(cache=True, inline="always")
def _flip_probability(
    i, r, A, s, w, theta, ext, drop_mult, s_new, rule, spontaneous, imitation, c, ab_rate, ab_support
):
    """Probability that agent i changes state in column r this step (1.0 when its threshold is crossed)."""
    wi = w[i, r]
    si = s[i, r]
    x = np.float64(si) / np.float64(wi) if wi > 0 else 0.0
    if A[i, r]:
        if ab_rate > 0:
            return -math.expm1(-ab_rate * drop_mult[i, r] * (1.0 - ab_support * x))
        return 0.0
    if rule != 0 and si > 0:
        if rule == 1:
            if x >= theta[i, r]:
                return 1.0
        elif np.float64(si) / SCALE >= theta[i, r]:
            return 1.0
    h = 0.0 + ext[i, r]
    h = h + spontaneous
    if imitation > 0:
        h = h + imitation * x
    if c > 0.0:
        sn = s_new[i, r]
        if sn > 0:
            h = h + c * (np.float64(sn) / SCALE)
    return -math.expm1(-h) if h > 0 else 0.0


@njit(cache=True)
def step_kernel(
    indptr,
    indices,
    T,
    m,
    role,
    theta,
    ext,
    drop_mult,
    A,
    N_prev,
    s,
    w,
    s_new,
    touched,
    touched_flag,
    n_touched,
    p_flip,
    stale,
    rule,
    spontaneous,
    imitation,
    c,
    ab_rate,
    ab_support,
    z_adopt,
    z_abandon,
    z_channel,
    agent_groups,
    step,
    A_next,
    N_next,
    abandoned,
    adopted_at,
    channel,
    abandoned_at,
    cnt_new,
    cnt_ab,
    cnt_channel,
):
    """One synchronous step for all agents and replicate columns.

    Order: (a) cascade exposure ``s_new`` from the agents who adopted in the previous step
    (``N_prev``); (b) every agent draws against its cached probability of changing state, computed
    from the snapshot ``A`` and its exposure ``s`` (recomputed first for stale rows), and the rare
    agents who change are resolved (threshold or stochastic adoption, channel, abandonment);
    (c) the changes are pushed into ``s``, which then describes ``A_next``.

    ``rule``: 0 none, 1 fractional, 2 absolute. ``touched[:n_touched[0]]`` lists the rows whose
    ``s_new`` was set last step (``touched_flag`` marks them). Returns the number of changes.
    """
    n, R = A.shape
    # A_next must arrive as a copy of A, N_next and abandoned all False (numpy fills them faster)
    # (a) cascade exposure: clear last step's rows, push from last step's new adopters
    if c > 0.0:
        for k in range(n_touched[0]):
            i = touched[k]
            for r in range(R):
                s_new[i, r] = 0
            touched_flag[i] = False
            stale[i] = True
        nt = 0
        for j in range(n):
            for r in range(R):
                if N_prev[j, r]:
                    mj = m[j, r]
                    for e in range(indptr[j], indptr[j + 1]):
                        i = indices[e]
                        s_new[i, r] += quantised_weight(T[e], mj)
                        stale[i] = True
                        if not touched_flag[i]:
                            touched_flag[i] = True
                            touched[nt] = i
                            nt += 1
        n_touched[0] = nt
    cc = min(c, 1e300)
    by = np.zeros(3, np.int64)
    byn = np.zeros(3, np.int64)
    parts = np.zeros(8)
    ch_of_part = np.array([4, 5, 1, 2, 3, 1, 2, 3], dtype=np.int8)
    n_changes = 0
    n_groups_per_agent = agent_groups.shape[1]
    # (b) draw against the cached probabilities; resolve the agents that change
    for i in range(n):
        if stale[i]:
            for r in range(R):
                p_flip[i, r] = _flip_probability(
                    i, r, A, s, w, theta, ext, drop_mult, s_new, rule, spontaneous, imitation, c, ab_rate, ab_support
                )
            stale[i] = False
        for r in range(R):
            pf = p_flip[i, r]
            if pf <= 0.0:
                continue
            a = A[i, r]
            zr = z_adopt[r]
            if a:
                zr = z_abandon[r]
            if _u01(zr, i) >= pf:
                continue
            n_changes += 1
            if a:
                abandoned[i, r] = True
                A_next[i, r] = False
                abandoned_at[i, r] = step
                for g in range(n_groups_per_agent):
                    grp = agent_groups[i, g]
                    if grp >= 0:
                        cnt_ab[grp, r] += 1
                continue
            # adoption: by threshold (p_flip == 1 from a crossed threshold) or a stochastic channel
            si = s[i, r]
            wi = w[i, r]
            crossed = False
            if rule != 0 and si > 0:
                if rule == 1:
                    crossed = (np.float64(si) / np.float64(wi) if wi > 0 else 0.0) >= theta[i, r]
                else:
                    crossed = np.float64(si) / SCALE >= theta[i, r]
            if crossed:
                _by_role(indptr, indices, T, m, role, A, i, r, by)
                best = 0
                for k in range(1, 3):
                    if by[k] > by[best]:
                        best = k
                ch = best + 1
            else:
                parts[0] = ext[i, r]
                parts[1] = spontaneous
                if imitation > 0:
                    _by_role(indptr, indices, T, m, role, A, i, r, by)
                    wd = np.float64(wi) if wi > 0 else 1.0
                    for k in range(3):
                        parts[2 + k] = imitation * np.float64(by[k]) / wd
                else:
                    for k in range(3):
                        parts[2 + k] = 0.0
                if c > 0.0:
                    _by_role(indptr, indices, T, m, role, N_prev, i, r, byn)
                    for k in range(3):
                        parts[5 + k] = cc * (np.float64(byn[k]) / SCALE) if byn[k] > 0 else 0.0
                else:
                    for k in range(3):
                        parts[5 + k] = 0.0
                total = 0.0
                for k in range(8):
                    total += parts[k]
                    parts[k] = total
                v = _u01(z_channel[r], i) * total
                pick = 0
                for k in range(8):
                    if parts[k] <= v:
                        pick += 1
                if pick > 7:
                    pick = 7
                ch = ch_of_part[pick]
            N_next[i, r] = True
            A_next[i, r] = True
            cnt_channel[ch, r] += 1
            if adopted_at[i, r] < 0:
                adopted_at[i, r] = step
                channel[i, r] = ch
            for g in range(n_groups_per_agent):
                grp = agent_groups[i, g]
                if grp >= 0:
                    cnt_new[grp, r] += 1
    # (c) push the changes into the exposure of their contacts; changed agents are stale too
    if n_changes:
        for j in range(n):
            for r in range(R):
                if N_next[j, r] or abandoned[j, r]:
                    sg = 1 if N_next[j, r] else -1
                    mj = m[j, r]
                    stale[j] = True
                    for e in range(indptr[j], indptr[j + 1]):
                        i = indices[e]
                        s[i, r] += sg * quantised_weight(T[e], mj)
                        stale[i] = True
    return n_changes
