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


DISTRICT = sorted((Path(__file__).resolve().parents[1] / "scenarios" / "district").glob("*.yaml"))
SCALED = {"fixed_cost", "cost_per_step", "budget"}


def test_every_shipped_package_has_a_district_version():
    case_studies = {p.stem for p in SCENARIOS if load_scenario(p).community.from_files}  # a real community
    assert case_studies == {"medical_innovation"}
    packages = {p.stem for p in SCENARIOS} - {"baseline", "default", "district"} - case_studies
    assert {p.stem for p in DISTRICT} == packages


@pytest.mark.parametrize("path", DISTRICT, ids=lambda p: p.name)
def test_district_version_is_the_package_on_the_district_community(path):
    from diffusion_sim.compare import check_paired

    district = load_scenario(path.parents[1] / "district.yaml")
    package = load_scenario(path.parents[1] / f"{path.stem}.yaml")
    mine = load_scenario(path)
    check_paired([district, mine])  # compares, paired, with the district baseline
    assert mine.community == district.community and mine.network == district.network
    assert mine.behaviour == package.behaviour and mine.roles == package.roles
    assert len(mine.interventions) == len(package.interventions)
    for a, b in zip(mine.interventions, package.interventions, strict=True):
        same = a.model_dump(exclude=SCALED) == b.model_dump(exclude=SCALED)
        assert same, a.label
        for field in SCALED & set(type(a).model_fields):  # fixed and weekly costs scale with the villages
            va, vb = getattr(a, field), getattr(b, field)
            if field == "fixed_cost" and a.type == "media_campaign":
                assert va == vb  # the spots are produced once
            elif vb:
                assert va == pytest.approx(vb * 500 / 30, rel=0.02), (a.label, field)
