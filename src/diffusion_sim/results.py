"""The result of a run: per-step counts and their tidy frame, per-agent outcomes, provenance.

Recording is in :mod:`diffusion_sim.recording`, provenance in :mod:`diffusion_sim.provenance`.

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
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from diffusion_sim.behaviour import CHANNELS
from diffusion_sim.kernels import COUNT_EVENTS, COUNT_FIRST, COUNT_PEOPLE
from diffusion_sim.population import ROLES
from diffusion_sim.provenance import provenance
from diffusion_sim.recording import Recorder, categorical, group_labels
from diffusion_sim.scenario.schema import AGENT_TYPES, LEADER_KINDS

if TYPE_CHECKING:
    from diffusion_sim.model import DiffusionModel

__all__ = ["Recorder", "RunResult", "StepCounts", "group_labels", "provenance"]


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

    @classmethod
    def concat(cls, parts: list[StepCounts]) -> StepCounts:
        """Counts of the same run's scenario from several blocks of replicates, side by side."""
        if len(parts) == 1:
            return parts[0]

        def cat(name: str) -> np.ndarray:
            return np.concatenate([getattr(p, name) for p in parts], axis=-1)  # replicates are the last axis

        names = ("replicates", "adopters", "people_adopters", "ever_adopted", "new", "abandoned", "by_channel")
        return replace(parts[0], **{n: cat(n) for n in (*names, "cost", "community_cost", "delivered")})

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
                "group": categorical(np.concatenate(group_code), group_names, R),
                "metric": categorical(np.concatenate(metric_code), metric_names, R),
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
        "type": categorical(pop.agent_type, list(AGENT_TYPES), R),
        "role": categorical(pop.role, list(ROLES), R),
        "leader_kind": categorical(kind, [*LEADER_KINDS, ""], R),
        "village": categorical(pop.village, village_names, R),
        "marginalised": np.tile(pop.marginalised, R),
        "household_size": np.tile(pop.household_size, R).astype(np.int64),
        "adopted": model.adopted.T.flatten(),  # copies: the frame must not alias the model's state
        "adopted_at": model.adopted_at.T.ravel().astype(np.int64),
        "channel": categorical(np.where(model.channel >= 0, model.channel, len(CHANNELS)).T.ravel(), [*CHANNELS, ""]),
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

    @classmethod
    def concat(cls, parts: list[RunResult], scenario) -> RunResult:
        """One result from runs of one scenario's replicates made separately (a network per replicate)."""
        counts = StepCounts.concat([p.counts for p in parts])
        prov = {
            **parts[0].provenance,
            "replicates": [r for p in parts for r in p.provenance["replicates"]],
            "scenario_digest": scenario.digest(),
            "scenario": scenario.model_dump(mode="json"),
        }
        frames = [p.agents_frame for p in parts]
        agents = None if any(f is None for f in frames) else pd.concat(frames, ignore_index=True)
        if agents is not None:
            for name, col in frames[0].items():  # categoricals stay categoricals
                if isinstance(col.dtype, pd.CategoricalDtype):
                    agents[name] = agents[name].astype(col.dtype)
        return cls(counts=counts, provenance=prov, agents_frame=agents)

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
