"""Backends that evaluate an experiment's chunks (placeholder: serial and loky; Dask comes with the cluster work)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["backend"]


class _Backend:
    def __init__(self, kind: str, workers: int | None):
        self.kind = kind
        self.n_workers = workers or 1

    def worker_memory_bytes(self) -> int | None:
        return None

    def map_unordered(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        if self.kind == "serial":
            yield from map(fn, tasks)
            return
        from joblib import Parallel, delayed

        yield from Parallel(n_jobs=self.n_workers, backend="loky", return_as="generator_unordered")(
            delayed(fn)(t) for t in tasks
        )


@contextlib.contextmanager
def backend(kind: str, *, workers: int | None = None, scheduler: str | None = None, cluster: Any = None):
    """A backend to map a function over tasks (results in completion order)."""
    if kind not in ("serial", "loky"):
        raise NotImplementedError(kind)
    yield _Backend(kind, workers)
