"""Exposure at the time of adoption (Valente 1995's network threshold) and the cumulative adoption curve.

One definition serves observed survey data (``Population.adoption_time``) and simulated runs
(:func:`simulated_adoption_times`), so the two can be set side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from diffusion_sim.community import Community
from diffusion_sim.diagnostics.structure import arcs

__all__ = [
    "ExposureAtAdoption",
    "adoption_curve",
    "exposure_at_adoption",
    "simulated_adoption_times",
]


@dataclass(frozen=True, eq=False)
class ExposureAtAdoption:
    """Each agent's exposure when it adopted; arrays of length ``n``, agent ``i`` at position ``i``.

    Attributes:
        adoption_time: the times used (NaN: never adopted, or not known).
        alters: number of distinct people the agent nominated (see :func:`exposure_at_adoption`).
        earlier: of them, how many adopted strictly before the agent did (for an agent who never
            adopted: how many ever adopted).
        exposure: ``earlier / alters`` for adopters with at least one alter; NaN for everyone else.
        symmetrised: whether directed ties were read in both directions.

    """

    adoption_time: np.ndarray
    alters: np.ndarray
    earlier: np.ndarray
    exposure: np.ndarray
    symmetrised: bool

    @property
    def adopters(self) -> np.ndarray:
        """Mask of agents with an adoption time."""
        return ~np.isnan(self.adoption_time)

    @property
    def included(self) -> np.ndarray:
        """Mask of adopters with at least one alter: those whose exposure is defined."""
        return self.adopters & (self.alters > 0)

    @property
    def without_nominations(self) -> int:
        """Adopters excluded because they nominated nobody."""
        return int(np.count_nonzero(self.adopters & (self.alters == 0)))

    @property
    def mean(self) -> float:
        """Mean exposure at adoption over the included adopters (NaN if there are none)."""
        v = self.exposure[self.included]
        return float(v.mean()) if len(v) else float("nan")

    def status(self) -> np.ndarray:
        """``adopter``, ``no nominations`` (an adopter who nominated nobody) or ``never adopted``, per agent."""
        return np.where(self.included, "adopter", np.where(self.adopters, "no nominations", "never adopted"))


def exposure_at_adoption(
    community: Community, adoption_time: np.ndarray | None = None, *, layers=None, symmetrise: bool = False
) -> ExposureAtAdoption:
    """Every adopter's exposure at the time of adoption: the share of ego's alters who adopted strictly earlier.

    The alters of ego are the distinct people ego nominated: out-neighbours over the directed layers
    (ego named them), neighbours over the undirected ones, over ``layers`` (default: all of them); a
    person named in several layers counts once, ego itself never. Alters who never adopted, or whose
    time is unknown, count as not having adopted earlier; alters who adopted at the same time as ego
    do not count either. Agents who never adopted are excluded, and so are adopters with no alters
    (counted: :attr:`ExposureAtAdoption.without_nominations`). This is Valente's (1995) network
    threshold with the alters' adoption read strictly before ego's; weights are not read.

    Args:
        community: the community.
        adoption_time: per-agent time of adoption, NaN for never (or unknown); any unit, any origin. Default:
            the population's observed ``adoption_time``. For a simulated run, see :func:`simulated_adoption_times`.
        layers: the layers whose ties count (default: all).
        symmetrise: read each directed tie in both directions (ego's alters are the people ego named
            and those who named ego), as if the survey had recorded undirected ties.

    Raises:
        ValueError: no adoption times, the wrong length, or a time that is infinite.

    """
    if adoption_time is None:
        adoption_time = community.population.adoption_time
        if adoption_time is None:
            raise ValueError("the community has no adoption times; pass adoption_time")
    t = np.asarray(adoption_time, dtype=np.float64)
    if t.shape != (community.n,):
        raise ValueError(f"adoption_time has shape {t.shape}; expected ({community.n},), one time per agent")
    if np.isinf(t).any():
        raise ValueError("adoption_time holds an infinite time; expected finite times and NaN for never")
    a = arcs(community.network, layers, symmetrise=symmetrise)
    alters = np.diff(a.indptr).astype(np.int64)
    ego = np.repeat(np.arange(community.n), alters)
    ego_time = np.where(np.isnan(t), np.inf, t)[ego]  # a non-adopter's alters "before" it: those who ever adopted
    before = t[a.indices] < ego_time  # NaN (never) compares False
    earlier = np.bincount(ego[before], minlength=community.n).astype(np.int64)
    included = ~np.isnan(t) & (alters > 0)
    exposure = np.full(community.n, np.nan)
    exposure[included] = earlier[included] / alters[included]
    return ExposureAtAdoption(t, alters, earlier, exposure, symmetrise)


def simulated_adoption_times(agents: pd.DataFrame, replicate: int | None = None) -> np.ndarray:
    """Per-agent adoption times of one replicate of a run: ``adopted_at`` (step of first adoption), NaN for never.

    Args:
        agents: a run's per-agent frame (``RunResult.agents``, or ``agents.parquet`` read back).
        replicate: which replicate (default: the first in the frame).

    """
    if replicate is None:
        replicate = int(agents["replicate"].iloc[0])
    rows = agents[agents["replicate"] == replicate]
    if rows.empty:
        raise ValueError(f"no replicate {replicate} in the frame; it has {sorted(agents['replicate'].unique())}")
    rows = rows.sort_values("agent")
    if not np.array_equal(rows["agent"].to_numpy(), np.arange(len(rows))):
        raise ValueError(f"replicate {replicate} does not list agents 0..n-1 once each")
    at = rows["adopted_at"].to_numpy().astype(np.float64)
    return np.where(at < 0, np.nan, at)


def adoption_curve(adoption_time: np.ndarray) -> pd.DataFrame:
    """The cumulative adoption curve: at each time someone adopted, ``new_adopters``, ``adopters`` and ``share``.

    ``adopters`` counts everyone who had adopted by that time (inclusive); ``share`` is that over all
    agents, never-adopters included.
    """
    t = np.asarray(adoption_time, dtype=np.float64)
    times, new = np.unique(t[~np.isnan(t)], return_counts=True)
    cumulative = np.cumsum(new)
    share = cumulative / len(t) if len(t) else cumulative.astype(np.float64)
    return pd.DataFrame({"time": times, "new_adopters": new, "adopters": cumulative, "share": share})
