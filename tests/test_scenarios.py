"""Every file in scenarios/ validates and runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from diffusion_sim.model import DiffusionModel
from diffusion_sim.scenario import Scenario, apply_overrides, load_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))


def test_there_are_scenario_files():
    assert [p.name for p in SCENARIOS if p.name == "default.yaml"] == ["default.yaml"]


def test_default_yaml_is_the_built_in_scenario():
    assert load_scenario(SCENARIOS[[p.name for p in SCENARIOS].index("default.yaml")]) == Scenario()


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_scenario_file_validates_and_runs(path):
    sc = load_scenario(path)
    steps = max([5, *(iv.start for iv in sc.interventions)])  # every intervention acts (validation demands it)
    small = apply_overrides(sc, {"community.households": min(sc.community.households, 500), "schedule.steps": steps})
    result = DiffusionModel(small, seed=0, create_agents=False).run()
    assert result.series("coverage").between(0, 1).all()
