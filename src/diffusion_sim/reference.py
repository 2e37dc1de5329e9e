"""A plain per-agent Mesa implementation of the same rules: the test oracle and the speed baseline.

Each agent keeps Python lists of its contacts and, every step, loops over them to compute its
exposure from a snapshot of the previous state, exactly as a textbook Mesa model would. It shares
only the community (population and ties) and the random streams with :class:`DiffusionModel`, so
the two must agree agent for agent: exactly for deterministic rules, and also for stochastic ones,
since both draw the same counter-based uniform for the same (stream, step, agent).

It is slow on purpose; never use it for real runs.
"""

from __future__ import annotations

import math

import mesa
import numpy as np
from scipy.special import ndtri

from diffusion_sim.community import Community, build_community
from diffusion_sim.population import HOUSEHOLD
from diffusion_sim.rng import stream_key, uniform_scalar
from diffusion_sim.scenario.schema import LAYERS, Scenario

__all__ = ["ReferenceAgent", "ReferenceModel"]

_SEED, _PEER, _LEADER, _HW, _MEDIA, _SPONT = range(6)  # the rule channels of behaviour.CHANNELS
SCALE = 2.0**32  # the unit of exposure: one unit tie from a unit-weight source
_ROLE_CHANNEL = (_PEER, _LEADER, _HW)


_u = uniform_scalar


class ReferenceAgent(mesa.Agent):
    """One agent with its own contact list and state."""

    def __init__(self, model: ReferenceModel, index: int, role: int, threshold: float):
        super().__init__(model)
        self.index = index
        self.role = role
        self.threshold = threshold
        self.contacts: list[tuple[int, int]] = []  # (agent index, integer influence), sorted by index
        self.adopted = False
        self.adopted_at = -1
        self.channel = -1
        self.abandoned_at = -1
        self._next: tuple[bool, int, bool] | None = None

    def decide(self) -> None:
        """Compute the next state from the model's snapshot (does not change the current state)."""
        m = self.model
        t = m.steps
        beh = m.params.behaviour
        prev, prev_new = m.snapshot, m.snapshot_new
        s = 0  # exposures are exact integers: influence q_ij = round(T_ij * m_j * 2**32)
        w = 0
        s_new = 0
        by_role = [0, 0, 0]
        by_role_new = [0, 0, 0]
        for j, q in self.contacts:
            w += q
            if prev[j]:
                s += q
                by_role[m.roles[j]] += q
            if prev_new[j]:
                s_new += q
                by_role_new[m.roles[j]] += q
        x = float(s) / float(w) if w > 0 else 0.0
        adopt, channel, abandon = False, -1, False
        if not prev[self.index]:
            rule = beh.threshold_rule
            value = x if rule == "fractional" else float(s) / SCALE
            if rule != "none" and s > 0 and value >= self.threshold:
                adopt = True
                best = 0
                for k in (1, 2):
                    if by_role[k] > by_role[best]:
                        best = k
                channel = _ROLE_CHANNEL[best]
            else:
                h = 0.0 + beh.external
                h = h + beh.spontaneous
                if beh.imitation > 0:
                    h = h + beh.imitation * x
                if m.c > 0 and s_new > 0:
                    h = h + m.c * (float(s_new) / SCALE)
                if h > 0 and _u(m.keys["adoption"], t, self.index) < -math.expm1(-h):
                    adopt = True
                    parts = [beh.external, beh.spontaneous]
                    wd = float(w) if w > 0 else 1.0
                    parts += [beh.imitation * float(by_role[k]) / wd if beh.imitation > 0 else 0.0 for k in range(3)]
                    cc = min(m.c, 1e300)
                    parts += [
                        cc * (float(by_role_new[k]) / SCALE) if (m.c > 0 and by_role_new[k] > 0) else 0.0
                        for k in range(3)
                    ]
                    cum, total = [], 0.0
                    for p in parts:
                        total += p
                        cum.append(total)
                    v = _u(m.keys["channel"], t, self.index) * total
                    pick = min(sum(1 for c in cum if c <= v), 7)
                    channel = (_MEDIA, _SPONT, _PEER, _LEADER, _HW, _PEER, _LEADER, _HW)[pick]
        elif beh.abandonment.rate > 0:
            p = -math.expm1(-beh.abandonment.rate * (1.0 - beh.abandonment.peer_support * x))
            abandon = _u(m.keys["abandonment"], t, self.index) < p
        self._next = (adopt, channel, abandon)

    def commit(self) -> None:
        """Write the state computed by :meth:`decide`."""
        adopt, channel, abandon = self._next
        t = self.model.steps
        if abandon:
            self.adopted = False
            self.abandoned_at = t
        if adopt:
            self.adopted = True
            if self.adopted_at < 0:
                self.adopted_at = t
                self.channel = channel
        self.model.new_flags[self.index] = adopt


class ReferenceModel(mesa.Model):
    """Per-agent reference of :class:`~diffusion_sim.model.DiffusionModel` for one replicate."""

    def __init__(
        self, scenario: Scenario | None = None, seed: int = 0, *, replicate: int = 0, community: Community | None = None
    ):
        super().__init__(rng=int(seed))
        self.params = scenario if scenario is not None else Scenario()
        self.community = community if community is not None else build_community(self.params, seed)
        pop = self.community.population
        self.keys = {
            name: stream_key(seed, replicate, name)
            for name in ("threshold", "scepticism", "seeding", "adoption", "abandonment", "channel")
        }
        p = self.params.behaviour.cascade_probability
        self.c = math.inf if p >= 1.0 else -math.log1p(-p)
        self.roles = [int(r) for r in pop.role]
        roles = self.params.roles.by_type()
        atypes = [int(a) for a in pop.agent_type]
        self.ref_agents: list[ReferenceAgent] = []
        for i in range(pop.n):
            rp = roles[atypes[i]]
            z = float(ndtri(min(max(_u(self.keys["threshold"], 0, i), 1e-12), 1 - 1e-12)))
            th = max(rp.threshold.mean + rp.threshold.sd * z, 0.0)
            scep = self.params.behaviour.scepticism
            if _u(self.keys["scepticism"], 0, i) < scep.share:
                th = th + scep.threshold_increase
            if self.params.behaviour.threshold_rule == "fractional":
                th = min(th, 1.0)
            a = ReferenceAgent(self, i, self.roles[i], th)
            if _u(self.keys["seeding"], 0, i) < rp.initial_adoption:
                a.adopted, a.adopted_at, a.channel = True, 0, _SEED
            self.ref_agents.append(a)
        # contact lists: per pair, the layer contributions summed in layer order, then the integer
        # influence round(tie weight * source weight * 2**32)
        source = [roles[atypes[i]].influence * roles[atypes[i]].trust for i in range(pop.n)]
        pair: list[dict[int, float]] = [dict() for _ in range(pop.n)]
        for name, e in self.community.network.layers.items():
            lw = getattr(self.params.network, name).weight if name in LAYERS else 0.0
            if lw == 0.0:
                continue
            for a_, b_, tw in zip(e.src.tolist(), e.dst.tolist(), e.weight.tolist(), strict=True):
                wt = float(np.float32(tw)) * lw
                pair[a_][b_] = pair[a_].get(b_, 0.0) + wt
                pair[b_][a_] = pair[b_].get(a_, 0.0) + wt
        for i, d in enumerate(pair):
            contacts = [(j, round(v * source[j] * SCALE)) for j, v in sorted(d.items()) if v != 0.0]
            self.ref_agents[i].contacts = [(j, q) for j, q in contacts if q != 0]
        self.new_flags = [a.adopted for a in self.ref_agents]
        self.coverage_series = [self._coverage()]

    def _coverage(self) -> float:
        """Share of households that have adopted (coverage), 0 without households."""
        households = [a for a in self.ref_agents if a.role == HOUSEHOLD]
        return sum(a.adopted for a in households) / len(households) if households else 0.0

    def step(self) -> None:
        """Snapshot, every agent decides, every agent commits (synchronous update)."""
        self.snapshot = [a.adopted for a in self.ref_agents]
        self.snapshot_new = list(self.new_flags)
        for a in self.ref_agents:
            a.decide()
        for a in self.ref_agents:
            a.commit()
        self.coverage_series.append(self._coverage())

    def state(self) -> dict[str, np.ndarray]:
        """Per-agent state as arrays (adopted, adopted_at, channel, abandoned_at, threshold)."""
        ag = self.ref_agents
        return {
            "adopted": np.array([a.adopted for a in ag]),
            "adopted_at": np.array([a.adopted_at for a in ag]),
            "channel": np.array([a.channel for a in ag]),
            "abandoned_at": np.array([a.abandoned_at for a in ag]),
            "threshold": np.array([a.threshold for a in ag]),
        }
