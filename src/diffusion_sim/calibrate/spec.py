"""Calibration files: which scenario, which observed data, which parameters to fit and their priors.

A calibration file is YAML, read with the safe loader and checked by a strict schema (unknown keys
are errors; every problem names the file, line and field), like scenario and experiment files::

    name: known_answer
    scenario: ../scenarios/baseline.yaml    # relative to this file
    set: {community.households: 1000, community.villages: 25}   # fixed changes, as --set
    data: {file: observed.csv}              # or leave data out: the survey's adoption times
    fit:                                    # dotted path: prior (the experiment distributions)
      behaviour.external: {distribution: uniform, low: 0.0, high: 0.02}
      roles.household.threshold.mean: {distribution: truncated_normal, mean: 0.6, sd: 0.1, low: 0.3, high: 0.9}
    method: {population: 300, generations: 8}
    hold_out: 5                             # villages held out for the predictive check (or their names)
    seed: 0

Priors use the experiment files' distribution vocabulary (:mod:`diffusion_sim.experiment.spec`)
except ``categorical`` and ``integer``: ABC-SMC perturbs continuous values. Paths are checked against
the scenario exactly as experiment parameters are (:func:`diffusion_sim.experiment.run.check_parameters`):
both ends of every prior must lie within the scenario schema's bounds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from diffusion_sim.experiment.spec import Design, Experiment, Parameter
from diffusion_sim.scenario.fields import Strict
from diffusion_sim.scenario.validation import format_validation_error
from diffusion_sim.scenario.yaml_source import _read_mapping

__all__ = ["PRIOR_ARGUMENTS", "Calibration", "Data", "Method", "Prior", "load_calibration", "parse_prior"]


class Prior(Parameter):
    """A fitted parameter's prior: an experiment parameter whose path is its key under ``fit``."""

    path: str = Field("", max_length=300, description="Set from the key under fit.")


class Data(Strict):
    """The observed adoption to fit."""

    file: str | None = Field(
        None,
        min_length=1,
        description="CSV of cumulative adoption (columns village, step, and adopters or coverage), relative to "
        "the calibration file; default: the survey community's per-person adoption times.",
    )


class Method(Strict):
    """ABC-SMC settings (pyabc; see docs/calibration-method.md)."""

    name: Literal["abc_smc"] = Field("abc_smc", description="The fitting method.")
    population: int = Field(300, ge=10, le=100_000, description="Accepted particles per generation.")
    generations: int = Field(8, ge=1, le=100, description="Most generations (each with a smaller tolerance).")
    min_epsilon: float = Field(0.0, ge=0, allow_inf_nan=False, description="Stop once the tolerance is this small.")
    min_acceptance: float = Field(
        0.02,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="Stop after a generation that accepted fewer than this share of its simulations (the tolerance "
        "is then about as small as the model can fit the data; more generations cost much and change little).",
    )
    overall: float = Field(1.0, ge=0, allow_inf_nan=False, description="Weight of the pooled curve in the distance.")
    batch: int = Field(200, ge=1, le=1_000_000, description="Particles sent to the workers at a time.")


class Calibration(Strict):
    """A complete, validated calibration file."""

    name: str = Field(min_length=1, max_length=200, description="Short name of the calibration.")
    description: str = Field("", max_length=5000, description="What is fitted, and to what.")
    scenario: str = Field(min_length=1, description="The scenario file (relative to the calibration file).")
    set: dict[str, Any] = Field(default_factory=dict, description="Fixed changes of the scenario, as --set PATH=VALUE.")
    data: Data = Field(default_factory=Data, description="The observed adoption.")
    fit: dict[str, Prior] = Field(min_length=1, description="The fitted parameters: dotted path -> prior.")
    method: Method = Field(default_factory=Method, description="ABC-SMC settings.")
    hold_out: int | list[str | int] | None = Field(
        None,
        description="Villages held out for the predictive check: how many (drawn with the seed), or their names; "
        "0 for no check. Default: a fifth of the villages (at least 1) when there are 3 or more, else none.",
    )
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Master seed of the sampler, the runs and the community.")

    @field_validator("hold_out", mode="after")
    @classmethod
    def _village_names(cls, value: int | list[str | int] | None) -> int | list[str] | None:
        """Villages named by number in YAML (``[3]``) are the names the data give them (``"3"``)."""
        return [str(v) for v in value] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _priors(self) -> Calibration:
        for path, prior in self.fit.items():
            if prior.path not in ("", path):
                raise ValueError(f"fit.{path}: the path is the key; leave path out")
            if prior.distribution in ("categorical", "integer"):
                raise ValueError(
                    f"fit.{path}: a {prior.distribution} prior cannot be fitted by ABC-SMC here; use uniform, normal, "
                    "truncated_normal, triangular or log_uniform"
                )
            if path == "scenario" or path.endswith(".enabled"):
                raise ValueError(f"fit.{path}: only numeric scenario fields can be fitted")
        if isinstance(self.hold_out, int) and not isinstance(self.hold_out, bool) and self.hold_out < 0:
            raise ValueError(
                f"hold_out: expected a number of villages >= 0 or a list of village names, got {self.hold_out}"
            )
        if isinstance(self.hold_out, list) and len(set(self.hold_out)) != len(self.hold_out):
            raise ValueError("hold_out: a village is named twice")
        return self

    @property
    def parameters(self) -> list[Parameter]:
        """The fitted parameters as experiment parameters (path = key), in file order."""
        return [Parameter(**{**p.model_dump(exclude={"path"}), "path": path}) for path, p in self.fit.items()]

    def as_experiment(self) -> Experiment:
        """The experiment with the same scenario, fixed changes and parameters (to reuse its checks and mapping)."""
        return Experiment(
            name=self.name,
            base=self.scenario,
            set=self.set,
            parameters=self.parameters,
            design=Design(method="latin_hypercube", n=1),
            seed=self.seed,
        )


def load_calibration(path: str | Path) -> Calibration:
    """Read and validate a calibration file (structure only; :func:`check_calibration` checks it against its scenario).

    Raises:
        UserError: naming the file, line and field of the first problems found.

    """
    source = str(path)
    data, lines = _read_mapping(Path(path), source)
    origins = {k: (source, line) for k, line in lines.items()}
    try:
        return Calibration.model_validate(data)
    except ValidationError as err:
        raise format_validation_error(err, source, origins, data, root=Calibration) from None


PRIOR_ARGUMENTS = {
    "uniform": ("low", "high"),
    "log_uniform": ("low", "high"),
    "normal": ("mean", "sd"),
    "truncated_normal": ("mean", "sd", "low", "high"),
    "triangular": ("low", "mode", "high"),
}
"""The command line's priors (``--fit PATH=NAME(ARGS)``): each distribution's arguments in order."""


def parse_prior(text: str) -> tuple[str, dict[str, Any]]:
    """``PATH=NAME(ARGS)`` from the command line as (path, prior fields); never evaluates anything.

    ``ARGS`` are numbers, in the order of :data:`PRIOR_ARGUMENTS` or named (``low=0, high=0.02``):
    ``behaviour.external=uniform(0, 0.02)``, ``roles.household.threshold.mean=truncated_normal(0.6, 0.1,
    0.3, 0.9)``.

    Raises:
        UserError: naming ``--fit`` and the form expected.

    """
    import math
    import re

    from diffusion_sim.errors import UserError

    forms = "; ".join(f"{k}({', '.join(v)})" for k, v in PRIOR_ARGUMENTS.items())
    m = re.fullmatch(r"\s*([A-Za-z_][\w.\-]*)\s*=\s*([a-z_]+)\s*\((.*)\)\s*", text)
    if m is None:
        example = "behaviour.external=uniform(0, 0.02)"
        raise UserError(f"expected PATH=DISTRIBUTION(ARGUMENTS), e.g. {example}; got {text!r}", source="--fit")
    path, name, inner = m.group(1), m.group(2), m.group(3)
    if name not in PRIOR_ARGUMENTS:
        raise UserError(f"{path}: unknown distribution {name!r}; expected one of: {forms}", source="--fit")
    want = PRIOR_ARGUMENTS[name]
    parts = [p.strip() for p in inner.split(",")] if inner.strip() else []
    fields: dict[str, Any] = {"distribution": name}
    for k, part in enumerate(parts):
        key, _, value = part.rpartition("=")
        key = key.strip() or (want[k] if k < len(want) else "")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if key not in want or key in fields or not math.isfinite(number):
            raise UserError(f"{path}: expected {name}({', '.join(want)}) with numbers; got {text!r}", source="--fit")
        fields[key] = number
    if len(fields) - 1 != len(want):
        raise UserError(f"{path}: expected {name}({', '.join(want)}) with numbers; got {text!r}", source="--fit")
    return path, fields
