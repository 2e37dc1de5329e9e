"""Writing a community as CSV (nodes, edges) or GraphML, atomically, so it can be read back.

Node ids are the population's labels, or ``village:label`` when labels repeat (a survey whose ids
are local to a community). Every layer is written: the generated ones in :data:`LAYERS` order,
then the others (survey relations) in the network's order. Directed layers (survey relations) can
only be written as GraphML, as a directed graph.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from diffusion_sim.atomic import atomic_file
from diffusion_sim.community import Community
from diffusion_sim.population import ROLES, Population
from diffusion_sim.scenario.schema import LAYERS, LEADER_KINDS

__all__ = ["write_csv_community", "write_graphml_community"]

# ------------------------------------------------------------------------------------- writers


def _node_ids(pop: Population) -> tuple[np.ndarray, np.ndarray]:
    """Unique node ids (labels, or ``village:label`` when labels repeat) and the labels, as text arrays."""
    labels = (
        pop.labels.astype(str).astype(object) if pop.labels is not None else np.arange(pop.n).astype(str).astype(object)
    )
    if len(set(labels.tolist())) == len(labels):
        return labels, labels
    villages = np.array([pop.village_label(v) for v in range(pop.n_villages)], dtype=object)
    return (villages[pop.village] + ":" + labels).astype(object), labels


def _node_columns(pop: Population) -> dict[str, np.ndarray]:
    """Node attributes as text/number arrays, in the file format."""
    ids, _ = _node_ids(pop)
    villages = np.array([pop.village_label(v) for v in range(pop.n_villages)], dtype=object)

    def ref(head: np.ndarray) -> np.ndarray:
        return np.where(head >= 0, ids[np.maximum(head, 0)], "").astype(object)

    return {
        "id": ids,
        "role": np.array(ROLES, dtype=object)[pop.role],
        "village": villages[pop.village],
        "leader_kind": np.array([*LEADER_KINDS, ""], dtype=object)[pop.leader_kind],  # -1 -> ""
        "marginalised": np.asarray(pop.marginalised, bool),
        "household_size": np.asarray(pop.household_size, np.int64),
        "congregation": ref(pop.congregation),
        "catchment": ref(pop.catchment),
    }


def _edge_columns(community: Community, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Ties of every layer (:data:`LAYERS` first, then the others) as ``source, target, layer, weight`` arrays."""
    layers = community.network.layers
    es = {name: layers[name] for name in (*[x for x in LAYERS if x in layers], *[x for x in layers if x not in LAYERS])}
    if not es:
        empty = np.zeros(0, object)
        return {"source": empty, "target": empty, "layer": empty, "weight": np.zeros(0, np.float32)}
    return {
        "source": labels[np.concatenate([e.src for e in es.values()])],
        "target": labels[np.concatenate([e.dst for e in es.values()])],
        "layer": np.repeat(np.array(list(es), dtype=object), [len(e) for e in es.values()]),
        "weight": np.concatenate([e.weight for e in es.values()]).astype(np.float32),
    }


def _write_atomic(writers: list[tuple[Path, Callable[[Path], None]]]) -> None:
    """Write every file to a temporary name beside it, then move all into place (or, on error, none)."""
    with contextlib.ExitStack() as stack:
        temps = [stack.enter_context(atomic_file(path, option=None, parents=True)) for path, _ in writers]
        for (_, write), tmp in zip(writers, temps, strict=True):
            write(tmp)


def write_csv_community(community: Community, nodes_path: str | os.PathLike, edges_path: str | os.PathLike) -> None:
    """Write a community as a nodes CSV and an edges CSV that :func:`read_csv_community` reads back.

    Ids are the population's labels (agent indices for a generated community); villages are
    written by name. Both files are written, or (on error) neither.

    Args:
        community: the community to export.
        nodes_path: destination of the nodes CSV.
        edges_path: destination of the edges CSV.

    """
    directed = sorted(community.network.directed & set(community.network.layers))
    if directed:
        raise ValueError(
            f"layers {', '.join(directed)} are directed, and an edges CSV holds undirected ties; "
            "write the community as GraphML (write_graphml_community)"
        )
    cols = _node_columns(community.population)
    cols["marginalised"] = np.where(cols["marginalised"], "true", "false")
    nodes = pd.DataFrame(cols)
    edges = pd.DataFrame(_edge_columns(community, cols["id"]))
    _write_atomic(
        [
            (Path(nodes_path), lambda p: nodes.to_csv(p, index=False)),
            (Path(edges_path), lambda p: edges.to_csv(p, index=False)),
        ]
    )


def write_graphml_community(community: Community, path: str | os.PathLike) -> None:
    """Write a community as GraphML that :func:`read_graphml_community` reads back.

    Node attributes are those of the nodes CSV (``marginalised`` boolean, ``household_size``
    integer, the rest strings), plus ``label`` (the population's label: a survey's respondent id)
    and, when the population has them, ``adoption_time`` and ``threshold`` (numbers, left out where
    not known) and ``initial`` (boolean). Each tie is one edge with ``layer`` and ``weight``: the
    graph is directed when every layer is (a survey's relations: ego -> alter), undirected when none
    is. Meant for small communities (it goes through a networkx graph).

    Raises:
        ValueError: if some layers are directed and others not (GraphML has one direction per graph).

    Args:
        community: the community to export.
        path: destination file.

    """
    import networkx as nx

    net, pop = community.network, community.population
    directed = net.directed & set(net.layers)
    if directed and directed != set(net.layers):
        raise ValueError(
            f"layers {', '.join(sorted(directed))} are directed and {', '.join(sorted(set(net.layers) - directed))} "
            "are not; a GraphML file is directed or undirected as a whole"
        )
    cols = _node_columns(pop)
    cols["label"] = _node_ids(pop)[1]
    names = [c for c in cols if c != "id"]
    g = nx.MultiDiGraph() if directed else nx.MultiGraph()
    g.add_nodes_from(
        (node, dict(zip(names, values, strict=True)))
        for node, *values in zip(*(cols[c].tolist() for c in ("id", *names)), strict=True)
    )
    ids = cols["id"].tolist()
    for name in ("adoption_time", "threshold"):
        values = getattr(pop, name)
        if values is not None:
            nx.set_node_attributes(g, {ids[i]: float(values[i]) for i in np.flatnonzero(~np.isnan(values))}, name)
    if pop.initial is not None:
        nx.set_node_attributes(g, {ids[i]: bool(v) for i, v in enumerate(pop.initial)}, "initial")
    e = _edge_columns(community, cols["id"])
    g.add_edges_from(  # keys become the GraphML edge ids: e0, e1, ...
        (u, v, f"e{k}", {"layer": layer, "weight": float(w)})
        for k, (u, v, layer, w) in enumerate(
            zip(
                e["source"].tolist(),
                e["target"].tolist(),
                e["layer"].tolist(),
                e["weight"].tolist(),
                strict=True,
            )
        )
    )
    _write_atomic([(Path(path), lambda p: nx.write_graphml(g, p))])
