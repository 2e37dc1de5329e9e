"""A throw-away single-node SLURM cluster on 127.0.0.1, for the tests of the cluster backend.

Everything lives under one temporary folder: the munge key, socket, pid, seed and log files (munged runs
as the ``munge`` user on its own socket, so a munged of the system or of another developer is never
touched), and slurm.conf with SLURM's state, spool, pid and log files. slurmctld and slurmd listen on
127.0.0.1 on free ports. Clients (``sbatch``, ``squeue``, dask-jobqueue) find the cluster through the
``SLURM_CONF`` environment variable. Needs root and Debian's ``slurm-wlm`` (which brings munge);
``./dev test`` installs it when it may.

By hand::

    .venv/bin/python tests/slurm_node.py    # starts one, prints SLURM_CONF, stops it on Enter or Ctrl-C
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SlurmNode", "SlurmStartError", "missing_prerequisites", "start"]

COMMANDS = ("munged", "slurmctld", "slurmd", "sinfo", "squeue", "sbatch", "scancel", "scontrol")


class SlurmStartError(RuntimeError):
    """The SLURM node or its munged did not come up; the message carries the tail of their logs."""


def _which(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
    )


def missing_prerequisites() -> str | None:
    """Why a SLURM node cannot be started here (None if it can)."""
    if os.geteuid() != 0:
        return "starting slurmctld, slurmd and munged needs root"
    missing = [c for c in COMMANDS if _which(c) is None]
    if missing:
        return f"{', '.join(missing)} not found: install Debian's slurm-wlm (apt-get install -y slurm-wlm)"
    try:
        pwd.getpwnam("munge")
    except KeyError:
        return "no 'munge' user: install Debian's munge (it comes with slurm-wlm)"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process took the pid
        return True
    return True


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"({path.name}: none)"
    return f"--- {path.name}:\n" + "\n".join(text[-lines:])


@dataclass
class SlurmNode:
    """A running single-node SLURM cluster (see :func:`start`)."""

    root: Path
    conf: Path
    partition: str = "debug"
    munged_pid: int | None = None
    startup_seconds: float = 0.0
    daemons: dict[str, int | None] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """The environment of a SLURM client of this cluster."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def run(self, *args: str, check: bool = True) -> str:
        """Run a SLURM client command against this cluster and return its standard output."""
        done = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=60)
        if check and done.returncode != 0:
            raise subprocess.CalledProcessError(done.returncode, args, done.stdout, done.stderr)
        return done.stdout

    def job_ids(self) -> list[str]:
        """Ids of the jobs SLURM holds (pending or running)."""
        return self.run("squeue", "-h", "-o", "%i").split()

    def logs(self) -> str:
        """The tail of every daemon's log, for error messages."""
        names = ("slurmctld.log", "slurmd.log", "munge/munged.log")
        return "\n".join(_tail(self.root / n) for n in names)

    def stop(self) -> None:
        """Cancel every job, stop slurmctld and slurmd (``scontrol shutdown``), stop munged, remove the folder."""
        try:
            if _alive(self.daemons.get("slurmctld")):
                jobs = self.job_ids()
                if jobs:
                    self.run("scancel", *jobs, check=False)
                    _wait_until(lambda: not self.job_ids(), 30)
                self.run("scontrol", "shutdown", check=False)
            for pid in self.daemons.values():
                _stop_pid(pid, grace=30)
            _stop_pid(self.munged_pid, grace=0)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _stop_pid(pid: int | None, grace: float) -> None:
    """Give a daemon ``grace`` seconds to exit by itself, then SIGTERM, then (10 s later) SIGKILL."""
    if pid is None or _wait_until(lambda: not _alive(pid), grace):
        return
    os.kill(pid, signal.SIGTERM)
    if not _wait_until(lambda: not _alive(pid), 10):
        os.kill(pid, signal.SIGKILL)


def _conf(root: Path, host: str, ctld_port: int, slurmd_port: int, munge_socket: Path) -> str:
    cpus = os.cpu_count() or 1
    return "\n".join(
        [
            "ClusterName=dsimtest",
            f"SlurmctldHost={host}(127.0.0.1)",
            f"SlurmctldPort={ctld_port}",
            f"SlurmdPort={slurmd_port}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={munge_socket}",
            "MpiDefault=none",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "SchedulerParameters=batch_sched_delay=0,sched_min_interval=0",
            "ReturnToService=2",
            "CommunicationParameters=NoInAddrAny,NoCtldInAddrAny",  # bind the node's address (127.0.0.1), not 0.0.0.0
            "KillWait=5",
            f"StateSaveLocation={root}/state",
            f"SlurmdSpoolDir={root}/spool",
            f"SlurmctldPidFile={root}/slurmctld.pid",
            f"SlurmdPidFile={root}/slurmd.pid",
            f"SlurmctldLogFile={root}/slurmctld.log",
            f"SlurmdLogFile={root}/slurmd.log",
            f"NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=4000 State=UNKNOWN",
            f"PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP",
            "",
        ]
    )


def _start_munged(root: Path) -> int | None:
    munge = pwd.getpwnam("munge")
    folder = root / "munge"
    folder.mkdir()
    folder.chmod(0o711)  # munged: the socket folder must be searchable by everyone, writable by munge only
    key = folder / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    for path in (folder, key):
        os.chown(path, munge.pw_uid, munge.pw_gid)
    subprocess.run(
        [
            "runuser", "-u", "munge", "--", _which("munged") or "munged",
            f"--socket={folder / 'munge.socket'}", f"--key-file={key}", f"--pid-file={folder / 'munged.pid'}",
            f"--log-file={folder / 'munged.log'}", f"--seed-file={folder / 'munged.seed'}",
        ],
        check=True, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    _wait_until(lambda: _read_pid(folder / "munged.pid") is not None, 10)
    return _read_pid(folder / "munged.pid")


def start(timeout: float = 60.0) -> SlurmNode:
    """Start munged, slurmctld and slurmd in a new temporary folder; return once ``sinfo`` shows the node idle.

    Raises:
        SlurmStartError: if something did not come up within ``timeout`` seconds (everything started is stopped).

    """
    began = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="diffusion-sim-slurm-"))
    root.chmod(0o755)  # munged, running as munge, must reach its folder
    for sub in ("state", "spool"):
        (root / sub).mkdir()
    host = socket.gethostname().split(".")[0]
    conf = root / "slurm.conf"
    node = SlurmNode(root=root, conf=conf)
    try:
        try:
            node.munged_pid = _start_munged(root)
        except subprocess.CalledProcessError as exc:
            raise SlurmStartError(f"munged did not start: {exc.stderr.strip()}\n{node.logs()}") from exc
        conf.write_text(_conf(root, host, _free_port(), _free_port(), root / "munge" / "munge.socket"))
        for daemon, args in (("slurmctld", ("-c",)), ("slurmd", ())):
            done = subprocess.run(
                [_which(daemon) or daemon, *args, "-f", str(conf)],
                env=node.env, capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            # the pid file exists before the daemon has written its pid into it: wait for the pid itself
            _wait_until(lambda d=daemon: _read_pid(root / f"{d}.pid") is not None, 10)
            node.daemons[daemon] = _read_pid(root / f"{daemon}.pid")
            if done.returncode != 0 or not _alive(node.daemons[daemon]):
                raise SlurmStartError(f"{daemon} did not start: {done.stderr.strip()}\n{node.logs()}")

        def idle() -> bool:
            states = node.run("sinfo", "-h", "-o", "%t", check=False).split()
            return states == ["idle"]

        if not _wait_until(idle, timeout):
            state = node.run("sinfo", "-h", "-o", "%t %E", check=False).strip()
            raise SlurmStartError(f"the SLURM node is not idle after {timeout:.0f} s ({state})\n{node.logs()}")
    except BaseException:
        node.stop()
        raise
    node.startup_seconds = time.monotonic() - began
    return node


if __name__ == "__main__":
    running = start()
    print(f"SLURM is up in {running.startup_seconds:.1f} s; in another shell:\n  export SLURM_CONF={running.conf}")
    try:
        input("press Enter to stop it ")
    except (KeyboardInterrupt, EOFError):
        pass
    finally:
        running.stop()
