"""Where each agent sits in the picture of a community: villages as separate discs, computed once.

Villages sit on a grid, each a disc whose area grows with its number of agents. Inside a village the
households are placed by a force layout of the ties among them (Fruchterman and Reingold, "Graph
drawing by force-directed placement", 1991, with their grid of cells for the repulsion, so a pass costs
time in proportion to the agents, not their square), so people who are tied sit near each other and
adoption spreading along ties shows as growing patches. Leaders and health workers sit on a small ring
in the middle of their village, kind beside kind, where their ties fan out to the households they reach.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from diffusion_sim.community import Community
from diffusion_sim.population import HOUSEHOLD
from diffusion_sim.rng import generator

__all__ = ["ITERATIONS", "network_layout", "tie_pairs"]

ITERATIONS = 60
"""Passes of the force layout (the step size shrinks linearly to zero over them)."""

_FIRST_MOVE = 3.0
"""The largest move of a household in the first pass, in ideal tie lengths (then shrinking to zero)."""


def tie_pairs(community: Community) -> np.ndarray:
    """Every tied pair of agents once, whatever the layers tying them: (M, 2) agent indices, smaller first."""
    n = community.n
    parts = [np.stack([e.src, e.dst], axis=1).astype(np.int64) for e in community.network.layers.values() if len(e)]
    if not parts:
        return np.zeros((0, 2), np.int64)
    e = np.concatenate(parts)
    e = e[e[:, 0] != e[:, 1]]
    key = np.unique(np.minimum(e[:, 0], e[:, 1]) * n + np.maximum(e[:, 0], e[:, 1]))
    return np.stack([key // n, key % n], axis=1)


def network_layout(community: Community, seed: int = 0) -> np.ndarray:
    """Positions of every agent in the unit square, (N, 2): villages as separate discs on a grid.

    A pure function of the community and ``seed`` (which seeds the ``"layout"`` stream of the force
    layout's starting positions); no global random state.
    """
    pop = community.population
    n = pop.n
    pos = np.zeros((n, 2))
    if n == 0:
        return pos
    village = pop.village.astype(np.int64)
    n_villages = max(int(pop.n_villages), int(village.max()) + 1)
    sizes = np.bincount(village, minlength=n_villages)
    occupied = np.flatnonzero(sizes)
    cols = math.ceil(math.sqrt(len(occupied)))
    rows = math.ceil(len(occupied) / cols)
    cell = 1.0 / max(cols, rows)
    # the grid of cells, centred in the unit square; a village's disc fills 90 % of its cell at most
    x0 = 0.5 - cols * cell / 2
    y0 = 0.5 - rows * cell / 2
    radius = 0.45 * cell * np.sqrt(sizes / sizes.max())

    household = pop.role == HOUSEHOLD
    pairs = tie_pairs(community)
    same = (village[pairs[:, 0]] == village[pairs[:, 1]]) & household[pairs[:, 0]] & household[pairs[:, 1]]
    pairs = pairs[same]
    pairs = pairs[np.argsort(village[pairs[:, 0]], kind="stable")]
    tie_start = np.searchsorted(village[pairs[:, 0]], np.arange(n_villages + 1))
    local = np.zeros(n, np.int64)  # index of a household among its village's households
    rng = generator(seed, "layout")
    for k, v in enumerate(occupied):
        centre = np.array([x0 + (k % cols + 0.5) * cell, y0 + (rows - 1 - k // cols + 0.5) * cell])
        members = np.flatnonzero(village == v)
        homes = members[household[members]]
        local[homes] = np.arange(len(homes))
        e = pairs[tie_start[v] : tie_start[v + 1]]
        disc = _village_households(len(homes), local[e[:, 0]], local[e[:, 1]], rng)
        pos[homes] = centre + radius[v] * disc
        others = members[~household[members]]
        others = others[np.argsort(pop.agent_type[others], kind="stable")]
        pos[others] = centre + radius[v] * _ring(len(others))
    return np.clip(pos, 0.0, 1.0)


def _ring(m: int) -> np.ndarray:
    """``m`` points evenly on a small circle around the middle of a unit disc (one point: the middle)."""
    if m <= 1:
        return np.zeros((m, 2))
    r = min(0.45, 0.12 + 0.015 * m)
    angle = 2 * np.pi * np.arange(m) / m + np.pi / 2
    return r * np.stack([np.cos(angle), np.sin(angle)], axis=1)


def _sunflower(m: int) -> np.ndarray:
    """``m`` points spread evenly over the unit disc (Vogel's spiral)."""
    i = np.arange(m) + 0.5
    r = np.sqrt(i / max(m, 1))
    angle = i * np.pi * (3 - np.sqrt(5))
    return np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)


def _village_households(m: int, src: np.ndarray, dst: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Force layout of ``m`` households tied by the pairs (src, dst), fitted into the unit disc."""
    start = _sunflower(m)[rng.permutation(m)] * 0.5 + 0.5
    if m == 0:
        return start
    order = np.argsort(np.concatenate([src, dst]), kind="stable")
    nbr = np.concatenate([dst, src])[order]
    indptr = np.searchsorted(np.concatenate([src, dst])[order], np.arange(m + 1))
    xy = _force_layout(start, indptr.astype(np.int64), nbr.astype(np.int64), ITERATIONS, _FIRST_MOVE)
    # an even disc: households keep the order of their distances from the middle and of their directions,
    # and take the distance and direction of their ranks, so the middle is no denser than the rim, no
    # household is left far out and no direction is crowded
    xy -= np.median(xy, axis=0)
    r = np.sqrt((_ranks(np.hypot(xy[:, 0], xy[:, 1])) + 0.5) / m)
    angle = 2 * np.pi * _ranks(np.arctan2(xy[:, 1], xy[:, 0])) / m
    return np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)


def _ranks(x: np.ndarray) -> np.ndarray:
    """0..m-1: the place of each value in ascending order (ties in index order)."""
    rank = np.empty(len(x))
    rank[np.argsort(x, kind="stable")] = np.arange(len(x))
    return rank


@njit(cache=True)
def _force_layout(pos, indptr, nbr, iterations, t0):  # pragma: no cover - compiled
    """Fruchterman-Reingold with the repulsion cut off at 2k (their grid variant), kept at an even spread.

    ``pos`` (m, 2) starting positions around (1/2, 1/2), changed in place and returned; ties as CSR
    (``indptr``, ``nbr``), both directions listed; ``t0``: the first pass's largest move (in units of k),
    shrinking linearly to zero. After each pass the layout is scaled about its centroid to the median
    radius of an even disc of radius 1/2: the attraction of a village's long ties (kin are drawn at random
    across the village) would otherwise shrink it into a dense ball where the repulsion, cut off at 2k,
    costs a square of the agents. A median, so that a few households pushed far out cannot throw it.
    """
    m = pos.shape[0]
    k = math.sqrt(1.0 / m)
    reach = 2.0 * k
    side = max(1, int(1.0 / reach))
    disp = np.zeros((m, 2))
    cell_of = np.zeros(m, np.int64)
    count = np.zeros(side * side + 1, np.int64)
    members = np.zeros(m, np.int64)
    radius = np.zeros(m)
    for it in range(iterations):
        # cells of side 1/side >= reach: the nodes repelling a node are in its own cell and the 8 around it
        count[:] = 0
        for i in range(m):
            cx = min(side - 1, max(0, int(pos[i, 0] * side)))
            cy = min(side - 1, max(0, int(pos[i, 1] * side)))
            cell_of[i] = cx * side + cy
            count[cell_of[i] + 1] += 1
        for c in range(side * side):
            count[c + 1] += count[c]
        fill = count[:-1].copy()
        for i in range(m):
            members[fill[cell_of[i]]] = i
            fill[cell_of[i]] += 1
        disp[:, :] = 0.0
        for i in range(m):
            cx = cell_of[i] // side
            cy = cell_of[i] % side
            for ax in range(max(0, cx - 1), min(side, cx + 2)):
                for ay in range(max(0, cy - 1), min(side, cy + 2)):
                    c = ax * side + ay
                    for q in range(count[c], count[c + 1]):
                        j = members[q]
                        if j == i:
                            continue
                        dx = pos[i, 0] - pos[j, 0]
                        dy = pos[i, 1] - pos[j, 1]
                        d2 = dx * dx + dy * dy
                        if d2 >= reach * reach:
                            continue
                        if d2 < 1e-18:  # on top of each other: apart along a direction fixed by the pair
                            dx = 1e-9 * (1 + (i % 7))
                            dy = 1e-9 * (1 + (j % 5))
                            d2 = dx * dx + dy * dy
                        f = k * k / d2  # k^2 / d along the unit vector (dx, dy) / d
                        disp[i, 0] += dx * f
                        disp[i, 1] += dy * f
            for q in range(indptr[i], indptr[i + 1]):
                j = nbr[q]
                dx = pos[i, 0] - pos[j, 0]
                dy = pos[i, 1] - pos[j, 1]
                d = math.sqrt(dx * dx + dy * dy)
                disp[i, 0] -= dx * d / k  # d^2 / k along the unit vector
                disp[i, 1] -= dy * d / k
        t = t0 * k * (1.0 - it / iterations)
        for i in range(m):
            dl = math.sqrt(disp[i, 0] ** 2 + disp[i, 1] ** 2)
            if dl > 0:
                step = min(dl, t) / dl
                pos[i, 0] += disp[i, 0] * step
                pos[i, 1] += disp[i, 1] * step
        mx = pos[:, 0].mean()
        my = pos[:, 1].mean()
        for i in range(m):
            radius[i] = math.sqrt((pos[i, 0] - mx) ** 2 + (pos[i, 1] - my) ** 2)
        med = np.median(radius)
        f = math.sqrt(0.125) / med if med > 0 else 1.0
        for i in range(m):
            pos[i, 0] = 0.5 + (pos[i, 0] - mx) * f
            pos[i, 1] = 0.5 + (pos[i, 1] - my) * f
    return pos
