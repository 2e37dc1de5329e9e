"""A well-mixed population's exposure (``network.mixing``): the share of adopters in one's mixing group, no ties."""

from __future__ import annotations

import numpy as np

from diffusion_sim.kernels import SCALE

__all__ = ["mixed_exposure"]


def mixed_exposure(
    group: np.ndarray,
    source_role: np.ndarray,
    m: np.ndarray,
    A: np.ndarray,
    s: np.ndarray,
    w: np.ndarray,
    stale: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Set ``s`` (R, N) to the weighted adopters of each agent's mixing group; return (by role, new ``w``).

    In the kernels' integer units (each agent weighs ``rint(m_j * 2**32)``): ``s_i`` is the sum over
    the adopters of i's group, ``w_i`` the group's total (one row, or one per replicate when the
    source weights ``m`` differ by replicate). Agents whose exposure or total changed are marked in
    ``stale``. The (R, groups, 3) adopted weight by source role is returned for attributing adoptions.
    """
    R, n = A.shape
    G = int(group.max()) + 1 if len(group) else 0
    key = group * 3 + source_role.astype(np.int64)  # (group, source role) of each agent: the same every replicate
    Q = np.rint(m * SCALE)  # each agent's integer weight, one row per row of m
    by = np.zeros((R, G, 3), np.int64)
    w_new = np.empty((m.shape[0], n), np.int64)
    for r in range(R):
        q = Q[r if m.shape[0] > 1 else 0]
        if r < w_new.shape[0]:
            w_new[r] = np.rint(np.bincount(group, weights=q, minlength=G)).astype(np.int64)[group]
        by[r] = np.rint(np.bincount(key, weights=q * A[r], minlength=G * 3)).reshape(G, 3)
        s_new = by[r].sum(axis=1)[group]
        stale[r] |= s_new != s[r]
        s[r] = s_new
    if w.shape != w_new.shape or (w_new != w).any():
        stale |= np.broadcast_to((w_new != np.broadcast_to(w, w_new.shape)).any(axis=0), stale.shape)
        return by, w_new
    return by, w
