"""The cluster backend on real components: loky processes, Dask LocalClusters and SLURM jobs on 127.0.0.1."""

from __future__ import annotations

import functools
import os
import signal
import time
import uuid
from collections import Counter

import dask
import distributed  # noqa: F401 (its config defaults must exist before a test's dask.config.set, which restores)
import psutil
import pytest
from pydantic import ValidationError

from cluster_fixtures import (  # the fixtures (slurm, local_scheduler) come from conftest: one SLURM node per session
    TESTS_ON_PATH,
    fail_on_three,
    identify,
    wait_for_go,
)
from diffusion_sim.errors import UserError
from diffusion_sim.experiment.cluster import ClusterSpec, backend, parse_memory
from diffusion_sim.resources import available_memory

TASKS = list(range(20))


def _each_once(results) -> list[tuple]:
    """The results, checked to hold every task of TASKS exactly once with its right value."""
    counts = Counter(r[0] for r in results)
    assert counts == Counter(TASKS), f"missing or repeated tasks: {counts}"
    assert all(r[1] == r[0] * r[0] for r in results)
    return results


def _wait_until(condition, seconds: float = 120.0) -> bool:
    """Poll ``condition`` (not a timed assertion: the deadline only ends a wait that would hang)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


# --- the cluster: section -------------------------------------------------------------------------------------


def test_cluster_spec_is_strict():
    spec = ClusterSpec.model_validate(
        {"kind": "slurm", "workers": 4, "cores": 2, "memory": "8GiB", "queue": "short", "walltime": "02:00:00"}
    )
    assert (spec.scheduler_host, spec.worker_host, spec.python) == (None, None, None)  # 127.0.0.1, sys.executable
    assert spec.scheduler_address_options() == {"host": "127.0.0.1"}
    with pytest.raises(ValidationError, match="extra"):
        ClusterSpec.model_validate({"kind": "slurm", "memory": "2GiB", "nodes": 3})
    with pytest.raises(ValidationError, match="valid integer"):
        ClusterSpec.model_validate({"workers": "2"})
    with pytest.raises(ValidationError, match="memory is required"):
        ClusterSpec(kind="pbs")
    with pytest.raises(ValidationError, match="not a memory size"):
        ClusterSpec(kind="slurm", memory="2G")
    with pytest.raises(ValidationError, match="share evenly"):
        ClusterSpec(kind="slurm", memory="2GiB", cores=3, processes=2)
    with pytest.raises(ValidationError, match="worker_host"):
        ClusterSpec(kind="local", worker_host="10.0.0.5")
    assert ClusterSpec(kind="slurm", memory="2GiB", interface="ib0").scheduler_address_options() == {"interface": "ib0"}
    assert parse_memory("2GiB") == 2**31 and parse_memory("1.5 GB") == 1_500_000_000


def test_backend_refuses_contradictions():
    with pytest.raises(UserError, match="unknown backend 'ray'"):
        with backend("ray"):
            pass
    with pytest.raises(UserError, match="--scheduler.*needs --backend dask"):
        with backend("loky", scheduler="tcp://127.0.0.1:8786"):
            pass
    with pytest.raises(UserError, match="--workers"):
        with backend("loky", workers=0):
            pass


def test_unreachable_scheduler_is_a_user_error():
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(UserError, match="cannot reach a Dask scheduler at tcp://127.0.0.1:9"):
            with backend("dask", scheduler="tcp://127.0.0.1:9"):
                pass


# --- this machine -----------------------------------------------------------------------------------------------


def test_serial_maps_each_task_once():
    with backend("serial") as b:
        assert b.n_workers == 1
        _each_once(list(b.map_unordered(identify, TASKS)))


def test_loky_maps_each_task_once_and_stops_its_workers():
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with backend("loky", workers=2) as b:
        results = _each_once(list(b.map_unordered(identify, TASKS)))
        assert b.n_workers == 2
        assert os.getpid() not in {r[2] for r in results}  # ran in worker processes
        memory = b.worker_memory_bytes()
        assert 0 < memory < psutil.virtual_memory().total
        assert memory <= available_memory() // 2
        workers = {r[2] for r in results}
    left = {p.pid for p in psutil.Process().children(recursive=True)} - before
    assert not left & workers, "loky's worker processes outlived the block"


# --- Dask on this machine ---------------------------------------------------------------------------------------


def test_dask_local_cluster_maps_each_task_once_and_raises_a_task_error():
    with backend("dask", workers=2) as b:
        cluster = b.cluster
        assert b.n_workers == 2
        assert b.client.scheduler.address.startswith("tcp://127.0.0.1:")
        results = _each_once(list(b.map_unordered(identify, TASKS)))
        assert os.getpid() not in {r[2] for r in results}
        with pytest.raises(ValueError, match="task 3 is bad"):
            list(b.map_unordered(fail_on_three, range(8)))
    assert cluster.status.name == "closed"


def test_dask_cluster_is_closed_on_interrupt():
    with pytest.raises(KeyboardInterrupt):
        with backend("dask", workers=1) as b:
            cluster, client = b.cluster, b.client
            raise KeyboardInterrupt
    assert cluster.status.name == "closed"
    assert client.status == "closed"


def test_dask_joins_a_running_scheduler(local_scheduler):
    address = local_scheduler.scheduler_address
    with backend("dask", scheduler=address) as b:
        assert b.cluster is None
        assert b.n_workers == 2
        _each_once(list(b.map_unordered(identify, TASKS)))
        assert b.worker_memory_bytes() == 2**30  # the workers' memory_limit of 1GiB
    assert len(local_scheduler.scheduler_info["workers"]) == 2  # joining does not stop someone else's cluster


def test_a_killed_worker_loses_and_repeats_no_task():
    """kill -9 a LocalCluster worker while it runs a task: the task runs again elsewhere, reported once."""
    name = uuid.uuid4().hex
    with backend("dask", workers=2) as b:
        from distributed import Event, Queue

        started, go = Queue(f"started-{name}", client=b.client), Event(f"go-{name}", client=b.client)
        results = b.map_unordered(functools.partial(wait_for_go, started=started.name, go=go.name), TASKS)
        task, pid, _ = started.get(timeout=120)  # this task is running in process pid, waiting for go
        os.kill(pid, signal.SIGKILL)
        go.set()
        got = _each_once(list(results))
    pids = {r[0]: r[2] for r in got}
    assert pids[task] != pid  # the interrupted task was run again, in another process
    assert pid not in pids.values()  # nothing came back from the killed process


# --- SLURM ----------------------------------------------------------------------------------------------------------

SLURM_SPEC = ClusterSpec(
    kind="slurm", workers=2, cores=1, memory="2GiB", queue="debug", job_script_prologue=[TESTS_ON_PATH]
)


def test_slurm_runs_tasks_in_batch_jobs(slurm):
    with backend("dask", cluster=SLURM_SPEC) as b:
        assert b.n_workers == 2
        assert b.worker_memory_bytes() == 2 * 2**30  # waits for a first worker; memory 2GiB, 1 process, 1 core
        queued = set(slurm.job_ids())
        assert len(queued) == 2  # squeue shows the two worker jobs
        results = _each_once(list(b.map_unordered(identify, TASKS)))
    jobs = {r[3] for r in results}
    assert None not in jobs and jobs <= queued  # every task ran inside one of those SLURM jobs
    assert _wait_until(lambda: not slurm.job_ids()), "the worker jobs were not cancelled when the block ended"


def test_a_cancelled_slurm_job_loses_no_task_and_is_replaced(slurm):
    """scancel the job whose worker runs a task: the task runs again in the other job, and a new job is submitted."""
    name = uuid.uuid4().hex
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "1s"}):
        with backend("dask", cluster=SLURM_SPEC) as b:
            from distributed import Event, Queue

            started, go = Queue(f"started-{name}", client=b.client), Event(f"go-{name}", client=b.client)
            results = b.map_unordered(functools.partial(wait_for_go, started=started.name, go=go.name), TASKS)
            task, _, job = started.get(timeout=120)
            first = set(slurm.job_ids())
            assert job in first
            slurm.run("scancel", job)
            replaced = _wait_until(lambda: set(slurm.job_ids()) - first)
            assert replaced, "no job was submitted in place of the cancelled one"
            go.set()
            got = _each_once(list(results))
    jobs = {r[0]: r[3] for r in got}
    assert jobs[task] != job  # run again in another job
    assert job not in jobs.values()
    assert _wait_until(lambda: not slurm.job_ids())


def test_job_scripts_keep_everything_on_loopback_unless_asked(tmp_path):
    """The SLURM and PBS job scripts built from a cluster: section (nothing is submitted: PBS cannot run here)."""
    from diffusion_sim.experiment.cluster import _jobqueue_cluster

    for kind, directive in (("slurm", "#SBATCH"), ("pbs", "#PBS")):
        spec = ClusterSpec(
            kind=kind,
            memory="4GiB",
            cores=2,
            processes=2,
            queue="short",
            account="proj42",
            walltime="02:00:00",
            job_extra_directives=["--qos=low" if kind == "slurm" else "-l place=scatter"],
            job_script_prologue=["module load python/3.12"],
        )
        cluster = _jobqueue_cluster(spec)
        try:
            script = cluster.job_script()
            assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        finally:
            cluster.close()
        assert f"{directive} -q short" in script or f"{directive} -p short" in script
        assert f"{directive} -A proj42" in script
        assert "02:00:00" in script and "module load python/3.12" in script
        assert "--host 127.0.0.1" in script and "--no-dashboard" in script and "--nworkers 2" in script
        assert "/dev/null" in script  # the jobs' output is not left in the folder the tests run from

    real = ClusterSpec(kind="slurm", memory="4GiB", interface="ib0")  # a real cluster: workers use ib0
    logs = tmp_path / "logs"
    cluster = _jobqueue_cluster(real.model_copy(update={"scheduler_host": "127.0.0.1", "log_directory": str(logs)}))
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "--interface ib0" in script and "--host" not in script
    assert f"-o {logs}/" in script and "/dev/null" not in script
