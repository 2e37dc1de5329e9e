"""Survey import (community.survey): the shipped medical innovation data, forms, cleaning rules, errors, validate."""

from __future__ import annotations

import csv
import random
import re
import textwrap
from collections import Counter, defaultdict
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from diffusion_sim.cli import main
from diffusion_sim.community import build_community
from diffusion_sim.errors import UserError
from diffusion_sim.network.io import write_csv_community, write_graphml_community
from diffusion_sim.network.survey import RelationCounts, read_survey
from diffusion_sim.scenario import Scenario, apply_overrides, load_scenario, scenario_from_dict
from diffusion_sim.scenario.survey_schema import SurveyCommunity

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "medinnovations"
SURVEY = DATA / "survey.csv"
SCENARIO = ROOT / "scenarios" / "medical_innovation.yaml"
RELATIONS = {"advice": "net1", "discussion": "net2", "friendship": "net3"}


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def survey(**fields) -> SurveyCommunity:
    return SurveyCommunity.model_validate(fields)


def medinnovations(**extra) -> SurveyCommunity:
    relations = {name: [f"{p}_{k}" for k in (1, 2, 3)] for name, p in RELATIONS.items()}
    mapping = {"file": str(SURVEY), "community": "city", "ids": "local", "adoption_time": "toa", "never": 18}
    return survey(**mapping, relations=relations, **extra)


def pairs_of(e):
    """(ego, alter) agent indices of one layer, in its order."""
    return list(zip(e.src.tolist(), e.dst.tolist(), strict=True))


def arcs(community, name):
    """Arcs of one layer as (community, ego label, alter label)."""
    pop, e = community.population, community.network.layers[name]
    village = [pop.village_label(v) for v in pop.village]
    return sorted((village[a], pop.labels[a], pop.labels[b]) for a, b in pairs_of(e))


# ------------------------------------------------------------------- the shipped data, counted independently


def counted_by_hand():
    """Everything the tests expect of survey.csv, computed with the csv module and plain Python."""
    with SURVEY.open(newline="") as f:
        rows = list(csv.DictReader(f))
    surveyed = {(r["city"], r["id"]) for r in rows}
    counts = {name: Counter() for name in RELATIONS}
    ties = {name: set() for name in RELATIONS}
    for r in rows:
        for name, prefix in RELATIONS.items():
            seen = set()
            for k in (1, 2, 3):
                cell = r[f"{prefix}_{k}"].strip()
                if not cell:
                    counts[name]["blank"] += 1
                    continue
                counts[name]["nominations"] += 1
                if cell != str(int(float(cell))):
                    counts[name]["decimal_ids"] += 1
                alter = str(int(float(cell)))
                if alter == r["id"]:
                    counts[name]["self_nominations"] += 1
                elif (r["city"], alter) not in surveyed:
                    counts[name]["unsurveyed"] += 1
                elif alter in seen:
                    counts[name]["repeated"] += 1
                else:
                    seen.add(alter)
                    ties[name].add((r["city"], r["id"], alter))
    return rows, counts, ties


def test_shipped_data_counts_match_an_independent_count():
    rows, counts, ties = counted_by_hand()
    c = read_survey(medinnovations())
    report = c.cleaning
    # respondents and communities
    assert len(rows) == c.population.n == report.respondents == 125
    sizes = Counter(r["city"] for r in rows)
    assert report.communities == dict(sizes) == {"1": 62, "2": 24, "3": 21, "4": 18}
    assert c.population.village_names == ["1", "2", "3", "4"]
    assert c.population.labels.tolist() == [r["id"] for r in rows]
    # every rule, per relation
    for name in RELATIONS:
        expected = RelationCounts(**counts[name], ties=len(ties[name]))
        assert report.relations[name] == expected, name
        assert arcs(c, name) == sorted(ties[name]), name
    # the totals the README states, and the ties per relation
    assert report.total("nominations") == sum(c["nominations"] for c in counts.values()) == 912
    assert report.total("unsurveyed") == sum(c["unsurveyed"] for c in counts.values()) == 462
    assert report.total("self_nominations") == report.total("repeated") == report.total("decimal_ids") == 0
    assert report.total("blank") == 125 * 9 - 912 == 213
    assert {name: r.ties for name, r in report.relations.items()} == {
        "advice": 161,
        "discussion": 165,
        "friendship": 124,
    }
    assert "462 of the 912" in (DATA / "README.md").read_text(encoding="utf-8")


def test_shipped_data_adoption_times_and_initial_adopters():
    rows, _, _ = counted_by_hand()
    c = read_survey(medinnovations(start=3))
    toa = [int(r["toa"]) for r in rows]
    expected = np.array([np.nan if t == 18 else t for t in toa])
    np.testing.assert_array_equal(c.population.adoption_time, expected)
    assert c.population.initial.tolist() == [t < 3 for t in toa]
    assert (c.cleaning.adopted, c.cleaning.never, c.cleaning.unknown, c.cleaning.initial) == (109, 16, 0, 20)
    assert c.population.threshold is None


def test_ties_are_directed_arcs_with_relation_weights():
    rows, _, ties = counted_by_hand()
    c = read_survey(medinnovations())
    net = c.network
    assert net.directed == set(RELATIONS) == set(net.layers)
    assert net.layer_weights == {"advice": 1.0, "discussion": 1.0, "friendship": 1.0}
    e = net.layers["advice"]
    assert np.all(e.weight == 1.0)
    pairs = pairs_of(e)
    assert pairs == sorted(pairs)  # sorted by (ego, alter)
    # an unreciprocated nomination is one arc, from the respondent who named to the one named
    index = {(r["city"], r["id"]): i for i, r in enumerate(rows)}
    named = {(index[(city, ego)], index[(city, alter)]) for city, ego, alter in ties["advice"]}
    one_way = sorted((a, b) for a, b in named if (b, a) not in named)
    assert len(one_way) > 100
    assert set(one_way) <= set(pairs) and not {(b, a) for a, b in one_way} & set(pairs)


def test_the_shipped_scenario_reads_the_shipped_data():
    sc = load_scenario(SCENARIO)
    assert sc.community.survey is not None and sc.community.survey.file == str(SURVEY)
    assert sc.schedule.steps == 17 and sc.schedule.days_per_step == 30
    c = build_community(sc, seed=0)
    assert c.network.layer_weights == {"advice": 1.0, "discussion": 1.0, "friendship": 0.5}
    assert int(c.population.initial.sum()) == 20
    # --set reaches the mapping: adopters before month 2 only
    later = apply_overrides(sc, ["community.survey.start=2"])
    assert int(build_community(later, seed=0).population.initial.sum()) == 11


def test_the_shipped_scenario_seeds_the_most_named_doctors_who_had_not_adopted():
    rows, _, ties = counted_by_hand()
    index = {(r["city"], r["id"]): i for i, r in enumerate(rows)}
    named_by = defaultdict(set)
    for name in RELATIONS:
        for city, ego, alter in ties[name]:
            named_by[index[(city, alter)]].add(index[(city, ego)])
    candidates = [i for i, r in enumerate(rows) if int(r["toa"]) >= 3]
    ranked = sorted(candidates, key=lambda i: -len(named_by[i]))
    top = ranked[:4]
    assert len(named_by[ranked[3]]) > len(named_by[ranked[4]])  # no tie at the cut
    (seeding,) = load_scenario(SCENARIO).interventions
    assert seeding.type == "seeding" and seeding.strategy == "chosen"
    assert sorted(seeding.people) == sorted(top) == [10, 28, 35, 64]


def test_shipped_data_files_and_licence():
    assert sorted(p.name for p in DATA.iterdir()) == ["LICENSE-netdiffuseR.md", "README.md", "survey.csv"]
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert "Coleman" in readme and "netdiffuseR" in readme and "MIT" in readme
    assert "MIT License" in (DATA / "LICENSE-netdiffuseR.md").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------- wide, long and GraphML forms


def long_tables(folder: Path, shuffle: bool) -> tuple[Path, Path]:
    """survey.csv in long form: respondents (id, city, toa) and nominations (city, ego, alter, relation)."""
    rows = list(csv.DictReader(SURVEY.open(newline="")))
    noms = [
        {"city": r["city"], "ego": r["id"], "alter": r[f"{p}_{k}"], "relation": name}
        for r in rows
        for name, p in RELATIONS.items()
        for k in (1, 2, 3)
        if r[f"{p}_{k}"]
    ]
    if shuffle:
        random.Random(5).shuffle(noms)
    people = folder / "respondents.csv"
    with people.open("w", newline="") as f:
        w = csv.DictWriter(f, ["id", "city", "toa", "note"])
        w.writeheader()
        w.writerows({"id": r["id"], "city": r["city"], "toa": r["toa"], "note": "x"} for r in rows)
    nominations = folder / "nominations.csv"
    with nominations.open("w", newline="") as f:
        w = csv.DictWriter(f, ["city", "ego", "alter", "relation"])
        w.writeheader()
        w.writerows(noms)
    return people, nominations


def assert_same_community(a, b):
    pa, pb = a.population, b.population
    for name in ("role", "leader_kind", "village", "household_size", "marginalised", "labels", "initial"):
        np.testing.assert_array_equal(getattr(pa, name), getattr(pb, name), err_msg=name)
    np.testing.assert_array_equal(pa.adoption_time, pb.adoption_time)
    assert pa.village_names == pb.village_names
    assert list(a.network.layers) == list(b.network.layers)
    for name, e in a.network.layers.items():
        f = b.network.layers[name]
        for part in ("src", "dst", "weight"):
            np.testing.assert_array_equal(getattr(e, part), getattr(f, part), err_msg=f"{name}.{part}")
    assert a.network.directed == b.network.directed
    assert a.network.layer_weights == b.network.layer_weights


@pytest.mark.parametrize("shuffle", [False, True], ids=["file order", "shuffled nominations"])
def test_wide_and_long_tables_give_the_same_community(tmp_path, shuffle):
    wide = read_survey(medinnovations(start=3))
    people, nominations = long_tables(tmp_path, shuffle)
    long = read_survey(
        survey(
            file=str(people),
            format="long",
            nominations=str(nominations),
            relation="relation",
            community="city",
            ids="local",
            adoption_time="toa",
            never=18,
            start=3,
            relations={name: {} for name in RELATIONS},
        )
    )
    assert_same_community(wide, long)
    for name in RELATIONS:  # the long table has no blank cells; every other count agrees
        assert long.cleaning.relations[name] == RelationCounts(**{**vars(wide.cleaning.relations[name]), "blank": 0})
    assert long.cleaning.files == (str(people), str(nominations))


def test_directed_round_trip_csv_to_graphml_keeps_every_arc(tmp_path):
    original = read_survey(medinnovations(start=3))
    path = tmp_path / "medinnovations.graphml"
    write_graphml_community(original, path)
    g = nx.read_graphml(path)
    assert g.is_directed() and g.number_of_edges() == 450
    # the file's arcs go from the respondent who named to the colleague named
    pop = original.population
    node = {i: f"{pop.village_label(pop.village[i])}:{pop.labels[i]}" for i in range(pop.n)}
    for name, e in original.network.layers.items():
        file_arcs = sorted((u, v) for u, v, d in g.edges(data=True) if d["layer"] == name)
        assert file_arcs == sorted((node[a], node[b]) for a, b in pairs_of(e)), name
    back = read_survey(
        survey(
            file=str(path),
            id="label",
            community="village",
            ids="local",
            adoption_time="adoption_time",
            start=3,
            relation="layer",
            relations={name: {} for name in RELATIONS},
        )
    )
    assert_same_community(original, back)
    assert back.cleaning.total("ties") == 450 and back.cleaning.total("unsurveyed") == 0


def test_a_directed_community_is_not_written_as_an_undirected_edges_csv(tmp_path):
    c = read_survey(medinnovations())
    with pytest.raises(ValueError, match="advice, discussion, friendship are directed"):
        write_csv_community(c, tmp_path / "n.csv", tmp_path / "e.csv")
    assert list(tmp_path.iterdir()) == []


GRAPHML = """\
<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="i" for="node" attr.name="pid" attr.type="string"/>
  <key id="t" for="node" attr.name="toa" attr.type="int"/>
  <key id="r" for="edge" attr.name="rel" attr.type="string"/>
  <graph edgedefault="DIRECTION">
    <node id="n0"><data key="i">10</data><data key="t">1</data></node>
    <node id="n1"><data key="i">11.0</data><data key="t">4</data></node>
    <node id="n2"><data key="i">12</data><data key="t">2</data></node>
    <edge id="e0" source="n0" target="n1"><data key="r">advice</data></edge>
    <edge id="e1" source="n1" target="n0"><data key="r">friend</data></edge>
    <edge id="e2" source="n1" target="n1"><data key="r">advice</data></edge>
    <edge id="e3" source="n2" target="n9"><data key="r">advice</data></edge>
    <edge id="e4" source="n0" target="n1"><data key="r">advice</data></edge>
    <edge id="e5" source="n1" target="n0"><data key="r">advice</data></edge>
  </graph>
</graphml>
"""


def test_graphml_survey_cleaning_directed_and_undirected(tmp_path):
    mapping = {"id": "pid", "adoption_time": "toa", "relation": "rel", "relations": {"advice": {}, "friend": {}}}
    path = write(tmp_path / "s.graphml", GRAPHML.replace("DIRECTION", "directed"))
    c = read_survey(survey(file=str(path), **mapping))
    assert c.population.labels.tolist() == ["10", "11", "12"]
    assert c.network.directed == {"advice", "friend"}
    assert pairs_of(c.network.layers["advice"]) == [(0, 1), (1, 0)]
    assert c.cleaning.relations["advice"] == RelationCounts(
        nominations=5, self_nominations=1, unsurveyed=1, repeated=1, ties=2
    )
    assert c.cleaning.decimal_ids == 1  # the id 11.0
    # an undirected graph: e0, e4 and e5 are one tie
    path = write(tmp_path / "u.graphml", GRAPHML.replace("DIRECTION", "undirected"))
    u = read_survey(survey(file=str(path), **mapping))
    assert u.network.directed == set()
    assert u.cleaning.relations["advice"] == RelationCounts(
        nominations=5, self_nominations=1, unsurveyed=1, repeated=2, ties=1
    )
    with pytest.raises(UserError) as info:
        read_survey(survey(file=str(path), **mapping, strict=True))
    assert str(info.value) == (
        f"{path}: node 'n1': attribute 'pid': id written as a decimal ('11.0'); expected a whole number such as 11 "
        "(strict: true; with strict: false it is read as 11)"
    )


def test_graphml_cleaning_rules_are_errors_when_strict(tmp_path):
    mapping = {"id": "pid", "relation": "rel", "relations": {"advice": {}, "friend": {}}, "strict": True}
    text = GRAPHML.replace("DIRECTION", "directed").replace("11.0", "11")
    path = write(tmp_path / "s.graphml", text)
    with pytest.raises(UserError) as info:
        read_survey(survey(file=str(path), **mapping))
    assert str(info.value) == (
        f"{path}: edge 'e4' from 'n0' to 'n1' (and 2 more nominations): attribute 'target': respondent 10 names 11 "
        "again in relation 'advice' (first: edge 'e0' from 'n0' to 'n1', attribute 'target'); expected each person "
        "once per relation (strict: true; with strict: false it is merged)"
    )
    path = write(tmp_path / "s.graphml", re.sub(r'<edge id="e[0-24-5]".*?</edge>', "", text))
    with pytest.raises(UserError) as info:
        read_survey(survey(file=str(path), **mapping))
    assert str(info.value) == (
        f"{path}: edge 'e3' from 'n2' to 'n9': attribute 'target': 'n9' is not a declared node (not surveyed); "
        "expected a node declared in the file with its attributes (strict: true; with strict: false it is dropped)"
    )


def test_graphml_node_id_is_the_respondent_id_without_the_attribute(tmp_path):
    text = GRAPHML.replace("DIRECTION", "directed").replace('"n', '"').replace("11.0", "11")
    path = write(tmp_path / "s.graphml", text)
    c = read_survey(survey(file=str(path), id="number", relation="rel", relations={"advice": {}, "friend": {}}))
    assert c.population.labels.tolist() == ["0", "1", "2"]


# -------------------------------------------------------------------------- cleaning rules, by hand

TINY = """\
id,village,toa,adv1,adv2,fr1
1,A,1,2,2,3
2,A,2,2,9,
3.0,A,18,1.0,,1
1,B,3,1,2,
2,B,,,1,1
"""
TINY_MAPPING = {
    "community": "village",
    "ids": "local",
    "adoption_time": "toa",
    "never": 18,
    "start": 2,
    "relations": {"advice": ["adv1", "adv2"], "friendship": {"columns": ["fr1"], "weight": 0.5}},
}


def tiny(tmp_path, text=TINY, **extra):
    path = write(tmp_path / "tiny.csv", text)
    return path, survey(file=str(path), **{**TINY_MAPPING, **extra})


def test_every_cleaning_rule_on_a_tiny_survey(tmp_path):
    _, mapping = tiny(tmp_path)
    c = read_survey(mapping)
    report = c.cleaning
    # agents: A1 A2 A3 B1 B2; row 1 names 2 twice (merged); row 2 names itself and 9 (not surveyed);
    # row 3's id and its first nomination are decimals; B1 names itself; B2 names B1 in both relations
    assert c.population.labels.tolist() == ["1", "2", "3", "1", "2"]
    assert c.population.village.tolist() == [0, 0, 0, 1, 1]
    assert report.relations["advice"] == RelationCounts(
        nominations=8, blank=2, decimal_ids=1, self_nominations=2, unsurveyed=1, repeated=1, ties=4
    )
    assert report.relations["friendship"] == RelationCounts(nominations=3, blank=2, ties=3)
    assert report.decimal_ids == 1 and report.total("decimal_ids") == 2
    advice, friendship = c.network.layers["advice"], c.network.layers["friendship"]
    assert pairs_of(advice) == [(0, 1), (2, 0), (3, 4), (4, 3)]
    assert pairs_of(friendship) == [(0, 2), (2, 0), (4, 3)]
    assert c.network.layer_weights == {"advice": 1.0, "friendship": 0.5}
    np.testing.assert_array_equal(c.population.adoption_time, [1, 2, np.nan, 3, np.nan])
    assert c.population.initial.tolist() == [True, False, False, False, False]
    assert (report.adopted, report.never, report.unknown, report.initial) == (3, 1, 1, 1)
    frame = report.to_frame()
    assert frame.loc["total"].to_dict() == {
        "nominations": 11,
        "blank": 4,
        "decimal_ids": 2,
        "self_nominations": 2,
        "unsurveyed": 1,
        "repeated": 1,
        "ties": 7,
    }


CLEAN = """\
id,village,toa,adv1,adv2,fr1
1,A,1,2,,3
2,A,2,,,
3,A,18,1,,1
1,B,3,2,,
2,B,,,1,1
"""


def replace_cell(text: str, line: int, column: str, value: str) -> str:
    lines = text.splitlines()
    header = lines[0].split(",")
    cells = lines[line - 1].split(",")
    cells[header.index(column)] = value
    lines[line - 1] = ",".join(cells)
    return "\n".join(lines) + "\n"


STRICT_CASES = {
    "self-nomination": (
        (3, "adv1", "2"),
        "line 3: column 'adv1': respondent 2 names themself in relation 'advice'; expected someone else "
        "(strict: true; with strict: false it is dropped)",
    ),
    "not surveyed": (
        (3, "adv2", "9"),
        "line 3: column 'adv2': '9' is not a respondent of community 'A'; expected the id of a respondent "
        "(strict: true; with strict: false it is dropped)",
    ),
    "repeated": (
        (2, "adv2", "2"),
        "line 2: column 'adv2': respondent 1 names 2 again in relation 'advice' (first: line 2, column 'adv1'); "
        "expected each person once per relation (strict: true; with strict: false it is merged)",
    ),
    "decimal alter": (
        (4, "adv1", "1.0"),
        "line 4: column 'adv1': id written as a decimal ('1.0'); expected a whole number such as 1 "
        "(strict: true; with strict: false it is read as 1)",
    ),
    "decimal respondent": (
        (4, "id", "3.0"),
        "line 4: column 'id': id written as a decimal ('3.0'); expected a whole number such as 3 "
        "(strict: true; with strict: false it is read as 3)",
    ),
    "decimal community": (
        (5, "village", "7.0"),
        "line 5: column 'village': id written as a decimal ('7.0'); expected a whole number such as 7 "
        "(strict: true; with strict: false it is read as 7)",
    ),
}


@pytest.mark.parametrize("case", STRICT_CASES, ids=list(STRICT_CASES))
def test_each_cleaning_rule_is_an_error_when_strict(tmp_path, case):
    (line, column, value), message = STRICT_CASES[case]
    path, lenient = tiny(tmp_path, replace_cell(CLEAN, line, column, value))
    report = read_survey(lenient).cleaning  # cleaned and counted without strict
    assert report.total("ties") + report.total("self_nominations") + report.total("unsurveyed") + report.total(
        "repeated"
    ) == report.total("nominations")
    with pytest.raises(UserError) as info:
        read_survey(lenient.model_copy(update={"strict": True}))
    assert str(info.value) == f"{path}: {message}"


def test_the_clean_survey_passes_strict(tmp_path):
    _, mapping = tiny(tmp_path, CLEAN, strict=True)
    report = read_survey(mapping).cleaning
    assert report.strict and report.total("ties") == report.total("nominations") == 7


def test_strict_reports_the_first_problem_in_file_order_and_counts_the_rest(tmp_path):
    text = TINY.replace("3.0,A", "3,A")
    path, mapping = tiny(tmp_path, text, strict=True)
    with pytest.raises(UserError) as info:
        read_survey(mapping)
    assert str(info.value).startswith(f"{path}: line 2 (and 4 more nominations): column 'adv2': respondent 1 names 2")


# ---------------------------------------------------------------------------------------- malformed input


MALFORMED = {
    "non-numeric id": (
        (3, "id", "x7"),
        {},
        "line 3: column 'id': expected a respondent id (a whole number), got 'x7'",
    ),
    "empty id": ((3, "id", ""), {}, "line 3: column 'id': empty respondent id; expected a whole number"),
    "empty community": (
        (3, "village", ""),
        {},
        "line 3: column 'village': empty community; expected the respondent's community",
    ),
    "duplicate respondent in a community": (
        (3, "id", "1"),
        {},
        "line 3: column 'id': respondent 1 is listed twice in community 'A', first on line 2; "
        "expected one row per respondent",
    ),
    "duplicate respondent, global ids": (
        (5, "id", "3"),
        {"ids": "global", "relations": {"advice": ["adv1"]}},
        "line 5 (and 1 more lines): column 'id': respondent 3 is listed twice, first on line 4; ids are unique in "
        "the file (ids: global); expected one row per respondent",
    ),
    "adoption time not a number": (
        (3, "toa", "soon"),
        {},
        "line 3: column 'toa': expected a number (the time of adoption), the never-adopted code '18' or empty "
        "(not known), got 'soon'",
    ),
    "non-numeric nomination": (
        (2, "adv2", "bob"),
        {},
        "line 2: column 'adv2': expected the id of the person named (a whole number) or empty, got 'bob'",
    ),
    "threshold above 1": (
        (2, "adv2", "1.5"),
        {"threshold": "adv2", "relations": {"advice": ["adv1"], "friendship": ["fr1"]}},
        "line 2: column 'adv2': expected a threshold from 0 to 1 (the fractional threshold rule), or empty to "
        "draw it from the role, got '1.5'",
    ),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_input_is_one_error_naming_file_line_and_column(tmp_path, case):
    (line, column, value), extra, message = MALFORMED[case]
    path, mapping = tiny(tmp_path, replace_cell(CLEAN, line, column, value), **extra)
    with pytest.raises(UserError) as info:
        read_survey(mapping)
    assert str(info.value) == f"{path}: {message}"


def test_ids_repeating_across_communities_without_a_community_column_get_a_hint(tmp_path):
    """The newcomer's mistake on the medical-innovation data: ids numbered per city, no community column named."""
    path = write(tmp_path / "s.csv", CLEAN)
    with pytest.raises(UserError) as info:
        read_survey(survey(file=str(path), relations={"advice": ["adv1", "adv2"]}))
    assert str(info.value) == (
        f"{path}: line 5 (and 1 more lines): column 'id': respondent 1 is listed twice, first on line 2; if ids are "
        "numbered within each community, name its column (community: COLUMN, ids: local); expected one row per "
        "respondent"
    )


def test_missing_file_and_missing_column(tmp_path):
    with pytest.raises(UserError) as info:
        read_survey(survey(file=str(tmp_path / "nope.csv"), relations={"advice": ["a1"]}))
    assert str(info.value) == f"{tmp_path / 'nope.csv'}: file not found"
    path, mapping = tiny(tmp_path, CLEAN.replace("toa", "month"))
    with pytest.raises(UserError) as info:
        read_survey(mapping)
    assert str(info.value) == (
        f"{path}: line 1 (header): missing required column 'toa'; expected columns id, village, toa, adv1, adv2, "
        "fr1; found 'id', 'village', 'month', 'adv1', 'adv2', 'fr1'"
    )


ROLE_MAPPING = {
    "community": "village",
    "role": {"column": "job", "values": {"farmer": "household", "imam": "leader", "nurse": "health_worker"}},
    "leader_kind": {"column": "kind", "values": {"religious": "religious", "chief": "traditional"}},
    "household_size": "size",
    "marginalised": "poor",
    "relations": {"advice": ["adv"]},
}


def test_roles_kinds_sizes_and_marginalised_from_columns(tmp_path):
    text = "id,village,job,kind,size,poor,adv\n1,A,farmer,,4,yes,2\n2,A,imam,religious,,no,\n3,A,nurse,,,,\n4,A,,,,,\n"
    path = write(tmp_path / "r.csv", text)
    pop = read_survey(survey(file=str(path), **ROLE_MAPPING)).population
    assert pop.role.tolist() == [0, 1, 2, 0]  # an empty cell is a household
    assert pop.leader_kind.tolist() == [-1, 0, -1, -1]
    assert pop.household_size.tolist() == [4, 0, 0, 1]
    assert pop.marginalised.tolist() == [True, False, False, False]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (
            ("job", "vet"),
            "line 2: column 'job': unknown value 'vet', not in role.values; expected one of: 'farmer', 'imam', "
            "'nurse', or empty for a household",
        ),
        (
            ("kind", ""),
            "line 3: column 'kind': empty value, not in leader_kind.values; expected one of: 'religious', 'chief' "
            "(a leader needs a kind)",
        ),
        (
            ("size", "0"),
            "line 2: column 'size': expected a whole number from 1 to 32767, got '0'",
        ),
        (("poor", "maybe"), "line 2: column 'poor': expected true/false, yes/no or 1/0, got 'maybe'"),
    ],
)
def test_role_and_attribute_errors(tmp_path, cell, message):
    column, value = cell
    text = "id,village,job,kind,size,poor,adv\n1,A,farmer,,4,yes,2\n2,A,imam,religious,,no,\n"
    line = 3 if column == "kind" else 2
    path = write(tmp_path / "r.csv", replace_cell(text, line, column, value))
    with pytest.raises(UserError) as info:
        read_survey(survey(file=str(path), **ROLE_MAPPING))
    assert str(info.value) == f"{path}: {message}"


def test_long_form_errors(tmp_path):
    people = write(tmp_path / "people.csv", "id,city\n1,A\n2,A\n1,B\n")
    noms = tmp_path / "noms.csv"
    mapping = {
        "file": str(people),
        "format": "long",
        "nominations": str(noms),
        "community": "city",
        "ids": "local",
        "relation": "rel",
        "relations": {"advice": {}, "friendship": {"weight": 2}},
    }
    cases = [
        ("city,ego,alter,rel\nA,1,2,advise\n", "line 2: column 'rel': unknown relation 'advise'; expected one of "
         "the relations of the mapping (relations): advice, friendship"),
        ("city,ego,alter,rel\nA,1,2,advice\nB,2,1,advice\n", "line 3: column 'ego': 2 in community 'B' is not a "
         f"respondent; expected the id of a respondent of {people}"),
        ("city,ego,alter,rel\nC,1,2,advice\n", "line 2: column 'city': no respondent is in community 'C'; expected "
         f"a community of {people}"),
        ("city,ego,alter,rel\nA,,2,advice\n", "line 2: column 'ego': empty ego; expected the id of the respondent "
         "who named"),
        ("city,ego,alter\nA,1,2\n", "line 1 (header): missing required column 'rel'; expected columns ego, alter, "
         "rel, city; found 'city', 'ego', 'alter'"),
    ]  # fmt: skip
    for text, message in cases:
        write(noms, text)
        with pytest.raises(UserError) as info:
            read_survey(survey(**mapping))
        assert str(info.value) == f"{noms}: {message}"
    write(noms, "city,ego,alter,rel\nA,1,2,advice\nA,2,,friendship\nA,2,1,friendship\nB,1,,advice\n")
    c = read_survey(survey(**mapping))
    assert c.cleaning.relations["friendship"] == RelationCounts(nominations=1, blank=1, ties=1)
    assert c.network.layer_weights == {"advice": 1.0, "friendship": 2.0}


def test_graphml_errors(tmp_path):
    mapping = {"id": "pid", "relation": "rel", "relations": {"advice": {}, "friend": {}}}
    directed = GRAPHML.replace("DIRECTION", "directed")
    path = write(tmp_path / "s.graphml", directed.replace(">friend<", ">foe<"))
    with pytest.raises(UserError) as info:
        read_survey(survey(file=str(path), **mapping))
    assert str(info.value) == (
        f"{path}: edge 'e1' from 'n1' to 'n0': attribute 'rel': unknown relation 'foe'; expected one of the "
        "relations of the mapping (relations): advice, friend"
    )
    path = write(tmp_path / "s.graphml", directed)
    with pytest.raises(UserError) as info:
        read_survey(survey(file=str(path), **mapping, community="town"))
    assert str(info.value) == (
        f"{path}: no node has the attribute 'town'; expected node attributes town (the respondent id is the node "
        "attribute 'pid', or the node id); found 'pid', 'toa'"
    )
    path = write(tmp_path / "s.graphml", directed.replace('source="n2" target="n9"', 'source="n9" target="n2"'))
    with pytest.raises(UserError) as info:
        read_survey(survey(file=str(path), **mapping))
    assert str(info.value) == (
        f"{path}: edge 'e3' from 'n9' to 'n2': attribute 'source': 'n9' is not a declared node; expected the id "
        "of a respondent (a node declared in the file with its attributes)"
    )


# ------------------------------------------------------------------------------------------------ schema


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"relations": {"advice": []}},
            "relations.advice.columns is empty; the wide form needs the columns holding the relation's "
            "nominations, e.g. advice: [advice_1, advice_2, advice_3]",
        ),
        ({"format": "long", "relations": {"advice": {}}}, "the long form needs nominations"),
        ({"ids": "local", "relations": {"advice": ["a"]}}, "ids: local (respondent ids unique within a community)"),
        ({"start": 3, "relations": {"advice": ["a"]}}, "start needs adoption_time"),
        ({"relations": {"kin": ["a"]}}, "relations: 'kin' is the name of a generated layer"),
        ({"relations": {"advice": ["a"], "friends": ["a"]}}, "column 'a' is listed in relations advice and friends"),
        (
            {"role": {"column": "job", "values": {1: "leader"}}, "relations": {"advice": ["a"]}},
            "role maps a value to leader, so leader_kind must say",
        ),
        (
            {"format": "long", "nominations": "n.csv", "relations": {"advice": {}, "friends": {}}},
            "relations lists 2 relations, so relation must name the column",
        ),
        ({"file": "s.graphml", "format": "wide", "relations": {"advice": {}}}, "format applies to CSV files"),
    ],
)
def test_schema_checks_the_mapping(fields, message):
    data = {"community": {"survey": {"file": "s.csv", **fields}}}
    with pytest.raises(UserError) as info:
        scenario_from_dict(data)
    assert message in str(info.value)
    assert "community.survey" in str(info.value)


def test_schema_survey_and_imported_are_exclusive_and_codes_may_be_numbers():
    with pytest.raises(UserError, match="give either imported .* or survey .*, not both"):
        scenario_from_dict(
            {
                "community": {
                    "imported": {"graphml": "g.graphml"},
                    "survey": {"file": "s.csv", "relations": {"a": ["x"]}},
                }
            }
        )
    sc = scenario_from_dict(
        {
            "community": {
                "survey": {
                    "file": "s.csv",
                    "adoption_time": "toa",
                    "never": 18,
                    "relations": {"advice": ["x"]},
                    "role": {"column": "job", "values": {1: "household", 2.0: "health_worker"}},
                }
            }
        }
    )
    assert sc.community.survey.never == "18"
    assert sc.community.survey.role.values == {"1": "household", "2": "health_worker"}
    assert sc.community.survey.relations["advice"].columns == ["x"]


def test_generated_fields_say_they_are_ignored_for_files():
    from diffusion_sim.scenario.schema import Community

    for name in ("villages", "households", "household_size", "marginalised_share", "leaders", "health_workers"):
        assert (
            "Ignored when the community is imported or read from a survey" in Community.model_fields[name].description
        )


# ------------------------------------------------------------------------------------------ people table


def test_people_table_for_a_generated_community(tmp_path):
    people = write(tmp_path / "people.csv", "id,initial,threshold,marginalised\n0,yes,0.9,\n5,,,true\n7.0,no,,no\n")
    sc = apply_overrides(Scenario(), {"community.households": 20, "community.villages": 2, "community.seed": 4})
    plain = build_community(sc, 0)
    c = build_community(apply_overrides(sc, {"community.people": str(people)}), 0)
    assert np.flatnonzero(c.population.initial).tolist() == [0]
    assert np.flatnonzero(~np.isnan(c.population.threshold)).tolist() == [0] and c.population.threshold[0] == 0.9
    expected = plain.population.marginalised.copy()
    expected[5], expected[7] = True, False
    np.testing.assert_array_equal(c.population.marginalised, expected)
    for name, e in plain.network.layers.items():  # the network is the one generated
        np.testing.assert_array_equal(c.network.layers[name].src, e.src)
        np.testing.assert_array_equal(c.network.layers[name].dst, e.dst)


def test_people_table_for_a_survey_with_local_ids(tmp_path):
    _, mapping = tiny(tmp_path, CLEAN)
    people = write(tmp_path / "people.csv", "id,community,initial,threshold\n2,B,true,0.2\n1,A,false,\n")
    sc = scenario_from_dict({"community": {"survey": mapping.model_dump(), "people": str(people)}})
    c = build_community(sc, 0)
    assert c.population.initial.tolist() == [False, False, False, False, True]  # start 2 made A1 one; the table not
    np.testing.assert_array_equal(c.population.threshold, [np.nan, np.nan, np.nan, np.nan, 0.2])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,community,initial\n9,A,yes\n", "line 2: column 'id': '9' names nobody; expected the id of a respondent "
         "in that community of {survey}"),
        ("id,community,initial\n1,A,yes\n1,A,no\n", "line 3: column 'id': '1' is listed twice, first on line 2; "
         "expected one row per person"),
        ("id,community,initial\n1,A,perhaps\n", "line 2: column 'initial': expected true/false, yes/no or 1/0, got "
         "'perhaps'"),
        ("id,initial\n1,yes\n", "line 1 (header): missing required column 'community'; expected columns id, "
         "community (optional: initial, threshold, marginalised); found 'id', 'initial'"),
        ("id,community,initail\n1,A,yes\n", "line 1 (header): unknown column 'initail'; expected columns id, "
         "community (optional: initial, threshold, marginalised) (remove or rename the column: a misspelt optional "
         "column would otherwise be ignored)"),
    ],
)  # fmt: skip
def test_people_table_errors(tmp_path, text, message):
    path, mapping = tiny(tmp_path, CLEAN)
    people = write(tmp_path / "people.csv", text)
    sc = scenario_from_dict({"community": {"survey": mapping.model_dump(), "people": str(people)}})
    with pytest.raises(UserError) as info:
        build_community(sc, 0)
    assert str(info.value) == f"{people}: {message.format(survey=path)}"


def test_people_table_ids_of_a_generated_community_are_row_indices(tmp_path):
    people = write(tmp_path / "people.csv", "id,initial\n44,yes\n")
    sc = apply_overrides(Scenario(), {"community.households": 30, "community.villages": 2})
    with pytest.raises(UserError) as info:
        build_community(apply_overrides(sc, {"community.people": str(people)}), 0)
    assert str(info.value) == (
        f"{people}: line 2: column 'id': '44' names nobody; expected a row index from 0 to 43 (the agent column of "
        "the outputs)"
    )


# ------------------------------------------------------------------------------------------- validate, run


def test_validate_prints_the_network_and_the_cleaning_report(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert main(["validate", "scenarios/medical_innovation.yaml"]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    assert out.out.splitlines() == [
        "ok  scenarios/medical_innovation.yaml  (name: medical_innovation, survey community, 17 steps)",
        "  agents: 125 (household 125) in 4 communities (1: 62, 2: 24, 3: 21, 4: 18)",
        "  ties: 450 in 3 layers",
        "    advice      161  directed (arcs: who named whom), layer weight 1",
        "    discussion  165  directed (arcs: who named whom), layer weight 1",
        "    friendship  124  directed (arcs: who named whom), layer weight 0.5",
        "  per person: 20 initial adopters, 109 observed adoption times",
        "  survey cleaning (data/medinnovations/survey.csv; rules: diffusion_sim.network.survey):",
        "                                                    total  advice  discussion  friendship",
        "    nominations (people named)                        912     286         337         289",
        "    blank cells (no nomination)                       213      89          38          86",
        "    ids written as decimals, read as whole numbers      0       0           0           0",
        "    self-nominations, dropped                           0       0           0           0",
        "    named people not surveyed, dropped                462     125         172         165",
        "    repeated within a relation, merged                  0       0           0           0",
        "    ties kept                                         450     161         165         124",
        "  adoption times: 109 adopted, 16 never adopted, 0 not known; 20 adopted before 3: initial adopters",
    ]


def test_validate_reads_the_survey_file(tmp_path, capsys):
    f = write(tmp_path / "s.yaml", "community:\n  survey:\n    file: gone.csv\n    relations: {advice: [a1]}\n")
    assert main(["validate", str(f)]) == 2
    assert capsys.readouterr().err == f"error: {f}: {tmp_path / 'gone.csv'}: file not found\n"


def test_validate_warns_about_an_edges_file_with_only_a_header(tmp_path, capsys):
    write(tmp_path / "nodes.csv", "id,role,village\na,household,V\nb,household,V\n")
    write(tmp_path / "edges.csv", "source,target,layer\n")
    f = write(tmp_path / "s.yaml", "community: {imported: {nodes: nodes.csv, edges: edges.csv}}\n")
    assert main(["validate", str(f)]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines() == [
        f"ok  {f}  (name: default, imported community, 52 steps)",
        "  agents: 2 (household 2) in 1 village (V: 2)",
        "  ties: 0 in 0 layers",
    ]
    assert out.err == (
        f"warning: {f}: {tmp_path / 'edges.csv'} lists no ties (only a header line): every agent is isolated, so "
        "nobody influences anyone through the network\n"
    )


def test_validate_describes_a_generated_community_with_a_people_table(tmp_path, capsys):
    write(tmp_path / "people.csv", "id,initial\n3,yes\n")
    f = write(tmp_path / "s.yaml", "community: {households: 30, villages: 2, people: people.csv}\n")
    assert main(["validate", str(f)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"ok  {f}  (name: default, 30 households, 2 villages, 52 steps)"
    assert "  per person: 1 initial adopters" in out


def test_run_prints_the_cleaning_report(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    out_dir = tmp_path / "out"
    assert main(["run", "scenarios/medical_innovation.yaml", "--steps", "2", "--no-figure", "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "  survey cleaning (data/medinnovations/survey.csv; rules: diffusion_sim.network.survey):" in out
    assert re.search(r"named people not surveyed, dropped\s+462\s+125\s+172\s+165", out)
    assert (out_dir / "agents.csv").exists()


def test_relation_weights_are_parameters_by_dotted_path(tmp_path):
    sc = load_scenario(SCENARIO)
    heavier = apply_overrides(sc, ["community.survey.relations.friendship.weight=2"])
    assert build_community(heavier, 0).network.layer_weights["friendship"] == 2.0
    with pytest.raises(UserError) as info:
        apply_overrides(sc, ["community.survey.relations.frienship.weight=2"])
    assert str(info.value) == (
        "--set: unknown parameter 'community.survey.relations.frienship.weight': community.survey.relations has no "
        "entry 'frienship'; expected one of: advice, discussion, friendship"
    )
    with pytest.raises(UserError) as info:
        apply_overrides(sc, ["community.survey.relations.friendship.weight=200"])
    assert str(info.value) == (
        "--set: community.survey.relations.friendship.weight: Input should be less than or equal to 100 (got 200); "
        "expected number >= 0.0, <= 100.0"
    )
    f = write(
        tmp_path / "s.yaml",
        "community:\n  survey:\n    file: s.csv\n    relations:\n      advice: {columns: [a], wieght: 2}\n",
    )
    with pytest.raises(UserError) as info:
        load_scenario(f)
    assert str(info.value) == (
        f"{f}: line 5: community.survey.relations.advice.wieght: unknown key; expected one of: columns, weight"
    )


def test_people_table_for_an_imported_community(tmp_path):
    write(tmp_path / "nodes.csv", "id,role,village\n007,household,V\nh2,household,V\nW1,health_worker,V\n")
    write(tmp_path / "edges.csv", "source,target,layer\n007,h2,kin\n")
    write(tmp_path / "people.csv", "id,initial,marginalised\n007,yes,yes\nW1,true,true\n")
    f = write(tmp_path / "s.yaml", "community: {imported: {nodes: nodes.csv, edges: edges.csv}, people: people.csv}\n")
    pop = build_community(load_scenario(f), 0).population
    assert pop.initial.tolist() == [True, False, True]
    assert pop.marginalised.tolist() == [True, False, False]  # kept for households only
    write(tmp_path / "people.csv", "id,initial\n7,yes\n")  # ids of an imported community are text
    with pytest.raises(UserError) as info:
        build_community(load_scenario(f), 0)
    assert str(info.value) == (
        f"{tmp_path / 'people.csv'}: line 2: column 'id': '7' names nobody; expected a node id of "
        f"{tmp_path / 'nodes.csv'}"
    )
