"""pyabc's ABC-SMC made reproducible: isolated global random state and an ordered, seeded sampler.

pyabc draws from numpy's *global* random state: its transitions propose particles with
``np.random.choice`` and ``np.random.multivariate_normal``, and its parallel samplers re-seed that
state from the operating system in every worker (``np.random.seed()``), so two runs never agree.
This module is the one place where calibration lets it touch that state, and it gives it back:

* :func:`isolated_global_random` seeds numpy's and Python's global generators for the duration of
  a block and restores what was there before, whatever happens in the block;
* :class:`OrderedSampler` evaluates particles in numbered tasks. Task ``i`` of generation ``t``
  runs under its own seed (``stream_key(seed, i, "calibrate.t<t>")``), in an isolated block, on
  whichever worker ``map_`` sends it to; results are read in task order and the first ``n``
  accepted are kept. So a generation's particles depend only on the seed, never on the backend,
  the worker count, the batch size or the order in which tasks finish. The simulator reads the
  task's seed from :func:`task_seed` to seed :func:`diffusion_sim.runner.run`.

Particles past the ``n``-th acceptance in the last batch are wasted work (at most one batch); the
batch size changes how much is wasted, never which particles are kept.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import random
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
from pyabc.sampler import Sampler

from diffusion_sim.rng import stream_key

__all__ = ["OrderedSampler", "isolated_global_random", "ordered_map", "task_seed"]

_TASK_SEED: contextvars.ContextVar[int] = contextvars.ContextVar("calibrate_task_seed", default=0)


def task_seed() -> int:
    """The seed of the particle being evaluated (for the simulator's run)."""
    return _TASK_SEED.get()


@contextlib.contextmanager
def isolated_global_random(seed: int) -> Iterator[None]:
    """Seed numpy's and Python's global random state inside the block; restore both afterwards."""
    np_state, py_state = np.random.get_state(), random.getstate()
    np.random.seed(seed % 2**32)
    random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


def _evaluate(simulate_one: Callable[[], Any], keys: list[int]) -> list[Any]:
    """Particles (propose, simulate, accept), each under its own seed, global state restored after."""
    out = []
    for key in keys:
        token = _TASK_SEED.set(key >> 1)
        try:
            with isolated_global_random(key):
                out.append(simulate_one())
        finally:
            _TASK_SEED.reset(token)
    return out


class OrderedSampler(Sampler):
    """A pyabc sampler whose particles depend only on the seed (see the module docstring).

    Args:
        map_: an ordered map (``map``, a joblib or Dask map): ``map_(f, keys)`` returns ``f(k)`` in
            the order of ``keys``.
        seed: the fit's seed.
        batch: particles sent to ``map_`` at a time.
        chunk: particles per call of ``map_``'s function (amortises the cost of a task).

    """

    def __init__(
        self,
        map_: Callable[[Callable, Iterable[list[int]]], Iterable[list[Any]]],
        seed: int,
        batch: int = 100,
        chunk: int = 25,
    ):
        super().__init__()
        self.map_ = map_
        self.seed = int(seed)
        self.batch = int(batch)
        self.chunk = max(1, int(chunk))

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None):  # noqa: ARG002
        """The first ``n`` accepted particles of generation ``t``, in task order."""
        sample = self._create_empty_sample()
        stream = f"calibrate.t{t}"
        evaluations, start = 0, 0
        f = functools.partial(_evaluate, simulate_one)
        while sample.n_accepted < n and evaluations < max_eval:
            keys = [stream_key(self.seed, i, stream) for i in range(start, start + self.batch)]
            chunks = [keys[k : k + self.chunk] for k in range(0, len(keys), self.chunk)]
            for particle in (p for part in self.map_(f, chunks) for p in part):
                sample.append(particle)
                evaluations += 1
                if sample.n_accepted >= n or evaluations >= max_eval:
                    break
            start += self.batch
        self.nr_evaluations_ = evaluations
        if sample.n_accepted < n:
            sample.ok = False
        return sample


class _Indexed:
    """``(i, x) -> (i, fn(x))``: a task that remembers its place (picklable when ``fn`` is)."""

    def __init__(self, fn: Callable[[Any], Any]):
        self.fn = fn

    def __call__(self, item: tuple[int, Any]) -> tuple[int, Any]:
        i, x = item
        return i, self.fn(x)


def ordered_map(backend) -> Callable[[Callable, Iterable[Any]], list[Any]]:
    """An ordered map over a backend of :func:`diffusion_sim.experiment.cluster.backend` (serial, loky, Dask).

    The backend hands results back as they finish; they are put back in task order here, which is
    all :class:`OrderedSampler` needs to make the posterior independent of the backend.
    """

    def map_(fn: Callable, xs: Iterable[Any]) -> list[Any]:
        items = list(enumerate(xs))
        out: list[Any] = [None] * len(items)
        for i, result in backend.map_unordered(_Indexed(fn), items):
            out[i] = result
        return out

    return map_
