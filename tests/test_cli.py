"""The diffusion-sim command: outputs, summaries, and errors for people."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from diffusion_sim.atomic import MARKER
from diffusion_sim.cli import main
from diffusion_sim.model import DiffusionModel
from diffusion_sim.runner import OUTPUT_FILES
from diffusion_sim.scenario import Scenario, apply_overrides

SMALL = ["--set", "community.households=300", "--set", "community.villages=2", "--steps", "12"]


def test_run_writes_every_output_and_matches_the_model(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["run", "--seed", "4", "--out", str(out), *SMALL]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([*OUTPUT_FILES, MARKER])  # MARKER: written by "run"
    steps = pd.read_parquet(out / "steps.parquet")
    agents = pd.read_parquet(out / "agents.parquet")
    as_text = {"group": str, "metric": str}
    pd.testing.assert_frame_equal(pd.read_csv(out / "steps.csv"), steps.astype(as_text), check_dtype=False)
    assert len(pd.read_csv(out / "agents.csv")) == len(agents) == 300 + 2 * 5 + 2 * 2
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["seed"] == 4 and prov["steps"] == 12 and prov["scenario"]["community"]["households"] == 300
    # the files hold exactly what the model computes for that scenario and seed
    sc = apply_overrides(Scenario(), {"community.households": 300, "community.villages": 2, "schedule.steps": 12})
    model = DiffusionModel(sc, seed=4)
    model.run()
    np.testing.assert_array_equal(agents["adopted_at"].to_numpy(), model.adopted_at[:, 0])
    assert prov["scenario_digest"] == sc.digest()
    text = capsys.readouterr().out
    final = steps.query("metric == 'coverage' and group == 'role=household' and step == 12")["value"].item()
    people = steps.query("metric == 'people_coverage' and group == 'role=household' and step == 12")["value"].item()
    assert f"    households           {100 * final:5.1f}%" in text
    assert f"    people               {100 * people:5.1f}%" in text
    assert "final coverage (step 12, day 84, week 12):" in text
    assert "wrote 6 files" in text
    with open(out / "adoption_by_role.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_run_with_replicates_reports_replicates(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["run", "--replicates", "3", "--out", str(out), "--no-figure", *SMALL]) == 0
    steps = pd.read_parquet(out / "steps.parquet")
    assert sorted(steps["replicate"].unique()) == [0, 1, 2]
    assert not (out / "adoption_by_role.png").exists()


def test_rerun_into_the_same_folder_replaces_outputs(tmp_path):
    out = tmp_path / "res"
    assert main(["run", "--out", str(out), *SMALL]) == 0
    assert main(["run", "--out", str(out), "--no-figure", "--seed", "1", *SMALL]) == 0
    assert not (out / "adoption_by_role.png").exists()  # stale figure of the first run removed
    assert json.loads((out / "provenance.json").read_text())["seed"] == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".res.tmp")]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--set", "community.househods=5"], "unknown parameter 'community.househods'"),
        (["--set", "community.households=0"], "community.households: Input should be greater than or equal to 1"),
        (["--set", "community.households=lots"], "community.households"),
        (["--set", "behaviour.external"], "expected PATH=VALUE"),
        (["--set", "schedule.steps.x=1"], "is a value, not a section"),
        (["--set", "roles.household.threshold.mean=2"], "fractional threshold rule needs a fraction"),
        (["missing.yaml"], "missing.yaml: file not found"),
    ],
)
def test_bad_input_gets_one_message_exit_2_and_no_output(tmp_path, capsys, args, needle):
    out = tmp_path / "res"
    assert main(["run", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err
    assert "Traceback" not in err
    assert not out.exists()


def test_bad_yaml_files(tmp_path, capsys):
    cases = {
        "empty.yaml": ("", "the file is empty"),
        "broken.yaml": ("community:\n  households: [1, 2\n", "malformed YAML"),
        "unknown.yaml": ("community:\n  househods: 5\n", "community.househods: unknown key; expected one of: villages"),
        "list.yaml": ("- 1\n- 2\n", "expected a mapping"),
        "type.yaml": ("community:\n  households: '500'\n", "community.households: Input should be a valid integer"),
        "python.yaml": ("community: !!python/object/apply:os.system ['echo hacked']\n", "malformed YAML"),
    }
    for name, (text, needle) in cases.items():
        f = tmp_path / name
        f.write_text(text)
        out = tmp_path / f"out-{name}"
        assert main(["run", str(f), "--out", str(out)]) == 2, name
        err = capsys.readouterr().err
        assert name in err and needle in err, (name, err)
        assert not out.exists()


def test_partial_yaml_keeps_built_in_values(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("name: partial\nnetwork:\n  kin:\n    degree: 5\nroles:\n  household:\n    trust: 0.5\n")
    from diffusion_sim.scenario import load_scenario

    sc = load_scenario(f)
    default = Scenario()
    assert sc.network.kin.degree == 5 and sc.network.kin.weight == default.network.kin.weight
    assert sc.roles.household.trust == 0.5
    assert sc.roles.household.threshold == default.roles.household.threshold


def test_bad_numbers_on_the_command_line_exit_2(capsys):
    for args in (["run", "--seed", "-1"], ["run", "--steps", "x"], ["run", "--replicates", "0"]):
        with pytest.raises(SystemExit) as info:
            main(args)
        assert info.value.code == 2
        assert "expected a" in capsys.readouterr().err


def test_out_pointing_at_a_file_is_refused(tmp_path, capsys):
    f = tmp_path / "file.txt"
    f.write_text("keep me")
    assert main(["run", "--out", str(f), *SMALL]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert f.read_text() == "keep me"


def test_console_script_help_has_examples():
    exe = [sys.executable, "-m", "diffusion_sim.cli"]
    out = subprocess.run([*exe, "run", "--help"], capture_output=True, text=True, check=True).stdout
    assert "examples:" in out and "--set community.households=100000" in out
    out = subprocess.run([*exe, "--help"], capture_output=True, text=True, check=True).stdout
    assert "run" in out


@pytest.fixture
def page_hint(monkeypatch):
    """numpy's huge-page hint (process-wide numpy state), put back after the test; no user setting."""
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    multiarray = np._core.multiarray
    before = multiarray._set_madvise_hugepage(True)
    yield multiarray
    multiarray._set_madvise_hugepage(before)


def test_the_command_line_turns_numpys_huge_page_hint_off(page_hint, capsys):
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
    assert main(["validate", str(scenario)]) == 0
    assert page_hint._get_madvise_hugepage() is False


def test_a_users_numpy_huge_page_setting_wins(page_hint, monkeypatch):
    from diffusion_sim.process import prefer_small_pages

    monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
    assert prefer_small_pages() is False
    assert page_hint._get_madvise_hugepage() is True
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE")
    assert prefer_small_pages() is True
    assert page_hint._get_madvise_hugepage() is False


def test_importing_the_package_leaves_numpys_page_hint_alone():
    code = (
        "import numpy as np, diffusion_sim.runner, diffusion_sim.compare, diffusion_sim.process; "
        "print(np._core.multiarray._get_madvise_hugepage())"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "True"
