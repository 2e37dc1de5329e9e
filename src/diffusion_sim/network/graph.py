"""The layered community network: undirected ties per layer, and the influence matrix built from them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numba import njit

from diffusion_sim.scenario.schema import LAYERS

__all__ = ["EdgeList", "LayeredNetwork", "influence_matrix"]


@dataclass(eq=False)
class EdgeList:
    """Undirected ties of one layer, each listed once (``src < dst`` not required), with weights."""

    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray

    @classmethod
    def empty(cls) -> EdgeList:
        """A layer with no ties."""
        return cls(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.float32))

    @classmethod
    def unit(cls, src: np.ndarray, dst: np.ndarray) -> EdgeList:
        """Ties of weight 1."""
        return cls(src.astype(np.int32, copy=False), dst.astype(np.int32, copy=False), np.ones(len(src), np.float32))

    def __len__(self) -> int:
        return len(self.src)


@dataclass(eq=False)
class LayeredNetwork:
    """Ties of a community, one :class:`EdgeList` per layer name.

    Generated layers have the names of :data:`LAYERS` and undirected ties. Imported layers (survey
    relations) may have any name; a layer named in ``directed`` holds arcs: ``src`` named ``dst``, so
    ``dst``'s adoption counts in ``src``'s exposure, not the other way round. ``layer_weights`` gives
    the weight of layers that the scenario's ``network`` section does not name (a survey relation's
    weight from its import mapping).
    """

    n: int
    layers: dict[str, EdgeList] = field(default_factory=dict)
    directed: set[str] = field(default_factory=set)
    layer_weights: dict[str, float] = field(default_factory=dict)

    def layer_weight(self, layer: str, given: dict[str, float]) -> float:
        """The weight of ``layer``: ``given``'s (the scenario's ``network`` section), else its own, else 1."""
        return float(given[layer] if layer in given else self.layer_weights.get(layer, 1.0))

    def adjacency(self, layer: str) -> sp.csr_matrix:
        """Symmetric weighted adjacency (CSR) of one layer; built on demand, not kept."""
        e = self.layers.get(layer, EdgeList.empty())
        r = np.concatenate([e.src, e.dst])
        c = np.concatenate([e.dst, e.src])
        w = np.concatenate([e.weight, e.weight]).astype(np.float64)
        return sp.csr_matrix((w, (r, c)), shape=(self.n, self.n))

    def n_ties(self) -> dict[str, int]:
        """Undirected ties per layer."""
        return {name: len(self.layers.get(name, EdgeList.empty())) for name in LAYERS}

    def degree(self) -> np.ndarray:
        """Number of ties of each agent over all layers (a pair tied in two layers counts twice)."""
        d = np.zeros(self.n, np.int64)
        for e in self.layers.values():
            d += np.bincount(e.src, minlength=self.n) + np.bincount(e.dst, minlength=self.n)
        return d

    def to_networkx(self):
        """A networkx MultiGraph with a ``layer`` and ``weight`` on each edge (small communities only)."""
        import networkx as nx

        g = nx.MultiGraph()
        g.add_nodes_from(range(self.n))
        for name, e in self.layers.items():
            g.add_edges_from(
                (int(a), int(b), {"layer": name, "weight": float(w)})
                for a, b, w in zip(e.src, e.dst, e.weight, strict=True)
            )
        return g


@njit(cache=True)
def _ties_to_csr(n, src, dst, val, both):
    """CSR from tie entries, each row sorted by column.

    Entry k goes in row ``src[k]`` at column ``dst[k]``, and also (``both[k]``, an undirected tie) in
    row ``dst[k]`` at column ``src[k]``.

    Repeats of a pair are summed in input order (so ties of one pair in several layers add up in
    layer order); zeros are dropped. Memory: the output plus one row's worth of scratch.
    """
    m = len(src)
    indptr = np.zeros(n + 1, np.int64)
    for k in range(m):
        indptr[src[k] + 1] += 1
        if both[k]:
            indptr[dst[k] + 1] += 1
    for i in range(n):
        indptr[i + 1] += indptr[i]
    cols = np.empty(indptr[n], np.int32)
    vals = np.empty(indptr[n], np.float64)
    pos = indptr[:-1].copy()
    for k in range(m):  # rows filled in input order
        a = src[k]
        b = dst[k]
        cols[pos[a]] = b
        vals[pos[a]] = val[k]
        pos[a] += 1
        if both[k]:
            cols[pos[b]] = a
            vals[pos[b]] = val[k]
            pos[b] += 1
    out = 0
    start = 0
    for i in range(n):
        end = indptr[i + 1]
        length = end - start
        # stable sort of the row by column: insertion sort for short rows, merge sort for long ones
        if length > 32:
            order = np.argsort(cols[start:end], kind="mergesort")
            c_sorted = cols[start:end][order]
            v_sorted = vals[start:end][order]
            cols[start:end] = c_sorted
            vals[start:end] = v_sorted
        else:
            for k in range(start + 1, end):
                c = cols[k]
                v = vals[k]
                h = k - 1
                while h >= start and cols[h] > c:
                    cols[h + 1] = cols[h]
                    vals[h + 1] = vals[h]
                    h -= 1
                cols[h + 1] = c
                vals[h + 1] = v
        # merge repeated columns (summing in input order), drop zeros
        k = start
        while k < end:
            c = cols[k]
            acc = vals[k]
            k += 1
            while k < end and cols[k] == c:
                acc += vals[k]
                k += 1
            if acc != 0.0:
                cols[out] = c
                vals[out] = acc
                out += 1
        start = end
        indptr[i + 1] = out
    return indptr, cols[:out], vals[:out]


def influence_matrix(net: LayeredNetwork, layer_weights: dict[str, float], source_weight: np.ndarray) -> sp.csr_matrix:
    """Influence matrix ``W[i, j] = source_weight[j] * sum_l layer_weight[l] * tie_weight_l(i, j)``.

    Row i says how much each contact j counts in i's exposure. Layers with zero weight, and
    disabled layers (absent from ``net.layers``), contribute nothing. Ties of the same pair in
    several layers add up, in layer order. An undirected tie enters rows i and j; an arc of a
    directed layer (i named j) only row i: j's adoption counts for i, not i's for j. A layer the
    ``layer_weights`` do not name takes its weight from ``net.layer_weights`` (1 if absent). With
    ``source_weight`` all ones this is the tie-weight matrix ``T`` (symmetric without directed layers).
    """
    src, dst, val, both = [], [], [], []
    for name, e in net.layers.items():
        lw = net.layer_weight(name, layer_weights)
        if lw == 0.0 or len(e) == 0:
            continue
        src.append(e.src.astype(np.int32, copy=False))
        dst.append(e.dst.astype(np.int32, copy=False))
        val.append(e.weight.astype(np.float64) * lw)
        both.append(np.full(len(e), name not in net.directed))
    if not src:
        return sp.csr_matrix((net.n, net.n), dtype=np.float64)
    indptr, cols, vals = _ties_to_csr(
        net.n, np.concatenate(src), np.concatenate(dst), np.concatenate(val), np.concatenate(both)
    )
    T = sp.csr_matrix((vals, cols, indptr), shape=(net.n, net.n))
    if np.all(source_weight == 1.0):
        return T
    return sp.csr_matrix((T.data * source_weight[T.indices], T.indices, T.indptr), shape=T.shape)
