"""Time a three-parameter calibration (issue #13, item 6) through ``diffusion_sim.calibrate.fit.fit``.

The known-answer case of ``docs/calibration-method.md``: ``scenarios/baseline.yaml`` with 1,000
households in 25 villages (1,225 agents with leaders and health workers), a fixed community, 104
weekly steps; observed data are cumulative adoption per village every 8 weeks from one run at the
true behaviour.external, behaviour.imitation and roles.household.threshold.mean. The fit uses
uniform priors, a joblib loky map on ``--jobs`` workers, and the calibration file's ABC-SMC
settings (``--population``, ``--generations``). It prints the wall time of ``fit`` (the community
is built and the kernels compiled before the clock starts), the simulations, and each parameter's
90% credible interval against its true value.

With ``--held-out K`` it also fits on the other villages only and compares, on the K held-out
villages (the last K), the posterior predictive median curve (``--draws`` weighted draws, one run
each) with the Bass baseline of :func:`diffusion_sim.calibrate.bass.held_out_errors`.

    PYTHONPATH=src .venv/bin/python benchmarks/calibration.py --jobs 2

A measuring script: nothing asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from diffusion_sim.calibrate.bass import held_out_errors
from diffusion_sim.calibrate.data import Observed
from diffusion_sim.calibrate.fit import Simulator, check_calibration, fit, intervals
from diffusion_sim.community import build_community

ROOT = Path(__file__).resolve().parents[1]
TRUTH = {"behaviour.external": 0.003, "behaviour.imitation": 0.02, "roles.household.threshold.mean": 0.65}
PRIOR = {
    "behaviour.external": (0.0, 0.02),
    "behaviour.imitation": (0.0, 0.1),
    "roles.household.threshold.mean": (0.3, 0.9),
}
STEPS = np.arange(0, 105, 8)


def calibration_text(population: int, generations: int, batch: int, seed: int) -> str:
    fit_lines = "".join(f"  {k}: {{distribution: uniform, low: {lo}, high: {hi}}}\n" for k, (lo, hi) in PRIOR.items())
    return (
        f"name: benchmark\nscenario: {ROOT / 'scenarios' / 'baseline.yaml'}\n"
        "set: {community.households: 1000, community.villages: 25, community.seed: 7, schedule.steps: 104}\n"
        f"data: {{file: observed.csv}}\nfit:\n{fit_lines}"
        f"method: {{population: {population}, generations: {generations}, batch: {batch}}}\nseed: {seed}\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--population", type=int, default=300)
    ap.add_argument("--generations", type=int, default=6)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-seed", type=int, default=1000, help="run seed of the observed data")
    ap.add_argument("--held-out", type=int, default=0, help="also fit without the last K villages and predict them")
    ap.add_argument("--draws", type=int, default=50, help="posterior draws for the held-out prediction")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    args = ap.parse_args()

    from joblib import Parallel, delayed

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, python "
          f"{platform.python_version()}; jobs {args.jobs}", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, Parallel(n_jobs=args.jobs, backend="loky") as pool:
        folder = Path(tmp)
        path = folder / "cal.yaml"
        path.write_text(calibration_text(args.population, args.generations, args.batch, args.seed), encoding="utf-8")
        cal, scenarios = check_calibration(path)
        community = build_community(scenarios.by_file[scenarios.default], cal.seed)
        pop = community.population
        names = [pop.village_label(v) for v in range(pop.n_villages)]
        placeholder = Observed(STEPS, names, np.zeros((len(STEPS), len(names))), np.ones(len(names), np.int64))
        sim = Simulator(scenarios, community, placeholder, cal.seed)
        units = [(TRUTH[k] - lo) / (hi - lo) for k, (lo, hi) in PRIOR.items()]
        curves = sim(units, seed=args.data_seed)  # also compiles the kernels before the clock starts
        from diffusion_sim.population import HOUSEHOLD

        sizes = np.bincount(pop.village[pop.role == HOUSEHOLD], minlength=pop.n_villages)
        observed = Observed(STEPS, names, curves, sizes)
        observed.to_frame()[["village", "step", "coverage"]].to_csv(folder / "observed.csv", index=False)

        def map_(f, xs):
            return pool(delayed(f)(x) for x in xs)

        map_(abs, [1, 2])  # start the workers outside the clock
        t0 = time.perf_counter()
        posterior = fit(cal, folder, observed=observed, map_=map_, community=community)
        wall = time.perf_counter() - t0
        table = intervals(posterior).set_index("parameter")
        report = {
            "households": int(sizes.sum()), "agents": int(pop.n), "villages": len(names), "jobs": args.jobs,
            "population": args.population, "generations": int(posterior.attrs["generations"]),
            "wall_s": round(wall, 1), "simulations": int(posterior.attrs["simulations"]),
            "epsilon": [round(e, 4) for e in posterior.attrs["epsilon"]], "parameters": [],
        }  # fmt: skip
        print(f"fit: {wall:.1f} s wall, {report['simulations']} simulations, {report['generations']} generations")
        for name, truth in TRUTH.items():
            row = table.loc[name]
            lo, hi = PRIOR[name]
            inside = bool(row["low"] <= truth <= row["high"])
            width = (row["high"] - row["low"]) / (hi - lo)
            print(f"  {name}: truth {truth}, median {row['median']:.4g}, 90% [{row['low']:.4g}, {row['high']:.4g}]"
                  f" ({'inside' if inside else 'OUTSIDE'}; width {width:.2f} of the prior)")  # fmt: skip
            report["parameters"].append(
                {
                    "name": name,
                    "truth": truth,
                    "median": row["median"],
                    "low": row["low"],
                    "high": row["high"],
                    "inside": inside,
                    "width_over_prior": round(width, 3),
                }
            )

        if args.held_out > 0:
            train, test = names[: -args.held_out], names[-args.held_out :]
            keep = [names.index(v) for v in train]
            train_obs = Observed(STEPS, train, curves[:, keep], sizes[keep])
            t1 = time.perf_counter()
            part = fit(cal, folder, observed=train_obs, map_=map_, community=community)
            rng = np.random.default_rng(args.seed)
            w = part["weight"].to_numpy(float)
            pick = rng.choice(len(part), size=args.draws, p=w / w.sum())
            ucols = [c for c in part.columns if c.startswith("u.")]
            draws = [(list(part.iloc[i][ucols]), 5000 + j) for j, i in enumerate(pick)]
            sims = np.stack(map_(_Run(sim), draws))  # (draws, steps, villages)
            median = np.median(sims, axis=0)
            prediction = {v: median[:, names.index(v)] for v in test}
            errors = held_out_errors(observed, train, test, prediction)
            print(f"held-out check ({len(train)} training villages, {len(test)} held out; "
                  f"{time.perf_counter() - t1:.1f} s):")  # fmt: skip
            print(errors.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
            print(
                f"Bass baseline: median training p {errors.attrs['p']:.4g}, q {errors.attrs['q']:.4g}; mean RMS "
                f"Bass {errors['bass_rms'].mean():.4f}, model {errors['model_rms'].mean():.4f}"
            )
            report["bass_p"], report["bass_q"] = errors.attrs["p"], errors.attrs["q"]
            report["held_out"] = errors.to_dict(orient="records")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=float) + "\n", encoding="utf-8")


class _Run:
    """One posterior draw's run: (unit samples, seed) -> curves (picklable, for the workers)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def __call__(self, item: tuple[list[float], int]) -> np.ndarray:
        units, seed = item
        return self.sim(units, seed)


if __name__ == "__main__":
    main()
