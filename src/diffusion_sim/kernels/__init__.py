"""Compiled kernels of the step: the one implementation of every adoption rule.

The rules are those written in :mod:`diffusion_sim.behaviour`; this module evaluates them for all
agents and replicate columns (numba, one thread by default, compile cache on).

**Exact integer exposure.** The influence of contact j on agent i is the integer
``q_ij = rint(T_ij * m_j * 2**32)``, with ``T`` the tie-weight matrix (layer weight times tie
weight, summed over layers; symmetric unless layers are directed, and then changes are pushed along
its transpose) and ``m_j`` the source weight of j (influence times trust).
Exposures are sums of these integers, so they are exact whatever the order of summation: when an
agent adopts or abandons, the kernel *pushes* ``+/- q_ij`` to its contacts, at a cost proportional
to the changes, and the result is bit-identical to summing every row from scratch (and to the
per-agent reference, which sums the same integers). Quantising weights to multiples of 2**-32 of a
unit tie changes no model result of any practical size.

**Cached hazards.** The hazard ``h`` of an agent changing state (adopting or abandoning, with
probability ``1 - exp(-h)``) depends only on its exposure and its parameters, so it is recomputed
only for *stale* rows: agents whose exposure changed, or whose parameters an intervention
changed. A draw ``u`` is compared with ``h`` first and with ``-expm1(-h)`` only when it falls
below: the same decisions, with ``expm1`` evaluated for a few draws instead of every refresh.

Random draws are the counter-based uniforms of :mod:`diffusion_sim.rng`, computed inline: the
uniform of (stream key k, step t, agent i) is ``mix((i + 1) * GOLDEN + mix(k ^ step_key(t)))``.

Modules: :mod:`~diffusion_sim.kernels.base` (integer weights, uniforms, shared parameter rows),
:mod:`~diffusion_sim.kernels.exposure` (the whole-graph recount and the pushes that keep exposures
exact), :mod:`~diffusion_sim.kernels.step` (a step's draws, resolution and pushes).
"""

from diffusion_sim.kernels.base import (
    SCALE,
    configure_threads,
    quantised_weight,
    row,
    stream_step_keys,
    tie_rows,
    u01,
    uniforms,
)
from diffusion_sim.kernels.exposure import (
    PREFETCH_TIES,
    cascade_exposure,
    exposure_full,
    mark_stale,
    push_adopters,
    reweight_sources,
)
from diffusion_sim.kernels.step import (
    COUNT_EVENTS,
    COUNT_FIRST,
    COUNT_PEOPLE,
    HOUSEHOLD_GROUP,
    SPARSE_DRAWS,
    advance,
    can_change,
    force_adopt,
)

__all__ = [
    "COUNT_EVENTS",
    "COUNT_FIRST",
    "COUNT_PEOPLE",
    "HOUSEHOLD_GROUP",
    "PREFETCH_TIES",
    "SCALE",
    "SPARSE_DRAWS",
    "advance",
    "can_change",
    "cascade_exposure",
    "configure_threads",
    "exposure_full",
    "force_adopt",
    "mark_stale",
    "push_adopters",
    "quantised_weight",
    "reweight_sources",
    "row",
    "stream_step_keys",
    "tie_rows",
    "u01",
    "uniforms",
]
