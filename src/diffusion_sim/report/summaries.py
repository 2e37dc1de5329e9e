"""Numbers the report derives from a comparison: times to targets, the first to reach, reasons for gaps."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from diffusion_sim.scenario.schema import Scenario

if TYPE_CHECKING:
    from diffusion_sim.compare import Comparison

from diffusion_sim.report.format import DASH

__all__ = ["dash_for", "first_to_reach", "level_label", "target_column", "time_columns", "time_to_summary"]


def time_to_summary(comp: Comparison, column: str) -> pd.DataFrame:
    """Per scenario: mean of a ``time_to_<p>`` outcome over replicates that reached it, how many did, of how many.

    Columns ``mean``, ``reached``, ``total``, ``median`` (replicates that never reached count as
    infinitely late) and ``computed`` (False when the scenario's ``outputs.coverage_targets`` lacks the
    level); indexed by scenario name, in order.
    """
    level = float(column.removeprefix("time_to_"))
    rows = []
    for sc in comp.scenarios:
        t = comp.outcomes.loc[comp.outcomes["scenario"] == sc.name]
        x = t[column].astype(float) if column in t.columns else pd.Series(np.nan, index=t.index)
        ok = x.notna()
        ranked = np.where(ok, x, np.inf)
        rows.append(
            {
                "scenario": sc.name,
                "mean": float(x[ok].mean()) if ok.any() else math.nan,
                "reached": int(ok.sum()),
                "total": len(x),
                "median": float(np.median(ranked)) if len(x) else math.inf,
                "computed": any(math.isclose(level, c) for c in sc.outputs.coverage_targets),
            }
        )
    return pd.DataFrame(rows).set_index("scenario")


def first_to_reach(comp: Comparison, column: str) -> list[str]:
    """The scenario(s) that reach a coverage target first.

    Ranked by the median step at which they reach it over replicates (replicates that never reach it
    count as never), then by more replicates reaching it, then by the mean over those that did. Empty
    when no scenario reaches the target in more than half of its replicates.
    """
    s = time_to_summary(comp, column)
    s = s[s["computed"] & np.isfinite(s["median"])]
    if s.empty:
        return []
    keys = {name: (row["median"], -row["reached"], row["mean"]) for name, row in s.iterrows()}
    best = min(keys.values())
    return [name for name, key in keys.items() if key == best]


def time_columns(comp: Comparison) -> list[str]:
    """The comparison's ``time_to_<level>`` outcome columns, by increasing level."""
    cols = [c for c in comp.outcomes.columns if c.startswith("time_to_")]
    return sorted(cols, key=lambda c: float(c.removeprefix("time_to_")))


def target_column(cols: list[str]) -> str | None:
    """The target whose winner is marked: 80% when reported, else the highest one."""
    return "time_to_0.8" if "time_to_0.8" in cols else (cols[-1] if cols else None)


def level_label(column: str) -> str:
    """The coverage level of a ``time_to_<level>`` column as a percentage (``time_to_0.8`` -> ``80%``)."""
    return f"{float(column.removeprefix('time_to_')) * 100:g}%"


def _sustain_reason(sc: Scenario) -> str:
    """Why a scenario's sustained coverage is missing."""
    if any(iv.end is None for iv in sc.interventions):
        return "an intervention runs to the end"
    last = max((iv.end for iv in sc.interventions), default=0)
    return f"run ends before step {last + sc.outputs.sustain_steps}"


def dash_for(outcome: str, sc: Scenario) -> str:
    """A missing outcome: a dash and, where known, why it is missing."""
    reason = _missing_reason(outcome, sc)
    return f"{DASH} ({reason})" if reason else DASH


def _missing_reason(outcome: str, sc: Scenario) -> str:
    if outcome.startswith("time_to_"):
        level = float(outcome.removeprefix("time_to_"))
        if not any(math.isclose(level, c) for c in sc.outputs.coverage_targets):
            return "not computed"
        return "not reached"
    if outcome == "sustained_coverage":
        return _sustain_reason(sc)
    if outcome in ("coverage_marginalised", "equity_gap") and sc.community.marginalised_share == 0:
        return "no marginalised households"
    if outcome.startswith("coverage_"):
        return "nobody in the group"
    return ""
