"""Workshop page benchmark: one step plus redraw, measured in a real browser (Debian's headless Chromium).

Run ``./dev bench workshop`` (or ``.venv/bin/python benchmarks/workshop.py``). For communities of 1,000 and
5,000 households (the workshop scenario otherwise), it starts ``diffusion-sim workshop`` on 127.0.0.1, opens
the page in Chromium and presses Step 30 times. Each press is timed inside the page, from the click to
the end of the network canvas's redraw (its ``data-drawn`` counter), so the figure includes the
websocket round trip, the two models' steps in the server, the new state string and the canvas drawing
(``canvas ms``: the drawing of the first network alone, timed by ``network.vue``).
Targets (issue #11): under 100 ms at 1,000 households, under 300 ms at 5,000.

Beside each figure is the reference of the same process: the server-side work alone (two
``WorkshopSession`` model steps and the state string), so the ratio says how much the browser adds.
A measuring script, not a test: nothing here asserts on time.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

PRESSES = 30

_TIMED_STEP = """
async () => {
  const canvas = document.querySelector('.ds-network canvas');
  const before = Number(canvas.dataset.drawn);
  const button = [...document.querySelectorAll('button')].find(b => b.innerText.trim().toUpperCase() === 'STEP');
  const t0 = performance.now();
  button.click();
  await new Promise(resolve => {
    const seen = new MutationObserver(() => {
      if (Number(canvas.dataset.drawn) > before) { seen.disconnect(); resolve(); }
    });
    seen.observe(canvas, { attributes: true, attributeFilter: ['data-drawn'] });
  });
  return [performance.now() - t0, Number(canvas.dataset.drawMs)];
}
"""


def _server_side(scenario, presses: int) -> float:
    """Median seconds of the server's own work for one step: both models and the state strings."""
    from diffusion_sim.workshop.app import _states
    from diffusion_sim.workshop.session import WorkshopSession

    session = WorkshopSession(scenario, 0)
    times = []
    for _ in range(presses):
        t = time.perf_counter()
        session.step()
        _states(session.states("main")), _states(session.states("beside"))
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    from playwright.sync_api import sync_playwright

    from browser import CHROMIUM, CHROMIUM_ARGS, start_workshop
    from diffusion_sim.scenario.overrides import apply_overrides
    from diffusion_sim.scenario.presets import workshop_scenario
    from diffusion_sim.scenario.yaml_source import to_yaml

    print(f"one step plus redraw in Chromium, {PRESSES} presses of Step (two networks drawn side by side)")
    print(
        f"{'households':>10} {'agents':>7} {'median ms':>10} {'p90 ms':>7} {'max ms':>7} {'canvas ms':>10} "
        f"{'server ms':>10} {'ratio':>6}"
    )
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for households, villages in ((1000, 5), (5000, 10)):
            scenario = apply_overrides(
                workshop_scenario(), {"community.households": households, "community.villages": villages}
            )
            path = Path(tmp) / f"w{households}.yaml"
            path.write_text(to_yaml(scenario))
            server = start_workshop(Path(tmp), str(path))
            try:
                page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
                page.goto(server.url)
                page.get_by_role("button", name="Step").wait_for(timeout=60_000)
                page.wait_for_timeout(1_000)
                page.evaluate(_TIMED_STEP)  # warm-up
                timed = [page.evaluate(_TIMED_STEP) for _ in range(PRESSES)]
                ms = sorted(t for t, _ in timed)
                draw = statistics.median(d for _, d in timed)
                agents = int(page.locator(".ds-network canvas").first.get_attribute("data-agents"))
                page.context.close()
            finally:
                server.stop()
            reference = _server_side(scenario, PRESSES) * 1000
            median = statistics.median(ms)
            p90 = ms[int(0.9 * (len(ms) - 1))]
            print(
                f"{households:>10,} {agents:>7,} {median:>10.1f} {p90:>7.1f} {ms[-1]:>7.1f} {draw:>10.1f} "
                f"{reference:>10.1f} {median / reference:>6.1f}"
            )
        browser.close()


if __name__ == "__main__":
    main()
