"""DiffusionModel: a Mesa model whose state lives in arrays and whose step is vectorised."""

from __future__ import annotations

from collections.abc import Sequence

import mesa
import numpy as np

from diffusion_sim import behaviour as bh
from diffusion_sim.community import Community, build_community
from diffusion_sim.network.graph import influence_matrix
from diffusion_sim.population import HEALTH_WORKER, HOUSEHOLD, LEADER
from diffusion_sim.results import Recorder, RunResult
from diffusion_sim.rng import Streams
from diffusion_sim.scenario.schema import LAYERS, Scenario

__all__ = ["DiffusionModel", "AGENT_OBJECTS_LIMIT"]

_CHANNEL_OF_PART = np.array(
    [bh.MEDIA, bh.SPONTANEOUS, bh.PEER, bh.LEADER_CH, bh.HEALTH_WORKER_CH, bh.PEER, bh.LEADER_CH, bh.HEALTH_WORKER_CH],
    dtype=np.int8,
)
"""Channel of each hazard component: external, spontaneous, imitation by source role, cascade by source role."""

AGENT_OBJECTS_LIMIT = 200_000
"""Above this many agents, Mesa agent objects are not created unless asked for (they cost about
0.8 s and 50 MB per 100,000 agents; the vectorised step never needs them)."""


class DiffusionModel(mesa.Model):
    """Diffusion of one behaviour through a layered community network.

    State is kept in arrays of shape (N, R): N agents, R replicate columns that share the
    community and differ only in their random streams (``replicates``). With R = 1 the Mesa agents
    ``Household``, ``Leader`` and ``HealthWorker`` view row i of those arrays.

    Step order (each step reads a snapshot of who has adopted and writes the next one, so agent
    order never matters):

    1. interventions act (none yet in this version; the hook is :attr:`interventions`);
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

    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        seed: int = 0,
        *,
        replicates: Sequence[int] = (0,),
        community: Community | None = None,
        create_agents: bool | None = None,
    ) -> None:
        super().__init__(rng=int(seed))
        self.params = scenario if scenario is not None else Scenario()
        self.seed = int(seed)
        self.streams = Streams(self.seed, list(replicates))
        self.community = community if community is not None else build_community(self.params, self.seed)
        pop = self.community.population
        self.n = pop.n
        self.R = self.streams.n_replicates
        self.interventions: list = []

        roles = self.params.roles.by_type()
        atype = pop.agent_type
        influence = np.array([r.influence * r.trust for r in roles])[atype]
        layer_weights = {name: getattr(self.params.network, name).weight for name in LAYERS}
        self.W = influence_matrix(self.community.network, layer_weights, influence)
        self.total_weight = np.asarray(self.W.sum(axis=1)).ravel()
        self.source_role = pop.role.astype(np.int64)

        beh = self.params.behaviour
        self._rule = beh.threshold_rule
        self._c = bh.cascade_coefficient(beh.cascade_probability)

        # thresholds: normal(mean, sd) per agent type, one draw per agent and replicate
        mean = np.array([r.threshold.mean for r in roles])[atype]
        sd = np.array([r.threshold.sd for r in roles])[atype]
        ids = np.arange(self.n)
        u = self.streams.uniform("threshold", 0, ids)
        from scipy.special import ndtri

        z = ndtri(np.clip(u, 1e-12, 1 - 1e-12))
        theta = mean[:, None] + sd[:, None] * z
        theta = np.maximum(theta, 0.0)
        if self._rule == "fractional":
            theta = np.minimum(theta, 1.0)
        self.threshold = theta

        # seeds: each agent adopts at step 0 with its type's initial-adoption probability
        p0 = np.array([r.initial_adoption for r in roles])[atype]
        seeded = self.streams.uniform("seeding", 0, ids) < p0[:, None]
        self.adopted = seeded.copy()
        self.new = seeded.copy()
        self.adopted_at = np.where(seeded, 0, -1).astype(np.int32)
        self.channel = np.where(seeded, bh.SEED, -1).astype(np.int8)
        self.abandoned_at = np.full((self.n, self.R), -1, np.int32)
        self.exposure_share = np.zeros((self.n, self.R))

        self.recorder = Recorder(pop, self.R, self.params.schedule.steps)
        self.recorder.record(0, self.adopted, seeded, np.zeros_like(seeded), self.channel, seeded)

        if create_agents is None:
            create_agents = self.n <= AGENT_OBJECTS_LIMIT and self.R == 1
        self.has_agent_objects = False
        if create_agents:
            self.create_agent_objects()

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
        t = self.steps
        beh = self.params.behaviour
        # 1. interventions act
        for iv in self.interventions:
            iv.act(self, t)
        # 2. exposure from the snapshot
        A = self.adopted
        s = bh.exposure(self.W, A)
        x = bh.exposure_share(s, self.total_weight)
        s_new = bh.exposure(self.W, self.new) if self._c > 0 else None
        self.exposure_share = x
        # 3a. adoption among non-adopters
        crossed = bh.threshold_crossed(self._rule, s, x, self.threshold) & ~A
        h = bh.hazard(beh.external, beh.spontaneous, beh.imitation, x, self._c, s_new)
        candidates = ~A & ~crossed & (h > 0)
        stochastic = np.zeros_like(A)
        rows = np.flatnonzero(candidates.any(axis=1))
        if len(rows):
            u = self.streams.uniform("adoption", t, rows)
            stochastic[rows] = candidates[rows] & (u < bh.adoption_probability(h[rows]))
        # 3b. dis-adoption among adopters
        abandon = np.zeros_like(A)
        if beh.abandonment.rate > 0:
            rows = np.flatnonzero(A.any(axis=1))
            if len(rows):
                u = self.streams.uniform("abandonment", t, rows)
                p = bh.abandon_probability(beh.abandonment.rate, beh.abandonment.peer_support, x[rows])
                abandon[rows] = A[rows] & (u < p)
        new = crossed | stochastic
        channel = self._attribute(t, crossed, stochastic, A, h, x, s_new)
        # write the next state
        first = new & (self.adopted_at < 0)
        self.adopted_at[first] = t
        self.channel[first] = channel[first]
        self.abandoned_at[abandon] = t
        self.adopted = (A & ~abandon) | new
        self.new = new
        # 4. record
        self.recorder.record(t, self.adopted, new, abandon, channel, new)

    def _attribute(self, t, crossed, stochastic, A, h, x, s_new) -> np.ndarray:
        """Channel of each new adoption (-1 elsewhere).

        Threshold adoptions go to the role (household: peer, leader, health worker) whose adopted
        contacts contribute most to the exposure. Stochastic adoptions pick one hazard component
        at random in proportion to its size (the competing-risks rule), from the ``"channel"`` stream.
        """
        beh = self.params.behaviour
        channel = np.full(A.shape, -1, np.int8)
        Af = A.astype(np.float64)
        rows, cols = np.nonzero(crossed)
        if len(rows):
            contrib = bh.source_contributions(self.W, rows, Af, self.source_role, cols)
            channel[rows, cols] = bh.SOURCE_CHANNEL[np.argmax(contrib, axis=1)]
        rows, cols = np.nonzero(stochastic)
        if len(rows):
            parts = np.zeros((len(rows), 8))
            parts[:, 0] = beh.external
            parts[:, 1] = beh.spontaneous
            if beh.imitation > 0:
                ca = bh.source_contributions(self.W, rows, Af, self.source_role, cols)
                w = np.where(self.total_weight[rows] > 0, self.total_weight[rows], 1.0)
                parts[:, 2:5] = beh.imitation * ca / w[:, None]
            if s_new is not None:
                cn = bh.source_contributions(self.W, rows, self.new.astype(np.float64), self.source_role, cols)
                parts[:, 5:8] = np.where(cn > 0, min(self._c, 1e300) * cn, 0.0)
            cum = np.cumsum(parts, axis=1)
            v = self.streams.uniform_pairs("channel", t, rows, cols) * cum[:, -1]
            pick = (cum <= v[:, None]).sum(axis=1).clip(0, 7)
            channel[rows, cols] = _CHANNEL_OF_PART[pick]
        return channel

    # ------------------------------------------------------------------ results
    def coverage(self, column: int = 0) -> float:
        """Share of all agents who have adopted, in one replicate column."""
        return float(self.adopted[:, column].mean()) if self.n else 0.0

    def run(self, steps: int | None = None) -> RunResult:
        """Run the scenario's steps (or ``steps``) and return the result."""
        n = self.params.schedule.steps if steps is None else steps
        if n > 0:
            self.run_for(n)
        return self.result()

    def result(self) -> RunResult:
        """Results so far: tidy per-step frame, per-agent outcomes, provenance."""
        return RunResult.from_model(self)
