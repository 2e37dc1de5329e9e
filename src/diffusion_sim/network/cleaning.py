"""What a survey import read and what its cleaning rules did: counts per rule and per relation.

:func:`diffusion_sim.network.survey.read_survey` fills a :class:`CleaningReport` and keeps it in
``community.cleaning``; ``diffusion-sim validate`` and ``run`` print it (:meth:`CleaningReport.lines`)
and diagnostics read it (:meth:`CleaningReport.to_frame`). The rules are stated in
:mod:`diffusion_sim.network.survey`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

import pandas as pd

__all__ = ["RULES", "CleaningReport", "RelationCounts"]

RULES: tuple[str, ...] = ("blank", "decimal_ids", "self_nominations", "unsurveyed", "repeated")
"""The cleaning rules, in the order they apply (stated in :mod:`diffusion_sim.network.survey`)."""

_RULE_LABELS = {
    "nominations": "nominations (people named)",
    "blank": "blank cells (no nomination)",
    "decimal_ids": "ids written as decimals, read as whole numbers",
    "self_nominations": "self-nominations, dropped",
    "unsurveyed": "named people not surveyed, dropped",
    "repeated": "repeated within a relation, merged",
    "ties": "ties kept",
}

# -------------------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class RelationCounts:
    """What cleaning did to the nominations of one relation (counts of nominations)."""

    nominations: int = 0
    """Non-blank cells (CSV) or edges (GraphML): every person named, before cleaning."""
    blank: int = 0
    """Blank cells: no nomination (not among ``nominations``)."""
    decimal_ids: int = 0
    """Named people whose id was written as a decimal (``1001.0``), read as a whole number."""
    self_nominations: int = 0
    """Dropped: respondents naming themselves."""
    unsurveyed: int = 0
    """Dropped: named people who are not respondents."""
    repeated: int = 0
    """Merged: a person named again by the same respondent in this relation."""
    ties: int = 0
    """Ties kept (``nominations - self_nominations - unsurveyed - repeated``)."""


@dataclass(frozen=True)
class CleaningReport:
    """What a survey import read and what its cleaning rules did, per rule and per relation.

    Attributes:
        files: the survey file (and, in the long form, the nominations file).
        respondents: people read (agents of the community).
        communities: respondents per community, in community order.
        relations: counts per relation, in the mapping's order.
        directed: whether the relations' ties are arcs (always, but for an undirected GraphML graph).
        decimal_ids: respondent ids, community values and egos written as decimals (``1001.0``).
        adopted: respondents with an adoption time (None without an adoption-time column).
        never: respondents coded as never adopted.
        unknown: respondents with a blank adoption time.
        start: the mapping's ``start``, or None.
        initial: respondents who adopted before ``start`` (0 without one).
        strict: whether the rules were errors (then every count of a rule is 0).

    """

    files: tuple[str, ...]
    respondents: int
    communities: dict[str, int]
    relations: dict[str, RelationCounts]
    directed: bool = True
    decimal_ids: int = 0
    adopted: int | None = None
    never: int = 0
    unknown: int = 0
    start: float | None = None
    initial: int = 0
    strict: bool = False

    def total(self, count: str) -> int:
        """A count of :class:`RelationCounts` summed over relations (``decimal_ids`` adds the respondents')."""
        out = sum(getattr(r, count) for r in self.relations.values())
        return out + (self.decimal_ids if count == "decimal_ids" else 0)

    @property
    def ties(self) -> int:
        """Ties kept, over all relations."""
        return self.total("ties")

    def to_frame(self) -> pd.DataFrame:
        """One row per relation and one column per count (:class:`RelationCounts`), plus a ``total`` row.

        The total's ``decimal_ids`` includes the respondents' ids (:attr:`decimal_ids`).
        """
        names = [f.name for f in fields(RelationCounts)]
        rows = {name: [getattr(r, c) for c in names] for name, r in self.relations.items()}
        rows["total"] = [self.total(c) for c in names]
        return pd.DataFrame.from_dict(rows, orient="index", columns=names).rename_axis("relation")

    def lines(self) -> list[str]:
        """The report as printed by ``diffusion-sim validate`` and ``run`` (no trailing newlines)."""
        names = list(self.relations)
        frame = self.to_frame()
        head = ["", "total", *names]
        rows = [
            [_RULE_LABELS[c], *(str(frame.at[r, c]) for r in ["total", *names])]
            for c in frame.columns  # the counts of RelationCounts, in its order
        ]
        width = [max(len(x[k]) for x in [head, *rows]) for k in range(len(head))]

        def fmt(cells: list[str]) -> str:
            return (
                "    "
                + "  ".join(c.ljust(width[k]) if k == 0 else c.rjust(width[k]) for k, c in enumerate(cells)).rstrip()
            )

        mode = "strict: each rule is an error" if self.strict else "rules: diffusion_sim.network.survey"
        out = [f"  survey cleaning ({', '.join(map(_shown, self.files))}; {mode}):", fmt(head), *map(fmt, rows)]
        if self.decimal_ids != self.total("decimal_ids"):
            out.append(
                f"    (of the ids written as decimals, {self.decimal_ids} are respondent ids, communities or egos)"
            )
        if self.adopted is not None:
            adoption = f"  adoption times: {self.adopted} adopted, {self.never} never adopted, {self.unknown} not known"
            if self.start is not None:
                adoption += f"; {self.initial} adopted before {self.start:g}: initial adopters"
            out.append(adoption)
        return out


def _shown(path: str) -> str:
    """A file name as printed: relative to the working directory when it is inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return path if rel.startswith("..") else rel
