"""Experiments on Dask: the same store as a serial run on 1 and 2 workers, when joining a scheduler, on SLURM,
and when a worker is killed mid-experiment (no run lost, none duplicated)."""

from __future__ import annotations

import os
import signal
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from diffusion_sim.experiment.run import run_experiment

PACKAGE = Path(__file__).resolve().parents[1] / "scenarios" / "religious_leaders_ipc.yaml"

EXPERIMENT = f"""\
name: on_dask
base: {PACKAGE}
set: {{community.households: 300, community.villages: 2, schedule.steps: 20, interventions.0.end: 10,
      interventions.1.end: 10}}
parameters:
  - {{path: behaviour.external, distribution: uniform, low: 0.001, high: 0.01}}
  - {{path: interventions.religious-leader-training.conversion, name: conversion, distribution: uniform,
     low: 0.01, high: 0.2}}
design: {{method: latin_hypercube, n: 24}}
replicates: 2
seed: 11
outcomes: [final_coverage, cost]
series: [coverage]
"""


@pytest.fixture(scope="module")
def experiment(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dask") / "exp.yaml"
    path.write_text(textwrap.dedent(EXPERIMENT), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(experiment, tmp_path_factory):
    store = run_experiment(experiment, tmp_path_factory.mktemp("ref") / "s")
    return store.results(), store.series()


def same(store, reference) -> None:
    pd.testing.assert_frame_equal(store.results(), reference[0])
    pd.testing.assert_frame_equal(store.series(), reference[1])


@pytest.mark.parametrize(("workers", "per_shard"), [(1, 6), (2, 4), (2, 10)])
def test_dask_local_cluster_gives_the_serial_store(experiment, reference, tmp_path, workers, per_shard):
    store = run_experiment(experiment, tmp_path / "s", backend="dask", workers=workers, runs_per_shard=per_shard)
    same(store, reference)


def test_joining_a_running_scheduler_gives_the_serial_store(experiment, reference, tmp_path, local_scheduler):
    store = run_experiment(experiment, tmp_path / "s", backend="dask", scheduler=local_scheduler.scheduler_address)
    same(store, reference)


def test_a_worker_killed_mid_experiment_loses_and_duplicates_no_run(experiment, reference, tmp_path):
    from distributed import Client, LocalCluster

    http = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}  # no dashboard; no clash on port 8787
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                      scheduler_kwargs=http) as cluster, Client(cluster) as client:  # fmt: skip
        pids = list(client.run(os.getpid).values())
        killed = []

        def kill_one(chunk: int) -> None:
            if not killed:  # after the first shard is written, while the other chunks are in flight
                os.kill(pids[0], signal.SIGKILL)
                killed.append(chunk)

        store = run_experiment(experiment, tmp_path / "s", backend="dask", scheduler=cluster.scheduler_address,
                               runs_per_shard=2, on_chunk=kill_one)  # fmt: skip
        assert killed, "no worker was killed"
    same(store, reference)  # every (point, replicate) once, and the same numbers


def test_an_experiment_runs_on_slurm_through_dask_jobqueue(experiment, reference, tmp_path, slurm):
    text = experiment.read_text() + textwrap.dedent(
        """\
        cluster: {kind: slurm, workers: 2, cores: 1, memory: 1GiB, queue: debug, walltime: "00:10:00"}
        """
    )
    path = tmp_path / "slurm.yaml"
    path.write_text(text, encoding="utf-8")
    store = run_experiment(path, tmp_path / "s", backend="dask", runs_per_shard=8)
    same(store, reference)
