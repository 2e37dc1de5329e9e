"""The workshop page (a placeholder: a title, a Step button and a step counter; the real page replaces it).

Served by :mod:`diffusion_sim.workshop.server`, which gives it its scenario and seed (:func:`page_settings`).
Each browser session has its own model, built with ``solara.use_memo`` inside the component; a model built
at module level would be shared by every session.

The browser tests (tests/test_workshop_server.py) press the button labelled ``Step`` and read the step count
as the number in the element of class ``workshop-step``.
"""

from __future__ import annotations

import solara

from diffusion_sim.model import DiffusionModel
from diffusion_sim.workshop.server import page_settings


@solara.component
def Page():
    """One session's page: the scenario's name, a Step button and the number of steps taken."""
    settings = page_settings()
    model = solara.use_memo(lambda: DiffusionModel(settings.scenario, settings.seed), dependencies=[])
    steps, set_steps = solara.use_state(0)

    def step():
        model.step()
        set_steps(model.steps)

    solara.Title("diffusion-sim workshop")
    with solara.Column():
        solara.Text(f"diffusion-sim workshop: {settings.scenario.name}", style={"font-size": "1.5em"})
        solara.Button("Step", on_click=step)
        solara.Text(f"step {steps}", classes=["workshop-step"])
