"""The layered community network: undirected ties per layer, and the influence matrix built from them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

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
    """Ties of a community, one :class:`EdgeList` per layer name (see :data:`LAYERS`)."""

    n: int
    layers: dict[str, EdgeList] = field(default_factory=dict)

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


def influence_matrix(net: LayeredNetwork, layer_weights: dict[str, float], source_weight: np.ndarray) -> sp.csr_matrix:
    """Influence matrix ``W[i, j] = source_weight[j] * sum_l layer_weight[l] * tie_weight_l(i, j)``.

    Row i says how much each contact j counts in i's exposure. Layers with zero weight, and
    disabled layers (absent from ``net.layers``), contribute nothing. Ties of the same pair in
    several layers add up.
    """
    rows, cols, vals = [], [], []
    for name, e in net.layers.items():
        lw = float(layer_weights.get(name, 0.0))
        if lw == 0.0 or len(e) == 0:
            continue
        w = e.weight.astype(np.float64) * lw
        rows += [e.src, e.dst]
        cols += [e.dst, e.src]
        vals += [w * source_weight[e.dst], w * source_weight[e.src]]
    if not rows:
        return sp.csr_matrix((net.n, net.n), dtype=np.float64)
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    v = np.concatenate(vals)
    m = sp.csr_matrix((v, (r, c)), shape=(net.n, net.n))
    m.sum_duplicates()
    m.eliminate_zeros()
    return m
