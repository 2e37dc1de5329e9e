"""Adoption and dis-adoption rules as pure, vectorised functions of arrays.

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
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = [
    "CHANNELS",
    "SOURCE_CHANNEL",
    "abandon_probability",
    "adoption_probability",
    "cascade_coefficient",
    "exposure",
    "exposure_share",
    "hazard",
    "threshold_crossed",
    "source_contributions",
]

CHANNELS: tuple[str, ...] = ("seed", "peer", "leader", "health_worker", "media", "spontaneous")
"""Channels through which an agent adopts, in the order of their codes 0..5."""

SEED, PEER, LEADER_CH, HEALTH_WORKER_CH, MEDIA, SPONTANEOUS = range(6)
SOURCE_CHANNEL = np.array([PEER, LEADER_CH, HEALTH_WORKER_CH], dtype=np.int8)
"""Channel of an influence that comes from a contact of role 0 (household), 1 (leader), 2 (health worker)."""


def exposure(W: sp.csr_matrix, indicator: np.ndarray) -> np.ndarray:
    """Weighted sum over contacts: ``W @ indicator`` for an (N,) or (N, R) 0/1 array."""
    return np.asarray(W @ indicator.astype(np.float64, copy=False))


def exposure_share(s: np.ndarray, total_weight: np.ndarray) -> np.ndarray:
    """Share ``x = s / w`` of weighted contacts who adopted; 0 for agents without contacts."""
    w = total_weight if s.ndim == 1 else total_weight[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(w > 0, s / np.where(w > 0, w, 1.0), 0.0)


def threshold_crossed(rule: str, s: np.ndarray, x: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Whether each agent's threshold is crossed (``rule``: fractional, absolute or none)."""
    if rule == "none":
        return np.zeros(s.shape, dtype=bool)
    value = x if rule == "fractional" else s
    th = theta if s.ndim == 1 else (theta if theta.ndim == 2 else theta[:, None])
    return (value >= th) & (s > 0)


def cascade_coefficient(p: float) -> float:
    """Hazard per unit of newly adopted tie weight for cascade probability ``p`` (``-ln(1 - p)``)."""
    return float("inf") if p >= 1.0 else float(-np.log1p(-p))


def hazard(
    external: float | np.ndarray,
    spontaneous: float,
    imitation: float,
    x: np.ndarray,
    c: float,
    s_new: np.ndarray | None,
) -> np.ndarray:
    """Total adoption hazard of the stochastic channels, in the order external, spontaneous, imitation, cascade."""
    h = np.zeros(x.shape) + external
    h = h + spontaneous
    if imitation > 0:
        h = h + imitation * x
    if c > 0 and s_new is not None:
        with np.errstate(invalid="ignore"):
            h = h + np.where(s_new > 0, c * s_new, 0.0)
    return h


def adoption_probability(h: np.ndarray) -> np.ndarray:
    """Probability of adopting within one step under hazard ``h`` (``1 - exp(-h)``)."""
    return -np.expm1(-h)


def abandon_probability(rate: float, support: float, x: np.ndarray) -> np.ndarray:
    """Probability that an adopter gives up within one step."""
    return -np.expm1(-rate * (1.0 - support * x))


def source_contributions(
    W: sp.csr_matrix,
    rows: np.ndarray,
    indicator: np.ndarray,
    source_role: np.ndarray,
    columns: np.ndarray | None = None,
) -> np.ndarray:
    """Weighted exposure split by the role of the source (household, leader, health worker).

    For each k, the exposure of agent ``rows[k]`` to ``indicator`` (shape (N,), or (N, R) with
    ``columns[k]`` naming the replicate column), summed separately over contacts of each role:
    an array of shape (len(rows), 3). Costs O(ties of those rows), whatever N is.
    """
    out = np.zeros((len(rows), 3))
    if len(rows) == 0:
        return out
    start, end = W.indptr[rows], W.indptr[rows + 1]
    lengths = (end - start).astype(np.int64)
    total = int(lengths.sum())
    if total == 0:
        return out
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    idx = np.repeat(start - offsets, lengths) + np.arange(total)
    cols = W.indices[idx]
    if indicator.ndim == 1:
        ind = indicator[cols]
    else:
        ind = indicator[cols, np.repeat(columns, lengths)]
    vals = W.data[idx] * ind
    which = np.repeat(np.arange(len(rows)), lengths) * 3 + source_role[cols]
    return np.bincount(which, weights=vals, minlength=3 * len(rows)).reshape(len(rows), 3)
