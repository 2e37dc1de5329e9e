"""Fit a calibration's parameters with ABC-SMC (pyabc), every simulation through :func:`diffusion_sim.runner.run`.

pyabc works in the unit cube: each fitted parameter is a unit sample u in [0, 1] with a uniform
prior, mapped to its value by the experiment files' distribution functions
(:func:`diffusion_sim.experiment.design.value_of`), so a prior means exactly what it means in an
experiment file. A particle's scenario is built as an experiment's design point is
(:func:`diffusion_sim.experiment.design.scenario_for`) and run with a seed that depends only on the
fit's seed, the generation and the particle's number (:mod:`diffusion_sim.calibrate.abc`), so the
same file and seed give the same posterior on any backend and worker count.

The community is built once, from the calibration's seed (a generated community whose
``community.seed`` is null would otherwise be a new one in every run): the observed data come from
one community, and every simulation runs on it. A fitted parameter that changes the community (a
``community.`` or ``network.`` path) gets it rebuilt for that particle, with the same seed.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from diffusion_sim.calibrate.abc import OrderedSampler, isolated_global_random, task_seed
from diffusion_sim.calibrate.data import Observed, observed_from_csv, observed_from_survey
from diffusion_sim.calibrate.spec import Calibration, load_calibration
from diffusion_sim.calibrate.summary import distance, village_curves
from diffusion_sim.community import Community, build_community
from diffusion_sim.experiment.design import Scenarios, scenario_for, value_of
from diffusion_sim.experiment.run import _community_key, check_parameters
from diffusion_sim.runner import run

__all__ = ["Simulator", "abc_posterior", "check_calibration", "fit", "intervals", "simulated_observed"]


def check_calibration(
    path: str | Path, cal: Calibration | None = None, folder: Path | None = None
) -> tuple[Calibration, Scenarios]:
    """Load a calibration file and check its priors against its scenario (the experiment files' checks).

    With ``cal`` (a calibration made on the command line, ``path`` its scenario file), check that
    one instead, its relative paths starting from ``folder``; errors then name ``--fit``.
    """
    from diffusion_sim.errors import UserError

    if cal is None:
        cal = load_calibration(path)
        folder = Path(path).resolve().parent
        scenarios = Scenarios(cal.as_experiment(), folder, source=str(path))
        check_parameters(scenarios, path, lambda k, p: ("fit", p.path))
        return cal, scenarios
    scenarios = Scenarios(cal.as_experiment(), Path(folder or ".").resolve(), source=str(path))
    try:
        check_parameters(scenarios, path, lambda k, p: ("fit", p.path))
    except UserError as err:
        import re

        message = re.sub(r"^(?:line \d+: )?fit\.", "", err.message)
        raise UserError(re.sub(r"^([^:]+): (?:\1: )+", r"\1: ", message), source="--fit") from None
    return cal, scenarios


_BUILT: dict[tuple[str, int], Community] = {}
"""Communities a worker process built from (community sections, seed): one each, see :class:`Simulator`."""


class Simulator:
    """Unit samples -> the simulated cumulative curves of the observed villages (picklable, for workers).

    With ``rebuild`` (the community was built from the scenario and ``seed``, as the command builds
    it), a pickled simulator leaves the community out, and each worker process builds it once from
    the scenario and keeps it (:data:`_BUILT`): a Dask or loky worker gets the community once, not
    with every chunk of particles. Building is deterministic, so it is the same community.
    """

    def __init__(
        self, scenarios: Scenarios, community: Community, observed: Observed, seed: int, rebuild: bool = False
    ):
        self.scenarios = scenarios
        self.parameters = scenarios.exp.parameters
        self.community: Community | None = community
        self.seed = seed
        self.rebuild = rebuild
        self.steps = observed.steps
        pop = community.population
        names = [pop.village_label(v) for v in range(pop.n_villages)]
        self.columns = np.array([names.index(v) for v in observed.villages], dtype=np.int64)
        self.key = _community_key(scenarios.by_file[scenarios.default])

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self.rebuild:
            state["community"] = None
        return state

    def base_community(self) -> Community:
        """The fit's community: the one given, or (in a worker) the one this process built from the scenario."""
        if self.community is None:
            cache = (self.key, self.seed)
            if cache not in _BUILT:
                _BUILT.clear()  # one calibration at a time per worker
                _BUILT[cache] = build_community(self.scenarios.by_file[self.scenarios.default], self.seed)
            self.community = _BUILT[cache]
        return self.community

    def values(self, units: Iterable[float]) -> dict[str, Any]:
        """Each parameter's value (by label) at its unit sample."""
        return {p.label: value_of(p, u) for p, u in zip(self.parameters, units, strict=True)}

    def __call__(self, units: Iterable[float], seed: int) -> np.ndarray:
        """(observed steps, observed villages) simulated curves at these unit samples, run with ``seed``."""
        sc = scenario_for(self.scenarios, self.values(units), source="calibration")
        community = self.base_community() if _community_key(sc) == self.key else build_community(sc, self.seed)
        result = run(sc, int(seed), agents=False, community=community, steps=int(self.steps[-1]))
        return village_curves(result.counts, self.steps)[:, self.columns]

    def for_villages(self, observed: Observed) -> Simulator:
        """The same simulator reading other villages (those of ``observed``)."""
        other = Simulator.__new__(Simulator)
        other.__dict__.update(self.__dict__)
        pop = self.base_community().population
        names = [pop.village_label(v) for v in range(pop.n_villages)]
        other.columns = np.array([names.index(v) for v in observed.villages], dtype=np.int64)
        other.steps = observed.steps
        return other


def simulated_observed(
    scenarios: Scenarios, community: Community, values: dict[str, Any], steps: np.ndarray, seed: int
) -> Observed:
    """Observations made by the model itself: every village's curve at ``steps`` from one run at ``values``.

    ``values`` are the fitted parameters' values by label (the "truth"); the run uses ``seed``. For
    known-answer tests and benchmarks: fitting these data should recover ``values``.
    """
    from diffusion_sim.calibrate.data import village_households

    sc = scenario_for(scenarios, values, source="simulated data")
    steps = np.asarray(steps, dtype=np.int64)
    result = run(sc, int(seed), agents=False, community=community, steps=int(steps[-1]))
    names, sizes = village_households(community)
    keep = np.flatnonzero(sizes > 0)
    curves = village_curves(result.counts, steps)[:, keep]
    return Observed(steps, [names[k] for k in keep], curves, sizes[keep])


def observed_for(cal: Calibration, scenarios: Scenarios, community: Community, folder: Path) -> Observed:
    """The calibration's observed data: its CSV, or the survey community's adoption times."""
    if cal.data.file is not None:
        return observed_from_csv(folder / cal.data.file, community)
    return observed_from_survey(scenarios.by_file[scenarios.default], community)


@contextlib.contextmanager
def _quiet_pyabc() -> Iterator[None]:
    """Keep pyabc's loggers (INFO: every generation) at warnings while fitting, then restore them."""
    loggers = [logging.getLogger(n) for n in ("ABC", "ABC.History", "ABC.Distance", "ABC.Epsilon", "ABC.Sampler")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def fit(
    cal: Calibration,
    folder: str | Path,
    *,
    observed: Observed | None = None,
    map_: Callable[[Callable, Iterable[Any]], Iterable[Any]] = map,
    community: Community | None = None,
) -> pd.DataFrame:
    """Fit ``cal``'s parameters to the observed adoption; returns the weighted posterior sample.

    Args:
        cal: a validated calibration (see :func:`check_calibration`).
        folder: the folder its relative paths start from (the calibration file's).
        observed: the data (default: read as the file says).
        map_: an ordered map to evaluate particles with (``map``; a joblib or Dask map for workers).
        community: the community (default: built from the scenario and ``cal.seed``).

    Returns:
        One row per particle of the last generation: each parameter's value (by label), its unit
        sample (``u.<label>``) and ``weight`` (summing to 1). ``attrs`` holds ``epsilon`` (the
        tolerance of each generation), ``simulations`` and ``generations``.

    """
    folder = Path(folder)
    scenarios = Scenarios(cal.as_experiment(), folder.resolve(), source=cal.name)
    base = scenarios.by_file[scenarios.default]
    community = community if community is not None else build_community(base, cal.seed)
    observed = observed if observed is not None else observed_for(cal, scenarios, community, folder)
    sim = Simulator(scenarios, community, observed, cal.seed)
    with tempfile.TemporaryDirectory() as tmp:
        posterior, _ = abc_posterior(cal, sim, observed, Path(tmp) / "abc.db", map_=map_)
    return posterior


def abc_posterior(
    cal: Calibration,
    sim: Simulator,
    observed: Observed,
    db: Path,
    *,
    map_: Callable[[Callable, Iterable[Any]], Iterable[Any]] = map,
    resume: bool = False,
    on_fresh: Callable[[], None] | None = None,
) -> tuple[pd.DataFrame, int]:
    """Run ABC-SMC with pyabc's database at ``db`` (or, with ``resume``, continue the fit kept there).

    The one implementation of a fit: :func:`fit` runs it in a temporary folder, the ``calibrate``
    command in its work folder so that an interrupted fit continues. ``on_fresh`` is called before a
    new database is started (to clear what an earlier, different fit left).

    Returns:
        The posterior (as :func:`fit` describes it) and the number of generations found complete in
        ``db`` (0: a new fit).

    """
    import pyabc

    labels = [p.label for p in sim.parameters]
    k = len(labels)
    prior = pyabc.Distribution(**{f"u{i}": pyabc.RV("uniform", 0.0, 1.0) for i in range(k)})
    sizes, overall = observed.sizes, cal.method.overall

    def model(theta: dict[str, float]) -> dict[str, np.ndarray]:
        return {"curves": sim([theta[f"u{i}"] for i in range(k)], task_seed())}

    def dist(x: dict[str, np.ndarray], y: dict[str, np.ndarray]) -> float:
        return distance(x["curves"], y["curves"], sizes, overall)

    url = f"sqlite:///{db}"
    sampler = OrderedSampler(map_, seed=cal.seed, batch=cal.method.batch, chunk=max(1, cal.method.batch // 8))
    with isolated_global_random(cal.seed), _quiet_pyabc():
        abc = pyabc.ABCSMC(model, prior, dist, population_size=cal.method.population, sampler=sampler)
        t0 = 0
        if resume:
            try:
                t0 = int(abc.load(url, 1).max_t) + 1
            except Exception:  # noqa: BLE001 - a database cut short before its first generation: start afresh
                resume = False
        if not resume:
            if on_fresh is not None:
                on_fresh()
            abc = pyabc.ABCSMC(model, prior, dist, population_size=cal.method.population, sampler=sampler)
            abc.new(url, {"curves": observed.curves})
            t0 = 0
        history = abc.history
        done = t0 >= cal.method.generations
        if 0 < t0 and not done:
            pops = history.get_all_populations()
            last = pops.loc[pops["t"] == t0 - 1].iloc[0]
            done = float(last["epsilon"]) <= cal.method.min_epsilon or (
                cal.method.population / float(last["samples"]) < cal.method.min_acceptance
            )
        if not done:
            history = abc.run(
                minimum_epsilon=cal.method.min_epsilon,
                max_nr_populations=cal.method.generations - t0,
                min_acceptance_rate=cal.method.min_acceptance,
            )
        units, w = history.get_distribution()
        pops = history.get_all_populations()
        epsilon = [float(e) for e in pops.loc[pops["t"] >= 0, "epsilon"]]
        simulations = int(history.total_nr_simulations)
    u = units[[f"u{i}" for i in range(k)]].to_numpy(float)
    out = pd.DataFrame(
        {
            label: [value_of(p, x) for x in u[:, i]]
            for i, (label, p) in enumerate(zip(labels, sim.parameters, strict=True))
        }
    )
    for i, label in enumerate(labels):
        out[f"u.{label}"] = u[:, i]
    out["weight"] = np.asarray(w, float) / float(np.sum(w))
    out.attrs.update(epsilon=epsilon, simulations=simulations, generations=len(epsilon))
    return out, t0


def intervals(posterior: pd.DataFrame, level: float = 0.9) -> pd.DataFrame:
    """Weighted median and central ``level`` credible interval of each parameter (one row each)."""
    w = posterior["weight"].to_numpy(float)
    names = [c for c in posterior.columns if c != "weight" and not c.startswith("u.")]
    rows = []
    a = (1.0 - level) / 2.0
    for name in names:
        x = posterior[name].to_numpy(float)
        order = np.argsort(x, kind="stable")
        cw = (np.cumsum(w[order]) - 0.5 * w[order]) / w.sum()
        lo, med, hi = np.interp([a, 0.5, 1.0 - a], cw, x[order])
        rows.append({"parameter": name, "median": float(med), "low": float(lo), "high": float(hi)})
    return pd.DataFrame(rows)
