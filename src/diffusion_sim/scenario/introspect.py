"""Navigating the scenario schema by dotted paths: sections, list items, expected types; the JSON Schema."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel

from diffusion_sim.scenario.schema import Scenario

__all__ = ["scenario_json_schema"]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# ------------------------------------------------------------------------------ schema helpers


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


def _dict_item_model(annotation: Any) -> type[BaseModel] | None:
    """The value model of a ``dict[str, X]`` field (``community.survey.relations``), if any."""
    if typing.get_origin(annotation) is not dict:
        return None
    value = typing.get_args(annotation)[1]
    return value if isinstance(value, type) and issubclass(value, BaseModel) else None


def _type_name(annotation: Any) -> str:
    """A short readable name of a field's type (``int``, ``number``, ``one of 'a', 'b'``)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    sub = _submodel(annotation)
    if sub is not None:
        return f"a mapping with keys {', '.join(sub.model_fields)}"
    names = {float: "number", bool: "true or false", str: "text", type(None): "null"}
    return names.get(annotation) or getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def _expected(model: type[BaseModel], name: str) -> str:
    """What field ``name`` of ``model`` accepts: its type and bounds, e.g. ``int >= 1, <= 20000000``."""
    field = model.model_fields[name]
    bits = []
    for meta in field.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            v = getattr(meta, attr, None)
            if v is not None:
                bits.append(f"{sym} {v}")
        for attr, sym in (("min_length", ">="), ("max_length", "<=")):
            v = getattr(meta, attr, None)
            if v is not None:
                bits.append(f"length {sym} {v}")
    ann, nullable = _without_none(field.annotation)
    return f"{_type_name(ann)}{' ' + ', '.join(bits) if bits else ''}{' (or null)' if nullable else ''}"


def _without_none(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` as ``(X, True)``; any other annotation as ``(annotation, False)``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 < len(typing.get_args(annotation)):
            return args[0], True
    return annotation, False


def _list_item_models(annotation: Any) -> dict[str, type[BaseModel]] | None:
    """The item models of a ``list[X]`` field, by their ``type`` tag (``""`` for a single model).

    None for a field that is not a list of models.
    """
    if typing.get_origin(annotation) is not list:
        return None
    (item,) = typing.get_args(annotation)
    if typing.get_origin(item) is typing.Annotated:
        item = typing.get_args(item)[0]
    members = typing.get_args(item) if typing.get_origin(item) in (typing.Union, types.UnionType) else (item,)
    out: dict[str, type[BaseModel]] = {}
    for m in members:
        if isinstance(m, type) and issubclass(m, BaseModel):
            tag = m.model_fields["type"].annotation if "type" in m.model_fields else None
            out[typing.get_args(tag)[0] if tag is not None else ""] = m
    return out or None


def _strip_tags(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A pydantic error location without the union tags it inserts after list indices.

    ``interventions.0.home_visits.visits`` becomes ``interventions.0.visits``.
    """
    out: list[Any] = []
    model: type[BaseModel] | None = Scenario
    items: dict[str, type[BaseModel]] | None = None
    k = 0
    while k < len(loc):
        part = loc[k]
        out.append(part)
        if items is not None and isinstance(part, int):
            nxt = loc[k + 1] if k + 1 < len(loc) else None
            if nxt in items and nxt != "":
                model, k = items[nxt], k + 1  # skip the tag
            else:
                model = items.get("")
            items = None
        elif model is not None and isinstance(part, str) and part in model.model_fields:
            ann = model.model_fields[part].annotation
            items = _list_item_models(ann)
            model = _submodel(ann)
        else:
            model, items = None, None
        k += 1
    return tuple(out)


def _model_at(
    path: list[Any] | tuple[Any, ...], data: Any = None, root: type[BaseModel] | None = None
) -> type[BaseModel] | None:
    """The model class of the section at a dotted path (``[]``: ``root``, :class:`Scenario` by default), if any.

    List items (``interventions.0``) are resolved by their ``type`` when ``data`` (the mapping
    being validated) is given, else only when the list holds a single model.
    """
    model: type[BaseModel] | None = root or Scenario
    items: dict[str, type[BaseModel]] | None = None
    keyed: type[BaseModel] | None = None  # the section is a mapping of names to this model
    node = data
    for part in path:
        if keyed is not None:
            model, keyed = keyed, None
            node = node.get(part) if isinstance(node, dict) else None
            continue
        if items is not None:
            try:
                index = int(part)
                node = node[index] if isinstance(node, list) else None
            except (ValueError, IndexError, TypeError):
                return None
            tag = node.get("type") if isinstance(node, dict) else None
            model, items = items.get(tag) if tag is not None else items.get(""), None
            continue
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return None
        ann = model.model_fields[part].annotation
        node = node.get(part) if isinstance(node, dict) else None
        items = _list_item_models(ann)
        keyed = _dict_item_model(ann)
        model = _submodel(ann)
    return None if keyed is not None else model


def _is_field_path(path: tuple[str, ...]) -> bool:
    """Whether a dotted path names a field of :class:`Scenario` (at any depth)."""
    parent = _model_at(path[:-1])
    return parent is not None and path[-1] in parent.model_fields


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file, for editors (completion, hover help, red squiggles).

    It is :meth:`Scenario.model_json_schema` plus the file-only ``extends`` key, a ``$schema``
    dialect and a title. Every field has a default, so no key is required.

    Returns:
        The schema as a JSON-serialisable mapping.

    """
    schema = Scenario.model_json_schema()
    extends = {
        "description": (
            "Base scenario file(s) to inherit, relative to this file's folder; a list is applied in order. "
            "This file's fields are merged onto the base's (mappings key by key, other values replace)."
        ),
        "anyOf": [
            {"type": "string", "minLength": 1},
            {"type": "array", "items": {"type": "string", "minLength": 1}},
        ],
    }
    schema["properties"] = {"extends": extends, **schema["properties"]}
    return {"$schema": JSON_SCHEMA_DIALECT, **schema, "title": "diffusion-sim scenario"}
