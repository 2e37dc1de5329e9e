"""The workshop page in a real browser: switches, replay, Play's end, the seeding game (Debian's Chromium).

The page's numbers are checked against the run path computed here, in the test's own process: what the
browser shows must be what ``diffusion-sim run`` would give for the played scenario.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from browser import start_workshop
from diffusion_sim.community import build_community
from diffusion_sim.runner import run
from diffusion_sim.scenario import load_scenario
from diffusion_sim.scenario.overrides import apply_overrides
from diffusion_sim.scenario.presets import workshop_scenario
from diffusion_sim.scenario.yaml_source import to_yaml
from diffusion_sim.workshop.game import SeedingGame
from diffusion_sim.workshop.session import SWITCHES
from test_workshop_server import load, press_step, step_count

SHOTS = Path("/tmp")


def households(page) -> float:
    text = page.locator(".workshop-coverage").inner_text(timeout=10_000)
    return float(re.search(r"([\d.]+)%", text)[1]) / 100


def shot(page, tmp_path, name: str) -> None:
    page.wait_for_timeout(400)  # the last redraw
    page.screenshot(path=str(tmp_path / f"{name}.png"))
    page.screenshot(path=str(SHOTS / f"workshop-{name}.png"))


def test_switching_leader_training_on_changes_the_outcome_and_replays_exactly(workshop, open_page, tmp_path):
    recorded = open_page()
    page = load(recorded, workshop)
    press_step(page, 3)
    page.get_by_text("Train religious leaders now").click()  # acts from step 4
    press_step(page, 6)
    shown = households(page)
    # the run path, in this process, on the scenario the switch amounts to
    leaders = next(s for s in SWITCHES if s.key == "leaders")
    played = apply_overrides(
        workshop_scenario(),
        {"interventions": [{**leaders.intervention, "name": leaders.label, "start": 4, "end": 11}]},
    )
    counts = run(played, 0, steps=9, agents=False).counts
    g = counts.groups.index("role=household")
    expected = counts.adopters[-1, g, 0] / counts.population[g]
    assert shown == pytest.approx(expected, abs=0.0005)
    plain = run(workshop_scenario(), 0, steps=9, agents=False).counts
    assert expected > plain.adopters[-1, g, 0] / plain.population[g] + 0.05  # the switch changed the outcome
    page.get_by_role("button", name="Check the replay").click()
    replay = page.locator(".workshop-replay")
    replay.wait_for(timeout=20_000)
    assert "the same at every step" in replay.inner_text() and f"{expected:.1%}" in replay.inner_text()
    with page.expect_download() as download:
        page.get_by_role("button", name="Save as scenario").click()
    saved = tmp_path / "played.yaml"
    download.value.save_as(saved)
    assert load_scenario(saved).interventions == played.interventions  # the file replays the run
    page.locator("canvas").first.click(position={"x": 230, "y": 160})  # an agent: its card
    page.get_by_text("contacts;").wait_for(timeout=10_000)
    shot(page, tmp_path, "switch")
    assert recorded.console_errors == [] and recorded.external_requests == []


@pytest.fixture(scope="module")
def short_workshop(tmp_path_factory):
    """The page on a six-step scenario, to watch Play stop at the end."""
    folder = tmp_path_factory.mktemp("short")
    path = folder / "short.yaml"
    path.write_text(to_yaml(apply_overrides(workshop_scenario(), {"schedule.steps": 6, "name": "short"})))
    server = start_workshop(folder, str(path))
    yield server
    server.stop()


def test_play_stops_at_the_end_of_the_schedule(short_workshop, open_page):
    recorded = open_page()
    page = load(recorded, short_workshop)
    page.get_by_role("button", name="Play", exact=True).click()
    page.get_by_text("step 6").wait_for(timeout=30_000)
    page.wait_for_timeout(1_500)  # well past the pause between steps
    assert step_count(page) == 6
    assert page.get_by_role("button", name="Play", exact=True).is_disabled()
    assert page.get_by_role("button", name="Step").is_disabled()
    page.get_by_role("button", name="Reset").click()
    page.get_by_text("step 0").wait_for(timeout=10_000)
    assert recorded.console_errors == []


def test_the_beside_scenario_is_drawn_from_the_start(tmp_path, open_page):
    """``--beside FILE`` draws that scenario beside the first when the page opens (not only once chosen)."""
    other = tmp_path / "other.yaml"
    other.write_text(to_yaml(apply_overrides(workshop_scenario(), {"schedule.steps": 6, "name": "second_file"})))
    first = tmp_path / "first.yaml"
    first.write_text(to_yaml(apply_overrides(workshop_scenario(), {"schedule.steps": 6, "name": "first_file"})))
    server = start_workshop(tmp_path, str(first), "--beside", str(other))
    try:
        recorded = open_page()
        page = load(recorded, server)
        page.get_by_text("second_file").first.wait_for(timeout=20_000)  # the 'drawn beside' choice shows it
        assert page.locator("canvas").count() >= 2 + 1  # both networks, and the curves
        assert recorded.console_errors == []
    finally:
        server.stop()


def _canvas_point(picture: dict, agent: int, width: int, height: int) -> tuple[float, float]:
    """Where network.vue draws an agent (its px())."""
    xy = [float(v) for v in picture["xy"].split(",")]
    x, y = xy[2 * agent], xy[2 * agent + 1]
    return 14 + x * (width - 28), 24 + (1 - y) * (height - 24 - 14)


def test_the_seeding_game_takes_clicks_and_scores_them(workshop, open_page, tmp_path):
    from diffusion_sim.workshop.app import _picture

    scenario = workshop_scenario()
    community = build_community(scenario, 0)
    picture = _picture(community, 0)
    width = 760
    height = int(width * picture["aspect"]) + 40
    points = np.array([_canvas_point(picture, i, width, height) for i in range(community.n)])
    gaps = np.sort(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2), axis=1)[:, 1]
    aims = [int(i) for i in np.flatnonzero(gaps > 25.0)[::97][:5]]  # agents at least 5 px from any other
    assert len(aims) == 5

    recorded = open_page()
    page = load(recorded, workshop)
    page.get_by_role("tab", name="Seeding game").click()
    canvas = page.locator(".ds-network", has_text="click to pick whom to train").locator("canvas")
    canvas.wait_for(timeout=10_000)
    # clicks map to agents only once the positions have arrived and been drawn: wait for that, then click
    # one at a time, each after the page counted the last (a loaded machine is slow, never out of order)
    page.wait_for_function(
        "([el, n]) => Number(el.dataset.agents) === n && Number(el.dataset.drawn) > 0",
        arg=[canvas.element_handle(), int(community.n)],
        timeout=20_000,
    )
    picked = page.locator(".workshop-picked")
    for k, i in enumerate(aims, 1):
        canvas.click(position={"x": float(points[i, 0]), "y": float(points[i, 1])})
        picked.get_by_text(f"picked {k} of 5").wait_for(timeout=20_000)
    assert [int(x) for x in re.findall(r"\d+", picked.inner_text().split(":", 1)[1])] == aims
    page.get_by_label("your name").fill("Amina")
    page.get_by_role("button", name="Run and score").click()
    board = page.locator(".workshop-board")
    board.wait_for(timeout=60_000)
    rows = board.locator("tr").all_inner_texts()[1:]
    assert len(rows) == 5 and any("Amina" in r for r in rows)
    game = SeedingGame(scenario, 0, community)
    game.picks = list(aims)
    mine = next(s for s in game.play("Amina") if s.player == "Amina")
    assert any(f"Amina\t{mine.coverage:.1%}" in r for r in rows), rows
    shot(page, tmp_path, "game")
    assert recorded.console_errors == [] and recorded.external_requests == []
