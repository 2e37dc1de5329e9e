"""One step's decisions: draw against the cached hazards, resolve the changes, push them.

Helpers here take scalars only: a numba function that takes arrays pays atomic reference counting
on every call, which costs more than the work in these loops. Loops over contacts are written out.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from diffusion_sim import behaviour as bh
from diffusion_sim.kernels.base import SCALE, quantised_weight, row, u01
from diffusion_sim.kernels.exposure import push_contacts
from diffusion_sim.population import HOUSEHOLD

__all__ = [
    "COUNT_EVENTS",
    "COUNT_FIRST",
    "COUNT_PEOPLE",
    "HOUSEHOLD_GROUP",
    "SPARSE_DRAWS",
    "advance",
    "can_change",
    "force_adopt",
]

_CH_OF_PART = np.array(
    [bh.MEDIA, bh.CAMPAIGN, bh.SPONTANEOUS, *bh.ROLE_CHANNELS, *bh.ROLE_CHANNELS, bh.DIALOGUE], dtype=np.int8
)
"""Channel of each hazard component, in the order the competing-risks draw stacks them: background
external, a campaign's extra external hazard, spontaneous, imitation by source role, cascade by
source role, a dialogue's boost of imitation. (Components that are zero take no share of the draw,
so without campaign or dialogue the picks are those of the first six channels alone.)"""
_N_PARTS = len(_CH_OF_PART)
_ROLE_CH = bh.ROLE_CHANNELS
_DIALOGUE = bh.DIALOGUE

COUNT_EVENTS, COUNT_PEOPLE, COUNT_FIRST = 0, 1, 2
"""Planes of the per-group count arrays (3, groups, R): events (adoptions or abandonments), the
same weighted by household size (people), and first-time events (an agent's first adoption, or
first abandonment)."""

HOUSEHOLD_GROUP = 1 + HOUSEHOLD
"""Group index of ``role=household`` (:func:`diffusion_sim.results.group_labels`): an agent is a
household when its role group (column 1 of the agent-group table) is this one."""

SPARSE_DRAWS = 16
"""When fewer than one agent in this many can change state, the draws visit only those agents."""


@njit(cache=True, inline="always")
def _flip_hazard(a, si, wi, th, ex, dm, sn, xb, mon, rule, spontaneous, imitation, c, ab_rate, ab_support):
    """Hazard ``h`` of an agent changing state this step: it changes with probability ``1 - exp(-h)``.

    ``inf`` when its threshold is crossed (it changes for sure), ``<= 0`` when it cannot change.
    ``xb`` is an exposure-share boost (a community dialogue the agent attends this step), ``mon``
    the reduction of abandonment for adopters with at least one adopted contact (peer monitoring).
    """
    x = np.float64(si) / np.float64(wi) if wi > 0 else 0.0
    if a:
        if ab_rate > 0:
            rate = ab_rate * dm
            if mon > 0.0 and si > 0:
                rate = rate * (1.0 - mon)
            return rate * (1.0 - ab_support * x)
        return 0.0
    if _crossed(si, wi, th, xb, rule):
        return np.inf
    xe = x + xb
    h = 0.0 + ex
    h = h + spontaneous
    if imitation > 0:
        h = h + imitation * xe
    if c > 0.0 and sn > 0:
        h = h + c * (np.float64(sn) / SCALE)
    return h


@njit(cache=True, inline="always")
def _changes(u, h):
    """Whether a uniform ``u`` in [0, 1) falls below ``1 - exp(-h)``, the probability of a change.

    The cheap test ``u < h`` comes first: ``1 - exp(-h) <= h``, and the computed ``-expm1(-h)``
    never exceeds ``h`` either (``tests/test_kernels.py`` checks it), so no draw is decided
    differently from comparing with ``-expm1(-h)`` alone. ``expm1`` is then evaluated only for the
    rare draws that pass, instead of for every hazard that changes.
    """
    return u < h and u < -math.expm1(-h)


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
def count_groups(agent_groups, size, i, r, counts, first):
    """Add agent i (replicate r) to the counts (3, groups, R) of each of its groups.

    Plane :data:`COUNT_EVENTS` counts it, :data:`COUNT_PEOPLE` adds its household size (0 for
    leaders and health workers), :data:`COUNT_FIRST` counts it when ``first``.
    """
    people = size[i]
    for g in range(agent_groups.shape[1]):
        grp = agent_groups[i, g]
        if grp >= 0:
            counts[0, grp, r] += 1
            counts[1, grp, r] += people
            if first:
                counts[2, grp, r] += 1


@njit(cache=True, inline="always")
def _record_adoption(i, r, ch, step, N_next, adopted_at, channel, agent_groups, size, cnt_new, cnt_channel):
    """Book agent i's adoption in replicate r this step through channel ``ch``.

    Sets the new-adopter flag, records the first adoption (step and channel, if the agent never
    adopted before) and counts it by group and channel (``cnt_channel`` (2, channels, R): every
    adoption, and households' first adoptions).
    """
    N_next[r, i] = True
    cnt_channel[0, ch, r] += 1
    first = adopted_at[r, i] < 0
    if first:
        adopted_at[r, i] = step
        channel[r, i] = ch
        if agent_groups[i, 1] == HOUSEHOLD_GROUP:
            cnt_channel[1, ch, r] += 1
    count_groups(agent_groups, size, i, r, cnt_new, first)


@njit(cache=True)
def _draw_row(
    r, nc, hit, hazard, A, z_adopt, z_abandon, cand,
    s, w, theta, ext, drop_mult, s_new, boost, mon, rule, spontaneous, imitation, c, ab_rate, ab_support,
    stale,
):  # fmt: skip
    """Every agent of replicate ``r`` draws against its probability of changing state.

    Its hazard is cached; stale agents (exposure or parameters changed) recompute it first, in a
    sparse pass, so that the draws are one branch-free loop the compiler vectorises (``hit`` is
    scratch of length N; a hazard is an upper bound of the probability, see :func:`_changes`).
    Appends the agents whose draw falls below their probability to ``cand`` from position ``nc``;
    returns the new end.
    """
    n = A.shape[1]
    cascade = c > 0.0
    boosted = boost.shape[1] == n
    rw, rx, rd = row(w, r), row(ext, r), row(drop_mult, r)
    for i in range(n):
        if stale[r, i]:
            sn = s_new[r, i] if cascade else 0
            xb = boost[r, i] if boosted else 0.0
            hazard[r, i] = _flip_hazard(
                A[r, i], s[r, i], w[rw, i], theta[r, i], ext[rx, i], drop_mult[rd, i], sn, xb, mon,
                rule, spontaneous, imitation, c, ab_rate, ab_support,
            )  # fmt: skip
            stale[r, i] = False
    za = z_adopt[r]
    flip = z_abandon[r] ^ za  # adopters draw from the abandonment stream: za ^ flip
    hr = hazard[r]
    ar = A[r]
    live = 0
    for i in range(n):  # how many can change at all (a vectorised count)
        live += hr[i] > 0.0
    if live == 0:  # a settled threshold cascade: nothing to draw
        return nc
    if live * SPARSE_DRAWS < n:  # few can change (a threshold rule without random channels): skip the rest
        for i in range(n):
            if hr[i] > 0.0:
                zr = za ^ (flip * np.uint64(ar[i]))
                if _changes(u01(zr, i), hr[i]):
                    cand[nc] = i
                    nc += 1
        return nc
    for i in range(n):  # a hazard <= 0 never beats a uniform in [0, 1)
        zr = za ^ (flip * np.uint64(ar[i]))
        hit[i] = u01(zr, i) < hr[i]
    for i in range(n):
        if hit[i]:
            zr = za ^ (flip * np.uint64(ar[i]))
            if _changes(u01(zr, i), hr[i]):
                cand[nc] = i
                nc += 1
    return nc


@njit(cache=True)
def _resolve(
    r, cand, k0, k1, indptr, indices, T, m, role, theta, ext, ext0, boost, A, N_prev, s, w, rule, spontaneous,
    imitation, c, z_channel, agent_groups, size, step, A_next, N_next, abandoned, adopted_at, channel, abandoned_at,
    cnt_new, cnt_ab, cnt_channel, mix_group, mix_by,
):  # fmt: skip
    """Resolve the candidates ``cand[k0:k1]`` of replicate ``r``: abandonment, or adoption by threshold or chance.

    In a well-mixed population (``mix_group`` non-empty: each agent's mixing group) the exposure by
    source role is the group's, ``mix_by[r, group]``, instead of a sum over ties.

    A threshold adoption is credited to the source role contributing most exposure (or to the
    dialogue, when only its boost crossed the threshold); a stochastic one to a hazard component
    drawn in proportion to its size (``ext0`` is the background external hazard: the rest of an
    agent's external hazard is a campaign's). Reads only the snapshot (``A``,
    ``N_prev``, ``s``, ``w``); writes ``A_next`` (which must arrive as a copy of ``A``), ``N_next``
    and ``abandoned`` (which must arrive all False), the per-agent records and per-group counts.
    """
    R, n = A.shape
    cc = min(c, 1e300)
    boosted = boost.shape[1] == n
    by = np.zeros(3, np.int64)
    byn = np.zeros(3, np.int64)
    parts = np.zeros(_N_PARTS)
    Af = A.reshape(-1)  # flat views (the (R, N) state is C-contiguous): no per-access wrap-around
    Nf = N_prev.reshape(-1)
    mf = m.reshape(-1)
    for k in range(k0, k1):
        i = cand[k]
        if A[r, i]:  # abandonment
            if N_next[r, i]:  # adopted at the start of this step by an intervention: no change
                cand[k] = -1
                continue
            abandoned[r, i] = True
            A_next[r, i] = False
            first = abandoned_at[r, i] < 0
            abandoned_at[r, i] = step
            count_groups(agent_groups, size, i, r, cnt_ab, first)
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
        if len(mix_group):
            g = mix_group[i]
            a0 = mix_by[r, g, 0]
            a1 = mix_by[r, g, 1]
            a2 = mix_by[r, g, 2]
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
            if xb > 0.0 and not _crossed(si, wi, theta[r, i], 0.0, rule):
                ch = _DIALOGUE  # only the dialogue's boost crossed the threshold
            else:
                best = 0
                for b in range(1, 3):
                    if by[b] > by[best]:
                        best = b
                ch = _ROLE_CH[best]
        else:
            e = ext[row(ext, r), i]
            parts[0] = min(e, ext0)
            parts[1] = e - ext0 if e > ext0 else 0.0
            parts[2] = spontaneous
            wd = np.float64(wi) if wi > 0 else 1.0
            for b in range(3):
                parts[3 + b] = imitation * np.float64(by[b]) / wd if imitation > 0 else 0.0
                parts[6 + b] = cc * (np.float64(byn[b]) / SCALE) if (c > 0.0 and byn[b] > 0) else 0.0
            parts[9] = imitation * xb if (imitation > 0 and xb > 0.0) else 0.0
            total = 0.0
            for b in range(_N_PARTS):
                total += parts[b]
                parts[b] = total
            v = u01(z_channel[r], i) * total
            pick = 0
            for b in range(_N_PARTS):
                if parts[b] <= v:
                    pick += 1
            if pick > _N_PARTS - 1:
                pick = _N_PARTS - 1
            ch = _CH_OF_PART[pick]
        A_next[r, i] = True
        _record_adoption(i, r, ch, step, N_next, adopted_at, channel, agent_groups, size, cnt_new, cnt_channel)


@njit(cache=True)
def _push_changes(r, cand, k0, k1, indptr, indices, T, m, N_next, s, stale):
    """Push each change of ``cand[k0:k1]`` (replicate ``r``) into its contacts' exposure; mark them and it stale.

    An adoption adds ``q_ij`` to every contact i, an abandonment subtracts it. Every candidate of
    :func:`_draw_row` changed state, one way or the other.
    """
    for k in range(k0, k1):
        j = cand[k]
        if j < 0:  # resolved as no change
            continue
        sg = 1 if N_next[r, j] else -1
        mj = m[row(m, r), j]
        stale[r, j] = True
        push_contacts(indptr, indices, T, j, r, mj, sg, s, stale)


@njit(cache=True)
def force_adopt(rows, cols, code, indptr, indices, T, m, agent_groups, size, step, A, N_next, s, adopted_at, channel,
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
        _record_adoption(i, r, code, step, N_next, adopted_at, channel, agent_groups, size, cnt_new, cnt_channel)
        mi = m[row(m, r), i]
        stale[r, i] = True
        push_contacts(indptr, indices, T, i, r, mi, 1, s, stale)
    return done


@njit(cache=True)
def advance(
    hazard, A, z_adopt, z_abandon, cand,
    s, w, theta, ext, ext0, drop_mult, s_new, boost, mon, rule, spontaneous, imitation, c, ab_rate, ab_support,
    stale, indptr, indices, T, m, role, N_prev, z_channel, agent_groups, size, step,
    A_next, N_next, abandoned, adopted_at, channel, abandoned_at, cnt_new, cnt_ab, cnt_channel, pindptr, pindices, PT,
    mix_group, mix_by,
):  # fmt: skip
    """One step's decisions and their effects, replicate by replicate: draw, resolve, push.

    ``indptr, indices, T`` are the influence matrix by listener (row i: the contacts whose adoption
    counts for i), read when a decision is attributed to a source; ``pindptr, pindices, PT`` the same
    ties by source (its transpose: row j, those for whom j's adoption counts), along which changes are
    pushed. Without directed ties the two are the same matrix.

    Replicates share nothing here, so each is finished before the next starts (the same numbers
    as phase by phase over all replicates, in one call from Python). Per replicate: every agent
    draws against its (refreshed) hazard (:func:`_draw_row`); the candidates are resolved from
    the snapshot into ``A_next`` (which must arrive as a copy of ``A``), ``N_next`` and the records
    (:func:`_resolve`); the changes are pushed into the contacts' exposures ``s``
    (:func:`_push_changes`). ``cand`` holds each replicate's candidates (agent indices) one after
    the other; returns their total number.
    """
    R, n = A.shape
    hit = np.empty(n, np.uint8)
    nc = 0
    for r in range(R):
        k0 = nc
        nc = _draw_row(
            r, nc, hit, hazard, A, z_adopt, z_abandon, cand,
            s, w, theta, ext, drop_mult, s_new, boost, mon, rule, spontaneous, imitation, c, ab_rate, ab_support,
            stale,
        )  # fmt: skip
        _resolve(
            r, cand, k0, nc, indptr, indices, T, m, role, theta, ext, ext0, boost, A, N_prev, s, w, rule, spontaneous,
            imitation, c, z_channel, agent_groups, size, step, A_next, N_next, abandoned, adopted_at, channel,
            abandoned_at, cnt_new, cnt_ab, cnt_channel, mix_group, mix_by,
        )  # fmt: skip
        _push_changes(r, cand, k0, nc, pindptr, pindices, PT, m, N_next, s, stale)
    return nc


@njit(cache=True)
def can_change(A, s, w, theta, ext, drop_mult, boost, mon, rule, spontaneous, imitation, ab_rate, ab_support):
    """Whether any agent of any replicate could change state next step, with no new adopters (no cascade).

    Its hazard (:func:`_flip_hazard`) is positive: a crossed threshold, an external, spontaneous or
    imitation hazard for a non-adopter, an abandonment hazard for an adopter.
    """
    R, n = A.shape
    boosted = boost.shape[1] == n
    for r in range(R):
        for i in range(n):
            xb = boost[r, i] if boosted else 0.0
            h = _flip_hazard(
                A[r, i], s[r, i], w[row(w, r), i], theta[r, i], ext[row(ext, r), i], drop_mult[row(drop_mult, r), i],
                0, xb, mon, rule, spontaneous, imitation, 0.0, ab_rate, ab_support,
            )  # fmt: skip
            if h > 0.0:
                return True
    return False
