"""Primitives every kernel uses: integer tie weights, counter-based uniforms, shared parameter rows."""

from __future__ import annotations

import os

import numba
import numpy as np
from numba import njit

from diffusion_sim import rng

__all__ = [
    "SCALE",
    "configure_threads",
    "mix",
    "quantised_weight",
    "row",
    "stream_step_keys",
    "tie_rows",
    "u01",
    "uniforms",
]

SCALE = float(2**32)
"""Exposure unit: one unit of tie weight from a unit-weight source is 2**32."""

_GOLDEN = np.uint64(rng.GOLDEN)  # the constants of diffusion_sim.rng, as compile-time uint64
_M1 = np.uint64(rng.MIX_1)
_M2 = np.uint64(rng.MIX_2)
_TWO_M53 = rng.TWO_M53
_STEP_MUL = np.uint64(rng.STEP_MUL)
_STEP_ADD = np.uint64(rng.STEP_ADD)


def configure_threads() -> int:
    """Use one numba thread unless ``NUMBA_NUM_THREADS`` says otherwise; return the count.

    Two threads on a loaded 2-core machine made small steps 100 times slower, so one is the default.
    The kernels are serial today; the setting matters for any parallel kernel added later.
    """
    wanted = int(os.environ.get("NUMBA_NUM_THREADS", "1") or 1)
    wanted = max(1, min(wanted, numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(wanted)
    return wanted


@njit(cache=True, inline="always")
def mix(z):
    """SplitMix64 finaliser of a uint64 (the same as :func:`diffusion_sim.rng._mix`, inline)."""
    z = z ^ (z >> np.uint64(30))
    z = z * _M1
    z = z ^ (z >> np.uint64(27))
    z = z * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def u01(zr, agent):
    """The uniform in [0, 1) of ``agent`` under the step key ``zr`` (see :func:`diffusion_sim.rng.uniform`)."""
    x = (np.uint64(agent) + np.uint64(1)) * _GOLDEN + zr
    # < 2**53 after the shift: converting through int64 is exact and avoids the slow unsigned path
    return np.float64(np.int64(mix(x) >> np.uint64(11))) * _TWO_M53


@njit(cache=True)
def stream_step_keys(keys, step):
    """Step keys ``z[k, r]`` of several streams at once: ``keys`` is (streams, R), as from ``Streams.keys``.

    The same numbers as :func:`diffusion_sim.rng.step_keys` row by row, in one compiled call: the
    numpy version costs about as much per call as a small step's whole kernel.
    """
    s = np.uint64(step) * _STEP_MUL + _STEP_ADD  # wraps modulo 2**64, as the masked Python ints do
    out = np.empty_like(keys)
    for k in range(keys.shape[0]):
        for r in range(keys.shape[1]):
            out[k, r] = mix(keys[k, r] ^ s)
    return out


@njit(cache=True)
def uniforms(z, n):
    """Uniforms ``u[r, i]`` of agents ``0..n-1`` under the per-replicate step keys ``z`` (:func:`stream_step_keys`).

    The same numbers as ``rng.uniform(keys, step, arange(n)).T``, computed in one compiled pass.
    """
    R = len(z)
    u = np.empty((R, n))
    for r in range(R):
        zr = z[r]
        for i in range(n):
            u[r, i] = u01(zr, i)
    return u


@njit(cache=True, inline="always")
def row(x, r):
    """Row of a per-agent parameter array for replicate ``r``: ``r``, or 0 if the one row is shared.

    Parameters that start equal in every replicate (source weight ``m``, total weight ``w``,
    external hazard, abandonment multiplier) are kept as one (1, N) row until an intervention
    changes them in some replicates: a third less state to carry through the cache each step.
    """
    return r if x.shape[0] > 1 else 0


@njit(cache=True, inline="always")
def quantised_weight(t, m):
    """Integer influence of one tie: ``rint(t * m * 2**32)``."""
    return np.int64(np.rint(t * m * SCALE))


def tie_rows(indptr: np.ndarray) -> np.ndarray:
    """Row (agent) of every tie of a CSR matrix, for flat loops over ties (int32)."""
    return np.repeat(np.arange(len(indptr) - 1, dtype=np.int32), np.diff(indptr))
