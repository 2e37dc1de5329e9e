"""Where an experiment's chunks run: in this process, on this machine's cores (loky), or on a Dask cluster.

:func:`backend` is a context manager that yields a :class:`Backend`, whose :meth:`~Backend.map_unordered`
maps a pure, picklable function over tasks and yields each result once, in the order they finish (the
caller puts them back in order). The Dask cluster is one the caller names (``scheduler``, an address),
or one started from a :class:`ClusterSpec` (an experiment file's ``cluster:`` section, defined in
:mod:`diffusion_sim.experiment.cluster_spec` and re-exported here): a
``distributed.LocalCluster`` on this machine, or SLURM or PBS jobs through dask-jobqueue.

Every server started here listens on 127.0.0.1 unless the spec names another address or interface, and
no dashboard is started. Everything started is stopped when the block ends, also on an error or Ctrl-C.
Nothing here touches global random state; the only output is what the caller asks for (Dask's own log
messages are limited to errors while a cluster started here runs).

A task whose Dask worker is lost (killed, out of memory, its batch job cancelled or out of time) is run
again by the scheduler on another worker; its result still reaches the caller once. An exception raised by
the function itself is not retried (a pure function would raise it again): it ends the map, and the tasks
still pending are cancelled.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from diffusion_sim.errors import UserError
from diffusion_sim.experiment.backends import BACKENDS
from diffusion_sim.experiment.cluster_spec import LOOPBACK, ClusterSpec, parse_memory
from diffusion_sim.resources import available_memory

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = ["BACKENDS", "LOOPBACK", "Backend", "ClusterSpec", "backend", "parse_memory"]


KEEP_SIZE_EVERY = 5.0
"""Seconds between checks that a cluster started here still has all its workers: a batch job that ended
(cancelled, out of time) is submitted again once Dask has given its worker up
(``distributed.deploy.lost-worker-timeout``, 15 s by default)."""


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class Backend:
    """Where chunks run; yielded by :func:`backend`.

    Attributes:
        kind: ``serial``, ``loky`` or ``dask``.

    """

    kind: str = ""

    def map_unordered[T, R](self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """Apply ``fn`` to every task; yield each result once, in the order they finish.

        ``fn`` and the tasks must be picklable (a module-level function). Tasks start when this is called;
        closing the iterator early cancels those not yet finished.
        """
        raise NotImplementedError

    @property
    def n_workers(self) -> int:
        """How many tasks run at once (Dask: worker threads of the cluster; at least 1)."""
        raise NotImplementedError

    def worker_memory_bytes(self) -> int | None:
        """Memory a running task may use: a worker's memory limit shared among the tasks it runs at once.

        Serial: what this process may still allocate (:func:`diffusion_sim.resources.available_memory`);
        loky: that divided among the workers; Dask: the least ``memory_limit`` over the cluster's workers,
        as the scheduler reports it, divided by their threads (waits for a first worker). None if no limit is known.
        """
        raise NotImplementedError

    @property
    def description(self) -> str:
        """One line saying where tasks run, for logs and provenance."""
        return self.kind


class _Serial(Backend):
    kind = "serial"

    def map_unordered[T, R](self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        return map(fn, tasks)

    @property
    def n_workers(self) -> int:
        return 1

    def worker_memory_bytes(self) -> int | None:
        return available_memory()


class _Loky(Backend):
    kind = "loky"

    def __init__(self, workers: int):
        from joblib.parallel import LokyBackend

        self._workers = workers
        self._backend = LokyBackend()
        self._executors: list[Any] = []  # loky's process pools this backend used, shut down on close

    def map_unordered[T, R](self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=self._workers, backend=self._backend, return_as="generator_unordered")(
            delayed(fn)(task) for task in tasks
        )
        executor = getattr(self._backend, "_workers", None)  # joblib forgets it once the results are in
        if executor is not None and executor not in self._executors:
            self._executors.append(executor)
        return _closing(results)

    @property
    def n_workers(self) -> int:
        return self._workers

    def worker_memory_bytes(self) -> int | None:
        free = available_memory()
        return None if free is None else free // self._workers

    @property
    def description(self) -> str:
        return f"loky: {self._workers} worker processes on this machine"

    def close(self) -> None:
        """Stop the worker processes now (joblib would keep them, idle, for 5 minutes for reuse).

        joblib's resource tracker processes stay until the program ends, as with any use of joblib.
        """
        while self._executors:
            self._executors.pop().shutdown(wait=True, kill_workers=True)


def _closing[R](results: Iterator[R]) -> Iterator[R]:
    """Yield from ``results`` and close it however the consumer stops (joblib then cancels what is left)."""
    try:
        yield from results
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()


class _Dask(Backend):
    kind = "dask"

    def __init__(self, client: Client, cluster: Any = None, slots: int | None = None):
        self._client = client
        self._cluster = cluster
        self._slots = slots

    @property
    def client(self) -> Client:
        """The ``distributed.Client`` (for inspection; tasks should go through :meth:`map_unordered`)."""
        return self._client

    @property
    def cluster(self) -> Any:
        """The cluster started here (None when joining one)."""
        return self._cluster

    def map_unordered[T, R](self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        futures = self._client.map(fn, list(tasks), pure=False)
        return self._results(futures)

    def _results(self, futures: list[Future]) -> Iterator[Any]:
        from distributed import as_completed

        waiting = {future.key: future for future in futures}
        try:
            for future in as_completed(futures, loop=self._client.loop):
                del waiting[future.key]
                result = future.result()  # re-raises the task's own exception
                future.release()
                yield result
        finally:
            if waiting:  # an error, or the caller stopped early: cancel what has not finished
                self._client.cancel(list(waiting.values()))

    def _workers(self) -> dict[str, dict]:
        return self._client.scheduler_info(n_workers=-1).get("workers", {})

    @property
    def n_workers(self) -> int:
        if self._slots is not None:
            return self._slots
        return max(1, sum(w.get("nthreads", 1) for w in self._workers().values()))

    def worker_memory_bytes(self) -> int | None:
        self._client.wait_for_workers(1)
        limits = [
            w["memory_limit"] // max(w.get("nthreads", 1), 1) for w in self._workers().values() if w.get("memory_limit")
        ]
        return min(limits) if limits else None

    @property
    def description(self) -> str:
        where = type(self._cluster).__name__ if self._cluster is not None else "existing cluster"
        return f"dask: {where} at {self._client.scheduler.address}, {self.n_workers} task slots"


@contextlib.contextmanager
def backend(
    kind: str,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: ClusterSpec | None = None,
) -> Iterator[Backend]:
    """Start (or join) the workers of ``kind`` for the block; stop what was started when it ends.

    Args:
        kind: ``serial`` (this process), ``loky`` (processes on this machine) or ``dask``.
        workers: processes (loky, local Dask) or batch jobs (SLURM, PBS); default: the spec's, else this
            machine's usable cores. Serial runs one.
        scheduler: address of a running Dask scheduler to join (``tcp://host:8786``); dask only. Nothing is
            started, and ``cluster`` is not used.
        cluster: the cluster to start for ``dask`` when no scheduler is given (default: a local one). The
            serial and loky backends do not use it, so one experiment file runs on a laptop and a cluster.

    Raises:
        UserError: an unknown kind, ``workers`` below 1, ``scheduler`` without dask, or a scheduler that
            cannot be reached.

    """
    if kind not in BACKENDS:
        raise UserError(f"unknown backend {kind!r}; expected one of {', '.join(BACKENDS)}", source="--backend")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise UserError(f"expected a whole number of at least 1, got {workers!r}", source="--workers")
    if scheduler is not None and kind != "dask":
        raise UserError(f"joining a Dask scheduler needs --backend dask, not {kind}", source="--scheduler")
    if kind == "serial":
        if workers not in (None, 1):
            raise UserError(f"the serial backend runs one task at a time, not {workers}", source="--workers")
        yield _Serial()
    elif kind == "loky":
        loky = _Loky(workers or _usable_cpus())
        try:
            yield loky
        finally:
            loky.close()
    else:
        with contextlib.ExitStack() as stack:
            yield _start_dask(stack, workers, scheduler, cluster)


def _start_dask(
    stack: contextlib.ExitStack, workers: int | None, scheduler: str | None, spec: ClusterSpec | None
) -> _Dask:
    """Join ``scheduler`` or start the cluster ``spec`` describes; register everything's closing on ``stack``."""
    from distributed import Client

    if scheduler is not None:
        try:
            client = Client(scheduler, set_as_default=False)
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot reach a Dask scheduler at {scheduler}: {exc}", source="--scheduler") from exc
        stack.callback(client.close)
        return _Dask(client)

    spec = spec or ClusterSpec(kind="local", workers=workers or _usable_cpus())
    n = workers or spec.workers
    if spec.kind == "local":
        cluster_obj = _local_cluster(spec, n)
        stack.callback(cluster_obj.close)
        size = {"n": n}
        slots = n * spec.threads_per_worker
    else:
        cluster_obj = _jobqueue_cluster(spec)
        stack.callback(cluster_obj.close)
        size = {"jobs": n}
        cluster_obj.scale(**size)
        slots = n * spec.cores
    _keep_size(stack, cluster_obj, size)
    client = Client(cluster_obj, set_as_default=False)
    stack.callback(client.close)  # runs before the cluster's close (last in, first out)
    return _Dask(client, cluster_obj, slots)


def _keep_size(stack: contextlib.ExitStack, cluster: Any, size: dict[str, int]) -> None:
    """Every :data:`KEEP_SIZE_EVERY` seconds, ask ``cluster`` for its size again, on its own event loop.

    Dask forgets a worker that left (``distributed.deploy.lost-worker-timeout`` after it did); asking for the
    same size again then starts a new worker process, or submits a new batch job for one that was cancelled or
    ran out of time. While everything runs, asking again changes nothing.
    """
    from tornado.ioloop import PeriodicCallback

    check = PeriodicCallback(lambda: cluster.scale(**size), KEEP_SIZE_EVERY * 1000)
    cluster.loop.add_callback(check.start)
    stack.callback(cluster.loop.add_callback, check.stop)


def _local_cluster(spec: ClusterSpec, n: int) -> Any:
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=n,
        threads_per_worker=spec.threads_per_worker,
        processes=True,
        memory_limit=spec.memory if spec.memory is not None else "auto",
        dashboard_address=None,
        scheduler_kwargs=spec.http_options(),
        silence_logs=logging.ERROR,
        **spec.scheduler_address_options(),
    )


_DISCARD_OUTPUT = {"slurm": ["--output=/dev/null", "--error=/dev/null"], "pbs": ["-o /dev/null", "-e /dev/null"]}
"""Batch directives that discard a job's output (else SLURM and PBS write it into the submitting folder)."""


def _jobqueue_cluster(spec: ClusterSpec) -> Any:
    import dask_jobqueue

    worker_args = ["--no-dashboard"]
    if spec.worker_host is not None or spec.interface is None:
        host = spec.worker_host or LOOPBACK
        # the worker's HTTP server (health, metrics) would otherwise listen on every interface
        worker_args += ["--host", host, "--dashboard-address", f"{host}:0"]
    options: dict[str, Any] = {
        "queue": spec.queue,
        "account": spec.account,
        "cores": spec.cores,
        "processes": spec.processes,
        "memory": spec.memory,
        "job_extra_directives": [
            *(_DISCARD_OUTPUT[spec.kind] if spec.log_directory is None else []),
            *spec.job_extra_directives,
        ],
        "job_script_prologue": list(spec.job_script_prologue),
        "python": spec.python or sys.executable,
        "scheduler_options": {**spec.http_options(), **spec.scheduler_address_options()},
        "worker_extra_args": worker_args,
        "log_directory": spec.log_directory,
        "silence_logs": "error",
    }
    if spec.walltime is not None:
        options["walltime"] = spec.walltime
    if spec.interface is not None and spec.worker_host is None:
        options["interface"] = spec.interface  # the workers' (--interface); the scheduler's is set above
    cls = dask_jobqueue.SLURMCluster if spec.kind == "slurm" else dask_jobqueue.PBSCluster
    return cls(**options)
