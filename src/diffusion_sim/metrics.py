"""Outcome reducers: plain functions of a :class:`~diffusion_sim.results.RunResult`.

The per-replicate outcome table (:func:`outcomes`) has one row per replicate and these columns:

* ``final_coverage``: share of all agents practising the behaviour at the last step;
* ``time_to_<p>``: first step at which coverage reached p (each of ``outputs.coverage_targets``),
  NaN if never;
* ``sustained_coverage``: coverage ``outputs.sustain_steps`` steps after the last intervention ended
  (NaN if that step is beyond the run or an intervention never ends); ``sustain_step`` says which;
* ``abandoned_share``: share of agents who ever adopted that abandoned at least once (durability);
* ``coverage_households``, ``coverage_leaders``, ``coverage_health_workers``,
  ``coverage_marginalised``, ``coverage_not_marginalised``: final coverage by group;
* ``equity_gap``: ``coverage_not_marginalised - coverage_marginalised`` (positive: the
  marginalised are left behind);
* ``lowest_village_coverage``: final coverage of the worst-covered village;
* ``adopters``: final number of adopters; ``adoptions_<channel>``: adoptions through each channel
  over the run, initial seeds included (every adoption event, re-adoptions included);
* ``cost``: programme cost over the run; ``community_cost``: cost borne by the community.

Comparisons against a baseline (:func:`paired_differences`) add ``extra_adopters`` and
``cost_per_extra_adopter``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from diffusion_sim.behaviour import CHANNELS
from diffusion_sim.results import RunResult

__all__ = [
    "final_coverage",
    "outcomes",
    "paired_differences",
    "summary",
    "time_to_coverage",
]


def _metric(result: RunResult, metric: str, group: str) -> pd.DataFrame:
    """Steps x replicates table of one metric of one group."""
    df = result.steps
    sel = df[(df["metric"] == metric) & (df["group"] == group)]
    return sel.pivot(index="step", columns="replicate", values="value")


def time_to_coverage(result: RunResult, level: float, group: str = "all") -> pd.Series:
    """First step at which a group's coverage reaches ``level``, per replicate (NaN: never)."""
    cov = _metric(result, "coverage", group)
    reached = cov >= level
    first = reached.idxmax().astype(float)
    first[~reached.any()] = np.nan
    return first.rename(f"time_to_{level:g}")


def final_coverage(result: RunResult, group: str = "all") -> pd.Series:
    """Coverage at the last step, per replicate."""
    return result.final("coverage", group)


def _last_end(result: RunResult) -> float:
    """Last step any intervention acts on (0 without interventions; inf if one never ends)."""
    ivs = result.provenance.get("scenario", {}).get("interventions", [])
    if not ivs:
        return 0.0
    return max(math.inf if iv.get("end") is None else float(iv["end"]) for iv in ivs)


def outcomes(result: RunResult) -> pd.DataFrame:
    """One row per replicate with the outcomes listed in this module's docstring."""
    scenario = result.provenance.get("scenario", {})
    out_cfg = scenario.get("outputs", {"coverage_targets": [0.5, 0.8], "sustain_steps": 12})
    cov = _metric(result, "coverage", "all")
    last = cov.index.max()
    rows = pd.DataFrame(index=cov.columns)
    rows.index.name = "replicate"
    rows["final_coverage"] = cov.loc[last]
    for level in out_cfg["coverage_targets"]:
        rows[f"time_to_{level:g}"] = time_to_coverage(result, level)
    end = _last_end(result)
    sustain_step = end + out_cfg["sustain_steps"]
    rows["sustain_step"] = sustain_step if sustain_step <= last else np.nan
    rows["sustained_coverage"] = cov.loc[int(sustain_step)] if sustain_step <= last else np.nan
    agents = result.agents
    ever = agents[agents["adopted_at"] >= 0]
    rows["abandoned_share"] = (ever["abandoned_at"] >= 0).groupby(ever["replicate"]).mean().reindex(rows.index)
    for name, group in (
        ("households", "role=household"),
        ("leaders", "role=leader"),
        ("health_workers", "role=health_worker"),
        ("marginalised", "marginalised=yes"),
        ("not_marginalised", "marginalised=no"),
    ):
        rows[f"coverage_{name}"] = final_coverage(result, group)
    rows["equity_gap"] = rows["coverage_not_marginalised"] - rows["coverage_marginalised"]
    df = result.steps
    villages = df[(df["metric"] == "coverage") & df["group"].str.startswith("village=") & (df["step"] == last)]
    rows["lowest_village_coverage"] = villages.groupby("replicate")["value"].min()
    rows["adopters"] = result.final("adopters", "all")
    for ch in CHANNELS:
        sel = df[(df["metric"] == "new_adopters") & (df["group"] == f"channel={ch}")]
        rows[f"adoptions_{ch}"] = sel.groupby("replicate")["value"].sum().reindex(rows.index, fill_value=0.0)
    for metric in ("cost", "community_cost"):
        sel = df[(df["metric"] == metric) & (df["group"] == "all")]
        rows[metric] = sel.groupby("replicate")["value"].sum().reindex(rows.index, fill_value=0.0)
    return rows.reset_index()


def paired_differences(table: pd.DataFrame, baseline: str, columns: list[str], level: float = 0.95) -> pd.DataFrame:
    """Mean of each outcome per scenario, and its paired difference from ``baseline``.

    The difference comes with a ``level`` t-interval over replicates (runs are paired: same seeds,
    common random numbers).

    ``table`` has columns ``scenario``, ``replicate`` and the outcomes. Returns one row per
    (scenario, outcome): ``mean``, ``diff``, ``diff_low``, ``diff_high``, ``n``.
    """
    base = table[table["scenario"] == baseline].set_index("replicate")
    records = []
    for scen, t in table.groupby("scenario", sort=False):
        t = t.set_index("replicate")
        for col in columns:
            x = t[col].astype(float)
            d = (x - base[col].astype(float).reindex(x.index)).dropna()
            n = len(d)
            mean_d = d.mean() if n else np.nan
            if n > 1 and d.std(ddof=1) > 0:
                half = stats.t.ppf(0.5 + level / 2, n - 1) * d.std(ddof=1) / math.sqrt(n)
            else:
                half = 0.0 if n else np.nan
            records.append(
                {
                    "scenario": scen,
                    "outcome": col,
                    "mean": x.mean(),
                    "diff": mean_d,
                    "diff_low": mean_d - half,
                    "diff_high": mean_d + half,
                    "n": n,
                }
            )
    return pd.DataFrame.from_records(records)


def summary(result: RunResult) -> dict:
    """The headline numbers of a run (means over replicates)."""
    o = outcomes(result)
    by_channel = {c: float(o[f"adoptions_{c}"].mean()) for c in CHANNELS}
    t50 = o["time_to_0.5"] if "time_to_0.5" in o else pd.Series([np.nan])
    t80 = o["time_to_0.8"] if "time_to_0.8" in o else pd.Series([np.nan])
    return {
        "coverage": float(o["final_coverage"].mean()),
        "coverage_households": float(o["coverage_households"].mean()),
        "coverage_leaders": float(o["coverage_leaders"].mean()),
        "coverage_health_workers": float(o["coverage_health_workers"].mean()),
        "coverage_marginalised": float(o["coverage_marginalised"].mean()),
        "coverage_not_marginalised": float(o["coverage_not_marginalised"].mean()),
        "time_to_50": float(t50.mean()) if t50.notna().all() else np.nan,
        "time_to_80": float(t80.mean()) if t80.notna().all() else np.nan,
        "adoptions_by_channel": by_channel,
        "cost": float(o["cost"].mean()),
    }
