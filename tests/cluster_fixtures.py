"""Fixtures and task functions for the cluster backend's tests: real Dask clusters and a real SLURM node.

Workers import the task functions from this module (Dask pickles importable functions by reference): loky and
LocalCluster workers inherit this process's ``sys.path``; a SLURM job's worker is a fresh interpreter, so
:data:`TESTS_ON_PATH` is the job script prologue that puts this folder on its path.
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path

import pytest

import slurm_node as _slurm

TESTS_ON_PATH = f"export PYTHONPATH={shlex.quote(str(Path(__file__).resolve().parent))}"


def _unavailable(reason: str) -> None:
    """SLURM cannot run here: fail in CI (the tests must run there), skip with the reason elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"SLURM is required in CI but cannot be started: {reason}", pytrace=False)
    pytest.skip(f"no SLURM here: {reason} (./dev test installs slurm-wlm when run as root)")


@pytest.fixture(scope="session")
def slurm():
    """A single-node SLURM cluster on 127.0.0.1 (:mod:`slurm_node`), with ``SLURM_CONF`` set for the session."""
    reason = _slurm.missing_prerequisites()
    if reason is not None:
        _unavailable(reason)
    node = _slurm.start()  # raises SlurmStartError (the test errors) if root and slurm-wlm could not start it
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SLURM_CONF", str(node.conf))
        try:
            yield node
        finally:
            node.stop()


@pytest.fixture(scope="module")
def local_scheduler():
    """A ``distributed.LocalCluster`` started by the test (2 workers of 1 GiB on 127.0.0.1), to be joined."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},  # no clash on port 8787
        memory_limit="1GiB",
    ) as cluster:
        yield cluster


def identify(x: int) -> tuple[int, int, int, str | None]:
    """A pure task: its input, a result, and where it ran (process id, SLURM job id)."""
    time.sleep(0.05)
    return x, x * x, os.getpid(), os.environ.get("SLURM_JOB_ID")


def fail_on_three(x: int) -> int:
    """A task that raises for one input."""
    if x == 3:
        raise ValueError("task 3 is bad")
    return x


def wait_for_go(x: int, started: str, go: str) -> tuple[int, int, int, str | None]:
    """A task that reports that it runs (on the Dask queue ``started``), then waits for the Dask event ``go``."""
    from distributed import Event, Queue

    Queue(started).put([x, os.getpid(), os.environ.get("SLURM_JOB_ID")])
    Event(go).wait()
    return identify(x)
