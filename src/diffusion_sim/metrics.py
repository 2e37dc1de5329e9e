"""Outcome reducers: plain functions of a :class:`~diffusion_sim.results.RunResult`'s per-step counts.

Coverage means **households**: the share of households that practise the behaviour. Coverage of
**people** weighs each household by its size. Leaders and health workers are groups of their own
and count in neither.

The per-replicate outcome table (:func:`outcomes`) has one row per replicate and these columns:

* ``final_step``, ``final_day``: the last step of the run (and its day), where final outcomes are read;
* ``final_coverage``: share of households practising the behaviour at the last step;
  ``final_coverage_people``: the same weighted by household size (share of people);
* ``time_to_<p>``: first step at which household coverage reached p (each of
  ``outputs.coverage_targets``), NaN if never;
* ``read_step``, ``read_day``: the step (and day) at which outcomes "after the programme" are read:
  ``outputs.sustain_steps`` after the last intervention ended. In a comparison it is one common
  step for every scenario (:meth:`Clock.common`), so each is read at the same time; NaN when an
  intervention runs to the end or the run ends before it;
* ``sustained_coverage`` (``sustained_coverage_people``): household (people) coverage at ``read_step``;
* ``abandoned_share``: of the households that had adopted by ``read_step``, the share that had
  abandoned at least once by then;
* ``coverage_leaders``, ``coverage_health_workers``: final coverage of those groups;
  ``coverage_marginalised``, ``coverage_not_marginalised``: final coverage of marginalised and
  other households;
* ``equity_gap``: ``coverage_not_marginalised - coverage_marginalised`` (positive: the
  marginalised are left behind);
* ``lowest_village_coverage``: final household coverage of the worst-covered village;
* ``adopters``: households practising the behaviour at the last step; ``adopters_people``: people in them;
* ``adoptions_<channel>``: adoptions of any agent through each channel over the run, initial
  adopters included (every adoption event, re-adoptions included);
* ``first_adoptions_<channel>``: households whose first adoption came through each channel;
  ``direct_conversions``: the sum over the interventions' direct channels
  (:data:`~diffusion_sim.behaviour.DIRECT_CHANNELS`);
* ``cost``: programme cost over the run; ``community_cost``: cost borne by the community.

Comparisons against a baseline (:func:`paired_differences`) add ``extra_adopters`` and
``cost_per_extra_adopter``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from diffusion_sim.behaviour import CHANNELS, DIRECT_CHANNELS
from diffusion_sim.kernels import COUNT_FIRST
from diffusion_sim.results import RunResult, StepCounts
from diffusion_sim.scenario.schema import Scenario

__all__ = [
    "HOUSEHOLDS",
    "Clock",
    "final_coverage",
    "outcome_columns",
    "outcomes",
    "paired_differences",
    "summary",
    "time_to_coverage",
]

HOUSEHOLDS = "role=household"
"""The group whose coverage is the headline coverage."""


@dataclass(frozen=True)
class Clock:
    """The step at which outcomes "after the programme" are read (sustained coverage, abandoned share).

    ``step`` is None when there is no such step; ``reason`` then says why.
    """

    step: int | None
    reason: str = ""

    @classmethod
    def own(cls, scenario: Scenario) -> Clock:
        """A scenario's own reading step: ``outputs.sustain_steps`` after its last intervention ends."""
        return cls.common([scenario])

    @classmethod
    def common(cls, scenarios: Sequence[Scenario]) -> Clock:
        """One reading step for every scenario of a comparison: the latest of their own steps.

        Reading every scenario at the same step makes "sustained" outcomes comparable: a package
        that changes nothing then equals the baseline in every figure.
        """
        latest = 0
        for sc in scenarios:
            for iv in sc.interventions:
                if iv.end is None:
                    return cls(None, f"'{iv.label}' of {sc.name} runs to the end of the run")
            last = max((iv.end for iv in sc.interventions), default=0)
            latest = max(latest, last + sc.outputs.sustain_steps)
        end = min(sc.schedule.steps for sc in scenarios)
        if latest > end:
            return cls(None, f"the run ends at step {end}, before step {latest}")
        return cls(latest)


def outcome_columns(scenario: Scenario) -> list[str]:
    """The columns of :func:`outcomes` for a scenario, in order (without ``replicate``); a test pins them."""
    return [
        "final_step",
        "final_day",
        "final_coverage",
        "final_coverage_people",
        *(f"time_to_{level:g}" for level in scenario.outputs.coverage_targets),
        "read_step",
        "read_day",
        "sustained_coverage",
        "sustained_coverage_people",
        "abandoned_share",
        "coverage_leaders",
        "coverage_health_workers",
        "coverage_marginalised",
        "coverage_not_marginalised",
        "equity_gap",
        "lowest_village_coverage",
        "adopters",
        "adopters_people",
        *(f"adoptions_{ch}" for ch in CHANNELS),
        *(f"first_adoptions_{ch}" for ch in CHANNELS),
        "direct_conversions",
        "cost",
        "community_cost",
    ]


def _rows(counts: StepCounts, step: int) -> int:
    """Position of a step in the counts (steps are 0, 1, 2, ...)."""
    return int(np.searchsorted(counts.steps, step))


def time_to_coverage(result: RunResult, level: float, group: str = HOUSEHOLDS) -> pd.Series:
    """First step at which a group's coverage reaches ``level``, per replicate (NaN: never)."""
    counts = result.counts
    reached = counts.coverage(group) >= level  # T x R
    first = counts.steps[reached.argmax(axis=0)].astype(float)
    first[~reached.any(axis=0)] = np.nan
    return pd.Series(first, index=pd.Index(counts.replicates, name="replicate"), name=f"time_to_{level:g}")


def final_coverage(result: RunResult, group: str = HOUSEHOLDS, people: bool = False) -> pd.Series:
    """Coverage of a group at the last step, per replicate (of people, weighted by household size, if asked)."""
    counts = result.counts
    return pd.Series(counts.coverage(group, people)[-1], index=pd.Index(counts.replicates, name="replicate"))


def outcomes(result: RunResult, clock: Clock | None = None) -> pd.DataFrame:
    """One row per replicate with the outcomes listed in this module's docstring.

    ``clock`` says when "after the programme" outcomes are read (default: the scenario's own
    :meth:`Clock.own`; a comparison passes :meth:`Clock.common`).
    """
    scenario = result.scenario
    clock = clock if clock is not None else Clock.own(scenario)
    counts = result.counts
    days = counts.days_per_step
    last = int(counts.steps[-1])
    R = len(counts.replicates)
    nan = np.full(R, np.nan)
    rows: dict[str, np.ndarray] = {"replicate": counts.replicates.copy()}  # one array per column: no frame inserts
    rows["final_step"] = np.full(R, last)
    rows["final_day"] = np.full(R, last * days)
    hh = counts.coverage(HOUSEHOLDS)
    people = counts.coverage(HOUSEHOLDS, people=True)
    rows["final_coverage"] = hh[-1]
    rows["final_coverage_people"] = people[-1]
    for level in scenario.outputs.coverage_targets:
        rows[f"time_to_{level:g}"] = time_to_coverage(result, level).to_numpy()
    g = counts.index(HOUSEHOLDS)
    if clock.step is not None and clock.step <= last:
        k = _rows(counts, clock.step)
        rows["read_step"] = np.full(R, float(clock.step))
        rows["read_day"] = np.full(R, clock.step * days)
        rows["sustained_coverage"] = hh[k]
        rows["sustained_coverage_people"] = people[k]
        ever = counts.ever_adopted[k, g].astype(float)
        ever_ab = counts.abandoned[COUNT_FIRST, : k + 1, g].sum(axis=0).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            rows["abandoned_share"] = np.where(ever > 0, ever_ab / np.where(ever > 0, ever, 1), np.nan)
    else:
        for col in ("read_step", "read_day", "sustained_coverage", "sustained_coverage_people", "abandoned_share"):
            rows[col] = nan
    for name, group in (
        ("leaders", "role=leader"),
        ("health_workers", "role=health_worker"),
        ("marginalised", "marginalised=yes"),
        ("not_marginalised", "marginalised=no"),
    ):
        rows[f"coverage_{name}"] = counts.coverage(group)[-1]
    rows["equity_gap"] = rows["coverage_not_marginalised"] - rows["coverage_marginalised"]
    v = counts.village_groups
    rows["lowest_village_coverage"] = nan
    if len(v):
        pop = counts.population[v].astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = counts.adopters[-1, v, :] / np.where(pop > 0, pop, np.nan)[:, None]
        if np.isfinite(cov).any():
            rows["lowest_village_coverage"] = np.nanmin(cov, axis=0)
    rows["adopters"] = counts.adopters[-1, g].astype(float)
    rows["adopters_people"] = counts.people_adopters[-1, g].astype(float)
    events = counts.by_channel[0].sum(axis=0).astype(float)  # C x R
    first_hh = counts.by_channel[1].sum(axis=0).astype(float)
    for k, ch in enumerate(CHANNELS):
        rows[f"adoptions_{ch}"] = events[k]
    for k, ch in enumerate(CHANNELS):
        rows[f"first_adoptions_{ch}"] = first_hh[k]
    rows["direct_conversions"] = sum(first_hh[CHANNELS.index(ch)] for ch in DIRECT_CHANNELS)
    rows["cost"] = counts.cost.sum(axis=(0, 1))
    rows["community_cost"] = counts.community_cost.sum(axis=(0, 1))
    return pd.DataFrame(rows)


def paired_differences(table: pd.DataFrame, baseline: str, columns: list[str], level: float = 0.95) -> pd.DataFrame:
    """Mean of each outcome per scenario, and its paired difference from ``baseline``.

    The difference comes with a ``level`` t-interval over replicates (runs are paired: same seeds,
    common random numbers); with one pair there is no interval (NaN bounds).

    ``table`` has columns ``scenario``, ``replicate`` and the outcomes. Returns one row per
    (scenario, outcome): ``mean``, ``diff``, ``diff_low``, ``diff_high``, ``n``, and ``spread_low``,
    ``spread_high``: the 5% and 95% quantiles of the single replicates' differences (how much one
    realisation's effect varies, which does not narrow with more replicates as the interval of the
    mean does; NaN from fewer than 2 pairs).
    """
    base = table[table["scenario"] == baseline].set_index("replicate")
    records = []
    for scen, t in table.groupby("scenario", sort=False, observed=True):
        t = t.set_index("replicate")
        for col in columns:
            x = t[col].astype(float)
            d = (x - base[col].astype(float).reindex(x.index)).dropna()
            n = len(d)
            mean_d = d.mean() if n else np.nan
            if n > 1:
                sd = d.std(ddof=1)
                half = stats.t.ppf(0.5 + level / 2, n - 1) * sd / math.sqrt(n) if sd > 0 else 0.0
                spread = np.quantile(d.to_numpy(float), [0.05, 0.95])
            else:
                half, spread = np.nan, (np.nan, np.nan)
            records.append(
                {
                    "scenario": scen,
                    "outcome": col,
                    "mean": x.mean(),
                    "diff": mean_d,
                    "diff_low": mean_d - half,
                    "diff_high": mean_d + half,
                    "n": n,
                    "spread_low": float(spread[0]),
                    "spread_high": float(spread[1]),
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
        "coverage_people": float(o["final_coverage_people"].mean()),
        "coverage_leaders": float(o["coverage_leaders"].mean()),
        "coverage_health_workers": float(o["coverage_health_workers"].mean()),
        "coverage_marginalised": float(o["coverage_marginalised"].mean()),
        "coverage_not_marginalised": float(o["coverage_not_marginalised"].mean()),
        "time_to_50": float(t50.mean()) if t50.notna().all() else np.nan,
        "time_to_80": float(t80.mean()) if t80.notna().all() else np.nan,
        "adoptions_by_channel": by_channel,
        "cost": float(o["cost"].mean()),
    }
