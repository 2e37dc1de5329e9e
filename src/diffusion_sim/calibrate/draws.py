"""Posterior draws for comparisons: each replicate runs with one particle of a calibration's posterior.

``diffusion-sim calibrate --out DIR`` writes ``DIR/posterior.csv`` (one row per particle: each fitted
parameter's value under its label, its unit sample ``u.<label>`` and ``weight``),
``DIR/provenance.json`` (the calibration file under ``"calibration"``) and ``DIR/fitted_scenario.yaml``
(the scenario at the posterior medians, on the community the fit ran on). :meth:`PosteriorDraws.load`
reads and checks them.

Replicate r uses the particle drawn by weight from a numpy Generator seeded with
``stream_key(seed, r, "compare.posterior")`` (:meth:`PosteriorDraws.particle`): the draw depends on
the seed and the replicate only, so every scenario of a comparison gets the same particle in
replicate r (differences stay paired), and replicates run in one batch or in several
(``--precision``) get the same particles. Global random state is never touched.

:meth:`PosteriorDraws.run` runs one scenario's replicates through the one run path
(:func:`diffusion_sim.runner.run`), one replicate at a time with its particle's values set by
dotted path (:func:`diffusion_sim.scenario.apply_overrides`, so the schema's bounds hold), and joins
them with :meth:`diffusion_sim.results.RunResult.concat`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from diffusion_sim.calibrate.spec import Calibration
from diffusion_sim.errors import UserError
from diffusion_sim.experiment.design import Scenarios, _value_at, scenario_for
from diffusion_sim.experiment.run import _community_key
from diffusion_sim.rng import stream_key
from diffusion_sim.scenario import Scenario, apply_overrides, load_scenario

if TYPE_CHECKING:
    from diffusion_sim.community import Community
    from diffusion_sim.experiment.spec import Parameter
    from diffusion_sim.model import DiffusionModel
    from diffusion_sim.results import RunResult

__all__ = ["POSTERIOR_FILES", "STREAM", "PosteriorDraws"]

POSTERIOR_FILES = ("posterior.csv", "provenance.json", "fitted_scenario.yaml")
"""The files of a ``calibrate`` output folder that a comparison reads."""

STREAM = "compare.posterior"
"""The stream name of the particle draws (``stream_key(seed, replicate, STREAM)``)."""

NETWORK_ONLY_COMMUNITY = ("community.marginalised_tie_factor",)
"""``community.`` fields that change the ties but not who lives in the community (and so no coverage's denominator)."""


def _fixed_reason(path: str) -> str | None:
    """Why a fitted path cannot vary between the replicates of a comparison (None if it can)."""
    parts = path.split(".")
    if parts[0] in ("schedule", "outputs") or (parts[0] == "interventions" and parts[-1] == "end"):
        return "every replicate of a comparison is read on one clock, over the same steps"
    if parts[0] == "community" and path not in NETWORK_ONLY_COMMUNITY:
        return "who lives in the community (every coverage's denominator) must be the same in every replicate"
    return None


@dataclass(frozen=True, eq=False)
class PosteriorDraws:
    """A calibration's weighted posterior sample, to draw one particle per replicate from.

    Attributes:
        folder: the ``calibrate`` output folder it was read from.
        calibration: the calibration that was fitted (from ``provenance.json``).
        values: (particles, parameters) fitted values, columns in the calibration's order.
        weights: (particles,) positive weights, normalised to sum to 1.
        fitted: the fitted scenario (posterior medians, on the calibration's community).

    """

    folder: Path
    calibration: Calibration
    values: np.ndarray
    weights: np.ndarray
    fitted: Scenario

    @classmethod
    def load(cls, folder: str | Path) -> PosteriorDraws:
        """Read and check a ``diffusion-sim calibrate`` output folder.

        Raises:
            UserError: naming the file and the field, and what was expected, for the first problem found.

        """
        folder = Path(folder)
        if not folder.is_dir():
            raise UserError(
                "no such folder; expected the output folder of diffusion-sim calibrate "
                f"(with {', '.join(POSTERIOR_FILES)})",
                source=str(folder),
            )
        for name in POSTERIOR_FILES:
            if not (folder / name).is_file():
                raise UserError(
                    f"missing; expected the {name} that diffusion-sim calibrate writes into its output folder",
                    source=str(folder / name),
                )
        cal = _read_calibration(folder / "provenance.json")
        values, weights = _read_posterior(folder / "posterior.csv", cal)
        fitted = load_scenario(folder / "fitted_scenario.yaml")
        return cls(folder=folder, calibration=cal, values=values, weights=weights, fitted=fitted)

    @property
    def parameters(self) -> list[Parameter]:
        """The fitted parameters (dotted ``path``, ``label``), in the calibration's order."""
        return self.calibration.parameters

    @property
    def particles(self) -> int:
        """Number of particles in the posterior sample."""
        return len(self.weights)

    @property
    def source(self) -> str:
        """The posterior table's path (for messages)."""
        return str(self.folder / "posterior.csv")

    def particle(self, seed: int, replicate: int) -> int:
        """The particle replicate ``replicate`` of master seed ``seed`` uses, drawn by weight."""
        rng = np.random.default_rng(stream_key(seed, replicate, STREAM))
        return int(rng.choice(self.particles, p=self.weights))

    def values_of(self, particle: int) -> dict[str, float]:
        """A particle's fitted values, by dotted path."""
        return {p.path: float(v) for p, v in zip(self.parameters, self.values[particle], strict=True)}

    def apply(self, scenario: Scenario, replicate: int, seed: int) -> Scenario:
        """The scenario with every fitted path set to the value of replicate ``replicate``'s particle.

        Intervention paths may name the intervention by id or name, as in the calibration; a value
        for an integer field is rounded. The schema's bounds are checked.
        """
        return self._with_values(scenario, self.values_of(self.particle(seed, replicate)))

    def _with_values(self, scenario: Scenario, values: dict[str, float], where: str | None = None) -> Scenario:
        """``scenario`` with the fitted paths set to ``values`` (by path), as the calibration set them."""
        where = where or f"scenario {scenario.name}"
        source = f"{self.source} (calibration {self.calibration.name}), in {where}"
        around = Scenarios.around(self.calibration.as_experiment(), scenario, name=where)
        return scenario_for(around, {p.label: values[p.path] for p in self.parameters}, source=source)

    def check(self, scenarios: Sequence[Scenario], sources: Sequence[str] | None = None, seed: int = 0) -> None:
        """Check, before anything runs, that every fitted path can be set in every scenario.

        Applies replicate 0's draw, and every parameter's lowest and highest posterior value, to each
        scenario (a path a scenario lacks, or a value outside the schema's bounds, fails here). Refuses
        fitted paths that must be equal in every replicate (the steps, the reading of outcomes, who lives
        in the community) and ``schedule.until: quiescent`` (each replicate would stop at its own step).
        """
        for p in self.parameters:
            reason = _fixed_reason(p.path)
            if reason is not None:
                raise UserError(
                    f"the calibration fitted {p.path}, which a comparison cannot vary between replicates: {reason}",
                    source=self.source,
                    field=p.label,
                )
        sources = list(sources) if sources is not None else [s.name for s in scenarios]
        for sc, src in zip(scenarios, sources, strict=True):
            if sc.schedule.until == "quiescent":
                raise UserError(
                    "with a posterior each replicate runs on its own, and with schedule.until quiescent each would "
                    "stop at its own step; expected schedule.until steps",
                    source=src,
                )
            where = f"scenario {sc.name} ({src})"
            self._with_values(sc, self.values_of(self.particle(seed, 0)), where=where)
            for ends in (self.values.min(axis=0), self.values.max(axis=0)):
                self._with_values(sc, {p.path: float(v) for p, v in zip(self.parameters, ends, strict=True)}, where)

    def community_warning(self, baseline: Scenario, seed: int) -> str | None:
        """A warning when ``baseline`` (run with ``seed``) is not the community the calibration was fitted on.

        The fitted paths themselves are left out of the comparison; a generated community without its
        own ``community.seed`` is the one the run's seed builds.
        """
        from diffusion_sim.community import pinned_seed

        fitted_dump = self.fitted.model_dump(mode="json")
        own = {
            p.path: _value_at(fitted_dump, p.path.split("."))
            for p in self.parameters
            if p.path.startswith(("community.", "network."))
        }
        base = apply_overrides(baseline, own, source="posterior") if own else baseline
        mine, theirs = pinned_seed(base, seed), pinned_seed(self.fitted, self.calibration.seed)
        if _community_key(mine) == _community_key(theirs):
            return None
        a, b = _sections(theirs), _sections(mine)
        diff = [k for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)]
        shown = ", ".join(f"{k} ({a.get(k)!r} in the calibration, {b.get(k)!r} here)" for k in diff[:4])
        more = f" and {len(diff) - 4} more" if len(diff) > 4 else ""
        hint = ""
        if diff == ["community.seed"]:
            seed_ = a["community.seed"]
            hint = f"; to run on the calibration's community, use --seed {seed_} or --set community.seed={seed_}"
        return (
            f"the posterior of calibration {self.calibration.name} ({self.folder}) was fitted on a different community "
            f"than this comparison's baseline: {shown}{more}; its parameters may not carry over{hint}"
        )

    def run(
        self,
        scenario: Scenario,
        seed: int,
        replicates: Sequence[int],
        *,
        on_step: Callable[[DiffusionModel], None] | None = None,
        communities: dict[str, Community] | None = None,
    ) -> RunResult:
        """Run ``scenario``'s replicates one at a time, each with its particle's values; one result.

        Every replicate goes through :func:`diffusion_sim.runner.run` with ``replicates=[r]``, on a
        community built once and reused while the fitted values leave it unchanged (``communities``
        keeps the last one built, keyed by :func:`diffusion_sim.experiment.run._community_key`; pass
        the same mapping for every scenario of a comparison to share it).
        """
        from diffusion_sim.community import build_community
        from diffusion_sim.results import RunResult
        from diffusion_sim.runner import run

        communities = {} if communities is None else communities
        parts = []
        for r in replicates:
            sc = self.apply(scenario, r, seed)
            key = _community_key(sc)
            if key not in communities:
                communities.clear()  # keep one: a fitted community or network path makes a new one per particle
                communities[key] = build_community(sc, seed)
            parts.append(run(sc, seed, replicates=[r], agents=False, on_step=on_step, community=communities[key]))
        first = parts[0].counts
        for part in parts[1:]:  # check() refuses paths that change these; never join what does not add up
            c = part.counts
            same = c.groups == first.groups and len(c.steps) == len(first.steps)
            if not (same and np.array_equal(c.population, first.population) and np.array_equal(c.people, first.people)):
                raise UserError(
                    "the fitted values change the community's groups or the number of steps between replicates, so "
                    "their outcomes cannot be compared",
                    source=self.source,
                )
        return RunResult.concat(parts, scenario)

    def record(self, seed: int, replicates: Sequence[int]) -> dict[str, Any]:
        """What a comparison records about the posterior it used (provenance, report)."""
        return {
            "folder": str(self.folder.resolve()),
            "calibration": self.calibration.name,
            "calibration_seed": self.calibration.seed,
            "particles": self.particles,
            "parameters": [{"label": p.label, "path": p.path} for p in self.parameters],
            "stream": STREAM,
            "replicates": [int(r) for r in replicates],
            "particle_by_replicate": [self.particle(seed, int(r)) for r in replicates],
        }


def _sections(sc: Scenario) -> dict[str, Any]:
    """The community and network sections flattened to ``{dotted.path: value}``."""
    out: dict[str, Any] = {}

    def walk(data: Any, prefix: str) -> None:
        if isinstance(data, dict):
            for k, v in data.items():
                walk(v, f"{prefix}{k}.")
        else:
            out[prefix[:-1]] = data

    dump = sc.model_dump(mode="json")
    walk({"community": dump["community"], "network": dump["network"]}, "")
    return out


def _read_calibration(path: Path) -> Calibration:
    """The calibration recorded in a ``calibrate`` folder's provenance.json."""
    try:
        prov = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise UserError(f"cannot read it as JSON ({err})", source=str(path)) from None
    if not isinstance(prov, dict) or not isinstance(prov.get("calibration"), dict):
        raise UserError(
            "missing; expected the calibration file as diffusion-sim calibrate records it",
            source=str(path),
            field="calibration",
        )
    try:
        return Calibration.model_validate(prov["calibration"])
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "calibration"
        raise UserError(f"{first['msg']}", source=str(path), field=f"calibration.{where}") from None


def _read_posterior(path: Path, cal: Calibration) -> tuple[np.ndarray, np.ndarray]:
    """(particles, parameters) values and normalised weights from posterior.csv, checked."""
    try:
        table = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as err:
        raise UserError(f"cannot read it as CSV ({err})", source=str(path)) from None
    labels = [p.label for p in cal.parameters]
    for name in [*labels, "weight"]:
        if name not in table.columns:
            raise UserError(
                f"no column {name!r}; calibration {cal.name} (provenance.json) fitted {', '.join(labels)}, so "
                "expected a column named by each fitted parameter's label, and 'weight'",
                source=str(path),
                field=name,
            )
    if len(table) == 0:
        raise UserError("no particles; expected one row per particle of the posterior", source=str(path))
    for name in [*labels, "weight"]:
        x = pd.to_numeric(table[name], errors="coerce").to_numpy(float)
        bad = ~np.isfinite(x) if name != "weight" else ~(np.isfinite(x) & (x > 0))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            expected = "positive finite weights" if name == "weight" else "finite numbers"
            v = table[name].iloc[row]
            got = "an empty cell" if pd.isna(v) else repr(v) if isinstance(v, str) else f"{float(v):g}"
            raise UserError(
                f"expected {expected}, got {got} on line {row + 2}",
                source=str(path),
                field=name,
            )
    values = table[labels].to_numpy(float)
    weights = table["weight"].to_numpy(float)
    total = float(weights.sum())
    if not math.isfinite(total):
        raise UserError("the weights do not add up to a finite number", source=str(path), field="weight")
    return values, weights / total
