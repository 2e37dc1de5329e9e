"""The one atomic writer of every command's output: a folder (``run``, ``compare``) or a file (``schema``).

Everything is written into a temporary entry beside the target and moved into place only when it is
complete, so a reader never sees half an output and a failed or interrupted command leaves nothing
behind. This module owns:

* **temporary names**: ``.<name>.tmp-<pid>-<random>`` beside the target, ``<pid>`` the writing process;
* **left-overs**: a temporary entry of a process that no longer exists (killed with ``kill -9``, a
  power cut) or older than :data:`LEFTOVER_AGE` is removed by the next write to the same target;
* **whose folder it is**: every command records its name in a hidden marker, :data:`MARKER`, in its
  output folder; an existing folder is written into only if it is empty or holds output of the same
  command (whose stale files are then replaced); anything else is refused with one clear message,
  since a folder holding another command's output, or files no command wrote, is not ours to mix
  into or to clean;
* **errors**: every ``OSError`` while writing (no permission, read-only or full file system) becomes
  a :class:`~diffusion_sim.errors.UserError` naming the target, ``--out`` and the system's reason.

The marker is a small JSON file (``{"command": ..., "files": [...]}``) rather than a ``"command"``
key in ``provenance.json`` because the writer owns it for every command alike, whatever a
command's provenance holds, and because it lists the files that command wrote: the writer then
never removes a file it did not write.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from diffusion_sim import interrupts
from diffusion_sim.errors import UserError

__all__ = [
    "COMMAND_FILES",
    "LEFTOVER_AGE",
    "MARKER",
    "atomic_file",
    "atomic_folder",
    "check_output_folder",
    "check_output_path",
    "output_path",
    "remove_leftovers",
    "temp_name",
]

MARKER = ".diffusion-sim.json"
"""Hidden file in every output folder naming the command that wrote it and the files it wrote."""

LEFTOVER_AGE = 24 * 3600.0
"""Seconds after which a temporary entry is removed even if its process id is in use again."""

COMMAND_FILES: dict[str, tuple[str, ...]] = {
    "run": (
        "steps.parquet",
        "steps.csv",
        "agents.parquet",
        "agents.csv",
        "adoption_by_role.png",
        "provenance.json",
    ),
    "compare": (
        "report.html",
        "outcomes.csv",
        "outcomes.parquet",
        "differences.csv",
        "differences.parquet",
        "cost_effectiveness.csv",
        "cost_effectiveness.parquet",
        "steps.parquet",
        "provenance.json",
        "scenarios",
    ),
    "experiment": (
        "manifest.json",
        "design.parquet",
        "results",
        "series",
        "analysis",
        "discovery",
    ),
    "inspect": (
        "report.html",
        "nodes.csv",
        "layers.csv",
        "degrees.csv",
        "degree_distributions.png",
        "adoption_curve.csv",
        "adoption_curve.png",
        "exposure_at_adoption.csv",
        "exposure_at_adoption.png",
        "exposure_summary.csv",
        "provenance.json",
    ),
    "calibrate": (
        "posterior.csv",
        "summary.csv",
        "correlations.csv",
        "fitted_scenario.yaml",
        "provenance.json",
    ),
}
"""Entries each folder-writing command may write (folders written before the marker existed are recognised
by them)."""

_TMP = re.compile(r"^\.(?P<name>.+)\.tmp-(?:(?P<pid>\d+)-)?[A-Za-z0-9_]+$")


# ------------------------------------------------------------------------------------ names


def output_path(out: str | os.PathLike[str], option: str = "--out") -> Path:
    """``out`` as an absolute path with a name (``results/x``, ``.``, ``~/x``); refuses an empty one."""
    text = os.fspath(out)
    if not text.strip():
        raise UserError(f"expected a folder name, got {text!r}", source=option)
    path = Path(os.path.abspath(os.path.expanduser(text)))
    if not path.name:
        raise UserError(f"expected a folder name below the file-system root, got {text!r}", source=option)
    return path


def temp_name(name: str) -> str:
    """A fresh temporary name for target ``name``: ``.<name>.tmp-<pid>-<random>``."""
    return f".{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (in this process's view)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, but belongs to someone else
        return True
    except OverflowError:  # not a process id at all
        return False
    return True


def remove_leftovers(folder: Path, name: str, *, max_age: float = LEFTOVER_AGE) -> list[Path]:
    """Remove temporary entries for target ``name`` in ``folder`` whose process is gone or that are old.

    A temporary entry of a live process (another command writing to the same place right now) is left
    alone unless it is older than ``max_age`` seconds. Returns what was removed. Never raises.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        m = _TMP.match(entry.name)
        if m is None or m["name"] != name:
            continue
        try:
            old = now - entry.stat(follow_symlinks=False).st_mtime > max_age
        except OSError:
            continue
        dead = m["pid"] is not None and not _pid_alive(int(m["pid"]))
        if not (dead or old):
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError:
            continue
        removed.append(path)
    return removed


# ------------------------------------------------------------------------------ errors


def _reason(err: OSError) -> str:
    """The system's reason for an ``OSError`` in a few words (``No space left on device``)."""
    if err.errno is not None:
        return os.strerror(err.errno)
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _write_error(err: OSError, out: str, option: str | None) -> UserError:
    """One clear message for an ``OSError`` while writing ``out``."""
    reason = _reason(err)
    hint = {
        errno.ENOSPC: "; free some space or choose a folder on another disk",
        errno.EDQUOT: "; free some space or choose a folder on another disk",
        errno.EROFS: "; choose a folder on a writable disk",
        errno.EACCES: "; choose a folder you may write to",
        errno.EPERM: "; choose a folder you may write to",
    }.get(err.errno or 0, "")
    return UserError(f"cannot write here ({reason}){hint}", source=out, field=option)


# ----------------------------------------------------------------------- whose folder


def _read_marker(out: Path) -> dict | None:
    """The marker of an output folder, or None if it has none (or an unreadable one)."""
    try:
        data = json.loads((out / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("command"), str) else None


def _owner(out: Path, entries: set[str]) -> str | None:
    """The command whose output ``out`` holds (from its marker or, for older folders, its file names)."""
    marker = _read_marker(out)
    if marker is not None:
        return marker["command"]
    if "provenance.json" not in entries:
        return None
    for command, files in COMMAND_FILES.items():
        if entries <= set(files):
            return command
    return None


def _names(command: str, managed: Iterable[str]) -> set[str]:
    """Every entry ``command`` may write into its output folder."""
    return set(managed) | set(COMMAND_FILES.get(command, ()))


def check_output_path(out: str | os.PathLike[str], option: str = "--out") -> Path:
    """Check that ``out`` can be created: no file in the way, and a writable folder above it."""
    path, shown = output_path(out, option), os.fspath(out)
    above = path.parent
    while not above.exists():
        if above.is_symlink():  # a dangling link
            raise UserError(f"{str(above)!r} is a broken link", source=shown, field=option)
        above = above.parent
    if not above.is_dir():
        raise UserError(f"{str(above)!r} is a file, not a folder", source=shown, field=option)
    if not os.access(above, os.W_OK | os.X_OK):
        reason = "read-only file system" if _read_only(above) else "no permission to write there"
        raise UserError(f"cannot write in {str(above)!r} ({reason})", source=shown, field=option)
    return path


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # pragma: no cover - not POSIX
        return False


def check_output_folder(
    out: str | os.PathLike[str], *, command: str, managed: Iterable[str] = (), option: str = "--out"
) -> Path:
    """Check, before any work, that ``command`` may write its output folder ``out``; return its absolute path.

    ``out`` may not exist yet (its parent folders are then created when the output is written), or be
    an empty folder, or hold output of the same ``command``. Anything else is refused:
    :class:`UserError` naming the folder and, where known, the command that wrote it.
    """
    path, shown = check_output_path(out, option), os.fspath(out)
    if path.exists() and not path.is_dir():
        raise UserError("exists and is not a folder; expected a folder name", source=shown, field=option)
    if not path.exists():
        return path
    try:
        entries = {e.name for e in os.scandir(path)}
    except OSError as err:
        raise _write_error(err, shown, option) from None
    entries.discard(MARKER)
    if not entries:
        return path
    owner = _owner(path, entries)
    elsewhere = f"choose another folder (e.g. {shown.rstrip('/' + os.sep) + '-' + command!r})"
    if owner is not None and owner != command:
        raise UserError(
            f"holds the output of 'diffusion-sim {owner}'; {command} writes only into a new or empty folder or "
            f"one of its own earlier outputs: {elsewhere}",
            source=shown,
            field=option,
        )
    unknown = sorted(entries - _names(command, managed))
    if owner is None or unknown:
        listed = ", ".join(unknown[:3] or sorted(entries)[:3]) + (", ..." if len(unknown or entries) > 3 else "")
        raise UserError(
            f"holds files diffusion-sim did not write ({listed}); they are never replaced or removed: {elsewhere}",
            source=shown,
            field=option,
        )
    return path


# ------------------------------------------------------------------------------ writing


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created (deepest last)."""
    missing = []
    p = folder
    while not p.exists():
        missing.append(p)
        p = p.parent
    created = []
    for p in reversed(missing):
        p.mkdir()
        created.append(p)
    return created


def _remove_created(created: list[Path]) -> None:
    """Remove parent folders this write created, if they are still empty."""
    for p in reversed(created):
        with contextlib.suppress(OSError):
            p.rmdir()


def _commit_folder(tmp: Path, out: Path, command: str, managed: Iterable[str]) -> None:
    """Move a finished temporary folder into place (see :func:`atomic_folder`)."""
    written = sorted(p.name for p in tmp.iterdir())
    (tmp / MARKER).write_text(json.dumps({"command": command, "files": written}, indent=1) + "\n", encoding="utf-8")
    if not out.exists():
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp-like privacy is not wanted for the output itself
        os.replace(tmp, out)
        return
    names = _names(command, managed)
    old = _read_marker(out)
    earlier = names if old is None else names & {str(f) for f in old.get("files", [])}  # unmarked: older version
    for f in [*written, MARKER]:
        target = out / f
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(tmp / f, target)
    for f in sorted(earlier - set(written)):  # this command's output of an earlier run that this run did not write
        target = out / f
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_folder(
    out: str | os.PathLike[str], *, command: str, managed: Iterable[str] = (), option: str = "--out"
) -> Iterator[Path]:
    """Write a command's output folder atomically: all of it, or (on any failure or interrupt) nothing.

    Yields a temporary folder beside ``out`` to write files into (a command may stream files into it
    while it runs). When the block ends without an exception, the folder becomes ``out``: a new ``out``
    is the temporary folder renamed (atomic); into an existing one (empty, or an earlier output of the
    same command, see :func:`check_output_folder`) each entry is moved by an atomic rename, and the
    ``managed`` entries an earlier run wrote but this one did not are removed. On any exception the
    temporary folder (and any parent folder created for it) is removed; an ``OSError`` becomes a
    :class:`UserError` naming ``out``, ``option`` and the system's reason. Left-over temporary folders of
    dead processes beside ``out`` are removed first.

    Args:
        out: the output folder.
        command: the command writing it (``"run"``, ``"compare"``), recorded in the folder's marker.
        managed: entries the command may write (removed from an existing folder when not written again).
        option: the option that named ``out``, for messages.

    """
    path = check_output_folder(out, command=command, managed=managed, option=option)
    created: list[Path] = []
    tmp: Path | None = None
    try:
        try:
            created = _make_parents(path.parent)
            remove_leftovers(path.parent, path.name)
            tmp = path.parent / temp_name(path.name)
            tmp.mkdir(mode=0o700)
        except OSError as err:
            raise _write_error(err, os.fspath(out), option) from None
        try:
            yield tmp
            interrupts.check()  # an interrupt while writing: nothing is moved into place
            _commit_folder(tmp, path, command, managed)
            created = []
        except OSError as err:
            raise _write_error(err, os.fspath(out), option) from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        _remove_created(created)


@contextlib.contextmanager
def atomic_file(out: str | os.PathLike[str], *, option: str | None = "--out", parents: bool = False) -> Iterator[Path]:
    """Write one file atomically: yields a temporary path beside ``out``, renamed to ``out`` on success.

    An existing file is replaced; an existing folder is refused. The parent folder must exist, unless
    ``parents`` (then missing folders are created, and removed again if the write fails). Errors and
    left-overs as for :func:`atomic_folder`; ``option`` names the option that gave ``out`` (None: none).
    """
    text = os.fspath(out)
    if not text.strip():
        raise UserError(f"expected a file name, got {text!r}", source=option)
    path = Path(os.path.abspath(os.path.expanduser(text)))
    if not parents and not path.parent.is_dir():
        raise UserError(f"folder {str(path.parent)!r} does not exist", source=option or text)
    if path.is_dir():
        raise UserError(f"{str(path)!r} is a folder; expected a file name", source=option or text)
    created: list[Path] = []
    tmp: Path | None = None
    try:
        try:
            created = _make_parents(path.parent) if parents else []
            remove_leftovers(path.parent, path.name)
            tmp = path.parent / temp_name(path.name)
            yield tmp
            interrupts.check()
            os.replace(tmp, path)
            tmp = None
            created = []
        except OSError as err:
            raise _write_error(err, text, option) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
        _remove_created(created)
