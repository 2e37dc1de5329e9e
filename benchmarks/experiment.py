"""Experiment benchmark: runs per second end to end, loky against Dask against mesa.batch_run, and flat memory.

Run ``./dev bench experiment`` (or ``.venv/bin/python benchmarks/experiment.py``). In one process:

1. **loky, 2 workers**: ``diffusion-sim experiment run`` of a Sobol design of 8 parameters on the
   built-in community scaled to 10,000 households, 100 steps, one replicate per point (sampling,
   runs and writing the store), timed end to end: runs per second.
2. **Dask LocalCluster, 2 workers** (127.0.0.1): the same design and store.
3. **mesa.batch_run** with the per-agent reference model (:mod:`diffusion_sim.reference`) over the
   first points of the same design (it is hundreds of times slower): seconds per run, and the
   ratio to this engine's loky figure, per run.
4. **Memory flat in the number of runs**: serial experiments of 1,000 and 10,000 runs of a small
   community, each in a fresh process, peak memory (``ru_maxrss``) of each.

Prints each figure, the ratios and PASS/FAIL against the targets (at least 60 runs per second on 2
cores; Dask within 15 % of loky; at least 100x mesa.batch_run per run; the 10,000-run peak no
higher than the 1,000-run one, within 5 %). A measuring script, not a test: nothing asserts on time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PARAMETERS = """\
parameters:
  - {path: behaviour.external, distribution: uniform, low: 0.001, high: 0.01}
  - {path: behaviour.imitation, distribution: uniform, low: 0.0, high: 0.1}
  - {path: behaviour.abandonment.rate, distribution: uniform, low: 0.005, high: 0.04}
  - {path: behaviour.abandonment.peer_support, distribution: uniform, low: 0.3, high: 0.9}
  - {path: roles.household.threshold.mean, distribution: uniform, low: 0.3, high: 0.6}
  - {path: roles.household.threshold.sd, distribution: uniform, low: 0.05, high: 0.2}
  - {path: roles.religious_leader.trust, distribution: uniform, low: 0.5, high: 1.0}
  - {path: roles.household.initial_adoption, distribution: uniform, low: 0.005, high: 0.05}
"""


def experiment_file(folder: Path, name: str, households: int, steps: int, design: str) -> Path:
    """An experiment of the 8 parameters above on the built-in community."""
    villages = max(1, households // 500)
    text = textwrap.dedent(
        f"""\
        name: {name}
        base: {ROOT / "scenarios" / "default.yaml"}
        set: {{community.households: {households}, community.villages: {villages}, schedule.steps: {steps}}}
        """
    )
    text += PARAMETERS
    text += f"design: {design}\n"
    text += "replicates: 1\nseed: 1\noutcomes: [final_coverage, time_to_0.5, sustained_coverage]\n"
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def timed_experiment(
    path: Path, out: Path, backend: str, workers: int | None, scheduler: str | None = None
) -> tuple[float, int]:
    """Seconds and runs of one experiment run end to end (sampling, runs, writing)."""
    from diffusion_sim.experiment.run import run_experiment

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    store = run_experiment(path, out, backend=backend, workers=workers, scheduler=scheduler)
    return time.perf_counter() - t0, store.manifest()["runs"]


def batch_run_seconds_per_run(path: Path, n_points: int) -> float:
    """Seconds per run of ``mesa.batch_run`` with the per-agent reference model over the first design points."""
    import mesa

    from diffusion_sim.experiment.design import scenario_for, value_of
    from diffusion_sim.experiment.run import check_experiment
    from diffusion_sim.reference import ReferenceModel

    exp, _, scenarios, design = check_experiment(path)
    rows = design.head(n_points)
    units = rows[[f"u.{p.label}" for p in exp.parameters]].to_numpy(float)
    built = [scenario_for(scenarios, {p.label: value_of(p, x) for p, x in zip(exp.parameters, u, strict=True)})
             for u in units]  # fmt: skip

    class Point(ReferenceModel):
        """The reference model built from a design point's index (batch_run passes keyword parameters)."""

        def __init__(self, point: int = 0, rng=None):
            super().__init__(built[point], exp.seed)
            self.datacollector = mesa.DataCollector(model_reporters={"coverage": lambda m: m._coverage()})

    steps = built[0].schedule.steps
    t0 = time.perf_counter()
    mesa.batch_run(Point, {"point": list(range(n_points))}, number_processes=1, rng=[None], max_steps=steps,
                   data_collection_period=-1, display_progress=False)  # fmt: skip
    return (time.perf_counter() - t0) / n_points


MEMORY_CHILD = """
import resource, sys
from diffusion_sim.experiment.run import run_experiment
store = run_experiment(sys.argv[1], sys.argv[2], backend="serial")
print("PEAK", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1000, store.manifest()["runs"])
"""


def peak_memory_mb(path: Path, out: Path) -> tuple[float, int]:
    """Peak memory (MB) and runs of a serial experiment in a fresh process."""
    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(path), str(out)], capture_output=True, text=True,
                          check=True, env=dict(os.environ))  # fmt: skip
    _, peak, runs = done.stdout.split()[-3:]
    return float(peak), int(runs)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=64, help="Sobol base sample size (runs = n x 18)")
    p.add_argument("--households", type=int, default=10_000)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--batch-run-points", type=int, default=3, help="design points run by mesa.batch_run")
    p.add_argument("--skip-memory", action="store_true")
    args = p.parse_args(argv)

    from diffusion_sim.process import prefer_small_pages

    prefer_small_pages()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        path = experiment_file(tmp, "bench_sobol8", args.households, args.steps, f"{{method: sobol, n: {args.n}}}")
        warm = experiment_file(tmp, "warm", 500, 3, "{method: latin_hypercube, n: 400}")  # 4 chunks: every worker
        timed_experiment(warm, tmp / "warm", "serial", None)  # compile and import first
        print(f"experiment benchmark: Sobol, 8 parameters, n = {args.n} ({args.n * 18:,} runs), "
              f"{args.households:,} households x {args.steps} steps, 1 replicate per point")  # fmt: skip
        # both backends' workers are started and warmed (imports, compiled kernels) by a tiny experiment first:
        # what is timed is the experiment itself, as on a laptop's second run or a cluster that is already up
        from distributed import LocalCluster

        http = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, scheduler_kwargs=http) as cluster:  # fmt: skip
            address = cluster.scheduler_address
            timed_experiment(warm, tmp / "warm-loky", "loky", 2)  # loky keeps its worker processes for the next call
            timed_experiment(warm, tmp / "warm-dask", "dask", None, address)
            t_loky, runs = timed_experiment(path, tmp / "loky", "loky", 2)
            t_dask, runs_d = timed_experiment(path, tmp / "dask", "dask", None, address)
        rate_loky, rate_dask = runs / t_loky, runs_d / t_dask
        print(f"  loky, 2 workers:              {t_loky:5.1f} s  {rate_loky:6.1f} runs/s")
        print(f"  Dask LocalCluster, 2 workers: {t_dask:5.1f} s  {rate_dask:6.1f} runs/s")
        per_ref = batch_run_seconds_per_run(path, args.batch_run_points)
        per_loky = t_loky / runs * 2  # per run on one core (2 workers)
        print(f"  mesa.batch_run, reference model: {per_ref:6.2f} s per run ({args.batch_run_points} points)")
        print(f"  per run on one core: this engine {per_loky * 1000:.1f} ms, batch_run {per_ref * 1000:,.0f} ms: "
              f"{per_ref / per_loky:,.0f}x")  # fmt: skip
        verdicts = [
            ("at least 60 runs per second on 2 cores (loky)", rate_loky >= 60),
            ("Dask within 15 % of loky", rate_dask >= 0.85 * rate_loky),
            ("at least 100x mesa.batch_run per run", per_ref / per_loky >= 100),
        ]
        if not args.skip_memory:
            small = experiment_file(tmp, "mem_small", 500, 30, "{method: latin_hypercube, n: 1000}")
            big = experiment_file(tmp, "mem_big", 500, 30, "{method: latin_hypercube, n: 10000}")
            m1, r1 = peak_memory_mb(small, tmp / "m1")
            m2, r2 = peak_memory_mb(big, tmp / "m2")
            print(f"  peak memory, serial: {r1:,} runs {m1:,.0f} MB; {r2:,} runs {m2:,.0f} MB")
            verdicts.append((f"peak memory flat in runs ({r2:,} runs within 5 % of {r1:,})", m2 <= 1.05 * m1))
        for text, ok in verdicts:
            print(f"[{'PASS' if ok else 'FAIL'}] {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
