"""Reading scenario files: YAML safely, `extends:` chains, relative paths, validation with file and line.

Files are read with YAML's safe loader (composed first, then constructed by
:class:`yaml.SafeLoader`'s constructor): nothing in them is executed, and a tag that would build a
Python object (``!!python/object/apply``) is refused. A file may inherit a base scenario with a
top-level ``extends: base.yaml`` (or a list of files, applied in order); its own fields are merged
onto the base's at every depth.

Every error names the file, the line, the dotted field path and what was expected, e.g.
``scenarios/district.yaml: line 7: community.households: Input should be greater than or equal to 1
(got 0); expected int >= 1, <= 20000000``. When the value came from a base file, the base file and
its line are named.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from diffusion_sim.errors import UserError
from diffusion_sim.scenario.introspect import scenario_json_schema
from diffusion_sim.scenario.overrides import apply_overrides, parse_override
from diffusion_sim.scenario.schema import Scenario
from diffusion_sim.scenario.validation import (
    Origins,
    _got,
    _merge,
    _validate,
    format_validation_error,
    scenario_from_dict,
)
from diffusion_sim.scenario.yaml_source import _read_mapping

__all__ = [
    "apply_overrides",
    "format_validation_error",
    "load_scenario",
    "parse_override",
    "scenario_from_dict",
    "scenario_json_schema",
]

_FILE_KEYS = {"imported": ("nodes", "edges", "graphml"), "survey": ("file", "nominations")}
"""File names in sections of ``community``; ``community.people`` is a file name too."""

# ----------------------------------------------------------------------------------- extends


def _extends(data: dict[Any, Any], lines: dict[tuple[str, ...], int], source: str) -> list[tuple[str, int]]:
    """Remove ``extends`` from a file's data and return its base file names with their lines."""
    if "extends" not in data:
        return []
    value = data.pop("extends")
    line = lines.get(("extends",), 1)
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() and "\0" not in n for n in names):
        raise UserError(
            f"line {line}: extends: expected a file name or a list of file names (got {_got(value)})", source=source
        )
    if isinstance(value, str):
        return [(value, line)]
    return [(name, lines.get(("extends", str(i)), line)) for i, name in enumerate(names)]


def _resolved(path: Path) -> Path:
    """The absolute, symlink-free path (to recognise one file reached by two names)."""
    try:
        return path.resolve()
    except (OSError, ValueError, RuntimeError):
        return path.absolute()


def _anchored(value: Any, folder: Path) -> Any:
    """A relative file name taken relative to ``folder`` (other values as they are)."""
    if not isinstance(value, str) or not value:
        return value
    try:
        return value if Path(value).is_absolute() else str((folder / value).resolve())
    except (OSError, ValueError, RuntimeError):
        return value


def _anchor_files(data: dict[Any, Any], folder: Path) -> dict[Any, Any]:
    """The community's file names (imported, survey, people) made relative to the folder of the file that wrote them."""
    community = data.get("community")
    if not isinstance(community, dict):
        return data
    fixed = dict(community)
    for section, keys in _FILE_KEYS.items():
        part = community.get(section)
        if isinstance(part, dict):
            fixed[section] = {k: _anchored(v, folder) if k in keys else v for k, v in part.items()}
            if section == "imported" and isinstance(part.get("networks"), list):
                fixed[section]["networks"] = [_anchored(v, folder) for v in part["networks"]]
    if "people" in community:
        fixed["people"] = _anchored(community["people"], folder)
    return {**data, "community": fixed}


_Chain = tuple[tuple[Path, str], ...]
"""The files being read, outermost first: (resolved path, name shown in messages)."""


def _cycle(chain: _Chain, start: int) -> str:
    """``a.yaml -> b.yaml -> a.yaml``: the files of a circular ``extends``, relative to the first file's folder."""
    root = os.path.dirname(chain[0][1]) or "."
    names = [shown for _, shown in chain[start:]] + [chain[start][1]]
    try:
        names = [os.path.relpath(n, root) for n in names]
    except ValueError:  # another drive (Windows)
        pass
    return " -> ".join(names)


def _load_base(path: Path, source: str, name: str, line: int, chain: _Chain) -> tuple[dict[Any, Any], Origins]:
    """Read base file ``name`` that ``path`` (shown as ``source``) extends at ``line``."""
    base = path.parent / name
    shown = os.path.normpath(os.path.join(os.path.dirname(source), name))
    key = _resolved(base)
    seen = [p for p, _ in chain]
    if key in seen:
        raise UserError(f"line {line}: extends: circular extends: {_cycle(chain, seen.index(key))}", source=source)
    try:
        missing = "not found" if not base.exists() else "not a file" if not base.is_file() else None
    except (OSError, ValueError):
        missing = "cannot be read"
    if missing:
        raise UserError(f"line {line}: extends: base file {name!r} {missing} (looked for {shown})", source=source)
    return _load_tree(base, shown, (*chain, (key, shown)))


def _load_tree(path: Path, source: str, chain: _Chain) -> tuple[dict[Any, Any], Origins]:
    """One file's fields merged onto those of the files it extends, and where each value was written.

    Args:
        path: the file.
        source: its name in messages.
        chain: the files being read, this one last (to detect a circular ``extends``).

    Returns:
        The merged mapping (not yet validated) and its origins.

    """
    data, lines = _read_mapping(path, source)
    bases = _extends(data, lines, source)
    data = _anchor_files(data, path.parent)
    merged: dict[Any, Any] = {}
    origins: Origins = {}
    for name, line in bases:
        base_data, base_origins = _load_base(path, source, name, line, chain)
        merged = _merge(merged, base_data)
        origins.update(base_origins)
    origins.update({k: (source, n) for k, n in lines.items() if k[:1] != ("extends",)})
    return _merge(merged, data), origins


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file, with the files it ``extends``.

    Relative paths of the community's files (``imported``, ``survey``, ``people``) are taken relative to
    the file that wrote them;
    relative ``extends`` paths relative to the extending file's folder.

    Args:
        path: the scenario file.

    Returns:
        The validated scenario.

    Raises:
        UserError: naming the file, line and field of the first problems found.

    """
    p = Path(path)
    source = str(path)
    data, origins = _load_tree(p, source, ((_resolved(p), source),))
    return _validate(data, source, origins)
