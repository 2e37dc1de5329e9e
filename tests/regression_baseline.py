"""The committed regression baseline: key outcomes of every shipped scenario at a small size.

``tests/test_regression_baseline.py`` recomputes this table and fails on any change, so every change
to the dynamics shows up in review as a change of ``tests/baseline/outcomes.csv``. After an
intended change, refresh it with the one command

    ./dev baseline

(which runs ``python tests/regression_baseline.py --update``) and commit the new file with the
change that explains it. Like starsim's baseline tests, the table pins numbers where no analytic
answer exists.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "tests" / "baseline" / "outcomes.csv"
SIZE = {"community.households": 1200, "community.villages": 6}
"""Every scenario is run at this size (the district files too: their costs are the district's)."""
SEED, REPLICATES = 0, 3
KEY = [
    "final_coverage",
    "final_coverage_people",
    "time_to_0.5",
    "time_to_0.8",
    "read_step",
    "sustained_coverage",
    "abandoned_share",
    "coverage_leaders",
    "coverage_health_workers",
    "coverage_marginalised",
    "lowest_village_coverage",
    "adopters",
    "direct_conversions",
    "cost",
    "community_cost",
]
"""The outcomes pinned, and (below) the households' first adoptions by channel."""


def scenario_files() -> list[Path]:
    """Every shipped scenario file, in a fixed order."""
    return sorted((ROOT / "scenarios").glob("*.yaml")) + sorted((ROOT / "scenarios" / "district").glob("*.yaml"))


def compute() -> pd.DataFrame:
    """The baseline table as the code computes it now: one row per (scenario file, replicate)."""
    from diffusion_sim.behaviour import CHANNELS
    from diffusion_sim.metrics import outcomes
    from diffusion_sim.runner import run
    from diffusion_sim.scenario import apply_overrides, load_scenario

    frames = []
    for path in scenario_files():
        sc = apply_overrides(load_scenario(path), SIZE)
        o = outcomes(run(sc, SEED, replicates=range(REPLICATES), agents=False))
        cols = [c for c in KEY if c in o.columns] + [f"first_adoptions_{c}" for c in CHANNELS]
        t = o[["replicate", *cols]].copy()
        t.insert(0, "scenario", str(path.relative_to(ROOT / "scenarios")))
        frames.append(t)
    return pd.concat(frames, ignore_index=True)


def read() -> pd.DataFrame:
    """The committed table."""
    return pd.read_csv(BASELINE)


def main(argv: list[str] | None = None) -> int:
    """``--update`` rewrites the committed table; without it, prints what changed."""
    p = argparse.ArgumentParser(description="Regression baseline of the shipped scenarios.")
    p.add_argument("--update", action="store_true", help="rewrite tests/baseline/outcomes.csv")
    args = p.parse_args(argv)
    now = compute()
    if args.update:
        BASELINE.parent.mkdir(parents=True, exist_ok=True)
        now.to_csv(BASELINE, index=False, float_format="%.17g")
        print(f"wrote {BASELINE.relative_to(ROOT)} ({len(now)} rows); commit it with the change that explains it")
        return 0
    old = read()
    if old.shape == now.shape and (old.columns == now.columns).all():
        diff = (old.set_index(["scenario", "replicate"]) - now.set_index(["scenario", "replicate"])).abs()
        changed = diff[(diff > 0).any(axis=1)]
        print(f"{len(changed)} of {len(now)} rows differ" + (":\n" + changed.to_string() if len(changed) else ""))
        return 1 if len(changed) else 0
    print("the table's shape or columns changed; run with --update")
    return 1


if __name__ == "__main__":
    sys.exit(main())
