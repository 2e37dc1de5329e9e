"""``diffusion-sim calibrate``: its options and what it does (the work is in :mod:`diffusion_sim.calibrate`).

Kept apart from the calibrate package so that building the command line imports nothing heavy.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from diffusion_sim.cli import _command, _folder_name, _positive_int, _seed

__all__ = ["CALIBRATE_EPILOG", "add_calibrate", "cmd_calibrate", "is_calibration_file", "validate_calibration_line"]

CALIBRATE_EPILOG = """\
examples:
  diffusion-sim calibrate calibration.yaml --out results/calibration
  diffusion-sim calibrate calibration.yaml --backend loky --jobs 2 --seed 3 --out results/cal-seed3

The calibration file names the scenario, the observed data and the priors of the fitted parameters
(see docs/calibration-method.md). The file is checked completely before any simulation. Prints one
line per ABC-SMC generation (tolerance, acceptance rate). Writes, all or nothing, into --out:
posterior.csv (the last generation's particles with weights), summary.csv (median, 5% and 95% per
parameter, the prior's 5% and 95%, width ratio, identified = width ratio < 0.5), correlations.csv
(weighted correlations between parameters), fitted_scenario.yaml (the scenario at the posterior
medians; run it with 'diffusion-sim run') and provenance.json. While it fits, pyabc's database is
kept in .OUT.calibrate-work/ beside --out: run the same command again after an interruption and it
continues after the last complete generation (a changed file, seed or data starts afresh).
"""


def add_calibrate(sub: argparse._SubParsersAction) -> None:
    """The ``calibrate`` sub-command's arguments."""
    p = _command(
        sub,
        "calibrate",
        "fit scenario parameters to observed adoption (ABC-SMC)",
        "Fit the parameters a calibration file names to its observed adoption with ABC-SMC (pyabc), and write "
        "the posterior, its summary and the fitted scenario.",
        CALIBRATE_EPILOG,
    )
    p.add_argument("file", metavar="CALIBRATION_FILE", help="calibration YAML file")
    p.add_argument(
        "--out",
        type=_folder_name,
        default=None,
        help="output folder: new, empty, or an earlier calibration's (default results/calibrate-NAME)",
    )
    p.add_argument(
        "--backend", choices=("serial", "loky"), default="serial", help="where simulations run (default serial)"
    )
    p.add_argument("--jobs", type=_positive_int, default=2, help="worker processes with --backend loky (default 2)")
    p.add_argument("--seed", type=_seed, default=None, help="master seed (default: the file's seed)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")


def is_calibration_file(path: str) -> bool:
    """Whether a YAML file is a calibration file (a top-level ``fit`` and ``scenario``), not a scenario."""
    from diffusion_sim.errors import UserError
    from diffusion_sim.scenario.yaml_source import _parse, _read_text

    try:
        data, _, _ = _parse(_read_text(Path(path), path), path)
    except UserError:
        return False
    return isinstance(data, dict) and "fit" in data and "scenario" in data


def _checked(path: str, seed: int | None = None):
    """The calibration, its scenarios, community, observed data and folder: everything checked before fitting."""
    from diffusion_sim.calibrate.fit import check_calibration, observed_for
    from diffusion_sim.community import build_community

    cal, scenarios = check_calibration(path)
    if seed is not None:
        cal = cal.model_copy(update={"seed": seed})
    folder = Path(path).resolve().parent
    community = build_community(scenarios.by_file[scenarios.default], cal.seed)
    observed = observed_for(cal, scenarios, community, folder)
    return cal, scenarios, community, observed, folder


def validate_calibration_line(path: str) -> str:
    """Check a calibration file completely (scenario, priors against its bounds, observed data); its ``ok`` line."""
    cal, _, _, observed, _ = _checked(path)
    return (
        f"ok  {path}  (calibration: {cal.name}, {len(cal.fit)} parameters, {len(observed.villages)} villages x "
        f"{len(observed.steps)} observed steps, {cal.method.population} particles, up to {cal.method.generations} "
        "generations)"
    )


class _Progress:
    """An ordered map that reports each finished generation: its tolerance and acceptance rate.

    :class:`~diffusion_sim.calibrate.abc.OrderedSampler` hands ``map_`` a partial of pyabc's
    ``simulate_one``, whose keywords carry the generation ``t`` and its tolerance ``eps``; a
    generation is reported when the next one starts (the last one by :meth:`finish`). The counts
    follow the sampler: particles in task order until ``population`` are accepted.
    """

    def __init__(self, map_: Callable, population: int, quiet: bool):
        self.map_ = map_
        self.population = population
        self.quiet = quiet
        self.t: int | None = None
        self.eps: float | None = None
        self.accepted = self.evaluated = 0
        self.t0 = time.perf_counter()
        self.lines: list[dict[str, Any]] = []

    def __call__(self, f: Callable, xs: Iterable[Any]) -> list[Any]:
        kw = getattr(f.args[0], "keywords", {}) if getattr(f, "args", None) else {}
        t = kw.get("t")
        if t != self.t:
            self.finish()
            self.t, self.accepted, self.evaluated = t, 0, 0
            eps = kw.get("eps")
            try:
                self.eps = float(eps(t)) if eps is not None and t is not None and t >= 0 else None
            except Exception:  # noqa: BLE001 - the tolerance is only reported
                self.eps = None
        out = list(self.map_(f, xs))
        for part in out:
            for particle in part:
                if self.accepted >= self.population:
                    break
                self.evaluated += 1
                self.accepted += bool(getattr(particle, "accepted", False))
        return out

    def finish(self) -> None:
        """Report the generation in progress (if any, and not pyabc's calibration sample t = -1)."""
        if self.t is None or self.t < 0 or self.evaluated == 0:
            self.t = None
            return
        rate = self.accepted / self.evaluated
        self.lines.append({"t": self.t, "epsilon": self.eps, "acceptance": rate, "simulations": self.evaluated})
        if not self.quiet:
            eps = "n/a" if self.eps is None else f"{self.eps:.4g}"
            print(
                f"  generation {self.t + 1}: tolerance {eps}, accepted {self.accepted}/{self.evaluated} "
                f"({100 * rate:.1f}%), {time.perf_counter() - self.t0:.1f} s",
                flush=True,
            )
        self.t = None


def cmd_calibrate(args: argparse.Namespace) -> int:
    """``diffusion-sim calibrate``: check, fit, write."""
    from diffusion_sim.atomic import check_output_folder
    from diffusion_sim.calibrate.output import CALIBRATE_FILES, fit_resumable, work_folder, write_calibration
    from diffusion_sim.interrupts import deferred_interrupts

    cal, scenarios, community, observed, folder = _checked(args.file, args.seed)  # before any simulation
    if args.out is not None:
        out = args.out
    else:
        from diffusion_sim.experiment.commands import _slug

        out = f"results/calibrate-{_slug(cal.name)}"
    check_output_folder(out, command="calibrate", managed=CALIBRATE_FILES)
    if not args.quiet:
        m = cal.method
        print(
            f"diffusion-sim calibrate: {cal.name} ({len(cal.fit)} parameters, {m.population} particles, up to "
            f"{m.generations} generations, seed {cal.seed}, {args.backend}"
            + (f" x {args.jobs}" if args.backend == "loky" else "")
            + ")",
            flush=True,
        )
    work = work_folder(out)
    t0 = time.perf_counter()
    with deferred_interrupts():
        try:
            if args.backend == "loky":
                from joblib import Parallel, delayed

                with Parallel(n_jobs=args.jobs, backend="loky") as pool:
                    pooled = lambda f, xs: pool(delayed(f)(x) for x in xs)  # noqa: E731
                    progress = _Progress(pooled, cal.method.population, args.quiet)
                    posterior, resumed = fit_resumable(cal, scenarios, community, observed, work, map_=progress)
            else:
                progress = _Progress(map, cal.method.population, args.quiet)
                posterior, resumed = fit_resumable(cal, scenarios, community, observed, work, map_=progress)
        except KeyboardInterrupt:
            if work.exists():
                print(f"the fit so far is kept in {work}; run the same command again to continue it", file=sys.stderr)
            raise
        progress.finish()
        elapsed = time.perf_counter() - t0
        prov = {
            "command": "calibrate",
            "calibration_file": str(Path(args.file).resolve()),
            "seed": cal.seed,
            "backend": args.backend,
            "jobs": args.jobs if args.backend == "loky" else 1,
            "seconds": round(elapsed, 3),
            "resumed_after_generation": resumed,
            "generation_log": progress.lines,
        }
        from diffusion_sim.calibrate.figures import posterior_predictive
        from diffusion_sim.calibrate.fit import Simulator
        from diffusion_sim.calibrate.output import PREDICTIVE_DRAWS

        sim = Simulator(scenarios, community, observed, cal.seed)
        predictive = posterior_predictive(posterior, sim, draws=PREDICTIVE_DRAWS, seed=cal.seed)
        written = write_calibration(out, posterior, cal, scenarios, prov, observed=observed, predictive=predictive)
        shutil.rmtree(work, ignore_errors=True)
    if not args.quiet:
        from diffusion_sim.calibrate.output import summary_table

        if resumed:
            print(f"  continued a fit interrupted after generation {resumed} (kept in {work})")
        print(f"  fitted in {elapsed:.1f} s ({posterior.attrs.get('simulations')} simulations)")
        for row in summary_table(posterior, scenarios).itertuples():
            flag = "identified" if row.identified else "NOT identified by the data (width ratio >= 0.5)"
            print(
                f"  {row.parameter}: median {row.median:.4g}, 90% interval [{row.q05:.4g}, {row.q95:.4g}] "
                f"(prior [{row.prior_q05:.4g}, {row.prior_q95:.4g}], width ratio {row.width_ratio:.2f}): {flag}"
            )
        print(f"  wrote {len(written)} files to {Path(out)}/: {', '.join(written)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    from diffusion_sim.cli import main

    sys.exit(main(["calibrate", *sys.argv[1:]]))
