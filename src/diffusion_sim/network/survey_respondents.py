"""A survey's respondents: their ids, communities, roles and per-person values (:mod:`.survey` reads the nominations).

Split from :mod:`diffusion_sim.network.survey`, whose module docstring states the mapping and the cleaning rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from diffusion_sim.network.io_build import _flags, _integers
from diffusion_sim.network.io_tables import _got, _raise, _Table
from diffusion_sim.population import HOUSEHOLD, LEADER, ROLES, Population
from diffusion_sim.scenario.fields import LEADER_KINDS
from diffusion_sim.scenario.survey_schema import SurveyCommunity

ONE_COMMUNITY = "all"
"""The name of the one community of a survey without a community column."""


# ------------------------------------------------------------------------------------ reading ids


def _whole_numbers(text: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse ids: (value, written as a decimal, not a whole number); empty cells are neither."""
    given = (text != "").to_numpy()
    plain = text.str.fullmatch(r"[+-]?\d{1,18}").to_numpy(bool) & given
    values = np.zeros(len(text), np.int64)
    if plain.any():
        values[plain] = text[plain].astype(np.int64).to_numpy()
    rest = given & ~plain
    decimal = np.zeros(len(text), bool)
    if rest.any():
        num = pd.to_numeric(text.where(rest, "0"), errors="coerce").to_numpy(np.float64)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(num) & (num == np.round(num)) & (np.abs(num) < 2.0**53)
        decimal = rest & whole
        values[decimal] = num[decimal].astype(np.int64)
    return values, decimal, rest & ~decimal


def _names(text: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Community values as names: a value written as a decimal (``2.0``) becomes the whole number (``2``).

    Also which were written as decimals, and their whole-number values.
    """
    values, decimal, _ = _whole_numbers(text)
    out = text.copy()
    if decimal.any():
        out[decimal] = values[decimal].astype(str)
    return out, decimal, values


def _keys(community: np.ndarray | None, ids: np.ndarray) -> pd.Index:
    """Lookup keys of respondents: ``community:id`` (local ids) or ``id``."""
    ids_text = pd.Series(ids).astype(str)
    if community is None:
        return pd.Index(ids_text)
    return pd.Index(pd.Series(community).astype(str) + ":" + ids_text)


def _decimal_problem(strict: bool, t: _Table, decimal: np.ndarray, column: str, values: np.ndarray) -> int:
    """Count decimal ids; under ``strict`` the first one is an error."""
    if strict:
        text = t.col(column)
        t.fail(
            decimal,
            column,
            lambda i: (
                f"id written as a decimal ({text.iat[i]!r}); expected a whole number such as {values[i]} "
                f"(strict: true; with strict: false it is read as {values[i]})"
            ),
        )
    return int(decimal.sum())


def _community_names(t: _Table, column: str, strict: bool, whose: str) -> tuple[pd.Series, int]:
    """A community column as names (:func:`_names`) and how many were written as decimals; an empty cell is an error."""
    raw = t.col(column)
    t.fail((raw == "").to_numpy(), column, lambda i: f"empty community; expected {whose} community")
    names, decimal, values = _names(raw)
    return names, _decimal_problem(strict, t, decimal, column, values)


# ------------------------------------------------------------------------------------- respondents


@dataclass(eq=False)
class _Respondents:
    """The respondents of a survey: who they are and how to find them by id."""

    table: _Table
    ids: np.ndarray
    village: np.ndarray
    village_names: list[str]
    keys: pd.Index
    local: bool
    decimal_ids: int

    @property
    def n(self) -> int:
        return len(self.ids)

    def find(self, village: np.ndarray | None, ids: np.ndarray) -> np.ndarray:
        """Agent index of each id (in ``village`` when ids are local); -1 when not a respondent."""
        return self.keys.get_indexer(_keys(village if self.local else None, ids))


def _respondents(t: _Table, survey: SurveyCommunity, id_col: str, strict: bool) -> _Respondents:
    """Validate the respondents' ids and communities (one per row of ``t``)."""
    if len(t) == 0:
        where = "a line after the header" if t.unit == "lines" else "a node"
        _raise(f"no respondents: expected at least {where}, one per respondent", t.source)
    text = t.col(id_col)
    ids, decimal, bad = _whole_numbers(text)
    t.fail((text == "").to_numpy(), id_col, lambda i: "empty respondent id; expected a whole number")
    t.fail(bad, id_col, lambda i: f"expected a respondent id (a whole number), {_got(text.iat[i])}")
    n_decimal = _decimal_problem(strict, t, decimal, id_col, ids)

    comm_col = survey.community.lower() if survey.community is not None else None
    if comm_col is not None:
        names, comm_decimal = _community_names(t, comm_col, strict, "the respondent's")
        n_decimal += comm_decimal
        village, uniques = pd.factorize(names, sort=False)
        village_names = [str(v) for v in uniques]
    else:
        village, village_names = np.zeros(len(t), np.int64), [ONE_COMMUNITY]
    local = survey.ids == "local"
    keys = _keys(village if local else None, ids)
    dup = keys.duplicated(keep="first")

    def duplicate(i: int) -> str:
        first = int(np.flatnonzero(keys == keys[i])[0])
        where = f" in community {village_names[village[i]]!r}" if local else ""
        also = "; ids are unique in the file (ids: global)" if not local and comm_col is not None else ""
        if comm_col is None:  # the usual cause: ids numbered within each community, no community column named
            also = "; if ids are numbered within each community, name its column (community: COLUMN, ids: local)"
        return (
            f"respondent {ids[i]} is listed twice{where}, first on {t.place(first)}{also}; "
            "expected one row per respondent"
        )

    t.fail(dup, id_col, duplicate)
    return _Respondents(t, ids, village.astype(np.int32), village_names, keys, local, n_decimal)


def _mapped(t: _Table, column: str, values: dict[str, str], key: str, rows: np.ndarray, empty: str) -> np.ndarray:
    """Mapped value of a column's cells (object array; NaN where not listed); each cell in ``rows`` must be listed."""
    text = t.col(column)
    out = text.map(values).to_numpy(object)
    listed = ", ".join(map(repr, values))

    def problem(i: int) -> str:
        value = text.iat[i]
        what = f"unknown value {value!r}" if value else "empty value"
        return f"{what}, not in {key}.values; expected one of: {listed}{empty}"

    t.fail(rows & pd.isna(out), column, problem)
    return out


def _numbers_or_empty(t: _Table, column: str, expected: str) -> np.ndarray:
    """A number column: NaN where empty; an error for a cell that is not a finite number."""
    text = t.col(column)
    given = (text != "").to_numpy()
    num = pd.to_numeric(text.where(given, "nan"), errors="coerce").to_numpy(np.float64)
    t.fail(given & ~np.isfinite(num), column, lambda i: f"expected {expected}, {_got(text.iat[i])}")
    return num


def _thresholds(t: _Table, column: str, fractional: bool) -> np.ndarray:
    """Per-person thresholds: NaN where empty; a number from 0 (to 1 under the fractional rule)."""
    upper = 1.0 if fractional else 1000.0
    rule = " (the fractional threshold rule)" if fractional else ""
    expected = f"a threshold from 0 to {upper:g}{rule}, or empty to draw it from the role"
    text = t.col(column)
    num = _numbers_or_empty(t, column, expected)
    t.fail((num < 0) | (num > upper), column, lambda i: f"expected {expected}, {_got(text.iat[i])}")
    return num


def _adoption(t: _Table, survey: SurveyCommunity) -> tuple[np.ndarray, int, int]:
    """Adoption times (NaN: never or not known), and how many were coded never and left blank."""
    column = survey.adoption_time.lower()  # type: ignore[union-attr]
    text = t.col(column)
    never = np.zeros(len(t), bool)
    code = survey.never
    if code is not None:
        never = (text == code).to_numpy()
        code_num = pd.to_numeric(pd.Series([code]), errors="coerce").iat[0]
        if pd.notna(code_num):
            num = pd.to_numeric(text, errors="coerce").to_numpy(np.float64)
            never = never | (num == code_num)
    blank = (text == "").to_numpy()
    coded = f", the never-adopted code {code!r}" if code is not None else ""
    times = _numbers_or_empty(
        _Table(t.frame.assign(**{column: text.where(~never, "")}), t.source, t.place, t.unit, t.kind, t.present),
        column,
        f"a number (the time of adoption){coded} or empty (not known)",
    )
    return times, int(never.sum()), int(blank.sum())


def _population(t: _Table, r: _Respondents, survey: SurveyCommunity, fractional: bool) -> tuple[Population, int, int]:
    """Build the population from the respondents' table (mapped columns), validating every value.

    Returns:
        The population, and how many adoption times were coded never and left blank.

    """
    n = r.n
    role = np.full(n, HOUSEHOLD, np.int8)
    if survey.role is not None:
        column = survey.role.column.lower()
        given = (t.col(column) != "").to_numpy()
        mapped = _mapped(t, column, survey.role.values, "role", given, ", or empty for a household")
        role[given] = [ROLES.index(v) for v in mapped[given]]
    leader = role == LEADER
    kind = np.full(n, -1, np.int8)
    if survey.leader_kind is not None and leader.any():
        column = survey.leader_kind.column.lower()
        mapped = _mapped(t, column, survey.leader_kind.values, "leader_kind", leader, " (a leader needs a kind)")
        kind[leader] = [LEADER_KINDS.index(v) for v in mapped[leader]]
    household = role == HOUSEHOLD

    size = np.where(household, 1, 0)
    if survey.household_size is not None:
        got = _integers(t, survey.household_size.lower(), np.where(household, 1, 0))
        size = np.where(household, np.where(got < 0, 1, got), 0)
    marginalised = np.zeros(n, bool)
    if survey.marginalised is not None:
        marginalised = (_flags(t, survey.marginalised.lower()) > 0) & household
    threshold = _thresholds(t, survey.threshold.lower(), fractional) if survey.threshold is not None else None
    adoption_time = initial = None
    never = unknown = 0
    if survey.adoption_time is not None:
        adoption_time, never, unknown = _adoption(t, survey)
        if survey.start is not None:
            with np.errstate(invalid="ignore"):
                initial = adoption_time < survey.start
    return (
        Population(
            role=role,
            leader_kind=kind,
            village=r.village,
            household_size=size.astype(np.int16),
            marginalised=marginalised,
            congregation=np.full(n, -1, np.int32),
            catchment=np.full(n, -1, np.int32),
            n_villages=len(r.village_names),
            labels=r.ids.astype(str).astype(object),
            village_names=r.village_names,
            threshold=threshold,
            initial=initial,
            adoption_time=adoption_time,
        ),
        never,
        unknown,
    )


def _respondent_columns(survey: SurveyCommunity) -> list[str]:
    """Every column of the respondents' table the mapping reads (lower case, each once)."""
    cols = [
        survey.id,
        survey.community,
        survey.adoption_time,
        survey.role.column if survey.role else None,
        survey.leader_kind.column if survey.leader_kind else None,
        survey.marginalised,
        survey.household_size,
        survey.threshold,
    ]
    return list(dict.fromkeys(c.lower() for c in cols if c is not None))
