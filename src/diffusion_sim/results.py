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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from diffusion_sim.behaviour import CHANNELS
from diffusion_sim.kernels import COUNT_EVENTS, COUNT_FIRST, COUNT_PEOPLE, HOUSEHOLD_GROUP
from diffusion_sim.population import ROLES, Population
from diffusion_sim.scenario.schema import AGENT_TYPES, LEADER_KINDS

if TYPE_CHECKING:
    from diffusion_sim.model import DiffusionModel

__all__ = ["Recorder", "RunResult", "StepCounts", "group_labels", "provenance"]


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

    0 ``all`` (every agent); 1-3 ``role=...``; 4-7 ``leader_kind=...``; 8..8+V-1 ``village=...``
    (the village's households); 8+V ``marginalised=yes`` and 9+V ``marginalised=no`` (households).
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
    out[hh, 3] = FIRST_VILLAGE_GROUP + pop.village[hh]  # village groups count households only
    return out


def count_by_group(
    agent_groups: np.ndarray, flags: np.ndarray, n_groups: int, weight: np.ndarray | None = None
) -> np.ndarray:
    """Number (or total ``weight``) of flagged agents in each group: ``flags`` (N, R) boolean -> (n_groups, R)."""
    R = flags.shape[1]
    rows, cols = np.nonzero(flags)
    g = agent_groups[rows]
    keep = g >= 0
    idx = (g * R + cols[:, None])[keep]
    w = None if weight is None else np.broadcast_to(np.asarray(weight)[rows][:, None], g.shape)[keep]
    return np.rint(np.bincount(idx, weights=w, minlength=n_groups * R)).reshape(n_groups, R).astype(np.int64)


class Recorder:
    """Counts per group for every step: adopters, new adopters, abandonments, adoptions by channel.

    The step kernel adds each change to the counts of the agent's groups, so recording costs
    O(changes), not O(N). Counts come in planes (:data:`diffusion_sim.kernels.COUNT_EVENTS`,
    ``COUNT_PEOPLE``, ``COUNT_FIRST``): agents, people (household sizes) and first-time events.
    """

    def __init__(self, pop: Population, R: int, interventions: list[str] | None = None):
        self.interventions = list(interventions or [])
        self.groups = group_labels(pop)
        self.agent_groups = agent_group_index(pop)
        self.size = np.asarray(pop.household_size, np.int64)
        everyone = np.ones((pop.n, 1), bool)
        self.population = count_by_group(self.agent_groups, everyone, len(self.groups))[:, 0]
        self.people = count_by_group(self.agent_groups, everyone, len(self.groups), self.size)[:, 0]
        self.R = R
        self.steps: list[int] = []
        self.adopters: list[np.ndarray] = []  # (3, G, R) each: agents, people, ever adopted
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
        """Zeroed count arrays for one step.

        New adopters and abandonments per plane and group (3, G, R), and adoptions per channel
        (2, C, R): every adoption, and households' first adoptions.
        """
        g = len(self.groups)
        return (
            np.zeros((3, g, self.R), np.int64),
            np.zeros((3, g, self.R), np.int64),
            np.zeros((2, len(CHANNELS), self.R), np.int64),
        )

    def record_initial(self, adopted: np.ndarray, channel: np.ndarray) -> None:
        """Record step 0 (the initial adopters: everyone's first adoption)."""
        g = len(self.groups)
        counts = count_by_group(self.agent_groups, adopted, g)
        people = count_by_group(self.agent_groups, adopted, g, self.size)
        new = np.stack([counts, people, counts])
        nc = len(CHANNELS)
        rows, cols = np.nonzero(adopted)
        ch = np.bincount(cols * nc + channel[rows, cols].astype(np.int64), minlength=nc * self.R).reshape(self.R, nc).T
        hh = self.agent_groups[rows, 1] == HOUSEHOLD_GROUP
        ch_hh = np.bincount(
            cols[hh] * nc + channel[rows[hh], cols[hh]].astype(np.int64), minlength=nc * self.R
        ).reshape(self.R, nc).T
        self.steps.append(0)
        self.adopters.append(new.copy())
        self.new.append(new)
        self.abandoned.append(np.zeros_like(new))
        self.by_channel.append(np.stack([ch, ch_hh]))
        for store, value in zip((self.cost, self.community_cost, self.delivered), self.new_spending(), strict=True):
            store.append(value)

    def record(self, step: int, n_new: np.ndarray, n_ab: np.ndarray, by_channel: np.ndarray, spending=None) -> None:
        """Record the counts of ``step``: adopters(t) = adopters(t-1) + new - abandoned; and costs.

        The third plane of ``adopters`` is the number who ever adopted (cumulative first adoptions).
        """
        spending = spending if spending is not None else self.new_spending()
        for store, value in zip((self.cost, self.community_cost, self.delivered), spending, strict=True):
            store.append(value)
        prev = self.adopters[-1]
        now = prev + n_new - n_ab
        now[COUNT_FIRST] = prev[COUNT_FIRST] + n_new[COUNT_FIRST]
        self.steps.append(step)
        self.adopters.append(now)
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
class StepCounts:
    """Per-step counts of one run by group, as arrays (T steps, G groups, R replicates).

    ``groups`` are the labels of :func:`group_labels` (or a subset of them, see
    :meth:`without_villages`); ``adopters``, ``people_adopters`` and ``ever_adopted`` are states at
    the end of each step, ``new`` and ``abandoned`` (3, T, G, R) the events of each step in the
    planes of :data:`~diffusion_sim.kernels.COUNT_EVENTS` (agents), ``COUNT_PEOPLE`` (household
    sizes) and ``COUNT_FIRST`` (first-time events); ``by_channel`` (2, T, C, R) adoptions by
    channel (every adoption of any agent; households' first adoptions); costs (T, I, R) per
    intervention.
    """

    steps: np.ndarray
    replicates: np.ndarray
    seed: int
    days_per_step: float
    groups: list[str]
    population: np.ndarray
    people: np.ndarray
    adopters: np.ndarray
    people_adopters: np.ndarray
    ever_adopted: np.ndarray
    new: np.ndarray
    abandoned: np.ndarray
    by_channel: np.ndarray
    interventions: list[str]
    cost: np.ndarray
    community_cost: np.ndarray
    delivered: np.ndarray

    @classmethod
    def from_recorder(cls, rec: Recorder, model: DiffusionModel) -> StepCounts:
        """The recorder's counts as arrays (copies: the series does not change when the model runs on)."""
        adopters = np.stack(rec.adopters, axis=1)  # 3, T, G, R
        return cls(
            steps=np.array(rec.steps, dtype=np.int64),
            replicates=np.array(model.streams.replicates, dtype=np.int64),
            seed=model.seed,
            days_per_step=float(model.params.schedule.days_per_step),
            groups=list(rec.groups),
            population=rec.population.copy(),
            people=rec.people.copy(),
            adopters=adopters[COUNT_EVENTS],
            people_adopters=adopters[COUNT_PEOPLE],
            ever_adopted=adopters[COUNT_FIRST],
            new=np.stack(rec.new, axis=1),
            abandoned=np.stack(rec.abandoned, axis=1),
            by_channel=np.stack(rec.by_channel, axis=1),
            interventions=list(rec.interventions),
            cost=np.stack(rec.cost),
            community_cost=np.stack(rec.community_cost),
            delivered=np.stack(rec.delivered),
        )

    def index(self, group: str) -> int:
        """Position of a group label (``KeyError`` naming the group if absent)."""
        try:
            return self.groups.index(group)
        except ValueError:
            raise KeyError(f"no group {group!r} in this series") from None

    def coverage(self, group: str = "role=household", people: bool = False) -> np.ndarray:
        """(T, R) coverage of one group: adopters (or people in adopting households) over its size."""
        g = self.index(group)
        num, den = (self.people_adopters, self.people) if people else (self.adopters, self.population)
        with np.errstate(invalid="ignore", divide="ignore"):
            return num[:, g, :] / den[g] if den[g] > 0 else np.full(num[:, g, :].shape, np.nan)

    @property
    def village_groups(self) -> np.ndarray:
        """Positions of the ``village=`` groups."""
        return np.array([k for k, g in enumerate(self.groups) if g.startswith("village=")], dtype=np.int64)

    def without_villages(self) -> StepCounts:
        """The same series without the village groups (what a comparison keeps: small at any scale)."""
        keep = np.array([k for k, g in enumerate(self.groups) if not g.startswith("village=")], dtype=np.int64)
        return replace(
            self,
            groups=[self.groups[k] for k in keep],
            population=self.population[keep],
            people=self.people[keep],
            adopters=self.adopters[:, keep],
            people_adopters=self.people_adopters[:, keep],
            ever_adopted=self.ever_adopted[:, keep],
            new=self.new[:, :, keep],
            abandoned=self.abandoned[:, :, keep],
        )

    def replicate_block(self, start: int, stop: int) -> StepCounts:
        """The counts of replicate columns ``start:stop`` only (views, no copies)."""
        k = slice(start, stop)
        return replace(
            self,
            replicates=self.replicates[k],
            adopters=self.adopters[..., k],
            people_adopters=self.people_adopters[..., k],
            ever_adopted=self.ever_adopted[..., k],
            new=self.new[..., k],
            abandoned=self.abandoned[..., k],
            by_channel=self.by_channel[..., k],
            cost=self.cost[..., k],
            community_cost=self.community_cost[..., k],
            delivered=self.delivered[..., k],
        )

    def to_frame(self) -> pd.DataFrame:
        """The tidy per-step frame (columns and order in this module's docstring)."""
        T, G, R = self.adopters.shape
        channel_groups = [f"channel={c}" for c in CHANNELS]
        iv_groups = [f"intervention={name}" for name in self.interventions]
        group_names = [*self.groups, *channel_groups, *iv_groups]
        n_channels, n_iv = len(channel_groups), len(iv_groups)
        G0 = G + n_channels

        def padded(values: np.ndarray, at: int) -> np.ndarray:
            """T x (all groups) x R with ``values`` at group positions ``at..``."""
            out = np.full((T, G0 + n_iv, R), np.nan)
            out[:, at : at + values.shape[1]] = values
            return out

        def by_intervention(v: np.ndarray) -> np.ndarray:
            out = padded(v, G0)
            out[:, 0] = v.sum(axis=1)
            return out

        popn = np.broadcast_to(self.population[None, :, None].astype(np.float64), self.adopters.shape)
        ppl = np.broadcast_to(self.people[None, :, None].astype(np.float64), self.adopters.shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            coverage = np.where(popn > 0, self.adopters / np.where(popn > 0, popn, 1), np.nan)
            people_cov = np.where(ppl > 0, self.people_adopters / np.where(ppl > 0, ppl, 1), np.nan)
        villages = set(self.village_groups.tolist())
        everyone = np.arange(G)
        not_village = np.array([k for k in everyone if k not in villages], dtype=np.int64)
        with_people = np.array([k for k in not_village if self.people[k] > 0], dtype=np.int64)
        channels = np.arange(G, G0)
        all_steps, first_step = np.arange(T), np.arange(1)
        new_all = np.concatenate([self.new[COUNT_EVENTS], self.by_channel[0]], axis=1)
        first_hh = padded(self.by_channel[1], G)
        ever_ab = np.cumsum(self.abandoned[COUNT_FIRST], axis=0)
        blocks = [  # (metric, values T x groups x R, groups kept (None: those with values), steps kept), by name
            ("abandonments", self.abandoned[COUNT_EVENTS], not_village, all_steps),
            ("adopters", self.adopters, everyone, all_steps),
            ("community_cost", by_intervention(self.community_cost), None, all_steps),
            ("cost", by_intervention(self.cost), None, all_steps),
            ("coverage", coverage, everyone, all_steps),
            ("delivered", padded(self.delivered, G0), None, all_steps),  # no 'all': units differ
            ("ever_abandoned", ever_ab, not_village, all_steps),
            ("ever_adopted", self.ever_adopted, not_village, all_steps),
            ("first_adopters", first_hh, channels, all_steps),
            ("new_adopters", new_all, np.concatenate([not_village, channels]), all_steps),
            ("people", ppl, with_people, first_step),
            ("people_adopters", self.people_adopters, with_people, all_steps),
            ("people_coverage", people_cov, with_people, all_steps),
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
        step_col = self.steps[np.tile(np.concatenate(step_idx), R)]
        return pd.DataFrame(
            {
                "replicate": np.repeat(self.replicates, per_rep),
                "seed": np.full(per_rep * R, self.seed, dtype=np.int64),
                "step": step_col,
                "day": step_col * self.days_per_step,
                "group": _categorical(np.concatenate(group_code), group_names, R),
                "metric": _categorical(np.concatenate(metric_code), metric_names, R),
                "value": np.concatenate(values, axis=1).ravel(),
            },
            copy=False,  # every column above is a new array
        )


def _agents_frame(model: DiffusionModel) -> pd.DataFrame:
    """One row per agent and replicate: who it is and its state at the end of the run."""
    pop = model.community.population
    R, n = model.R, pop.n
    reps = np.array(model.streams.replicates, dtype=np.int64)
    village_names = [pop.village_label(v) for v in range(pop.n_villages)]
    kind = np.where(pop.leader_kind >= 0, pop.leader_kind, len(LEADER_KINDS))
    columns = {
        "replicate": np.repeat(reps, n),
        "agent": np.tile(np.arange(n), R),
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
        "channel": _categorical(np.where(model.channel >= 0, model.channel, len(CHANNELS)).T.ravel(), [*CHANNELS, ""]),
        "abandoned_at": model.abandoned_at.T.ravel().astype(np.int64),
        "threshold": model.threshold.T.flatten(),
    }
    return pd.DataFrame(columns, copy=False)  # every column above is a new array


@dataclass(eq=False)
class RunResult:
    """Result of one run (R replicate columns): per-step counts, per-agent outcomes, provenance.

    ``counts`` holds the per-step counts as arrays; :attr:`steps` is the same as a tidy frame (made
    on first use). :attr:`agents` has one row per agent and replicate, unless the run was made with
    ``agents=False`` (comparisons and experiments keep only series and outcomes, so their memory
    does not grow with the community).
    """

    counts: StepCounts
    provenance: dict[str, Any] = field(default_factory=dict)
    agents_frame: pd.DataFrame | None = None

    @classmethod
    def from_model(cls, model: DiffusionModel, *, agents: bool = True) -> RunResult:
        """Collect a model's recorded results (string columns are categoricals: cheap at any scale)."""
        return cls(
            counts=StepCounts.from_recorder(model.recorder, model),
            provenance=provenance(model),
            agents_frame=_agents_frame(model) if agents else None,
        )

    @functools.cached_property
    def steps(self) -> pd.DataFrame:
        """The tidy per-step frame (this module's docstring)."""
        return self.counts.to_frame()

    @property
    def agents(self) -> pd.DataFrame:
        """One row per agent and replicate at the end of the run."""
        if self.agents_frame is None:
            raise ValueError("this result kept no per-agent frame (it was made with agents=False)")
        return self.agents_frame

    @functools.cached_property
    def scenario(self):
        """The scenario that was run."""
        from diffusion_sim.scenario.schema import Scenario

        return Scenario.model_validate(self.provenance["scenario"])

    def slim(self) -> RunResult:
        """The result without per-agent rows and village series (what a comparison keeps)."""
        return RunResult(counts=self.counts.without_villages(), provenance=self.provenance)

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
