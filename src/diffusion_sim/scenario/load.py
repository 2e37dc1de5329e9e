"""Reading scenario files and applying ``--set PATH=VALUE`` overrides, with errors for people.

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
import re
import reprlib
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from diffusion_sim.errors import UserError
from diffusion_sim.scenario.schema import Scenario

__all__ = [
    "apply_overrides",
    "format_validation_error",
    "load_scenario",
    "parse_override",
    "scenario_from_dict",
    "scenario_json_schema",
]

Origins = dict[tuple[str, ...], tuple[str, int]]
"""Where each value was written: dotted path (parts as text) -> (file, 1-based line of its key)."""

MAX_ERRORS = 8
"""Validation problems listed in one message; the rest are counted."""

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_YAML_PREFIX = "tag:yaml.org,2002:"
_MERGE_TAG = _YAML_PREFIX + "merge"
_SAFE_TAGS = frozenset(t for t in yaml.SafeLoader.yaml_constructors if t is not None)
_IMPORTED_KEYS = ("nodes", "edges", "graphml")
_VALIDATOR_MESSAGE = re.compile(r"^(?P<path>[A-Za-z_]\w*(?:\.\w+)+) is (?P<got>.+?), but (?P<why>.+)$", re.S)

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60
_short.maxlevel = 3


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


def _model_at(path: list[Any] | tuple[Any, ...], data: Any = None) -> type[BaseModel] | None:
    """The model class of the section at a dotted path (``[]``: :class:`Scenario`), if there is one.

    List items (``interventions.0``) are resolved by their ``type`` when ``data`` (the mapping
    being validated) is given, else only when the list holds a single model.
    """
    model: type[BaseModel] | None = Scenario
    items: dict[str, type[BaseModel]] | None = None
    node = data
    for part in path:
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
        model = _submodel(ann)
    return model


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


# ------------------------------------------------------------------------- validation errors


def _got(value: Any) -> str:
    """A short repr of a value given by the user (long or deeply nested values are abbreviated)."""
    return _short.repr(value)


def _located_validator_message(msg: str) -> tuple[tuple[str, ...], str] | None:
    """Location and message of a model-level validator error that names its field in the text.

    ``"roles.household.threshold.mean is 2.0, but the fractional ... [0, 1]"`` becomes
    ``(("roles", "household", "threshold", "mean"), "the fractional ... [0, 1] (got 2.0)")``.
    """
    m = _VALIDATOR_MESSAGE.match(msg)
    if m is None:
        return None
    path = tuple(m["path"].split("."))
    if not _is_field_path(path):
        return None
    return path, f"{m['why']} (got {m['got']})"


def _problem(e: Any, data: Any = None) -> tuple[tuple[Any, ...], str]:
    """The location and a readable message of one pydantic error (``ErrorDetails``)."""
    loc, kind, msg = _strip_tags(tuple(e["loc"])), e["type"], e["msg"]
    parent = _model_at(loc[:-1], data)
    field = loc[-1] if loc and parent is not None and loc[-1] in parent.model_fields else None
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
        located = _located_validator_message(msg) if not loc else None
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
    err: ValidationError, source: str, origins: Origins | None = None, data: Any = None
) -> UserError:
    """One readable message for a pydantic ValidationError: file, line, field path, problem, value given.

    Args:
        err: the validation error.
        source: what was validated (a file name, ``--set``); used when a value has no known origin.
        origins: where each value was written (from the file loader), to name the file and line.
        data: the mapping that was validated (resolves list items such as ``interventions.0``).

    Returns:
        The error to raise. With one problem its text is ``FILE: line N: FIELD: PROBLEM``; with
        several it is ``SOURCE: K problems:`` and one such line per problem.

    """
    errors = err.errors()
    lines: list[tuple[str, int, str]] = []  # (file, line, "line N: field: problem")
    for e in errors[:MAX_ERRORS]:
        loc, msg = _problem(e, data)
        where = _origin(loc, origins)
        dotted = ".".join(str(p) for p in loc) or "(top level)"
        file, prefix = (where[0], f"line {where[1]}: ") if where else (source, "")
        lines.append((file, where[1] if where else 0, f"{prefix}{dotted}: {msg}"))
    lines.sort(key=lambda x: (x[0] != source, x[0], x[1]))
    if len(lines) == 1:
        out = UserError(lines[0][2], source=lines[0][0])
        out.field = ".".join(str(p) for p in _problem(errors[0], data)[0]) or None
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


# ------------------------------------------------------------------------------ reading YAML


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, whose value errors (a date like ``2020-13-45``, ``!!int abc``) carry a line.

    PyYAML's safe constructor raises plain ``ValueError``, ``IndexError`` or ``AttributeError`` for
    such values; here they become :class:`yaml.constructor.ConstructorError` with the node's position.
    """

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        """Construct one node, turning a bad value into a YAML error that has a position."""
        try:
            return super().construct_object(node, deep=deep)
        except (yaml.YAMLError, RecursionError):
            raise
        except Exception as err:  # any failure of PyYAML's constructors on a value is a bad value
            value = f" {_got(node.value)}" if isinstance(node, ScalarNode) else ""
            what = "a date" if node.tag == _YAML_PREFIX + "timestamp" else _show_tag(node.tag)
            problem = f"cannot read{value} as {what} ({err}); put it in quotes if it is text"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None


def _show_tag(tag: str) -> str:
    """``tag:yaml.org,2002:int`` as ``!!int``."""
    return "!!" + tag.removeprefix(_YAML_PREFIX) if tag.startswith(_YAML_PREFIX) else tag


def _line(node: Node) -> int:
    """1-based line where a node starts."""
    return node.start_mark.line + 1


def _yaml_error(err: yaml.YAMLError, text: str) -> str:
    """A one-line message (with line and column) for a YAML syntax or reader error."""
    mark = getattr(err, "problem_mark", None)
    if mark is not None:
        where = f"line {mark.line + 1}, column {mark.column + 1}: "
    elif isinstance(err, yaml.reader.ReaderError):
        line = text.count("\n", 0, err.position) + 1
        where = f"line {line}: "
    else:
        where = ""
    if isinstance(err, yaml.reader.ReaderError):
        code = err.character if isinstance(err.character, int) else ord(str(err.character)[:1] or "?")
        problem = f"character {chr(code)!r} (U+{code:04X}) is not allowed in YAML"
    else:
        problem = getattr(err, "problem", None) or str(err)
    return f"{where}malformed YAML: {_with_context(err, problem)}"


def _with_context(err: yaml.YAMLError, problem: str) -> str:
    """A YAML problem with its context (``while parsing a flow sequence that starts at line 2``)."""
    context, start, mark = (getattr(err, a, None) for a in ("context", "context_mark", "problem_mark"))
    if not context:
        return problem
    if not context.startswith("while"):
        return f"{context}, {problem}"
    if start is not None and (mark is None or start.line != mark.line):
        return f"{problem} ({context} that starts at line {start.line + 1}, column {start.column + 1})"
    return problem


class _Indexer:
    """Walk a composed YAML tree once: refuse unsafe tags and duplicate keys, and note every key's line."""

    def __init__(self, loader: _Loader, source: str):
        self.loader = loader
        self.source = source
        self.lines: dict[tuple[str, ...], int] = {}
        self.seen: set[int] = set()

    def walk(self, node: Node, path: tuple[str, ...] | None) -> None:
        """Check ``node`` and everything below it, noting lines under ``path`` (``None``: note nothing).

        Raises:
            UserError: for a tag that is not plain data, or a key given twice in one mapping.

        """
        self.check_tag(node)
        if id(node) in self.seen:  # an alias: already walked where its anchor is
            return
        self.seen.add(id(node))
        if isinstance(node, MappingNode):
            self.walk_mapping(node, path)
        elif isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                self.note(path, str(i), item)
                self.walk(item, None if path is None else (*path, str(i)))

    def note(self, path: tuple[str, ...] | None, key: str, node: Node) -> None:
        """Note the line of ``node``, written at ``path + (key,)``."""
        if path is not None:
            self.lines[(*path, key)] = _line(node)

    def check_tag(self, node: Node) -> None:
        """Refuse a tag the safe loader would not build (``!!python/...``, ``!custom``)."""
        if node.tag not in _SAFE_TAGS:
            raise UserError(
                f"line {_line(node)}: malformed YAML: tag {_show_tag(node.tag)!r} is not allowed; scenario "
                "files hold plain data (numbers, text, true/false, lists, mappings) and nothing in them is executed",
                source=self.source,
            )

    def key(self, node: Node) -> Any:
        """The constructed value of a scalar key (``None`` for a list or mapping used as a key)."""
        self.walk(node, None)
        return self.loader.construct_object(node, deep=True) if isinstance(node, ScalarNode) else None

    def walk_mapping(self, node: MappingNode, path: tuple[str, ...] | None) -> None:
        """Note merged-in (``<<``) keys first, then the mapping's own keys, refusing duplicates."""
        for k, v in node.value:
            if k.tag == _MERGE_TAG:
                self.walk(v, path)
                for merged in v.value if isinstance(v, SequenceNode) else [v]:
                    for mk, _ in merged.value if isinstance(merged, MappingNode) else []:
                        self.note(path, str(self.key(mk)), mk)
        first: dict[Any, Node] = {}
        for k, v in node.value:
            if k.tag == _MERGE_TAG:
                continue
            key = self.key(k)
            if key is None:  # a list or mapping as a key: the constructor refuses it
                self.walk(v, None)
                continue
            self.check_duplicate(key, k, first, path or ())
            self.note(path, str(key), k)
            self.walk(v, None if path is None else (*path, str(key)))

    def check_duplicate(self, key: Any, node: Node, first: dict[Any, Node], path: tuple[str, ...]) -> None:
        """Refuse a key already given in the same mapping (YAML would silently keep the last)."""
        try:
            earlier = first.setdefault(key, node)
        except TypeError:  # an unhashable key: the constructor reports it
            return
        if earlier is not node:
            raise UserError(
                f"line {_line(node)}: {'.'.join((*path, str(key)))}: duplicate key (also at line {_line(earlier)}); "
                "YAML would silently keep only the last value, so remove one of them",
                source=self.source,
            )


def _compose(text: str, source: str) -> tuple[Any, dict[tuple[str, ...], int], int]:
    """Compose, check and construct one YAML document (may raise :class:`yaml.YAMLError`).

    Returns:
        The data, the line of every key (by dotted path) and the line where the document starts.

    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}, 1
        indexer = _Indexer(loader, source)
        indexer.walk(node, ())
        return loader.construct_document(node), indexer.lines, _line(node)
    finally:
        loader.dispose()


def _parse(text: str, source: str) -> tuple[Any, dict[tuple[str, ...], int], int]:
    """:func:`_compose`, with every YAML problem turned into a :class:`UserError` naming the line."""
    try:
        return _compose(text, source)
    except yaml.YAMLError as err:
        raise UserError(_yaml_error(err, text), source=source) from None
    except RecursionError:
        raise UserError("malformed YAML: nested too deeply to be a scenario", source=source) from None


def _read_text(path: Path, source: str) -> str:
    """The text of a UTF-8 file (a byte-order mark is allowed), or a :class:`UserError`."""
    try:
        if not path.exists():
            raise UserError("file not found", source=source)
        if not path.is_file():
            raise UserError("not a file", source=source)
        raw = path.read_bytes()
    except (OSError, ValueError) as err:
        raise UserError(f"cannot read file ({getattr(err, 'strerror', None) or err})", source=source) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - raw.rfind(b"\n", 0, err.start)
        raise UserError(
            f"line {line}, column {column}: not UTF-8 text: byte 0x{raw[err.start]:02x} cannot be decoded; "
            "save the file with UTF-8 encoding",
            source=source,
        ) from None


def _kind(value: Any) -> str:
    """What a value is, in words (``a list``, ``text``, ``a number``)."""
    kinds = {list: "a list", str: "text", int: "a number", float: "a number", bool: "true/false"}
    return kinds.get(type(value), type(value).__name__)


def _read_mapping(path: Path, source: str) -> tuple[dict[Any, Any], dict[tuple[str, ...], int]]:
    """The top-level mapping of one scenario file and the line of every key in it."""
    data, lines, top = _parse(_read_text(path, source), source)
    if data is None:
        raise UserError("the file is empty; expected a mapping of scenario fields", source=source)
    if not isinstance(data, dict):
        raise UserError(
            f"line {top}: expected a mapping of scenario fields (key: value lines) at the top level, got {_kind(data)}",
            source=source,
        )
    return data, lines


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


def _anchor_imported(data: dict[Any, Any], folder: Path) -> dict[Any, Any]:
    """``community.imported`` file names made relative to the folder of the file that wrote them."""
    community = data.get("community")
    imported = community.get("imported") if isinstance(community, dict) else None
    if not isinstance(imported, dict):
        return data
    fixed = {k: _anchored(v, folder) if k in _IMPORTED_KEYS else v for k, v in imported.items()}
    return {**data, "community": {**community, "imported": fixed}}


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
    data = _anchor_imported(data, path.parent)
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

    Relative paths of imported community files are taken relative to the file that wrote them;
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
    node: Any = data
    for i, part in enumerate(parts):
        where = ".".join(parts[:i]) or "the top level"
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
        if sub is None and _list_item_models(ann) is None:
            raise UserError(
                f"unknown parameter {path!r}: {'.'.join(parts[: i + 1])} is a value, not a section", source=source
            )
        if node.get(part) is None:
            node[part] = [] if sub is None else {}
        node = node[part]
        model = sub
