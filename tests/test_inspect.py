"""diffusion-sim inspect: exposure at adoption against plain per-person Python, structure against networkx,
the command's outputs and its errors."""

from __future__ import annotations

import csv
import json
import re
from fractions import Fraction
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from diffusion_sim.atomic import MARKER
from diffusion_sim.cli import main
from diffusion_sim.community import Community, build_community
from diffusion_sim.diagnostics import (
    adoption_curve,
    arcs,
    average_clustering,
    components,
    degrees,
    exposure_at_adoption,
    inspect_community,
    local_clustering,
    projection,
    reciprocity,
    simulated_adoption_times,
)
from diffusion_sim.diagnostics.output import INSPECT_FILES, write_inspection
from diffusion_sim.diagnostics.tables import ALL_LAYERS
from diffusion_sim.network.graph import EdgeList, LayeredNetwork
from diffusion_sim.network.io import write_csv_community, write_graphml_community
from diffusion_sim.population import HOUSEHOLD, Population
from diffusion_sim.runner import run
from diffusion_sim.scenario import Scenario, apply_overrides

MEDINNOVATIONS = Path(__file__).resolve().parents[1] / "data" / "medinnovations" / "survey.csv"
"""The medical-innovation survey shipped with the project (data/medinnovations/README.md: provenance, licence)."""


def survey_community(n, layers, directed, times, village=None, names=None) -> Community:
    """A hand-built community of households: ``layers`` maps a name to (src, dst) pairs."""
    village = np.zeros(n, np.int32) if village is None else np.asarray(village, np.int32)
    n_villages = int(village.max()) + 1 if n else 1
    pop = Population(
        role=np.full(n, HOUSEHOLD, np.int8),
        leader_kind=np.full(n, -1, np.int8),
        village=village,
        household_size=np.ones(n, np.int16),
        marginalised=np.zeros(n, bool),
        congregation=np.full(n, -1, np.int32),
        catchment=np.full(n, -1, np.int32),
        n_villages=n_villages,
        labels=None if names is None else np.asarray(names),
        village_names=None if names is None else [f"v{k}" for k in range(n_villages)],
        adoption_time=None if times is None else np.asarray(times, np.float64),
    )
    edge_lists = {}
    for name, pairs in layers.items():
        e = np.asarray(pairs, np.int64).reshape(-1, 2)
        edge_lists[name] = EdgeList.unit(e[:, 0], e[:, 1])
    return Community(pop, LayeredNetwork(n=n, layers=edge_lists, directed=set(directed)))


def reference_exposure(n, layers, directed, times, symmetrise=False):
    """Exposure at adoption person by person: {ego: share of ego's alters who adopted strictly earlier}.

    Plain Python on the raw lists, apart from the package: alters are the people ego named (directed
    layers) or is tied to (undirected layers), once each, never ego; ``None`` times mean never adopted.
    Returns the exposures of included adopters and the number of adopters without nominations.
    """
    alters = {i: set() for i in range(n)}
    for name, pairs in layers.items():
        for a, b in pairs:
            if a == b:
                continue
            alters[a].add(b)
            if name not in directed or symmetrise:
                alters[b].add(a)
    out, without = {}, 0
    for ego in range(n):
        if times[ego] is None:
            continue
        if not alters[ego]:
            without += 1
            continue
        earlier = [j for j in alters[ego] if times[j] is not None and times[j] < times[ego]]
        out[ego] = Fraction(len(earlier), len(alters[ego]))
    return out, without


# A small survey: 9 people, directed advice and friend nominations with ties in both directions and a
# person named in two relations, an undirected household layer, simultaneous adoptions (time 2 twice,
# time 5 twice), never-adopters (None), an adopter who named nobody (7), a never-adopter named by
# others (6), and a self-nomination (8 names 8, ignored).
SURVEY_N = 9
SURVEY = {
    "advice": [(0, 1), (1, 0), (2, 0), (2, 1), (3, 2), (4, 2), (4, 3), (5, 6), (1, 4), (8, 8), (8, 5)],
    "friend": [(2, 0), (3, 4), (4, 3), (6, 5), (0, 3)],
    "household": [(5, 8)],
}
SURVEY_DIRECTED = {"advice", "friend"}
SURVEY_TIMES = [1.0, 2.0, 2.0, 5.0, 5.0, 3.0, None, 4.0, 6.0]


def included_exposures(e) -> dict[int, float]:
    return {int(i): float(e.exposure[i]) for i in np.flatnonzero(e.included)}


def nan_times(times):
    return [np.nan if t is None else t for t in times]


@pytest.mark.parametrize("symmetrise", [False, True])
def test_exposure_at_adoption_matches_a_plain_computation_on_a_hand_built_survey(symmetrise):
    c = survey_community(SURVEY_N, SURVEY, SURVEY_DIRECTED, nan_times(SURVEY_TIMES))
    e = exposure_at_adoption(c, symmetrise=symmetrise)
    expected, without = reference_exposure(SURVEY_N, SURVEY, SURVEY_DIRECTED, SURVEY_TIMES, symmetrise)
    assert included_exposures(e) == pytest.approx({i: float(v) for i, v in expected.items()})
    assert np.isnan(e.exposure[~e.included]).all()
    assert e.without_nominations == without
    assert e.mean == pytest.approx(float(sum(expected.values()) / len(expected)))


def test_exposure_at_adoption_by_hand():
    c = survey_community(SURVEY_N, SURVEY, SURVEY_DIRECTED, nan_times(SURVEY_TIMES))
    e = exposure_at_adoption(c)
    # 2 (t=2) named 0 (t=1) and 1 (t=2, the same time: not earlier): 1/2
    assert e.exposure[2] == 0.5 and e.alters[2] == 2 and e.earlier[2] == 1
    # 3 (t=5) named 2 (t=2) and 4 (t=5, simultaneous): 1/2; 4 named 2, 3: 1/2
    assert e.exposure[3] == 0.5 and e.exposure[4] == 0.5
    # 5 (t=3) named 6, who never adopted, and shares a household (undirected) with 8 (t=6, later): 0/2
    assert e.exposure[5] == 0 and e.alters[5] == 2
    # 7 adopted but named nobody: excluded and counted; 6 never adopted: excluded
    assert np.isnan(e.exposure[7]) and e.without_nominations == 1 and np.isnan(e.exposure[6])
    # 8 named itself (ignored) and 5 (t=3 < 6), and is tied to 5 by household: one alter, adopted earlier
    assert e.alters[8] == 1 and e.exposure[8] == 1.0
    assert list(e.status()[[0, 6, 7]]) == ["adopter", "never adopted", "no nominations"]
    # symmetrised: 7 still names nobody and nobody names 7; 0 now also has 2 (named 0 twice: once)
    s = exposure_at_adoption(c, symmetrise=True)
    assert s.alters[0] == 3 and s.without_nominations == 1


def test_exposure_refuses_bad_times():
    c = survey_community(3, {"advice": [(0, 1)]}, {"advice"}, None)
    with pytest.raises(ValueError, match="no adoption times"):
        exposure_at_adoption(c)
    with pytest.raises(ValueError, match="shape"):
        exposure_at_adoption(c, np.zeros(2))
    with pytest.raises(ValueError, match="infinite"):
        exposure_at_adoption(c, np.array([0.0, np.inf, 1.0]))


# ---------------------------------------------------------------------------------- medinnovations


def read_medinnovations(path: Path = MEDINNOVATIONS):
    """The survey's rows (csv module), as (keys, times, nominations): keys ``(city, id)``, time None = never."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    keys = [(r["city"], r["id"]) for r in rows]
    times = [None if r["toa"] == "18" else int(r["toa"]) for r in rows]
    nominations = {
        rel: [(r["city"], r[f"net{rel}_{k}"]) for r in rows for k in (1, 2, 3)]  # per row, in order
        for rel in (1, 2, 3)
    }
    return rows, keys, times, nominations


def medinnovations_community():
    """The survey as a Community: three directed relations among surveyed physicians, cities as villages."""
    rows, keys, times, _ = read_medinnovations()
    index = {k: i for i, k in enumerate(keys)}
    layers = {}
    for rel, name in ((1, "advice"), (2, "discussion"), (3, "friend")):
        layers[name] = [
            (i, index[(r["city"], r[f"net{rel}_{k}"])])
            for i, r in enumerate(rows)
            for k in (1, 2, 3)
            if r[f"net{rel}_{k}"] and (r["city"], r[f"net{rel}_{k}"]) in index  # unsurveyed alters ignored
        ]
    cities = sorted({r["city"] for r in rows}, key=int)
    village = [cities.index(r["city"]) for r in rows]
    names = [f"{c}-{i}" for c, i in keys]
    c = survey_community(len(rows), layers, set(layers), nan_times(times), village, names)
    c.population.village_names = [f"city {x}" for x in cities]
    return c


def reference_medinnovations(symmetrise: bool) -> tuple[Fraction, int, int]:
    """Mean over adopters of the share of ego's nominated, surveyed alters who adopted strictly earlier."""
    rows, keys, times, _ = read_medinnovations()
    time_of = dict(zip(keys, times, strict=True))
    alters = {k: set() for k in keys}
    for r in rows:
        ego = (r["city"], r["id"])
        for col in [f"net{a}_{b}" for a in (1, 2, 3) for b in (1, 2, 3)]:
            alter = (r["city"], r[col])
            if r[col] and alter in time_of and alter != ego:
                alters[ego].add(alter)
                if symmetrise:
                    alters[alter].add(ego)
    shares, without = [], 0
    for ego in keys:
        if time_of[ego] is None:
            continue
        if not alters[ego]:
            without += 1
            continue
        earlier = sum(1 for j in alters[ego] if time_of[j] is not None and time_of[j] < time_of[ego])
        shares.append(Fraction(earlier, len(alters[ego])))
    return sum(shares) / len(shares), len(shares), without


@pytest.mark.parametrize("symmetrise", [False, True])
def test_medinnovations_exposure_matches_the_plain_computation(symmetrise):
    c = medinnovations_community()
    e = exposure_at_adoption(c, symmetrise=symmetrise)
    mean, included, without = reference_medinnovations(symmetrise)
    assert e.mean == pytest.approx(float(mean), abs=1e-12)
    assert (int(e.included.sum()), e.without_nominations) == (included, without)


def test_medinnovations_figures():
    # pinned from the plain computation above: 676/1485 as surveyed (the 0.455), 19073/44352 symmetrised
    # (the 0.430); 109 adopters, of whom 10 (5 symmetrised) named no surveyed colleague
    assert reference_medinnovations(False) == (Fraction(676, 1485), 99, 10)
    assert reference_medinnovations(True) == (Fraction(19073, 44352), 104, 5)
    ins = inspect_community(medinnovations_community())
    s = ins.exposure_summary.set_index(["scope", "ties"])
    assert s.loc[("all", "as given"), "mean"] == pytest.approx(0.455219, abs=1e-6)
    assert s.loc[("all", "symmetrised"), "mean"] == pytest.approx(0.430037, abs=1e-6)
    assert s.loc[("all", "as given"), "adopters"] == 109
    by_city = s.xs("as given", level="ties").drop(index="all")
    assert by_city["adopters"].sum() == 109 and by_city["included"].sum() == 99


# ---------------------------------------------------------------------------------- structure vs networkx


def random_layers(seed: int, n: int = 40):
    rng = np.random.default_rng(seed)
    layers = {
        "advice": [tuple(p) for p in rng.integers(0, n, (70, 2))],  # repeats and self-ties included
        "friend": [tuple(p) for p in rng.integers(0, n, (30, 2))],
        "kin": [tuple(p) for p in rng.integers(0, n, (25, 2))],
    }
    return n, layers, {"advice", "friend"}


def nx_digraph(n, layers, directed, names=None):
    """Arcs as a networkx DiGraph (undirected ties as two arcs), self-ties dropped."""
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    for name, pairs in layers.items():
        if names is not None and name not in names:
            continue
        for a, b in pairs:
            if a != b:
                g.add_edge(int(a), int(b))
                if name not in directed:
                    g.add_edge(int(b), int(a))
    return g


@pytest.mark.parametrize("seed", range(4))
def test_structure_measures_match_networkx(seed):
    n, layers, directed = random_layers(seed)
    c = survey_community(n, layers, directed, None)
    for names in (["advice"], ["kin"], None):
        a = arcs(c.network, names)
        g = nx_digraph(n, layers, directed, names)
        assert a.nnz == g.number_of_edges()
        if names == ["kin"]:
            assert reciprocity(a) == 1.0
        else:
            assert reciprocity(a) == pytest.approx(nx.overall_reciprocity(g))
        out, into = degrees(a)
        assert list(out) == [g.out_degree(i) for i in range(n)]
        assert list(into) == [g.in_degree(i) for i in range(n)]
        count, largest = components(a)
        weak = list(nx.weakly_connected_components(g))
        assert (count, largest) == (len(weak), max(map(len, weak)))
        u = g.to_undirected()
        p = projection(a)
        assert p.nnz == 2 * u.number_of_edges()
        clustering = nx.clustering(u)
        assert local_clustering(p) == pytest.approx([clustering[i] for i in range(n)])
        assert average_clustering(p) == pytest.approx(nx.average_clustering(u))


def test_clustering_on_a_dense_small_world_and_refusal():
    g = nx.connected_watts_strogatz_graph(300, 10, 0.1, seed=1)
    c = survey_community(300, {"kin": list(g.edges())}, set(), None)
    p = projection(arcs(c.network))
    assert average_clustering(p) == pytest.approx(nx.average_clustering(g))
    assert np.isnan(average_clustering(p, work_limit=10))  # refused, never estimated
    assert np.isnan(average_clustering(projection(arcs(survey_community(0, {}, set(), None).network))))


def test_layers_table_per_village_matches_networkx_on_each_village():
    n, layers, directed = random_layers(7, n=30)
    village = np.arange(n) % 3
    c = survey_community(n, layers, directed, None, village=village)
    ins = inspect_community(c)
    t = ins.layers.set_index(["scope", "layer"])
    assert list(ins.layers.columns[:3]) == ["scope", "layer", "kind"]
    assert t.loc[("all", ALL_LAYERS), "kind"] == "mixed" and t.loc[("all", "kin"), "kind"] == "undirected"
    g = nx_digraph(n, layers, directed)
    crossing = {frozenset(e) for e in g.edges() if village[e[0]] != village[e[1]]}
    assert t.loc[("all", ALL_LAYERS), "between_villages"] == len(crossing)
    assert t.loc[("all", ALL_LAYERS), "ties"] == g.to_undirected().number_of_edges()
    for v in range(3):
        sub = g.subgraph(np.flatnonzero(village == v).tolist())
        row = t.loc[(f"village={v}", ALL_LAYERS)]
        weak = list(nx.weakly_connected_components(sub))
        assert row["arcs"] == sub.number_of_edges()
        assert row["reciprocity"] == pytest.approx(nx.overall_reciprocity(sub))
        assert (row["components"], row["largest_component"]) == (len(weak), max(map(len, weak)))
        assert row["clustering"] == pytest.approx(nx.average_clustering(sub.to_undirected()))
        assert row["max_in_degree"] == max(d for _, d in sub.in_degree())
        deg = ins.degrees
        d = deg[(deg["scope"] == f"village={v}") & (deg["layer"] == ALL_LAYERS) & (deg["direction"] == "out")]
        counts = pd.Series([d for _, d in sub.out_degree()]).value_counts().sort_index()
        assert dict(zip(d["degree"], d["agents"], strict=True)) == counts.to_dict()
    assert ins.nodes["total"].tolist() == [30, 10, 10, 10]
    # directed ties: ties are arcs; undirected: ties once each
    assert t.loc[("all", "advice"), "ties"] == t.loc[("all", "advice"), "arcs"]
    assert t.loc[("all", "kin"), "arcs"] == 2 * t.loc[("all", "kin"), "ties"]


# ---------------------------------------------------------------------------------- simulated runs


def test_the_same_exposure_measure_reads_a_simulated_run():
    sc = apply_overrides(Scenario(), {"community.households": 200, "community.villages": 2, "schedule.steps": 15})
    community = build_community(sc, 3)
    result = run(sc, 3, replicates=[0, 1], community=community)
    t = simulated_adoption_times(result.agents, replicate=1)
    at = result.agents.query("replicate == 1").sort_values("agent")["adopted_at"].tolist()
    assert np.array_equal(np.isnan(t), np.array(at) < 0)
    e = exposure_at_adoption(community, t)
    times = [None if x < 0 else x for x in at]
    edges = {k: list(zip(v.src.tolist(), v.dst.tolist(), strict=True)) for k, v in community.network.layers.items()}
    expected, without = reference_exposure(community.n, edges, set(), times)
    assert included_exposures(e) == pytest.approx({i: float(v) for i, v in expected.items()})
    assert e.without_nominations == without
    with pytest.raises(ValueError, match="no replicate 5"):
        simulated_adoption_times(result.agents, replicate=5)


def test_adoption_curve():
    curve = adoption_curve(np.array([3.0, np.nan, 1.0, 3.0, 2.0]))
    assert curve.to_dict("list") == {
        "time": [1.0, 2.0, 3.0],
        "new_adopters": [1, 1, 2],
        "adopters": [1, 2, 4],
        "share": [0.2, 0.4, 0.8],
    }


# ---------------------------------------------------------------------------------- the command

SMALL = ["--set", "community.households=300", "--set", "community.villages=2"]


def small_scenario_file(tmp_path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text("name: small\ncommunity:\n  households: 300\n  villages: 2\n")
    return path


def test_without_out_it_prints_a_summary_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sc = small_scenario_file(tmp_path)
    assert main(["inspect", str(sc), "--seed", "2"]) == 0
    text = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.yaml"]
    community = build_community(apply_overrides(Scenario(), {"community.households": 300, "community.villages": 2}), 2)
    assert f"agents: {community.n:,} in 2 village(s)" in text
    kin = len(community.network.layers["kin"])
    assert re.search(rf"kin\s+undirected\s+{kin:,} ties", text)
    assert "adoption times: none" in text


def test_out_writes_every_table_figure_and_an_offline_page(tmp_path, capsys):
    sc = small_scenario_file(tmp_path)
    out = tmp_path / "inspect"
    assert main(["inspect", str(sc), "--out", str(out)]) == 0
    names = {"report.html", "nodes.csv", "layers.csv", "degrees.csv", "degree_distributions.png", "provenance.json"}
    assert {p.name for p in out.iterdir()} == names | {MARKER}
    assert names <= set(INSPECT_FILES)
    assert json.loads((out / MARKER).read_text())["command"] == "inspect"
    layers = pd.read_csv(out / "layers.csv")
    community = build_community(load(sc), 0)
    assert layers.query("scope == 'all' and layer == 'kin'")["ties"].item() == len(community.network.layers["kin"])
    assert set(layers["scope"]) == {"all", "village=0", "village=1"}
    page = (out / "report.html").read_text()
    assert_offline(page)
    assert (out / "degree_distributions.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["command"] == "inspect" and prov["seed"] == 0 and prov["inputs"][0]["path"] == str(sc)
    # again into the same folder: replaced, not refused
    assert main(["inspect", str(sc), "--out", str(out), "--seed", "1"]) == 0
    assert "wrote 6 files" in capsys.readouterr().out


def load(path):
    from diffusion_sim.scenario import load_scenario

    return load_scenario(path)


def assert_offline(page: str):
    for forbidden in ("http://", "https://", 'src="//', "<script", "<link", "url(", "@import"):
        assert forbidden not in page
    assert page.count('src="data:image/png;base64,') >= 1


@pytest.mark.parametrize("form", ["graphml", "csv"])
def test_community_files_are_inspected_as_read(tmp_path, capsys, form):
    community = build_community(apply_overrides(Scenario(), {"community.households": 120, "community.villages": 2}), 5)
    if form == "graphml":
        files = [tmp_path / "c.graphml"]
        write_graphml_community(community, files[0])
    else:
        files = [tmp_path / "nodes.csv", tmp_path / "edges.csv"]
        write_csv_community(community, *files)
    out = tmp_path / "out"
    assert main(["inspect", *map(str, files), "--out", str(out)]) == 0
    layers = pd.read_csv(out / "layers.csv").query("scope == 'all'").set_index("layer")
    expected = inspect_community(community).layers.query("scope == 'all'").set_index("layer")
    pd.testing.assert_frame_equal(layers, expected, check_dtype=False)
    assert "adoption times: none" in capsys.readouterr().out


def test_an_inspection_with_adoption_times_writes_its_curve_and_exposure(tmp_path):
    ins = inspect_community(medinnovations_community(), source="medinnovations <survey>", time_unit="month")
    out = tmp_path / "med"
    written = write_inspection(ins, out, {"seed": 0})
    assert set(written) == set(INSPECT_FILES)
    per_agent = pd.read_csv(out / "exposure_at_adoption.csv")
    assert per_agent["exposure"].mean() == pytest.approx(676 / 1485)
    assert per_agent["exposure_symmetrised"].mean() == pytest.approx(19073 / 44352)
    assert per_agent["status"].value_counts().to_dict() == {"adopter": 99, "never adopted": 16, "no nominations": 10}
    curve = pd.read_csv(out / "adoption_curve.csv").query("scope == 'all'")
    assert curve["adopters"].iloc[-1] == 109 and curve["time"].tolist() == list(range(1, 18))
    page = (out / "report.html").read_text()
    assert_offline(page)
    assert page.count('src="data:image/png;base64,') == 3
    assert "medinnovations &lt;survey&gt;" in page and "<survey>" not in page
    assert "0.455" in page and "0.430" in page and "city 4" in page
    for f in ("adoption_curve.png", "exposure_at_adoption.png"):
        assert (out / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


BAD_GRAPHML = "<graphml><graph><node id='a'>"


@pytest.mark.parametrize(
    "files, message",
    [
        (["missing.yaml"], "missing.yaml"),
        (["missing.graphml"], "missing.graphml"),
        (["bad.graphml"], "malformed GraphML"),
        (["nodes.csv"], "needs its edges CSV"),
        (["notes.txt"], "unknown kind of file '.txt'"),
        (["a.csv", "b.csv", "c.csv"], "3 files given"),
        (["bad.graphml", "nodes.csv"], "two files given"),
    ],
)
def test_bad_input_is_one_error_line_and_nothing_written(tmp_path, capsys, files, message):
    (tmp_path / "bad.graphml").write_text(BAD_GRAPHML)
    (tmp_path / "nodes.csv").write_text("id,role,village\na,household,v\n")
    (tmp_path / "notes.txt").write_text("hello")
    before = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / "out"
    assert main(["inspect", *(str(tmp_path / f) for f in files), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_set_is_for_scenarios_and_out_must_be_ours(tmp_path, capsys):
    g = tmp_path / "c.graphml"
    write_graphml_community(build_community(apply_overrides(Scenario(), {"community.households": 50}), 0), g)
    assert main(["inspect", str(g), "--set", "community.households=10"]) == 2
    assert "--set changes a scenario" in capsys.readouterr().err
    other = tmp_path / "run-out"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert main(["inspect", str(g), "--out", str(other)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "did not write" in err
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]


def test_simulate_reports_the_exposure_of_the_run_path(tmp_path, capsys):
    """`inspect SCENARIO --simulate` runs replicate 0 through the run path and measures that run."""
    sc = small_scenario_file(tmp_path)
    out = tmp_path / "sim"
    assert main(["inspect", str(sc), "--seed", "2", "--simulate", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    scenario = apply_overrides(Scenario(), {"community.households": 300, "community.villages": 2})
    community = build_community(scenario, 2)
    result = run(scenario, 2, replicates=[0], community=community)
    e = exposure_at_adoption(community, simulated_adoption_times(result.agents, 0))
    adopters = int((result.agents["adopted_at"] >= 0).sum())
    assert f"adoption times: {adopters:,} of {community.n:,} agents adopted" in text
    summary = pd.read_csv(out / "exposure_summary.csv")
    assert len(summary) and (out / "exposure_at_adoption.png").exists()
    table = pd.read_csv(out / "exposure_at_adoption.csv").dropna(subset=["exposure"])
    assert included_exposures(e) == pytest.approx(dict(zip(table["agent"], table["exposure"], strict=True)))
    assert summary.query("scope == 'all'")["adopters"].iloc[0] == adopters
    assert main(["inspect", str(tmp_path / "x.graphml"), "--simulate"]) == 2
    assert "--simulate runs a scenario" in capsys.readouterr().err
