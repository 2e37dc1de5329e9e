"""Writing a community as CSV (nodes, edges) or GraphML, atomically, so it can be read back."""

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


def _node_columns(pop: Population) -> dict[str, np.ndarray]:
    """Node attributes as text/number arrays, in the file format."""
    labels = (
        pop.labels.astype(str).astype(object) if pop.labels is not None else np.arange(pop.n).astype(str).astype(object)
    )
    villages = np.array([pop.village_label(v) for v in range(pop.n_villages)], dtype=object)

    def ref(head: np.ndarray) -> np.ndarray:
        return np.where(head >= 0, labels[np.maximum(head, 0)], "").astype(object)

    return {
        "id": labels,
        "role": np.array(ROLES, dtype=object)[pop.role],
        "village": villages[pop.village],
        "leader_kind": np.array([*LEADER_KINDS, ""], dtype=object)[pop.leader_kind],  # -1 -> ""
        "marginalised": np.asarray(pop.marginalised, bool),
        "household_size": np.asarray(pop.household_size, np.int64),
        "congregation": ref(pop.congregation),
        "catchment": ref(pop.catchment),
    }


def _edge_columns(community: Community, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Ties of every layer, in :data:`LAYERS` order, as ``source, target, layer, weight`` arrays."""
    es = {name: community.network.layers[name] for name in LAYERS if name in community.network.layers}
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
    integer, the rest strings); each tie is one undirected edge with ``layer`` and ``weight``.
    Meant for small communities (it goes through a networkx graph).

    Args:
        community: the community to export.
        path: destination file.

    """
    import networkx as nx

    cols = _node_columns(community.population)
    names = [c for c in cols if c != "id"]
    g = nx.MultiGraph()
    g.add_nodes_from(
        (node, dict(zip(names, values, strict=True)))
        for node, *values in zip(*(cols[c].tolist() for c in ("id", *names)), strict=True)
    )
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
