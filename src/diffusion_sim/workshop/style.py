"""The picture's vocabulary, defined once: colours of adoption states, shapes of agent kinds, legend labels.

Used by the animation (matplotlib) and by the workshop's browser page (an HTML canvas), so colours are hex
strings and shapes plain names a canvas can draw: ``circle``, ``square``, ``diamond``, ``triangle``,
``star``, ``pentagon`` (``network.vue`` draws each).

The colours are from the Okabe-Ito palette (Okabe and Ito, "Color universal design", 2008): simulated for
red-, green- and blue-blindness (Machado et al. 2009), every two state colours stay far apart (CIELAB
distance 44 at least); "gave up" is black, which no one confuses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from diffusion_sim.population import HOUSEHOLD, Population
from diffusion_sim.scenario.schema import AGENT_TYPES

__all__ = [
    "ADOPTED",
    "ADOPTED_NOW",
    "CURVES",
    "GAVE_UP",
    "KINDS",
    "MARGINALISED",
    "NOT_ADOPTED",
    "SHAPES",
    "SHAPE_SYMBOLS",
    "STATES",
    "TIE",
    "CurveStyle",
    "Kind",
    "Outline",
    "State",
    "TieStyle",
    "adoption_states",
    "agent_kinds",
    "agent_style",
    "vocabulary",
]


@dataclass(frozen=True)
class State:
    """One adoption state: its code, name, legend label and fill colour."""

    code: int
    name: str
    label: str
    colour: str


NOT_ADOPTED, ADOPTED, ADOPTED_NOW, GAVE_UP = 0, 1, 2, 3
STATES: tuple[State, ...] = (
    State(NOT_ADOPTED, "not_adopted", "not (yet) practising", "#CCCCCC"),
    State(ADOPTED, "adopted", "practising", "#0072B2"),
    State(ADOPTED_NOW, "adopted_now", "just started", "#E69F00"),
    State(GAVE_UP, "gave_up", "gave up", "#000000"),
)
"""Adoption states by code: an agent who started practising since the last picture (at step 0: the seeds)
shows as ``adopted_now``, and as ``adopted`` from the next picture on; one who stopped, and has not started
again, as ``gave_up``."""

SHAPE_SYMBOLS: dict[str, str] = {
    "circle": "\u25cf",  # ●
    "square": "\u25a0",  # ■
    "diamond": "\u25c6",  # ◆
    "triangle": "\u25b2",  # ▲
    "star": "\u2605",  # ★
    "pentagon": "\u2b1f",  # ⬟
}
"""Every shape name a renderer must draw, with a text symbol of it (for legends written in HTML)."""
SHAPES: tuple[str, ...] = tuple(SHAPE_SYMBOLS)


@dataclass(frozen=True)
class Kind:
    """One kind of agent.

    Its code (an :data:`~diffusion_sim.scenario.schema.AGENT_TYPES` index), name, legend label, shape, size
    (radius relative to a household's) and outline colour (None: no outline).
    """

    code: int
    name: str
    label: str
    shape: str
    size: float
    outline: str | None


_KIND_LOOK = {  # name: (legend label, shape, relative size)
    "household": ("household", "circle", 1.0),
    "religious_leader": ("religious leader", "square", 2.4),
    "traditional_leader": ("traditional leader", "diamond", 2.4),
    "youth_leader": ("youth leader", "triangle", 2.5),
    "women_leader": ("women's leader", "star", 3.2),
    "health_worker": ("health worker", "pentagon", 2.5),
}
_OUTLINE = "#000000"

KINDS: tuple[Kind, ...] = tuple(
    Kind(code, name, *_KIND_LOOK[name], outline=None if name == "household" else _OUTLINE)
    for code, name in enumerate(AGENT_TYPES)
)
"""Agent kinds by code, in the order of :data:`~diffusion_sim.scenario.schema.AGENT_TYPES` (so a population's
``agent_type`` is the kind code): households are small plain circles; leaders and health workers are
larger, outlined, one shape per kind."""


@dataclass(frozen=True)
class Outline:
    """An outline that marks a group of households."""

    name: str
    label: str
    colour: str
    width: float


MARGINALISED = Outline("marginalised", "marginalised household (ringed)", "#CC79A7", 0.8)
"""Marginalised households carry a thin reddish-purple ring, the colour of their curve (width in points)."""


@dataclass(frozen=True)
class TieStyle:
    """How ties are drawn: a thin light line under the agents."""

    label: str
    colour: str
    opacity: float
    width: float


TIE = TieStyle("tie", "#7F7F7F", 0.12, 0.4)


@dataclass(frozen=True)
class CurveStyle:
    """One line of the adoption curve panel."""

    name: str
    label: str
    colour: str
    dashed: bool


CURVES: tuple[CurveStyle, ...] = (
    CurveStyle("households", "all households", "#0072B2", False),
    CurveStyle("marginalised", "marginalised households", "#CC79A7", True),
)
"""The curve panel's lines: coverage of households, and of marginalised households."""


def agent_kinds(population: Population) -> np.ndarray:
    """Kind code of every agent (an index into :data:`KINDS`)."""
    return population.agent_type


def adoption_states(adopted: np.ndarray, adopted_now: np.ndarray, ever_gave_up: np.ndarray) -> np.ndarray:
    """State code of every agent (an index into :data:`STATES`) from boolean arrays of one replicate.

    Args:
        adopted: practises the behaviour now.
        adopted_now: started since the last picture (shown only where ``adopted``).
        ever_gave_up: has given the behaviour up at some step (and is ``gave_up`` unless practising again).

    """
    state = np.full(len(adopted), NOT_ADOPTED, np.int8)
    state[ever_gave_up & ~adopted] = GAVE_UP
    state[adopted] = ADOPTED
    state[adopted & adopted_now] = ADOPTED_NOW
    return state


def agent_style(
    population: Population, adopted: np.ndarray, adopted_now: np.ndarray, ever_gave_up: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-agent drawing codes: ``kind`` and ``state`` codes, ``shape`` names, ``fill`` and ``outline`` colours.

    ``outline`` is ``""`` where an agent has none; marginalised households get :data:`MARGINALISED`'s.
    """
    kind = agent_kinds(population)
    state = adoption_states(adopted, adopted_now, ever_gave_up)
    outline = np.array([k.outline or "" for k in KINDS], dtype=object)[kind]
    outline[(population.role == HOUSEHOLD) & population.marginalised] = MARGINALISED.colour
    return {
        "kind": kind,
        "state": state,
        "shape": np.array([k.shape for k in KINDS], dtype=object)[kind],
        "fill": np.array([s.colour for s in STATES], dtype=object)[state],
        "outline": outline,
    }


def vocabulary() -> dict:
    """The whole vocabulary as plain data (for JSON: the browser page reads the same definitions)."""
    return {
        "states": [asdict(s) for s in STATES],
        "kinds": [asdict(k) for k in KINDS],
        "shapes": list(SHAPES),
        "marginalised": asdict(MARGINALISED),
        "tie": asdict(TIE),
        "curves": [asdict(c) for c in CURVES],
    }
