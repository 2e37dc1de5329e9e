"""Schema of a network survey import (``community.survey``): which column of the survey means what.

The reader is :mod:`diffusion_sim.network.survey`, whose module docstring states the formats and the
cleaning rules. This module only checks that the mapping is complete and consistent; the files are
read when the community is built (and by ``diffusion-sim validate``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator, model_validator

from diffusion_sim.scenario.fields import LAYERS, Strict

__all__ = ["LeaderKindMapping", "Relation", "RoleMapping", "SurveyCommunity", "is_graphml"]

_RELATION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,49}$")


def is_graphml(path: str) -> bool:
    """Whether a survey file is read as GraphML (its name ends in ``.graphml``, any case) rather than CSV."""
    return path.strip().lower().endswith(".graphml")


def _code_text(value: Any) -> Any:
    """A number written in YAML (``18``, ``1``) as the text it stands for in a table; other values unchanged."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


def _keys_as_text(value: Any) -> Any:
    """A mapping whose number keys (``{1: leader}`` in YAML) become text, as the cells they match are."""
    if isinstance(value, dict):
        return {_code_text(k): v for k, v in value.items()}
    return value


def _list_or_relation(schema: dict[str, Any]) -> None:
    """JSON Schema of ``relations``: each value a list of columns (the short form) or a :class:`Relation`."""
    relation = schema["additionalProperties"]
    schema["additionalProperties"] = {
        "anyOf": [{"type": "array", "items": {"type": "string", "minLength": 1}}, relation]
    }


Code = Annotated[
    str,
    BeforeValidator(_code_text),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string", "minLength": 1}]}),
]
"""A value code of a survey column: text, or a number written as such in YAML."""

Column = Annotated[str, Field(min_length=1, max_length=200)]
"""A column name (CSV) or attribute name (GraphML); compared without case, as CSV headers are."""


class Relation(Strict):
    """One relation (name generator) of the survey: its nominations become one directed layer."""

    columns: list[Column] = Field(
        default_factory=list,
        max_length=1000,
        description="Wide form: the columns holding this relation's nominations, one named person per cell, e.g. [net1_1, net1_2, net1_3]; a list alone is short for {columns: [...]}. Empty in the long form and in GraphML, where the relation column names each nomination's relation.",
    )
    weight: float = Field(
        1.0,
        ge=0.0,
        le=100.0,
        description="Weight of this relation's layer in exposure (the layer weight; every tie of the layer has tie weight 1).",
    )

    @model_validator(mode="before")
    @classmethod
    def _list_is_columns(cls, data: Any) -> Any:
        return {"columns": data} if isinstance(data, list) else data


class RoleMapping(Strict):
    """Roles from a column: each listed value gives a role; an empty cell is a household."""

    column: Column = Field(description="Column (GraphML: node attribute) whose value says a person's role.")
    values: Annotated[
        dict[str, Literal["household", "leader", "health_worker"]],
        BeforeValidator(_keys_as_text),
    ] = Field(
        min_length=1,
        description="Value in the column -> household, leader or health_worker. A non-empty value not listed is an error; an empty cell is a household.",
    )


class LeaderKindMapping(Strict):
    """Leader kinds from a column, read for leaders only."""

    column: Column = Field(description="Column (GraphML: node attribute) whose value says a leader's kind.")
    values: Annotated[
        dict[str, Literal["religious", "traditional", "youth", "women"]],
        BeforeValidator(_keys_as_text),
    ] = Field(
        min_length=1,
        description="Value in the column -> religious, traditional, youth or women. Every leader needs a listed value; the column is not read for anyone else.",
    )


class SurveyCommunity(Strict):
    """A community read from a network survey: respondents, their answers and whom they named."""

    file: str = Field(
        min_length=1,
        description="The survey: a CSV file (one row per respondent) or a GraphML file (name ending .graphml: one node per respondent, one edge per nomination). Relative to the scenario file.",
    )
    format: Literal["wide", "long"] | None = Field(
        None,
        description="CSV only. wide (the default): the nominations are columns of the respondents' rows (see relations). long: one row per respondent in file, and the nominations in their own CSV, one per row (see nominations).",
    )
    nominations: str | None = Field(
        None,
        min_length=1,
        description="Long form only: CSV of nominations, one row per named person, with the ego and alter columns, the relation column (unless there is one relation) and, when ids are local, the community column. Relative to the scenario file.",
    )
    ego: Column | None = Field(
        None,
        description="Long form only: column of the nominations file naming the respondent who named (default ego).",
    )
    alter: Column | None = Field(
        None, description="Long form only: column of the nominations file naming the person named (default alter)."
    )
    relation: Column | None = Field(
        None,
        description="Long form: column of the nominations file; GraphML: edge attribute. Its values are relation names (keys of relations). Empty when relations lists a single relation: every nomination is of that one.",
    )
    id: Column = Field(
        "id",
        description="Column of the respondent id, a whole number (1001.0 is read as 1001). GraphML: node attribute, or the node id when no node has that attribute.",
    )
    community: Column | None = Field(
        None,
        description="Column of the community (village) of each respondent; communities are numbered in order of first appearance. Empty: one community.",
    )
    ids: Literal["local", "global"] = Field(
        "global",
        description="global: respondent ids are unique in the file and a nomination may name anyone. local: ids are unique only within a community and a nomination names someone of the respondent's own community (needs community).",
    )
    adoption_time: Column | None = Field(
        None,
        description="Column of the observed time of adoption (a number, in the survey's unit); an empty cell is not known. Kept per person for diagnostics; it drives nothing but start.",
    )
    never: Code | None = Field(
        None,
        description="Code in the adoption-time column for never adopted (e.g. 18 when observation ended at 17); such respondents have no adoption time.",
    )
    start: float | None = Field(
        None,
        ge=-1e9,
        le=1e9,
        description="Respondents whose adoption time is before this are initial adopters (they have adopted at step 0). Empty: no one is, from the survey.",
    )
    relations: dict[str, Relation] = Field(
        min_length=1,
        max_length=100,
        description="Relation name -> its nominations (wide: the columns; long and GraphML: the relation's name in the relation column) and weight. Each relation becomes one directed layer of that name.",
        json_schema_extra=_list_or_relation,
    )
    role: RoleMapping | None = Field(
        None,
        description="Roles from a column (value -> household, leader, health_worker). Empty: everyone is a household.",
    )
    leader_kind: LeaderKindMapping | None = Field(
        None,
        description="Leader kinds from a column (value -> religious, traditional, youth, women); needed when role maps a value to leader.",
    )
    marginalised: Column | None = Field(
        None,
        description="Column of the marginalised flag (true/false, yes/no, 1/0; empty is false); kept for households only.",
    )
    household_size: Column | None = Field(
        None,
        description="Column of household sizes (a whole number >= 1 for households; empty is 1); stored as 0 for others.",
    )
    threshold: Column | None = Field(
        None,
        description="Column of each person's adoption threshold (a number >= 0, at most 1 under the fractional rule); an empty cell draws it from the role's distribution.",
    )
    strict: bool = Field(
        False,
        description="false: self-nominations, repeated nominations, nominations of people not surveyed and ids written as decimals (1001.0) are cleaned and counted. true: each is an error naming file, line and column.",
    )

    @field_validator("relations")
    @classmethod
    def _relation_names(cls, relations: dict[str, Relation]) -> dict[str, Relation]:
        for name in relations:
            if not _RELATION_NAME.match(name):
                raise ValueError(
                    f"relations: {name!r} is not a relation name; expected a letter then letters, digits or _ "
                    "(at most 50), e.g. advice"
                )
            if name in LAYERS:
                raise ValueError(
                    f"relations: {name!r} is the name of a generated layer ({', '.join(LAYERS)}); "
                    "give the relation another name"
                )
        return relations

    @model_validator(mode="after")
    def _consistent(self) -> SurveyCommunity:
        graphml = is_graphml(self.file)
        long = self.format == "long"
        if graphml and self.format is not None:
            raise ValueError(
                "format applies to CSV files; a GraphML survey has its nominations as edges (leave format out)"
            )
        long_only = [k for k in ("nominations", "ego", "alter") if getattr(self, k) is not None]
        if not long and long_only:
            form = "a GraphML survey" if graphml else "the wide form"
            raise ValueError(f"{long_only[0]} is for the long form (format: long); {form} does not use it")
        if long and self.nominations is None:
            raise ValueError("the long form needs nominations: the CSV of nominations, one per row")
        if not long and not graphml and self.relation is not None:
            raise ValueError(
                "relation (the column naming each nomination's relation) is for the long form and GraphML; "
                "in the wide form each relation lists its columns"
            )
        for name, r in self.relations.items():
            if (long or graphml) and r.columns:
                raise ValueError(
                    f"relations.{name}.columns is for the wide form; in the long form and in GraphML the relation "
                    f"column names each nomination's relation (give relations.{name} only a weight)"
                )
            if not long and not graphml and not r.columns:
                raise ValueError(
                    f"relations.{name}.columns is empty; the wide form needs the columns holding the relation's "
                    f"nominations, e.g. {name}: [{name}_1, {name}_2, {name}_3]"
                )
        if (long or graphml) and self.relation is None and len(self.relations) > 1:
            raise ValueError(
                f"relations lists {len(self.relations)} relations, so relation must name the column (GraphML: edge "
                "attribute) saying which one each nomination is of"
            )
        if self.ids == "local" and self.community is None:
            raise ValueError(
                "ids: local (respondent ids unique within a community) needs community, the column of the community"
            )
        for key in ("never", "start"):
            if getattr(self, key) is not None and self.adoption_time is None:
                raise ValueError(f"{key} needs adoption_time, the column of the time of adoption")
        if self.role is not None and "leader" in self.role.values.values() and self.leader_kind is None:
            raise ValueError(
                "role maps a value to leader, so leader_kind must say from which column and values each leader's "
                "kind is read"
            )
        self._unique_columns()
        return self

    def _unique_columns(self) -> None:
        """A nomination column belongs to one relation, once, and is not a respondent column."""
        owner: dict[str, str] = {}
        respondent = {c.lower() for c in (self.id, self.community) if c is not None}
        for name, r in self.relations.items():
            for column in r.columns:
                key = column.lower()
                if key in owner:
                    where = "twice" if owner[key] == name else f"in relations {owner[key]} and {name}"
                    raise ValueError(
                        f"relations.{name}.columns: column {column!r} is listed {where}; expected each nomination "
                        "column in one relation, once"
                    )
                if key in respondent:
                    raise ValueError(
                        f"relations.{name}.columns: column {column!r} is the id or community column; expected a "
                        "column of nominations"
                    )
                owner[key] = name

    def nomination_columns(self) -> list[str]:
        """Every wide-form nomination column (lower case, as headers are read), relation by relation."""
        return [c.lower() for r in self.relations.values() for c in r.columns]
