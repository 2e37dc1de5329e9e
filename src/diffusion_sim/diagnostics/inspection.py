"""An inspection of a community: every table of its structure and, with adoption times, of its diffusion."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from diffusion_sim.community import Community
from diffusion_sim.diagnostics.exposure import ExposureAtAdoption, adoption_curve, exposure_at_adoption
from diffusion_sim.diagnostics.tables import node_table, scopes, structure_tables

__all__ = ["AS_GIVEN", "SYMMETRISED", "Inspection", "inspect_community"]

AS_GIVEN = "as given"
"""Exposure over the ties as the data give them (directed ties from ego to the people ego named)."""
SYMMETRISED = "symmetrised"
"""Exposure with every directed tie read in both directions."""


@dataclass(eq=False)
class Inspection:
    """What ``diffusion-sim inspect`` reports about one community (tables as in the README's "Inspecting")."""

    community: Community
    source: str
    nodes: pd.DataFrame
    layers: pd.DataFrame
    degrees: pd.DataFrame
    exposure: dict[str, ExposureAtAdoption] = field(default_factory=dict)
    curve: pd.DataFrame | None = None
    exposure_summary: pd.DataFrame | None = None
    time_unit: str = "time"

    @property
    def has_adoption(self) -> bool:
        """Whether there were adoption times to report on."""
        return bool(self.exposure)

    def exposure_table(self) -> pd.DataFrame:
        """One row per agent: its adoption time, alters, alters who adopted earlier, exposure and status."""
        pop = self.community.population
        columns: dict[str, object] = {"agent": np.arange(pop.n)}
        if pop.labels is not None:
            columns["label"] = pop.labels.astype(str)
        columns["village"] = np.array([pop.village_label(v) for v in range(pop.n_villages)], dtype=object)[pop.village]
        given = self.exposure[AS_GIVEN]
        columns |= {
            "adoption_time": given.adoption_time,
            "status": given.status(),
            "alters": given.alters,
            "alters_adopted_earlier": given.earlier,
            "exposure": given.exposure,
        }
        if SYMMETRISED in self.exposure:
            sym = self.exposure[SYMMETRISED]
            columns |= {
                "alters_symmetrised": sym.alters,
                "alters_adopted_earlier_symmetrised": sym.earlier,
                "exposure_symmetrised": sym.exposure,
            }
        return pd.DataFrame(columns)


def _summary_rows(scope: str, members: np.ndarray | None, variant: str, e: ExposureAtAdoption) -> dict:
    pick = slice(None) if members is None else members
    adopters = e.adopters[pick]
    included = e.included[pick]
    values = e.exposure[pick][included]
    return {
        "scope": scope,
        "ties": variant,
        "agents": len(adopters),
        "adopters": int(adopters.sum()),
        "never_adopted": int((~adopters).sum()),
        "without_nominations": int((adopters & ~included).sum()),
        "included": int(included.sum()),
        "mean": float(values.mean()) if len(values) else float("nan"),
        "median": float(np.median(values)) if len(values) else float("nan"),
        "share_zero": float((values == 0).mean()) if len(values) else float("nan"),
    }


def inspect_community(
    community: Community,
    *,
    source: str = "",
    adoption_time: np.ndarray | None = None,
    time_unit: str = "time",
) -> Inspection:
    """Inspect a community: its agents, ties per layer, degrees, components and clustering, overall and per village.

    With adoption times (``adoption_time``, default the population's observed ones), also the cumulative
    adoption curve and every adopter's exposure at adoption (:func:`exposure_at_adoption`), over the ties as
    given and, when some layer is directed, symmetrised.

    Args:
        community: the community.
        source: what it was read from, for people.
        adoption_time: per-agent adoption times (NaN: never); default ``community.population.adoption_time``.
        time_unit: what a time counts (``month``, ``step``), for labels.

    """
    layers, degrees = structure_tables(community)
    out = Inspection(community, source, node_table(community.population), layers, degrees, time_unit=time_unit)
    t = community.population.adoption_time if adoption_time is None else adoption_time
    if t is None:
        return out
    out.exposure[AS_GIVEN] = exposure_at_adoption(community, t)
    if community.network.directed & set(community.network.layers):
        out.exposure[SYMMETRISED] = exposure_at_adoption(community, t, symmetrise=True)
    times = out.exposure[AS_GIVEN].adoption_time
    curves, rows = [], []
    for scope, members in scopes(community.population):
        curve = adoption_curve(times if members is None else times[members])
        curve.insert(0, "scope", scope)
        curves.append(curve)
        rows += [_summary_rows(scope, members, variant, e) for variant, e in out.exposure.items()]
    out.curve = pd.concat(curves, ignore_index=True)
    out.exposure_summary = pd.DataFrame(rows)
    return out
