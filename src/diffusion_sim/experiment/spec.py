"""Experiment files: what is varied, how it is sampled, how often it is run and what is kept.

An experiment file is YAML, read with the safe loader and checked by a strict schema (unknown keys
are errors; every problem names the file, line and field), like a scenario file. It names a base
scenario file and optional fixed changes of it (``set``), the varied parameters with their
distributions, a design, the replicates per design point, a master seed, and the outcomes (and
optional per-step series) to keep; ``experiments/quick_sobol.yaml`` is a commented example.

Parameters are addressed by dotted paths into the scenario (``--set`` paths), with interventions
addressed by their ``id`` or ``name`` instead of their list position, plus two special paths:
``interventions.<id or name>.enabled`` (a categorical ``[true, false]`` switches an intervention on
or off) and ``scenario`` (a categorical choice between scenario files, relative to the experiment
file). Distributions, each a map from a unit sample u in [0, 1) to a value: ``uniform`` (low,
high), ``normal`` (mean, sd), ``truncated_normal`` (mean, sd, low, high), ``triangular`` (low,
mode, high), ``log_uniform`` (low, high > 0), ``integer`` (low, high: each integer equally
likely, ``low + floor(u (high - low + 1))``) and ``categorical`` (levels: level ``floor(u k)``).

**Integer fields drawn from a continuous distribution** (for example ``visits_per_worker`` from a
uniform) are rounded to the nearest integer, halves to even (numpy's ``rint``), then clipped to
the distribution's bounds: the documented rounding rule.

"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, ValidationError, model_validator

from diffusion_sim.scenario.fields import Strict
from diffusion_sim.scenario.validation import format_validation_error
from diffusion_sim.scenario.yaml_source import _read_mapping

__all__ = [
    "DESIGN_METHODS",
    "DISTRIBUTIONS",
    "SERIES_METRICS",
    "Design",
    "Experiment",
    "Parameter",
    "load_experiment",
]

DesignMethod = Literal["full_factorial", "latin_hypercube", "sobol", "morris", "fast", "monte_carlo"]
Distribution = Literal["uniform", "normal", "truncated_normal", "triangular", "log_uniform", "integer", "categorical"]
SeriesMetric = Literal["coverage", "coverage_people", "adopters", "new_adopters", "abandonments", "cost"]

DESIGN_METHODS: tuple[str, ...] = get_args(DesignMethod)
DISTRIBUTIONS: tuple[str, ...] = get_args(Distribution)
SERIES_METRICS: tuple[str, ...] = get_args(SeriesMetric)
"""Per-step metrics an experiment can keep: household coverage (of households; of people), adopting
households, new adopters and abandonments (every agent), programme cost."""

Number = Annotated[float, Field(allow_inf_nan=False)]


class Parameter(Strict):
    """One varied parameter: a dotted path and the distribution its values are drawn from."""

    path: str = Field(
        min_length=1,
        max_length=300,
        description="Dotted path into the scenario (interventions by id or name), 'interventions.<id>.enabled', or 'scenario'.",
    )
    name: str | None = Field(
        None, min_length=1, max_length=100, description="Short name in tables and plots (default: the path)."
    )
    distribution: Distribution = Field(description="How values are drawn from a unit sample.")
    low: Number | None = Field(
        None, description="Lower bound (uniform, truncated_normal, triangular, log_uniform, integer)."
    )
    high: Number | None = Field(None, description="Upper bound (same distributions as low).")
    mean: Number | None = Field(None, description="Mean (normal, truncated_normal).")
    sd: Number | None = Field(None, gt=0, description="Standard deviation (normal, truncated_normal).")
    mode: Number | None = Field(None, description="Most likely value (triangular).")
    levels: list[Any] | None = Field(None, min_length=1, description="The values to choose from (categorical).")

    @property
    def label(self) -> str:
        """The parameter's name in tables and plots."""
        return self.name or self.path

    @property
    def kind(self) -> str:
        """``categorical``, ``integer`` or ``real``."""
        if self.distribution == "categorical":
            return "categorical"
        return "integer" if self.distribution == "integer" else "real"

    @model_validator(mode="after")
    def _fields(self) -> Parameter:
        need = {
            "uniform": ("low", "high"),
            "normal": ("mean", "sd"),
            "truncated_normal": ("mean", "sd", "low", "high"),
            "triangular": ("low", "mode", "high"),
            "log_uniform": ("low", "high"),
            "integer": ("low", "high"),
            "categorical": ("levels",),
        }[self.distribution]
        missing = [f for f in need if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a {self.distribution} distribution needs {', '.join(missing)}")
        extra = [
            f for f in ("low", "high", "mean", "sd", "mode", "levels") if f not in need and getattr(self, f) is not None
        ]
        if extra:
            raise ValueError(f"a {self.distribution} distribution does not use {', '.join(extra)}")
        if "low" in need and "high" in need and not self.low < self.high:  # type: ignore[operator]
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.distribution == "triangular" and not self.low <= self.mode <= self.high:  # type: ignore[operator]
            raise ValueError(f"mode ({self.mode}) must lie between low ({self.low}) and high ({self.high})")
        if self.distribution == "log_uniform" and self.low <= 0:  # type: ignore[operator]
            raise ValueError(f"a log_uniform distribution needs low > 0, got {self.low}")
        if self.distribution == "integer" and not (float(self.low).is_integer() and float(self.high).is_integer()):
            raise ValueError(f"an integer distribution needs whole-number bounds, got {self.low} and {self.high}")
        if self.distribution == "truncated_normal" and not self.low < self.high:  # type: ignore[operator]
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class Design(Strict):
    """How design points are sampled (SALib's samplers, in the unit hypercube)."""

    method: DesignMethod = Field(
        description="full_factorial, latin_hypercube, sobol (Saltelli), morris, fast, or monte_carlo (fixed scenarios)."
    )
    n: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="Sample size: Sobol base N (a power of 2), Morris trajectories, FAST N per parameter, LHS points.",
    )
    second_order: bool = Field(True, description="Sobol: also sample for second-order indices.")
    levels: int = Field(
        4, ge=2, le=100, description="Morris: grid levels; full_factorial: levels of each non-categorical parameter."
    )
    M: int = Field(4, ge=1, le=20, description="FAST: interference parameter.")

    @model_validator(mode="after")
    def _size(self) -> Design:
        if self.method in ("latin_hypercube", "sobol", "morris", "fast") and self.n is None:
            raise ValueError(f"the {self.method} design needs n (its sample size)")
        if self.method in ("full_factorial", "monte_carlo") and self.n is not None:
            raise ValueError(f"the {self.method} design takes no n (its points follow from the parameters)")
        if self.method == "sobol" and self.n & (self.n - 1):  # type: ignore[operator]
            raise ValueError(f"the sobol design needs n a power of 2 (e.g. 64, 128, 1024), got {self.n}")
        if self.method == "fast" and self.n <= 4 * self.M**2:  # type: ignore[operator]
            raise ValueError(f"the fast design needs n > 4 M^2 = {4 * self.M**2}, got {self.n}")
        return self


class Experiment(Strict):
    """A complete, validated experiment file."""

    name: str = Field(min_length=1, max_length=200, description="Short name of the experiment.")
    description: str = Field("", max_length=5000, description="What the experiment asks.")
    base: str = Field(min_length=1, description="The base scenario file (relative to the experiment file).")
    set: dict[str, Any] = Field(
        default_factory=dict, description="Fixed changes of the base by dotted path, as --set PATH=VALUE."
    )
    parameters: list[Parameter] = Field(default_factory=list, description="The varied parameters.")
    design: Design = Field(description="How design points are sampled.")
    replicates: int = Field(1, ge=1, le=100_000, description="Replicates per design point (common random numbers).")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Master seed of the runs and the samplers.")
    outcomes: list[str] = Field(
        default_factory=lambda: ["final_coverage", "time_to_0.8", "sustained_coverage", "cost"],
        min_length=1,
        description="Outcome columns to keep (any column of the comparison's outcome table).",
    )
    series: list[SeriesMetric] = Field(
        default_factory=list, description="Per-step metrics to keep (optional; they grow the store by steps x runs)."
    )
    runs_per_shard: int = Field(
        100, ge=1, le=100_000, description="Runs per chunk of work and Parquet shard (points x replicates)."
    )
    cluster: dict[str, Any] | None = Field(
        None, description="A cluster to start for --backend dask (kind: slurm|pbs|local, workers, cores, memory, ...)."
    )

    @model_validator(mode="after")
    def _parameters(self) -> Experiment:
        labels = [p.label for p in self.parameters]
        for k, label in enumerate(labels):
            if label in labels[:k]:
                raise ValueError(f"parameters.{k}.name: {label!r} is used twice; give each parameter a unique name")
        if self.design.method != "monte_carlo" and not self.parameters:
            raise ValueError(f"the {self.design.method} design needs at least one parameter")
        if self.design.method == "monte_carlo":
            for k, p in enumerate(self.parameters):
                if p.kind != "categorical":
                    raise ValueError(
                        f"parameters.{k}: a monte_carlo design runs fixed scenarios: only categorical parameters "
                        f"(choices of scenario files or settings), got a {p.distribution} distribution"
                    )
        if self.design.method in ("sobol", "morris", "fast") and len(self.parameters) < 2:
            raise ValueError(f"the {self.design.method} design needs at least two parameters")
        return self


def load_experiment(path: str | Path) -> tuple[Experiment, str]:
    """Read and validate an experiment file; returns it and its text (hashed into the store's manifest).

    Raises:
        UserError: naming the file, line and field of the first problems found.

    """
    p = Path(path)
    source = str(path)
    data, lines = _read_mapping(p, source)
    origins = {k: (source, line) for k, line in lines.items()}
    try:
        exp = Experiment.model_validate(data)
    except ValidationError as err:
        raise format_validation_error(err, source, origins, data, root=Experiment) from None
    return exp, p.read_text(encoding="utf-8")


def text_hash(text: str) -> str:
    """SHA-256 of an experiment file's text (16 hex characters), to recognise it when resuming."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
