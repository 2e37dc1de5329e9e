"""Numbers the report derives from a comparison: times to targets, the first to reach, reasons for gaps."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from diffusion_sim.scenario.fields import cost_unit
from diffusion_sim.scenario.schema import Scenario

if TYPE_CHECKING:
    from diffusion_sim.compare import Comparison

from diffusion_sim.report.format import DASH

__all__ = [
    "QUANTITY_LABELS",
    "dash_for",
    "first_to_reach",
    "level_label",
    "target_column",
    "time_columns",
    "time_to_summary",
    "unit_cost_breakdown",
]


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
    """Why a scenario's sustained coverage is missing (the comparison's reading step: see its clock)."""
    return "no common reading step after the programmes"


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
    if outcome in ("sustained_coverage", "sustained_coverage_people", "abandoned_share"):
        return _sustain_reason(sc)
    if outcome in ("coverage_marginalised", "equity_gap") and sc.community.marginalised_share == 0:
        return "no marginalised households"
    if outcome.startswith("coverage_"):
        return "nobody in the group"
    return ""


QUANTITY_LABELS: dict[str, str] = {
    "fixed (one-off)": "one-off",
    "per leader trained": "leaders trained",
    "per conversation": "conversations",
    "per visit": "visits",
    "per step": "steps",
    "per person reached": "people reached",
    "per village per meeting": "village-meetings",
    "per volunteer per step": "volunteer-steps",
    "per household reached": "households reached",
    "per seed": "seeds",
}
"""What the quantity of each cost unit counts (:data:`diffusion_sim.scenario.fields.COST_UNITS`)."""

_DELIVERED = {"per visit", "per conversation", "per seed", "per household reached"}
"""Units whose quantity is what the intervention records as delivered."""


def _intervention_totals(comp: Comparison, name: str) -> pd.DataFrame:
    """Per intervention label and replicate: programme cost, community cost and units delivered over the run."""
    df = comp.results[name].steps
    sel = df[df["metric"].isin(["cost", "community_cost", "delivered"])]
    sel = sel.assign(group=sel["group"].astype(str), metric=sel["metric"].astype(str))
    sel = sel[sel["group"].str.startswith("intervention=")]
    table = sel.pivot_table(index=["group", "replicate"], columns="metric", values="value", aggfunc="sum")
    return table.reindex(columns=["cost", "community_cost", "delivered"]).fillna(0.0)


def _whole(q: np.ndarray) -> bool:
    """Whether every value is a whole number (a count of units), up to rounding."""
    return bool(np.all(np.abs(q - np.round(q)) <= 1e-6 * np.maximum(1.0, np.abs(q))) and np.all(q > -1e-9))


def unit_cost_breakdown(comp: Comparison) -> pd.DataFrame:
    """How each intervention's cost was built: every non-zero unit cost, its unit and the quantity it multiplied.

    One row per (scenario, intervention, unit cost field that is not zero), in scenario, intervention
    and field order, with columns ``scenario``, ``intervention`` (label), ``type``, ``field``, ``unit``
    (from the schema), ``unit_cost``, ``quantity`` (mean over replicates of the units paid for; NaN
    when not known), ``quantity_label`` (what it counts), ``derived`` (True when the quantity is not
    recorded but worked out from the recorded cost, as the one remaining unknown), ``subtotal``
    (``unit_cost * quantity``: programme and community shares together) and ``total`` (the
    intervention's programme plus community cost, mean over replicates).

    Quantities: a fixed cost is paid once if the start step falls within the run; a cost per step is
    paid on every step the intervention acts; visits, conversations, seeds and households reached are
    what the intervention records as delivered; people reached by a feedback mechanism are its
    delivered units per step; the one remaining unit (leaders trained, village-meetings or
    volunteer-steps) is the rest of the recorded cost over its unit cost, kept only when it comes out
    as a whole number in every replicate.
    """
    rows = []
    for sc in comp.scenarios:
        totals = _intervention_totals(comp, sc.name)
        n_steps = sc.schedule.steps
        reps = comp.replicates
        for iv in sc.interventions:
            g = f"intervention={iv.label}"
            t = totals.loc[g].reindex(reps).fillna(0.0) if g in totals.index.get_level_values(0) else None
            total = (t["cost"] + t["community_cost"]).to_numpy(float) if t is not None else np.zeros(len(reps))
            delivered = t["delivered"].to_numpy(float) if t is not None else np.zeros(len(reps))
            active = sum(1 for step in range(1, n_steps + 1) if iv.active(step))
            items = []
            for field in type(iv).model_fields:
                unit = cost_unit(type(iv), field)
                price = float(getattr(iv, field)) if unit else 0.0
                if not unit or price == 0.0:
                    continue
                if unit == "fixed (one-off)":
                    q = np.full(len(reps), 1.0 if 1 <= iv.start <= n_steps else 0.0)
                elif unit == "per step":
                    q = np.full(len(reps), float(active))
                elif unit in _DELIVERED:
                    q = delivered
                elif unit == "per person reached" and active > 0:
                    q = delivered / active
                else:
                    q = None
                items.append([field, unit, price, q, False])
            unknown = [it for it in items if it[3] is None]
            if len(unknown) == 1:
                known = sum(it[2] * it[3] for it in items if it[3] is not None)
                rest = (total - known) / unknown[0][2]
                if _whole(rest):
                    unknown[0][3], unknown[0][4] = np.round(rest), True
            for field, unit, price, q, derived in items:
                quantity = float(np.mean(q)) if q is not None and len(q) else math.nan
                rows.append(
                    {
                        "scenario": sc.name,
                        "intervention": iv.label,
                        "type": iv.type,
                        "field": field,
                        "unit": unit,
                        "unit_cost": price,
                        "quantity": quantity,
                        "quantity_label": QUANTITY_LABELS[unit],
                        "derived": derived,
                        "subtotal": price * quantity,
                        "total": float(total.mean()) if len(total) else math.nan,
                    }
                )
    columns = [
        "scenario",
        "intervention",
        "type",
        "field",
        "unit",
        "unit_cost",
        "quantity",
        "quantity_label",
        "derived",
        "subtotal",
        "total",
    ]
    return pd.DataFrame(rows, columns=columns)
