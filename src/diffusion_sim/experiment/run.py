"""Running an experiment: chunks of design points on a backend, results streamed to the store, resumable.

The work is cut into chunks of about ``runs_per_shard`` runs (design points x replicates). A chunk
is a small picklable :class:`Task`; a worker evaluates it with :func:`evaluate_chunk`, which runs
each design point's replicates as one batched block through :func:`diffusion_sim.runner.run` (the
one run path: ``run``, ``compare`` and experiments share it) and returns only outcome rows (and
per-step series if asked), never per-agent frames. Design points of a chunk that share a community
reuse it instead of building it again. The driver writes each returned chunk as a shard as soon as
it arrives, in whatever order chunks finish, so memory stays flat in the number of runs.

Reproducibility: replicate r of design point k always runs with the experiment's master seed and
replicate index r (common random numbers across points), whatever backend, worker count or chunk
size ran it; a design point's values come from its unit samples alone. So the same file and seed
give the same store on any backend (tested), and a resumed experiment equals an uninterrupted one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from diffusion_sim.errors import UserError
from diffusion_sim.experiment.design import Scenarios, problem, sample, scenario_for, value_of
from diffusion_sim.experiment.spec import Experiment, load_experiment, text_hash
from diffusion_sim.experiment.store import Store

__all__ = [
    "Task",
    "check_experiment",
    "check_parameters",
    "check_worker_memory",
    "evaluate_chunk",
    "plan",
    "run_experiment",
]


@dataclass(frozen=True)
class Task:
    """One chunk of work: design points (their ids and unit samples) and what to run and keep."""

    chunk: int
    points: np.ndarray
    units: np.ndarray
    scenarios: Scenarios
    seed: int
    replicates: int
    outcomes: tuple[str, ...]
    series: tuple[str, ...]


def _community_key(sc) -> str:
    """What decides a generated or imported community: its sections (and the seed, fixed per experiment)."""
    data = sc.model_dump(mode="json")
    return json.dumps({"community": data["community"], "network": data["network"]}, sort_keys=True)


def evaluate_chunk(task: Task) -> tuple[int, pd.DataFrame, pd.DataFrame | None]:
    """Run every design point of a chunk (its replicates as one block) and return its outcome rows.

    Returns ``(chunk, results, series)``: results has one row per (point, replicate) with the
    outcomes kept; series (or None) the per-step metrics kept.
    """
    from diffusion_sim.community import build_community
    from diffusion_sim.metrics import HOUSEHOLDS, outcomes
    from diffusion_sim.runner import run

    exp = task.scenarios.exp
    frames, series = [], []
    communities: dict[str, Any] = {}
    reps = range(task.replicates)
    for point, u in zip(task.points, task.units, strict=True):
        values = {p.label: value_of(p, x) for p, x in zip(exp.parameters, u, strict=True)}
        sc = scenario_for(task.scenarios, values)
        key = _community_key(sc)
        if key not in communities:
            communities = {key: build_community(sc, task.seed)}  # keep one: consecutive points share most
        result = run(sc, task.seed, replicates=reps, agents=False, community=communities[key])
        o = outcomes(result)
        missing = [c for c in task.outcomes if c not in o.columns]
        if missing:
            raise UserError(f"unknown outcome(s) {', '.join(missing)}", source="experiment", field="outcomes")
        frame = o[["replicate", *task.outcomes]].astype({c: float for c in task.outcomes})
        frame.insert(0, "point", np.int64(point))
        frames.append(frame)
        if task.series:
            series.append(_series(result, int(point), task.series, HOUSEHOLDS))
    results = pd.concat(frames, ignore_index=True).astype({"point": np.int64, "replicate": np.int64})
    return task.chunk, results, (pd.concat(series, ignore_index=True) if series else None)


def _series(result, point: int, metrics: Iterable[str], households: str) -> pd.DataFrame:
    """Per-step values of the kept metrics, one row per (replicate, step, metric)."""
    from diffusion_sim.kernels import COUNT_EVENTS

    c = result.counts
    g_all, g_hh = c.index("all"), c.index(households)
    by = {
        "coverage": c.coverage(households),
        "coverage_people": c.coverage(households, people=True),
        "adopters": c.adopters[:, g_hh, :].astype(float),
        "new_adopters": c.new[COUNT_EVENTS, :, g_all, :].astype(float),
        "abandonments": c.abandoned[COUNT_EVENTS, :, g_all, :].astype(float),
        "cost": c.cost.sum(axis=1),
    }
    frames = []
    T, R = len(c.steps), len(c.replicates)
    for m in metrics:
        v = np.asarray(by[m], dtype=float)  # T x R
        frames.append(
            pd.DataFrame(
                {
                    "point": np.full(T * R, point, np.int64),
                    "replicate": np.repeat(c.replicates, T),
                    "step": np.tile(c.steps, R),
                    "metric": m,
                    "value": v.T.ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def plan(exp: Experiment, design: pd.DataFrame, scenarios: Scenarios, runs_per_shard: int | None = None) -> list[Task]:
    """Every chunk of an experiment, in order: about ``runs_per_shard`` runs each (whole design points)."""
    per = max(1, (runs_per_shard or exp.runs_per_shard) // exp.replicates)
    units = design[[f"u.{p.label}" for p in exp.parameters]].to_numpy(float) if exp.parameters else None
    points = design["point"].to_numpy(np.int64)
    tasks = []
    for k, start in enumerate(range(0, len(points), per)):
        idx = slice(start, start + per)
        u = units[idx] if units is not None else np.zeros((len(points[idx]), 0))
        tasks.append(
            Task(k, points[idx], u, scenarios, exp.seed, exp.replicates, tuple(exp.outcomes), tuple(exp.series))
        )
    return tasks


def check_experiment(path: str | Path) -> tuple[Experiment, str, Scenarios, pd.DataFrame]:
    """Load an experiment file and check everything that can be checked before running.

    The base (and every chosen) scenario file loads, every parameter's path exists in it (each
    parameter is set to its lowest and highest value on the base), and every outcome name is one
    the comparison tables use. Returns the experiment, its text, its scenarios and its design.
    """
    from diffusion_sim.metrics import outcome_columns

    exp, text = load_experiment(path)
    if exp.cluster is not None:  # the cluster: section is checked with the file, before anything starts
        from pydantic import ValidationError

        from diffusion_sim.experiment.cluster import ClusterSpec
        from diffusion_sim.scenario.validation import format_validation_error

        try:
            ClusterSpec.model_validate(exp.cluster)
        except ValidationError as err:
            raise format_validation_error(err, f"{path}: cluster", data=exp.cluster, root=ClusterSpec) from None
    folder = Path(path).resolve().parent
    scenarios = Scenarios(exp, folder, source=str(path))
    base = scenarios.by_file[scenarios.default]
    known = outcome_columns(base)
    unknown = [o for o in exp.outcomes if o not in known]
    if unknown:
        raise UserError(
            f"unknown outcome(s) {', '.join(map(repr, unknown))}; expected any of {', '.join(known)}",
            source=str(path),
            field="outcomes",
        )
    design = sample(exp)
    check_parameters(scenarios, path, lambda k, p: ("parameters", str(k), "path"))
    return exp, text, scenarios, design


def check_parameters(scenarios: Scenarios, path: str | Path, key: Callable[[int, Any], tuple[str, ...]]) -> None:
    """Every parameter's path exists in the base and takes both ends of its range, alone and all together.

    The ends are the values at unit samples 0 and 1 (for a normal distribution, about 7 standard
    deviations out), so a range that leaves the scenario schema's bounds is an error here, before
    anything runs. ``key(k, parameter)`` is where parameter ``k`` is written in the file ``path``
    (its line is named in the error); experiment and calibration files share this check.
    """
    import copy

    exp = scenarios.exp
    for k, p in enumerate(exp.parameters):  # every path exists and takes both ends of its range, one at a time
        alone = copy.copy(scenarios)
        alone.exp = exp.model_copy(update={"parameters": [p]})
        for corner in (0.0, 1.0):
            try:
                scenario_for(alone, {p.label: value_of(p, corner)}, source=str(path))
            except UserError as err:
                raise _at_parameter(err, key(k, p), p.path, path) from None
    for corner in (0.0, 1.0):  # and all together (e.g. two parameters that contradict each other)
        scenario_for(scenarios, {p.label: value_of(p, corner) for p in exp.parameters}, source=str(path))


def _at_parameter(err: UserError, key: tuple[str, ...], what: str, path: str | Path) -> UserError:
    """A parameter's error located at its line of the file (``line N: parameters.K.path``)."""
    from diffusion_sim.scenario.yaml_source import _read_mapping

    _, lines = _read_mapping(Path(path), str(path))
    line = lines.get(key)
    where = f"line {line}: " if line else ""
    return UserError(f"{where}{'.'.join(key)}: {what}: {err.message}", source=str(path))


def _manifest(exp: Experiment, text: str, path: str, design: pd.DataFrame, tasks: list[Task]) -> dict[str, Any]:
    from diffusion_sim import __version__
    from diffusion_sim.provenance import git_commit

    d = exp.design
    options = {"n": d.n, "second_order": d.second_order} if d.method == "sobol" else {}
    if d.method == "morris":
        options = {"n": d.n, "levels": d.levels}
    elif d.method == "fast":
        options = {"n": d.n, "M": d.M}
    elif d.method == "latin_hypercube":
        options = {"n": d.n}
    elif d.method == "full_factorial":
        options = {"levels": d.levels}
    return {
        "name": exp.name,
        "experiment_file": path,
        "experiment_hash": text_hash(text),
        "experiment_text": text,
        "method": d.method,
        "design": options,
        "parameters": [
            {"name": p.label, "kind": p.kind, **p.model_dump(mode="json", exclude_none=True)} for p in exp.parameters
        ],
        "problem": problem(exp),
        "n_points": len(design),
        "replicates": exp.replicates,
        "runs": len(design) * exp.replicates,
        "seed": exp.seed,
        "outcomes": list(exp.outcomes),
        "series": list(exp.series),
        "chunks": len(tasks),
        "runs_per_shard": exp.runs_per_shard,
        "package_version": __version__,
        "git_commit": git_commit(),
    }


def run_experiment(
    path: str | Path,
    out: str | Path,
    *,
    backend: str = "serial",
    workers: int | None = None,
    scheduler: str | None = None,
    fresh: bool = False,
    progress: bool = False,
    runs_per_shard: int | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> Store:
    """Run an experiment file into the store ``out``; only the chunks it lacks (resume).

    Args:
        path: the experiment file.
        out: the store folder (new, or one this experiment started: it then resumes).
        backend: ``serial``, ``loky`` or ``dask``.
        workers: worker processes (loky, a local Dask cluster); default: the machine's cores.
        scheduler: the address of a running Dask scheduler to join (``--backend dask``).
        fresh: discard a store made from another version of the file and start again.
        progress: show a progress bar with an ETA (runs) on stderr.
        runs_per_shard: override the file's chunk size (the results do not depend on it).
        on_chunk: called with each chunk's index after its shard is written (tests).

    """
    exp, text, scenarios, design = check_experiment(path)
    store = Store(out)
    store.check_writable()
    tasks = plan(exp, design, scenarios, runs_per_shard)
    manifest = _manifest(exp, text, str(path), design, tasks)
    if store.exists():
        old = store.manifest()
        same = old.get("experiment_hash") == manifest["experiment_hash"] and old.get("chunks") == len(tasks)
        if not same and not fresh:
            why = (
                "the experiment file changed"
                if old.get("experiment_hash") != manifest["experiment_hash"]
                else ("the chunk size changed")
            )
            raise UserError(
                f"holds an experiment started from another version of it ({why}); resume with the same file and "
                "options, or add --fresh to discard the stored results and start again",
                source=str(out),
                field="--out",
            )
        if not same:
            store.start_afresh()
    if not store.exists():
        store.create(manifest, design)
    done = store.done_chunks()
    todo = [t for t in tasks if t.chunk not in done]
    total = manifest["runs"]
    bar = None
    if progress:
        from tqdm import tqdm

        finished = sum(len(t.points) for t in tasks if t.chunk in done) * exp.replicates
        bar = tqdm(total=total, initial=finished, unit="run", desc=exp.name[:30], file=sys.stderr, smoothing=0.1)
    try:
        for chunk, results, series in _map_unordered(backend, workers, scheduler, todo, exp, str(path)):
            store.write_chunk(chunk, results, series)
            if bar is not None:
                bar.update(len(results))
            if on_chunk is not None:
                on_chunk(chunk)
    finally:
        if bar is not None:
            bar.close()
    return store


def check_worker_memory(scenarios: Scenarios, exp: Experiment, worker_bytes: int | None, source: str) -> None:
    """Refuse, before any chunk runs, an experiment whose runs would not fit in what one worker may use.

    A worker runs one design point's replicates as one block at a time; ``worker_bytes`` is what the
    backend says each worker may use (a Dask worker's memory limit, a share of this machine for
    loky), not the whole machine.
    """
    from diffusion_sim.network.build import expected_ties
    from diffusion_sim.population import expected_agents
    from diffusion_sim.resources import check_scenario_memory, run_memory

    for f, sc in scenarios.by_file.items():
        check_scenario_memory(sc, exp.replicates, source=f"{source}: {f}")  # this process
        n, ties = expected_agents(sc), expected_ties(sc)
        if worker_bytes is None or n is None or ties is None:
            continue
        need = run_memory(n, exp.replicates, ties, community_built=False)
        if need > worker_bytes:
            raise UserError(
                f"{n:,} agents x {exp.replicates} replicates need about {need / 1e9:,.1f} GB per worker, more than "
                f"a worker may use ({worker_bytes / 1e9:,.1f} GB); give workers more memory, use fewer workers per "
                "machine, or fewer replicates",
                source=f"{source}: {f}",
            )


def _map_unordered(
    backend: str, workers: int | None, scheduler: str | None, tasks: list[Task], exp: Experiment, source: str
) -> Iterator:
    """Evaluate the tasks on a backend; yields each chunk's result once, in the order they finish."""
    if not tasks:
        return iter(())
    from diffusion_sim.experiment.cluster import backend as open_backend

    return _from_backend(open_backend, backend, workers, scheduler, tasks, exp, source)


def _from_backend(open_backend, kind, workers, scheduler, tasks, exp, source) -> Iterator:
    cluster = None
    if exp.cluster:
        from diffusion_sim.experiment.cluster import ClusterSpec

        cluster = ClusterSpec.model_validate(exp.cluster)
    with open_backend(kind, workers=workers, scheduler=scheduler, cluster=cluster) as b:
        check_worker_memory(tasks[0].scenarios, exp, b.worker_memory_bytes(), source)
        yield from b.map_unordered(evaluate_chunk, tasks)
