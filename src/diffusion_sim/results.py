"""Per-step recording and the result of a run: a tidy per-step frame, per-agent outcomes, provenance.

Per-step frame columns (long format, one row per replicate, step, group and metric):

* ``replicate``, ``seed``: which run;
* ``step``, ``day``: step number (0 is the initial state) and ``step * days_per_step``;
* ``group``: ``all``, ``role=household|leader|health_worker``, ``leader_kind=religious|...``,
  ``village=<name>``, ``marginalised=yes|no`` (households only), or ``channel=<channel>`` (only
  for ``new_adopters``);
* ``metric``: ``adopters`` (count at the end of the step), ``coverage`` (adopters / population of
  the group), ``new_adopters`` (adoptions during the step), ``abandonments`` (dis-adoptions during
  the step), ``population`` (size of the group, at step 0 only); ``cost``, ``community_cost`` and
  ``delivered`` (per intervention: groups ``intervention=<name>``, and ``all`` for the costs).
  Village groups carry ``adopters``, ``coverage`` and ``population`` only;
* ``value``.
"""

from __future__ import annotations

import functools
import json
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from diffusion_sim.behaviour import CHANNELS
from diffusion_sim.population import ROLES, Population
from diffusion_sim.scenario.schema import AGENT_TYPES, LEADER_KINDS

if TYPE_CHECKING:
    from diffusion_sim.model import DiffusionModel

__all__ = ["Recorder", "RunResult", "group_labels", "provenance"]


FIRST_VILLAGE_GROUP = 1 + len(ROLES) + len(LEADER_KINDS)
"""Index of the first ``village=`` group: after ``all``, the roles and the leader kinds."""


def _categorical(codes: np.ndarray, categories: list[str], repeat: int = 1) -> pd.Categorical:
    """A categorical from codes this module made (each in ``range(len(categories))``), tiled ``repeat`` times.

    The codes are cast to the integer width pandas keeps for that many categories before tiling,
    and are not validated again: at a million rows this is the difference between milliseconds
    and nothing.
    """
    width = np.int8 if len(categories) < 127 else np.int16 if len(categories) < 32767 else np.int32
    tiled = np.tile(np.asarray(codes).astype(width, copy=False), repeat)
    return pd.Categorical.from_codes(tiled, dtype=pd.CategoricalDtype(categories), validate=False)


def group_labels(pop: Population) -> list[str]:
    """Names of the groups results are counted by, in the order of their indices.

    0 ``all``; 1-3 ``role=...``; 4-7 ``leader_kind=...``; 8..8+V-1 ``village=...``;
    8+V ``marginalised=yes`` and 9+V ``marginalised=no`` (households only).
    """
    return [
        "all",
        *(f"role={name}" for name in ROLES),
        *(f"leader_kind={name}" for name in LEADER_KINDS),
        *(f"village={pop.village_label(v)}" for v in range(pop.n_villages)),
        "marginalised=yes",
        "marginalised=no",
    ]


def agent_group_index(pop: Population) -> np.ndarray:
    """For each agent, the indices of the groups of :func:`group_labels` it belongs to (N x 4, -1 = none)."""
    V = pop.n_villages
    out = np.full((pop.n, 4), -1, np.int32)
    out[:, 0] = 0
    out[:, 1] = 1 + pop.role
    leader = pop.role == 1
    out[leader, 2] = 1 + len(ROLES) + pop.leader_kind[leader]
    hh = pop.role == 0
    out[hh, 2] = np.where(pop.marginalised[hh], FIRST_VILLAGE_GROUP + V, FIRST_VILLAGE_GROUP + V + 1)
    out[:, 3] = FIRST_VILLAGE_GROUP + pop.village
    return out


def count_by_group(agent_groups: np.ndarray, flags: np.ndarray, n_groups: int) -> np.ndarray:
    """Number of flagged agents in each group: ``flags`` (N, R) boolean -> (n_groups, R)."""
    R = flags.shape[1]
    rows, cols = np.nonzero(flags)
    g = agent_groups[rows]
    keep = g >= 0
    idx = (g * R + cols[:, None])[keep]
    return np.bincount(idx, minlength=n_groups * R).reshape(n_groups, R).astype(np.int64)


class Recorder:
    """Counts per group for every step: adopters, new adopters, abandonments, adoptions by channel.

    The step kernel adds each change to the counts of the agent's groups, so recording costs
    O(changes), not O(N).
    """

    def __init__(self, pop: Population, R: int, interventions: list[str] | None = None):
        self.interventions = list(interventions or [])
        self.groups = group_labels(pop)
        self.agent_groups = agent_group_index(pop)
        self.population = count_by_group(self.agent_groups, np.ones((pop.n, 1), bool), len(self.groups))[:, 0]
        self.R = R
        self.steps: list[int] = []
        self.adopters: list[np.ndarray] = []
        self.new: list[np.ndarray] = []
        self.abandoned: list[np.ndarray] = []
        self.by_channel: list[np.ndarray] = []
        self.cost: list[np.ndarray] = []
        self.community_cost: list[np.ndarray] = []
        self.delivered: list[np.ndarray] = []

    def new_spending(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Zeroed (interventions x R) arrays for one step: programme cost, community cost, units delivered."""
        shape = (len(self.interventions), self.R)
        return np.zeros(shape), np.zeros(shape), np.zeros(shape)

    def new_counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Zeroed count arrays for one step: new adopters and abandonments per group, adoptions per channel."""
        g = len(self.groups)
        return (
            np.zeros((g, self.R), np.int64),
            np.zeros((g, self.R), np.int64),
            np.zeros((len(CHANNELS), self.R), np.int64),
        )

    def record_initial(self, adopted: np.ndarray, channel: np.ndarray) -> None:
        """Record step 0 (the seeds)."""
        counts = count_by_group(self.agent_groups, adopted, len(self.groups))
        nc = len(CHANNELS)
        rows, cols = np.nonzero(adopted)
        ch = np.bincount(cols * nc + channel[rows, cols].astype(np.int64), minlength=nc * self.R).reshape(self.R, nc).T
        self.steps.append(0)
        self.adopters.append(counts)
        self.new.append(counts.copy())
        self.abandoned.append(np.zeros_like(counts))
        self.by_channel.append(ch)
        for store, value in zip((self.cost, self.community_cost, self.delivered), self.new_spending(), strict=True):
            store.append(value)

    def record(self, step: int, n_new: np.ndarray, n_ab: np.ndarray, by_channel: np.ndarray, spending=None) -> None:
        """Record the counts of ``step``: adopters(t) = adopters(t-1) + new - abandoned; and costs."""
        spending = spending if spending is not None else self.new_spending()
        for store, value in zip((self.cost, self.community_cost, self.delivered), spending, strict=True):
            store.append(value)
        self.steps.append(step)
        self.adopters.append(self.adopters[-1] + n_new - n_ab)
        self.new.append(n_new)
        self.abandoned.append(n_ab)
        self.by_channel.append(by_channel)


@functools.cache
def _git_commit() -> str | None:
    """The source tree's git commit (``-dirty`` if modified), looked up once per process."""
    try:
        here = Path(__file__).resolve().parent
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=here, capture_output=True, text=True, timeout=5
        )
        if top.returncode != 0 or Path(top.stdout.strip()) / "src" / "diffusion_sim" != here:
            return None  # installed outside this project's own checkout: no commit to report
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
        """Collect a model's recorded results (string columns are categoricals: cheap at any scale)."""
        rec = model.recorder
        pop = model.community.population
        days = model.params.schedule.days_per_step
        steps = np.array(rec.steps, dtype=np.int64)
        T, R = len(steps), rec.R
        reps = np.array(model.streams.replicates, dtype=np.int64)
        channel_groups = [f"channel={c}" for c in CHANNELS]
        group_names = [*rec.groups, *channel_groups]

        adopters = np.stack(rec.adopters).astype(np.float64)  # T x G x R
        popn = np.broadcast_to(rec.population[None, :, None].astype(np.float64), adopters.shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            coverage = np.where(popn > 0, adopters / np.where(popn > 0, popn, 1), np.nan)
        new_all = np.concatenate([np.stack(rec.new), np.stack(rec.by_channel)], axis=1)  # T x (G + C) x R
        iv_groups = [f"intervention={name}" for name in rec.interventions]
        group_names += iv_groups
        G0 = len(rec.groups) + len(channel_groups)

        def by_intervention(store: list[np.ndarray]) -> np.ndarray:
            """T x (groups) x R with the intervention rows at their group codes (and 'all' = the sum)."""
            v = np.stack(store)  # T x I x R
            out = np.full((T, G0 + len(iv_groups), R), np.nan)
            out[:, 0] = v.sum(axis=1)
            out[:, G0:] = v
            return out

        # villages get coverage and adopters every step, and their population at step 0; the other
        # per-step counts are kept for the non-village groups only (this keeps district-scale frames small)
        V = pop.n_villages
        everyone = np.arange(len(rec.groups))
        not_village = np.concatenate(
            [np.arange(FIRST_VILLAGE_GROUP), np.arange(FIRST_VILLAGE_GROUP + V, len(rec.groups))]
        )
        with_channels = np.concatenate([not_village, np.arange(len(rec.groups), G0)])
        all_steps, first_step = np.arange(T), np.arange(1)
        blocks = [  # (metric, values T x groups x R, groups kept, steps kept), in the frame's order
            ("abandonments", np.stack(rec.abandoned), not_village, all_steps),
            ("adopters", adopters, everyone, all_steps),
            ("community_cost", by_intervention(rec.community_cost), None, all_steps),
            ("cost", by_intervention(rec.cost), None, all_steps),
            ("coverage", coverage, everyone, all_steps),
            ("delivered", by_intervention(rec.delivered), None, all_steps),
            ("new_adopters", new_all, with_channels, all_steps),
            ("population", popn, everyone, first_step),
        ]
        metric_names = [b[0] for b in blocks]
        values, group_code, metric_code, step_idx = [], [], [], []
        for code, (_, v, keep, when) in enumerate(blocks):
            if keep is None:  # per-intervention metrics: 'all' and the interventions
                keep = np.flatnonzero(~np.isnan(v).all(axis=(0, 2)))
            v = v[when][:, keep]
            ng, nt = len(keep), len(when)
            values.append(v.astype(np.float64).transpose(2, 1, 0).reshape(R, ng * nt))  # r, group, step
            group_code.append(np.repeat(keep, nt))
            metric_code.append(np.full(ng * nt, code))
            step_idx.append(np.tile(when, ng))
        per_rep = sum(len(g) for g in group_code)
        step_col = steps[np.tile(np.concatenate(step_idx), R)]
        df = pd.DataFrame(
            {
                "replicate": np.repeat(reps, per_rep),
                "seed": np.full(per_rep * R, model.seed, dtype=np.int64),
                "step": step_col,
                "day": step_col * days,
                "group": _categorical(np.concatenate(group_code), group_names, R),
                "metric": _categorical(np.concatenate(metric_code), metric_names, R),
                "value": np.concatenate(values, axis=1).ravel(),
            },
            copy=False,  # every column above is a new array
        )

        n = pop.n
        agent = np.tile(np.arange(n), R)
        village_names = [pop.village_label(v) for v in range(pop.n_villages)]
        kind = np.where(pop.leader_kind >= 0, pop.leader_kind, len(LEADER_KINDS))
        columns = {
            "replicate": np.repeat(reps, n),
            "agent": agent,
        }
        if pop.labels is not None:
            columns["label"] = pd.Categorical(np.tile(pop.labels.astype(str), R))  # labels may repeat
        columns |= {
            "type": _categorical(pop.agent_type, list(AGENT_TYPES), R),
            "role": _categorical(pop.role, list(ROLES), R),
            "leader_kind": _categorical(kind, [*LEADER_KINDS, ""], R),
            "village": _categorical(pop.village, village_names, R),
            "marginalised": np.tile(pop.marginalised, R),
            "household_size": np.tile(pop.household_size, R).astype(np.int64),
            "adopted": model.adopted.T.flatten(),  # copies: the frame must not alias the model's state
            "adopted_at": model.adopted_at.T.ravel().astype(np.int64),
            "channel": _categorical(
                np.where(model.channel >= 0, model.channel, len(CHANNELS)).T.ravel(), [*CHANNELS, ""]
            ),
            "abandoned_at": model.abandoned_at.T.ravel().astype(np.int64),
            "threshold": model.threshold.T.flatten(),
        }
        agents = pd.DataFrame(columns, copy=False)  # every column above is a new array
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
