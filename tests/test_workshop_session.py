"""What the workshop page shows, computed without a browser: sessions, switches, curves, agents, game."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from diffusion_sim import behaviour as bh
from diffusion_sim.runner import run
from diffusion_sim.scenario.overrides import apply_overrides
from diffusion_sim.scenario.presets import workshop_scenario
from diffusion_sim.workshop.game import STRATEGIES, SeedingGame
from diffusion_sim.workshop.session import CURVES, SWITCHES, WorkshopSession
from diffusion_sim.workshop.style import ADOPTED, ADOPTED_NOW, GAVE_UP, NOT_ADOPTED

SCENARIO = apply_overrides(workshop_scenario(), {"community.households": 300, "schedule.steps": 20})


def play_to_end(session: WorkshopSession) -> int:
    n = 0
    while session.step():
        n += 1
    return n


def test_play_stops_at_the_end_of_the_schedule():
    session = WorkshopSession(SCENARIO, 1)
    assert play_to_end(session) == 20 and session.ended
    assert not session.step() and session.model.steps == 20
    assert session.curves.steps == list(range(21))  # step 0 and every step, once


def test_the_curves_are_the_recorders_shares():
    session = WorkshopSession(SCENARIO, 2)
    play_to_end(session)
    counts = run(SCENARIO, 2, agents=False).counts
    for group, label in [("role=household", "households"), ("marginalised=yes", "marginalised households")]:
        g = counts.groups.index(group)
        np.testing.assert_allclose(session.curves.share[label], counts.adopters[:, g, 0] / counts.population[g])
    # the run beside, without switches, is the same run
    assert session.beside_curves.share == session.curves.share


def test_a_switch_changes_the_run_and_replays_exactly():
    session = WorkshopSession(SCENARIO, 3)
    for _ in range(4):
        session.step()
    session.switch("leaders", True)
    session.set_setting("visits", 6)
    session.switch("visits", True)
    for _ in range(5):
        session.step()
    session.switch("visits", False)
    play_to_end(session)
    ours, beside = session.curves.share["households"], session.beside_curves.share["households"]
    assert ours[:5] == beside[:5] and ours[-1] > beside[-1]  # the same until the switches act, then more
    played = session.played_scenario()
    visits = next(iv for iv in played.interventions if iv.type == "home_visits")
    assert (visits.start, visits.end, visits.visits_per_worker) == (5, 9, 6)
    replay = run(played, 3, agents=False).counts
    live = session.model.result(agents=False).counts
    for name in ("adopters", "new", "abandoned", "by_channel", "cost"):
        np.testing.assert_array_equal(getattr(live, name), getattr(replay, name), err_msg=name)
    assert session.curves.cost[-1] == pytest.approx(live.cost.sum())


def test_switches_lend_the_scenarios_own_settings():
    with_visits = apply_overrides(SCENARIO, {"interventions": [{"type": "home_visits", "cost_per_visit": 9.5}]})
    session = WorkshopSession(with_visits, 0)
    assert session.templates["visits"]["cost_per_visit"] == 9.5
    assert session.templates["radio"] == next(s for s in SWITCHES if s.key == "radio").intervention


def test_sessions_are_independent():
    a, b = WorkshopSession(SCENARIO, 5), WorkshopSession(SCENARIO, 5)
    for _ in range(6):
        a.step()
    a.switch("radio", True)
    a.step()
    assert b.model.steps == 0 and b.model.switches == [] and len(b.curves.steps) == 1
    play_to_end(b)
    assert b.curves.share == b.beside_curves.share  # untouched by a's switch


def test_a_second_scenario_beside_keeps_its_own_community_across_resets():
    other = apply_overrides(SCENARIO, {"community.households": 200})
    session = WorkshopSession(SCENARIO, 4, beside=other)
    own = session.beside_community
    assert own is not session.community and own.n < session.community.n and session.beside_label == other.name
    session.step()
    session.reset()
    assert session.beside_community is own and session.beside.community is own and session.beside.steps == 0
    session.reset(seed=5)  # a new seed builds both communities again
    assert session.beside_community is not own and session.beside_community.n == own.n
    same = WorkshopSession(SCENARIO, 4, beside=apply_overrides(SCENARIO, {"schedule.steps": 10}))
    assert same.beside_community is same.community  # the same community section: the trainer's community


def test_reset_starts_again_with_switches_off():
    session = WorkshopSession(SCENARIO, 6)
    first = session.states().copy()
    session.switch("radio", True)
    play_to_end(session)
    session.reset()
    assert session.model.steps == 0 and session.on == {} and session.model.switches == []
    np.testing.assert_array_equal(session.states(), first)


def test_agent_states_and_what_a_click_shows():
    session = WorkshopSession(SCENARIO, 7)
    for _ in range(12):
        session.step()
    model = session.model
    codes = session.states()
    adopted, new, gave_up = model.adopted[:, 0], model.new[:, 0], model.abandoned_at[:, 0] >= 0
    assert gave_up.any() and new.any()
    assert ((codes == NOT_ADOPTED) == (~adopted & ~gave_up)).all()
    assert ((codes == ADOPTED_NOW) == (new & adopted)).all()
    assert ((codes == GAVE_UP) == (gave_up & ~adopted)).all() and ((codes == ADOPTED) == (adopted & ~new)).all()
    adopters = np.flatnonzero((model.adopted_at[:, 0] > 0) & (model.community.population.role == 0))
    i = int(adopters[0])
    info = session.agent_info(i)
    assert info["adopted_step"] == model.adopted_at[i, 0] and info["role"] == "household"
    assert info["channel"] == bh.CHANNEL_LABELS[bh.CHANNELS[model.channel[i, 0]]]
    contacts = model.T.indices[model.T.indptr[i] : model.T.indptr[i + 1]]
    expected = sorted(int(j) for j in contacts if 0 <= model.adopted_at[j, 0] < model.adopted_at[i, 0])
    assert sorted(info["exposed_by"]) == expected and info["contacts"] == len(contacts)


def test_a_click_counts_contacts_converted_at_the_start_of_the_same_step_as_exposers():
    """Trained leaders adopt at the start of the step they are trained; households deciding then see them."""
    session = WorkshopSession(SCENARIO, 7)
    session.switch("leaders", True)
    session.step()
    model = session.model
    pop = model.community.population
    trained = np.flatnonzero(model.channel[:, 0] == bh.TRAINING)
    same_step = [
        i for i in np.flatnonzero((model.adopted_at[:, 0] == 1) & (pop.role == 0) & (model.channel[:, 0] == bh.LEADER))
    ]
    assert len(trained) and same_step  # households that crossed their threshold because of a leader trained now
    for i in same_step:
        assert set(session.agent_info(int(i))["exposed_by"]) & set(trained.tolist())


def _distinct_top(degree: np.ndarray) -> int:
    """A budget k whose k highest-degree agents are one set whatever the tie-breaking."""
    d = np.sort(degree)[::-1]
    return next(k for k in range(3, 20) if d[k - 1] > d[k])


def test_the_game_scores_a_player_who_picks_the_most_connected_like_that_strategy():
    session = WorkshopSession(SCENARIO, 8)
    degree = np.diff(session.model.T.indptr)
    k = _distinct_top(degree)
    game = SeedingGame(SCENARIO, 8, session.community, budget=k, replicates=4)
    for i in np.argsort(-degree, kind="stable")[:k]:
        assert game.pick(int(i))
    assert not game.pick(int(np.argmin(degree)))  # the budget is spent
    board = game.play("ada")
    score = {s.player: s.coverage for s in board}
    assert set(score) == {"ada", *(label for _, label in STRATEGIES)}
    assert score["ada"] == score["most connected"]  # the same seeds on the same futures
    assert [s.coverage for s in board] == sorted((s.coverage for s in board), reverse=True)
    assert game.picks == []


def test_the_game_scores_are_the_run_paths_numbers():
    session = WorkshopSession(SCENARIO, 9)
    game = SeedingGame(SCENARIO, 9, session.community, budget=3, replicates=3)
    with pytest.raises(ValueError, match="pick 3 people first"):
        game.play("bo")
    for i in (4, 40, 140):
        game.pick(i)
    game.pick(40)  # a second click frees the place
    game.pick(77)
    board = game.play("")
    me = next(s for s in board if not s.builtin)
    assert me.player == "player 1" and me.seeds == (4, 140, 77)
    data = SCENARIO.model_dump(mode="python")
    data["interventions"] = [{"type": "seeding", "strategy": "chosen", "people": [4, 77, 140], "start": 1}]
    counts = run(type(SCENARIO).model_validate(data), 9, replicates=range(3), agents=False).counts
    g = counts.groups.index("role=household")
    assert me.coverage == pytest.approx((counts.adopters[-1, g] / counts.population[g]).mean())


def test_switches_that_cannot_act_say_why():
    from diffusion_sim.scenario import load_scenario

    survey = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "medical_innovation.yaml")
    session = WorkshopSession(survey, 0)  # doctors only: no leaders, no health workers
    assert session.cannot("leaders") == "no religious leaders in this community"
    assert session.cannot("visits") == "no health workers with a catchment in this community"
    assert session.cannot("radio") == "" and session.cannot("feedback") == ""
    with pytest.raises(ValueError, match="no religious leaders"):
        session.switch("leaders", True)
    assert WorkshopSession(SCENARIO, 0).cannot("leaders") == ""
    assert session.curve_labels == ["households"]  # no empty groups drawn at 0 %
    assert WorkshopSession(SCENARIO, 0).curve_labels == [label for _, label in CURVES]
