"""``--set PATH=VALUE``: parsing overrides and applying them by dotted path, checked against the schema."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from diffusion_sim.errors import UserError
from diffusion_sim.scenario.introspect import _dict_item_model, _list_item_models, _model_at, _submodel
from diffusion_sim.scenario.schema import Scenario
from diffusion_sim.scenario.validation import format_validation_error

__all__ = ["apply_overrides", "parse_override"]

# --------------------------------------------------------------------------------- overrides


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
    except (yaml.YAMLError, ValueError, AttributeError, RecursionError):
        value = raw
    return path, value


def apply_overrides(scenario: Scenario, overrides: list[str] | dict[str, Any], source: str = "--set") -> Scenario:
    """Return a new scenario with dotted-path overrides applied and validated.

    ``overrides`` is a list of ``"PATH=VALUE"`` strings or a ``{path: value}`` mapping. An unknown
    path is an error naming the valid keys at that level.
    """
    items = [parse_override(o) for o in overrides] if isinstance(overrides, list) else list(overrides.items())
    data = scenario.model_dump(mode="python", exclude_unset=False)
    for path, value in items:
        _set_path(data, path, value, source)
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise format_validation_error(err, source, None, data) from None


def _set_path(data: dict[str, Any], path: str, value: Any, source: str) -> None:
    """Set ``value`` at dotted ``path`` in a scenario mapping, checking every key against the schema.

    List items are addressed by index (``interventions.0.conversion``) and must exist.
    """
    parts = path.split(".")
    model: type[BaseModel] | None = Scenario
    keyed: type[BaseModel] | None = None  # node is a mapping of names to this model (survey relations)
    node: Any = data
    for i, part in enumerate(parts):
        where = ".".join(parts[:i]) or "the top level"
        if keyed is not None:
            if part not in node:
                names = ", ".join(map(str, node)) or "(none)"
                raise UserError(
                    f"unknown parameter {path!r}: {where} has no entry {part!r}; expected one of: {names}",
                    source=source,
                )
            if i == len(parts) - 1:
                node[part] = value
                return
            node, model, keyed = node[part], keyed, None
            continue
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise UserError(
                    f"unknown parameter {path!r}: {where} is a list of {len(node)} item(s); "
                    f"expected an index 0..{len(node) - 1}",
                    source=source,
                )
            item = node[int(part)]
            model = _model_at(parts[: i + 1], data)
            if i == len(parts) - 1:
                node[int(part)] = value
                return
            node = item
            continue
        if model is None or part not in model.model_fields:
            valid = ", ".join(model.model_fields) if model is not None else "(none: not a section)"
            raise UserError(
                f"unknown parameter {path!r}: {where} has no key {part!r}; expected one of: {valid}", source=source
            )
        if i == len(parts) - 1:
            node[part] = value
            return
        ann = model.model_fields[part].annotation
        sub = _submodel(ann)
        keyed = _dict_item_model(ann)
        if sub is None and keyed is None and _list_item_models(ann) is None:
            raise UserError(
                f"unknown parameter {path!r}: {'.'.join(parts[: i + 1])} is a value, not a section", source=source
            )
        if node.get(part) is None:
            node[part] = [] if sub is None and keyed is None else {}
        node = node[part]
        model = sub
