"""Importing and exporting communities: a nodes CSV and an edges CSV, or one GraphML file.

Nodes (one row per agent; agent ``i`` is the ``i``-th node of the file):

* ``id``: any non-empty string, unique (read as text, so ``007`` stays ``007``);
* ``role``: ``household``, ``leader`` or ``health_worker``;
* ``village``: any non-empty string; villages are numbered 0, 1, ... in order of first appearance;
* ``leader_kind`` (optional): ``religious``, ``traditional``, ``youth`` or ``women``; required for
  leaders, empty for everyone else;
* ``marginalised`` (optional): ``true/false``, ``1/0`` or ``yes/no``, default false; kept for
  households only;
* ``household_size`` (optional): a positive integer for households (default 1); for others it
  may be given (a non-negative integer) but is stored as 0;
* ``congregation``, ``catchment`` (optional): the id of a religious leader, resp. a health worker,
  or empty.

Edges (one row per undirected tie): ``source``, ``target``, ``layer`` (one of
:data:`~diffusion_sim.scenario.schema.LAYERS`) and optional ``weight`` (a finite number >= 0,
default 1). A pair may be tied in several layers, but only once per layer (``a,b`` and ``b,a``
are the same tie).

GraphML files carry the same node attributes (the node id is the GraphML id) and the edge
attributes ``layer`` and ``weight``; they are parsed by :func:`networkx.read_graphml` (the
standard library's XML parser; nothing in the file is evaluated).

Column names and values are read as text and stripped of surrounding spaces; role, leader kind,
layer and marginalised values are not case-sensitive; an unknown CSV column is an error (a
misspelt optional column would otherwise be ignored); other GraphML attributes are ignored. Every problem
raises one :class:`~diffusion_sim.errors.UserError` naming the file, the line (CSV: as counted in
the file, the header being line 1) or node/edge id, the column and what was expected. Validation
is vectorised: a million-edge file loads in seconds.
"""

from __future__ import annotations

import os
from pathlib import Path
from xml.etree import ElementTree
from xml.etree.ElementTree import ParseError

import pandas as pd

from diffusion_sim.community import Community
from diffusion_sim.errors import UserError
from diffusion_sim.network.graph import LayeredNetwork
from diffusion_sim.network.io_build import _network, _population
from diffusion_sim.network.io_export import write_csv_community, write_graphml_community
from diffusion_sim.network.io_tables import (
    _GRAPHML_NS,
    EDGE_COLUMNS,
    EDGE_OPTIONAL,
    NODE_COLUMNS,
    NODE_OPTIONAL,
    _expected_columns,
    _raise,
    _read_bytes,
    _read_csv_table,
    _Table,
)
from diffusion_sim.scenario.schema import ImportedCommunity, Scenario

__all__ = [
    "EDGE_COLUMNS",
    "NODE_COLUMNS",
    "read_community",
    "read_csv_community",
    "read_graphml_community",
    "write_csv_community",
    "write_graphml_community",
]

# ------------------------------------------------------------------------------------- readers


def read_csv_community(nodes_path: str | os.PathLike, edges_path: str | os.PathLike) -> Community:
    """Read a community from a nodes CSV and an edges CSV (format in the module docstring).

    Args:
        nodes_path: CSV with columns ``id, role, village`` and optionally ``leader_kind,
            marginalised, household_size, congregation, catchment``.
        edges_path: CSV with columns ``source, target, layer`` and optionally ``weight``.

    Returns:
        The community; agent ``i`` is the ``i``-th node row, ``population.labels`` holds the ids,
        and the network has one edge list per layer that has ties (every layer, enabled or not).

    Raises:
        UserError: on the first problem found in either file, naming the file, line and column.

    """
    nodes = _read_csv_table(nodes_path, NODE_COLUMNS, NODE_OPTIONAL)
    pop, ids = _population(nodes)
    edges = _read_csv_table(edges_path, EDGE_COLUMNS, EDGE_OPTIONAL)
    net = _network(edges, ids, Path(nodes_path).name)
    return Community(population=pop, network=net)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _parse_graphml(path: str | os.PathLike):
    """Parse a GraphML file into a networkx multigraph (directed if the file says so) and its declared node ids.

    Raises:
        UserError: if the file is missing, empty, not well-formed GraphML, or declares a node id twice.

    """
    import networkx as nx

    p = Path(path)
    source = str(p)
    raw = _read_bytes(p, "a GraphML document")
    try:
        # networkx merges nodes declared twice: list the declared ids first (same parser)
        declared = [el.get("id") for el in ElementTree.fromstring(raw).iter(f"{_GRAPHML_NS}node")]
        g = nx.parse_graphml(raw, node_type=str, edge_key_type=str, force_multigraph=True)
    except ParseError as err:
        _raise(f"malformed GraphML: not well-formed XML ({err})", source)
    except Exception as err:  # networkx raises several types for files that are XML but not GraphML
        _raise(
            f"malformed GraphML: {str(err).strip() or type(err).__name__}; expected a <graphml> "
            "document with one <graph> of <node> and <edge> elements",
            source,
        )

    seen: set[str | None] = set()
    for node in declared:
        if node in seen:
            _raise(
                f"node {node!r}: attribute 'id': duplicate id {node!r}; expected unique node ids",
                source,
                "id",
            )
        seen.add(node)
    return g, seen


def read_graphml_community(path: str | os.PathLike) -> Community:
    """Read a community from one GraphML file.

    Nodes carry the attributes of the nodes CSV (the GraphML node id is the ``id``), edges the
    attributes ``layer`` and optionally ``weight``; key defaults declared in the file apply. The
    graph may be directed or not: every edge is read as an undirected tie, and a pair may be tied
    in several layers but only once per layer.

    Args:
        path: the GraphML file.

    Returns:
        The community, agents in the order of the file's nodes.

    Raises:
        UserError: if the file is not well-formed GraphML or any node or edge is invalid (the
            message names the node or edge and the attribute).

    """
    source = str(path)
    g, seen = _parse_graphml(path)
    node_default = g.graph.get("node_default", {})
    edge_default = g.graph.get("edge_default", {})
    node_items = list(g.nodes(data=True))
    found = sorted({k for _, d in node_items for k in d} | set(node_default))
    for name in NODE_COLUMNS[1:]:
        if name not in found:
            _raise(
                f"no node has the attribute {name!r}; expected node attributes "
                f"{_expected_columns(NODE_COLUMNS[1:], NODE_OPTIONAL)} "
                "(the GraphML node id is the id); "
                f"found {', '.join(map(repr, found)) or 'none'}",
                source,
                name,
            )
    ids = [str(v) for v, _ in node_items]
    nodes_frame = pd.DataFrame(
        {"id": pd.Series(ids, dtype=object)}  # XML ids are exact: not stripped
        | {
            c: [_text(d.get(c, node_default.get(c))) for _, d in node_items]
            for c in (*NODE_COLUMNS[1:], *NODE_OPTIONAL)
        }
    )
    nodes = _Table(nodes_frame, source, lambda i: f"node {ids[i]!r}", "nodes", "attribute", frozenset(found))

    edge_items = list(g.edges(keys=True, data=True))

    def edge_place(i: int) -> str:
        u, v, key, _ = edge_items[i]
        name = f" {key!r}" if isinstance(key, str) else ""
        return f"edge{name} between {u!r} and {v!r}"

    # an edge naming an undeclared node makes networkx create it (without attributes)
    undeclared = set(g.nodes) - seen
    for i, (u, v, _, _) in enumerate(edge_items):
        for column, end in (("source", u), ("target", v)):
            if end in undeclared:
                _raise(
                    f"{edge_place(i)}: attribute {column!r}: unknown node id {end!r}; "
                    "expected the id of a node declared in the file with its attributes",
                    source,
                    column,
                )

    edges_frame = pd.DataFrame(
        {
            "source": pd.Series([str(u) for u, _, _, _ in edge_items], dtype=object),
            "target": pd.Series([str(v) for _, v, _, _ in edge_items], dtype=object),
        }
        | {c: [_text(d.get(c, edge_default.get(c))) for _, _, _, d in edge_items] for c in ("layer", "weight")}
    )
    if len(edge_items) and not (edges_frame["layer"] != "").any():
        _raise(
            f"no edge has the attribute 'layer'; expected edge attributes "
            f"{_expected_columns(('layer',), EDGE_OPTIONAL)}",
            source,
            "layer",
        )
    edges = _Table(edges_frame, source, edge_place, "edges", "attribute", frozenset(edges_frame.columns))
    pop, ids = _population(nodes)
    net = _network(edges, ids, "this file")
    return Community(population=pop, network=net)


def read_community(imported: ImportedCommunity, scenario: Scenario) -> Community:
    """Read a scenario's imported community, keeping only the layers the scenario enables.

    Args:
        imported: the files (``nodes`` + ``edges`` CSVs, or ``graphml``); relative paths are taken
            from the working directory (:func:`~diffusion_sim.scenario.load_scenario` has already
            made them relative to the scenario file).
        scenario: the scenario; ties of layers whose ``network.<layer>.enabled`` is false are
            dropped (layer weights are applied later, by the model).

    Returns:
        The community.

    Raises:
        UserError: if a file is missing or invalid.

    """
    if imported.graphml is not None:
        community = read_graphml_community(imported.graphml)
    else:
        community = read_csv_community(imported.nodes, imported.edges)
    return _enabled_layers(community, scenario)


def _enabled_layers(community: Community, scenario: Scenario) -> Community:
    net = community.network
    kept = {name: e for name, e in net.layers.items() if getattr(scenario.network, name).enabled}
    return Community(population=community.population, network=LayeredNetwork(n=net.n, layers=kept))


def read_replicate_network(
    imported: ImportedCommunity, scenario: Scenario, base: Community, replicate: int
) -> Community:
    """Replicate ``replicate``'s community under ``community.imported.networks``: ``base``'s people, its file's ties.

    Raises:
        UserError: no file for the replicate, or a file whose people are not ``base``'s.

    """
    files = imported.networks or []
    if replicate >= len(files):
        raise UserError(
            f"lists {len(files)} network file(s), one per replicate, so replicate {replicate} has none; expected at "
            f"least {replicate + 1} files (or fewer replicates)",
            field="community.imported.networks",
        )
    path = files[replicate]
    if imported.graphml is not None:
        community = read_graphml_community(path)
    else:
        community = read_csv_community(imported.nodes, path)
    a, b = base.population, community.population
    same = a.n == b.n and (a.labels is None or b.labels is None or list(a.labels) == list(b.labels))
    if not same:
        raise UserError(
            f"has {b.n:,} people, not the {a.n:,} people of the community's first file (in the same order); "
            "expected a network of the same people for every replicate",
            source=path,
        )
    return Community(population=a, network=_enabled_layers(community, scenario).network)
