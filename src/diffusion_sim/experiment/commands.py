"""``diffusion-sim experiment run | analyze | discover``: the command-line side of experiments."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from diffusion_sim.errors import UserError
from diffusion_sim.experiment.backends import BACKENDS

__all__ = ["EXPERIMENT_EPILOG", "add_experiment", "cmd_experiment", "is_experiment_file", "validate_line"]

EXPERIMENT_EPILOG = """\
examples:
  diffusion-sim experiment run experiments/quick_sobol.yaml                     # serial, into results/quick_sobol
  diffusion-sim experiment run experiments/quick_sobol.yaml --backend loky --workers 2
  diffusion-sim experiment run experiments/district_sobol.yaml --backend dask --scheduler tcp://127.0.0.1:8786
  diffusion-sim experiment analyze results/quick_sobol                          # SALib indices, tables and plots
  diffusion-sim experiment discover results/morris_leaders --outcome final_coverage --below 0.8

An interrupted experiment (Ctrl-C, a killed process, a lost worker) started again with the same
command runs only what is missing; the store then equals that of an uninterrupted run. A changed
experiment file is refused unless --fresh discards the stored results.
"""


def add_experiment(sub: argparse._SubParsersAction, command) -> None:
    """The ``experiment`` command and its sub-commands (``command`` makes a sub-command parser)."""
    from diffusion_sim.cli import _positive_int  # the one definition of the command line's number checks

    p = command(
        sub,
        "experiment",
        "batch experiments: run, analyze, discover",
        "Run batch experiments (designs of many runs), analyse their sensitivity and discover where outcomes "
        "fall short.",
        EXPERIMENT_EPILOG,
    )
    inner = p.add_subparsers(dest="experiment_command", metavar="STEP")
    r = command(
        inner, "run", "run an experiment file into a result store", "Run an experiment file.", EXPERIMENT_EPILOG
    )
    r.add_argument("file", metavar="FILE", help="experiment YAML file")
    r.add_argument("--backend", choices=BACKENDS, default="serial", help="where runs go (default serial)")
    r.add_argument(
        "--workers", type=_positive_int, default=None, help="worker processes (default: the machine's cores)"
    )
    r.add_argument(
        "--scheduler", default=None, metavar="ADDRESS", help="join a running Dask scheduler (--backend dask)"
    )
    r.add_argument("--out", default=None, help="result store folder (default results/<experiment name>)")
    r.add_argument("--fresh", action="store_true", help="discard results stored from another version of the file")
    r.add_argument(
        "--runs-per-shard", type=_positive_int, default=None, help="runs per chunk and shard (default: the file's)"
    )
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    a = command(inner, "analyze", "sensitivity indices of a result store", "Analyse a result store.", EXPERIMENT_EPILOG)
    a.add_argument("store", metavar="DIR", help="result store folder")
    a.add_argument("--out", default=None, help="analysis folder (default DIR/analysis)")
    d = command(
        inner, "discover", "where an outcome falls short (PRIM)", "Scenario discovery with PRIM.", EXPERIMENT_EPILOG
    )
    d.add_argument("store", metavar="DIR", help="result store folder")
    d.add_argument("--outcome", required=True, help="the outcome column, e.g. final_coverage")
    side = d.add_mutually_exclusive_group(required=True)
    side.add_argument("--below", type=float, default=None, help="cases of interest: outcome below this")
    side.add_argument("--above", type=float, default=None, help="cases of interest: outcome above this")
    d.add_argument("--out", default=None, help="discovery folder (default DIR/discovery)")


def cmd_experiment(args: argparse.Namespace) -> int:
    """Dispatch ``experiment STEP``."""
    step = getattr(args, "experiment_command", None)
    if step == "run":
        return _run(args)
    if step == "analyze":
        from diffusion_sim.experiment.analyze import write_analysis

        out = write_analysis(args.store, args.out)
        print(f"wrote the analysis of {args.store} to {out}")
        return 0
    if step == "discover":
        from diffusion_sim.experiment.discover import write_discovery

        text = write_discovery(args.store, args.outcome, below=args.below, above=args.above, out_dir=args.out)
        print(text)
        return 0
    raise UserError(
        "expected a step: run, analyze or discover (see 'diffusion-sim experiment --help')", source="experiment"
    )


def _run(args: argparse.Namespace) -> int:
    from diffusion_sim.experiment.run import check_experiment, run_experiment
    from diffusion_sim.interrupts import deferred_interrupts

    if args.scheduler and args.backend != "dask":
        raise UserError("--scheduler joins a Dask cluster: use it with --backend dask", source="--scheduler")
    exp, *_ = check_experiment(args.file)  # every check before anything runs
    out = args.out or str(Path("results") / _slug(exp.name))
    t0 = time.perf_counter()
    with deferred_interrupts():
        store = run_experiment(
            args.file, out, backend=args.backend, workers=args.workers, scheduler=args.scheduler, fresh=args.fresh,
            progress=not args.no_progress and sys.stderr.isatty(), runs_per_shard=args.runs_per_shard,
        )  # fmt: skip
    m = store.manifest()
    elapsed = time.perf_counter() - t0
    print(
        f"diffusion-sim experiment: {m['name']}: {m['n_points']:,} design points x {m['replicates']} replicates = "
        f"{m['runs']:,} runs ({m['method']}) in {elapsed:.1f} s; results in {out}/"
    )
    print(f"  read them with pandas.read_parquet('{out}/results') or DuckDB read_parquet('{out}/results/*.parquet')")
    return 0


def _slug(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.lower())
    return keep.strip("-") or "experiment"


def is_experiment_file(path: str) -> bool:
    """Whether a YAML file is an experiment file (it has a top-level ``design``), not a scenario."""
    from diffusion_sim.scenario.yaml_source import _parse, _read_text

    try:
        data, _, _ = _parse(_read_text(Path(path), path), path)
    except UserError:
        return False
    return isinstance(data, dict) and "design" in data and "base" in data


def validate_line(path: str) -> str:
    """Check an experiment file completely (base scenarios, paths, outcomes) and return its ``ok`` line."""
    from diffusion_sim.experiment.run import check_experiment

    exp, _, _, design = check_experiment(path)
    runs = len(design) * exp.replicates
    return (
        f"ok  {path}  (experiment: {exp.name}, {exp.design.method}, {len(exp.parameters)} parameters, "
        f"{len(design):,} points x {exp.replicates} replicates = {runs:,} runs)"
    )
