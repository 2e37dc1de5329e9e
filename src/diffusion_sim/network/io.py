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

import io
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from xml.etree import ElementTree
from xml.etree.ElementTree import ParseError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from diffusion_sim.community import Community
from diffusion_sim.errors import UserError
from diffusion_sim.network.graph import EdgeList, LayeredNetwork
from diffusion_sim.population import HEALTH_WORKER, HOUSEHOLD, LEADER, ROLES, Population
from diffusion_sim.scenario.schema import LAYERS, LEADER_KINDS, ImportedCommunity, Scenario

__all__ = [
    "EDGE_COLUMNS",
    "NODE_COLUMNS",
    "read_community",
    "read_csv_community",
    "read_graphml_community",
    "write_csv_community",
    "write_graphml_community",
]

NODE_COLUMNS: tuple[str, ...] = ("id", "role", "village")
"""Required node columns."""
NODE_OPTIONAL: tuple[str, ...] = (
    "leader_kind",
    "marginalised",
    "household_size",
    "congregation",
    "catchment",
)
"""Optional node columns."""
EDGE_COLUMNS: tuple[str, ...] = ("source", "target", "layer")
"""Required edge columns."""
EDGE_OPTIONAL: tuple[str, ...] = ("weight",)
"""Optional edge columns."""

_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no", "")
_MAX_HOUSEHOLD = int(np.iinfo(np.int16).max)
_RELIGIOUS = LEADER_KINDS.index("religious")
_GRAPHML_NS = "{http://graphml.graphdrawing.org/xmlns}"


# ---------------------------------------------------------------------------------------- tables


@dataclass(eq=False)
class _Table:
    """Rows of one input as stripped text columns, and how to name a row in a message.

    Attributes:
        frame: one text column per known column present in the input.
        source: file path, for messages.
        place: names row ``i`` (``"line 5"``, ``"node '7'"``).
        unit: plural of what a row is (``"lines"``, ``"nodes"``, ``"edges"``).
        kind: what a column is called (``"column"`` or ``"attribute"``).
        present: known columns the input really has (absent optional ones are all empty).

    """

    frame: pd.DataFrame
    source: str
    place: Callable[[int], str]
    unit: str
    kind: str
    present: frozenset[str]

    def __len__(self) -> int:
        return len(self.frame)

    def col(self, name: str) -> pd.Series:
        return self.frame[name]

    def fail(self, bad: np.ndarray, column: str, problem: Callable[[int], str]) -> None:
        """Raise for the first row flagged in ``bad`` (boolean mask), if any."""
        rows = np.flatnonzero(bad)
        if len(rows) == 0:
            return
        i = int(rows[0])
        more = f" (and {len(rows) - 1} more {self.unit})" if len(rows) > 1 else ""
        _raise(f"{self.place(i)}{more}: {self.kind} {column!r}: {problem(i)}", self.source, column)


def _raise(message: str, source: str, field: str | None = None) -> NoReturn:
    err = UserError(message, source=source)
    err.field = field  # kept for callers; the printed message already names the column
    raise err


def _got(value: str) -> str:
    return "got an empty value" if value == "" else f"got {value!r}"


def _check_file(path: Path) -> None:
    if not path.exists():
        _raise("file not found", str(path))
    if not path.is_file():
        _raise("not a file", str(path))


def _read_bytes(path: Path, expected: str) -> bytes:
    _check_file(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        _raise(f"cannot read file ({err.strerror})", str(path))
    if not raw.strip():
        _raise(f"the file is empty; expected {expected}", str(path))
    return raw


def _expected_columns(required: Sequence[str], optional: Sequence[str]) -> str:
    return f"{', '.join(required)} (optional: {', '.join(optional)})"


def _read_csv_table(path: str | os.PathLike, required: Sequence[str], optional: Sequence[str]) -> _Table:
    """Read a CSV file as text: header on line 1, blank lines skipped, line numbers kept."""
    p = Path(path)
    source = str(p)
    expected = _expected_columns(required, optional)
    raw = _read_bytes(p, f"a header line with the columns {expected}")
    try:
        df = pd.read_csv(
            io.BytesIO(raw),
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            index_col=False,
            encoding="utf-8-sig",
        )
    except UnicodeDecodeError as err:
        _raise(f"not UTF-8 text (byte {err.start}); save the file as UTF-8 CSV", source)
    except (pd.errors.ParserError, ValueError) as err:
        text = " ".join(str(err).split())
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
        if m:
            _raise(
                f"line {m[2]}: {m[3]} fields, but the header (line 1) has {m[1]}; "
                "expected one value per header column (quote values that contain commas)",
                source,
            )
        _raise(f"malformed CSV: {text}", source)
    df = df.fillna("")
    header = [str(h).strip().lower() for h in df.iloc[0]]
    for name in (*required, *optional):
        if header.count(name) > 1:
            _raise(f"line 1 (header): column {name!r} appears more than once", source, name)
    missing = [c for c in required if c not in header]
    if missing:
        found = ", ".join(repr(h) for h in header if h) or "none"
        names = ", ".join(repr(c) for c in missing)
        _raise(
            f"line 1 (header): missing required column{'s' if len(missing) > 1 else ''} {names}; "
            f"expected columns {expected}; found {found}",
            source,
            missing[0],
        )
    unknown = [h for h in header if h and h not in (*required, *optional)]
    if unknown:
        _raise(
            f"line 1 (header): unknown column {unknown[0]!r}; expected columns {expected} "
            "(remove or rename the column: a misspelt optional column would otherwise be ignored)",
            source,
            unknown[0],
        )
    df.columns = header
    present = [c for c in (*required, *optional) if c in header]
    body = df.iloc[1:][present]
    # rows whose fields are all empty are blank lines: skip them, keeping line numbers
    keep = ~(body == "").all(axis=1).to_numpy()
    body = body.loc[keep]
    lines = body.index.to_numpy(np.int64) + 1  # header is row 0, line 1
    if b'"' in raw and len(body):
        # quoted fields may span lines: shift later rows by the newlines inside earlier rows
        inner = np.zeros(len(df), np.int64)
        for c in df.columns.unique():
            col = df[c] if isinstance(df[c], pd.Series) else df[c].iloc[:, 0]
            inner += col.str.count("\n").to_numpy(np.int64)
        shift = np.concatenate([[0], np.cumsum(inner)[:-1]])
        lines = lines + shift[body.index.to_numpy()]
    frame = pd.DataFrame({c: body[c].str.strip() for c in present}).reset_index(drop=True)
    for c in optional:
        if c not in frame:
            frame[c] = ""
    return _Table(
        frame=frame,
        source=source,
        place=lambda i: f"line {lines[i]}",
        unit="lines",
        kind="column",
        present=frozenset(present),
    )


# ------------------------------------------------------------------------------------ population


def _arrow(values: pd.Series) -> pa.Array:
    """Convert a text column to one pyarrow string array (no copy if pandas keeps it in arrow)."""
    arr = values.array
    if hasattr(arr, "__arrow_array__"):
        out = pa.array(arr)
    else:
        out = pa.array(values.to_numpy(object), type=pa.string())
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _position(values: pd.Series | pa.Array, keys: pa.Array) -> np.ndarray:
    """Position of each value in ``keys`` (hash lookup); -1 when not found."""
    arr = values if isinstance(values, pa.Array) else _arrow(values)
    found = pc.index_in(arr, value_set=keys.cast(arr.type))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _codes(values: pd.Series, names: Sequence[str]) -> np.ndarray:
    """Index of each value, compared in lower case, in ``names``; -1 when not found."""
    return _position(pc.utf8_lower(_arrow(values)), pa.array(list(names), type=pa.string()))


def _numbers(text: pd.Series, given: np.ndarray) -> np.ndarray:
    """Parse the given (non-empty) cells as floats; NaN where a cell is not a number."""
    arr = _arrow(text)
    try:
        filled = pc.if_else(pa.array(given), arr, pa.scalar("0", arr.type))
        return pc.cast(filled, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # some cell is not a number: find it
        return pd.to_numeric(text.where(given, "0"), errors="coerce").to_numpy(np.float64)


@dataclass(eq=False)
class _Ids:
    """Node ids in agent order, with a vectorised id -> agent index lookup."""

    labels: np.ndarray
    keys: pa.Array

    def __len__(self) -> int:
        return len(self.labels)

    def find(self, values: pd.Series) -> np.ndarray:
        """Agent index of each id; -1 where it is not a node id."""
        return _position(values, self.keys)


def _integers(t: _Table, column: str, minimum: np.ndarray) -> np.ndarray:
    """Parse an optional integer column (empty -> -1); ``minimum`` per row."""
    text = t.col(column)
    given = (text != "").to_numpy()
    out = np.full(len(t), -1, np.int64)
    if not given.any():
        return out
    num = _numbers(text, given)
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(num) & (num == np.round(num))
    t.fail(given & ~whole, column, lambda i: f"expected a whole number, {_got(text.iat[i])}")
    t.fail(
        given & ((num < minimum) | (num > _MAX_HOUSEHOLD)),
        column,
        lambda i: f"expected a whole number from {minimum[i]} to {_MAX_HOUSEHOLD}, {_got(text.iat[i])}",
    )
    out[given] = num[given].astype(np.int64)
    return out


def _role_name(role: int, kind: int) -> str:
    return f"{LEADER_KINDS[kind]} leader" if role == LEADER else ROLES[role].replace("_", " ")


def _references(
    t: _Table,
    column: str,
    ids: _Ids,
    ok: np.ndarray,
    wanted: str,
    role: np.ndarray,
    kind: np.ndarray,
) -> np.ndarray:
    """Agent index named by an optional id column (-1 if empty); targets must satisfy ``ok``."""
    text = t.col(column)
    given = (text != "").to_numpy()
    out = np.full(len(t), -1, np.int32)
    if not given.any():
        return out
    idx = ids.find(text)
    t.fail(
        given & (idx < 0),
        column,
        lambda i: f"unknown node id {text.iat[i]!r}; expected the id of {wanted} in this file, or empty",
    )
    t.fail(
        given & ~ok[np.maximum(idx, 0)],
        column,
        lambda i: (
            f"{text.iat[i]!r} is a {_role_name(role[idx[i]], kind[idx[i]])}; expected the id of {wanted}, or empty"
        ),
    )
    t.fail(
        given & (idx == np.arange(len(t))),
        column,
        lambda i: f"a node cannot name itself ({text.iat[i]!r}); expected the id of another node, or empty",
    )
    out[given] = idx[given]
    return out


def _population(t: _Table) -> tuple[Population, _Ids]:
    """Validate a nodes table and build the population (and the id -> agent index lookup)."""
    n = len(t)
    if n == 0:
        _raise("no nodes: expected at least one row after the header", t.source)
    ids = t.col("id")
    t.fail((ids == "").to_numpy(), "id", lambda i: "empty id; expected a unique node id")

    def duplicate(i: int) -> str:
        first = int(np.flatnonzero((ids == ids.iat[i]).to_numpy())[0])
        return f"duplicate id {ids.iat[i]!r}, already used ({t.place(first)}); expected unique ids"

    t.fail(ids.duplicated(keep="first").to_numpy(), "id", duplicate)

    role_text = t.col("role")
    role = _codes(role_text, ROLES)
    t.fail(
        role < 0,
        "role",
        lambda i: f"unknown role: {_got(role_text.iat[i])}; expected one of: {', '.join(ROLES)}",
    )

    village_text = t.col("village")
    t.fail(
        (village_text == "").to_numpy(),
        "village",
        lambda i: "empty village; expected a village name",
    )
    village, village_names = pd.factorize(village_text, sort=False)

    kind_text = t.col("leader_kind")
    kind = _codes(kind_text, LEADER_KINDS)
    has_kind = (kind_text != "").to_numpy()
    leader = role == LEADER
    kinds = ", ".join(LEADER_KINDS)
    t.fail(
        has_kind & (kind < 0),
        "leader_kind",
        lambda i: f"unknown leader kind {kind_text.iat[i]!r}; expected one of: {kinds}",
    )
    absent = "" if "leader_kind" in t.present else f" (the file has no leader_kind {t.kind})"
    t.fail(
        leader & ~has_kind,
        "leader_kind",
        lambda i: f"a leader needs a kind{absent}; expected one of: {kinds}, {_got('')}",
    )
    t.fail(
        ~leader & has_kind,
        "leader_kind",
        lambda i: (
            f"only leaders have a kind; expected an empty value for a {_role_name(role[i], -1)}, "
            f"{_got(kind_text.iat[i])}"
        ),
    )
    kind = np.where(leader, kind, -1)

    marg_text = t.col("marginalised")
    marg = _codes(marg_text, (*_TRUE, *_FALSE))
    t.fail(
        marg < 0,
        "marginalised",
        lambda i: f"expected true/false, yes/no or 1/0, {_got(marg_text.iat[i])}",
    )
    household = role == HOUSEHOLD
    marginalised = (marg < len(_TRUE)) & household

    size = _integers(t, "household_size", np.where(household, 1, 0))
    household_size = np.where(household, np.where(size < 0, 1, size), 0)

    lookup = _Ids(ids.to_numpy(object), _arrow(ids))
    congregation = _references(
        t, "congregation", lookup, leader & (kind == _RELIGIOUS), "a religious leader", role, kind
    )
    catchment = _references(t, "catchment", lookup, role == HEALTH_WORKER, "a health worker", role, kind)

    pop = Population(
        role=role.astype(np.int8),
        leader_kind=kind.astype(np.int8),
        village=village.astype(np.int32),
        household_size=household_size.astype(np.int16),
        marginalised=marginalised,
        congregation=congregation,
        catchment=catchment,
        n_villages=len(village_names),
        labels=lookup.labels,
        village_names=[str(v) for v in village_names],
    )
    return pop, lookup


# ------------------------------------------------------------------------------------- network


def _network(t: _Table, ids: _Ids, nodes_source: str) -> LayeredNetwork:
    """Validate an edges table against the node ids and build the layered network (all layers)."""
    n = len(ids)
    ends = []
    for column in ("source", "target"):
        text = t.col(column)
        t.fail((text == "").to_numpy(), column, lambda i: "empty node id; expected the id of a node")
        idx = ids.find(text)
        t.fail(
            idx < 0,
            column,
            lambda i, text=text: f"unknown node id {text.iat[i]!r}; expected an id listed in {nodes_source}",
        )
        ends.append(idx.astype(np.int64))
    src, dst = ends
    t.fail(
        src == dst,
        "target",
        lambda i: f"self-loop: source and target are both {t.col('target').iat[i]!r}; expected two different nodes",
    )

    layer_text = t.col("layer")
    layer = _codes(layer_text, LAYERS)
    t.fail(
        layer < 0,
        "layer",
        lambda i: f"unknown layer: {_got(layer_text.iat[i])}; expected one of: {', '.join(LAYERS)}",
    )

    weight = np.ones(len(t), np.float64)
    w_text = t.col("weight")
    given = (w_text != "").to_numpy()
    if given.any():
        num = _numbers(w_text, given)
        with np.errstate(over="ignore", invalid="ignore"):
            finite = np.isfinite(num.astype(np.float32))
        t.fail(
            given & ~finite,
            "weight",
            lambda i: f"expected a finite number >= 0, {_got(w_text.iat[i])}",
        )
        t.fail(
            given & (num < 0),
            "weight",
            lambda i: f"negative weight; expected a number >= 0, {_got(w_text.iat[i])}",
        )
        weight = np.where(given, num, 1.0)

    # the same undirected tie twice in one layer
    if len(t) > 1:
        lo, hi = np.minimum(src, dst), np.maximum(src, dst)
        key = (layer * n + lo) * n + hi
        order = np.argsort(key, kind="stable")
        ks = key[order]
        same = ks[1:] == ks[:-1]
        if same.any():
            dup = np.zeros(len(t), bool)
            dup[order[1:][same]] = True  # every listing after the first (sorting is stable)

            def problem(i: int) -> str:
                first = order[np.searchsorted(ks, key[i])]
                a, b = ids.labels[src[i]], ids.labels[dst[i]]
                return (
                    f"the {LAYERS[layer[i]]} tie between {a!r} and {b!r} is already listed "
                    f"({t.place(first)}); ties are undirected, so list each pair once per layer"
                )

            t.fail(dup, "target", problem)

    layers: dict[str, EdgeList] = {}
    for code, name in enumerate(LAYERS):
        m = layer == code
        if m.any():
            layers[name] = EdgeList(src[m].astype(np.int32), dst[m].astype(np.int32), weight[m].astype(np.float32))
    return LayeredNetwork(n=n, layers=layers)


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
    net = community.network
    kept = {name: e for name, e in net.layers.items() if getattr(scenario.network, name).enabled}
    return Community(population=community.population, network=LayeredNetwork(n=net.n, layers=kept))


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
    """Write every file to a temporary name beside it, then move all into place (or none)."""
    temps: list[Path] = []
    current = writers[0][0]
    try:
        for path, write in writers:
            current = path
            parent = path.parent if str(path.parent) else Path(".")
            parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
            os.close(fd)
            temps.append(Path(name))
            write(Path(name))
        umask = os.umask(0)
        os.umask(umask)
        for (path, _), tmp in zip(writers, temps, strict=True):
            current = path
            tmp.chmod(0o666 & ~umask)  # mkstemp makes it private; give it a normal file's mode
            os.replace(tmp, path)
    except OSError as err:
        raise UserError(f"cannot write file ({err.strerror or err})", source=str(current)) from None
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)


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
