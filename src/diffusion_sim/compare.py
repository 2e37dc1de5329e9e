"""Compare scenarios side by side on the same seeds (paired through common random numbers).

Every scenario runs its replicates as one batched block through :func:`diffusion_sim.runner.run`
(the one run path): replicate r of every scenario uses the same seed and stream keys, so two
scenarios differ only where their interventions differ, and differences are computed per
replicate (paired). Scenarios must describe the same community over the same number of steps
(:func:`check_paired`). Outcomes read "after the programme" are read at one common step for every
scenario (:meth:`diffusion_sim.metrics.Clock.common`).

Memory stays bounded in the number of scenarios and replicates: a comparison keeps each run's
outcomes and its per-step counts without villages (:meth:`~diffusion_sim.results.RunResult.slim`),
never the per-agent frames; the full per-step counts can be streamed to disk as they are made
(``on_result``).

With a posterior (:class:`diffusion_sim.calibrate.draws.PosteriorDraws`), each replicate runs with
its own particle of a calibration's posterior, the same particle for every scenario of that
replicate (so differences stay paired): the intervals then include uncertainty about the fitted
parameters as well as chance variation. Replicates then run one at a time (their parameters
differ), through the same run path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from diffusion_sim.compare_output import (
    COMPARE_FILES,
    StepsWriter,
    write_comparison,
)
from diffusion_sim.errors import UserError
from diffusion_sim.metrics import Clock, outcomes, paired_differences
from diffusion_sim.results import RunResult, StepCounts
from diffusion_sim.runner import run
from diffusion_sim.scenario.schema import Scenario

if TYPE_CHECKING:
    from diffusion_sim.calibrate.draws import PosteriorDraws

__all__ = [
    "COMPARE_FILES",
    "KEY_OUTCOMES",
    "MIN_RELIABLE_REPLICATES",
    "Comparison",
    "Precision",
    "StepsWriter",
    "check_paired",
    "compare",
    "write_comparison",
]

KEY_OUTCOMES = [
    "final_coverage",
    "final_coverage_people",
    "time_to_0.5",
    "time_to_0.8",
    "sustained_coverage",
    "sustained_coverage_people",
    "abandoned_share",
    "coverage_marginalised",
    "coverage_not_marginalised",
    "equity_gap",
    "lowest_village_coverage",
    "coverage_leaders",
    "coverage_health_workers",
    "adopters",
    "adopters_people",
    "direct_conversions",
    "cost",
    "community_cost",
]
"""Outcomes whose paired differences are computed (time-to columns follow ``outputs.coverage_targets``)."""

MIN_RELIABLE_REPLICATES = 10
"""Below this many replicates a comparison warns that its intervals are unreliable."""

PAIRED_SECTIONS = ("community", "network")
"""Sections that must be equal in every scenario of a comparison (with ``schedule.steps`` and
``schedule.days_per_step``): the same community, over the same time."""


@dataclass(frozen=True)
class Precision:
    """A precision target: add replicates until every package's 95% interval is narrower than asked.

    ``half_width`` is in the outcome's units (a share: 0.01 is one percentage point). ``met`` says
    whether the target was reached before ``cap`` replicates; ``achieved`` is the widest half-width.
    """

    outcome: str
    half_width: float
    cap: int
    batch: int
    met: bool = False
    achieved: float = math.nan


@dataclass(eq=False)
class Comparison:
    """Results of a comparison: per-replicate outcomes, paired differences, and every run's counts.

    Attributes:
        scenarios: the scenarios, baseline first.
        sources: where each came from (file path, or ``built-in``), same order.
        texts: the text of each scenario file (empty for the built-in one).
        seed: master seed; replicates: replicate indices (the same for every scenario).
        clock: when outcomes "after the programme" were read (one step for every scenario).
        results: each scenario's slim :class:`RunResult` (per-step counts without villages), by name.
        outcomes: one row per (scenario, replicate); columns of :func:`diffusion_sim.metrics.outcomes`
            plus ``extra_adopters`` (adopting households minus the baseline's, same replicate) and, with a
            posterior, ``posterior_particle`` (the particle the replicate ran with).
        differences: one row per (scenario, outcome): mean, paired difference from the baseline and
            its 95% t-interval over replicates (no interval from one replicate).
        cost_effectiveness: one row per scenario: mean extra adopters, mean extra cost, cost per
            extra adopter (ratio of means) with a 95% paired bootstrap interval.
        precision: the precision target and whether it was met (None if none was asked).
        warnings: what a reader must know about the numbers (e.g. too few replicates).
        posterior: the posterior the replicates drew their fitted parameters from (folder, calibration,
            particles, parameters with their paths, the particle of each replicate;
            :meth:`~diffusion_sim.calibrate.draws.PosteriorDraws.record`), or None.

    """

    scenarios: list[Scenario]
    sources: list[str]
    texts: list[str]
    seed: int
    replicates: list[int]
    clock: Clock = field(default_factory=lambda: Clock(None, "not computed"))
    results: dict[str, RunResult] = field(default_factory=dict)
    outcomes: pd.DataFrame | None = None
    differences: pd.DataFrame | None = None
    cost_effectiveness: pd.DataFrame | None = None
    precision: Precision | None = None
    warnings: list[str] = field(default_factory=list)
    posterior: dict[str, Any] | None = None

    @property
    def baseline(self) -> str:
        """Name of the baseline scenario (the first)."""
        return self.scenarios[0].name

    @property
    def names(self) -> list[str]:
        """Scenario names in order."""
        return [s.name for s in self.scenarios]

    def steps(self) -> pd.DataFrame:
        """Every scenario's per-step frame (without villages), with a leading ``scenario`` column."""
        frames = []
        for name, res in self.results.items():
            f = res.steps.copy()
            f.insert(0, "scenario", name)
            frames.append(f)
        from pandas.api.types import union_categoricals

        groups = union_categoricals([f["group"] for f in frames]).categories
        metrics = union_categoricals([f["metric"] for f in frames]).categories
        for f in frames:
            f["group"] = f["group"].cat.set_categories(groups)
            f["metric"] = f["metric"].cat.set_categories(metrics)
        out = pd.concat(frames, ignore_index=True)
        out["scenario"] = pd.Categorical(out["scenario"], categories=self.names)
        return out


def _unique_names(scenarios: list[Scenario]) -> list[Scenario]:
    """Scenarios renamed ``name (2)``, ... where names repeat (outputs are keyed by name)."""
    seen: dict[str, int] = {}
    out = []
    for s in scenarios:
        k = seen.get(s.name, 0) + 1
        seen[s.name] = k
        out.append(s if k == 1 else s.model_copy(update={"name": f"{s.name} ({k})"}))
    return out


def _leaves(data: Any, prefix: str = "") -> dict[str, Any]:
    """A nested mapping flattened to ``{dotted.path: value}``."""
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for k, v in data.items():
            out |= _leaves(v, f"{prefix}{k}.")
        return out
    return {prefix[:-1]: data}


def _paired_view(sc: Scenario) -> dict[str, Any]:
    data = sc.model_dump(mode="json")
    view = {name: data[name] for name in PAIRED_SECTIONS}
    view["schedule"] = {"steps": data["schedule"]["steps"], "days_per_step": data["schedule"]["days_per_step"]}
    return _leaves(view)


def check_paired(scenarios: list[Scenario], sources: list[str] | None = None) -> None:
    """Refuse scenarios that are not paired: a different community, network, number or length of steps.

    Replicate r of every scenario must be the same community over the same time for a paired
    difference to mean anything. The message names every differing field with both values.
    """
    sources = sources or [s.name for s in scenarios]
    base = _paired_view(scenarios[0])
    for k, sc in enumerate(scenarios[1:], start=1):
        mine = _paired_view(sc)
        diff = [p for p in dict.fromkeys([*base, *mine]) if base.get(p) != mine.get(p)]
        if diff:
            shown = ", ".join(f"{p} ({base.get(p)!r} vs {mine.get(p)!r})" for p in diff[:6])
            more = f" and {len(diff) - 6} more" if len(diff) > 6 else ""
            raise UserError(
                f"not paired with the baseline {sources[0]}: {shown}{more}. A comparison needs the same "
                "community, network and steps in every scenario; use files of the same community (e.g. "
                f"scenarios/district/ for district scale) or override one scenario with --set {k + 1}:PATH=VALUE",
                source=sources[k],
            )


def compare(
    scenarios: list[Scenario],
    *,
    sources: list[str] | None = None,
    texts: list[str] | None = None,
    seed: int = 0,
    replicates: int = 20,
    progress: bool = False,
    precision: float | None = None,
    precision_outcome: str = "final_coverage",
    max_replicates: int = 200,
    batch: int | None = None,
    on_result: Callable[[str, RunResult], None] | None = None,
    posterior: PosteriorDraws | None = None,
) -> Comparison:
    """Run every scenario on replicates 0..R-1 of ``seed`` (batched) and compare them with the first.

    Args:
        scenarios: baseline first, then the alternatives; all of the same community and length.
        sources: where each scenario came from (for messages and the report).
        texts: the text of each scenario file (for the report).
        seed: master seed shared by every scenario.
        replicates: number of replicates R (the first batch, with ``precision``).
        progress: show a progress bar (steps of every scenario) on stderr.
        precision: if given, add batches of replicates until the 95% interval of every package's
            paired difference in ``precision_outcome`` has a half-width of at most this (in the
            outcome's units: a share's 0.01 is one percentage point), or ``max_replicates`` is reached.
        precision_outcome: the outcome the precision target applies to.
        max_replicates: the cap on replicates with ``precision``.
        batch: replicates added per batch (default: ``replicates``).
        on_result: called with (scenario name, full result without per-agent frame) after each
            scenario's batch, e.g. to stream its per-step counts to disk.
        posterior: a calibration's posterior: replicate r of every scenario runs with the fitted
            parameters set to the particle drawn for (seed, r); the outcomes get a ``posterior_particle``
            column. Checked against every scenario before anything runs.

    """
    scenarios = _unique_names(list(scenarios))
    sources = sources or ["built-in"] * len(scenarios)
    check_paired(scenarios, sources)
    if precision is not None and precision <= 0:
        raise UserError(f"expected a positive number, got {precision}", source="--precision")
    if precision is not None and precision_outcome not in KEY_OUTCOMES + ["extra_adopters"]:
        known = ", ".join(KEY_OUTCOMES + ["extra_adopters"])
        raise UserError(f"unknown outcome {precision_outcome!r}; expected one of {known}", source="--precision-outcome")
    notes: list[str] = []
    if posterior is not None:
        posterior.check(scenarios, sources, seed)  # every fitted path in every scenario, before anything runs
        notes = [w for w in [posterior.community_warning(scenarios[0], seed)] if w]
    communities: dict[str, Any] = {}  # with a posterior: one community, kept while the fitted values leave it alone
    comp = Comparison(
        scenarios=scenarios, sources=sources, texts=texts or [""] * len(scenarios), seed=seed, replicates=[],
        clock=Clock.common(scenarios),
    )  # fmt: skip
    target = (
        None if precision is None else Precision(precision_outcome, float(precision), max(max_replicates, replicates),
                                                  batch or replicates)
    )  # fmt: skip
    tables: list[pd.DataFrame] = []
    parts: dict[str, list[StepCounts]] = {sc.name: [] for sc in scenarios}
    provenance: dict[str, dict] = {}
    want, done = replicates, 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=want * sum(s.schedule.steps for s in scenarios), unit="step", desc="compare", leave=False)
    try:
        while True:
            reps = range(done, want)
            for sc in scenarios:
                if bar is not None:
                    bar.set_description(sc.name[:30])
                if posterior is None:
                    res = run(sc, seed, replicates=reps, agents=False, on_step=_stepper(bar, len(reps)))
                else:
                    res = posterior.run(sc, seed, reps, on_step=_stepper(bar, 1), communities=communities)
                if on_result is not None:
                    on_result(sc.name, res)
                t = outcomes(res, comp.clock)
                t.insert(0, "scenario", sc.name)
                if posterior is not None:
                    t.insert(2, "posterior_particle", [posterior.particle(seed, int(r)) for r in t["replicate"]])
                tables.append(t)
                parts[sc.name].append(res.counts.without_villages())
                provenance.setdefault(sc.name, res.provenance)
                del res
            done = want
            _tabulate(comp, tables)
            if target is None:
                break
            achieved = _widest_half_width(comp, target.outcome)
            met = bool(achieved <= target.half_width)
            target = Precision(target.outcome, target.half_width, target.cap, target.batch, met, achieved)
            if met or want >= target.cap:
                break
            want = min(target.cap, want + target.batch)
            if bar is not None:
                bar.total = want * sum(s.schedule.steps for s in scenarios)
    finally:
        if bar is not None:
            bar.close()
    comp.precision = target
    comp.replicates = list(range(done))
    for sc in scenarios:
        comp.results[sc.name] = RunResult(counts=StepCounts.concat(parts[sc.name]), provenance=provenance[sc.name])
    comp.warnings = _warnings(comp) + notes
    if posterior is not None:
        comp.posterior = posterior.record(seed, comp.replicates)
    return comp


def _stepper(bar, n_replicates: int) -> Callable[[object], None] | None:
    """A per-step callback (given the model) advancing a progress bar by one step of each replicate."""
    if bar is None:
        return None
    return lambda model: bar.update(n_replicates)


def _tabulate(comp: Comparison, tables: list[pd.DataFrame]) -> None:
    """Outcomes, paired differences and cost-effectiveness from every replicate run so far."""
    table = pd.concat(tables, ignore_index=True)
    order = {name: k for k, name in enumerate(comp.names)}
    table = table.sort_values(["scenario", "replicate"], key=lambda c: c.map(order) if c.name == "scenario" else c)
    table = table.reset_index(drop=True)
    base = table[table["scenario"] == comp.baseline].set_index("replicate")
    table["extra_adopters"] = table["adopters"] - table["replicate"].map(base["adopters"])
    comp.outcomes = table
    cols = [c for c in KEY_OUTCOMES if c in table.columns] + ["extra_adopters"]
    cols = [*cols[:2], *sorted(c for c in table.columns if c.startswith("time_to_")), *cols[2:]]
    comp.differences = paired_differences(table, comp.baseline, list(dict.fromkeys(cols)))
    comp.cost_effectiveness = _cost_effectiveness(table, comp.baseline, comp.seed)


def _widest_half_width(comp: Comparison, outcome: str) -> float:
    """The widest 95% half-width of the packages' paired differences in ``outcome`` (inf if any has none)."""
    d = comp.differences
    rows = d[(d["outcome"] == outcome) & (d["scenario"] != comp.baseline)]
    half = ((rows["diff_high"] - rows["diff_low"]) / 2).to_numpy(float)
    if len(half) == 0:
        return 0.0
    return float(np.inf) if np.isnan(half).any() else float(half.max())


def _warnings(comp: Comparison) -> list[str]:
    """What a reader must be told about the precision of the numbers."""
    n = len(comp.replicates)
    out = []
    if n == 1:
        out.append("one replicate: no interval can be computed; run at least 10 replicates (--replicates 10)")
    elif n < MIN_RELIABLE_REPLICATES:
        out.append(
            f"only {n} replicates: 95% intervals from fewer than {MIN_RELIABLE_REPLICATES} replicates are "
            "unreliable; run more (--replicates, or --precision)"
        )
    if comp.clock.step is None:
        out.append(f"no sustained coverage or abandoned share: {comp.clock.reason}")
    p = comp.precision
    if p is not None and not p.met:
        out.append(
            f"precision target not met: the widest 95% half-width of {p.outcome} is {p.achieved:.4g} after "
            f"{n} replicates (the cap), above the {p.half_width:g} asked"
        )
    return out


def _cost_effectiveness(table: pd.DataFrame, baseline: str, seed: int, n_boot: int = 2000) -> pd.DataFrame:
    """Cost per extra adopter of each scenario against the baseline.

    That is the ratio of mean extra cost to mean extra adopters, with a paired bootstrap 95%
    interval over replicates.
    """
    base = table[table["scenario"] == baseline].set_index("replicate")
    rng = np.random.default_rng([seed, 0xC0FFEE])  # local generator: global state is never touched
    rows = []
    for scen, t in table.groupby("scenario", sort=False):
        t = t.set_index("replicate")
        extra = (t["adopters"] - base["adopters"].reindex(t.index)).to_numpy(float)
        cost = (t["cost"] - base["cost"].reindex(t.index)).to_numpy(float)
        n = len(extra)
        ratio = cost.mean() / extra.mean() if extra.mean() > 0 else math.nan
        low = high = math.nan
        if n > 1 and extra.mean() > 0:
            idx = rng.integers(0, n, size=(n_boot, n))
            e, c = extra[idx].mean(axis=1), cost[idx].mean(axis=1)
            ok = e > 0
            if ok.mean() > 0.95:
                low, high = np.percentile(c[ok] / e[ok], [2.5, 97.5])
        rows.append(
            {
                "scenario": scen,
                "extra_adopters": extra.mean(),
                "extra_cost": cost.mean(),
                "cost_per_extra_adopter": ratio,
                "ce_low": low,
                "ce_high": high,
            }
        )
    return pd.DataFrame(rows)
