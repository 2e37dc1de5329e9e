"""Reading YAML safely, with the line of every key: nothing in a file is constructed beyond plain data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from diffusion_sim.errors import UserError
from diffusion_sim.scenario.validation import _got

__all__ = ["to_yaml"]

_YAML_PREFIX = "tag:yaml.org,2002:"
_MERGE_TAG = _YAML_PREFIX + "merge"
_SAFE_TAGS = frozenset(t for t in yaml.SafeLoader.yaml_constructors if t is not None)

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


def to_yaml(data: Any) -> str:
    """YAML text of a scenario (every field, defaults filled in) or of a plain mapping."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
