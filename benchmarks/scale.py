"""Scale benchmark: our engine against the per-agent reference and NDlib, the bandwidth bound, replicate batching.

Run ``.venv/bin/python benchmarks/scale.py`` (or ``./dev bench scale``); ``--help`` lists the options.
It prints, in one run:

A. the same two workloads (``threshold``: fractional threshold rule; ``cascade``: independent
   cascade, p = 0.05) on one merged unit-weight graph per size, run by three engines: ours
   (``DiffusionModel``), the per-agent Mesa reference (``ReferenceModel``) and NDlib
   (``ThresholdModel`` / ``IndependentCascadesModel`` on a networkx graph). Per engine: conversion
   and set-up time, time per step over the whole run and over the active phase, final adopters,
   peak RSS; correctness checks (identical final adopted sets for ``threshold``; ours == reference
   exactly and NDlib equal in distribution for ``cascade``); speed ratios.
B. this machine's memory bandwidth and, per size, the whole-graph exposure kernel
   (``kernels.exposure_full``) against the time the bytes it must touch take at that bandwidth.
C. replicate batching: R separate ``runner.run`` calls against one batched run of R replicates.
D. the targets, with PASS/FAIL.

As in ``engine.py`` (whose helpers this script imports), every measurement runs in its own fresh
subprocess (this script re-invoked with an internal option) that prints one JSON object, so each
peak RSS belongs to that configuration alone. Nothing here asserts on time; the script exits with
status 1 only when a correctness check fails (or the sources changed while it ran).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from engine import (  # noqa: E402
    HOUSEHOLDS_PER_VILLAGE,
    int_list,
    machine_lines,
    peak_rss_mb,
    scenario_for,
    source_digest,
    timed,
)

# engine.py sits next to this file (sys.path[0] when run as a script)
from engine import run_child as engine_run_child  # noqa: E402

DEFAULT_SIZES = "10000,100000,1000000"
QUICK_SIZES = "10000"
DEFAULT_BATCH_SIZES = "4000,20000,100000"
QUICK_BATCH_SIZES = "4000"
BATCH_STEPS = 52
BATCH_REPLICATES = 32
BATCH_SMALL_R = 8  # also measured at the first batch size (the built-in scenario)
BATCH_ROUNDS = 3

SEED_SHARE = 0.01  # initial adopters: this share of nodes, a fixed random set
THRESHOLD_MEAN, THRESHOLD_SD = 0.3, 0.1
THRESHOLD_FLOOR = 0.01
"""Thresholds are clipped below at this value. NDlib's ThresholdModel adopts when the adopted share of
neighbours is >= the threshold, even with no adopted neighbour (a threshold of 0 adopts at once); our
rule also needs one adopted contact. With every threshold > 0 the two rules coincide."""
CASCADE_P = 0.05
ACTIVE_SHARE = 0.001
"""A step is in the active phase when its new adopters exceed this share of nodes."""
BUDGET_PROBE_STEPS = 3
CASCADE_REPS_HOUSEHOLDS = 10_000
CASCADE_SE_LIMIT = 5.0

BANDWIDTH_BYTES = 400_000_000  # 400 MB float64 array
BEST_OF = 5
WHOLEGRAPH_BEST_OF = 11  # the pass takes at most tens of ms; more tries steady the minimum on a shared machine

TARGET_HOUSEHOLDS = 100_000
TARGET_VS_REFERENCE = 200.0
TARGET_VS_NDLIB = 100.0
TARGET_BOUND_RATIO = 2.0
TARGET_BATCH_GAIN = 4.0

ENGINES = ("ours", "reference", "ndlib")
WORKLOADS = ("threshold", "cascade")


# --------------------------------------------------------------------------- shared helpers


def merged_pairs(network) -> np.ndarray:
    """Unique undirected pairs (lo < hi) from the union of every layer's ties, as an (M, 2) int32 array."""
    n = network.n
    src = np.concatenate([e.src for e in network.layers.values()]).astype(np.int64)
    dst = np.concatenate([e.dst for e in network.layers.values()]).astype(np.int64)
    lo, hi = np.minimum(src, dst), np.maximum(src, dst)
    keep = lo != hi
    key = np.unique(lo[keep] * n + hi[keep])
    return np.stack([key // n, key % n], axis=1).astype(np.int32)


def one_layer_community(n: int, pairs: np.ndarray, seeds: np.ndarray):
    """n agents in one village tied by ``pairs``; ``seeds`` are the initial adopters."""
    from diffusion_sim.community import single_layer_community

    return single_layer_community(n, pairs, seeds)


def workload_scenario(workload: str, steps: int):
    """The scenario of a workload: :func:`diffusion_sim.scenario.plain_scenario` plus the workload's rule:
    the fractional threshold rule (household thresholds normal(0.3, 0.1)) or the independent cascade
    with p = 0.05 and no rule."""
    from diffusion_sim.scenario import plain_scenario

    base: dict = {"schedule.steps": steps}
    if workload == "threshold":
        base |= {
            "behaviour.threshold_rule": "fractional",
            "roles.household.threshold.mean": THRESHOLD_MEAN,
            "roles.household.threshold.sd": THRESHOLD_SD,
        }
    elif workload == "cascade":
        base |= {"behaviour.threshold_rule": "none", "behaviour.cascade_probability": CASCADE_P}
    else:
        raise ValueError(workload)
    return plain_scenario(base)


def files(workdir: str, households: int) -> dict[str, Path]:
    """Paths of one size's shared inputs (written by ``--prep``)."""
    d = Path(workdir)
    return {k: d / f"h{households}_{k}.npy" for k in ("pairs", "seeds", "theta")}


def adopted_path(workdir: str, households: int, workload: str, engine: str) -> Path:
    """Where an engine run leaves its final adopted vector (bool, one per node)."""
    return Path(workdir) / f"h{households}_{workload}_{engine}_adopted.npy"


def load_inputs(workdir: str, households: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The merged pairs, the initial adopters and the (clipped) thresholds of one size."""
    f = files(workdir, households)
    return np.load(f["pairs"]), np.load(f["seeds"]), np.load(f["theta"])


def summarise(times: list[float], new: list[int], n: int) -> dict:
    """Whole-run and active-phase mean step times from per-step times and new-adopter counts."""
    active = [t for t, k in zip(times, new, strict=True) if k > ACTIVE_SHARE * n]
    return {
        "step_s": float(np.mean(times)) if times else float("nan"),
        "active_s": float(np.mean(active)) if active else float("nan"),
        "active_steps": len(active),
    }


def warm_up_ours(sc, seed: int) -> float:
    """Load the compiled kernels (numba cache) on a tiny model of the same workload; untimed in the figures."""
    from diffusion_sim.model import DiffusionModel

    t0 = time.perf_counter()
    n = 200
    ring = np.array([(i, (i + d) % n) for i in range(n) for d in (1, 2)], dtype=np.int32)
    model = DiffusionModel(sc, seed, community=one_layer_community(n, ring, np.array([0, 100])), create_agents=False)
    for _ in range(3):
        model.step()
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- child: shared inputs of one size


def measure_prep(households: int, seed: int, steps: int, workdir: str) -> dict:
    """Build the default scenario's community, merge its layers, draw the initial adopters and thresholds.

    The merged pair list, the initial adopters (a fixed 1 % random set from ``default_rng(seed)``) and the
    thresholds (drawn by our model for the ``threshold`` workload on the merged graph, clipped below at
    THRESHOLD_FLOOR) are written to ``workdir``; every engine run of this size starts from them.
    """
    from diffusion_sim.community import build_community
    from diffusion_sim.model import DiffusionModel

    sc = scenario_for(households, steps)
    community, t_build = timed(build_community, sc, seed)
    pairs, t_merge = timed(merged_pairs, community.network)
    n = community.n
    ties = int(sum(len(e) for e in community.network.layers.values()))
    del community
    rng = np.random.default_rng(seed)
    seeds = np.sort(rng.choice(n, size=max(1, round(SEED_SHARE * n)), replace=False)).astype(np.int64)
    model = DiffusionModel(
        workload_scenario("threshold", steps), seed, community=one_layer_community(n, pairs, seeds), create_agents=False
    )
    theta = np.maximum(model.threshold[:, 0], THRESHOLD_FLOOR)
    f = files(workdir, households)
    np.save(f["pairs"], pairs)
    np.save(f["seeds"], seeds)
    np.save(f["theta"], theta)
    return {
        "households": households,
        "nodes": n,
        "layer_ties": ties,
        "edges": len(pairs),
        "seeds": len(seeds),
        "build_s": t_build,
        "merge_s": t_merge,
        "source": source_digest(),
    }


# --------------------------------------------------------------------------- child: one engine, one workload, one size


def run_engine(engine: str, workload: str, households: int, steps: int, seed: int, budget_s: float, workdir: str):
    """Convert, set up and run one engine on one workload; JSON-able measurements.

    After BUDGET_PROBE_STEPS steps the total (conversion + set-up + steps x mean step so far) is
    projected; above ``budget_s`` the run stops and reports ``skipped`` with the estimate.
    """
    pairs, seeds, theta = load_inputs(workdir, households)
    n = len(theta)
    sc = workload_scenario(workload, steps)
    out = {"engine": engine, "workload": workload, "households": households, "nodes": n, "edges": len(pairs)}
    setup = {"ours": _setup_ours, "reference": _setup_reference, "ndlib": _setup_ndlib}[engine]
    step, count_new, final = setup(sc, seed, n, pairs, seeds, theta, workload, out)
    times, new = [], []
    for k in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
        new.append(count_new())  # outside the timed region
        if k + 1 == BUDGET_PROBE_STEPS and steps > BUDGET_PROBE_STEPS:
            out["estimate_s"] = out["convert_s"] + out["setup_s"] + float(np.mean(times)) * steps
            if out["estimate_s"] > budget_s:
                out |= {"skipped": True, "steps_run": k + 1, "probe_step_s": float(np.mean(times))}
                out |= {"peak_mb": peak_rss_mb(), "source": source_digest()}
                return out
    adopted = final()
    np.save(adopted_path(workdir, households, workload, engine), adopted)
    out |= summarise(times, new, n)
    out |= {
        "skipped": False,
        "steps_run": steps,
        "final_adopters": int(adopted.sum()),
        "step_times_s": times,
        "new_adopters": new,
        "peak_mb": peak_rss_mb(),
        "source": source_digest(),
    }
    return out


def _setup_ours(sc, seed, n, pairs, seeds, theta, workload, out):
    """Our engine: the one-layer Community, then ``DiffusionModel``; thresholds set right after construction."""
    from diffusion_sim.model import DiffusionModel

    out["warmup_s"] = warm_up_ours(sc, seed)
    community, out["convert_s"] = timed(one_layer_community, n, pairs, seeds)
    t0 = time.perf_counter()
    model = DiffusionModel(sc, seed, community=community, create_agents=False)
    if workload == "threshold":
        model.threshold[:] = theta[:, None]
        model.mark_stale(np.arange(model.n))
    out["setup_s"] = time.perf_counter() - t0
    return model.step, lambda: int(model.new.sum()), lambda: model.adopted[:, 0].copy()


def _setup_reference(sc, seed, n, pairs, seeds, theta, workload, out):
    """The per-agent reference on the same community, scenario and seed; thresholds set per agent."""
    from diffusion_sim.reference import ReferenceModel

    community, out["convert_s"] = timed(one_layer_community, n, pairs, seeds)
    t0 = time.perf_counter()
    ref = ReferenceModel(sc, seed, community=community)
    if workload == "threshold":
        for a in ref.ref_agents:
            a.threshold = float(theta[a.index])
    out["setup_s"] = time.perf_counter() - t0
    return ref.step, lambda: int(sum(ref.new_flags)), lambda: ref.state()["adopted"].astype(bool)


def ndlib_graph(n: int, pairs: np.ndarray):
    """The networkx Graph NDlib runs on: nodes 0..n-1 (isolated ones included) and the merged pairs."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(pairs.tolist())
    return g


def ndlib_model(g, workload: str, seeds: np.ndarray, theta: np.ndarray | None, seed: int):
    """NDlib's ThresholdModel (node "threshold" = ours) or IndependentCascadesModel (edge "threshold" = p)."""
    import ndlib.models.epidemics as ep
    import ndlib.models.ModelConfig as mc

    cfg = mc.Configuration()
    if workload == "threshold":
        model = ep.ThresholdModel(g, seed=seed)
        for i, th in enumerate(theta.tolist()):
            cfg.add_node_configuration("threshold", i, th)
    else:
        model = ep.IndependentCascadesModel(g, seed=seed)
        for e in g.edges():
            cfg.add_edge_configuration("threshold", e, CASCADE_P)
    cfg.add_model_initial_configuration("Infected", seeds.tolist())
    model.set_initial_status(cfg)
    # NDlib draws from numpy's global random state (np.random.random_sample). Seed it here, inside an
    # NDlib-only subprocess; diffusion_sim itself never reads or writes global random state.
    np.random.seed(seed)
    model.iteration()  # NDlib's iteration 0 only reports the initial state: its iteration k is our step k
    return model


def _setup_ndlib(sc, seed, n, pairs, seeds, theta, workload, out):
    """NDlib on a networkx Graph of the same pairs (conversion timed separately)."""
    g, out["convert_s"] = timed(ndlib_graph, n, pairs)
    model, out["setup_s"] = timed(ndlib_model, g, workload, seeds, theta, seed)
    last = {}

    def step():
        last["it"] = model.iteration()

    def count_new():  # nodes whose status changed to Infected (1) in the last iteration
        return sum(1 for v in last["it"]["status"].values() if v == 1)

    def final():  # Infected, or Removed (2) in the cascade model
        status = model.status
        return np.array([status[i] != 0 for i in range(n)], dtype=bool)

    return step, count_new, final


# --------------------------------------------------------------------------- child: cascade replicates


def run_cascade_reps(engine: str, households: int, steps: int, seed: int, reps: int, workdir: str) -> dict:
    """Final cascade sizes of ``reps`` independent runs on the same graph and initial adopters.

    Ours: one model with replicates 0..reps-1 (column r equals a separate run with replicates=[r]).
    NDlib: ``reps`` models, the global random state seeded with seed + k for run k.
    """
    pairs, seeds, theta = load_inputs(workdir, households)
    n = len(theta)
    t0 = time.perf_counter()
    if engine == "ours":
        from diffusion_sim.model import DiffusionModel

        sc = workload_scenario("cascade", steps)
        model = DiffusionModel(
            sc, seed, replicates=range(reps), community=one_layer_community(n, pairs, seeds), create_agents=False
        )
        model.run_for(steps)
        finals = [int(v) for v in model.adopted.sum(axis=0)]
    else:
        g = ndlib_graph(n, pairs)
        finals = []
        for k in range(reps):
            model = ndlib_model(g, "cascade", seeds, None, seed + k)  # seeds the global state with seed + k
            for _ in range(steps):
                model.iteration(node_status=False)
            finals.append(sum(1 for v in model.status.values() if v != 0))
    return {
        "engine": engine,
        "households": households,
        "reps": reps,
        "finals": finals,
        "seconds": time.perf_counter() - t0,
        "source": source_digest(),
    }


# --------------------------------------------------------------------------- child: bandwidth and whole-graph step


def measure_bandwidth() -> dict:
    """Best of 5 numpy copies of a 400 MB float64 array (read + write bytes) and of a read-only sum."""
    a = np.random.default_rng(0).random(BANDWIDTH_BYTES // 8)
    b = np.zeros_like(a)  # touched, so the copies do not pay first-touch page faults
    copies, sums = [], []
    for _ in range(BEST_OF):
        t0 = time.perf_counter()
        np.copyto(b, a)
        copies.append(time.perf_counter() - t0)
    for _ in range(BEST_OF):
        t0 = time.perf_counter()
        a.sum()
        sums.append(time.perf_counter() - t0)
    return {
        "array_bytes": a.nbytes,
        "copy_s": min(copies),
        "sum_s": min(sums),
        "copy_gbs": 2 * a.nbytes / min(copies) / 1e9,  # read + write
        "read_gbs": a.nbytes / min(sums) / 1e9,
        "copy_times_s": copies,
        "sum_times_s": sums,
        "source": source_digest(),
    }


def measure_wholegraph(households: int, seed: int, steps: int, workdir: str) -> dict:
    """Best of ``WHOLEGRAPH_BEST_OF`` runs of ``kernels.exposure_full`` on the ``threshold`` model, and its bytes."""
    from diffusion_sim import kernels
    from diffusion_sim.model import DiffusionModel

    pairs, seeds, theta = load_inputs(workdir, households)
    n = len(theta)
    model = DiffusionModel(
        workload_scenario("threshold", steps), seed, community=one_layer_community(n, pairs, seeds), create_agents=False
    )
    model.threshold[:] = theta[:, None]
    model.mark_stale(np.arange(model.n))
    T = model.T
    m = model._m  # the arrays the step holds: m is one row shared by the replicates; A is (R, N)
    A = model.adopted.T
    s = np.zeros(A.shape, np.int64)  # scratch: the model's own exposures are left untouched
    w = np.zeros(A.shape, np.int64)
    rows = kernels.tie_rows(T.indptr)  # the tie list's agent column (built once per model)
    kernels.exposure_full(rows, T.indices, T.data, m, A, s, w)  # load/compile, untimed
    times = []
    for _ in range(WHOLEGRAPH_BEST_OF):
        t0 = time.perf_counter()
        kernels.exposure_full(rows, T.indices, T.data, m, A, s, w)
        times.append(time.perf_counter() - t0)
    N, nnz, R = model.n, T.nnz, A.shape[0]
    parts = {
        "rows": rows.itemsize * nnz,
        "indices": T.indices.itemsize * nnz,
        "data": T.data.itemsize * nnz,
        "m": m.nbytes,
        "A": A.itemsize * N * R,
        "s": s.itemsize * N * R,
        "w": w.itemsize * N * R,
    }
    return {
        "households": households,
        "nodes": N,
        "nnz": nnz,
        "dtypes": {
            "rows": str(rows.dtype),
            "indices": str(T.indices.dtype),
            "data": str(T.data.dtype),
            "m": str(m.dtype),
            "A": str(A.dtype),
            "s": str(s.dtype),
            "w": str(w.dtype),
        },
        "bytes_by_array": parts,
        "bytes": int(sum(parts.values())),
        "best_s": min(times),
        "times_s": times,
        "check_s_equal": bool(np.array_equal(s, model._s) and np.array_equal(w, model._w)),
        "source": source_digest(),
    }


# --------------------------------------------------------------------------- child: replicate batching


def batch_scenario(households: int, steps: int):
    """The built-in scenario at its own size, else the default scenario scaled (villages = households // 500)."""
    from diffusion_sim.scenario import Scenario

    base = Scenario()
    if households == base.community.households and steps == base.schedule.steps:
        return base
    return scenario_for(households, steps)


def measure_batch(households: int, reps: int, steps: int, seed: int) -> dict:
    """R separate ``runner.run(sc, seed, replicates=[r])`` calls against one ``run(sc, seed, replicates=range(R))``.

    Both modes run in this one process, interleaved over ``BATCH_ROUNDS`` rounds (R separate runs,
    then one batched run, per round), and each keeps its fastest round: a shared machine's speed
    drifts over seconds, and a ratio of two processes measured at different moments drifts with it.
    A tiny warm-up loads the compiled kernels first. Then one instrumented run of each mode splits
    the time into build / init / steps / result (not in the timed figures).
    """
    from diffusion_sim.community import build_community
    from diffusion_sim.model import DiffusionModel
    from diffusion_sim.runner import run
    from diffusion_sim.scenario import apply_overrides

    sc = batch_scenario(households, steps)
    tiny = apply_overrides(sc, {"community.households": 200, "community.villages": 1, "schedule.steps": 3})
    run(tiny, seed, replicates=[0])
    run(tiny, seed, replicates=range(2))
    separate_rounds, batched_rounds = [], []
    for _ in range(BATCH_ROUNDS):
        times, sep_finals = [], []
        for r in range(reps):
            res, t = timed(run, sc, seed, replicates=[r])
            times.append(t)
            sep_finals.append(int(res.final("adopters", "all").loc[r]))
            del res
        separate_rounds.append(float(sum(times)))
        res, t = timed(run, sc, seed, replicates=range(reps))
        batched_rounds.append(t)
        bat_finals = [int(res.final("adopters", "all").loc[r]) for r in range(reps)]
        del res
    breakdown = {}
    for mode, replicates in (("separate", [0]), ("batched", list(range(reps)))):
        community, t_build = timed(build_community, sc, seed)
        model, t_init = timed(DiffusionModel, sc, seed, replicates=replicates, community=community, create_agents=False)
        _, t_steps = timed(model.run_for, steps)
        _, t_result = timed(model.result)
        breakdown[mode] = {"build_s": t_build, "init_s": t_init, "steps_s": t_steps, "result_s": t_result}
        agents = community.n
        del model, community
    return {
        "households": households,
        "reps": reps,
        "steps": steps,
        "agents": int(agents),
        "separate_rounds_s": separate_rounds,
        "batched_rounds_s": batched_rounds,
        "separate_per_rep_s": min(separate_rounds) / reps,
        "batched_per_rep_s": min(batched_rounds) / reps,
        "separate_finals": sep_finals,
        "batched_finals": bat_finals,
        "breakdown": breakdown,
        "peak_mb": peak_rss_mb(),
        "source": source_digest(),
    }


# --------------------------------------------------------------------------- parent: orchestration and printing


def run_child(*args: str) -> dict:
    """Run this script in a fresh interpreter with ``args`` (see ``engine.run_child``)."""
    return engine_run_child(*args, script=__file__)


def note(msg: str) -> None:
    """Progress line on stderr."""
    print(f"  {msg}", file=sys.stderr, flush=True)


def ms(v) -> str:
    """Seconds as milliseconds, or '-'."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v * 1e3:,.3f}" if v < 0.01 else f"{v * 1e3:,.1f}"


def sec(v) -> str:
    """Seconds, or '-'."""
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:,.2f}"


def ratio(a, b) -> str:
    """a / b as 'Nx', or '-' when either is missing."""
    if a is None or b is None or any(isinstance(v, float) and math.isnan(v) for v in (a, b)) or b <= 0:
        return "-"
    r = a / b
    return f"{r:,.0f}x" if r >= 10 else f"{r:,.1f}x"


def print_rows(headers: list[str], rows: list[list[str]], left: int = 0) -> None:
    """A plain-text table; the first ``left`` columns left-aligned, the others right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(
            c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))


def ratio_value(a, b):
    """a / b or None."""
    if a is None or b is None or any(isinstance(v, float) and math.isnan(v) for v in (a, b)) or b <= 0:
        return None
    return a / b


def part_a(args, sizes: list[int], workdir: str, preps: dict[int, dict]) -> tuple[list[dict], list[str], bool, dict]:
    """Run part A; return its rows, check lines, whether every check passed, and ratios by (size, workload)."""
    rows = []
    for h in sizes:
        for wl in WORKLOADS:
            for eng in ENGINES:
                note(f"A: {eng} / {wl} at {h:,} households ...")
                rows.append(
                    run_child(
                        "--engine",
                        eng,
                        "--workload",
                        wl,
                        "--households",
                        str(h),
                        "--steps",
                        str(args.steps),
                        "--seed",
                        str(args.seed),
                        "--budget-minutes",
                        str(args.budget_minutes),
                        "--workdir",
                        workdir,
                    )
                )
    by = {(r["households"], r["workload"], r["engine"]): r for r in rows}
    print(
        f"A. Same workloads on three engines: the default scenario's community (villages = households // "
        f"{HOUSEHOLDS_PER_VILLAGE}),\n   all layers merged into one unit-weight simple graph; initial adopters a "
        f"fixed {SEED_SHARE:.0%} random set; {args.steps} steps; seed {args.seed}."
    )
    print(
        f"   threshold: fractional rule, thresholds normal({THRESHOLD_MEAN}, {THRESHOLD_SD}) clipped to "
        f"[{THRESHOLD_FLOOR}, 1]. cascade: independent cascade, p = {CASCADE_P} per tie."
    )
    print(
        f"   'step ms': mean over all steps run; 'active ms': mean over the 'act' steps whose new adopters "
        f"exceed {ACTIVE_SHARE:.1%} of nodes.\n   'convert s': pair list -> the engine's input (Community; "
        "networkx Graph for NDlib); 'setup s': model construction, thresholds, initial adopters.\n"
        f"   Budget: {args.budget_minutes:g} min per run, projected from the first {BUDGET_PROBE_STEPS} steps."
    )
    print()
    headers = [
        "households",
        "nodes",
        "edges",
        "workload",
        "engine",
        "convert s",
        "setup s",
        "step ms",
        "active ms",
        "act",
        "final adopters",
        "peak MB",
        "note",
    ]
    table = []
    for r in rows:
        base = [f"{r['households']:,}", f"{r['nodes']:,}", f"{r['edges']:,}", r["workload"], r["engine"]]
        if r.get("skipped"):
            est = f"skipped: est. {r['estimate_s'] / 60:.1f} min"
            table.append(
                [
                    *base,
                    sec(r["convert_s"]),
                    sec(r["setup_s"]),
                    f"({ms(r['probe_step_s'])})",
                    "-",
                    "-",
                    "-",
                    f"{r['peak_mb']:,.0f}",
                    est,
                ]
            )
        else:
            table.append(
                [
                    *base,
                    sec(r["convert_s"]),
                    sec(r["setup_s"]),
                    ms(r["step_s"]),
                    ms(r["active_s"]),
                    str(r["active_steps"]),
                    f"{r['final_adopters']:,}",
                    f"{r['peak_mb']:,.0f}",
                    "",
                ]
            )
    print_rows(headers, table, left=0)
    print("   (a skipped run shows in parentheses its mean step time over the first steps it ran)")
    print()

    # ---- checks
    checks, ok = [], True
    for h in sizes:
        # threshold: identical final adopted sets across the engines that ran
        ran = [e for e in ENGINES if not by[(h, "threshold", e)].get("skipped")]
        vecs = {e: np.load(adopted_path(workdir, h, "threshold", e)) for e in ran}
        first = vecs[ran[0]]
        diffs = {e: int(np.count_nonzero(v != first)) for e, v in vecs.items() if e != ran[0]}
        same = all(d == 0 for d in diffs.values())
        ok &= same
        skipped = [e for e in ENGINES if e not in ran]
        detail = ", ".join(f"{e} differs from {ran[0]} in {d:,} nodes" for e, d in diffs.items() if d) or (
            f"{int(first.sum()):,} adopters"
        )
        label = " = ".join(ran) + (f" ({', '.join(skipped)} skipped)" if skipped else "")
        checks.append(
            f"[{'PASS' if same else 'FAIL'}] threshold {h:,}: final adopted sets identical, {label}: {detail}"
        )
        # cascade: ours == reference exactly
        if by[(h, "cascade", "reference")].get("skipped"):
            checks.append(f"[n/a ] cascade {h:,}: ours == reference (reference skipped)")
        else:
            a = np.load(adopted_path(workdir, h, "cascade", "ours"))
            b = np.load(adopted_path(workdir, h, "cascade", "reference"))
            d = int(np.count_nonzero(a != b))
            same_series = by[(h, "cascade", "ours")]["new_adopters"] == by[(h, "cascade", "reference")]["new_adopters"]
            good = d == 0 and same_series
            ok &= good
            checks.append(
                f"[{'PASS' if good else 'FAIL'}] cascade {h:,}: ours == reference exactly (final adopted set"
                f"{'' if d == 0 else f' differs in {d:,} nodes'}; new adopters per step "
                f"{'identical' if same_series else 'DIFFER'}; {int(a.sum()):,} adopters)"
            )
    # cascade: NDlib vs ours in distribution
    hr = CASCADE_REPS_HOUSEHOLDS
    note(f"A: cascade replicates at {hr:,} households ({args.cascade_reps} each) ...")
    reps = {
        e: run_child(
            "--reps-engine",
            e,
            "--households",
            str(hr),
            "--steps",
            str(args.steps),
            "--seed",
            str(args.seed),
            "--reps",
            str(args.cascade_reps),
            "--workdir",
            workdir,
        )
        for e in ("ours", "ndlib")
    }
    xo, xn = np.array(reps["ours"]["finals"], float), np.array(reps["ndlib"]["finals"], float)
    k = len(xo)
    se = math.sqrt(xo.var(ddof=1) / k + xn.var(ddof=1) / len(xn)) if k > 1 else float("nan")
    diff = xn.mean() - xo.mean()
    z = abs(diff) / se if se > 0 else (0.0 if diff == 0 else math.inf)
    good = z <= CASCADE_SE_LIMIT
    ok &= good
    checks.append(
        f"[{'PASS' if good else 'FAIL'}] cascade {hr:,}: NDlib final size within {CASCADE_SE_LIMIT:g} standard errors "
        f"of ours over {k} runs each: ours {xo.mean():,.1f} (sd {xo.std(ddof=1):,.1f}), NDlib {xn.mean():,.1f} "
        f"(sd {xn.std(ddof=1):,.1f}); difference {diff:+,.1f} = {z:.2f} SE"
    )
    main_ours = by.get((hr, "cascade", "ours"))
    if main_ours and reps["ours"]["finals"][0] != main_ours.get("final_adopters"):
        ok = False
        checks.append(f"[FAIL] cascade {hr:,}: replicate 0 of the batched replicates differs from the single run")
    print("Checks:")
    print("\n".join(checks))
    print()

    # ---- ratios
    print("Ratios (time per step of the other engine / ours; higher = ours faster):")
    headers = ["households", "workload", "ref/ours whole", "ref/ours active", "NDlib/ours whole", "NDlib/ours active"]
    table, ratios = [], {}
    for h in sizes:
        for wl in WORKLOADS:
            o, rf, nd = by[(h, wl, "ours")], by[(h, wl, "reference")], by[(h, wl, "ndlib")]
            cells = [f"{h:,}", wl]
            for other in (rf, nd):
                for key in ("step_s", "active_s"):
                    if other.get("skipped"):
                        cells.append("skipped")
                    else:
                        cells.append(ratio(other.get(key), o.get(key)))
            ratios[(h, wl)] = {
                "ref": None if rf.get("skipped") else ratio_value(rf["step_s"], o["step_s"]),
                "ndlib": None if nd.get("skipped") else ratio_value(nd["step_s"], o["step_s"]),
            }
            table.append(cells)
    print_rows(headers, table, left=2)
    print()
    return rows + [{"part": "A-reps", **v} for v in reps.values()], checks, ok, ratios


def part_b(args, sizes: list[int], workdir: str) -> tuple[dict, list[dict]]:
    """Run part B (bandwidth, whole-graph step) and print it."""
    note("B: memory bandwidth ...")
    bw = run_child("--bandwidth")
    whole = []
    for h in sizes:
        note(f"B: whole-graph step at {h:,} households ...")
        whole.append(
            run_child(
                "--wholegraph", str(h), "--seed", str(args.seed), "--steps", str(args.steps), "--workdir", workdir
            )
        )
    print("B. Memory bandwidth and the whole-graph bound")
    print(
        f"   numpy copy of a {bw['array_bytes'] / 1e6:,.0f} MB float64 array (best of {BEST_OF}, read + write bytes): "
        f"{bw['copy_gbs']:.1f} GB/s"
    )
    print(f"   numpy sum of the same array (best of {BEST_OF}, read only):                  {bw['read_gbs']:.1f} GB/s")
    w0 = whole[0]["dtypes"] if whole else {}
    if w0:
        print(
            f"   kernels.exposure_full on our threshold model (best of {WHOLEGRAPH_BEST_OF}); "
            f"bytes = rows {w0['rows']} x nnz + indices {w0['indices']} x nnz\n"
            f"   + T.data {w0['data']} x nnz + m {w0['m']} x N + A {w0['A']} x N + s, w {w0['s']} x N each; "
            "bound = bytes / read bandwidth"
        )
    print()
    headers = ["households", "nodes", "nnz", "MB touched", "measured ms", "bound ms", "measured/bound", "GB/s achieved"]
    table = []
    for r in whole:
        bound = r["bytes"] / (bw["read_gbs"] * 1e9)
        r["bound_s"] = bound
        r["bound_ratio"] = r["best_s"] / bound
        table.append(
            [
                f"{r['households']:,}",
                f"{r['nodes']:,}",
                f"{r['nnz']:,}",
                f"{r['bytes'] / 1e6:,.1f}",
                ms(r["best_s"]),
                ms(bound),
                f"{r['bound_ratio']:.2f}",
                f"{r['bytes'] / r['best_s'] / 1e9:.1f}",
            ]
        )
    print_rows(headers, table)
    bad = [r["households"] for r in whole if not r["check_s_equal"]]
    if bad:
        print(f"   NOTE: exposure_full's result differs from the model's exposures at {bad} (unexpected)")
    print()
    return bw, whole


def batching_ceiling(breakdown: dict, reps: int) -> float:
    """The gain batching would reach if it made everything but the steps free: a separate run's
    build + init + steps + result over a batched replicate's steps (both from the instrumented runs).

    The step's work is per (agent, replicate) and is not shared between replicates, so no batching
    of the same kernel beats this; where it is below the target, only cheaper steps can close the gap.
    """
    sep = breakdown["separate"]
    return sum(sep[k] for k in ("build_s", "init_s", "steps_s", "result_s")) / (breakdown["batched"]["steps_s"] / reps)


def part_c(args, sizes: list[int]) -> list[dict]:
    """Run part C (replicate batching) and print it."""
    R = args.batch_replicates
    res = []
    for i, h in enumerate(sizes):
        for r in ([BATCH_SMALL_R] if i == 0 and BATCH_SMALL_R < R else []) + [R]:
            note(f"C: {r} separate runs, then one batched run of {r}, at {h:,} households ({BATCH_ROUNDS} rounds)")
            b = run_child("--batch", str(h), "--reps", str(r), "--seed", str(args.seed))
            res.append(
                {
                    **b,
                    "R": r,
                    "gain": b["separate_per_rep_s"] / b["batched_per_rep_s"],
                    "ceiling": batching_ceiling(b["breakdown"], r),
                    "same": b["separate_finals"] == b["batched_finals"],
                }
            )
    print(
        f"C. Replicate batching: {BATCH_STEPS} steps; R separate runner.run(sc, seed, replicates=[r]) calls against one"
    )
    print("   runner.run(sc, seed, replicates=range(R)); 4,000 households is the built-in scenario, larger sizes the")
    print(f"   default scenario scaled (villages = households // {HOUSEHOLDS_PER_VILLAGE}). Both modes run in one")
    print(f"   process, interleaved over {BATCH_ROUNDS} rounds; each keeps its fastest round. Per replicate: time / R.")
    print()
    headers = [
        "households", "agents", "R", "separate s/rep", "batched s/rep", "gain", "ceiling", "same finals", "peak MB"
    ]  # fmt: skip
    table = [
        [
            f"{r['households']:,}",
            f"{r['agents']:,}",
            str(r["R"]),
            f"{r['separate_per_rep_s']:.4f}",
            f"{r['batched_per_rep_s']:.4f}",
            f"{r['gain']:.1f}x",
            f"{r['ceiling']:.1f}x",
            "yes" if r["same"] else "NO",
            f"{r['peak_mb']:,.0f}",
        ]
        for r in res
    ]
    print_rows(headers, table)
    print()
    print("   Where the time goes (one extra instrumented run of each mode, seconds: build / init / steps / result;")
    print("   batched per replicate in brackets). ceiling = a separate run's total over a batched replicate's steps:")
    print("   the gain if batching made build, start-up and results free; the steps' work is per (agent, replicate).")
    for r in res:
        s, b = r["breakdown"]["separate"], r["breakdown"]["batched"]
        k = r["R"]
        print(
            f"   {r['households']:>9,} R={k:<3} separate run: {s['build_s']:.4f} / {s['init_s']:.4f} / "
            f"{s['steps_s']:.4f} / {s['result_s']:.4f}    batched: [{b['build_s'] / k:.4f} / {b['init_s'] / k:.4f} / "
            f"{b['steps_s'] / k:.4f} / {b['result_s'] / k:.4f}]"
        )
    for r in res:
        if not r["same"]:
            print(
                f"   MISMATCH at {r['households']:,}, R={r['R']}: separate {r['separate_finals']} batched "
                f"{r['batched_finals']}"
            )
    print()
    return res


def part_d(ratios: dict, whole: list[dict], batch: list[dict], batch_r: int) -> list[str]:
    """The targets with PASS/FAIL (or n/a when not measured)."""

    def v(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    lines = []
    r = ratios.get((TARGET_HOUSEHOLDS, "threshold"))
    for key, target, name in (
        ("ref", TARGET_VS_REFERENCE, "the per-agent reference"),
        ("ndlib", TARGET_VS_NDLIB, "NDlib"),
    ):
        label = f"{TARGET_HOUSEHOLDS:,} households, threshold, whole run: step >= {target:.0f}x faster than {name}"
        if r is None or r[key] is None:
            lines.append(f"[n/a ] {label} (not measured)")
        else:
            lines.append(f"[{v(r[key] >= target)}] {label} (measured {r[key]:,.0f}x)")
    for w in whole:
        label = (
            f"{w['households']:,} households: whole-graph step within {TARGET_BOUND_RATIO:g}x of the bandwidth bound"
        )
        lines.append(f"[{v(w['bound_ratio'] <= TARGET_BOUND_RATIO)}] {label} (measured {w['bound_ratio']:.2f}x)")
    for b in batch:
        if b["R"] != batch_r:
            continue
        label = f"{b['households']:,} households: R = {b['R']} batching gain >= {TARGET_BATCH_GAIN:g}x"
        lines.append(
            f"[{v(b['gain'] >= TARGET_BATCH_GAIN)}] {label} (measured {b['gain']:.1f}x; ceiling {b['ceiling']:.1f}x)"
        )
    return lines


def write_csv(path: str, a_rows: list[dict], bw: dict, whole: list[dict], batch: list[dict]) -> None:
    """All measurements as one CSV: one row per measurement, a ``part`` column, empty where not applicable."""
    rows = []
    for r in a_rows:
        rows.append({"part": r.get("part", "A"), **r})
    rows.append({"part": "B-bandwidth", **bw})
    rows += [{"part": "B-wholegraph", **w} for w in whole]
    rows += [{"part": "C", **b} for b in batch]
    flat = []
    for r in rows:
        flat.append({k: (json.dumps(v) if isinstance(v, list | dict) else v) for k, v in r.items()})
    keys = list(dict.fromkeys(k for r in flat for k in r))
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(flat)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", help=f"household counts for parts A and B (default {DEFAULT_SIZES})")
    p.add_argument("--steps", type=int, default=100, help="steps per run in part A (default 100)")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument(
        "--budget-minutes",
        type=float,
        default=10.0,
        help="skip a part-A run whose projected total exceeds this (default 10)",
    )
    p.add_argument(
        "--cascade-reps",
        type=int,
        default=5,
        help=f"runs per engine for the cascade distribution check at {CASCADE_REPS_HOUSEHOLDS:,} households "
        "(default 5)",
    )
    p.add_argument("--batch-sizes", help=f"household counts for part C (default {DEFAULT_BATCH_SIZES})")
    p.add_argument(
        "--batch-replicates",
        type=int,
        default=BATCH_REPLICATES,
        help=f"R for part C (default {BATCH_REPLICATES}; R = {BATCH_SMALL_R} is also run at the first size)",
    )
    p.add_argument(
        "--parts",
        default="ABC",
        help="which parts to run, e.g. B or AC (default ABC; D, the targets, always prints what was measured)",
    )
    p.add_argument("--csv", metavar="FILE", help="also write every measurement as CSV")
    p.add_argument("--json", metavar="FILE", help="also write every measurement (with per-step times) as JSON")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"fast check: sizes {QUICK_SIZES}, part C at {QUICK_BATCH_SIZES} households only",
    )
    # internal: one measurement in this (fresh) process, JSON on stdout
    p.add_argument("--prep", type=int, help=argparse.SUPPRESS)
    p.add_argument("--engine", choices=ENGINES, help=argparse.SUPPRESS)
    p.add_argument("--workload", choices=WORKLOADS, help=argparse.SUPPRESS)
    p.add_argument("--households", type=int, help=argparse.SUPPRESS)
    p.add_argument("--workdir", help=argparse.SUPPRESS)
    p.add_argument("--reps-engine", choices=("ours", "ndlib"), help=argparse.SUPPRESS)
    p.add_argument("--reps", type=int, help=argparse.SUPPRESS)
    p.add_argument("--bandwidth", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--wholegraph", type=int, help=argparse.SUPPRESS)
    p.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with an internal option, one measurement of it)."""
    args = parse_args(argv)
    if args.prep is not None:
        print(json.dumps(measure_prep(args.prep, args.seed, args.steps, args.workdir)))
        return 0
    if args.engine is not None:
        budget = args.budget_minutes * 60
        print(
            json.dumps(
                run_engine(args.engine, args.workload, args.households, args.steps, args.seed, budget, args.workdir)
            )
        )
        return 0
    if args.reps_engine is not None:
        print(
            json.dumps(
                run_cascade_reps(args.reps_engine, args.households, args.steps, args.seed, args.reps, args.workdir)
            )
        )
        return 0
    if args.bandwidth:
        print(json.dumps(measure_bandwidth()))
        return 0
    if args.wholegraph is not None:
        print(json.dumps(measure_wholegraph(args.wholegraph, args.seed, args.steps, args.workdir)))
        return 0
    if args.batch is not None:
        print(json.dumps(measure_batch(args.batch, args.reps, BATCH_STEPS, args.seed)))
        return 0

    parts = set(args.parts.upper())
    if not parts <= set("ABCD"):
        raise SystemExit(f"--parts: expected letters from ABC (got {args.parts!r})")
    sizes = int_list(args.sizes if args.sizes is not None else (QUICK_SIZES if args.quick else DEFAULT_SIZES))
    if not parts & set("AB"):
        sizes = []
    batch_sizes = int_list(
        args.batch_sizes if args.batch_sizes is not None else (QUICK_BATCH_SIZES if args.quick else DEFAULT_BATCH_SIZES)
    )
    if "C" not in parts:
        batch_sizes = []
    digest = source_digest()
    t_start = time.perf_counter()
    print("Scale benchmark: our engine vs the per-agent reference and NDlib; bandwidth bound; replicate batching")
    print("\n".join(machine_lines()))
    try:
        from importlib.metadata import version

        import ndlib.models.epidemics  # noqa: F401  (fails early if NDlib or its undeclared dependency six is missing)

        print(f"NDlib:   {version('ndlib')}    networkx: {version('networkx')}")
    except ImportError as err:
        raise SystemExit(f"NDlib is needed (pip install the 'bench' extra): {err}") from None
    print(flush=True)

    ok = True
    a_rows, ratios, bw, whole, batch = [], {}, {}, [], []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as workdir:
        preps = {}
        prep_sizes = sorted(set(sizes) | ({CASCADE_REPS_HOUSEHOLDS} if sizes and "A" in parts else set()))
        for h in prep_sizes:
            note(f"building the merged graph at {h:,} households ...")
            preps[h] = run_child(
                "--prep", str(h), "--seed", str(args.seed), "--steps", str(args.steps), "--workdir", workdir
            )
        if sizes and "A" in parts:
            a_rows, _, ok_a, ratios = part_a(args, sizes, workdir, preps)
            ok &= ok_a
            sys.stdout.flush()
        if sizes and "B" in parts:
            bw, whole = part_b(args, sizes, workdir)
            sys.stdout.flush()
    if batch_sizes:
        batch = part_c(args, batch_sizes)
        ok &= all(b["same"] for b in batch)
    print("D. Targets:")
    print("\n".join(part_d(ratios, whole, batch, args.batch_replicates)))
    print(f"\nTotal wall time {(time.perf_counter() - t_start) / 60:.1f} min.")

    if args.csv:
        write_csv(args.csv, a_rows, bw, whole, batch)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"prep": list(preps.values()), "A": a_rows, "B": {"bandwidth": bw, "wholegraph": whole}, "C": batch},
                indent=1,
                default=str,
            )
        )
    seen = {digest, source_digest()}
    for r in [*preps.values(), *a_rows, bw, *whole, *batch]:
        for k in ("source", "source_sep"):
            if k in r:
                seen.add(r[k])
    if len(seen) > 1:
        print(
            f"\nERROR: the diffusion_sim sources changed while the benchmark ran (digests {', '.join(sorted(seen))});"
            " the figures above measure different code. Run again when the code is stable.",
            file=sys.stderr,
        )
        ok = False
    if not ok:
        print("\nERROR: a correctness check failed (see FAIL/MISMATCH above).", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
