"""Observed adoption as the calibration sees it: cumulative adoption per village at observed steps.

Two sources, one shape (:class:`Observed`):

* a CSV file with columns ``village``, ``step`` and ``adopters`` (households of the village that
  had ever adopted by the end of that step) or ``coverage`` (the same as a share of its
  households); village names as the community labels them (``0``, ``1``, ... for a generated
  community), every listed village at every listed step;
* a survey community's per-person adoption times (``population.adoption_time``): with the survey's
  ``start``, a respondent who adopted at time ``a`` has adopted by the end of step
  ``a - start + 1`` (those before ``start`` are the initial adopters of step 0), the mapping the
  survey import uses; every step of the scenario's schedule up to the survey's end of observation
  (the ``never`` code less one, else the last adoption time) is observed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from diffusion_sim.community import Community
from diffusion_sim.errors import UserError
from diffusion_sim.population import HOUSEHOLD
from diffusion_sim.scenario.schema import Scenario

__all__ = ["Observed", "observed_from_csv", "observed_from_survey", "village_households"]


@dataclass(frozen=True, eq=False)
class Observed:
    """Cumulative adoption share ``curves[i, v]`` of village ``v``'s households by the end of ``steps[i]``."""

    steps: np.ndarray
    villages: list[str]
    curves: np.ndarray
    sizes: np.ndarray

    def subset(self, villages: list[str]) -> Observed:
        """The same observations for ``villages`` only (in the order given)."""
        idx = [self.villages.index(v) for v in villages]
        return Observed(self.steps, list(villages), self.curves[:, idx], self.sizes[idx])

    def to_frame(self) -> pd.DataFrame:
        """Long form: village, step, coverage, adopters."""
        T, V = self.curves.shape
        return pd.DataFrame(
            {
                "village": np.tile(self.villages, T),
                "step": np.repeat(self.steps, V),
                "coverage": self.curves.ravel(),
                "adopters": np.rint(self.curves * self.sizes).ravel().astype(np.int64),
            }
        )


def village_households(community: Community) -> tuple[list[str], np.ndarray]:
    """Every village's label and number of households."""
    pop = community.population
    names = [pop.village_label(v) for v in range(pop.n_villages)]
    sizes = np.bincount(pop.village[pop.role == HOUSEHOLD], minlength=pop.n_villages)
    return names, sizes


def observed_from_csv(path: str | Path, community: Community) -> Observed:
    """Read observed cumulative adoption per village (see the module docstring) for ``community``."""
    source = str(path)
    try:
        frame = pd.read_csv(path, dtype={"village": str})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise UserError(f"cannot read the observed data: {err}", source=source) from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    values = [c for c in ("adopters", "coverage") if c in frame.columns]
    if "village" not in frame.columns or "step" not in frame.columns or len(values) != 1:
        raise UserError(
            f"expected columns village, step and one of adopters or coverage; got {', '.join(frame.columns)}",
            source=source,
        )
    names, sizes = village_households(community)
    unknown = sorted(set(frame["village"]) - set(names))
    if unknown:
        raise UserError(
            f"village(s) {', '.join(unknown[:5])} are not in the community (its villages: {', '.join(names[:10])}"
            f"{', ...' if len(names) > 10 else ''})",
            source=source,
            field="village",
        )
    step = pd.to_numeric(frame["step"], errors="coerce")
    value = pd.to_numeric(frame[values[0]], errors="coerce")
    bad = step.isna() | (step < 0) | (step % 1 != 0) | value.isna() | (value < 0)
    if bad.any():
        line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise UserError(f"line {line}: expected a whole step >= 0 and a number >= 0 of {values[0]}", source=source)
    frame = frame.assign(step=step.astype(np.int64), value=value.astype(float))
    if frame.duplicated(["village", "step"]).any():
        raise UserError("a (village, step) pair is listed twice", source=source)
    table = frame.pivot(index="step", columns="village", values="value")
    listed = [v for v in names if v in table.columns]
    table = table[listed]
    if table.isna().any().any():
        raise UserError("every listed village needs a value at every listed step", source=source)
    idx = [names.index(v) for v in listed]
    own = sizes[idx].astype(float)
    curves = table.to_numpy(float) / own if values[0] == "adopters" else table.to_numpy(float)
    if (curves > 1 + 1e-9).any():
        raise UserError(f"{values[0]} exceed a village's households ({values[0]} read as cumulative)", source=source)
    return Observed(steps=table.index.to_numpy(np.int64), villages=listed, curves=curves, sizes=sizes[idx])


def _last_observed_step(survey, times: np.ndarray, start: float) -> int:
    """The last step the survey observed: its end of observation is the ``never`` code less one, else the last adoption.

    A respondent coded ``never`` (say 18) had not adopted by the end of observation (17): a step
    after it would count such respondents as still not adopted at times nobody observed.
    """
    try:
        end = float(survey.never) - 1 if survey.never is not None else math.nan
    except (TypeError, ValueError):
        end = math.nan
    if not math.isfinite(end):
        finite = times[np.isfinite(times)]
        end = float(finite.max()) if len(finite) else float(start)
    return max(0, math.floor(end - start + 1))


def observed_from_survey(scenario: Scenario, community: Community) -> Observed:
    """Cumulative adoption per village from a survey community's adoption times, at every observed scheduled step."""
    pop = community.population
    survey = scenario.community.survey
    if pop.adoption_time is None or survey is None:
        raise UserError(
            "no observed data: give a CSV of cumulative adoption (--data, or data.file in a calibration file), or "
            "use a survey scenario with community.survey.adoption_time",
            source="calibration",
            field="data",
        )
    start = survey.start if survey.start is not None else 1
    names, sizes = village_households(community)
    hh = pop.role == HOUSEHOLD
    t = pop.adoption_time[hh]
    steps = np.arange(min(scenario.schedule.steps, _last_observed_step(survey, t, start)) + 1, dtype=np.int64)
    village = pop.village[hh]
    curves = np.zeros((len(steps), len(names)))
    for i, s in enumerate(steps):
        by = np.isfinite(t) & (t <= s + start - 1) if s > 0 else np.isfinite(t) & (t < start)
        curves[i] = np.bincount(village[by], minlength=len(names)) / np.maximum(sizes, 1)
    keep = sizes > 0
    if not math.isfinite(float(curves.sum())):
        raise UserError("the adoption times give no finite curve", source="calibration", field="data")
    return Observed(steps=steps, villages=[n for n, k in zip(names, keep, strict=True) if k], curves=curves[:, keep],
                    sizes=sizes[keep])  # fmt: skip
