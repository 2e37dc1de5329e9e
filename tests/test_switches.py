"""Interventions switched on and off during a run (the workshop's toggles), and their exact replay."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from diffusion_sim import behaviour as bh
from diffusion_sim.model import DiffusionModel
from diffusion_sim.runner import run
from diffusion_sim.scenario import Scenario
from diffusion_sim.scenario.overrides import apply_overrides

SMALL = {"community.households": 400, "community.villages": 4, "schedule.steps": 30}
LEADERS = {"type": "leader_training", "kinds": ["religious"], "coverage": 1.0, "end": 8}
VISITS = {"type": "home_visits", "visits_per_worker": 3}
RADIO = {"type": "media_campaign", "reach": 0.6, "rate": 0.03}
FEEDBACK = {"type": "feedback_mechanism", "reach": 0.5}


def small(**extra) -> Scenario:
    return apply_overrides(Scenario(), {**SMALL, **extra})


def assert_same_run(a, b):
    """Every per-step count, cost and per-agent outcome of two results is equal."""
    for field in dataclasses.fields(a.counts):
        x, y = getattr(a.counts, field.name), getattr(b.counts, field.name)
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=field.name)
        else:
            assert x == y, field.name
    pd.testing.assert_frame_equal(a.agents, b.agents)


def play(scenario: Scenario, seed: int, plan: dict[int, list]) -> DiffusionModel:
    """Step a model, applying ``plan[t]`` (("on", spec) or ("off", identity)) after ``t`` steps."""
    model = DiffusionModel(scenario, seed)
    while model.running:
        for action, what in plan.get(model.steps, []):
            model.start_intervention(what) if action == "on" else model.stop_intervention(what)
        model.step()
    return model


PLAN = {
    3: [("on", LEADERS)],
    5: [("on", VISITS), ("on", RADIO)],
    9: [("off", "home_visits"), ("on", FEEDBACK)],
    12: [("on", {**VISITS, "visits_per_worker": 5})],  # the same family again: streams of its own
    15: [("off", "media_campaign")],
    20: [("off", "feedback_mechanism")],
}


def test_a_switched_run_replays_exactly_from_its_played_scenario():
    model = play(small(), 11, PLAN)
    assert model.steps == 30 and not model.running
    played = model.played_scenario()
    windows = {iv.id or iv.type: (iv.start, iv.end) for iv in played.interventions}
    # on after t steps = start t + 1; off after t steps = end t; a window's length is kept
    assert windows == {
        "leader_training": (4, 11),  # end 8 - start 1: seven more steps
        "home_visits": (6, 9),
        "media_campaign": (6, 15),
        "feedback_mechanism": (10, 20),
        "home_visits.2": (13, None),
    }
    assert [(s.step, s.action, s.identity) for s in model.switches] == [
        (4, "on", "leader_training"),
        (6, "on", "home_visits"),
        (6, "on", "media_campaign"),
        (10, "off", "home_visits"),
        (10, "on", "feedback_mechanism"),
        (13, "on", "home_visits.2"),
        (16, "off", "media_campaign"),
        (21, "off", "feedback_mechanism"),
    ]
    live = model.result()
    assert_same_run(live, run(played, 11))
    # the scenario survives a trip through its file form (what the workshop saves)
    assert Scenario.model_validate(played.model_dump(mode="json")) == played


def test_switching_leader_training_on_changes_the_run_through_its_own_channels():
    base = play(small(), 4, {}).result()
    trained = play(small(), 4, {2: [("on", {**LEADERS, "cost_per_leader": 100.0})]}).result()
    ch = trained.counts.by_channel[0].sum(axis=0)[:, 0]  # adoptions by channel over the run
    assert ch[bh.TRAINING] > 0 and ch[bh.LEADER_TALK] > 0
    assert base.counts.by_channel[0][:, bh.TRAINING].sum() == 0
    assert trained.counts.adopters[-1, 0, 0] > base.counts.adopters[-1, 0, 0]
    assert trained.counts.cost[:, 0, 0].sum() > 0 and trained.counts.cost[:3, 0, 0].sum() == 0  # booked from step 3


def test_switching_on_is_the_same_as_a_scenario_starting_it_then():
    live = play(small(), 2, {6: [("on", RADIO)]}).result()
    written = run(small(interventions=[{**RADIO, "start": 7}]), 2)
    assert_same_run(live, written)


def test_switching_off_before_the_start_removes_it_and_nothing_changes():
    scenario = small(interventions=[{**VISITS, "start": 10}, {**RADIO, "start": 2}])
    model = play(scenario, 5, {4: [("off", "home_visits")]})
    assert [iv.type for iv in model.played_scenario().interventions] == ["media_campaign"]
    assert_same_run(model.result(), run(small(interventions=[{**RADIO, "start": 2}]), 5))


def test_switches_are_refused_after_the_end_and_for_unknown_interventions():
    model = play(small(), 1, {})
    with pytest.raises(ValueError, match="the run has ended"):
        model.start_intervention(RADIO)
    model = DiffusionModel(small(), 1)
    with pytest.raises(ValueError, match="no intervention 'radio'"):
        model.stop_intervention("radio")
    with pytest.raises(ValueError, match="not a valid intervention"):
        model.start_intervention({"type": "media_campaign", "reach": 2.0})


def test_run_model_stops_at_the_end_of_the_schedule():
    model = DiffusionModel(small(), 0)
    assert model.running
    model.run_model()  # Mesa's loop: ends because the model sets running to False
    assert model.steps == 30 and not model.running


def test_mesa_generators_are_free_for_user_code():
    """Drawing from model.random / model.rng shifts no number of the run."""
    quiet = DiffusionModel(small(), 8)
    noisy = DiffusionModel(small(), 8)
    assert noisy.rng.random() != np.random.default_rng(8).random()  # not the master seed's first stream
    while quiet.running:
        quiet.step()
        noisy.random.random(), noisy.rng.random(5)
        noisy.step()
    assert_same_run(quiet.result(), noisy.result())


def test_flat_keyword_parameters_build_the_overridden_scenario(tmp_path):
    """What Mesa's SolaraViz does on Reset: model_class(**flat parameters)."""
    from diffusion_sim.errors import UserError
    from diffusion_sim.scenario.yaml_source import to_yaml

    flat = {"community__households": 400, "community__villages": 4, "schedule__steps": 30, "seed": 6}
    model = DiffusionModel(**flat)
    assert model.params == small() and model.seed == 6
    model.run_model()
    assert_same_run(model.result(), run(small(), 6))
    path = tmp_path / "s.yaml"
    path.write_text(to_yaml(small()))
    assert DiffusionModel(str(path), 6).params == small()
    with pytest.raises(UserError, match="community has no key 'househods'"):
        DiffusionModel(community__househods=10)
