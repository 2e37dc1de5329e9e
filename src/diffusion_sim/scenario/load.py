"""Reading scenario files and applying ``--set PATH=VALUE`` overrides, with errors for people.

Files are read with YAML's safe loader: nothing in them is executed.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from diffusion_sim.errors import UserError
from diffusion_sim.scenario.schema import Scenario

__all__ = ["apply_overrides", "load_scenario", "parse_override", "scenario_from_dict", "format_validation_error"]


def _submodel(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model class inside a field annotation (``X``, ``X | None``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _submodel(arg)
            if found is not None:
                return found
    return None


def _expected(model: type[BaseModel], name: str) -> str:
    field = model.model_fields[name]
    bits = []
    for meta in field.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            v = getattr(meta, attr, None)
            if v is not None:
                bits.append(f"{sym} {v}")
    ann = field.annotation
    tname = getattr(ann, "__name__", None) or str(ann).replace("typing.", "")
    return f"{tname}{' ' + ', '.join(bits) if bits else ''}"


def format_validation_error(err: ValidationError, source: str) -> UserError:
    """One readable message for a pydantic ValidationError: field path, problem, value given."""
    lines = []
    for e in err.errors()[:8]:
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
            parent = _model_at(list(e["loc"][:-1]))
            if parent is not None:
                msg += f"; expected one of: {', '.join(parent.model_fields)}"
        elif e["type"] == "missing":
            msg = "missing required field"
        elif e["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")
        else:
            msg = f"{msg} (got {e.get('input')!r})"
        lines.append(f"{loc}: {msg}")
    more = len(err.errors()) - len(lines)
    if more > 0:
        lines.append(f"... and {more} more")
    text = lines[0] if len(lines) == 1 else "\n  " + "\n  ".join(lines)
    return UserError(text, source=source)


def _model_at(path: list[Any]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Scenario
    for part in path:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return None
        model = _submodel(model.model_fields[part].annotation)
    return model


def _merge(base: Any, over: Any) -> Any:
    """``over`` laid on ``base``: mappings merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base[k], v) if k in base else v
        return out
    return over


def scenario_from_dict(data: Any, source: str = "<scenario>") -> Scenario:
    """Validate a plain mapping as a :class:`Scenario`, raising :class:`UserError` on any problem.

    Fields a file leaves out keep the built-in scenario's values, at every depth: a file that sets
    only ``network.kin.degree`` keeps the built-in kin weight.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"expected a mapping of scenario fields, got {type(data).__name__}", source=source)
    try:
        return Scenario.model_validate(_merge(Scenario().model_dump(mode="python"), data))
    except ValidationError as err:
        raise format_validation_error(err, source) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file.

    Relative paths of imported community files are taken relative to the scenario file.
    """
    p = Path(path)
    if not p.exists():
        raise UserError("file not found", source=str(p))
    if not p.is_file():
        raise UserError("not a file", source=str(p))
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read file ({err})", source=str(p)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise UserError(f"{where}malformed YAML: {problem}", source=str(p)) from None
    if data is None:
        raise UserError("the file is empty; expected a mapping of scenario fields", source=str(p))
    scenario = scenario_from_dict(data, source=str(p))
    imported = scenario.community.imported
    if imported is not None:
        fixed = {
            k: str((p.parent / v).resolve()) if v is not None and not Path(v).is_absolute() else v
            for k, v in imported.model_dump().items()
        }
        scenario = scenario.model_copy(
            update={"community": scenario.community.model_copy(update={"imported": type(imported)(**fixed)})}
        )
    return scenario


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``PATH=VALUE`` and parse VALUE as a YAML scalar (``3`` is an int, ``0.5`` a float)."""
    if "=" not in text:
        raise UserError(f"expected PATH=VALUE, got {text!r}", source="--set")
    path, raw = text.split("=", 1)
    path = path.strip()
    if not path:
        raise UserError(f"expected PATH=VALUE with a dotted path, got {text!r}", source="--set")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return path, value


def apply_overrides(scenario: Scenario, overrides: list[str] | dict[str, Any], source: str = "--set") -> Scenario:
    """Return a new scenario with dotted-path overrides applied and validated.

    ``overrides`` is a list of ``"PATH=VALUE"`` strings or a ``{path: value}`` mapping. An unknown
    path is an error naming the valid keys at that level.
    """
    items = [parse_override(o) for o in overrides] if isinstance(overrides, list) else list(overrides.items())
    data = scenario.model_dump(mode="python")
    for path, value in items:
        parts = path.split(".")
        model: type[BaseModel] | None = Scenario
        node = data
        for i, part in enumerate(parts):
            if model is None or part not in model.model_fields:
                where = ".".join(parts[:i]) or "the top level"
                valid = ", ".join(model.model_fields) if model is not None else "(none: not a section)"
                raise UserError(
                    f"unknown parameter {path!r}: {where} has no key {part!r}; expected one of: {valid}", source=source
                )
            if i == len(parts) - 1:
                node[part] = value
            else:
                sub = _submodel(model.model_fields[part].annotation)
                if sub is None:
                    raise UserError(
                        f"unknown parameter {path!r}: {'.'.join(parts[: i + 1])} is a value, not a section",
                        source=source,
                    )
                if node.get(part) is None:
                    node[part] = {}
                node = node[part]
                model = sub
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise format_validation_error(err, source) from None
