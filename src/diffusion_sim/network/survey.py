"""Importing a network survey as a community: the respondents, their answers, and whom they named.

A survey (a "name generator" study: each respondent names up to a few colleagues, friends or
advisers) is mapped onto a community by ``community.survey``
(:class:`~diffusion_sim.scenario.survey_schema.SurveyCommunity`): which column holds the respondent
id, the community (village), the time of adoption, the role, and which columns or rows are
nominations of which relation. Three forms are read:

* **wide** CSV (as such studies publish them): one row per respondent; each relation lists its
  nomination columns (``advice: [net1_1, net1_2, net1_3]``), one named person per cell;
* **long** CSV: one row per respondent in ``file`` (no nomination columns), and the nominations in
  their own CSV (``nominations``), one per row: the ``ego`` column (who named), the ``alter`` column
  (who was named), the ``relation`` column (unless there is one relation) and, when ids are local,
  the community column;
* **GraphML** (a ``file`` ending in ``.graphml``): one node per respondent with the mapped columns as
  node attributes (the respondent id is the ``id`` attribute, or the node id when no node has that
  attribute), one edge per nomination with the ``relation`` edge attribute. A directed graph's
  edges are arcs ego -> alter; an undirected graph's edges are undirected ties. An edge to a node
  that the file does not declare is a nomination of someone not surveyed.

Respondent ids are whole numbers. With ``ids: local`` they are unique only within a community and a
nomination names someone of the respondent's own community (as in the medical innovation data);
with ``ids: global`` they are unique in the file. Agent ``i`` is the ``i``-th respondent; its label
(``population.labels``) is its id, and communities are numbered in order of first appearance.

**Ties keep their direction.** Each relation becomes one layer of the network, named after it,
listed in ``network.directed`` (CSV and directed GraphML): the arc ``src -> dst`` says ``src`` named
``dst``, so ``dst``'s adoption counts in ``src``'s exposure. Every tie has tie weight 1; the
relation's ``weight`` is the layer's weight (``network.layer_weights``). Arcs are sorted by
``(src, dst)``, so the same survey in any form or row order gives the same network.

**Cleaning.** Nominations are cleaned by these rules, applied in this order; each is counted per
relation in a :class:`CleaningReport` (``community.cleaning``, printed by ``diffusion-sim validate``
and ``run``):

1. a blank cell (or blank ``alter``) is no nomination (counted as blank; never an error);
2. an id written as a decimal with a whole value (``1001.0``, as spreadsheets export numbers) is read
   as that whole number (counted; respondent ids, community values and egos at the report level,
   named people per relation);
3. a self-nomination (a respondent naming themself) is dropped;
4. a nomination of someone who is not a respondent (no row with that id, in the respondent's
   community when ids are local) is dropped;
5. a person named again by the same respondent in the same relation is merged into the first
   nomination (a person named in two relations gives one tie in each relation's layer).

With ``strict: true`` each of rules 2 to 5 is instead an error naming the file, the line (GraphML:
the node or edge) and the column. Malformed input is always an error, one
:class:`~diffusion_sim.errors.UserError` naming the file, line and column and what was expected: a
missing file or column, an empty or non-numeric id, a respondent listed twice (in a community when
ids are local), an adoption time that is neither a number nor the never code, a role or leader-kind
value the mapping does not list, an unknown relation name, an ego who is not a respondent, ...

**Per person.** The adoption-time column gives ``population.adoption_time`` (NaN: never adopted,
coded ``never``, or not known, a blank cell); with ``start``, respondents who adopted before it are
initial adopters (``population.initial``). The ``threshold`` column gives ``population.threshold``
(NaN where blank: drawn from the role). ``community.people`` (:mod:`diffusion_sim.network.people`)
may then set initial adopters, thresholds and the marginalised flag of listed people.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd

from diffusion_sim.community import Community
from diffusion_sim.network.cleaning import RULES, CleaningReport, RelationCounts
from diffusion_sim.network.graph import EdgeList, LayeredNetwork
from diffusion_sim.network.io_tables import _expected_columns, _got, _raise, _read_csv_table, _Table
from diffusion_sim.population import Population
from diffusion_sim.scenario.schema import Scenario
from diffusion_sim.scenario.survey_schema import SurveyCommunity, is_graphml

__all__ = ["RULES", "CleaningReport", "RelationCounts", "read_survey", "read_survey_community"]

from diffusion_sim.network.survey_respondents import (
    _community_names,
    _decimal_problem,
    _population,
    _respondent_columns,
    _Respondents,
    _respondents,
    _whole_numbers,
)


@dataclass(eq=False)
class _Nominations:
    """Every non-blank nomination, in file order, with where it was written."""

    place: Callable[[int], str]
    column: np.ndarray
    ego: np.ndarray
    relation: np.ndarray
    text: np.ndarray
    alter: np.ndarray
    decimal: np.ndarray
    blank: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """Blank cells per relation."""
    kind: str = "column"
    """What ``column`` is (``"column"``, or ``"attribute"`` in GraphML)."""


def _fail_nomination(noms: _Nominations, k: int, more: int, problem: str, source: str) -> NoReturn:
    column = str(noms.column[k])
    extra = f" (and {more} more nominations)" if more else ""
    _raise(f"{noms.place(k)}{extra}: {noms.kind} {column!r}: {problem}", source, column)


def _clean(
    noms: _Nominations, r: _Respondents, names: list[str], survey: SurveyCommunity, directed: bool, source: str
) -> tuple[dict[str, EdgeList], dict[str, RelationCounts]]:
    """Apply the cleaning rules (module docstring) to the nominations; the layers and their counts."""
    n = r.n
    labels = r.ids
    self_nom = noms.alter == noms.ego
    unsurveyed = (noms.alter < 0) & ~self_nom
    kept = ~self_nom & ~unsurveyed
    a, b = noms.ego.astype(np.int64), np.maximum(noms.alter, 0).astype(np.int64)
    if not directed:
        a, b = np.minimum(a, b), np.maximum(a, b)
    key = (noms.relation.astype(np.int64) * n + a) * n + b
    repeated = np.zeros(len(key), bool)
    repeated[kept] = pd.Series(key[kept]).duplicated(keep="first").to_numpy()

    if survey.strict:
        bad = noms.decimal | self_nom | unsurveyed | repeated
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            more = int(bad.sum()) - 1
            rel = names[noms.relation[k]]
            ego, text = labels[noms.ego[k]], noms.text[k]
            fix = "with strict: false it is"
            if noms.decimal[k]:
                value = int(float(text))
                problem = (
                    f"id written as a decimal ({text!r}); expected a whole number such as {value} "
                    f"(strict: true; {fix} read as {value})"
                )
            elif self_nom[k]:
                problem = (
                    f"respondent {ego} names themself in relation {rel!r}; expected someone else "
                    f"(strict: true; {fix} dropped)"
                )
            elif unsurveyed[k] and noms.kind == "attribute":  # GraphML: an edge to an undeclared node
                problem = (
                    f"{text!r} is not a declared node (not surveyed); expected a node declared in the file with its "
                    f"attributes (strict: true; {fix} dropped)"
                )
            elif unsurveyed[k]:
                where = f" of community {r.village_names[r.village[noms.ego[k]]]!r}" if r.local else ""
                problem = (
                    f"{text!r} is not a respondent{where}; expected the id of a respondent (strict: true; "
                    f"{fix} dropped)"
                )
            else:
                first = int(np.flatnonzero(kept & (key == key[k]))[0])
                problem = (
                    f"respondent {ego} names {labels[noms.alter[k]]} again in relation {rel!r} (first: "
                    f"{noms.place(first)}, {noms.kind} {str(noms.column[first])!r}); expected each person once per "
                    f"relation (strict: true; {fix} merged)"
                )
            _fail_nomination(noms, k, more, problem, source)

    ties = kept & ~repeated
    layers: dict[str, EdgeList] = {}
    counts: dict[str, RelationCounts] = {}
    for code, name in enumerate(names):
        m = noms.relation == code
        src, dst = noms.ego[m & ties], noms.alter[m & ties]
        order = np.lexsort((dst, src))
        layers[name] = EdgeList.unit(src[order].astype(np.int32), dst[order].astype(np.int32))
        counts[name] = RelationCounts(
            nominations=int(m.sum()),
            blank=int(noms.blank[code]) if len(noms.blank) else 0,
            decimal_ids=int((m & noms.decimal).sum()),
            self_nominations=int((m & self_nom).sum()),
            unsurveyed=int((m & unsurveyed).sum()),
            repeated=int((m & repeated).sum()),
            ties=int((m & ties).sum()),
        )
    return layers, counts


def _alters(t: _Table, column: str, given: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ids of the people named in a column's non-empty cells, and which were written as decimals."""
    text = t.col(column)
    values, decimal, bad = _whole_numbers(text)
    t.fail(
        bad & given,
        column,
        lambda i: f"expected the id of the person named (a whole number) or empty, {_got(text.iat[i])}",
    )
    return values, decimal


def _wide_nominations(t: _Table, r: _Respondents, survey: SurveyCommunity, names: list[str]) -> _Nominations:
    """Nominations in the respondents' rows, one column per nominated person."""
    rows, cols, rels, texts, alters, decimals, blank = [], [], [], [], [], [], []
    for code, name in enumerate(names):
        n_blank = 0
        for column in survey.relations[name].columns:
            column = column.lower()
            text = t.col(column)
            given = (text != "").to_numpy()
            n_blank += int((~given).sum())
            values, decimal = _alters(t, column, given)
            rows.append(np.flatnonzero(given))
            cols.append(np.full(int(given.sum()), column, object))
            rels.append(np.full(int(given.sum()), code, np.int64))
            texts.append(text.to_numpy(object)[given])
            alters.append(values[given])
            decimals.append(decimal[given])
        blank.append(n_blank)
    row = np.concatenate(rows)
    order = np.argsort(row, kind="stable")  # file order: line, then the mapping's column order
    row = row[order]
    alter_ids = np.concatenate(alters)[order]
    alter = r.find(r.village[row], alter_ids)
    return _Nominations(
        place=lambda k: t.place(int(row[k])),
        column=np.concatenate(cols)[order],
        ego=row,
        relation=np.concatenate(rels)[order],
        text=np.concatenate(texts)[order],
        alter=alter,
        decimal=np.concatenate(decimals)[order],
        blank=np.array(blank, np.int64),
    )


def _relation_codes(t: _Table, column: str | None, names: list[str]) -> np.ndarray:
    """Relation of each row: from the relation column (exact names) or, without one, the one relation."""
    if column is None:
        return np.zeros(len(t), np.int64)
    text = t.col(column)
    codes = pd.Index(names).get_indexer(text)
    listed = ", ".join(names)

    def problem(i: int) -> str:
        value = text.iat[i]
        what = f"unknown relation {value!r}" if value else "empty relation"
        return f"{what}; expected one of the relations of the mapping (relations): {listed}"

    t.fail(codes < 0, column, problem)
    return codes.astype(np.int64)


def _long_nominations(
    path: str, r: _Respondents, survey: SurveyCommunity, names: list[str]
) -> tuple[_Nominations, int, str]:
    """Nominations from their own CSV, one per row; also the egos written as decimals, and the file."""
    ego_col, alter_col = (survey.ego or "ego").lower(), (survey.alter or "alter").lower()
    rel_col = survey.relation.lower() if survey.relation is not None else None
    comm_col = survey.community.lower() if r.local and survey.community is not None else None
    required = list(dict.fromkeys(c for c in (ego_col, alter_col, rel_col, comm_col) if c is not None))
    t = _read_csv_table(path, required, (), other_columns=True)
    relation = _relation_codes(t, rel_col, names)

    ego_text = t.col(ego_col)
    ego_ids, ego_decimal, bad = _whole_numbers(ego_text)
    t.fail((ego_text == "").to_numpy(), ego_col, lambda i: "empty ego; expected the id of the respondent who named")
    t.fail(
        bad, ego_col, lambda i: f"expected the id of the respondent who named (a whole number), {_got(ego_text.iat[i])}"
    )
    n_decimal = _decimal_problem(survey.strict, t, ego_decimal, ego_col, ego_ids)
    village = None
    if comm_col is not None:
        names_text, comm_decimal = _community_names(t, comm_col, survey.strict, "the ego's")
        n_decimal += comm_decimal
        village = pd.Index(r.village_names).get_indexer(names_text)
        village_missing = village < 0
        t.fail(
            village_missing,
            comm_col,
            lambda i: f"no respondent is in community {names_text.iat[i]!r}; expected a community of {r.table.source}",
        )
    ego = r.find(village, ego_ids)
    where = (lambda i: f" in community {t.col(comm_col).iat[i]!r}") if comm_col is not None else (lambda i: "")
    t.fail(
        ego < 0,
        ego_col,
        lambda i: f"{ego_ids[i]}{where(i)} is not a respondent; expected the id of a respondent of {r.table.source}",
    )

    alter_text = t.col(alter_col)
    given = (alter_text != "").to_numpy()
    alter_ids, alter_decimal = _alters(t, alter_col, given)
    blank = np.bincount(relation[~given], minlength=len(names))
    rows = np.flatnonzero(given)
    alter = r.find(r.village[ego[rows]], alter_ids[rows])
    noms = _Nominations(
        place=lambda k: t.place(int(rows[k])),
        column=np.full(len(rows), alter_col, object),
        ego=ego[rows],
        relation=relation[rows],
        text=alter_text.to_numpy(object)[rows],
        alter=alter,
        decimal=alter_decimal[rows],
        blank=blank,
    )
    return noms, n_decimal, t.source


# ------------------------------------------------------------------------------------------ GraphML


def _graphml_survey(
    survey: SurveyCommunity, fractional: bool
) -> tuple[_Respondents, tuple[Population, int, int], _Nominations, bool]:
    """Respondents, population (with never and unknown counts), nominations and directedness of a GraphML survey."""
    from diffusion_sim.network.io import _parse_graphml, _text

    source = str(Path(survey.file))
    g, declared = _parse_graphml(survey.file)
    node_default = g.graph.get("node_default", {})
    edge_default = g.graph.get("edge_default", {})
    nodes = [(v, d) for v, d in g.nodes(data=True) if v in declared]
    found = {k for _, d in nodes for k in d} | set(node_default)
    by_lower = {k.lower(): k for k in sorted(found, reverse=True)}
    wanted = _respondent_columns(survey)
    id_col = survey.id.lower()
    use_node_id = id_col not in by_lower
    for name in wanted:
        if name not in by_lower and name != id_col:
            _raise(
                f"no node has the attribute {name!r}; expected node attributes "
                f"{_expected_columns([c for c in wanted if c != id_col], ())} (the respondent id is the node "
                f"attribute {survey.id!r}, or the node id); found {', '.join(map(repr, sorted(found))) or 'none'}",
                source,
                name,
            )
    ids = [str(v) for v, _ in nodes]
    frame = pd.DataFrame(
        {
            c: (
                pd.Series(ids, dtype=object)
                if c == id_col and use_node_id
                else [_text(d.get(by_lower[c], node_default.get(by_lower[c]))) for _, d in nodes]
            )
            for c in wanted
        }
    )
    t = _Table(frame, source, lambda i: f"node {ids[i]!r}", "nodes", "attribute", frozenset(wanted))
    r = _respondents(t, survey, id_col, survey.strict)
    pop, never, unknown = _population(t, r, survey, fractional)

    index = {v: i for i, v in enumerate(ids)}
    edges = list(g.edges(keys=True, data=True))

    def place(i: int) -> str:
        u, v, key, _ = edges[i]
        name = f" {key!r}" if isinstance(key, str) else ""
        return f"edge{name} from {u!r} to {v!r}" if g.is_directed() else f"edge{name} between {u!r} and {v!r}"

    names = list(survey.relations)
    rel_attr = survey.relation
    relation = np.zeros(len(edges), np.int64)
    if rel_attr is not None:
        found_e = {k for *_, d in edges for k in d} | set(edge_default)
        lower_e = {k.lower(): k for k in sorted(found_e, reverse=True)}
        attr = lower_e.get(rel_attr.lower(), rel_attr)
        values = pd.Series([_text(d.get(attr, edge_default.get(attr))) for *_, d in edges], dtype=object)
        et = _Table(pd.DataFrame({rel_attr: values}), source, place, "edges", "attribute", frozenset([rel_attr]))
        relation = _relation_codes(et, rel_attr, names)
    if not g.is_directed():  # an undirected edge may be listed from either end: the respondent is the ego
        edges = [(v, u, k, d) if u not in index and v in index else (u, v, k, d) for u, v, k, d in edges]
    for i, (u, _, _, _) in enumerate(edges):
        if u not in index:
            _raise(
                f"{place(i)}: attribute 'source': {u!r} is not a declared node; expected the id of a respondent "
                "(a node declared in the file with its attributes)",
                source,
                "source",
            )
    ego = np.array([index[u] for u, *_ in edges], np.int64)
    alter = np.array([index.get(v, -1) for _, v, *_ in edges], np.int64)
    noms = _Nominations(
        place=place,
        column=np.full(len(edges), "target", object),
        ego=ego,
        relation=relation,
        text=np.array([v for _, v, *_ in edges], object),
        alter=alter,
        decimal=np.zeros(len(edges), bool),
        kind="attribute",
    )
    return r, (pop, never, unknown), noms, g.is_directed()


# ------------------------------------------------------------------------------------------ reader


def read_survey(survey: SurveyCommunity, *, fractional: bool = True) -> Community:
    """Read a network survey as a community (formats and cleaning rules in the module docstring).

    Args:
        survey: the mapping (``community.survey``); relative file names are taken from the working
            directory (:func:`~diffusion_sim.scenario.load_scenario` has already made them
            relative to the scenario file).
        fractional: whether thresholds are fractions (at most 1), as under the fractional rule.

    Returns:
        The community: agent ``i`` is the ``i``-th respondent; one layer per relation (directed but
        for an undirected GraphML graph) with its weight in ``network.layer_weights``; the cleaning
        report in ``community.cleaning``.

    Raises:
        UserError: on the first malformed input (or, with ``strict``, the first nomination a rule
            would clean), naming the file, the line (node, edge) and the column.

    """
    names = list(survey.relations)
    files = [str(Path(survey.file))]
    n_decimal = 0
    if is_graphml(survey.file):
        r, (pop, never, unknown), noms, directed = _graphml_survey(survey, fractional)
    else:
        resp_cols = _respondent_columns(survey)
        wide = survey.format != "long"
        required = [*resp_cols, *(survey.nomination_columns() if wide else [])]
        t = _read_csv_table(survey.file, required, (), other_columns=True)
        r = _respondents(t, survey, survey.id.lower(), survey.strict)
        pop, never, unknown = _population(t, r, survey, fractional)
        directed = True
        if wide:
            noms = _wide_nominations(t, r, survey, names)
        else:
            noms, n_decimal, nom_source = _long_nominations(survey.nominations, r, survey, names)  # type: ignore[arg-type]
            files.append(nom_source)
    layers, counts = _clean(noms, r, names, survey, directed, files[-1])
    net = LayeredNetwork(
        n=r.n,
        layers=layers,
        directed=set(names) if directed else set(),
        layer_weights={name: float(survey.relations[name].weight) for name in names},
    )
    sizes = np.bincount(r.village, minlength=len(r.village_names))
    times = pop.adoption_time
    report = CleaningReport(
        files=tuple(files),
        respondents=r.n,
        communities={name: int(k) for name, k in zip(r.village_names, sizes, strict=True)},
        relations=counts,
        directed=directed,
        decimal_ids=r.decimal_ids + n_decimal,
        adopted=int(np.isfinite(times).sum()) if times is not None else None,
        never=never,
        unknown=unknown,
        start=survey.start,
        initial=int(pop.initial.sum()) if pop.initial is not None else 0,
        strict=survey.strict,
    )
    return Community(population=pop, network=net, cleaning=report)


def read_survey_community(survey: SurveyCommunity, scenario: Scenario) -> Community:
    """Read a scenario's survey community (see :func:`read_survey`); thresholds are checked against its rule."""
    return read_survey(survey, fractional=scenario.behaviour.threshold_rule == "fractional")
