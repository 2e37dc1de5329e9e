"""DiffusionModel: a Mesa model whose state lives in arrays and whose step is vectorised."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import scipy.sparse as sp
from scipy.special import ndtri

from diffusion_sim import behaviour as bh
from diffusion_sim import interrupts, kernels
from diffusion_sim.community import Community, build_community
from diffusion_sim.interventions import build_interventions
from diffusion_sim.interventions.switches import Switch, played_scenario, start_intervention, stop_intervention
from diffusion_sim.mixing import mixed_exposure
from diffusion_sim.network.graph import influence_matrix
from diffusion_sim.population import HEALTH_WORKER, HOUSEHOLD, LEADER
from diffusion_sim.recording import Recorder
from diffusion_sim.resources import check_run_memory
from diffusion_sim.results import RunResult
from diffusion_sim.rng import Streams, generator
from diffusion_sim.scenario.schema import LAYERS, Scenario

__all__ = ["DiffusionModel", "AGENT_OBJECTS_LIMIT"]


AGENT_OBJECTS_LIMIT = 200_000
"""Above this many agents, Mesa agent objects are not created unless asked for (they cost about
0.8 s and 50 MB per 100,000 agents; the vectorised step never needs them)."""


def _scenario(scenario: Scenario | str | Path | None, parameters: dict[str, Any]) -> Scenario:
    """The model's scenario: given, read from a file, or built in; then flat keyword parameters applied."""
    if isinstance(scenario, str | Path):
        from diffusion_sim.scenario import load_scenario

        scenario = load_scenario(scenario)
    scenario = scenario if scenario is not None else Scenario()
    if parameters:
        from diffusion_sim.scenario.overrides import apply_overrides

        scenario = apply_overrides(
            scenario, {k.replace("__", "."): v for k, v in parameters.items()}, source="model parameters"
        )
    return scenario


class DiffusionModel(mesa.Model):
    """Diffusion of one behaviour through a layered community network.

    State is kept in arrays of shape (N, R): N agents, R replicate columns that share the
    community and differ only in their random streams (``replicates``). With R = 1 the Mesa agents
    ``Household``, ``Leader`` and ``HealthWorker`` view row i of those arrays.

    Step order (each step reads a snapshot of who has adopted and writes the next one, so agent
    order never matters):

    1. interventions act, family by family in a fixed order (:attr:`interventions`; the order of
       the scenario's list does not matter); they may adopt agents now (:meth:`adopt`), which this
       step's decisions then see;
    2. exposure is computed from the snapshot: ``s = W A``, ``x = s / w``, and ``s_new = W N`` for
       the independent cascade (N: adopted in the previous step);
    3. adoption is drawn for non-adopters (threshold crossed, else stochastic channels against the
       ``"adoption"`` stream), dis-adoption for adopters (``"abandonment"`` stream), both from the
       snapshot; the channel of each new adoption is recorded (``"channel"`` stream);
    4. results are recorded.

    Args:
        scenario: validated :class:`~diffusion_sim.scenario.Scenario` (default: the built-in one).
        seed: master seed (non-negative integer).
        replicates: replicate indices to run side by side (default ``[0]``); column r equals a
            separate run with ``replicates=[r]``.
        community: a prebuilt community (default: built from the scenario and seed).
        create_agents: create Mesa agent objects; default only for communities of at most
            :data:`AGENT_OBJECTS_LIMIT` agents and a single replicate.
        **parameters: flat keyword parameters, each a dotted scenario path with ``__`` for the dots
            (``community__households=500``), applied to the scenario and checked as ``--set`` is. So
            Mesa's SolaraViz, whose Reset rebuilds a model from flat keyword parameters, can build
            this model too. ``scenario`` may also be a scenario file's path.

    """

    def __init__(
        self,
        scenario: Scenario | str | Path | None = None,
        seed: int = 0,
        *,
        replicates: Sequence[int] = (0,),
        community: Community | None = None,
        create_agents: bool | None = None,
        **parameters: Any,
    ) -> None:
        # Mesa's own generators (model.rng, model.random) are for the user's code: the model never draws
        # from them, and they are seeded from a stream of their own, so drawing from them shifts no
        # number of the run (the run's draws are keyed by stream, step and agent: diffusion_sim.rng)
        super().__init__(rng=generator(int(seed), "mesa"))
        self.params = _scenario(scenario, parameters)
        self.seed = int(seed)
        self.streams = Streams(self.seed, list(replicates))
        self.community = community if community is not None else build_community(self.params, self.seed)
        pop = self.community.population
        self.n = pop.n
        self.R = self.streams.n_replicates

        roles = self.params.roles.by_type()
        atype = pop.agent_type
        influence = np.array([r.influence * r.trust for r in roles])[atype]
        layer_weights = {name: getattr(self.params.network, name).weight for name in LAYERS}
        # T: symmetric tie weights (layer weight x tie weight, summed over layers); m: source weights
        self.T = influence_matrix(self.community.network, layer_weights, np.ones(self.n))
        # the same ties by source (row j: the agents for whom j's adoption counts), along which changes are
        # pushed; without directed ties T is symmetric and is its own transpose
        directed = any(self.community.network.layers.get(name) is not None for name in self.community.network.directed)
        self.P = self.T.transpose().tocsr() if directed else self.T
        self.source_role = pop.role.astype(np.int8)

        beh = self.params.behaviour
        self._rule = beh.threshold_rule
        self._rule_code = {"none": 0, "fractional": 1, "absolute": 2, "linear_threshold": 1}[beh.threshold_rule]
        self._c = bh.cascade_coefficient(beh.cascade_probability)
        kernels.configure_threads()

        check_run_memory(self.n, self.R, self.T.nnz, source="replicates")
        # State lives in (R, N) arrays, one contiguous row per replicate (the kernels' layout: an
        # agent's contacts are near it in index, so their entries share cache lines); the public
        # attributes (adopted, threshold, ...) are (N, R) views of them. (An (N, R) layout, replicates of
        # an agent side by side, was tried: 20-40 % slower steps at R = 32, since an agent's contacts
        # then no longer share cache lines within a replicate.)
        R, n = self.R, self.n
        # thresholds: normal(mean, sd) per agent type, one draw per agent and replicate
        mean = np.array([r.threshold.mean for r in roles])[atype]
        sd = np.array([r.threshold.sd for r in roles])[atype]
        u_theta = self._uniforms("threshold")
        if self._rule == "linear_threshold":  # Kempe, Kleinberg & Tardos (2003): uniform on [0, 1], no sceptics
            theta = u_theta
            self._sceptic = np.zeros((R, n), bool)
        else:
            z = ndtri(np.clip(u_theta, 1e-12, 1 - 1e-12))
            theta = np.maximum(mean[None, :] + sd[None, :] * z, 0.0)
            # sceptics: a share of agents whose threshold is raised
            scep = beh.scepticism
            self._sceptic = self._uniforms("scepticism") < scep.share
            theta = theta + np.where(self._sceptic, scep.threshold_increase, 0.0)
            if self._rule == "fractional":
                theta = np.minimum(theta, 1.0)
        if pop.threshold is not None:  # per-person thresholds, where given, in every replicate (no sceptics)
            given = np.isfinite(pop.threshold)
            theta = np.where(given[None, :], pop.threshold[None, :], theta)
            self._sceptic = self._sceptic & ~given[None, :]
        self._theta = np.ascontiguousarray(theta)
        # seeds: each agent adopts at step 0 with its type's initial-adoption probability
        p0 = np.array([r.initial_adoption for r in roles])[atype]
        seeded = self._uniforms("seeding") < p0[None, :]
        if pop.initial is not None:  # per-person initial adopters, in every replicate, besides the drawn ones
            seeded |= np.asarray(pop.initial, bool)[None, :]
        self._A = seeded.copy()
        self._N = seeded.copy()  # adopted during the last step (seeds: step 0)
        self._ab = np.zeros_like(seeded)
        self._adopted_at = np.where(seeded, 0, -1).astype(np.int32)
        self._channel = np.where(seeded, bh.SEED, -1).astype(np.int8)
        self._abandoned_at = np.full((R, n), -1, np.int32)
        # per-agent parameters an intervention may change (then it calls mark_stale); equal in every
        # replicate at the start, so one shared (1, N) row each until a change needs a row per replicate
        self._m = influence[None, :].astype(np.float64)
        self._ext = np.full((1, n), float(beh.external))
        self._drop = np.ones((1, n))
        # (replicate, agent) pairs whose cached hazard of changing state must be recomputed: all
        self._stale = np.ones((R, n), np.bool_)
        # exact integer exposure of every agent and the total integer weight of its contacts (shared,
        # as m is): one whole-graph pass for the first replicate; the other replicates' exposures
        # are pushed from their few seeds
        self._s = np.zeros((R, n), np.int64)
        self._w = np.empty((1, n), np.int64)
        T = self.T
        if R:
            kernels.exposure_full(
                kernels.tie_rows(T.indptr), T.indices, T.data, self._m, self._A[:1], self._s[:1], self._w
            )
            P = self.P
            kernels.push_adopters(P.indptr, P.indices, P.data, self._m, self._A, self._s, self._stale, 1)
        cascade = self._c > 0
        self._s_new = np.zeros((R, n) if cascade else (R, 1), np.int64)
        self._touched = np.zeros(n if cascade else 1, np.int64)
        self._touched_flag = np.zeros(n if cascade else 1, np.bool_)
        self._n_touched = np.zeros(1, np.int64)
        self._hazard = np.zeros((R, n))  # cached hazard of changing state (kernels.step)
        self._cand = np.zeros(n * R, np.int64)
        self._A_next = np.empty_like(seeded)
        self._N_next = np.zeros_like(seeded)
        # a well-mixed population: exposure is the share of (weighted) adopters in one's mixing group
        mixing = self.params.network.mixing
        self._mix_group = np.zeros(0, np.int64)
        self._mix_by = np.zeros((R, 0, 3), np.int64)
        if mixing != "network":
            self._mix_group = (np.zeros(n) if mixing == "population" else pop.village).astype(np.int64)
            self._mix_exposure()
        # exposure-share boost of dialogue attendees ((R, 1) placeholder until a dialogue needs it)
        self._boost = np.zeros((R, 1))
        self.monitoring = 0.0  # abandonment reduction for adopters with an adopted contact
        # keys of the streams every step draws from, (3, R): adoption, abandonment, channel
        self._step_streams = np.stack([self.streams.keys(name) for name in ("adoption", "abandonment", "channel")])

        self.recorder = Recorder(pop, self.R, [iv.label for iv in self.params.interventions])
        self.recorder.record_initial(self.adopted, self.channel)
        self.interventions = build_interventions(self)
        self.switches: list[Switch] = []  # interventions switched on or off during the run
        self.running = self.params.schedule.steps > 0

        if create_agents is None:
            create_agents = self.n <= AGENT_OBJECTS_LIMIT and self.R == 1
        self.has_agent_objects = False
        if create_agents:
            self.create_agent_objects()

    def _per_replicate(self, name: str) -> np.ndarray:
        """The parameter array ``name`` with a row per replicate, made from its shared row first if needed."""
        x = getattr(self, name)
        if x.shape[0] != self.R:
            x = np.repeat(x, self.R, axis=0)
            setattr(self, name, x)
        return x

    def _full(self, x: np.ndarray) -> np.ndarray:
        """A parameter array as (R, N) (a read-only broadcast of a shared row)."""
        return np.broadcast_to(x, (self.R, self.n))

    def _uniforms(self, stream: str) -> np.ndarray:
        """(R, N) uniforms of a stream at step 0: ``rng.uniform(keys, 0, arange(N)).T``, compiled."""
        return kernels.uniforms(kernels.stream_step_keys(self.streams.keys(stream)[None, :], 0)[0], self.n)

    # ------------------------------------------------------------------ agents
    def create_agent_objects(self) -> None:
        """Create one Mesa agent per row (Household, Leader, HealthWorker); idempotent."""
        if self.has_agent_objects:
            return
        if self.R != 1:
            raise ValueError("Mesa agent objects view one replicate; build the model with a single replicate")
        from diffusion_sim.agents import HealthWorker, Household, Leader

        cls = {HOUSEHOLD: Household, LEADER: Leader, HEALTH_WORKER: HealthWorker}
        self._agent_objects = [cls[int(r)](self, i) for i, r in enumerate(self.community.population.role)]
        self.has_agent_objects = True

    def agent(self, index: int):
        """The Mesa agent viewing row ``index``."""
        if not self.has_agent_objects:
            self.create_agent_objects()
        return self._agent_objects[index]

    # ------------------------------------------------------------------ dynamics
    def step(self) -> None:
        """Advance one step in the order written in the class docstring."""
        interrupts.check()  # a deferred Ctrl-C stops the run here, between steps (diffusion_sim.interrupts)
        if self.recorder is None:
            raise RuntimeError("this model's state was released (release()); build a new model to run again")
        t = self.steps
        beh = self.params.behaviour
        # 1. interventions act (they may adopt agents now, which this step's decisions then see)
        self._N_next.fill(False)
        self._ab.fill(False)
        self._counts = self.recorder.new_counts()
        self._spending = self.recorder.new_spending()
        for iv in self.interventions:
            iv.act(self, t)
        # 2. exposure: s is kept exact by pushes (3c); the cascade exposure comes from last step's
        #    adopters; cached hazards are refreshed where exposure or parameters changed
        rec = self.recorder
        cnt_new, cnt_ab, cnt_ch = self._counts
        z_adopt, z_abandon, z_channel = kernels.stream_step_keys(self._step_streams, t)
        T, P, m, c = self.T, self.P, self._m, float(self._c)
        if c > 0:
            kernels.cascade_exposure(
                P.indptr, P.indices, P.data, m, self._N, self._s_new,
                self._touched, self._touched_flag, self._n_touched, self._stale,
            )  # fmt: skip
        # 3. replicate by replicate (kernels.advance): a. every agent draws against its probability
        #    of changing state (recomputed first where its exposure or parameters changed); b. the
        #    agents that change are resolved from the snapshot; c. the changes enter the exposure of
        #    the contacts (s then describes the next state)
        if len(self._mix_group):
            self._mix_exposure()  # after the interventions' adoptions: the decisions see them
        rates = (float(beh.spontaneous), float(beh.imitation), c)
        np.copyto(self._A_next, self._A)
        kernels.advance(
            self._hazard, self._A, z_adopt, z_abandon, self._cand,
            self._s, self._w, self._theta, self._ext, float(beh.external), self._drop, self._s_new, self._boost,
            self.monitoring, self._rule_code, *rates, float(beh.abandonment.rate),
            float(beh.abandonment.peer_support), self._stale, T.indptr, T.indices, T.data, m, self.source_role,
            self._N, z_channel, rec.agent_groups, rec.size, t, self._A_next, self._N_next, self._ab,
            self._adopted_at, self._channel, self._abandoned_at, cnt_new, cnt_ab, cnt_ch, P.indptr, P.indices, P.data,
            self._mix_group, self._mix_by,
        )  # fmt: skip
        self._A, self._A_next = self._A_next, self._A
        self._N, self._N_next = self._N_next, self._N
        # 4. record
        rec.record(t, cnt_new, cnt_ab, cnt_ch, self._spending)
        if t >= self.params.schedule.steps or (self.params.schedule.until == "quiescent" and self.quiescent()):
            self.running = False  # the schedule is over: Mesa's run_model() and a Play button stop here

    def quiescent(self) -> bool:
        """Whether no agent changed state in the last step and none can any more (see ``schedule.until``)."""
        t = self.steps
        if self._N.any() or self._ab.any():
            return False
        if any(iv.spec.end is None or iv.spec.end + 1 >= t for iv in self.interventions):
            return False  # an intervention may still act, or undo its effects (the step after its end)
        beh = self.params.behaviour
        return not kernels.can_change(
            self._A, self._s, self._w, self._theta, self._ext, self._drop, self._boost, self.monitoring,
            self._rule_code, float(beh.spontaneous), float(beh.imitation), float(beh.abandonment.rate),
            float(beh.abandonment.peer_support),
        )  # fmt: skip

    def _mix_exposure(self) -> None:
        """Well-mixed exposure of the current state (:func:`diffusion_sim.mixing.mixed_exposure`)."""
        self._mix_by, self._w = mixed_exposure(
            self._mix_group, self.source_role, self._m, self._A, self._s, self._w, self._stale
        )

    # ---- switching interventions during a run (diffusion_sim.interventions.switches)
    def start_intervention(self, spec) -> str:
        """Switch an intervention (a schema object or mapping) on from the next step; returns its identity.

        Recorded in :attr:`switches`; :meth:`played_scenario` replays the run exactly.
        """
        return start_intervention(self, spec)

    def stop_intervention(self, identity: str) -> None:
        """Switch the intervention with this stream identity off from the next step."""
        stop_intervention(self, identity)

    def played_scenario(self) -> Scenario:
        """The scenario whose run, with the same seed, equals this one, switches included."""
        return played_scenario(self)

    # ---- what interventions may do; each keeps the exposures exact and marks what changed
    def adopt(self, agents: np.ndarray, columns: np.ndarray, channel: int) -> int:
        """Make non-adopters adopt now (at the start of this step) through ``channel``.

        ``agents[k]`` adopts in replicate column ``columns[k]``; agents already adopted are left
        alone. Returns how many adopted. Only valid while a step runs (from ``act``).
        """
        T = self.P  # pushed along the ties by source
        cnt_new, _, cnt_ch = self._counts
        return int(
            kernels.force_adopt(
                np.asarray(agents, np.int64),
                np.asarray(columns, np.int64),
                int(channel),
                T.indptr,
                T.indices,
                T.data,
                self._m,
                self.recorder.agent_groups,
                self.recorder.size,
                self.steps,
                self._A,
                self._N_next,
                self._s,
                self._adopted_at,
                self._channel,
                cnt_new,
                cnt_ch,
                self._stale,
            )  # fmt: skip
        )

    def spend(
        self,
        intervention: int,
        programme: np.ndarray,
        community: np.ndarray | None = None,
        delivered: np.ndarray | None = None,
    ) -> None:
        """Book this step's costs of one intervention (per replicate).

        Also what it delivered (visits, people reached...).
        """
        cost, comm, units = self._spending
        cost[intervention] += programme
        if community is not None:
            comm[intervention] += community
        if delivered is not None:
            units[intervention] += delivered

    def scale_influence(self, agents: np.ndarray, columns: np.ndarray, factor: float | np.ndarray) -> None:
        """Multiply the source weight (influence x trust) of ``agents[k]`` in column ``columns[k]``."""
        agents = np.asarray(agents, np.int64)
        f = np.broadcast_to(np.asarray(factor, np.float64), agents.shape).copy()
        T = self.P  # pushed along the ties by source
        self._per_replicate("_m")
        self._per_replicate("_w")
        kernels.reweight_sources(
            agents, np.asarray(columns, np.int64), f, T.indptr, T.indices, T.data,
            self._m, self._A, self._s, self._w, self._stale,
        )  # fmt: skip

    def set_boost(self, boost: np.ndarray | None) -> None:
        """Set (or clear, with None) the exposure-share boost of every (agent, replicate), (N, R)."""
        if boost is None:
            if self._boost.shape[1] == self.n:
                rows = np.flatnonzero((self._boost != 0).any(axis=0))
                self._boost = np.zeros((self.R, 1))
                self.mark_stale(rows)
            return
        new = np.ascontiguousarray(np.asarray(boost, np.float64).T)
        old = self._boost if self._boost.shape[1] == self.n else np.zeros_like(new)
        self._boost = new
        self.mark_stale(np.flatnonzero((new != old).any(axis=0)))

    def set_monitoring(self, reduction: float) -> None:
        """Peer monitoring: adopters with an adopted contact abandon at ``(1 - reduction)`` the rate."""
        if reduction != self.monitoring:
            self.monitoring = float(reduction)
            self.mark_stale(np.arange(self.n))

    def mark_stale(self, rows: np.ndarray) -> None:
        """Tell the step that these agents' parameters changed (an intervention calls this)."""
        kernels.mark_stale(np.asarray(rows, dtype=np.int64), self._stale)

    # ---- (N, R) views of the state: row i is agent i, column r replicate r
    adopted = property(lambda self: self._A.T, doc="Whether each agent practises the behaviour (N, R).")
    new = property(lambda self: self._N.T, doc="Agents who adopted during the last step (N, R).")
    abandoned = property(lambda self: self._ab.T, doc="Agents who gave up during the last step (N, R).")
    adopted_at = property(lambda self: self._adopted_at.T, doc="Step of first adoption, -1 if never (N, R).")
    channel = property(lambda self: self._channel.T, doc="Channel code of first adoption, -1 if never (N, R).")
    abandoned_at = property(lambda self: self._abandoned_at.T, doc="Step of last abandonment, -1 if never (N, R).")
    threshold = property(lambda self: self._theta.T, doc="Adoption thresholds (N, R).")
    external = property(
        lambda self: self._per_replicate("_ext").T, doc="External (media) hazard per step of each agent (N, R)."
    )
    abandon_multiplier = property(
        lambda self: self._per_replicate("_drop").T, doc="Multiplier of each agent's abandonment hazard (N, R)."
    )
    sceptic = property(lambda self: self._sceptic.T, doc="Sceptical agents, whose threshold was raised (N, R).")
    source_weight = property(
        lambda self: self._full(self._m).T, doc="Source weight m = influence x trust of each agent (N, R), read-only."
    )

    @property
    def exposure(self) -> np.ndarray:
        """Weighted exposure ``s = W A`` of the current state, in units of a unit tie (N, R)."""
        return self._s.T / kernels.SCALE

    @property
    def total_weight(self) -> np.ndarray:
        """Total influence ``w = sum_j W[i, j]`` of each agent's contacts (N, R)."""
        return self._full(self._w).T / kernels.SCALE

    @property
    def exposure_share(self) -> np.ndarray:
        """Weighted share ``x = s / w`` of contacts who have adopted, in the current state (N, R)."""
        s, w = self._s.T, self._full(self._w).T
        return np.where(w > 0, s / np.where(w > 0, w, 1), 0.0)

    @property
    def W(self) -> sp.csr_matrix:
        """Influence matrix ``W[i, j] = T[i, j] * m_j`` of replicate 0 (for inspection; the step uses integers)."""
        return self.T @ sp.diags(self._m[0]) if self.n else self.T

    # ------------------------------------------------------------------ results
    def coverage(self, column: int = 0) -> float:
        """Coverage: the share of households that have adopted, in one replicate column (0 without households)."""
        households = self.community.population.role == HOUSEHOLD
        return float(self.adopted[households, column].mean()) if households.any() else 0.0

    def run(self, steps: int | None = None) -> RunResult:
        """Run the scenario's steps (or ``steps``) and return the result."""
        n = self.params.schedule.steps if steps is None else steps
        if n > 0:
            self.run_for(n)
        return self.result()

    def release(self) -> None:
        """Free the run's state now (arrays, community, interventions, recorder); the model cannot step afterwards.

        A Mesa model holds reference cycles (its wrapped step and event schedule), so Python frees a
        finished model only at the next cyclic garbage collection, which may come many runs later:
        without this, the memory of finished runs piles up in a comparison or an experiment.
        """
        for name, value in list(vars(self).items()):
            if isinstance(value, np.ndarray) or name in ("T", "P", "community", "recorder", "interventions"):
                setattr(self, name, None)

    def result(self, *, agents: bool = True) -> RunResult:
        """Results so far: per-step counts and frame, per-agent outcomes (unless ``agents=False``), provenance."""
        return RunResult.from_model(self, agents=agents)
