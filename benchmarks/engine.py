"""Engine benchmark: speed and memory of the vectorised model, and its speed-up over the per-agent reference.

Run ``.venv/bin/python benchmarks/engine.py`` (or ``./dev bench engine``); ``--help`` lists the options.

Every configuration runs in its own fresh subprocess (this script re-invoked with ``--one`` or
``--ref``), which prints one JSON object on stdout. That way the peak RSS reported for a size
belongs to that size alone. The parent collects the JSON, prints the machine, one table (optionally
also written as CSV) and the targets of this stage with PASS/FAIL.

This is a measuring script, not a test: nothing here asserts on time. It does check that the
vectorised model and the reference reach the same adopted vector, and exits non-zero if not.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy

HOUSEHOLDS_PER_VILLAGE = 500
ACTIVE_SHARE = 0.005
"""A step is in the active phase when its new adopters exceed this share of all agents."""

DEFAULT_SIZES = "10000,100000,1000000"
DEFAULT_REF_SIZES = "10000,100000"
QUICK_SIZES = "10000,100000"
QUICK_REF_SIZES = "10000"

TARGET_SPEEDUP_HOUSEHOLDS = 100_000
TARGET_SPEEDUP = 100.0
TARGET_LARGE_HOUSEHOLDS = 1_000_000
TARGET_LARGE_SECONDS = 30.0
TARGET_LARGE_PEAK_MB = 2000.0  # 2 GB, decimal: 2e9 bytes

THREAD_ENV_VARS = (
    "OPENBLAS_CORETYPE",
    "NUMBA_NUM_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
)


# --------------------------------------------------------------------------- helpers used by both sides


def scenario_for(households: int, steps: int):
    """The built-in default scenario scaled to ``households`` (one village per 500 households) and ``steps``."""
    from diffusion_sim.scenario import Scenario, apply_overrides

    return apply_overrides(
        Scenario(),
        {
            "community.households": households,
            "community.villages": max(1, households // HOUSEHOLDS_PER_VILLAGE),
            "schedule.steps": steps,
        },
    )


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (10^6 bytes); ru_maxrss is KiB on Linux."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib * 1024 / 1e6


def source_digest() -> str:
    """Short hash of the imported ``diffusion_sim`` package's Python sources.

    Every measurement records it, so a run whose subprocesses saw different code (someone edited
    the engine while the benchmark ran) is detected instead of mixed into one table.
    """
    import hashlib

    import diffusion_sim

    root = Path(diffusion_sim.__file__).parent
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def git_state() -> str:
    """Commit of the working tree and whether ``src/`` has uncommitted changes (read-only git calls)."""
    src = Path(__file__).resolve().parent.parent / "src"

    def git(*args: str) -> str:
        out = subprocess.run(["git", "--no-optional-locks", *args], cwd=src, capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "not a git checkout"
    return commit + (" + uncommitted changes in src/" if git("status", "--porcelain", "--", ".") else " (clean)")


def timed(fn, *args, **kwargs):
    """Call ``fn`` and return ``(result, seconds)``."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def step_times(model, steps: int) -> tuple[list[float], list[int]]:
    """Step ``model`` ``steps`` times; per-step wall times (s) and new adopters after each step.

    The new-adopter count is taken outside the timed region.
    """
    times, new = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        model.step()
        times.append(time.perf_counter() - t0)
        new.append(int(model.new.sum()))
    return times, new


# --------------------------------------------------------------------------- child: one size


def measure_size(households: int, steps: int, seed: int) -> dict:
    """Build, initialise, run, collect and write one configuration; timings, coverage and peak RSS.

    Runs in a fresh process, so ``peak_mb`` covers this configuration alone (plus the interpreter
    and imported libraries, which any real run also pays).
    """
    from diffusion_sim.community import build_community
    from diffusion_sim.model import DiffusionModel
    from diffusion_sim.runner import write_result

    source = source_digest()  # of the code just imported
    sc = scenario_for(households, steps)
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        t_start = time.perf_counter()
        community, t_build = timed(build_community, sc, seed)
        model, t_init = timed(DiffusionModel, sc, seed, community=community, create_agents=False)
        times, new = step_times(model, steps)
        result, t_result = timed(model.result)
        _, t_write = timed(write_result, result, Path(tmp) / "run", figure=False)
        t_total = time.perf_counter() - t_start

    n = model.n
    active = [t for t, k in zip(times, new, strict=True) if k > ACTIVE_SHARE * n]
    return {
        "households": households,
        "agents": n,
        "source": source,
        "ties": int(sum(community.network.n_ties().values())),
        "steps": steps,
        "build_s": t_build,
        "init_s": t_init,
        "step_mean_s": float(np.mean(times)) if times else float("nan"),
        "step_first_s": times[0] if times else float("nan"),
        "step_max_s": max(times, default=float("nan")),
        "active_steps": len(active),
        "step_active_s": float(np.mean(active)) if active else float("nan"),
        "result_s": t_result,
        "write_s": t_write,
        "total_s": t_total,
        "coverage": model.coverage(),
        "peak_mb": peak_rss_mb(),
        "step_times_s": times,
        "new_adopters": new,
    }


# --------------------------------------------------------------------------- child: reference comparison


def step_times_reference(ref, k: int) -> tuple[list[float], list[int]]:
    """Step the reference ``k`` times; per-step wall times and new adopters (from its flags)."""
    times, new = [], []
    for _ in range(k):
        t0 = time.perf_counter()
        ref.step()
        times.append(time.perf_counter() - t0)
        new.append(int(sum(ref.new_flags)))
    return times, new


def measure_reference(households: int, k: int, seed: int) -> dict:
    """Time the first ``k`` steps of the per-agent reference and of the vectorised model on one community.

    The vectorised model is timed on a fresh model right before and again right after the
    reference (both on the same community, scenario and seed); its per-step time is the mean of
    the two runs. Both runs must end with the reference's adopted vector. One untimed step of a
    throwaway model comes first, so that one-off costs of the first step in a process (loading or
    compiling JIT kernels, first-touch allocations) are not counted as per-step time.
    """
    from diffusion_sim.community import build_community
    from diffusion_sim.model import DiffusionModel
    from diffusion_sim.reference import ReferenceModel

    source = source_digest()  # of the code just imported
    sc = scenario_for(households, k)
    community = build_community(sc, seed)

    def run_vectorised():
        model = DiffusionModel(sc, seed, community=community, create_agents=False)
        times, _ = step_times(model, k)
        return model.adopted[:, 0].copy(), times

    _, t_warmup = timed(lambda: DiffusionModel(sc, seed, community=community, create_agents=False).step())
    adopted_before, vec_before_times = run_vectorised()
    ref, t_ref_init = timed(ReferenceModel, sc, seed, community=community)
    ref_times, _ = step_times_reference(ref, k)
    ref_adopted = ref.state()["adopted"]
    adopted_after, vec_after_times = run_vectorised()
    vec_before, vec_after = sum(vec_before_times) / k, sum(vec_after_times) / k

    mismatches = [int(np.count_nonzero(a != ref_adopted)) for a in (adopted_before, adopted_after)]
    vec = (vec_before + vec_after) / 2
    ref_step = sum(ref_times) / k
    return {
        "households": households,
        "agents": community.n,
        "source": source,
        "k": k,
        "warmup_s": t_warmup,
        "ref_init_s": t_ref_init,
        "ref_step_s": ref_step,
        "vec_step_s": vec,
        "vec_step_before_s": vec_before,
        "vec_step_after_s": vec_after,
        "ratio": ref_step / vec if vec > 0 else float("inf"),
        "identical": all(np.array_equal(a, ref_adopted) for a in (adopted_before, adopted_after)),
        "mismatched_agents": max(mismatches),
        "ref_step_times_s": ref_times,
        "vec_before_step_times_s": vec_before_times,
        "vec_after_step_times_s": vec_after_times,
        "ref_peak_mb": peak_rss_mb(),
    }


# --------------------------------------------------------------------------- parent: orchestration


def run_child(*args: str, script: str = __file__) -> dict:
    """Run ``script`` (default: this one) in a fresh interpreter with ``args``; parse the JSON it prints last."""
    cmd = [sys.executable, script, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"benchmark subprocess failed ({proc.returncode}): {' '.join(cmd)}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine_lines() -> list[str]:
    """Describe the machine, the software and the code the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    logical = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else logical
    try:
        import psutil

        physical = psutil.cpu_count(logical=False)
        mem_gb = psutil.virtual_memory().total / 1e9
    except ImportError:  # psutil is in the bench/dev extras; fall back to sysconf
        physical = None
        mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    cores = f"{logical} logical" + (f", {physical} physical" if physical else "") + f", {usable} usable"
    lines = [
        f"CPU:     {cpu}",
        f"Cores:   {cores}",
        f"Memory:  {mem_gb:.1f} GB",
        f"Python:  {platform.python_version()} ({platform.python_implementation()}, {platform.machine()})",
        f"numpy:   {np.__version__}    scipy: {scipy.__version__}",
    ]
    lines.append(f"Code:    git {git_state()}; diffusion_sim source digest {source_digest()}")
    env = [f"{k}={os.environ[k]}" for k in THREAD_ENV_VARS if k in os.environ]
    lines.append(
        "Env:     " + (" ".join(env) if env else "(no OPENBLAS_CORETYPE / NUMBA_NUM_THREADS / *_NUM_THREADS set)")
    )
    return lines


COLUMNS = [
    # (header, key, format)
    ("households", "households", "{:,}"),
    ("agents", "agents", "{:,}"),
    ("ties", "ties", "{:,}"),
    ("build s", "build_s", "{:.2f}"),
    ("init s", "init_s", "{:.2f}"),
    ("1st step ms", "step_first_s", "ms"),
    ("step ms", "step_mean_s", "ms"),
    ("active ms", "step_active_s", "ms"),
    ("active n", "active_steps", "{}"),
    ("result s", "result_s", "{:.2f}"),
    ("write s", "write_s", "{:.2f}"),
    ("end-to-end s", "total_s", "{:.2f}"),
    ("coverage", "coverage", "{:.3f}"),
    ("peak MB", "peak_mb", "{:,.0f}"),
    ("ref K", "k", "{}"),
    ("ref ms/step", "ref_step_s", "ms"),
    ("vec ms/step", "vec_step_s", "ms"),
    ("ref/vec", "ratio", "{:,.0f}x"),
    ("same", "identical", "yes/no"),
]


def fmt(value, spec: str) -> str:
    """Format one cell; missing values print as '-'."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if spec == "ms":
        return f"{value * 1e3:,.1f}"
    if spec == "yes/no":
        return "yes" if value else "NO"
    return spec.format(value)


def table_rows(sizes: list[dict], refs: dict[int, dict]) -> list[dict]:
    """One row per household count: the size's figures joined with its reference comparison, if any."""
    households = sorted({s["households"] for s in sizes} | set(refs))
    by_h = {s["households"]: s for s in sizes}
    return [{**refs.get(h, {}), **by_h.get(h, {})} for h in households]


def print_table(rows: list[dict]) -> None:
    """Print the rows as one plain-text table with right-aligned columns."""
    cells = [[fmt(r.get(key), spec) for _, key, spec in COLUMNS] for r in rows]
    headers = [h for h, _, _ in COLUMNS]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    print("  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for c in cells:
        print("  ".join(v.rjust(w) for v, w in zip(c, widths, strict=True)))


def write_csv(rows: list[dict], path: str) -> None:
    """Write the table's rows as CSV: raw numbers, seconds (not ms), empty where not measured."""
    keys = [key for _, key, _ in COLUMNS]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(keys)
        for r in rows:
            w.writerow(["" if r.get(k) is None else r.get(k) for k in keys])


def target_lines(rows: list[dict]) -> list[str]:
    """The targets of this stage, each with PASS, FAIL or 'not measured'."""
    by_h = {r["households"]: r for r in rows}

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    lines = []
    r = by_h.get(TARGET_SPEEDUP_HOUSEHOLDS, {})
    label = (
        f"{TARGET_SPEEDUP_HOUSEHOLDS:,} households: step >= {TARGET_SPEEDUP:.0f}x faster than the per-agent reference"
    )
    if "ratio" in r:
        lines.append(f"[{verdict(r['ratio'] >= TARGET_SPEEDUP)}] {label} (measured {r['ratio']:,.0f}x)")
    else:
        lines.append(f"[n/a ] {label} (not measured; add {TARGET_SPEEDUP_HOUSEHOLDS} to --ref-sizes)")
    r = by_h.get(TARGET_LARGE_HOUSEHOLDS, {})
    steps = r.get("steps")
    label = f"{TARGET_LARGE_HOUSEHOLDS:,} households, 100 steps: end to end < {TARGET_LARGE_SECONDS:.0f} s"
    if "total_s" in r and steps == 100:
        lines.append(f"[{verdict(r['total_s'] < TARGET_LARGE_SECONDS)}] {label} (measured {r['total_s']:.1f} s)")
    else:
        lines.append(f"[n/a ] {label} (not measured; needs size {TARGET_LARGE_HOUSEHOLDS} with --steps 100)")
    label = f"{TARGET_LARGE_HOUSEHOLDS:,} households, 100 steps: peak memory < {TARGET_LARGE_PEAK_MB / 1000:.0f} GB"
    if "peak_mb" in r and steps == 100:
        lines.append(f"[{verdict(r['peak_mb'] < TARGET_LARGE_PEAK_MB)}] {label} (measured {r['peak_mb']:,.0f} MB)")
    else:
        lines.append(f"[n/a ] {label} (not measured; needs size {TARGET_LARGE_HOUSEHOLDS} with --steps 100)")
    return lines


def ref_steps_for(ref_sizes: list[int], spec: str | None) -> dict[int, int]:
    """K per reference size: ``--ref-steps`` (one value, or one per size); else 10 up to 10,000 households, 3 above."""
    if spec is None:
        return {h: 10 if h <= 10_000 else 3 for h in ref_sizes}
    ks = [int(v) for v in spec.split(",") if v.strip()]
    if len(ks) == 1:
        ks = ks * len(ref_sizes)
    if len(ks) != len(ref_sizes) or min(ks, default=1) < 1:
        raise SystemExit("--ref-steps: give one positive K, or one per --ref-sizes entry")
    return dict(zip(ref_sizes, ks, strict=True))


def int_list(text: str) -> list[int]:
    """Parse '10000,100000' (underscores allowed) into a list of ints."""
    return [int(v.replace("_", "")) for v in text.split(",") if v.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", help=f"household counts, comma-separated (default {DEFAULT_SIZES})")
    p.add_argument("--steps", type=int, default=100, help="steps per run (default 100)")
    p.add_argument("--ref-sizes", help=f"household counts compared with the reference (default {DEFAULT_REF_SIZES})")
    p.add_argument(
        "--ref-steps",
        help="K, steps timed for the reference: one value or one per --ref-sizes entry "
        "(default 10 up to 10,000 households, 3 above)",
    )
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument("--csv", metavar="FILE", help="also write the table's rows as CSV")
    p.add_argument("--json", metavar="FILE", help="also write every measurement (with per-step times) as JSON")
    p.add_argument(
        "--quick", action="store_true", help=f"fast check: sizes {QUICK_SIZES}, reference at {QUICK_REF_SIZES} only"
    )
    # internal: one measurement in this (fresh) process, JSON on stdout
    p.add_argument("--one", type=int, metavar="HOUSEHOLDS", help=argparse.SUPPRESS)
    p.add_argument("--ref", type=int, metavar="HOUSEHOLDS", help=argparse.SUPPRESS)
    p.add_argument("--k", type=int, default=10, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with --one/--ref, one measurement of it)."""
    args = parse_args(argv)
    if args.one is not None:
        print(json.dumps(measure_size(args.one, args.steps, args.seed)))
        return 0
    if args.ref is not None:
        print(json.dumps(measure_reference(args.ref, args.k, args.seed)))
        return 0

    # an empty list ("--sizes ''") skips that part
    sizes = int_list(args.sizes if args.sizes is not None else (QUICK_SIZES if args.quick else DEFAULT_SIZES))
    ref_sizes = int_list(
        args.ref_sizes if args.ref_sizes is not None else (QUICK_REF_SIZES if args.quick else DEFAULT_REF_SIZES)
    )
    ks = ref_steps_for(ref_sizes, args.ref_steps)

    digest = source_digest()
    print("Engine benchmark: built-in default scenario, villages = households // 500, seed", args.seed)
    print("\n".join(machine_lines()))
    print(flush=True)

    measured = []
    for h in sizes:
        print(f"  running {h:,} households x {args.steps} steps ...", file=sys.stderr, flush=True)
        measured.append(run_child("--one", str(h), "--steps", str(args.steps), "--seed", str(args.seed)))
    refs = {}
    for h in ref_sizes:
        print(f"  running reference comparison at {h:,} households, K={ks[h]} ...", file=sys.stderr, flush=True)
        refs[h] = run_child("--ref", str(h), "--k", str(ks[h]), "--seed", str(args.seed))

    rows = table_rows(measured, refs)
    print(f"Steps per run: {args.steps}. 'step ms' is the mean over all steps (the first one included); 'active ms'")
    print(f"the mean over the 'active n' steps whose new adopters exceed {ACTIVE_SHARE:.1%} of agents. 'end-to-end s'")
    print("covers build, init, all steps, result and writing the files. 'ref/vec' compares ms per step over")
    print("the first 'ref K' steps of the per-agent reference and of the (warmed-up) vectorised model on the")
    print("same community.")
    print()
    print_table(rows)
    print()
    print("Targets of this stage:")
    print("\n".join(target_lines(rows)))

    if args.csv:
        write_csv(rows, args.csv)
    if args.json:
        Path(args.json).write_text(json.dumps({"sizes": measured, "reference": list(refs.values())}, indent=1))

    seen = {digest, source_digest()} | {r["source"] for r in [*measured, *refs.values()]}
    if len(seen) > 1:
        print(
            f"\nERROR: the diffusion_sim sources changed while the benchmark ran (digests {', '.join(sorted(seen))});"
            " the rows above measure different code. Run again when the code is stable.",
            file=sys.stderr,
        )
    bad = [r for r in refs.values() if not r["identical"]]
    for r in bad:
        print(
            f"\nERROR: at {r['households']:,} households the vectorised model and the per-agent reference "
            f"disagree after {r['k']} steps ({r['mismatched_agents']:,} agents differ in 'adopted'). "
            "The speed-up figures are meaningless until they agree.",
            file=sys.stderr,
        )
    return 1 if bad or len(seen) > 1 else 0


if __name__ == "__main__":
    sys.exit(main())
