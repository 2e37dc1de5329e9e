"""Comparison benchmark: time and peak memory of `diffusion-sim compare` at district scale, 2 and 8 scenarios.

Run ``./dev bench compare`` (or ``.venv/bin/python benchmarks/compare.py``). Each comparison is the
real command (``diffusion-sim compare``: runs, streamed per-step counts, tables and report) in a
fresh process, so its peak memory is its own:

* 2 scenarios: ``scenarios/district.yaml`` against ``scenarios/district/home_visits_feedback.yaml``;
* 8 scenarios: the district baseline against all seven district packages (``scenarios/district/``).

Both at 130,000 households, 104 steps, 20 replicates each. Memory must not grow with the number of
scenarios (target: under 1.5 GB for 8). With ``--reference-src DIR`` (the ``src`` folder of an
older checkout, e.g. a ``git worktree`` of the commit to compare with) the 2-scenario comparison
is also run by that code, interleaved with this one, and the ratio of their times is printed: the
speed claim is a ratio measured in the same session, not a figure from another day. A measuring
script, not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEMORY_TARGET_MB = 1500.0

RUNNER = """
import resource, sys, time
from diffusion_sim.cli import main
t = time.perf_counter()
code = main(sys.argv[1:])
print(f"BENCH {time.perf_counter() - t:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1000:.0f} {code}")
"""


def _measure(files: list[str], replicates: int, src: Path | None) -> tuple[float, float]:
    """Run one comparison in a fresh process: (seconds, peak MB)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    with tempfile.TemporaryDirectory() as d:
        cmd = [sys.executable, "-c", RUNNER, "compare", *files, "--replicates", str(replicates)]
        cmd += ["--out", str(Path(d) / "out"), "--no-progress"]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    line = [x for x in done.stdout.splitlines() if x.startswith("BENCH ")]
    if done.returncode != 0 or not line:
        raise SystemExit(f"comparison failed:\n{done.stdout}\n{done.stderr}")
    _, seconds, peak, _ = line[-1].split()
    return float(seconds), float(peak)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--replicates", type=int, default=20)
    p.add_argument("--rounds", type=int, default=2, help="repeats of each measurement (the fastest is kept)")
    p.add_argument("--reference-src", type=Path, default=None, help="src folder of older code to compare with")
    p.add_argument("--no-eight", action="store_true", help="skip the 8-scenario comparison")
    args = p.parse_args(argv)

    scen = ROOT / "scenarios"
    district = str(scen / "district.yaml")
    packages = sorted(str(f) for f in (scen / "district").glob("*.yaml"))
    two = [district, str(scen / "district" / "home_visits_feedback.yaml")]
    eight = [district, *packages]
    ref_two = [district, str(scen / "home_visits_feedback.yaml")]  # older code: the district size by --set
    ref_two += ["--set", "community.villages=500", "--set", "community.households=130000"]
    print(f"compare benchmark: {args.replicates} replicates per scenario, 130,000 households, 104 steps")
    print(f"  warming the compiled kernels ... {_measure([district, two[1], '--steps', '1'], 1, None)[0]:.1f} s")
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.rounds):
        runs = [("2 scenarios", two, None)]
        if args.reference_src is not None:
            runs.append(("2 scenarios, reference code", ref_two, args.reference_src))
        if not args.no_eight:
            runs.append((f"{len(eight)} scenarios", eight, None))
        for label, files, src in runs:
            t, mb = _measure(files, args.replicates, src)
            old = best.get(label)
            best[label] = (min(t, old[0]) if old else t, min(mb, old[1]) if old else mb)
            print(f"    {label:<30} {t:7.1f} s  {mb:7,.0f} MB")
    print("  fastest of the rounds (peak memory: the lowest):")
    for label, (t, mb) in best.items():
        print(f"  {label:<32} {t:7.1f} s  peak {mb:7,.0f} MB")
    if "2 scenarios, reference code" in best:
        ratio = best["2 scenarios, reference code"][0] / best["2 scenarios"][0]
        print(f"  2 scenarios: this code is {ratio:.2f}x the speed of the reference code (same session)")
    key = f"{len(eight)} scenarios"
    if key in best:
        mb = best[key][1]
        verdict = "PASS" if mb < MEMORY_TARGET_MB else "FAIL"
        target = f"target < {MEMORY_TARGET_MB:,.0f} MB"
        print(f"[{verdict}] {key} x {args.replicates} replicates: peak {mb:,.0f} MB ({target})")
        print(f"  memory ratio {key} / 2 scenarios: {mb / best['2 scenarios'][1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
