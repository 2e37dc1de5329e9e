"""Importing and exporting communities: CSV and GraphML formats, errors, round trips, end to end."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from diffusion_sim.community import build_community
from diffusion_sim.errors import UserError
from diffusion_sim.network.io import (
    read_community,
    read_csv_community,
    read_graphml_community,
    write_csv_community,
    write_graphml_community,
)
from diffusion_sim.scenario import LAYERS, Scenario, apply_overrides
from diffusion_sim.scenario.schema import ImportedCommunity

NODES = """\
id,role,village,leader_kind,marginalised,household_size,congregation,catchment
007,household,North,,true,4,R1,W1
h2,household,North,,no,,R1,
h3,household,South,,0,2,,W1
R1,leader,North,religious,,,,
T1,leader,South,Traditional,,,,
W1,health_worker,South,,,,,
"""

EDGES = """\
source,target,layer,weight
007,h2,kin,2.5
h3,007,kin,
007,R1,congregation,1
h2,R1,congregation,1
R1,T1,leader,0.5
007,W1,catchment,1
h3,W1,catchment,1
007,h3,inter_village,0
h2,007,neighbour,1
"""


def write(path, text):
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def files(tmp_path, nodes=NODES, edges=EDGES):
    return write(tmp_path / "nodes.csv", nodes), write(tmp_path / "edges.csv", edges)


def pairs(edges):
    return sorted(
        zip(
            np.minimum(edges.src, edges.dst).tolist(),
            np.maximum(edges.src, edges.dst).tolist(),
            strict=True,
        )
    )


def small_scenario(**extra):
    return apply_overrides(Scenario(), {"community.households": 200, "community.villages": 3, **extra})


# ------------------------------------------------------------------------------------ reading


def test_csv_community_loads_exact_values(tmp_path):
    c = read_csv_community(*files(tmp_path))
    pop, net = c.population, c.network
    assert pop.n == 6 and net.n == 6
    assert pop.labels.tolist() == ["007", "h2", "h3", "R1", "T1", "W1"]
    assert pop.role.dtype == np.int8 and pop.role.tolist() == [0, 0, 0, 1, 1, 2]
    assert pop.leader_kind.dtype == np.int8 and pop.leader_kind.tolist() == [-1, -1, -1, 0, 1, -1]
    assert pop.village.dtype == np.int32 and pop.village.tolist() == [0, 0, 1, 0, 1, 1]
    assert pop.n_villages == 2 and pop.village_names == ["North", "South"]
    assert pop.household_size.dtype == np.int16 and pop.household_size.tolist() == [
        4,
        1,
        2,
        0,
        0,
        0,
    ]
    assert pop.marginalised.dtype == bool and pop.marginalised.tolist() == [
        True,
        False,
        False,
        False,
        False,
        False,
    ]
    assert pop.congregation.dtype == np.int32 and pop.congregation.tolist() == [
        3,
        3,
        -1,
        -1,
        -1,
        -1,
    ]
    assert pop.catchment.dtype == np.int32 and pop.catchment.tolist() == [5, -1, 5, -1, -1, -1]
    assert pop.counts() == {
        "household": 3,
        "religious_leader": 1,
        "traditional_leader": 1,
        "youth_leader": 0,
        "women_leader": 0,
        "health_worker": 1,
    }

    assert set(net.layers) == set(LAYERS)
    expected = {
        "kin": ([0, 2], [1, 0], [2.5, 1.0]),
        "congregation": ([0, 1], [3, 3], [1.0, 1.0]),
        "leader": ([3], [4], [0.5]),
        "catchment": ([0, 2], [5, 5], [1.0, 1.0]),
        "inter_village": ([0], [2], [0.0]),
        "neighbour": ([1], [0], [1.0]),
    }
    for name, (src, dst, w) in expected.items():
        e = net.layers[name]
        assert e.src.dtype == np.int32 and e.dst.dtype == np.int32 and e.weight.dtype == np.float32
        assert e.src.tolist() == src
        assert e.dst.tolist() == dst
        assert e.weight.tolist() == w


def test_csv_blank_lines_spaces_and_missing_optional_columns(tmp_path):
    nodes = "id , Role,village\n\n a , household , V \nb,household,V\n\n"
    edges = "source,target,layer\na,b,kin\n\n"
    c = read_csv_community(*files(tmp_path, nodes, edges))
    assert c.population.labels.tolist() == ["a", "b"]
    assert c.population.household_size.tolist() == [1, 1]
    assert c.population.congregation.tolist() == [-1, -1]
    assert list(c.network.layers) == ["kin"]
    assert c.network.layers["kin"].weight.tolist() == [1.0]


def test_header_only_edges_file_gives_no_ties(tmp_path):
    c = read_csv_community(*files(tmp_path, edges="source,target,layer,weight\n"))
    assert c.network.layers == {}


def test_read_community_drops_disabled_layers(tmp_path):
    nodes, edges = files(tmp_path)
    scenario = apply_overrides(Scenario(), {"network.kin.enabled": False, "network.leader.enabled": False})
    c = read_community(ImportedCommunity(nodes=str(nodes), edges=str(edges)), scenario)
    assert set(c.network.layers) == set(LAYERS) - {"kin", "leader"}
    assert c.network.layers["catchment"].src.tolist() == [0, 2]


# ------------------------------------------------------------------------------------- errors


def csv_error(tmp_path, nodes=NODES, edges=EDGES):
    n, e = files(tmp_path, nodes, edges)
    with pytest.raises(UserError) as info:
        read_csv_community(n, e)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def replace_line(text, line, new):
    lines = text.splitlines()
    lines[line - 1] = new
    return "\n".join(lines) + "\n"


def test_missing_file(tmp_path):
    write(tmp_path / "edges.csv", EDGES)
    with pytest.raises(UserError) as info:
        read_csv_community(tmp_path / "nope.csv", tmp_path / "edges.csv")
    assert "nope.csv" in str(info.value) and "not found" in str(info.value)


@pytest.mark.parametrize("which", ["nodes", "edges"])
@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_empty_file(tmp_path, which, content):
    kw = {which: content}
    msg = csv_error(tmp_path, **kw)
    assert f"{which}.csv" in msg and "empty" in msg
    assert "header" in msg


def test_nodes_without_rows(tmp_path):
    msg = csv_error(tmp_path, nodes="id,role,village\n")
    assert "nodes.csv" in msg and "no nodes" in msg


def test_missing_required_column_names_found_and_expected(tmp_path):
    msg = csv_error(tmp_path, edges="source,target,kind\n007,h2,kin\n")
    assert "edges.csv" in msg and "line 1" in msg
    assert "missing required column 'layer'" in msg
    assert "source, target, layer" in msg  # expected
    assert "'kind'" in msg  # found
    msg = csv_error(tmp_path, nodes="id,village\na,V\n")
    assert "nodes.csv" in msg and "'role'" in msg and "'id', 'village'" in msg


def test_unknown_role(tmp_path):
    msg = csv_error(tmp_path, nodes=replace_line(NODES, 4, "h3,chief,South,,,,,"))
    assert "nodes.csv" in msg and "line 4" in msg and "'role'" in msg and "'chief'" in msg
    assert "household, leader, health_worker" in msg


def test_unknown_leader_kind(tmp_path):
    msg = csv_error(tmp_path, nodes=replace_line(NODES, 6, "T1,leader,South,elder,,,,"))
    assert "nodes.csv" in msg and "line 6" in msg and "'leader_kind'" in msg and "'elder'" in msg
    assert "religious, traditional, youth, women" in msg


def test_leader_without_kind_and_kind_on_household(tmp_path):
    msg = csv_error(tmp_path, nodes=replace_line(NODES, 6, "T1,leader,South,,,,,"))
    assert "line 6" in msg and "'leader_kind'" in msg and "needs a kind" in msg
    msg = csv_error(tmp_path, nodes=replace_line(NODES, 3, "h2,household,North,youth,,,,"))
    assert "line 3" in msg and "'leader_kind'" in msg and "only leaders" in msg


def test_bad_marginalised_and_household_size(tmp_path):
    msg = csv_error(tmp_path, nodes=replace_line(NODES, 3, "h2,household,North,,maybe,,,"))
    assert "line 3" in msg and "'marginalised'" in msg and "'maybe'" in msg
    msg = csv_error(tmp_path, nodes=replace_line(NODES, 3, "h2,household,North,,,0,,"))
    assert "line 3" in msg and "'household_size'" in msg and "from 1" in msg
    msg = csv_error(tmp_path, nodes=replace_line(NODES, 3, "h2,household,North,,,big,,"))
    assert "line 3" in msg and "'household_size'" in msg and "'big'" in msg


def test_duplicate_node_id(tmp_path):
    msg = csv_error(tmp_path, nodes=NODES + "h2,household,South,,,,,\n")
    assert "nodes.csv" in msg and "line 8" in msg and "'id'" in msg and "'h2'" in msg and "(line 3)" in msg


def test_edge_naming_unknown_id(tmp_path):
    msg = csv_error(tmp_path, edges=replace_line(EDGES, 5, "h2,R9,congregation,1"))
    assert "edges.csv" in msg and "line 5" in msg and "'target'" in msg and "'R9'" in msg
    assert "nodes.csv" in msg


def test_ids_stay_strings(tmp_path):
    # "7" is not "007"
    msg = csv_error(tmp_path, edges=replace_line(EDGES, 2, "7,h2,kin,1"))
    assert "line 2" in msg and "'source'" in msg and "'7'" in msg


def test_self_loop(tmp_path):
    msg = csv_error(tmp_path, edges=replace_line(EDGES, 3, "h3,h3,kin,1"))
    assert "edges.csv" in msg and "line 3" in msg and "self-loop" in msg and "'h3'" in msg and "'target'" in msg


def test_unknown_layer(tmp_path):
    msg = csv_error(tmp_path, edges=replace_line(EDGES, 6, "R1,T1,friends,1"))
    assert "edges.csv" in msg and "line 6" in msg and "'layer'" in msg and "'friends'" in msg
    assert ", ".join(LAYERS) in msg


def test_negative_weight(tmp_path):
    msg = csv_error(tmp_path, edges=replace_line(EDGES, 6, "R1,T1,leader,-0.5"))
    assert "edges.csv" in msg and "line 6" in msg and "'weight'" in msg and "'-0.5'" in msg and ">= 0" in msg


@pytest.mark.parametrize("value", ["heavy", "nan", "inf", "1e400"])
def test_non_numeric_weight(tmp_path, value):
    msg = csv_error(tmp_path, edges=replace_line(EDGES, 4, f"007,R1,congregation,{value}"))
    assert "edges.csv" in msg and "line 4" in msg and "'weight'" in msg and repr(value) in msg
    assert "finite number" in msg


@pytest.mark.parametrize("dup", ["007,h2,kin,1", "h2,007,kin,1"])
def test_duplicate_tie_in_a_layer(tmp_path, dup):
    msg = csv_error(tmp_path, edges=EDGES + dup + "\n")
    assert "edges.csv" in msg and "line 11" in msg and "line 2" in msg and "kin" in msg
    assert "'007'" in msg and "'h2'" in msg


def test_same_pair_in_two_layers_is_fine(tmp_path):
    c = read_csv_community(*files(tmp_path, edges=EDGES + "007,h2,inter_village,1\n"))
    assert pairs(c.network.layers["inter_village"]) == [(0, 1), (0, 2)]


@pytest.mark.parametrize(
    ("column", "row", "value", "expected"),
    [
        ("congregation", "007,household,North,,,,R9,", "'R9'", "unknown node id"),
        ("congregation", "007,household,North,,,,T1,", "traditional leader", "religious leader"),
        ("catchment", "007,household,North,,,,,X", "'X'", "unknown node id"),
        ("catchment", "007,household,North,,,,,h2", "household", "health worker"),
    ],
)
def test_bad_congregation_or_catchment(tmp_path, column, row, value, expected):
    msg = csv_error(tmp_path, nodes=replace_line(NODES, 2, row))
    assert "nodes.csv" in msg and "line 2" in msg and f"'{column}'" in msg and value in msg and expected in msg


def test_row_with_too_many_fields(tmp_path):
    msg = csv_error(tmp_path, edges=replace_line(EDGES, 4, "007,R1,congregation,1,extra"))
    assert "edges.csv" in msg and "line 4" in msg


def test_line_numbers_count_blank_lines_and_quoted_newlines(tmp_path):
    nodes = 'id,role,village\n\n"a\nb",household,V\nc,household,V\n\nd,boss,V\n'
    msg = csv_error(tmp_path, nodes=nodes)
    assert "line 7" in msg and "'boss'" in msg


def test_many_bad_rows_reports_the_first_and_counts_the_rest(tmp_path):
    edges = "source,target,layer\n" + "007,h2,kin\n" + "h2,h3,bad\n" * 3
    msg = csv_error(tmp_path, edges=edges)
    assert "line 3 (and 2 more lines)" in msg


def test_malformed_graphml(tmp_path):
    path = write(tmp_path / "c.graphml", "<graphml><graph><node id='a'>\n")
    with pytest.raises(UserError) as info:
        read_graphml_community(path)
    assert "c.graphml" in str(info.value) and "malformed GraphML" in str(info.value)
    write(path, "id,role,village\n")
    with pytest.raises(UserError, match="malformed GraphML"):
        read_graphml_community(path)
    write(path, "<root/>")
    with pytest.raises(UserError, match="malformed GraphML"):
        read_graphml_community(path)


GRAPHML = """\
<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="r" for="node" attr.name="role" attr.type="string"/>
  <key id="v" for="node" attr.name="village" attr.type="string"/>
  <key id="k" for="node" attr.name="leader_kind" attr.type="string"/>
  <key id="l" for="edge" attr.name="layer" attr.type="string"/>
  <key id="w" for="edge" attr.name="weight" attr.type="double"/>
  <graph edgedefault="undirected">
    <node id="a"><data key="r">household</data><data key="v">V</data></node>
    <node id="b"><data key="r">household</data><data key="v">V</data></node>
    <node id="c"><data key="r">leader</data><data key="v">V</data><data key="k">youth</data></node>
    <edge id="e1" source="a" target="b"><data key="l">kin</data></edge>
    <edge id="e2" source="a" target="b"><data key="l">neighbour</data><data key="w">2</data></edge>
    <edge id="e3" source="c" target="a"><data key="l">leader</data></edge>
    EXTRA
  </graph>
</graphml>
"""


def test_graphml_small_file(tmp_path):
    c = read_graphml_community(write(tmp_path / "c.graphml", GRAPHML.replace("EXTRA", "")))
    assert c.population.labels.tolist() == ["a", "b", "c"]
    assert c.population.role.tolist() == [0, 0, 1]
    assert c.population.leader_kind.tolist() == [-1, -1, 2]
    assert {k: pairs(e) for k, e in c.network.layers.items()} == {
        "kin": [(0, 1)],
        "neighbour": [(0, 1)],
        "leader": [(0, 2)],
    }
    assert c.network.layers["neighbour"].weight.tolist() == [2.0]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (
            '<edge id="e4" source="b" target="a"><data key="l">kin</data></edge>',
            ["'e4'", "kin", "already listed", "'e1'"],
        ),
        (
            '<edge id="e4" source="a" target="zz"><data key="l">kin</data></edge>',
            ["'e4'", "'zz'", "target"],
        ),
        (
            '<edge id="e4" source="a" target="a"><data key="l">kin</data></edge>',
            ["'e4'", "self-loop"],
        ),
        (
            '<edge id="e4" source="a" target="c"><data key="l">x</data></edge>',
            ["'e4'", "'layer'", "'x'"],
        ),
        (
            '<edge id="e4" source="b" target="c"><data key="l">kin</data><data key="w">-1</data></edge>',
            ["'e4'", "'weight'"],
        ),
        (
            '<node id="d"><data key="r">chief</data><data key="v">V</data></node>',
            ["node 'd'", "'role'", "'chief'"],
        ),
        (
            '<node id="b"><data key="r">household</data><data key="v">W</data></node>',
            ["node 'b'", "'id'", "duplicate"],
        ),
    ],
)
def test_graphml_errors_name_the_node_or_edge(tmp_path, extra, words):
    path = write(tmp_path / "c.graphml", GRAPHML.replace("EXTRA", extra))
    with pytest.raises(UserError) as info:
        read_graphml_community(path)
    msg = str(info.value)
    assert "c.graphml" in msg
    for w in words:
        assert w in msg


# ------------------------------------------------------------------------------- round trips


def assert_same_population(a, b):
    for name in (
        "role",
        "leader_kind",
        "village",
        "household_size",
        "marginalised",
        "congregation",
        "catchment",
    ):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    assert a.n_villages == b.n_villages


def tie_weights(e):
    """{(min, max): weight} of one layer."""
    lo, hi = np.minimum(e.src, e.dst).tolist(), np.maximum(e.src, e.dst).tolist()
    return dict(zip(zip(lo, hi, strict=True), e.weight.tolist(), strict=True))


def assert_same_ties(a, b):
    assert set(a.layers) == set(b.layers)
    for name in a.layers:
        assert pairs(a.layers[name]) == pairs(b.layers[name]), name
        assert tie_weights(a.layers[name]) == tie_weights(b.layers[name]), name


def test_generated_community_round_trips_through_csv(tmp_path):
    original = build_community(small_scenario(), seed=3)
    write_csv_community(original, tmp_path / "n.csv", tmp_path / "e.csv")
    back = read_csv_community(tmp_path / "n.csv", tmp_path / "e.csv")
    assert_same_population(original.population, back.population)
    assert_same_ties(original.network, back.network)
    assert back.population.labels.tolist() == [str(i) for i in range(original.n)]
    assert back.population.village_names == ["0", "1", "2"]
    # and again: exporting an imported community keeps its ids and village names
    write_csv_community(back, tmp_path / "n2.csv", tmp_path / "e2.csv")
    assert (tmp_path / "n2.csv").read_text() == (tmp_path / "n.csv").read_text()
    assert (tmp_path / "e2.csv").read_text() == (tmp_path / "e.csv").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.csv", "e2.csv", "n.csv", "n2.csv"]


def test_generated_community_round_trips_through_graphml(tmp_path):
    original = build_community(small_scenario(), seed=4)
    write_graphml_community(original, tmp_path / "c.graphml")
    back = read_graphml_community(tmp_path / "c.graphml")
    assert_same_population(original.population, back.population)
    assert_same_ties(original.network, back.network)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.graphml"]


def test_imported_labels_and_weights_round_trip(tmp_path):
    c = read_csv_community(*files(tmp_path))
    write_graphml_community(c, tmp_path / "c.graphml")
    back = read_graphml_community(tmp_path / "c.graphml")
    assert back.population.labels.tolist() == c.population.labels.tolist()
    assert back.population.village_names == ["North", "South"]
    assert_same_population(c.population, back.population)
    assert_same_ties(c.network, back.network)
    assert tie_weights(back.network.layers["kin"]) == {(0, 1): 2.5, (0, 2): 1.0}


# -------------------------------------------------------------------------------- end to end


def test_imported_community_runs_end_to_end(tmp_path):
    from diffusion_sim.model import DiffusionModel

    write_csv_community(build_community(small_scenario(), seed=5), tmp_path / "nodes.csv", tmp_path / "edges.csv")
    scenario = small_scenario(
        **{
            "community.imported": {
                "nodes": str(tmp_path / "nodes.csv"),
                "edges": str(tmp_path / "edges.csv"),
            }
        }
    )
    model = DiffusionModel(scenario, seed=1)
    result = model.run(5)
    coverage = result.series("coverage", "all")
    assert len(coverage) == 6
    assert ((coverage >= 0) & (coverage <= 1)).all()
    assert 0.0 <= model.coverage() <= 1.0
    assert set(result.agents["label"]) == {str(i) for i in range(model.n)}


def test_cli_reports_bad_edges_file_and_writes_nothing(tmp_path, capsys):
    from diffusion_sim.cli import main

    folder = tmp_path / "district"
    folder.mkdir()
    write(folder / "nodes.csv", NODES)
    write(folder / "edges.csv", replace_line(EDGES, 3, "h3,007,kin,-2"))
    write(
        folder / "scenario.yaml",
        "name: district\ncommunity: {imported: {nodes: nodes.csv, edges: edges.csv}}\n",
    )
    out = tmp_path / "out"
    code = main(["run", str(folder / "scenario.yaml"), "--out", str(out), "--steps", "2", "--no-figure"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error:")
    assert "edges.csv" in err[0] and "line 3" in err[0] and "'weight'" in err[0]
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["district"]
    assert sorted(p.name for p in folder.iterdir()) == ["edges.csv", "nodes.csv", "scenario.yaml"]


def test_unknown_csv_column_is_an_error(tmp_path):
    msg = csv_error(tmp_path, edges="source,target,layer,wieght\n007,h2,kin,2\n")
    assert "edges.csv" in msg and "line 1" in msg and "unknown column 'wieght'" in msg
