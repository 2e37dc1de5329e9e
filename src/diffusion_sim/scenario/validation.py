"""Validating scenario mappings, with one readable message per problem: file, line, field, expectation."""

from __future__ import annotations

import re
import reprlib
from typing import Any

from pydantic import ValidationError

from diffusion_sim.errors import UserError
from diffusion_sim.scenario.introspect import _expected, _is_field_path, _model_at, _strip_tags
from diffusion_sim.scenario.schema import Scenario

__all__ = ["Origins", "format_validation_error", "scenario_from_dict"]

Origins = dict[tuple[str, ...], tuple[str, int]]
"""Where each value was written: dotted path (parts as text) -> (file, 1-based line of its key)."""

MAX_ERRORS = 8
"""Validation problems listed in one message; the rest are counted."""

_VALIDATOR_MESSAGE = re.compile(r"^(?P<path>[A-Za-z_]\w*(?:\.\w+)+) is (?P<got>.+?), but (?P<why>.+)$", re.S)

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60
_short.maxlevel = 3


# ------------------------------------------------------------------------- validation errors


def _got(value: Any) -> str:
    """A short repr of a value given by the user (long or deeply nested values are abbreviated)."""
    return _short.repr(value)


def _located_validator_message(msg: str, data: Any = None, root: Any = None) -> tuple[tuple[str, ...], str] | None:
    """Location and message of a model-level validator error that names its field in the text.

    ``"roles.household.threshold.mean is 2.0, but the fractional ... [0, 1]"`` becomes
    ``(("roles", "household", "threshold", "mean"), "the fractional ... [0, 1] (got 2.0)")``.
    """
    m = _VALIDATOR_MESSAGE.match(msg)
    if m is None:
        return None
    path = tuple(m["path"].split("."))
    parent = _model_at(path[:-1], data, root)  # data resolves list items (interventions.2)
    if not (_is_field_path(path) or (parent is not None and path[-1] in parent.model_fields)):
        return None
    return path, f"{m['why']} (got {m['got']})"


def _problem(e: Any, data: Any = None, root: Any = None) -> tuple[tuple[Any, ...], str]:
    """The location and a readable message of one pydantic error (``ErrorDetails``)."""
    loc, kind, msg = _strip_tags(tuple(e["loc"])), e["type"], e["msg"]
    parent = _model_at(loc[:-1], data, root)
    field = loc[-1] if loc and parent is not None and loc[-1] in parent.model_fields else None
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
        located = _located_validator_message(msg, data, root) if not loc else None
        return located if located is not None else (loc, msg)
    if kind == "extra_forbidden":
        valid = f"; expected one of: {', '.join(parent.model_fields)}" if parent is not None else ""
        return loc, f"unknown key{valid}"
    if kind == "invalid_key":
        return loc, f"keys must be text (got {_got(e.get('input'))})"
    if kind == "missing":
        return loc, "missing required field" + (f"; expected {_expected(parent, field)}" if field else "")
    if kind in ("model_type", "model_attributes_type", "dict_type") and field is not None:
        return loc, f"expected a section: {_expected(parent, field)} (got {_got(e.get('input'))})"
    text = f"{msg} (got {_got(e.get('input'))})"
    if field is not None and kind != "literal_error":
        text += f"; expected {_expected(parent, field)}"
    return loc, text


def _origin(loc: tuple[Any, ...], origins: Origins | None) -> tuple[str, int] | None:
    """Where the value at ``loc`` (or, failing that, its closest written parent) was written."""
    if not origins:
        return None
    path = tuple(str(p) for p in loc)
    for end in range(len(path), 0, -1):
        found = origins.get(path[:end])
        if found is not None:
            return found
    return None


def format_validation_error(
    err: ValidationError, source: str, origins: Origins | None = None, data: Any = None, root: Any = None
) -> UserError:
    """One readable message for a pydantic ValidationError: file, line, field path, problem, value given.

    Args:
        err: the validation error.
        source: what was validated (a file name, ``--set``); used when a value has no known origin.
        origins: where each value was written (from the file loader), to name the file and line.
        data: the mapping that was validated (resolves list items such as ``interventions.0``).
        root: the model that was validated (default: :class:`Scenario`; experiment files pass theirs).

    Returns:
        The error to raise. With one problem its text is ``FILE: line N: FIELD: PROBLEM``; with
        several it is ``SOURCE: K problems:`` and one such line per problem.

    """
    errors = err.errors()
    lines: list[tuple[str, int, str]] = []  # (file, line, "line N: field: problem")
    for e in errors[:MAX_ERRORS]:
        loc, msg = _problem(e, data, root)
        where = _origin(loc, origins)
        dotted = ".".join(str(p) for p in loc) or "(top level)"
        file, prefix = (where[0], f"line {where[1]}: ") if where else (source, "")
        lines.append((file, where[1] if where else 0, f"{prefix}{dotted}: {msg}"))
    lines.sort(key=lambda x: (x[0] != source, x[0], x[1]))
    if len(lines) == 1:
        out = UserError(lines[0][2], source=lines[0][0])
        out.field = ".".join(str(p) for p in _problem(errors[0], data, root)[0]) or None
        return out
    body = [f"{file}: {text}" for file, _, text in lines]
    if len(errors) > len(lines):
        body.append(f"... and {len(errors) - len(lines)} more")
    return UserError(f"{len(errors)} problems:\n  " + "\n  ".join(body), source=source)


# ----------------------------------------------------------------------------------- merging


def _merge(base: Any, over: Any) -> Any:
    """``over`` laid on ``base``: mappings merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base[k], v) if k in base else v
        return out
    return over


def _validate(data: dict[Any, Any], source: str, origins: Origins | None = None) -> Scenario:
    """Merge ``data`` onto the built-in scenario and validate it, raising :class:`UserError`."""
    merged = _merge(Scenario().model_dump(mode="python"), data)
    try:
        return Scenario.model_validate(merged)
    except ValidationError as err:
        raise format_validation_error(err, source, origins, merged) from None
    except RecursionError:
        raise UserError("the scenario is nested too deeply", source=source) from None


def scenario_from_dict(data: Any, source: str = "<scenario>") -> Scenario:
    """Validate a plain mapping as a :class:`Scenario`, raising :class:`UserError` on any problem.

    Fields a file leaves out keep the built-in scenario's values, at every depth: a file that sets
    only ``network.kin.degree`` keeps the built-in kin weight. ``extends`` is only understood in
    files (see :func:`load_scenario`), where it is relative to the file's folder.

    Args:
        data: the mapping of scenario fields (``None`` stands for an empty mapping).
        source: what to call it in error messages.

    Returns:
        The validated scenario.

    Raises:
        UserError: if ``data`` is not a mapping or a field is unknown, of the wrong type or out of bounds.

    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"expected a mapping of scenario fields, got {type(data).__name__}", source=source)
    if "extends" in data:
        raise UserError(
            "extends: only understood in a scenario file (relative to its folder); use load_scenario", source=source
        )
    return _validate(data, source)
