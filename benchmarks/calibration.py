"""Time ``diffusion-sim calibrate`` on three parameters, 1,000 households in 25 villages (issue #13, item 6).

The known-answer case of ``docs/calibration-method.md`` and ``tests/test_calibrate_known_answer.py``:
``scenarios/baseline.yaml`` with 1,000 households in 25 villages (1,225 agents with leaders and
health workers), community seed 7, 104 weekly steps; the observed data (cumulative adoption per
village every 8 weeks) are simulated at the true behaviour.external, behaviour.imitation and
roles.household.threshold.mean (:func:`diffusion_sim.calibrate.fit.simulated_observed`) and written
as a CSV. The whole command then runs on each backend asked for (default: loky and a local Dask
cluster, ``--workers`` each): the fit to every village, the held-out check (a second fit without 5
villages, and their prediction beside the Bass baseline), the predictive band and every output file.

It prints the wall time of each command (process start-up excluded: the command runs in this
process), the simulations, each parameter's 90% interval against its true value, the held-out
errors, and whether every backend wrote the same posterior.

    PYTHONPATH=src .venv/bin/python benchmarks/calibration.py --workers 2

A measuring script: nothing asserts on time.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from diffusion_sim.calibrate.fit import Simulator, check_calibration, simulated_observed
from diffusion_sim.cli import main as cli
from diffusion_sim.community import build_community

ROOT = Path(__file__).resolve().parents[1]
TRUTH = {"behaviour.external": 0.003, "behaviour.imitation": 0.02, "roles.household.threshold.mean": 0.65}
PRIOR = {
    "behaviour.external": (0.0, 0.02),
    "behaviour.imitation": (0.0, 0.1),
    "roles.household.threshold.mean": (0.3, 0.9),
}
STEPS = np.arange(0, 105, 8)
REFERENCE_RUNS = 100


def calibration_text(population: int, generations: int, seed: int, hold_out: int = 5, data: bool = True) -> str:
    """The known-answer case's calibration file (also used by tests/test_calibrate_known_answer.py)."""
    priors = "".join(f"  {k}: {{distribution: uniform, low: {lo}, high: {hi}}}\n" for k, (lo, hi) in PRIOR.items())
    return (
        f"name: known_answer\nscenario: {ROOT / 'scenarios' / 'baseline.yaml'}\n"
        "set: {community.households: 1000, community.villages: 25, community.seed: 7, schedule.steps: 104}\n"
        + ("data: {file: observed.csv}\n" if data else "")
        + f"fit:\n{priors}method: {{population: {population}, generations: {generations}}}\n"
        f"hold_out: {hold_out}\nseed: {seed}\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--backends", default="loky,dask", help="comma-separated: serial, loky, dask")
    ap.add_argument("--population", type=int, default=300)
    ap.add_argument("--generations", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-seed", type=int, default=1000, help="run seed of the observed data")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    args = ap.parse_args()

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, python "
          f"{platform.python_version()}; {args.workers} workers", flush=True)  # fmt: skip
    report: dict = {"workers": args.workers, "population": args.population, "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "cal.yaml"
        path.write_text(calibration_text(args.population, args.generations, args.seed), encoding="utf-8")
        cal, scenarios = check_calibration(path)
        community = build_community(scenarios.by_file[scenarios.default], cal.seed)
        observed = simulated_observed(scenarios, community, TRUTH, STEPS, args.data_seed)
        observed.to_frame()[["village", "step", "coverage"]].to_csv(folder / "observed.csv", index=False)
        # the reference, in this process: one simulation as the fit runs it (same community, steps and villages)
        sim = Simulator(scenarios, community, observed, cal.seed)
        units = [(TRUTH[k] - lo) / (hi - lo) for k, (lo, hi) in PRIOR.items()]
        sim(units, 0)  # compiled outside the clock
        t0 = time.perf_counter()
        for k in range(REFERENCE_RUNS):
            sim(units, 1 + k)
        per_simulation = (time.perf_counter() - t0) / REFERENCE_RUNS
        report["reference_s_per_simulation"] = per_simulation
        print(f"reference: {per_simulation * 1000:.1f} ms per simulation, serial, in this process", flush=True)
        report |= {"households": int(observed.sizes.sum()), "agents": int(community.population.n),
                   "villages": len(observed.villages)}  # fmt: skip
        posteriors = {}
        for kind in args.backends.split(","):
            out = folder / f"out-{kind}"
            argv = ["calibrate", str(path), "--out", str(out), "--backend", kind, "--quiet"]
            argv += ["--workers", str(args.workers)] if kind != "serial" else []
            with contextlib.redirect_stderr(io.StringIO()):  # Dask's start-up chatter
                t0 = time.perf_counter()
                assert cli(argv) == 0
                wall = time.perf_counter() - t0
            prov = json.loads((out / "provenance.json").read_text())
            summary = pd.read_csv(out / "summary.csv").set_index("parameter")
            held = pd.read_csv(out / "heldout.csv", dtype={"village": str}).set_index("village").loc["all"]
            posteriors[kind] = (out / "posterior.csv").read_bytes()
            check = prov["held_out"]["training_fit"]
            run = {
                "backend": kind, "wall_s": round(wall, 1), "generations": prov["generations"],
                "simulations": prov["simulations"], "check_simulations": check["simulations"],
                "held_out_model_rms": round(float(held["model_rms"]), 4),
                "held_out_bass_rms": round(float(held["bass_rms"]), 4),
                "held_out_inside_90": round(float(held["inside_90"]), 3), "parameters": [],
            }  # fmt: skip
            total = prov["simulations"] + check["simulations"] + 2 * 40  # two predictive bands of 40 draws
            ideal = total * per_simulation / (1 if kind == "serial" else args.workers)
            run["ratio_to_simulations_alone"] = round(wall / ideal, 2)
            print(f"{kind}: {wall:.1f} s = {wall / ideal:.2f} x the same {total} simulations alone, split over "
                  f"{1 if kind == 'serial' else args.workers} workers", flush=True)  # fmt: skip
            print(f"{kind}: {wall:.1f} s for the whole command ({prov['simulations']} + {check['simulations']} "
                  f"simulations, {prov['generations']} generations); held-out RMS model {held['model_rms']:.4f}, "
                  f"Bass {held['bass_rms']:.4f}, {held['inside_90']:.0%} inside the 90% band", flush=True)  # fmt: skip
            for name, truth in TRUTH.items():
                row = summary.loc[name]
                inside = bool(row["q05"] <= truth <= row["q95"])
                where = "inside" if inside else "OUTSIDE"
                print(f"  {name}: truth {truth}, median {row['median']:.4g}, 90% [{row['q05']:.4g}, "
                      f"{row['q95']:.4g}] ({where}; width ratio {row['width_ratio']:.2f})")  # fmt: skip
                run["parameters"].append({"name": name, "truth": truth, "median": row["median"], "low": row["q05"],
                                          "high": row["q95"], "inside": inside})  # fmt: skip
            report["runs"].append(run)
        if len(report["runs"]) > 1:
            first = report["runs"][0]
            for run in report["runs"][1:]:
                print(f"{run['backend']} / {first['backend']}: {run['wall_s'] / first['wall_s']:.2f}")
        same = len(set(posteriors.values())) == 1
        report["same_posterior_on_every_backend"] = same
        print(f"same posterior.csv on {', '.join(posteriors)}: {same}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=float) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
