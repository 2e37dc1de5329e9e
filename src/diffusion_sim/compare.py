"""Compare scenarios side by side on the same seeds (paired through common random numbers).

Every scenario runs all its replicates as one batched block (``replicates=range(R)``): replicate r
of every scenario uses the same seed and stream keys, so two scenarios differ only where their
interventions differ, and differences are computed per replicate (paired).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from diffusion_sim.metrics import outcomes, paired_differences
from diffusion_sim.model import DiffusionModel
from diffusion_sim.results import RunResult
from diffusion_sim.scenario.schema import Scenario

__all__ = ["COMPARE_FILES", "KEY_OUTCOMES", "Comparison", "compare", "write_comparison"]

KEY_OUTCOMES = [
    "final_coverage",
    "time_to_0.5",
    "time_to_0.8",
    "sustained_coverage",
    "abandoned_share",
    "coverage_marginalised",
    "coverage_not_marginalised",
    "equity_gap",
    "lowest_village_coverage",
    "adopters",
    "cost",
    "community_cost",
]
"""Outcomes shown in the comparison table (time-to columns follow ``outputs.coverage_targets``)."""


@dataclass(eq=False)
class Comparison:
    """Results of a comparison: per-replicate outcomes, paired differences, and every run's steps.

    Attributes:
        scenarios: the scenarios, baseline first.
        sources: where each came from (file path, or ``built-in``), same order.
        texts: the text of each scenario file (empty for the built-in one).
        seed: master seed; replicates: replicate indices (the same for every scenario).
        results: each scenario's :class:`RunResult`, by scenario name.
        outcomes: one row per (scenario, replicate); columns of :func:`diffusion_sim.metrics.outcomes`
            plus ``extra_adopters`` (adopters minus the baseline's, same replicate).
        differences: one row per (scenario, outcome): mean, paired difference from the baseline and
            its 95% t-interval over replicates.
        cost_effectiveness: one row per scenario: mean extra adopters, mean extra cost, cost per
            extra adopter (ratio of means) with a 95% paired bootstrap interval.

    """

    scenarios: list[Scenario]
    sources: list[str]
    texts: list[str]
    seed: int
    replicates: list[int]
    results: dict[str, RunResult] = field(default_factory=dict)
    outcomes: pd.DataFrame | None = None
    differences: pd.DataFrame | None = None
    cost_effectiveness: pd.DataFrame | None = None

    @property
    def baseline(self) -> str:
        """Name of the baseline scenario (the first)."""
        return self.scenarios[0].name

    @property
    def names(self) -> list[str]:
        """Scenario names in order."""
        return [s.name for s in self.scenarios]

    def steps(self) -> pd.DataFrame:
        """Every scenario's per-step frame, with a leading ``scenario`` column."""
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


def compare(
    scenarios: list[Scenario],
    *,
    sources: list[str] | None = None,
    texts: list[str] | None = None,
    seed: int = 0,
    replicates: int = 20,
    progress: bool = False,
) -> Comparison:
    """Run every scenario on replicates 0..R-1 of ``seed`` (batched) and compare them with the first.

    Args:
        scenarios: baseline first, then the alternatives.
        sources: where each scenario came from (for the report).
        texts: the text of each scenario file (for the report).
        seed: master seed shared by every scenario.
        replicates: number of replicates R.
        progress: show a progress bar (steps of every scenario) on stderr.

    """
    scenarios = _unique_names(list(scenarios))
    reps = list(range(replicates))
    comp = Comparison(
        scenarios=scenarios,
        sources=sources or ["built-in"] * len(scenarios),
        texts=texts or [""] * len(scenarios),
        seed=seed,
        replicates=reps,
    )
    total = sum(s.schedule.steps for s in scenarios)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="step", desc="compare", leave=False)
    try:
        for sc in scenarios:
            if bar is not None:
                bar.set_description(sc.name[:30])
            model = DiffusionModel(sc, seed, replicates=reps, create_agents=False)
            for _ in range(sc.schedule.steps):
                model.step()
                if bar is not None:
                    bar.update(1)
            comp.results[sc.name] = model.result()
    finally:
        if bar is not None:
            bar.close()
    tables = []
    for sc in scenarios:
        t = outcomes(comp.results[sc.name])
        t.insert(0, "scenario", sc.name)
        tables.append(t)
    table = pd.concat(tables, ignore_index=True)
    base = table[table["scenario"] == comp.baseline].set_index("replicate")
    table["extra_adopters"] = table["adopters"] - table["replicate"].map(base["adopters"])
    comp.outcomes = table
    cols = [c for c in KEY_OUTCOMES if c in table.columns] + ["extra_adopters"]
    comp.differences = paired_differences(table, comp.baseline, cols)
    comp.cost_effectiveness = _cost_effectiveness(table, comp.baseline, seed)
    return comp


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


def read_texts(paths: list[str | Path]) -> list[str]:
    """The text of each scenario file (for the report's appendix)."""
    return [Path(p).read_text(encoding="utf-8") for p in paths]


COMPARE_FILES = (
    "report.html",
    "outcomes.csv",
    "outcomes.parquet",
    "differences.csv",
    "differences.parquet",
    "cost_effectiveness.csv",
    "cost_effectiveness.parquet",
    "steps.parquet",
    "provenance.json",
    "scenarios",
)
"""What ``diffusion-sim compare`` writes into its output folder."""


def write_comparison(comp: Comparison, out_dir: str | Path) -> Path:
    """Write a comparison's report, tables (CSV and Parquet) and scenario files: all or nothing."""
    import json

    from diffusion_sim.atomic import atomic_folder
    from diffusion_sim.runner import write_frame
    from diffusion_sim.scenario.yaml_source import to_yaml

    def fill(tmp: Path) -> None:
        write_frame(comp.outcomes, tmp / "outcomes.parquet", tmp / "outcomes.csv")
        write_frame(comp.differences, tmp / "differences.parquet", tmp / "differences.csv")
        write_frame(comp.cost_effectiveness, tmp / "cost_effectiveness.parquet", tmp / "cost_effectiveness.csv")
        write_frame(comp.steps(), tmp / "steps.parquet", None)
        folder = tmp / "scenarios"
        folder.mkdir()
        for k, (sc, text) in enumerate(zip(comp.scenarios, comp.texts, strict=True)):
            body = text or to_yaml(sc)
            (folder / f"{k:02d}-{_slug(sc.name)}.yaml").write_text(body, encoding="utf-8")
        prov = {
            "seed": comp.seed,
            "replicates": comp.replicates,
            "baseline": comp.baseline,
            "scenarios": [
                {"name": s.name, "source": src, "digest": s.digest()}
                for s, src in zip(comp.scenarios, comp.sources, strict=True)
            ],
            "runs": {name: res.provenance for name, res in comp.results.items()},
        }
        (tmp / "provenance.json").write_text(json.dumps(prov, indent=2, sort_keys=True, default=str) + "\n")
        from diffusion_sim.report.html import write_report

        write_report(comp, tmp)

    with atomic_folder(out_dir, command="compare", managed=COMPARE_FILES) as tmp:
        fill(tmp)
    return Path(out_dir)


def _slug(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.lower())
    return keep.strip("-") or "scenario"
