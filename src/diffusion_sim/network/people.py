"""A per-person table (``community.people``): initial adopters, thresholds and marginalised flags of listed people.

It works for every kind of community. One row per listed person; people not listed keep their values.

* ``id`` names the person: the row index ``0..n-1`` of a generated community (the ``agent`` column
  of the outputs), the node id of an imported one (as text, exactly), the respondent id of a survey
  (a whole number);
* ``community``: the person's community, for a survey whose ids are local (``ids: local``), and
  only then;
* ``initial`` (optional): ``true/false``, ``yes/no`` or ``1/0``: an initial adopter (adopted at step 0);
* ``threshold`` (optional): the person's adoption threshold, a number >= 0 (at most 1 under the
  fractional rule);
* ``marginalised`` (optional): ``true/false``, ``yes/no`` or ``1/0``; kept for households only, as in
  a nodes file.

An empty cell keeps the person's value (a survey's ``start`` may already have made them an initial
adopter, its ``threshold`` column given them a threshold). Column names are not case-sensitive; an
unknown column, an id that names nobody and a person listed twice are errors naming the file, the
line and the column.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pandas as pd

from diffusion_sim.community import Community
from diffusion_sim.network.io_build import _flags
from diffusion_sim.network.io_tables import _got, _read_csv_table
from diffusion_sim.network.survey_respondents import _names, _thresholds, _whole_numbers
from diffusion_sim.population import HOUSEHOLD
from diffusion_sim.scenario.schema import Scenario

__all__ = ["PEOPLE_OPTIONAL", "read_people"]

PEOPLE_OPTIONAL: tuple[str, ...] = ("initial", "threshold", "marginalised")
"""Optional columns of a people table."""


def read_people(community: Community, path: str | os.PathLike, scenario: Scenario) -> Community:
    """Apply a people table (format in the module docstring) to a community.

    Args:
        community: the scenario's community, generated or read.
        path: the people CSV.
        scenario: the scenario: what kind of community it is (generated, imported, survey with
            local or global ids) and its threshold rule.

    Returns:
        A community with the same network and a population whose ``initial``, ``threshold`` and
        ``marginalised`` are set where the table gives a value.

    Raises:
        UserError: on the first problem, naming the file, line and column.

    """
    pop = community.population
    survey = scenario.community.survey
    local = survey is not None and survey.ids == "local"
    t = _read_csv_table(path, ("id", "community") if local else ("id",), PEOPLE_OPTIONAL)
    text = t.col("id")
    t.fail((text == "").to_numpy(), "id", lambda i: "empty id; expected the id of a person of the community")

    if scenario.community.imported is not None:
        labels = pd.Index(pop.labels.astype(str))  # type: ignore[union-attr]
        who = labels.get_indexer(text)
        expected = f"a node id of {scenario.community.imported.nodes or scenario.community.imported.graphml}"
    else:
        ids, _, bad = _whole_numbers(text)
        kind = "a respondent id" if survey is not None else f"a row index from 0 to {pop.n - 1}"
        t.fail(bad, "id", lambda i: f"expected {kind} (a whole number), {_got(text.iat[i])}")
        if survey is None:
            who = np.where((ids >= 0) & (ids < pop.n), ids, -1)
            expected = f"a row index from 0 to {pop.n - 1} (the agent column of the outputs)"
        else:
            keys = pd.Index(pop.labels.astype(str))  # type: ignore[union-attr]
            asked = pd.Series(ids.astype(str))
            if local:
                names = np.array(pop.village_names, dtype=object)[pop.village]
                keys = pd.Index(names + ":" + pop.labels.astype(str))  # type: ignore[union-attr, operator]
                asked = _names(t.col("community"))[0].reset_index(drop=True) + ":" + asked
            who = keys.get_indexer(asked)
            where = " in that community" if local else ""
            expected = f"the id of a respondent{where} of {survey.file}"
    t.fail(who < 0, "id", lambda i: f"{text.iat[i]!r} names nobody; expected {expected}")

    def duplicate(i: int) -> str:
        first = int(np.flatnonzero(who == who[i])[0])
        return f"{text.iat[i]!r} is listed twice, first on {t.place(first)}; expected one row per person"

    t.fail(pd.Series(who).duplicated(keep="first").to_numpy(), "id", duplicate)

    changes: dict[str, np.ndarray] = {}
    if "initial" in t.present:
        flag = _flags(t, "initial")
        initial = np.zeros(pop.n, bool) if pop.initial is None else pop.initial.copy()
        initial[who[flag >= 0]] = flag[flag >= 0] == 1
        changes["initial"] = initial
    if "threshold" in t.present:
        value = _thresholds(t, "threshold", scenario.behaviour.threshold_rule == "fractional")
        threshold = np.full(pop.n, np.nan) if pop.threshold is None else pop.threshold.copy()
        given = ~np.isnan(value)
        threshold[who[given]] = value[given]
        changes["threshold"] = threshold
    if "marginalised" in t.present:
        flag = _flags(t, "marginalised")
        marginalised = pop.marginalised.copy()
        marginalised[who[flag >= 0]] = flag[flag >= 0] == 1
        changes["marginalised"] = marginalised & (pop.role == HOUSEHOLD)
    return dataclasses.replace(community, population=dataclasses.replace(pop, **changes))
