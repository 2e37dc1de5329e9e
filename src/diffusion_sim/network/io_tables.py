"""Reading a CSV as text columns with the line number of every row, and one clear error per problem."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd

from diffusion_sim.errors import UserError
from diffusion_sim.scenario.schema import LEADER_KINDS

__all__ = ["EDGE_COLUMNS", "EDGE_OPTIONAL", "NODE_COLUMNS", "NODE_OPTIONAL"]

NODE_COLUMNS: tuple[str, ...] = ("id", "role", "village")
"""Required node columns."""
NODE_OPTIONAL: tuple[str, ...] = (
    "leader_kind",
    "marginalised",
    "household_size",
    "congregation",
    "catchment",
)
"""Optional node columns."""
EDGE_COLUMNS: tuple[str, ...] = ("source", "target", "layer")
"""Required edge columns."""
EDGE_OPTIONAL: tuple[str, ...] = ("weight",)
"""Optional edge columns."""

_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no", "")
_MAX_HOUSEHOLD = int(np.iinfo(np.int16).max)
_RELIGIOUS = LEADER_KINDS.index("religious")
_GRAPHML_NS = "{http://graphml.graphdrawing.org/xmlns}"


# ---------------------------------------------------------------------------------------- tables


@dataclass(eq=False)
class _Table:
    """Rows of one input as stripped text columns, and how to name a row in a message.

    Attributes:
        frame: one text column per known column present in the input.
        source: file path, for messages.
        place: names row ``i`` (``"line 5"``, ``"node '7'"``).
        unit: plural of what a row is (``"lines"``, ``"nodes"``, ``"edges"``).
        kind: what a column is called (``"column"`` or ``"attribute"``).
        present: known columns the input really has (absent optional ones are all empty).

    """

    frame: pd.DataFrame
    source: str
    place: Callable[[int], str]
    unit: str
    kind: str
    present: frozenset[str]

    def __len__(self) -> int:
        return len(self.frame)

    def col(self, name: str) -> pd.Series:
        return self.frame[name]

    def fail(self, bad: np.ndarray, column: str, problem: Callable[[int], str]) -> None:
        """Raise for the first row flagged in ``bad`` (boolean mask), if any."""
        rows = np.flatnonzero(bad)
        if len(rows) == 0:
            return
        i = int(rows[0])
        more = f" (and {len(rows) - 1} more {self.unit})" if len(rows) > 1 else ""
        _raise(f"{self.place(i)}{more}: {self.kind} {column!r}: {problem(i)}", self.source, column)


def _raise(message: str, source: str, field: str | None = None) -> NoReturn:
    err = UserError(message, source=source)
    err.field = field  # kept for callers; the printed message already names the column
    raise err


def _got(value: str) -> str:
    return "got an empty value" if value == "" else f"got {value!r}"


def _check_file(path: Path) -> None:
    if not path.exists():
        _raise("file not found", str(path))
    if not path.is_file():
        _raise("not a file", str(path))


def _read_bytes(path: Path, expected: str) -> bytes:
    _check_file(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        _raise(f"cannot read file ({err.strerror})", str(path))
    if not raw.strip():
        _raise(f"the file is empty; expected {expected}", str(path))
    return raw


def _expected_columns(required: Sequence[str], optional: Sequence[str]) -> str:
    if not optional:
        return ", ".join(required)
    return f"{', '.join(required)} (optional: {', '.join(optional)})"


def _listed(names: Sequence[str], limit: int = 20) -> str:
    """``'a', 'b', 'c'``: quoted names, the first ``limit`` of them and how many more."""
    shown = ", ".join(repr(h) for h in names[:limit])
    return f"{shown} and {len(names) - limit} more" if len(names) > limit else shown


def _read_csv_table(
    path: str | os.PathLike,
    required: Sequence[str],
    optional: Sequence[str],
    *,
    other_columns: bool = False,
) -> _Table:
    """Read a CSV file as text: header on line 1, blank lines skipped, line numbers kept.

    Column names are compared in lower case. With ``other_columns`` false a column that is neither
    required nor optional is an error (a misspelt optional column would otherwise be ignored); with
    it true such columns are skipped (a survey has many columns the import does not map). A line is
    blank, and skipped, when every column read is empty.
    """
    p = Path(path)
    source = str(p)
    expected = _expected_columns(required, optional)
    raw = _read_bytes(p, f"a header line with the columns {expected}")
    try:
        df = pd.read_csv(
            io.BytesIO(raw),
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            index_col=False,
            encoding="utf-8-sig",
        )
    except UnicodeDecodeError as err:
        _raise(f"not UTF-8 text (byte {err.start}); save the file as UTF-8 CSV", source)
    except (pd.errors.ParserError, ValueError) as err:
        text = " ".join(str(err).split())
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
        if m:
            _raise(
                f"line {m[2]}: {m[3]} fields, but the header (line 1) has {m[1]}; "
                "expected one value per header column (quote values that contain commas)",
                source,
            )
        _raise(f"malformed CSV: {text}", source)
    df = df.fillna("")
    header = [str(h).strip().lower() for h in df.iloc[0]]
    for name in (*required, *optional):
        if header.count(name) > 1:
            _raise(f"line 1 (header): column {name!r} appears more than once", source, name)
    missing = [c for c in required if c not in header]
    if missing:
        found = _listed([h for h in header if h]) or "none"
        names = ", ".join(repr(c) for c in missing)
        _raise(
            f"line 1 (header): missing required column{'s' if len(missing) > 1 else ''} {names}; "
            f"expected columns {expected}; found {found}",
            source,
            missing[0],
        )
    unknown = [] if other_columns else [h for h in header if h and h not in (*required, *optional)]
    if unknown:
        _raise(
            f"line 1 (header): unknown column {unknown[0]!r}; expected columns {expected} "
            "(remove or rename the column: a misspelt optional column would otherwise be ignored)",
            source,
            unknown[0],
        )
    df.columns = header
    present = [c for c in (*required, *optional) if c in header]
    body = df.iloc[1:][present]
    # rows whose fields are all empty are blank lines: skip them, keeping line numbers
    keep = ~(body == "").all(axis=1).to_numpy()
    body = body.loc[keep]
    lines = body.index.to_numpy(np.int64) + 1  # header is row 0, line 1
    if b'"' in raw and len(body):
        # quoted fields may span lines: shift later rows by the newlines inside earlier rows
        inner = np.zeros(len(df), np.int64)
        for c in df.columns.unique():
            col = df[c] if isinstance(df[c], pd.Series) else df[c].iloc[:, 0]
            inner += col.str.count("\n").to_numpy(np.int64)
        shift = np.concatenate([[0], np.cumsum(inner)[:-1]])
        lines = lines + shift[body.index.to_numpy()]
    frame = pd.DataFrame({c: body[c].str.strip() for c in present}).reset_index(drop=True)
    for c in optional:
        if c not in frame:
            frame[c] = ""
    return _Table(
        frame=frame,
        source=source,
        place=lambda i: f"line {lines[i]}",
        unit="lines",
        kind="column",
        present=frozenset(present),
    )
