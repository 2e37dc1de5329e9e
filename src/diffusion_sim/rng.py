"""Named, counter-based random streams derived from one master seed.

Every random decision in a run draws from its own *stream*, named by a stable string
(``"adoption"``, ``"seeding"``, ``"intervention.home_visits"``). A draw is a pure function of
``(seed, replicate, stream, step, agent)``: a SplitMix64-style hash of those numbers (Steele,
Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014; the counter-based
idea of Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011). So:

* the same seed gives the same numbers on any machine, backend and worker count;
* any subset of agents can draw without shifting anyone else's numbers (common random numbers:
  an intervention that reaches nobody changes nothing);
* a block of replicates is one more key, so R replicates can run as one N x R state block and
  still equal R separate runs.

Bulk, order-dependent draws (building a network) use :func:`generator`, a numpy ``Generator``
seeded from the master seed and the stream name. Nothing here touches global random state.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = [
    "GOLDEN",
    "MIX_1",
    "MIX_2",
    "STEP_ADD",
    "STEP_MUL",
    "TWO_M53",
    "Streams",
    "generator",
    "name_hash",
    "step_keys",
    "stream_key",
    "uniform",
    "uniform_scalar",
]

# The constants of the draws, written once: the numpy code here, the plain-Python draws of the
# reference model and the compiled kernels (diffusion_sim.kernels.base) all use these.
GOLDEN = 0x9E3779B97F4A7C15
"""Multiplier of the agent counter in a draw."""
MIX_1, MIX_2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
"""Multipliers of the SplitMix64 finaliser."""
STEP_MUL, STEP_ADD = 0xA0761D6478BD642F, 0xE7037ED1A0B428DB
"""A step's key is ``step * STEP_MUL + STEP_ADD`` (mod 2**64)."""
TWO_M53 = 2.0**-53
"""A uniform is the top 53 bits of a mixed word times this."""

_GOLDEN = np.uint64(GOLDEN)
_M1 = np.uint64(MIX_1)
_M2 = np.uint64(MIX_2)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_MASK64 = (1 << 64) - 1


def name_hash(name: str) -> int:
    """Stable 64-bit hash of a stream name (the same in every process, unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "little")


def _mix_int(z: int) -> int:
    """SplitMix64 finaliser on a Python int (for keys; exact 64-bit arithmetic)."""
    z &= _MASK64
    z = ((z ^ (z >> 30)) * MIX_1) & _MASK64
    z = ((z ^ (z >> 27)) * MIX_2) & _MASK64
    return z ^ (z >> 31)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array, in place where possible."""
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


def stream_key(seed: int, replicate: int, stream: str) -> int:
    """64-bit key of one stream of one replicate of one seed."""
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    k = _mix_int(seed + GOLDEN)
    k = _mix_int(k ^ (replicate * 0xD1B54A32D192ED03 + 0x632BE59BD9B4E019))
    return _mix_int(k ^ name_hash(stream))


def step_keys(keys: np.ndarray | int, step: int) -> np.ndarray:
    """Mixed keys of a stream at one step, one per replicate: ``z = mix(key ^ step_key(step))``.

    A draw is then ``mix((agent + 1) * GOLDEN + z)``; the compiled kernels take ``z`` directly.
    """
    k = np.atleast_1d(np.asarray(keys, dtype=np.uint64))
    s = np.uint64((step * STEP_MUL + STEP_ADD) & _MASK64)
    with np.errstate(over="ignore"):
        return _mix(k ^ s)


def uniform(keys: np.ndarray | int, step: int, agents: np.ndarray) -> np.ndarray:
    """Uniform draws in [0, 1) for ``agents`` at ``step`` under each stream key.

    Args:
        keys: one key (from :func:`stream_key`) or an array of R keys, one per replicate.
        step: the step (any non-negative integer; use distinct values for distinct decisions).
        agents: integer agent indices, shape (n,).

    Returns:
        shape (n,) for a single key, (n, R) for an array of keys. Entry [i, r] depends only on
        (keys[r], step, agents[i]).

    """
    scalar = np.ndim(keys) == 0
    z = step_keys(keys, step)  # one per replicate
    with np.errstate(over="ignore"):
        a = np.asarray(agents, dtype=np.uint64) + np.uint64(1)
        x = a[:, None] * _GOLDEN + z[None, :]
        x = _mix(x)
    out = (x >> _S11).astype(np.float64) * TWO_M53
    return out[:, 0] if scalar else out


def uniform_scalar(key: int, step: int, agent: int) -> float:
    """The same draw as ``uniform(key, step, [agent])[0]`` in plain Python (for per-agent code)."""
    s = (step * STEP_MUL + STEP_ADD) & _MASK64
    z = _mix_int(key ^ s)
    x = _mix_int((agent + 1) * GOLDEN + z)
    return (x >> 11) * TWO_M53


def generator(seed: int, stream: str) -> np.random.Generator:
    """A numpy Generator for bulk, order-dependent draws of one named stream (network building)."""
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    h = name_hash(stream)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, h & 0xFFFFFFFF, h >> 32])))


class Streams:
    """The named streams of one run: a master seed and R replicate indices.

    ``Streams(seed=7, replicates=[0, 1, 2])`` draws for three replicates at once; column r of every
    draw equals what ``Streams(seed=7, replicates=[r])`` draws.
    """

    def __init__(self, seed: int, replicates: list[int] | tuple[int, ...] = (0,)):
        if not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        self.replicates = tuple(int(r) for r in replicates)
        if not self.replicates:
            raise ValueError("at least one replicate is needed")
        self._keys: dict[str, np.ndarray] = {}

    @property
    def n_replicates(self) -> int:
        """Number of replicate columns R."""
        return len(self.replicates)

    def keys(self, stream: str) -> np.ndarray:
        """The R keys of a stream (cached)."""
        k = self._keys.get(stream)
        if k is None:
            k = np.array([stream_key(self.seed, r, stream) for r in self.replicates], dtype=np.uint64)
            self._keys[stream] = k
        return k

    def uniform(self, stream: str, step: int, agents: np.ndarray) -> np.ndarray:
        """Uniforms of shape (len(agents), R) for ``stream`` at ``step``."""
        return uniform(self.keys(stream), step, agents)

    def uniform_column(self, stream: str, step: int, agents: np.ndarray, column: int) -> np.ndarray:
        """Uniforms of shape (len(agents),) for one replicate column only."""
        return uniform(self.keys(stream)[column], step, agents)

    def generator(self, stream: str) -> np.random.Generator:
        """Bulk generator of a stream; shared by all replicates (the community is common)."""
        return generator(self.seed, stream)
