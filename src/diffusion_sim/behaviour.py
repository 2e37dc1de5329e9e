"""The adoption and dis-adoption rules: their definitions, channels and constants.

The rules are evaluated by one compiled implementation, :func:`diffusion_sim.kernels.advance`;
the plain per-agent :mod:`diffusion_sim.reference` model implements them again, independently, as
the test oracle.

Notation (per agent i, per replicate column r): ``A`` the adopted indicator at the start of the
step, ``N`` the indicator of agents who adopted in the previous step, ``W`` the influence matrix,
``W[i, j] = m_j * sum over layers l of (layer weight_l * tie weight_l(i, j))`` with
``m_j = influence_j * trust_j`` the source weight of j's type, and ``w_i = sum_j W[i, j]``.

* weighted exposure ``s_i = sum_j W[i, j] A_j`` and its share ``x_i = s_i / w_i``;
* fractional threshold (Granovetter 1978; Watts 2002): adopt when ``x_i >= theta_i`` and ``s_i > 0``;
* absolute threshold, complex contagion (Centola & Macy 2007): adopt when ``s_i >= theta_i`` and
  ``s_i > 0`` (with unit weights, ``s_i`` counts adopted contacts);
* independent cascade (Kempe, Kleinberg & Tardos 2003), probability ``p_c``: each contact who
  adopted last step gets one chance per unit of influence ``W[i, j]``: hazard
  ``c * s^N_i`` with ``c = -ln(1 - p_c)`` and ``s^N_i = sum_j W[i, j] N_j``, so that
  ``P = 1 - (1 - p_c)^k`` for k newly adopted contacts when all weights are 1;
* imitation (Bass 1969, the q term): hazard ``q * x_i``;
* external influence (Bass 1969, the p term; media): hazard ``p``;
* spontaneous adoption: hazard ``h``.

Stochastic channels add as hazards: ``P(adopt) = 1 - exp(-(p + h + q x_i + c s^N_i))``. An agent
whose threshold is crossed adopts for certain. Dis-adoption: an adopter abandons with probability
``1 - exp(-delta (1 - support * x_i))``.

Channels: a threshold adoption is credited to the role (household: peer; leader; health worker)
whose adopted contacts contribute most to ``s_i`` (ties go to the first in that order). A
stochastic adoption is credited to one hazard component drawn in proportion to its size (the
competing-risks rule): external (media), spontaneous, imitation by source role, cascade by source
role. Seeds are credited to ``seed``.
"""

from __future__ import annotations

import math

__all__ = [
    "CHANNELS",
    "DISTRIBUTION",
    "HEALTH_WORKER",
    "HOME_VISIT",
    "LEADER",
    "MEDIA",
    "PEER",
    "SEED",
    "SPONTANEOUS",
    "TRAINING",
    "VOLUNTEER",
    "cascade_coefficient",
]

CHANNELS: tuple[str, ...] = (
    "seed",
    "peer",
    "leader",
    "health_worker",
    "media",
    "spontaneous",
    "training",
    "home_visit",
    "distribution",
    "volunteer",
)
"""Channels through which an agent adopts, in the order of their codes 0..9. The first six come from
the adoption rules (and seeding); the last four are direct conversions by interventions: trained
leaders themselves, health-worker home visits, community-directed distribution, youth volunteers
(who also adopt through ``volunteer`` when recruited). Conversations of trained leaders are
credited to ``leader``; media campaigns to ``media``."""

SEED, PEER, LEADER, HEALTH_WORKER, MEDIA, SPONTANEOUS, TRAINING, HOME_VISIT, DISTRIBUTION, VOLUNTEER = range(
    len(CHANNELS)
)


def cascade_coefficient(p: float) -> float:
    """Hazard per unit of newly adopted influence for cascade probability ``p`` (``-ln(1 - p)``)."""
    return math.inf if p >= 1.0 else -math.log1p(-p)
