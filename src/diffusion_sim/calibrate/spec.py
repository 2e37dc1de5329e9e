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
    seed: 0

Priors use the experiment files' distribution vocabulary (:mod:`diffusion_sim.experiment.spec`)
except ``categorical`` and ``integer``: ABC-SMC perturbs continuous values. Paths are checked against
the scenario exactly as experiment parameters are (:func:`diffusion_sim.experiment.run.check_parameters`):
both ends of every prior must lie within the scenario schema's bounds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from diffusion_sim.experiment.spec import Design, Experiment, Parameter
from diffusion_sim.scenario.fields import Strict
from diffusion_sim.scenario.validation import format_validation_error
from diffusion_sim.scenario.yaml_source import _read_mapping

__all__ = ["Calibration", "Data", "Method", "Prior", "load_calibration"]


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
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Master seed of the sampler, the runs and the community.")

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
