"""Comparison benchmark: scenarios/district.yaml against one intervention package, 20 replicates each.

Run ``.venv/bin/python benchmarks/compare.py`` (or ``./dev bench compare``). The package is run on
the district's community (its ``community`` section is replaced by the district's), so the two
are paired as ``diffusion-sim compare`` pairs them. Prints the time of the runs, of writing the
report and tables, the total, and whether it stays under the one-minute target. A measuring
script, not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 60.0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--district", default=str(ROOT / "scenarios" / "district.yaml"))
    p.add_argument("--package", default=str(ROOT / "scenarios" / "home_visits_feedback.yaml"))
    p.add_argument("--replicates", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--huge-pages",
        action="store_true",
        help="keep numpy's transparent-huge-page hint, which the command line turns off (for comparison)",
    )
    args = p.parse_args(argv)

    from diffusion_sim.compare import compare, write_comparison
    from diffusion_sim.model import DiffusionModel
    from diffusion_sim.process import prefer_small_pages
    from diffusion_sim.scenario import load_scenario

    pages = "numpy's huge-page hint (--huge-pages)" if args.huge_pages else "small pages, as the command line"
    if not args.huge_pages:
        prefer_small_pages()

    district = load_scenario(args.district)
    package = load_scenario(args.package)
    package = package.model_copy(update={"community": district.community, "name": f"{package.name} (district)"})
    print(f"compare benchmark: {Path(args.district).name} vs {Path(args.package).name}")
    print(
        f"  {district.community.households:,} households in {district.community.villages} villages, "
        f"{district.schedule.steps} steps, {args.replicates} replicates each, seed {args.seed}; {pages}"
    )
    DiffusionModel(
        district.model_copy(
            update={"community": district.community.model_copy(update={"households": 200, "villages": 2})}
        ),
        0,
    ).run(2)  # warm the compiled kernels
    t0 = time.perf_counter()
    comp = compare([district, package], seed=args.seed, replicates=args.replicates)
    t_run = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as d:
        t1 = time.perf_counter()
        write_comparison(comp, Path(d) / "out")
        t_write = time.perf_counter() - t1
    total = t_run + t_write
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1000
    cov = comp.differences.set_index(["scenario", "outcome"])
    print(f"  runs (both scenarios, batched replicates): {t_run:7.1f} s")
    print(f"  report and tables:                         {t_write:7.1f} s")
    print(f"  total:                                     {total:7.1f} s   peak memory {peak:,.0f} MB")
    for name in comp.names:
        print(f"  {name:<40} final coverage {100 * cov.loc[(name, 'final_coverage')]['mean']:5.1f}%")
    verdict = "PASS" if total < TARGET_SECONDS else "FAIL"
    print(f"[{verdict}] district vs one package, {args.replicates} replicates each: under {TARGET_SECONDS:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
