"""Compare two likelihood-free candidates (pyabc ABC-SMC, ELFI SMC-ABC) on the known-answer case of issue #13.

Data: cumulative adoption per village (every 8 weeks) simulated from ``scenarios/baseline.yaml``
with 1,000 households in 25 villages (its leaders and health workers), a fixed community
(``community.seed: 7``) and known behaviour.external, behaviour.imitation and
roles.household.threshold.mean. Each candidate then fits the three parameters from uniform priors
with the same simulator, summary and distance (:mod:`diffusion_sim.calibrate.summary`), on
``--jobs`` workers; we record wall time, whether the truth lies in each 90% interval, the interval
widths, whether two runs with the same seed on 1 and 2 workers agree, and whether numpy's global
random state is the same after the fit as before it.

    PYTHONPATH=src:/tmp/elfi-site python benchmarks/calibration_methods.py --repeats 3 --jobs 2

ELFI is not a project dependency (it pins matplotlib < 3.9); install it aside, e.g.
``pip install --no-deps --target /tmp/elfi-site elfi==0.8.8 gpy paramz numdifftools arviz ...``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from diffusion_sim.calibrate.summary import distance, village_curves
from diffusion_sim.community import build_community
from diffusion_sim.rng import name_hash
from diffusion_sim.runner import run
from diffusion_sim.scenario import apply_overrides, load_scenario

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("behaviour.external", "behaviour.imitation", "roles.household.threshold.mean")
TRUTH = (0.003, 0.02, 0.65)
PRIOR = ((0.0, 0.02), (0.0, 0.1), (0.3, 0.9))
STEPS = np.arange(0, 105, 8)


class Simulator:
    """The known-answer case: one community, three parameters -> (steps, villages) curves."""

    def __init__(self) -> None:
        sc = load_scenario(ROOT / "scenarios/baseline.yaml")
        self.base = apply_overrides(
            sc, {"community.households": 1000, "community.villages": 25, "community.seed": 7}, source="benchmark"
        )
        self.community = build_community(self.base, 0)
        counts = run(self.base, 0, agents=False, community=self.community, steps=0).counts
        self.sizes = counts.population[counts.village_groups]

    def __call__(self, theta, seed: int) -> np.ndarray:
        sc = apply_overrides(self.base, {n: float(v) for n, v in zip(NAMES, theta, strict=True)}, source="fit")
        return village_curves(run(sc, int(seed), agents=False, community=self.community).counts, STEPS)


def intervals(samples: np.ndarray, weights: np.ndarray | None = None) -> list[tuple[float, float, float]]:
    """(5%, 50%, 95%) weighted quantiles of each column."""
    w = np.ones(len(samples)) if weights is None else np.asarray(weights, float)
    out = []
    for k in range(samples.shape[1]):
        order = np.argsort(samples[:, k])
        cw = np.cumsum(w[order]) / w.sum()
        out.append(tuple(float(np.interp(q, cw, samples[order, k])) for q in (0.05, 0.5, 0.95)))
    return out


# ------------------------------------------------------------------------------------------------- pyabc


def fit_pyabc(sim: Simulator, observed: np.ndarray, seed: int, jobs: int, population: int, generations: int):
    import tempfile

    import pyabc

    from diffusion_sim.calibrate.abc import OrderedSampler, isolated_global_random, task_seed

    prior = pyabc.Distribution(**{f"p{k}": pyabc.RV("uniform", lo, hi - lo) for k, (lo, hi) in enumerate(PRIOR)})

    def model(p):
        return {"curves": sim([p[f"p{k}"] for k in range(len(NAMES))], task_seed())}

    def dist(x, y):
        return distance(x["curves"], y["curves"], sim.sizes)

    if jobs > 1:
        from joblib import Parallel, delayed

        pool = Parallel(n_jobs=jobs, backend="loky")

        def map_(f, xs):
            return pool(delayed(f)(x) for x in xs)
    else:
        map_ = map
    sampler = OrderedSampler(map_, seed=seed, batch=population, chunk=max(1, population // (2 * jobs)))
    with tempfile.TemporaryDirectory() as tmp, isolated_global_random(seed):
        abc = pyabc.ABCSMC(model, prior, dist, population_size=population, sampler=sampler)
        abc.new(f"sqlite:///{tmp}/abc.db", {"curves": observed})
        history = abc.run(max_nr_populations=generations)
        df, w = history.get_distribution()
        evals = int(history.total_nr_simulations)
    return df[[f"p{k}" for k in range(len(NAMES))]].to_numpy(), w, evals


# ------------------------------------------------------------------------------------------------- ELFI


class _ElfiSimulate:
    """ELFI's simulator: a batch of parameter vectors and ELFI's per-batch RandomState (picklable)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def __call__(self, *theta, batch_size=1, random_state=None):
        seeds = random_state.randint(0, 2**31 - 1, size=batch_size)
        cols = [np.atleast_1d(t) for t in theta]
        return np.stack([self.sim([c[i] for c in cols], seeds[i]).ravel() for i in range(batch_size)])


class _ElfiDistance:
    def __init__(self, shape, sizes) -> None:
        self.shape, self.sizes = shape, sizes

    def __call__(self, sim_flat, obs_flat):
        obs = obs_flat[0].reshape(self.shape)
        return np.array([distance(s.reshape(self.shape), obs, self.sizes) for s in sim_flat])


def fit_elfi(sim: Simulator, observed: np.ndarray, seed: int, jobs: int, population: int, generations: int):
    import elfi
    import elfi.clients.multiprocessing

    if jobs > 1:
        elfi.set_client(elfi.clients.multiprocessing.Client(num_processes=jobs))
    else:
        elfi.set_client("native")
    m = elfi.new_model()
    priors = [elfi.Prior("uniform", lo, hi - lo, model=m, name=f"p{k}") for k, (lo, hi) in enumerate(PRIOR)]

    y = elfi.Simulator(_ElfiSimulate(sim), *priors, observed=observed.ravel()[None, :], model=m, name="y")
    d = elfi.Distance(_ElfiDistance(observed.shape, sim.sizes), y, model=m, name="d")
    smc = elfi.SMC(d, batch_size=50, seed=seed)
    res = smc.sample(population, quantiles=[0.5] * (generations - 1), bar=False)
    samples = np.column_stack([res.samples[f"p{k}"] for k in range(len(NAMES))])
    return samples, res.weights, int(res.n_sim)


FITTERS = {"pyabc": fit_pyabc, "elfi": fit_elfi}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", default="pyabc,elfi")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--population", type=int, default=300)
    ap.add_argument("--generations", type=int, default=6)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    sim = Simulator()
    sim(TRUTH, 0)  # compile the kernels once, outside the timings
    rows = []
    for method in args.methods.split(","):
        for rep in range(args.repeats):
            observed = sim(TRUTH, 1000 + rep)  # a new data set per repeat
            seed = int(name_hash(f"fit.{rep}") % 2**31)
            before = np.random.get_state()[1].copy()
            t0 = time.perf_counter()
            samples, w, evals = FITTERS[method](sim, observed, seed, args.jobs, args.population, args.generations)
            wall = time.perf_counter() - t0
            untouched = bool(np.array_equal(before, np.random.get_state()[1]))
            ci = intervals(samples, w)
            inside = [lo <= t <= hi for (lo, _, hi), t in zip(ci, TRUTH, strict=True)]
            widths = [(hi - lo) / (b - a) for (lo, _, hi), (a, b) in zip(ci, PRIOR, strict=True)]
            row = {
                "method": method, "repeat": rep, "jobs": args.jobs, "wall_s": round(wall, 1), "simulations": evals,
                "inside_90": inside, "width_over_prior": [round(x, 3) for x in widths],
                "intervals": [[round(x, 4) for x in c] for c in ci], "global_state_untouched": untouched,
            }  # fmt: skip
            if rep == 0:  # determinism: the same fit on one worker
                s1, w1, _ = FITTERS[method](sim, observed, seed, 1, args.population, args.generations)
                row["same_on_1_worker"] = bool(
                    samples.shape == s1.shape and np.allclose(np.sort(samples, 0), np.sort(s1, 0))
                )
            print(json.dumps(row), flush=True)
            rows.append(row)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
