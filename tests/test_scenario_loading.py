"""Scenario files: extends, errors that name file, line and field, validate and schema commands."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from diffusion_sim.cli import main
from diffusion_sim.community import build_community
from diffusion_sim.errors import UserError
from diffusion_sim.network.io import write_csv_community
from diffusion_sim.scenario import Scenario, apply_overrides, load_scenario, scenario_from_dict, scenario_json_schema
from diffusion_sim.scenario.introspect import _submodel

# ------------------------------------------------------------------------------------ helpers


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def load_error(path: Path) -> str:
    with pytest.raises(UserError) as info:
        load_scenario(path)
    return str(info.value)


def run_error(path: Path, tmp_path: Path, capsys) -> str:
    """Run a bad scenario through the CLI: exit 2, one message, no traceback, nothing written."""
    before = tree(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--no-figure"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert not out.exists()
    assert tree(tmp_path) == before
    return err.removeprefix("error: ").rstrip("\n")


# --------------------------------------------------------------------- errors with lines


def test_unknown_key_at_top_level(tmp_path, capsys):
    f = write(tmp_path, "s.yaml", "name: x\nnmae: y\n")
    err = run_error(f, tmp_path, capsys)
    assert err.startswith(f"{f}: line 2: nmae: unknown key; expected one of: name, description, community, network")
    assert err == load_error(f)


def test_unknown_key_nested(tmp_path, capsys):
    f = write(tmp_path, "s.yaml", "# comment\nnetwork:\n  kin:\n    weight: 2\n    wieght: 3\n")
    err = run_error(f, tmp_path, capsys)
    assert (
        err == f"{f}: line 5: network.kin.wieght: unknown key; expected one of: enabled, weight, degree, rewire, reach"
    )


def test_wrong_type(tmp_path, capsys):
    f = write(tmp_path, "s.yaml", "name: x\nschedule:\n  days_per_step: 7\n  steps: ten\n")
    err = run_error(f, tmp_path, capsys)
    assert err == (
        f"{f}: line 4: schedule.steps: Input should be a valid integer (got 'ten'); expected int >= 0, <= 100000"
    )


def test_section_given_a_value(tmp_path, capsys):
    f = write(tmp_path, "s.yaml", "network:\n  kin: 3\n")
    err = run_error(f, tmp_path, capsys)
    assert err == (
        f"{f}: line 2: network.kin: expected a section: a mapping with keys enabled, weight, degree, rewire, "
        "reach (got 3)"
    )


def test_out_of_range_value(tmp_path, capsys):
    f = write(tmp_path, "s.yaml", "community:\n  villages: 2\n  households: 0\n")
    err = run_error(f, tmp_path, capsys)
    assert err == (
        f"{f}: line 3: community.households: Input should be greater than or equal to 1 (got 0); "
        "expected int >= 1, <= 20000000"
    )


def test_several_problems_are_listed_each_with_file_and_line(tmp_path, capsys):
    f = write(tmp_path, "s.yaml", "behaviour:\n  external: -1\ncommunity:\n  seed: -2\n  villages: x\n")
    err = run_error(f, tmp_path, capsys)
    lines = err.splitlines()
    assert lines[0] == f"{f}: 3 problems:"
    assert lines[1].startswith(f"  {f}: line 2: behaviour.external: Input should be greater than or equal to 0")
    assert lines[2].startswith(f"  {f}: line 4: community.seed: Input should be greater than or equal to 0 (got -2)")
    assert lines[2].endswith("expected int >= 0 (or null)")
    assert lines[3].startswith(f"  {f}: line 5: community.villages: Input should be a valid integer (got 'x')")


def test_fractional_threshold_mean_above_one_names_the_field_and_line(tmp_path, capsys):
    f = write(tmp_path, "s.yaml", "roles:\n  youth_leader:\n    threshold:\n      sd: 0.1\n      mean: 1.5\n")
    err = run_error(f, tmp_path, capsys)
    assert err == (
        f"{f}: line 5: roles.youth_leader.threshold.mean: the fractional threshold rule needs a fraction "
        "in [0, 1] (got 1.5)"
    )
    g = write(tmp_path, "absolute.yaml", f"extends: {f.name}\nbehaviour: {{threshold_rule: absolute}}\n")
    assert load_scenario(g).roles.youth_leader.threshold.mean == 1.5


def test_invalid_key_type(tmp_path, capsys):
    f = write(tmp_path, "s.yaml", "community:\n  3: 4\n")
    err = run_error(f, tmp_path, capsys)
    assert err == f"{f}: line 2: community.3: keys must be text (got 3)"


# ------------------------------------------------------------------------- unreadable files


def test_malformed_yaml(tmp_path, capsys):
    f = write(tmp_path, "s.yaml", "name: x\ncommunity:\n  households: [1, 2\n")
    err = run_error(f, tmp_path, capsys)
    assert err == (
        f"{f}: line 4, column 1: malformed YAML: expected ',' or ']', but got '<stream end>' "
        "(while parsing a flow sequence that starts at line 3, column 15)"
    )


def test_bad_indentation(tmp_path, capsys):
    f = write(tmp_path, "s.yaml", "community:\n  households: 5\n villages: 3\n")
    err = run_error(f, tmp_path, capsys)
    assert err.startswith(f"{f}: line 3, column 2: malformed YAML: ")


def test_invalid_date_like_value(tmp_path, capsys):
    f = write(tmp_path, "s.yaml", "name: x\ndescription: 2020-13-45\n")
    err = run_error(f, tmp_path, capsys)
    assert err.startswith(f"{f}: line 2, column 14: malformed YAML: cannot read '2020-13-45' as a date")
    assert "quotes" in err


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing but a comment\n", "---\n", "~\n"])
def test_empty_file(tmp_path, capsys, text):
    f = write(tmp_path, "s.yaml", text)
    err = run_error(f, tmp_path, capsys)
    assert err == f"{f}: the file is empty; expected a mapping of scenario fields"


def test_empty_mapping_is_the_built_in_scenario(tmp_path):
    assert load_scenario(write(tmp_path, "s.yaml", "{}\n")) == Scenario()


def test_list_at_top_level(tmp_path, capsys):
    f = write(tmp_path, "s.yaml", "# a list\n- name: x\n- name: y\n")
    err = run_error(f, tmp_path, capsys)
    assert err == f"{f}: line 2: expected a mapping of scenario fields (key: value lines) at the top level, got a list"


def test_text_at_top_level(tmp_path, capsys):
    f = write(tmp_path, "s.yaml", "just some words\n")
    assert run_error(f, tmp_path, capsys).endswith("at the top level, got text")


def test_duplicate_key(tmp_path, capsys):
    f = write(tmp_path, "s.yaml", "community:\n  households: 500\n  villages: 2\n  households: 600\n")
    err = run_error(f, tmp_path, capsys)
    assert err.startswith(f"{f}: line 4: community.households: duplicate key (also at line 2); ")
    assert "keep only the last" in err


def test_duplicate_key_in_flow_mapping_and_at_top_level(tmp_path, capsys):
    f = write(tmp_path, "s.yaml", "network:\n  kin: {weight: 1, weight: 2}\n")
    assert run_error(f, tmp_path, capsys).startswith(f"{f}: line 2: network.kin.weight: duplicate key (also at line 2)")
    g = write(tmp_path, "t.yaml", "name: a\nschedule: {steps: 3}\nname: b\n")
    assert run_error(g, tmp_path, capsys).startswith(f"{g}: line 3: name: duplicate key (also at line 1)")


def test_yaml_merge_keys_are_not_duplicates(tmp_path):
    text = "network:\n  kin: &layer {weight: 2.0, degree: 1.0}\n  neighbour:\n    <<: *layer\n    degree: 4.0\n"
    sc = load_scenario(write(tmp_path, "s.yaml", text))
    assert (sc.network.neighbour.weight, sc.network.neighbour.degree) == (2.0, 4.0)


def test_non_utf8_file(tmp_path, capsys):
    f = write(
        tmp_path, "s.yaml", "name: x\nbehaviour:\n  name: lavage des mains au savon \xe0 l'\xe9cole\n".encode("latin-1")
    )
    err = run_error(f, tmp_path, capsys)
    assert err == (
        f"{f}: line 3, column 35: not UTF-8 text: byte 0xe0 cannot be decoded; save the file with UTF-8 encoding"
    )


def test_utf8_with_byte_order_mark_is_fine(tmp_path):
    f = write(tmp_path, "s.yaml", "\ufeffname: école\n".encode())
    assert load_scenario(f).name == "école"


def test_control_character(tmp_path, capsys):
    f = write(tmp_path, "s.yaml", "name: x\ndescription: a\x07b\n")
    err = run_error(f, tmp_path, capsys)
    assert err == f"{f}: line 2: malformed YAML: character '\\x07' (U+0007) is not allowed in YAML"


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system",
        "!!python/object/new:os.system",
        "!!python/name:os.system",
        "!mytag",
    ],
)
def test_python_tags_are_refused_and_nothing_runs(tmp_path, capsys, tag):
    marker = tmp_path / "hacked"
    f = write(tmp_path, "s.yaml", f"name: x\ncommunity: {tag} ['touch {marker}']\n")
    err = run_error(f, tmp_path, capsys)
    assert err.startswith(f"{f}: line 2: malformed YAML: tag '{tag}' is not allowed; scenario files hold plain data")
    assert "nothing in them is executed" in err
    assert not marker.exists()


def test_python_tag_as_a_key_is_refused(tmp_path):
    f = write(tmp_path, "s.yaml", "? !!python/object/apply:os.getcwd []\n: 1\n")
    assert load_error(f).startswith(f"{f}: line 1: malformed YAML: tag '!!python/object/apply:os.getcwd'")


def test_missing_scenario_file(tmp_path, capsys):
    f = tmp_path / "nope.yaml"
    assert run_error(f, tmp_path, capsys) == f"{f}: file not found"


def test_folder_instead_of_file(tmp_path, capsys):
    (tmp_path / "d.yaml").mkdir()
    assert run_error(tmp_path / "d.yaml", tmp_path, capsys) == f"{tmp_path / 'd.yaml'}: not a file"


# ----------------------------------------------------------------------------------- extends


def test_extends_chain_takes_values_from_every_level(tmp_path):
    write(
        tmp_path,
        "c.yaml",
        "name: c\ncommunity: {households: 300, villages: 3, health_workers: 4}\nschedule: {steps: 10}\n",
    )
    write(tmp_path, "b.yaml", "extends: c.yaml\nname: b\ncommunity: {villages: 2}\nnetwork: {kin: {degree: 5}}\n")
    a = write(tmp_path, "a.yaml", "extends: b.yaml\ncommunity:\n  health_workers: 1\nschedule: {days_per_step: 1}\n")
    sc = load_scenario(a)
    assert sc.name == "b"  # from b (a does not set it, b overrides c)
    assert (sc.community.households, sc.community.villages, sc.community.health_workers) == (300, 2, 1)
    assert (sc.schedule.steps, sc.schedule.days_per_step) == (10, 1.0)  # from c and a
    assert sc.network.kin.degree == 5 and sc.network.kin.weight == Scenario().network.kin.weight  # b and built-in


def test_error_in_a_base_names_the_base_file_and_its_line(tmp_path, capsys):
    c = write(tmp_path, "c.yaml", "name: c\n\ncommunity:\n  households: -5\n")
    write(tmp_path, "b.yaml", "extends: c.yaml\nname: b\n")
    a = write(tmp_path, "a.yaml", "extends: b.yaml\nschedule:\n  steps: -1\n")
    err = run_error(a, tmp_path, capsys)
    lines = err.splitlines()
    assert lines[0] == f"{a}: 2 problems:"
    assert lines[1].startswith(f"  {a}: line 3: schedule.steps: Input should be greater than or equal to 0 (got -1)")
    assert lines[2].startswith(f"  {c}: line 4: community.households: Input should be greater than or equal to 1")
    # the same value set again in the extending file is reported there
    a.write_text("extends: b.yaml\ncommunity: {households: 0}\n")
    assert load_error(a).startswith(f"{a}: line 2: community.households: Input should be greater than or equal to 1")


def test_fractional_threshold_error_from_a_base(tmp_path):
    base = write(
        tmp_path,
        "base.yaml",
        "behaviour: {threshold_rule: absolute}\nroles:\n  household:\n    threshold:\n      mean: 3\n",
    )
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nbehaviour: {threshold_rule: fractional}\n")
    assert load_error(child) == (
        f"{base}: line 5: roles.household.threshold.mean: the fractional threshold rule needs a fraction "
        "in [0, 1] (got 3.0)"
    )


def test_extends_list_is_applied_in_order(tmp_path):
    write(tmp_path, "one.yaml", "name: one\ncommunity: {households: 100, villages: 4}\n")
    write(tmp_path, "two.yaml", "name: two\ncommunity: {households: 200}\n")
    f = write(tmp_path, "s.yaml", "extends:\n  - one.yaml\n  - two.yaml\nschedule: {steps: 3}\n")
    sc = load_scenario(f)
    assert (sc.name, sc.community.households, sc.community.villages, sc.schedule.steps) == ("two", 200, 4, 3)


def test_diamond_extends_is_not_circular(tmp_path):
    write(tmp_path, "root.yaml", "community: {households: 111}\n")
    write(tmp_path, "left.yaml", "extends: root.yaml\nname: left\n")
    write(tmp_path, "right.yaml", "extends: root.yaml\nschedule: {steps: 9}\n")
    sc = load_scenario(write(tmp_path, "s.yaml", "extends: [left.yaml, right.yaml]\n"))
    assert (sc.name, sc.community.households, sc.schedule.steps) == ("left", 111, 9)


def test_missing_extends_file(tmp_path, capsys):
    f = write(tmp_path, "s.yaml", "name: x\nextends: base.yaml\n")
    err = run_error(f, tmp_path, capsys)
    assert err == f"{f}: line 2: extends: base file 'base.yaml' not found (looked for {tmp_path / 'base.yaml'})"


def test_missing_extends_file_in_a_list_names_its_line(tmp_path, capsys):
    write(tmp_path, "there.yaml", "name: there\n")
    f = write(tmp_path, "s.yaml", "extends:\n  - there.yaml\n  - gone.yaml\n")
    err = run_error(f, tmp_path, capsys)
    assert err == f"{f}: line 3: extends: base file 'gone.yaml' not found (looked for {tmp_path / 'gone.yaml'})"


def test_circular_extends_between_two_files(tmp_path, capsys):
    a = write(tmp_path, "a.yaml", "extends: b.yaml\nname: a\n")
    b = write(tmp_path, "b.yaml", "name: b\n\nextends: a.yaml\n")
    err = run_error(a, tmp_path, capsys)
    assert err == f"{b}: line 3: extends: circular extends: a.yaml -> b.yaml -> a.yaml"


def test_file_extending_itself(tmp_path, capsys):
    f = write(tmp_path, "self.yaml", "extends: ./self.yaml\n")
    err = run_error(f, tmp_path, capsys)
    assert err == f"{f}: line 1: extends: circular extends: self.yaml -> self.yaml"


@pytest.mark.parametrize("value", ["3", "null", "''", "[base.yaml, 4]", "{file: base.yaml}"])
def test_extends_must_be_a_file_name_or_a_list_of_them(tmp_path, capsys, value):
    f = write(tmp_path, "s.yaml", f"name: x\nextends: {value}\n")
    err = run_error(f, tmp_path, capsys)
    assert err.startswith(f"{f}: line 2: extends: expected a file name or a list of file names (got ")


def test_extends_only_at_the_top_level(tmp_path, capsys):
    f = write(tmp_path, "s.yaml", "community:\n  extends: base.yaml\n")
    assert run_error(f, tmp_path, capsys).startswith(f"{f}: line 2: community.extends: unknown key")


def test_extends_in_a_plain_mapping_is_refused():
    with pytest.raises(UserError, match="extends: only understood in a scenario file"):
        scenario_from_dict({"extends": "base.yaml"})


def test_extends_across_folders_with_a_relative_imported_community(tmp_path, capsys):
    common = tmp_path / "common"
    common.mkdir()
    small = apply_overrides(Scenario(), {"community.households": 60, "community.villages": 2})
    write_csv_community(build_community(small, seed=3), common / "nodes.csv", common / "edges.csv")
    write(common, "base.yaml", "name: base\ncommunity:\n  imported: {nodes: nodes.csv, edges: edges.csv}\n")
    child = write(tmp_path, "districts/north/child.yaml", "extends: ../../common/base.yaml\nname: north\n")
    sc = load_scenario(child)
    assert sc.name == "north"
    assert Path(sc.community.imported.nodes) == (common / "nodes.csv").resolve()
    assert Path(sc.community.imported.edges) == (common / "edges.csv").resolve()
    # the child's own file names are relative to the child's folder
    (tmp_path / "districts/north/edges.csv").write_bytes((common / "edges.csv").read_bytes())
    child.write_text("extends: ../../common/base.yaml\ncommunity: {imported: {edges: edges.csv}}\n")
    sc = load_scenario(child)
    assert Path(sc.community.imported.nodes) == (common / "nodes.csv").resolve()
    assert Path(sc.community.imported.edges) == (tmp_path / "districts/north/edges.csv").resolve()
    # and it runs from another working directory
    out = tmp_path / "out"
    args = ["run", str(child), "--out", str(out), "--steps", "2", "--no-figure", "--quiet"]
    result = subprocess.run([sys.executable, "-m", "diffusion_sim.cli", *args], cwd="/", capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (out / "provenance.json").exists()


def test_extends_across_folders_keeps_base_lines_in_errors(tmp_path, capsys):
    base = write(tmp_path, "common/base.yaml", "name: base\ncommunity:\n  imported: {nodes: nodes.csv}\n")
    child = write(tmp_path, "x/child.yaml", "extends: ../common/base.yaml\n")
    err = run_error(child, tmp_path, capsys)
    assert err == f"{base}: line 3: community.imported: a CSV community needs both 'nodes' and 'edges'"


# ------------------------------------------------------------------------- the loader never crashes


def field_names(model: type[BaseModel]) -> set[str]:
    """Every field name of a model and its sub-models, so generated data reaches deep fields."""
    names = set(model.model_fields)
    for field in model.model_fields.values():
        sub = _submodel(field.annotation)
        if sub is not None:
            names |= field_names(sub)
    return names


FIELD_NAMES = sorted(field_names(Scenario) | {"extends", "<<"})

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["nodes.csv", "fractional", "absolute", "none", "2020-01-01", "0.5", "1e3"])
)
KEYS = st.sampled_from(FIELD_NAMES) | st.text(max_size=8) | st.integers(-3, 3) | st.none() | st.booleans()
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6),
    max_leaves=40,
)
SCENARIO_LIKE = st.dictionaries(st.sampled_from(FIELD_NAMES), DOCUMENTS, max_size=6)


def leaves(data: dict, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    """(dotted path, built-in value) of every leaf field of the built-in scenario."""
    out = []
    for key, value in data.items():
        out += leaves(value, (*path, key)) if isinstance(value, dict) else [((*path, key), value)]
    return out


LEAVES = leaves(Scenario().model_dump()) + [(("community", "imported", k), "x.csv") for k in ("nodes", "edges")]


def nested(items: list[tuple[tuple[str, ...], object]]) -> dict:
    """A nested mapping with each value at its dotted path (later items win)."""
    out: dict = {}
    for path, value in items:
        node = out
        for key in path[:-1]:
            node = node.setdefault(key, {}) if isinstance(node.get(key, {}), dict) else node
        node[path[-1]] = value
    return out


# mostly-valid scenarios: real leaf paths with their built-in value, a nearby number or anything
PLAUSIBLE = st.lists(
    st.sampled_from(LEAVES).flatmap(
        lambda leaf: st.tuples(
            st.just(leaf[0]),
            st.one_of(st.just(leaf[1]), st.just(leaf[1]), st.integers(0, 3), st.floats(0, 2), SCALARS),
        )
    ),
    max_size=8,
).map(nested)
ANY_DOCUMENT = st.one_of(PLAUSIBLE, SCENARIO_LIKE, DOCUMENTS)

TOKENS = st.sampled_from(
    [
        *FIELD_NAMES,
        ":",
        ": ",
        " ",
        "  ",
        "\n",
        "\n  ",
        "- ",
        "[",
        "]",
        "{",
        "}",
        ", ",
        "&a ",
        "*a",
        "<<: ",
        "!!int ",
        "!!str ",
        "!!timestamp ",
        "!!binary ",
        "!!set ",
        "!!python/object/apply:os.getcwd []",
        "!local ",
        "? ",
        "'",
        '"',
        "#",
        "---",
        "...",
        "\t",
        "|",
        ">",
        "%YAML 1.1",
        "0",
        "-1",
        "1e400",
        ".nan",
        "2020-13-45",
        "~",
        "yes",
        "\x00",
        "\ud800",
        "é",
        "\ufeff",
        "../",
        "/",
        ".",
    ]
)
YAML_TEXT = st.lists(TOKENS, max_size=40).map("".join) | st.text(max_size=200)


def loads_or_user_error(load, *args) -> None:
    try:
        result = load(*args)
    except UserError as err:
        assert str(err)
    else:
        assert isinstance(result, Scenario)


@settings(max_examples=200, deadline=None)
@given(ANY_DOCUMENT)
def test_scenario_from_dict_returns_a_scenario_or_raises_user_error(data):
    loads_or_user_error(scenario_from_dict, data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_DOCUMENT)
def test_loading_any_yaml_document_returns_a_scenario_or_raises_user_error(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        loads_or_user_error(load_scenario, path)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(YAML_TEXT, YAML_TEXT)
def test_loading_any_text_returns_a_scenario_or_raises_user_error(text, base_text):
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "base.yaml").write_bytes(base_text.encode("utf-8", "surrogatepass"))
        path = Path(folder) / "s.yaml"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        loads_or_user_error(load_scenario, path)
        path.write_bytes(f"extends: base.yaml\n{text}".encode("utf-8", "surrogatepass"))
        loads_or_user_error(load_scenario, path)


# ---------------------------------------------------------------------------------- validate


def test_validate_good_files(tmp_path, capsys):
    a = write(tmp_path, "a.yaml", "name: small\ncommunity: {households: 300, villages: 3}\nschedule: {steps: 20}\n")
    b = write(tmp_path, "b.yaml", "extends: a.yaml\nname: child\n")
    before = tree(tmp_path)
    assert main(["validate", str(a), str(b)]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines() == [
        f"ok  {a}  (name: small, 300 households, 3 villages, 20 steps)",
        f"ok  {b}  (name: child, 300 households, 3 villages, 20 steps)",
    ]
    assert out.err == ""
    assert tree(tmp_path) == before


def test_validate_shipped_scenarios(capsys):
    files = sorted(str(p) for p in (Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))
    assert main(["validate", *files]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[1] for line in out if not line.startswith("  ")] == files  # one ok line each
    assert all(line.startswith(("ok  ", "  ")) for line in out)  # communities read from files: described below


def test_validate_good_and_bad_files(tmp_path, capsys):
    good = write(tmp_path, "good.yaml", "name: good\n")
    bad = write(tmp_path, "bad.yaml", "name: bad\ncommunity:\n  households: 0\n")
    missing = tmp_path / "missing.yaml"
    before = tree(tmp_path)
    assert main(["validate", str(good), str(bad), str(missing)]) == 2
    out = capsys.readouterr()
    assert out.out.splitlines() == [f"ok  {good}  (name: good, 4000 households, 8 villages, 52 steps)"]
    err = out.err.splitlines()
    assert err[0].startswith(f"error: {bad}: line 3: community.households: Input should be greater than or equal to 1")
    assert err[1] == f"error: {missing}: file not found"
    assert err[2] == "2 of 3 files invalid"
    assert tree(tmp_path) == before


def test_validate_with_set(tmp_path, capsys):
    f = write(tmp_path, "s.yaml", "name: s\n")
    assert main(["validate", str(f), "--set", "schedule.steps=5", "--set", "community.villages=2"]) == 0
    assert capsys.readouterr().out == f"ok  {f}  (name: s, 4000 households, 2 villages, 5 steps)\n"
    assert main(["validate", str(f), "--set", "community.households=0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {f}: --set: community.households: Input should be greater than or equal to 1")
    assert main(["validate", str(f), "--set", "community.househods=3"]) == 2
    assert "unknown parameter 'community.househods'" in capsys.readouterr().err


def test_validate_imported_community_reads_its_files(tmp_path, capsys):
    f = write(tmp_path, "s.yaml", "name: imp\ncommunity: {imported: {graphml: g.graphml}}\n")
    assert main(["validate", str(f)]) == 2  # it used to say ok without opening the file
    assert capsys.readouterr().err == f"error: {f}: {tmp_path / 'g.graphml'}: file not found\n"
    small = apply_overrides(Scenario(), {"community.households": 30, "community.villages": 2})
    write_csv_community(build_community(small, seed=1), tmp_path / "n.csv", tmp_path / "e.csv")
    write(tmp_path, "s.yaml", "name: imp\ncommunity: {imported: {nodes: n.csv, edges: e.csv}}\n")
    assert main(["validate", str(f)]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[0] == f"ok  {f}  (name: imp, imported community, 52 steps)"
    assert out.out.splitlines()[1] == (
        "  agents: 44 (household 30, religious_leader 4, traditional_leader 2, youth_leader 2, women_leader 2, "
        "health_worker 4) in 2 villages (0: 22, 1: 22)"
    )
    assert out.err == ""


def test_validate_needs_a_file(capsys):
    with pytest.raises(SystemExit) as info:
        main(["validate"])
    assert info.value.code == 2


# ------------------------------------------------------------------------------------ schema


def _models_in(schema: dict) -> list[dict]:
    return [schema, *schema["$defs"].values()]


def test_schema_prints_json_schema(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == scenario_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "diffusion-sim scenario"
    assert {"community", "network", "roles", "behaviour", "schedule", "extends"} <= set(schema["properties"])
    extends = schema["properties"]["extends"]
    assert {"type": "string", "minLength": 1} in extends["anyOf"]
    assert {"type": "array", "items": {"type": "string", "minLength": 1}} in extends["anyOf"]
    assert "description" in extends
    assert all(m["additionalProperties"] is False for m in _models_in(schema) if m.get("type") == "object")
    assert {"Community", "Layer", "Threshold", "ImportedCommunity"} <= set(schema["$defs"])
    households = schema["$defs"]["Community"]["properties"]["households"]
    assert (households["type"], households["minimum"], households["maximum"]) == ("integer", 1, 20_000_000)
    assert "required" not in schema  # every field has a default: partial files are fine


def test_schema_matches_the_scenario_fields():
    schema = scenario_json_schema()
    assert set(schema["properties"]) == {"extends", *Scenario.model_fields}
    assert set(schema["$defs"]["Community"]["properties"]) == set(
        Scenario.model_fields["community"].annotation.model_fields
    )


def test_schema_out_writes_the_file_atomically(tmp_path, capsys):
    out = tmp_path / "scenario.schema.json"
    out.write_text("old")
    assert main(["schema", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == scenario_json_schema()
    assert capsys.readouterr().out == f"wrote the scenario JSON Schema to {out}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.schema.json"]  # no temporary file left


def test_schema_out_into_a_missing_folder_or_a_folder(tmp_path, capsys):
    assert main(["schema", "--out", str(tmp_path / "nope" / "s.json")]) == 2
    assert capsys.readouterr().err == f"error: --out: folder '{tmp_path / 'nope'}' does not exist\n"
    assert main(["schema", "--out", str(tmp_path)]) == 2
    assert "is a folder; expected a file name" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_help_of_validate_and_schema_has_examples():
    exe = [sys.executable, "-m", "diffusion_sim.cli"]
    out = subprocess.run([*exe, "validate", "--help"], capture_output=True, text=True, check=True).stdout
    assert "examples:" in out and "diffusion-sim validate scenarios/default.yaml" in out and "--set" in out
    out = subprocess.run([*exe, "schema", "--help"], capture_output=True, text=True, check=True).stdout
    assert "examples:" in out and "diffusion-sim schema --out scenario.schema.json" in out
    out = subprocess.run([*exe, "--help"], capture_output=True, text=True, check=True).stdout
    assert "validate" in out and "schema" in out
