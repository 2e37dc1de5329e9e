"""The tables of a community's structure: agents by type, ties and degrees per layer, for all and per village.

Each table has a ``scope`` column: ``all`` for the whole community, ``village=<name>`` for one
village's own network (its agents and the ties between two of them; ties between villages are
counted on the ``all`` rows, column ``between_villages``). A community of one village has ``all``
rows only. The ``layer`` column names a layer, or :data:`ALL_LAYERS` for the ties of every layer
together.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import scipy.sparse as sp

from diffusion_sim.community import Community
from diffusion_sim.diagnostics.structure import (
    arcs,
    average_clustering,
    components,
    degrees,
    projection,
    reciprocity,
)
from diffusion_sim.network.graph import LayeredNetwork
from diffusion_sim.population import Population
from diffusion_sim.scenario.schema import AGENT_TYPES

__all__ = ["ALL_LAYERS", "LAYER_COLUMNS", "layer_kind", "node_table", "scopes", "structure_tables"]

ALL_LAYERS = "all layers"
"""The ``layer`` of rows about the ties of every layer together."""

LAYER_COLUMNS = (
    "scope",
    "layer",
    "kind",
    "ties",
    "arcs",
    "reciprocity",
    "mean_degree",
    "max_out_degree",
    "max_in_degree",
    "isolated",
    "components",
    "largest_component",
    "clustering",
    "between_villages",
)
"""Columns of the layers table (README, section "Inspecting a community", says what each holds)."""


def scopes(pop: Population) -> list[tuple[str, np.ndarray | None]]:
    """``("all", None)``, then ``("village=<name>", agents)`` for each village when there are several."""
    out: list[tuple[str, np.ndarray | None]] = [("all", None)]
    if pop.n_villages > 1:
        order = np.argsort(pop.village, kind="stable")
        bounds = np.searchsorted(pop.village[order], np.arange(pop.n_villages + 1))
        for v in range(pop.n_villages):
            out.append((f"village={pop.village_label(v)}", order[bounds[v] : bounds[v + 1]]))
    return out


def node_table(pop: Population) -> pd.DataFrame:
    """Agents of each type (household, the four leader kinds, health worker) and in total, per scope."""
    rows = []
    for scope, members in scopes(pop):
        types = pop.agent_type if members is None else pop.agent_type[members]
        counts = np.bincount(types, minlength=len(AGENT_TYPES))
        rows.append({"scope": scope} | {t: int(counts[i]) for i, t in enumerate(AGENT_TYPES)} | {"total": len(types)})
    return pd.DataFrame(rows, columns=["scope", *AGENT_TYPES, "total"])


def layer_kind(net: LayeredNetwork, layer: str) -> str:
    """``directed`` or ``undirected``; for :data:`ALL_LAYERS`, ``mixed`` when the layers are of both kinds."""
    if layer != ALL_LAYERS:
        return "directed" if layer in net.directed else "undirected"
    kinds = {layer_kind(net, name) for name in net.layers}
    return kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else "undirected")


def _matrices(net: LayeredNetwork) -> dict[str, sp.csr_matrix]:
    """The arc matrix of each layer, then of all layers together."""
    out = {name: arcs(net, [name]) for name in net.layers}
    out[ALL_LAYERS] = arcs(net)
    return out


def _blocks(a: sp.csr_matrix, pop: Population) -> Iterator[tuple[str, sp.csr_matrix]]:
    """``a`` for each scope: the whole matrix, then each village's block (permuted once, sliced per village)."""
    parts = scopes(pop)
    yield parts[0][0], a
    if len(parts) > 1:
        order = np.concatenate([m for _, m in parts[1:]])
        permuted = a[order][:, order].tocsr()
        start = 0
        for scope, members in parts[1:]:
            end = start + len(members)
            yield scope, permuted[start:end, start:end].tocsr()
            start = end


def _between(a: sp.csr_matrix, village: np.ndarray, kind: str) -> int:
    """Ties (arcs of a directed layer; pairs otherwise) whose two ends live in different villages."""
    if kind == "mixed":
        a = projection(a)  # undirected arcs are symmetric already
    rows = np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))
    crossing = int(np.count_nonzero(village[rows] != village[a.indices]))
    return crossing if kind == "directed" else crossing // 2


def _layer_row(scope: str, layer: str, kind: str, a: sp.csr_matrix) -> dict:
    """One row of the layers table: the measures of one arc matrix."""
    n = a.shape[0]
    p = a if kind == "undirected" else projection(a)  # undirected ties are symmetric already
    out, into = degrees(a)
    n_comp, largest = components(a)
    return {
        "scope": scope,
        "layer": layer,
        "kind": kind,
        "ties": a.nnz if kind == "directed" else p.nnz // 2,
        "arcs": a.nnz,
        "reciprocity": reciprocity(a),
        "mean_degree": a.nnz / n if n else float("nan"),
        "max_out_degree": int(out.max(initial=0)),
        "max_in_degree": int(into.max(initial=0)),
        "isolated": int(np.count_nonzero(out + into == 0)),
        "components": n_comp,
        "largest_component": largest,
        "clustering": average_clustering(p),
    }


def structure_tables(community: Community) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The layers table (one row per scope and layer) and the degree table (agents per degree).

    Returns:
        ``layers``: columns :data:`LAYER_COLUMNS`; ``degrees``: ``scope, layer, direction`` (``out``:
        people the agent named, ``in``: people who named the agent; equal in an undirected layer),
        ``degree, agents``, one row per degree that occurs.

    """
    net, pop = community.network, community.population
    layer_rows, degree_rows = [], []
    for layer, a in _matrices(net).items():
        kind = layer_kind(net, layer)
        for scope, block in _blocks(a, pop):
            row = _layer_row(scope, layer, kind, block)
            row["between_villages"] = _between(a, pop.village, kind) if scope == "all" else None
            layer_rows.append(row)
            for direction, d in zip(("out", "in"), degrees(block), strict=True):
                counts = np.bincount(d)
                for k in np.flatnonzero(counts):
                    degree_rows.append((scope, layer, direction, int(k), int(counts[k])))
    layers = pd.DataFrame(layer_rows, columns=list(LAYER_COLUMNS))
    layers["between_villages"] = layers["between_villages"].astype("Int64")
    order = {s: i for i, (s, _) in enumerate(scopes(pop))}
    layers = layers.sort_values("scope", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    degree_frame = pd.DataFrame(degree_rows, columns=["scope", "layer", "direction", "degree", "agents"])
    degree_frame = degree_frame.sort_values("scope", key=lambda s: s.map(order), kind="stable")
    return layers, degree_frame.reset_index(drop=True)
