"""Design points: SALib's samplers in the unit hypercube, mapped through each parameter's distribution.

Every design starts from unit samples u in [0, 1) (one column per parameter, in the order of the
experiment file), drawn by SALib with a seed derived from the master seed (never global random
state): ``sobol.sample`` (Saltelli's scheme, scrambled), ``morris.sample``, ``fast_sampler.sample``
and ``latin.sample``; a full factorial takes the quantile midpoints ``(i + 0.5) / L`` of each
continuous parameter (``L = design.levels``) and every level of each categorical one; a Monte Carlo
design runs every combination of its categorical parameters (often just the base). Each u is then
mapped to a value by the parameter's distribution (:func:`value_of`). The unit samples are kept in
the store (``u.<name>`` columns), so the analysis sees exactly what SALib produced.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from diffusion_sim.errors import UserError
from diffusion_sim.experiment.spec import Experiment, Parameter
from diffusion_sim.rng import name_hash
from diffusion_sim.scenario import apply_overrides, load_scenario
from diffusion_sim.scenario.intervention_schema import stream_identities
from diffusion_sim.scenario.schema import Scenario

__all__ = ["Scenarios", "problem", "sample", "scenario_for", "value_of"]

_EPS = 1e-12


def problem(exp: Experiment) -> dict[str, Any]:
    """The SALib problem in unit space: every parameter on [0, 1]."""
    names = [p.label for p in exp.parameters]
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def _sampler_seed(exp: Experiment) -> int:
    """The samplers' seed: a stable function of the master seed (32 bits, as SALib's samplers take)."""
    return int((name_hash(f"design.{exp.design.method}") ^ exp.seed) % (2**32 - 1))


def _unit_samples(exp: Experiment) -> np.ndarray:
    """(points, parameters) unit samples in [0, 1) for the experiment's design."""
    d, k = exp.design, len(exp.parameters)
    prob, seed = problem(exp), _sampler_seed(exp)
    if d.method == "sobol":
        from SALib.sample import sobol

        u = sobol.sample(prob, d.n, calc_second_order=d.second_order, scramble=True, seed=seed)
    elif d.method == "morris":
        from SALib.sample import morris

        u = morris.sample(prob, d.n, num_levels=d.levels, seed=seed)
    elif d.method == "fast":
        from SALib.sample import fast_sampler

        u = fast_sampler.sample(prob, d.n, M=d.M, seed=seed)
    elif d.method == "latin_hypercube":
        from SALib.sample import latin

        u = latin.sample(prob, d.n, seed=seed)
    else:  # full_factorial, monte_carlo: every combination of each parameter's levels
        grids = []
        for p in exp.parameters:
            n = len(p.levels) if p.kind == "categorical" else d.levels  # type: ignore[arg-type]
            if p.distribution == "integer" and p.high - p.low + 1 <= d.levels:  # type: ignore[operator]
                n = int(p.high - p.low + 1)  # type: ignore[operator]
            grids.append((np.arange(n) + 0.5) / n)
        u = np.array(list(itertools.product(*grids)), dtype=float).reshape(-1, k)
    return np.clip(np.asarray(u, dtype=float), 0.0, 1.0 - _EPS)


def value_of(p: Parameter, u: float) -> Any:
    """The value of parameter ``p`` at unit sample ``u`` (the inverse of its distribution function)."""
    u = min(max(float(u), _EPS), 1.0 - _EPS)
    if p.distribution == "uniform":
        return p.low + u * (p.high - p.low)  # type: ignore[operator]
    if p.distribution == "normal":
        return float(stats.norm.ppf(u, loc=p.mean, scale=p.sd))
    if p.distribution == "truncated_normal":
        a, b = (p.low - p.mean) / p.sd, (p.high - p.mean) / p.sd  # type: ignore[operator]
        return float(stats.truncnorm.ppf(u, a, b, loc=p.mean, scale=p.sd))
    if p.distribution == "triangular":
        width = p.high - p.low  # type: ignore[operator]
        return float(stats.triang.ppf(u, (p.mode - p.low) / width, loc=p.low, scale=width))  # type: ignore[operator]
    if p.distribution == "log_uniform":
        return math.exp(math.log(p.low) + u * (math.log(p.high) - math.log(p.low)))  # type: ignore[arg-type]
    if p.distribution == "integer":
        n = int(p.high - p.low + 1)  # type: ignore[operator]
        return int(p.low + min(math.floor(u * n), n - 1))  # type: ignore[operator]
    levels = p.levels or []
    return levels[min(math.floor(u * len(levels)), len(levels) - 1)]


def sample(exp: Experiment) -> pd.DataFrame:
    """The design: one row per point (``point``, each parameter's value, its unit sample ``u.<name>``)."""
    u = _unit_samples(exp)
    cols: dict[str, Any] = {"point": np.arange(len(u), dtype=np.int64)}
    for k, p in enumerate(exp.parameters):
        values = [value_of(p, x) for x in u[:, k]]
        if p.kind == "categorical":
            cols[p.label] = [str(v) if not isinstance(v, str) else v for v in values]
        else:
            cols[p.label] = np.asarray(values, dtype=np.int64 if p.kind == "integer" else np.float64)
    for k, p in enumerate(exp.parameters):
        cols[f"u.{p.label}"] = u[:, k]
    return pd.DataFrame(cols)


class Scenarios:
    """The scenarios an experiment draws from: its base (with ``set``), or one per file of a ``scenario`` choice.

    Builds the scenario of a design point from its parameter values (:func:`scenario_for`), and is
    small and picklable, so workers receive it with their tasks.
    """

    def __init__(self, exp: Experiment, folder: Path, source: str = "experiment"):
        self.exp = exp
        choice = [p for p in exp.parameters if p.path == "scenario"]
        files = [str(v) for v in choice[0].levels] if choice else [exp.base]  # type: ignore[union-attr]
        self.by_file: dict[str, Scenario] = {}
        for f in files:
            path = (folder / f) if not Path(f).is_absolute() else Path(f)
            sc = load_scenario(path)
            if exp.set:
                sc = apply_overrides(sc, dict(exp.set), source=f"{source}: set")
            self.by_file[f] = sc
        self.default = files[0]

    @classmethod
    def around(cls, exp: Experiment, scenario: Scenario, name: str = "scenario") -> Scenarios:
        """An experiment's parameters around one scenario already loaded (to set its values by :func:`scenario_for`)."""
        obj = cls.__new__(cls)
        obj.exp, obj.by_file, obj.default = exp, {name: scenario}, name
        return obj


def _intervention_index(sc: Scenario, ref: str) -> int | None:
    """The list position of an intervention named by its stream identity (``id`` or type) or its name."""
    ids = stream_identities(sc.interventions)
    for k, iv in enumerate(sc.interventions):
        if ids[k] == ref or iv.label == ref:
            return k
    return None


def _value_at(data: Any, parts: list[str]) -> Any:
    """The value at a dotted path in a scenario dump (None if absent)."""
    for part in parts:
        if isinstance(data, list):
            data = data[int(part)] if part.isdigit() and int(part) < len(data) else None
        elif isinstance(data, dict):
            data = data.get(part)
        else:
            return None
    return data


def scenario_for(scenarios: Scenarios, values: dict[str, Any], source: str = "experiment") -> Scenario:
    """The scenario of one design point: the chosen (or base) scenario with every parameter's value set."""
    exp = scenarios.exp
    chosen = scenarios.default
    for p in exp.parameters:
        if p.path == "scenario":
            chosen = str(values[p.label])
    sc = scenarios.by_file[chosen]
    dump = sc.model_dump(mode="json")
    overrides: dict[str, Any] = {}
    drop: list[int] = []
    for p in exp.parameters:
        if p.path == "scenario":
            continue
        parts = p.path.split(".")
        value = values[p.label]
        if parts[0] == "interventions" and len(parts) >= 2 and not parts[1].isdigit():
            k = _intervention_index(sc, parts[1])
            if k is None:
                known = ", ".join(repr(x) for x in stream_identities(sc.interventions)) or "none"
                raise UserError(
                    f"no intervention {parts[1]!r} in {chosen} (its ids: {known}); address an intervention by its "
                    "id or name",
                    source=source,
                    field=f"parameters: {p.path}",
                )
            parts = ["interventions", str(k), *parts[2:]]
        if parts[0] == "interventions" and len(parts) == 3 and parts[2] == "enabled":
            if _truthy(value, p, source) is False:
                drop.append(int(parts[1]))
            continue
        current = _value_at(dump, parts)
        if isinstance(current, int) and not isinstance(current, bool) and p.kind == "real":
            lo = p.low if p.low is not None else -math.inf
            hi = p.high if p.high is not None else math.inf
            value = int(min(max(np.rint(value), lo), hi))  # the documented rounding rule (spec module)
        overrides[".".join(parts)] = value
    out = apply_overrides(sc, overrides, source=f"{source}: parameters") if overrides else sc
    if drop:
        kept = [iv for k, iv in enumerate(out.interventions) if k not in set(drop)]
        out = Scenario.model_validate({**out.model_dump(mode="python"), "interventions": kept})
    return out


def _truthy(value: Any, p: Parameter, source: str) -> bool:
    """An ``enabled`` level as true/false (YAML booleans or the words true/false, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise UserError(f"expected true or false levels, got {value!r}", source=source, field=f"parameters: {p.path}")
