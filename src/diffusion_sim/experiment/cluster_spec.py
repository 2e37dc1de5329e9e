"""The ``cluster:`` section of an experiment file: the Dask cluster to start when there is none to join.

:class:`ClusterSpec` validates the section (where the workers run, how many, their cores and memory, the
batch jobs' directives and the addresses the servers listen on); :func:`parse_memory` reads a memory size
such as ``2GiB``. :func:`diffusion_sim.experiment.cluster.backend` starts the cluster a spec describes.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, model_validator

from diffusion_sim.scenario.fields import Strict

__all__ = ["LOOPBACK", "ClusterSpec", "parse_memory"]

LOOPBACK = "127.0.0.1"
"""The address every server started here binds to unless a :class:`ClusterSpec` says otherwise."""

_UNITS = {
    "B": 1,
    "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
}  # fmt: skip
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|[kKMGT]B|[KMGT]iB)\s*$")


def parse_memory(text: str) -> int:
    """Bytes in a memory size such as ``2GiB``, ``1.5 GB`` or ``500MB`` (units are required: ``2G`` is ambiguous).

    Raises:
        ValueError: if ``text`` is not a number followed by one of B, kB, MB, GB, TB, KiB, MiB, GiB, TiB.

    """
    match = _MEMORY.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a memory size; expected a number and a unit, e.g. 2GiB, 1.5GB or 500MB "
            f"(units: {', '.join(_UNITS)})"
        )
    return int(float(match.group(1)) * _UNITS[match.group(2)])


class ClusterSpec(Strict):
    """The ``cluster:`` section of an experiment file: the Dask cluster to start when there is none to join.

    ``local`` starts worker processes on this machine; ``slurm`` and ``pbs`` submit batch jobs, each
    running ``processes`` Dask workers that share the job's ``cores`` and ``memory``.
    """

    kind: Literal["local", "slurm", "pbs"] = Field(
        "local", description="Where the workers run: local (this machine), slurm or pbs (batch jobs)."
    )
    workers: int = Field(
        2,
        ge=1,
        le=10_000,
        description="Worker processes (local) or batch jobs (slurm, pbs) to start; --workers overrides it.",
    )
    processes: int = Field(
        1, ge=1, le=256, description="Dask worker processes per batch job (slurm, pbs); 1 for local."
    )
    cores: int = Field(
        1,
        ge=1,
        le=4096,
        description="Cores per worker (local) or per batch job (slurm, pbs, shared among its processes); "
        "each core runs one task at a time.",
    )
    memory: str | None = Field(
        None,
        description="Memory per worker (local; default: this machine's memory shared among the workers) or per "
        "batch job (slurm, pbs; required), e.g. 2GiB. Dask restarts a worker that uses 95% of it.",
    )
    queue: str | None = Field(None, min_length=1, description="SLURM partition or PBS queue (default: the site's).")
    walltime: str | None = Field(
        None,
        pattern=r"^(\d+-)?\d+(:\d{2}){0,2}$",
        description="Time limit of each batch job, [D-]HH:MM:SS (default: dask-jobqueue's, 00:30:00). A job that "
        "runs out of time is submitted again and its tasks are run again.",
    )
    account: str | None = Field(None, min_length=1, description="Account (project) the batch jobs are charged to.")
    job_extra_directives: list[str] = Field(
        default_factory=list,
        description="More batch directives, each without its prefix, e.g. '--qos=short' (SLURM) or "
        "'-l select=1:ncpus=4' (PBS).",
    )
    job_script_prologue: list[str] = Field(
        default_factory=list,
        description="Shell lines each batch job runs before its workers start, e.g. 'module load python/3.12'.",
    )
    scheduler_host: str | None = Field(
        None,
        min_length=1,
        description="Address the scheduler listens on; it must be reachable from the workers (default 127.0.0.1, "
        "or the address of `interface` when that is set).",
    )
    worker_host: str | None = Field(
        None,
        min_length=1,
        description="Address each worker listens on (default 127.0.0.1, or the address of `interface` when that is "
        "set); one address for every worker, so only right when all jobs run on one node.",
    )
    interface: str | None = Field(
        None,
        min_length=1,
        description="Network interface (e.g. ib0, eth0) the scheduler and workers use where their host is not set.",
    )
    python: str | None = Field(
        None, min_length=1, description="Python interpreter of the workers (default: this one, sys.executable)."
    )
    log_directory: str | None = Field(
        None,
        min_length=1,
        description="Folder for the batch jobs' output, the workers' logs (default: discarded, not left in the "
        "folder the experiment was started from).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ClusterSpec:
        if self.memory is not None:
            parse_memory(self.memory)
        if self.kind == "local":
            if self.worker_host is not None:
                raise ValueError(
                    "worker_host is for slurm and pbs jobs; a local cluster's workers listen where its scheduler "
                    "does (scheduler_host or interface)"
                )
            if self.processes != 1:
                raise ValueError(
                    f"processes is {self.processes}, but a local cluster runs one process per worker; "
                    "set workers instead"
                )
        else:
            if self.memory is None:
                raise ValueError(f"memory is required for {self.kind} jobs (the memory of each job, e.g. 4GiB)")
            if self.cores % self.processes:
                raise ValueError(
                    f"cores is {self.cores}, which {self.processes} processes per job cannot share evenly; "
                    "expected a multiple of processes"
                )
        return self

    @property
    def threads_per_worker(self) -> int:
        """Tasks each Dask worker runs at once."""
        return self.cores // self.processes

    def scheduler_address_options(self) -> dict[str, Any]:
        """Where the scheduler listens: ``host`` or ``interface`` (Dask's keywords)."""
        if self.scheduler_host is not None or self.interface is None:
            return {"host": self.scheduler_host or LOOPBACK}
        return {"interface": self.interface}

    def http_options(self) -> dict[str, Any]:
        """No dashboard; the scheduler's small HTTP server (health, metrics) on a free port beside it.

        Dask's default is port 8787, and a warning on the terminal when another cluster holds it.
        """
        options: dict[str, Any] = {"dashboard": False}
        if self.scheduler_host is not None or self.interface is None:
            options["dashboard_address"] = f"{self.scheduler_host or LOOPBACK}:0"
        return options
