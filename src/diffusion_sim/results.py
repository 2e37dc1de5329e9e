"""Per-step recording and the result of a run: a tidy per-step frame, per-agent outcomes, provenance.

Per-step frame columns (long format, one row per replicate, step, group and metric):

* ``replicate``, ``seed``: which run;
* ``step``, ``day``: step number (0 is the initial state) and ``step * days_per_step``;
* ``group``: ``all``, ``role=household|leader|health_worker``, ``leader_kind=religious|...``,
  ``village=<name>``, ``marginalised=yes|no`` (households only), or ``channel=<channel>`` (only
  for ``new_adopters``);
* ``metric``: ``adopters`` (count at the end of the step), ``coverage`` (adopters / population of
  the group), ``new_adopters`` (adoptions during the step), ``abandonments`` (dis-adoptions during
  the step), ``population`` (size of the group; the same every step);
* ``value``.
"""

from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from diffusion_sim.behaviour import CHANNELS
from diffusion_sim.population import ROLES, Population
from diffusion_sim.scenario.schema import AGENT_TYPES, LEADER_KINDS

if TYPE_CHECKING:
    from diffusion_sim.model import DiffusionModel

__all__ = ["Recorder", "RunResult", "group_labels", "provenance"]


def group_labels(pop: Population) -> tuple[list[str], sp.csr_matrix]:
    """Group names and the (n_groups x N) 0/1 membership matrix of a population."""
    names: list[str] = ["all"]
    rows = [np.zeros(pop.n, np.int64)]
    cols = [np.arange(pop.n)]
    for r, name in enumerate(ROLES):
        names.append(f"role={name}")
        idx = np.flatnonzero(pop.role == r)
        rows.append(np.full(len(idx), len(names) - 1))
        cols.append(idx)
    for k, name in enumerate(LEADER_KINDS):
        names.append(f"leader_kind={name}")
        idx = np.flatnonzero((pop.role == 1) & (pop.leader_kind == k))
        rows.append(np.full(len(idx), len(names) - 1))
        cols.append(idx)
    base = len(names)
    names += [f"village={pop.village_label(v)}" for v in range(pop.n_villages)]
    rows.append(base + pop.village.astype(np.int64))
    cols.append(np.arange(pop.n))
    hh = pop.role == 0
    for flag, label in ((True, "yes"), (False, "no")):
        names.append(f"marginalised={label}")
        idx = np.flatnonzero(hh & (pop.marginalised == flag))
        rows.append(np.full(len(idx), len(names) - 1))
        cols.append(idx)
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    G = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(names), pop.n))
    return names, G


class Recorder:
    """Counts per group for every step, updated from the agents whose state changed."""

    def __init__(self, pop: Population, R: int, expected_steps: int = 0):
        self.groups, self.G = group_labels(pop)
        self.GT = self.G.T.tocsr()  # agent -> its groups
        self.population = np.asarray(self.G.sum(axis=1)).ravel().astype(np.int64)
        self.R = R
        self.steps: list[int] = []
        self.adopters: list[np.ndarray] = []
        self.new: list[np.ndarray] = []
        self.abandoned: list[np.ndarray] = []
        self.by_channel: list[np.ndarray] = []

    def _count(self, changed: np.ndarray) -> np.ndarray:
        """Counts per group of the rows flagged in an (N, R) boolean array."""
        rows = np.flatnonzero(changed.any(axis=1))
        if len(rows) == 0:
            return np.zeros((len(self.groups), self.R), np.int64)
        sub = self.GT[rows]  # k x n_groups
        return np.rint(np.asarray(sub.T @ changed[rows].astype(np.float64))).astype(np.int64)

    def record(
        self,
        step: int,
        adopted: np.ndarray,
        new: np.ndarray,
        abandoned: np.ndarray,
        channel: np.ndarray,
        counted: np.ndarray,
    ) -> None:
        """Record the state at the end of ``step``."""
        n_new = self._count(new)
        n_ab = self._count(abandoned)
        if self.adopters:
            current = self.adopters[-1] + n_new - n_ab
        else:
            current = self._count(adopted)
        self.steps.append(step)
        self.adopters.append(current)
        self.new.append(n_new)
        self.abandoned.append(n_ab)
        rows, cols = np.nonzero(counted)
        c = channel[rows, cols].astype(np.int64)
        ok = c >= 0
        nc = len(CHANNELS)
        ch = np.bincount(cols[ok] * nc + c[ok], minlength=nc * self.R).reshape(self.R, nc).T
        self.by_channel.append(ch)


def _git_commit() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if out.returncode == 0:
            dirty = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=here,
                capture_output=True,
                text=True,
                timeout=5,
            )
            return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def provenance(model: DiffusionModel) -> dict[str, Any]:
    """Where a result came from: seed, replicates, scenario and its hash, versions, git commit."""
    import mesa
    import scipy

    from diffusion_sim import __version__

    return {
        "scenario_name": model.params.name,
        "scenario_digest": model.params.digest(),
        "seed": model.seed,
        "replicates": list(model.streams.replicates),
        "steps": int(model.steps),
        "agents": int(model.n),
        "package_version": __version__,
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "mesa": mesa.__version__,
        "scenario": model.params.model_dump(mode="json"),
    }


@dataclass(eq=False)
class RunResult:
    """Result of one run (R replicate columns): per-step frame, per-agent outcomes, provenance."""

    steps: pd.DataFrame
    agents: pd.DataFrame
    provenance: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_model(cls, model: DiffusionModel) -> RunResult:
        """Collect a model's recorded results."""
        rec = model.recorder
        pop = model.community.population
        days = model.params.schedule.days_per_step
        steps = np.array(rec.steps)
        T, R = len(steps), rec.R
        reps = np.array(model.streams.replicates)
        frames = []

        def block(metric: str, values: np.ndarray, groups: list[str]) -> pd.DataFrame:
            t, g, r = np.meshgrid(np.arange(T), np.arange(len(groups)), np.arange(R), indexing="ij")
            return pd.DataFrame(
                {
                    "replicate": reps[r.ravel()],
                    "seed": model.seed,
                    "step": steps[t.ravel()],
                    "day": steps[t.ravel()] * days,
                    "group": pd.Categorical(np.array(groups, dtype=object)[g.ravel()]),
                    "metric": metric,
                    "value": values.reshape(-1).astype(np.float64),
                }
            )

        adopters = np.stack(rec.adopters)  # T x G x R
        popn = rec.population[None, :, None].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            coverage = np.where(popn > 0, adopters / np.where(popn > 0, popn, 1), np.nan)
        frames.append(block("adopters", adopters, rec.groups))
        frames.append(block("coverage", coverage, rec.groups))
        frames.append(block("new_adopters", np.stack(rec.new), rec.groups))
        frames.append(block("abandonments", np.stack(rec.abandoned), rec.groups))
        frames.append(block("population", np.broadcast_to(popn, adopters.shape), rec.groups))
        frames.append(block("new_adopters", np.stack(rec.by_channel), [f"channel={c}" for c in CHANNELS]))
        df = pd.concat(frames, ignore_index=True)
        df["group"] = df["group"].astype(str)
        df["metric"] = df["metric"].astype(str)
        df = df.sort_values(["replicate", "metric", "group", "step"], kind="stable").reset_index(drop=True)

        n = pop.n
        rep_col = np.repeat(reps, n)
        agent = np.tile(np.arange(n), R)
        kind_names = np.array([*LEADER_KINDS, ""], dtype=object)
        channel_names = np.array([*CHANNELS, ""], dtype=object)
        agents = pd.DataFrame(
            {
                "replicate": rep_col,
                "agent": agent,
                "label": np.tile(pop.labels.astype(str), R) if pop.labels is not None else agent.astype(str),
                "type": np.array(AGENT_TYPES, dtype=object)[np.tile(pop.agent_type, R)],
                "role": np.array(ROLES, dtype=object)[np.tile(pop.role, R)],
                "leader_kind": kind_names[np.tile(pop.leader_kind, R)],
                "village": np.array([pop.village_label(v) for v in range(pop.n_villages)], dtype=object)[
                    np.tile(pop.village, R)
                ],
                "marginalised": np.tile(pop.marginalised, R),
                "household_size": np.tile(pop.household_size, R).astype(np.int64),
                "adopted": model.adopted.T.ravel(),
                "adopted_at": model.adopted_at.T.ravel().astype(np.int64),
                "channel": channel_names[model.channel.T.ravel().astype(np.int64)],
                "abandoned_at": model.abandoned_at.T.ravel().astype(np.int64),
                "threshold": model.threshold.T.ravel(),
            }
        )
        return cls(steps=df, agents=agents, provenance=provenance(model))

    # ------------------------------------------------------------------ views
    def series(self, metric: str = "coverage", group: str = "all", replicate: int | None = None) -> pd.Series:
        """One metric of one group over steps (first replicate unless given)."""
        df = self.steps
        rep = df["replicate"].iloc[0] if replicate is None else replicate
        sel = df[(df["metric"] == metric) & (df["group"] == group) & (df["replicate"] == rep)]
        return sel.set_index("step")["value"]

    def final(self, metric: str = "coverage", group: str = "all") -> pd.Series:
        """Value of a metric at the last step, per replicate."""
        df = self.steps
        last = df["step"].max()
        sel = df[(df["metric"] == metric) & (df["group"] == group) & (df["step"] == last)]
        return sel.set_index("replicate")["value"]

    def to_json(self) -> str:
        """Provenance as JSON."""
        return json.dumps(self.provenance, indent=2, sort_keys=True, default=str)
