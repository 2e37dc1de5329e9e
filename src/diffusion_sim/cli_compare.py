"""``diffusion-sim compare``: its options, the per-file ``--set N:`` overrides, the run and what it prints."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from diffusion_sim.cli import (
    _add_set_option,
    _command,
    _fmt_days,
    _folder_name,
    _non_negative_int,
    _positive_float,
    _positive_int,
    _seed,
)
from diffusion_sim.errors import UserError

__all__ = ["COMPARE_EPILOG", "add_compare", "cmd_compare"]

COMPARE_EPILOG = """\
examples:
  diffusion-sim compare scenarios/baseline.yaml scenarios/home_visits_feedback.yaml
  diffusion-sim compare scenarios/baseline.yaml $(cd scenarios/district && printf 'scenarios/%s ' *.yaml) \\
      --replicates 50 --out results/all                # every package (scenarios/district/ mirrors them)
  diffusion-sim compare scenarios/district.yaml scenarios/district/*.yaml --out results/district
  diffusion-sim compare scenarios/baseline.yaml scenarios/combined_package.yaml --set community.households=20000
  diffusion-sim compare scenarios/baseline.yaml scenarios/religious_leaders_ipc.yaml \\
      scenarios/religious_leaders_ipc.yaml --set 3:interventions.0.conversion=0.2   # a variant of file 3 only
  diffusion-sim compare scenarios/baseline.yaml scenarios/home_visits_feedback.yaml --precision 1
  diffusion-sim compare scenarios/baseline.yaml scenarios/home_visits_feedback.yaml \\
      --posterior results/cal              # each replicate draws the fitted parameters from that posterior

The first file is the baseline. Every scenario runs replicates 0..R-1 of the same seed, so
differences are paired (common random numbers); the scenarios must describe the same community
over the same steps, or the command refuses them. --set PATH=VALUE changes every scenario,
--set N:PATH=VALUE only the N-th file on the command line (1 is the baseline). The output folder
gets report.html (opens offline), outcomes/differences/cost_effectiveness as CSV and Parquet,
every run's per-step counts in steps.parquet, the scenario files used and provenance.json.

--posterior DIR (the output folder of 'diffusion-sim calibrate') gives each replicate its own draw
from the calibration's posterior: the fitted parameters are set to one particle's values, drawn by
weight from the seed and the replicate, the same for every scenario of that replicate (still
paired). Results then include uncertainty about the fitted parameters as well as chance variation:
the 95% intervals are of the average difference over the draws (they narrow with more replicates),
and differences.csv's spread_low and spread_high give the middle 90% of single replicates'
differences (how much the effect itself could vary); outcomes get a posterior_particle column.
"""


def add_compare(sub: argparse._SubParsersAction) -> None:
    """The ``compare`` sub-command's arguments."""
    p = _command(
        sub,
        "compare",
        "compare scenarios on the same seeds and write a report",
        "Run a baseline and alternative scenarios on paired replicates and compare their outcomes.",
        COMPARE_EPILOG,
    )
    p.add_argument("files", nargs="+", metavar="SCENARIO", help="scenario YAML files, the baseline first")
    p.add_argument("--replicates", type=_positive_int, default=20, help="replicates per scenario (default 20)")
    p.add_argument("--seed", type=_seed, default=0, help="master seed, 0 <= SEED < 2**63 (default 0)")
    p.add_argument(
        "--steps", type=_non_negative_int, default=None, help="steps for every scenario (default: each file's)"
    )
    p.add_argument(
        "--out",
        type=_folder_name,
        default="results/compare",
        help="output folder: new, empty, or an earlier comparison's (default results/compare)",
    )
    _add_set_option(
        p,
        "override a parameter by dotted path in every scenario, or with an N: prefix only in the N-th file "
        "(1 = the baseline), e.g. --set 2:community.households=9000 (repeatable)",
    )
    p.add_argument(
        "--precision",
        type=_positive_float,
        default=None,
        metavar="P",
        help="add replicates in batches until the 95%% interval of every package's difference is within +-P "
        "(percentage points for coverage and other shares; the outcome's own units otherwise), or --max-replicates",
    )
    p.add_argument(
        "--precision-outcome",
        default="final_coverage",
        metavar="OUTCOME",
        help="the outcome --precision applies to (default final_coverage; e.g. extra_adopters, time_to_0.8)",
    )
    p.add_argument(
        "--max-replicates", type=_positive_int, default=200, help="cap on replicates with --precision (default 200)"
    )
    p.add_argument(
        "--posterior",
        default=None,
        metavar="DIR",
        help="a 'diffusion-sim calibrate' output folder: each replicate runs with the fitted parameters of one "
        "particle of its posterior, drawn by weight (the same for every scenario of the replicate), so the "
        "results include parameter uncertainty",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _split_overrides(overrides: list[str], n_files: int) -> tuple[list[str], dict[int, list[str]]]:
    """``--set`` values for every scenario, and those with an ``N:`` prefix for the N-th file only."""
    import re

    common: list[str] = []
    own: dict[int, list[str]] = {}
    for text in overrides:
        m = re.match(r"^\s*(\d+)\s*:(.*)$", text)
        if m is None:
            common.append(text)
            continue
        k = int(m.group(1))
        if not 1 <= k <= n_files:
            raise UserError(
                f"{text!r} names scenario {k}, but {n_files} files were given (1 is the baseline)", source="--set"
            )
        own.setdefault(k - 1, []).append(m.group(2))
    return common, own


def cmd_compare(args: argparse.Namespace) -> int:
    """``diffusion-sim compare``: paired runs of several scenarios, a report and tables."""
    from diffusion_sim.atomic import atomic_folder, check_output_folder
    from diffusion_sim.compare import KEY_OUTCOMES, check_paired, compare
    from diffusion_sim.compare_output import COMPARE_FILES, StepsWriter, write_comparison_files
    from diffusion_sim.interrupts import deferred_interrupts
    from diffusion_sim.resources import check_scenario_memory
    from diffusion_sim.scenario import apply_overrides, load_scenario

    if len(args.files) < 2:
        raise UserError("give a baseline and at least one other scenario file", source="compare")
    common, own = _split_overrides(args.overrides, len(args.files))
    scenarios = []
    for k, f in enumerate(args.files):
        sc = load_scenario(f)
        if common:
            sc = apply_overrides(sc, common)
        if own.get(k):
            sc = apply_overrides(sc, own[k], source=f"--set {k + 1}:")
        if args.steps is not None:
            sc = apply_overrides(sc, {"schedule.steps": args.steps}, source="--steps")
        scenarios.append(sc)
    check_paired(scenarios, list(args.files))  # before anything runs
    texts = [
        _as_run_text(f, sc, common + own.get(k, []), args.steps)
        for k, (f, sc) in enumerate(zip(args.files, scenarios, strict=True))
    ]
    precision = args.precision
    if precision is not None and _is_share(args.precision_outcome):
        precision = precision / 100  # percentage points
    if precision is not None and args.precision_outcome not in KEY_OUTCOMES + ["extra_adopters"]:
        known = ", ".join(KEY_OUTCOMES + ["extra_adopters"])
        raise UserError(
            f"unknown outcome {args.precision_outcome!r}; expected one of {known}", source="--precision-outcome"
        )
    posterior = None
    if args.posterior is not None:
        from diffusion_sim.calibrate.draws import PosteriorDraws

        posterior = PosteriorDraws.load(args.posterior)
        posterior.check(scenarios, list(args.files), args.seed)
    # everything that can be checked before running is checked before running
    check_output_folder(args.out, command="compare", managed=COMPARE_FILES)
    block = 1 if posterior is not None else args.replicates  # with a posterior, replicates run one at a time
    for f, sc in zip(args.files, scenarios, strict=True):
        check_scenario_memory(sc, block, source=f)
    t0 = time.perf_counter()
    with deferred_interrupts():  # Ctrl-C stops between steps, never inside compiled code
        with atomic_folder(args.out, command="compare", managed=COMPARE_FILES) as tmp:
            steps = StepsWriter(tmp / "steps.parquet")
            try:
                comp = compare(
                    scenarios, sources=list(args.files), texts=texts, seed=args.seed, replicates=args.replicates,
                    progress=not args.no_progress and sys.stderr.isatty(), precision=precision,
                    precision_outcome=args.precision_outcome, max_replicates=args.max_replicates,
                    on_result=steps.add, posterior=posterior,
                )  # fmt: skip
            finally:
                steps.close()
            write_comparison_files(comp, tmp)
    out = Path(args.out)
    elapsed = time.perf_counter() - t0
    _print_comparison(comp, args, elapsed)
    print(f"  wrote {out}/report.html and tables (CSV, Parquet)")
    return 0


def _as_run_text(path: str, scenario, overrides: list[str], steps: int | None) -> str:
    """The text of a scenario file, or, when the command line changed it, every parameter as run."""
    from diffusion_sim.scenario.yaml_source import to_yaml

    text = Path(path).read_text(encoding="utf-8")
    changes = [*overrides, *([f"schedule.steps={steps}"] if steps is not None else [])]
    if not changes:
        return text
    head = "\n".join(f"#   --set {c}" for c in changes)
    intro = f"# {path} as run, with these changes from the command line:"
    return f"{intro}\n{head}\n# every parameter:\n{to_yaml(scenario)}"


def _is_share(outcome: str) -> bool:
    from diffusion_sim.report.format import outcome_kind

    return outcome_kind(outcome) in ("share", "gap")


def _print_comparison(comp, args: argparse.Namespace, elapsed: float) -> None:
    """The comparison's headline table on stdout, and its warnings on stderr."""
    scenarios = comp.scenarios
    cur = scenarios[0].costs.currency
    days = scenarios[0].schedule.days_per_step
    n = len(comp.replicates)
    runs = f"{len(scenarios)} scenarios x {n} replicates (seed {args.seed})"
    print(f"diffusion-sim compare: {runs}, {elapsed:.1f} s")
    last = scenarios[0].schedule.steps
    read = comp.clock.step
    when = f"final: step {last} ({_fmt_days(last * days)})"
    when += f"; sustained: step {read} ({_fmt_days(read * days)})" if read is not None else ""
    print(f"  coverage = share of households; {when}")
    if comp.posterior is not None:
        post = comp.posterior
        names = ", ".join(p["label"] for p in post["parameters"])
        print(
            f"  each replicate drew {names} from {post['particles']:,} posterior particles of calibration "
            f"{post['calibration']}; 95% intervals are of the average difference over the draws"
        )
    d = comp.differences.set_index(["scenario", "outcome"])
    ce = comp.cost_effectiveness.set_index("scenario")
    head = f"  {'scenario':<32} {'coverage':>9} {'vs baseline (95% CI)':>26} {'80% at week':>12} {'cost':>12}"
    print(f"{head} {'per extra adopter':>18}")
    for name in comp.names:
        row = d.loc[(name, "final_coverage")]
        o = comp.outcomes
        t80 = o[o.scenario == name]["time_to_0.8"] if "time_to_0.8" in o else None
        reached = ""
        if t80 is not None and t80.notna().any():
            share = "" if t80.notna().all() else f" ({t80.notna().sum()}/{len(t80)})"
            reached = f"{t80.mean() * days / 7:.0f}{share}"
        if name == comp.baseline:
            delta = "baseline"
        elif n < 2:
            delta = f"{100 * row['diff']:+.1f} (no interval)"
        else:
            delta = f"{100 * row['diff']:+.1f} [{100 * row['diff_low']:+.1f}, {100 * row['diff_high']:+.1f}]"
        cost = d.loc[(name, "cost")]["mean"]
        cpe = ce.loc[name, "cost_per_extra_adopter"]
        cpe_text = "" if name == comp.baseline or math.isnan(cpe) else f"{cpe:,.2f} {cur}"
        cells = f"{100 * row['mean']:8.1f}% {delta:>26} {reached or '-':>12} {cost:>12,.0f} {cpe_text:>18}"
        print(f"  {name[:32]:<32} {cells}")
    if comp.posterior is not None and n > 1:
        for name in comp.names[1:]:
            row = d.loc[(name, "final_coverage")]
            print(
                f"  {name[:32]}: coverage difference in the middle 90% of replicates (draws and chance): "
                f"{100 * row['spread_low']:+.1f} to {100 * row['spread_high']:+.1f} pp"
            )
    p = comp.precision
    if p is not None and p.met:
        unit = " pp" if _is_share(p.outcome) else ""
        scale = 100 if unit else 1
        print(
            f"  precision met: every 95% interval of {p.outcome} is within +-{p.achieved * scale:.3g}{unit} "
            f"(asked +-{p.half_width * scale:g}{unit}) after {n} replicates"
        )
    for w in comp.warnings:
        print(f"warning: {w}", file=sys.stderr)
