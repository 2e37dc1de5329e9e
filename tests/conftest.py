"""Shared helpers: small hand-made communities and scenarios for known-answer tests."""

from __future__ import annotations

import pytest

from diffusion_sim.community import single_layer_community as make_community  # noqa: F401 (for the tests)
from diffusion_sim.scenario import Scenario, apply_overrides
from diffusion_sim.scenario import plain_scenario as _plain


def plain_scenario(**overrides):
    """:func:`diffusion_sim.scenario.plain_scenario` with dotted paths written with ``__``."""
    return _plain({k.replace("__", "."): v for k, v in overrides.items()})


def ring_lattice(n: int, half: int) -> list[tuple[int, int]]:
    """Edges of a ring where each node is tied to its ``half`` nearest nodes on each side."""
    return [(i, (i + d) % n) for i in range(n) for d in range(1, half + 1)]


@pytest.fixture
def small_scenario() -> Scenario:
    """The default scenario shrunk to 600 households in 3 villages (fast)."""
    return apply_overrides(Scenario(), {"community.households": 600, "community.villages": 3})


# real clusters for the tests that need them: a single-node SLURM (session) and a Dask LocalCluster to join
from cluster_fixtures import local_scheduler, slurm  # noqa: E402, F401

# isort: split
# the workshop server in a subprocess and Debian's Chromium driven by Playwright, for the browser tests
from browser import browser, open_page, workshop  # noqa: E402, F401
from read_only import read_only_folder  # noqa: E402, F401
