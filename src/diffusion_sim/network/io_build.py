"""Building a population and a layered network from validated node and edge tables (CSV or GraphML)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from diffusion_sim.network.graph import EdgeList, LayeredNetwork
from diffusion_sim.network.io_tables import (
    _FALSE,
    _MAX_HOUSEHOLD,
    _RELIGIOUS,
    _TRUE,
    _got,
    _raise,
    _Table,
)
from diffusion_sim.population import HEALTH_WORKER, HOUSEHOLD, LEADER, ROLES, Population
from diffusion_sim.scenario.schema import LAYERS, LEADER_KINDS

__all__: list[str] = []  # used by diffusion_sim.network.io

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


def _named_codes(t: _Table, column: str, names: Sequence[str]) -> np.ndarray:
    """Codes of a column whose values must each be one of ``names`` (case-insensitive); raises for the first not."""
    text = t.col(column)
    codes = _codes(text, names)
    t.fail(codes < 0, column, lambda i: f"unknown {column}: {_got(text.iat[i])}; expected one of: {', '.join(names)}")
    return codes


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


def _flags(t: _Table, column: str) -> np.ndarray:
    """A true/false column: 1 true, 0 false, -1 empty (``true/false``, ``yes/no``, ``1/0``, any case)."""
    text = t.col(column)
    codes = _codes(text, (*_TRUE, *_FALSE))
    t.fail(codes < 0, column, lambda i: f"expected true/false, yes/no or 1/0, {_got(text.iat[i])}")
    return np.where(text == "", -1, np.where(codes < len(_TRUE), 1, 0))


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

    role = _named_codes(t, "role", ROLES)

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

    household = role == HOUSEHOLD
    marginalised = (_flags(t, "marginalised") > 0) & household

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

    layer = _named_codes(t, "layer", LAYERS)

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
