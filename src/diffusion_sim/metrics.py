"""Outcome reducers: plain functions of a :class:`~diffusion_sim.results.RunResult`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from diffusion_sim.behaviour import CHANNELS
from diffusion_sim.results import RunResult

__all__ = ["final_coverage", "summary", "time_to_coverage"]


def time_to_coverage(result: RunResult, level: float, group: str = "all") -> pd.Series:
    """First step at which a group's coverage reaches ``level``, per replicate (NaN: never)."""
    df = result.steps
    cov = df[(df["metric"] == "coverage") & (df["group"] == group)]
    out = {}
    for rep, g in cov.groupby("replicate"):
        hit = g.loc[g["value"] >= level, "step"]
        out[rep] = float(hit.min()) if len(hit) else np.nan
    return pd.Series(out, name=f"time_to_{level:g}")


def final_coverage(result: RunResult, group: str = "all") -> pd.Series:
    """Coverage at the last step, per replicate."""
    return result.final("coverage", group)


def summary(result: RunResult) -> dict:
    """The headline numbers of a run (means over replicates)."""
    f = lambda g: float(final_coverage(result, g).mean())  # noqa: E731
    df = result.steps
    ch = df[(df["metric"] == "new_adopters") & df["group"].str.startswith("channel=")]
    by_channel = ch.groupby("group")["value"].sum() / max(df["replicate"].nunique(), 1)
    t50 = time_to_coverage(result, 0.5)
    t80 = time_to_coverage(result, 0.8)
    return {
        "coverage": f("all"),
        "coverage_households": f("role=household"),
        "coverage_leaders": f("role=leader"),
        "coverage_health_workers": f("role=health_worker"),
        "coverage_marginalised": f("marginalised=yes"),
        "coverage_not_marginalised": f("marginalised=no"),
        "time_to_50": float(t50.mean()) if t50.notna().all() else np.nan,
        "time_to_80": float(t80.mean()) if t80.notna().all() else np.nan,
        "adoptions_by_channel": {c: float(by_channel.get(f"channel={c}", 0.0)) for c in CHANNELS},
    }
