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

Channels (:data:`CHANNEL_TABLE`, the one definition of their codes, names and labels): a threshold
adoption is credited to the role (household: peer; leader; health worker) whose adopted contacts
contribute most to ``s_i`` (ties go to the first in that order), or to ``dialogue`` when only a
community dialogue's boost of the exposure share crossed the threshold. A stochastic adoption is
credited to one hazard component drawn in proportion to its size (the competing-risks rule):
background external influence (media), a campaign's extra external hazard (campaign), spontaneous,
imitation by source role, cascade by source role, and a dialogue's boost of imitation (dialogue).
Initial adopters are credited to ``seed``; each intervention family's direct conversions have a
channel of their own.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = [
    "CAMPAIGN",
    "CHANNELS",
    "CHANNEL_LABELS",
    "CHANNEL_TABLE",
    "DIALOGUE",
    "DIRECT_CHANNELS",
    "DISTRIBUTION",
    "HEALTH_WORKER",
    "HOME_VISIT",
    "LEADER",
    "LEADER_TALK",
    "MEDIA",
    "PEER",
    "ROLE_CHANNELS",
    "SEED",
    "SEEDING",
    "SPONTANEOUS",
    "TRAINING",
    "VOLUNTEER",
    "Channel",
    "cascade_coefficient",
]


class Channel(NamedTuple):
    """One adoption channel: its code (position), name in outputs, label in reports and source."""

    name: str
    label: str
    source: str
    """``initial`` (step-0 adopters), ``rule`` (the adoption rules: ordinary influence and
    background media) or the intervention family (``type``) whose direct conversions it counts."""
    forced: bool = False
    """Adoptions an intervention makes at the start of a step (``DiffusionModel.adopt``), which that
    step's decisions already see; the others are drawn in the step from its snapshot."""


CHANNEL_TABLE: tuple[Channel, ...] = (
    Channel("seed", "Initial adopters", "initial"),
    Channel("peer", "Peer influence (households)", "rule"),
    Channel("leader", "Leaders' influence", "rule"),
    Channel("health_worker", "Health workers' influence", "rule"),
    Channel("media", "Background media", "rule"),
    Channel("spontaneous", "Spontaneous", "rule"),
    Channel("training", "Leader training (trained leaders)", "leader_training", forced=True),
    Channel("home_visit", "Home visit", "home_visits", forced=True),
    Channel("distribution", "Community distribution", "community_distribution", forced=True),
    Channel("volunteer", "Youth volunteer", "youth_volunteers", forced=True),
    Channel("leader_talk", "Trained leader's conversation", "leader_training", forced=True),
    Channel("campaign", "Media campaign", "media_campaign"),
    Channel("dialogue", "Community dialogue", "community_dialogue"),
    Channel("seeding", "Seeding", "seeding", forced=True),
)
"""Every channel through which an agent adopts; a channel's code is its position here (codes are
stored in results and compiled into the step, so new channels are appended, never inserted)."""

CHANNELS: tuple[str, ...] = tuple(c.name for c in CHANNEL_TABLE)
"""Channel names in the order of their codes."""

CHANNEL_LABELS: dict[str, str] = {c.name: c.label for c in CHANNEL_TABLE}
"""Readable label of each channel, by name."""

DIRECT_CHANNELS: tuple[str, ...] = tuple(c.name for c in CHANNEL_TABLE if c.source not in ("initial", "rule"))
"""Channels of interventions' direct conversions (everything else is ordinary influence, media or chance)."""

(
    SEED, PEER, LEADER, HEALTH_WORKER, MEDIA, SPONTANEOUS, TRAINING, HOME_VISIT, DISTRIBUTION, VOLUNTEER,
    LEADER_TALK, CAMPAIGN, DIALOGUE, SEEDING,
) = range(len(CHANNEL_TABLE))  # fmt: skip

ROLE_CHANNELS = np.array([PEER, LEADER, HEALTH_WORKER], dtype=np.int8)
"""Channel of influence from each source role (household, leader, health worker: the codes of
:data:`diffusion_sim.population.ROLES`)."""


def cascade_coefficient(p: float) -> float:
    """Hazard per unit of newly adopted influence for cascade probability ``p`` (``-ln(1 - p)``)."""
    return math.inf if p >= 1.0 else -math.log1p(-p)
