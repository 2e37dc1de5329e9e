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

from diffusion_sim.cli import _add_set_option, _command, _folder_name, _non_negative_int, _positive_int, _seed
from diffusion_sim.experiment.backends import BACKENDS

__all__ = ["CALIBRATE_EPILOG", "add_calibrate", "cmd_calibrate", "is_calibration_file", "validate_calibration_line"]

CALIBRATE_EPILOG = """\
examples:
  diffusion-sim calibrate scenarios/medical_innovation.yaml --set 'interventions=[]' \\
      --fit behaviour.external='uniform(0, 0.2)' --fit behaviour.imitation='uniform(0, 0.4)' \\
      --out results/calibration     # the survey's adoption times, without the file's made-up visit
  diffusion-sim calibrate scenarios/baseline.yaml --data observed.csv --fit behaviour.external='uniform(0, 0.02)' \\
      --set community.households=1000 --set community.villages=25
  diffusion-sim calibrate calibration.yaml --backend loky --workers 2 --seed 3 --out results/cal-seed3
  diffusion-sim calibrate calibration.yaml --backend dask --scheduler tcp://127.0.0.1:8786

FILE is a calibration file (scenario, data, priors, method: README.md, Calibration) or a scenario
with --fit (and --data, unless it is a survey with adoption times). Priors: uniform(low, high),
log_uniform(low, high), normal(mean, sd), truncated_normal(mean, sd, low, high), triangular(low, mode,
high); the scenario schema's bounds are enforced. Everything is checked before any simulation.
--data is a CSV of cumulative adoption: columns village, step, and adopters or coverage.

Fits on every village, then (unless --hold-out 0) fits again without the held-out villages and
predicts them, beside a Bass curve. Prints one line per ABC-SMC generation. Writes, all or nothing,
into --out: posterior.csv (particles with weights), summary.csv (median, 90% interval, width over
the prior's, identified, diagnosis), correlations.csv, fitted_scenario.yaml (the posterior medians;
run it with 'diffusion-sim run'), predictive.csv and fit.png (observed against the posterior
predictive band), bass.csv, heldout.csv and heldout.png, calibration.html (opens offline) and
provenance.json. Use the folder with 'diffusion-sim compare ... --posterior DIR'. While it fits,
pyabc's databases are kept in .OUT.calibrate-work/ beside --out: run the same command again after an
interruption and it continues after the last complete generation.
"""


def _villages(text: str) -> list[str]:
    """``--hold-out-villages``: village names separated by commas."""
    names = [v.strip() for v in text.split(",") if v.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected village names separated by commas, got {text!r}")
    return names


def add_calibrate(sub: argparse._SubParsersAction) -> None:
    """The ``calibrate`` sub-command's arguments."""
    p = _command(
        sub,
        "calibrate",
        "fit scenario parameters to observed adoption (ABC-SMC)",
        "Fit scenario parameters to observed adoption with ABC-SMC (pyabc): the posterior, its summary and "
        "diagnostics, the fit plot, a predictive check on held-out villages beside a Bass baseline, and the "
        "fitted scenario.",
        CALIBRATE_EPILOG,
    )
    p.add_argument("file", metavar="FILE", help="calibration YAML file, or a scenario file with --fit")
    p.add_argument("--data", default=None, metavar="CSV", help="observed cumulative adoption (village, step, "
                   "adopters or coverage); default: the file's data, or the survey's adoption times")  # fmt: skip
    p.add_argument("--fit", dest="fit", action="append", default=[], metavar="PATH=PRIOR",
                   help="a parameter to fit and its prior, e.g. behaviour.external='uniform(0, 0.02)' (repeatable; "
                   "adds to or replaces the file's)")  # fmt: skip
    _add_set_option(p, "a fixed change of the scenario before fitting (repeatable)")
    held = p.add_mutually_exclusive_group()
    held.add_argument("--hold-out", type=_non_negative_int, default=None, metavar="N",
                      help="how many villages to hold out for the predictive check, drawn with the seed; 0: no check "
                      "(default: the file's, else a fifth of the villages)")  # fmt: skip
    held.add_argument("--hold-out-villages", dest="hold_out", type=_villages, default=None, metavar="V1,V2",
                      help="the villages to hold out, by name (as the data name them)")  # fmt: skip
    p.add_argument("--particles", type=_positive_int, default=None, help="particles per generation (default 300)")
    p.add_argument("--generations", type=_positive_int, default=None, help="most generations (default 8)")
    p.add_argument(
        "--out",
        type=_folder_name,
        default=None,
        help="output folder: new, empty, or an earlier calibration's (default results/calibrate-NAME)",
    )
    p.add_argument("--backend", choices=BACKENDS, default="serial", help="where simulations run (default serial)")
    p.add_argument("--workers", "--jobs", dest="workers", type=_positive_int, default=None,
                   help="worker processes with loky or a local Dask cluster (default: the cores)")  # fmt: skip
    p.add_argument(
        "--scheduler", default=None, metavar="ADDRESS", help="join a running Dask scheduler (--backend dask)"
    )
    p.add_argument("--seed", type=_seed, default=None, help="master seed (default: the file's seed, else 0)")
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


CHANGES = ("fit", "overrides", "data", "hold_out", "particles", "generations", "seed")
"""The options that change a calibration file (:func:`_from_command_line` applies them)."""


def _from_command_line(args: argparse.Namespace):
    """The calibration FILE and the options describe: (calibration, its folder, the path messages name)."""
    from pydantic import ValidationError

    from diffusion_sim.calibrate.spec import Calibration, parse_prior
    from diffusion_sim.errors import UserError
    from diffusion_sim.scenario.overrides import parse_override

    path = args.file
    fit = dict(parse_prior(text) for text in getattr(args, "fit", []))
    if is_calibration_file(path):
        from diffusion_sim.calibrate.spec import load_calibration

        cal, folder = load_calibration(path), Path(path).resolve().parent
        data = cal.model_dump(mode="json")
        data["fit"] = {**data["fit"], **fit}
    else:
        if not Path(path).is_file():
            raise UserError("no such file", source=path)
        if not fit:
            raise UserError(
                "a scenario file needs at least one --fit PATH=PRIOR, e.g. --fit behaviour.external='uniform(0, 0.02)' "
                "(or give a calibration file)",
                source="--fit",
            )
        folder = Path.cwd()
        data = {"name": Path(path).stem, "scenario": str(Path(path).resolve()), "fit": fit}
    sets = dict(parse_override(text) for text in getattr(args, "overrides", []))
    data["set"] = {**data.get("set", {}), **sets}
    if getattr(args, "data", None) is not None:
        if not Path(args.data).is_file():
            raise UserError("no such file", source=args.data)
        data["data"] = {"file": str(Path(args.data).resolve())}
    if getattr(args, "hold_out", None) is not None:
        data["hold_out"] = args.hold_out
    method = dict(data.get("method", {}))
    if getattr(args, "particles", None) is not None:
        method["population"] = args.particles
    if getattr(args, "generations", None) is not None:
        method["generations"] = args.generations
    data["method"] = method
    if getattr(args, "seed", None) is not None:
        data["seed"] = args.seed
    try:
        cal = Calibration.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        msg = first["msg"].removeprefix("Value error, ")
        if where.startswith("fit."):
            raise UserError(f"{where.removeprefix('fit.')}: {msg}", source="--fit") from None
        raise UserError(f"{where}: {msg}" if where else msg, source="command line") from None
    return cal, folder


def _checked(args: argparse.Namespace):
    """The calibration, its scenarios, community, observed data and held-out villages: all checked before fitting."""
    from diffusion_sim.calibrate.check import held_out_villages
    from diffusion_sim.calibrate.fit import check_calibration, observed_for
    from diffusion_sim.community import build_community

    changed = any(getattr(args, k, None) not in (None, []) for k in CHANGES)
    if is_calibration_file(args.file) and not changed:
        cal, scenarios = check_calibration(args.file)
        folder = Path(args.file).resolve().parent
    else:
        cal, folder = _from_command_line(args)
        cal, scenarios = check_calibration(args.file, cal, folder)
    community = build_community(scenarios.by_file[scenarios.default], cal.seed)
    observed = observed_for(cal, scenarios, community, folder)
    held_out = held_out_villages(observed, cal.hold_out, cal.seed, args.file)
    return cal, scenarios, community, observed, held_out


def validate_calibration_line(path: str) -> str:
    """Check a calibration file completely (scenario, priors against its bounds, observed data); its ``ok`` line."""
    cal, _, _, observed, held_out = _checked(argparse.Namespace(file=path))
    return (
        f"ok  {path}  (calibration: {cal.name}, {len(cal.fit)} parameters, {len(observed.villages)} villages x "
        f"{len(observed.steps)} observed steps, {len(held_out)} held out, {cal.method.population} particles, up to "
        f"{cal.method.generations} generations)"
    )


class _Progress:
    """An ordered map that reports each finished generation (tolerance, acceptance rate) and shows a progress bar.

    On a terminal (stderr) a tqdm bar counts the generation's accepted particles against the
    population, with the simulations so far; it is replaced by the generation's line when it ends.

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
        self.bar = None  # a progress bar of the generation's accepted particles, on a terminal only

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
            if t is not None and t >= 0 and not self.quiet and sys.stderr.isatty():
                from tqdm import tqdm

                self.bar = tqdm(total=self.population, desc=f"  generation {t + 1}", unit=" accepted", leave=False)
        out = list(self.map_(f, xs))
        before = self.accepted
        for part in out:
            for particle in part:
                if self.accepted >= self.population:
                    break
                self.evaluated += 1
                self.accepted += bool(getattr(particle, "accepted", False))
        if self.bar is not None:
            self.bar.update(self.accepted - before)
            self.bar.set_postfix_str(f"{self.evaluated} simulations", refresh=True)
        return out

    def finish(self) -> None:
        """Report the generation in progress (if any, and not pyabc's calibration sample t = -1)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.t is None or self.t < 0 or self.evaluated == 0:
            self.t = None
            return
        rate = self.accepted / self.evaluated
        if self.accepted < self.population:  # cut short by method.min_acceptance: not a generation of the fit
            if not self.quiet:
                print(
                    f"  generation {self.t + 1}: stopped after {self.evaluated} simulations with {self.accepted} "
                    f"accepted (needs {self.population}: below the minimum acceptance rate); the fit ends with "
                    f"generation {self.t}",
                    flush=True,
                )
            self.t = None
            return
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
    """``diffusion-sim calibrate``: check, fit, check on held-out villages, write."""
    from diffusion_sim.atomic import check_output_folder
    from diffusion_sim.calibrate.abc import ordered_map
    from diffusion_sim.calibrate.output import CALIBRATE_FILES, open_work, run_key, work_folder
    from diffusion_sim.experiment.cluster import backend
    from diffusion_sim.interrupts import deferred_interrupts

    cal, scenarios, community, observed, held_out = _checked(args)  # before any simulation
    if args.out is not None:
        out = args.out
    else:
        from diffusion_sim.experiment.commands import _slug

        out = f"results/calibrate-{_slug(cal.name)}"
    check_output_folder(out, command="calibrate", managed=CALIBRATE_FILES)
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    work = work_folder(out)
    t0 = time.perf_counter()
    with deferred_interrupts():
        with backend(args.backend, workers=args.workers if args.backend != "serial" else None,
                     scheduler=args.scheduler) as workers:  # fmt: skip
            m = cal.method
            plural = "s" if len(cal.fit) > 1 else ""
            say(
                f"diffusion-sim calibrate: {cal.name} ({len(cal.fit)} parameter{plural}, {len(observed.villages)} "
                f"villages, {m.population} particles, up to {m.generations} generations, seed {cal.seed}, "
                f"{getattr(workers, 'description', args.backend)})"
            )
            open_work(work, run_key(cal, scenarios, observed, held_out))
            try:
                fitted = _fit_and_check(
                    cal, scenarios, community, observed, held_out, work, ordered_map(workers), args.quiet
                )
            except KeyboardInterrupt:
                if work.exists():
                    print(f"the fit so far is kept in {work}; run the same command again to continue it",
                          file=sys.stderr)  # fmt: skip
                raise
        posterior, check, predictive, logs, bass = fitted
        elapsed = time.perf_counter() - t0
        prov = {
            "command": "calibrate",
            "file": str(Path(args.file).resolve()),
            "out": str(Path(out)),
            "seed": cal.seed,
            "backend": args.backend,
            "workers": getattr(workers, "n_workers", 1),
            "seconds": round(elapsed, 3),
            "resumed_after_generation": logs["resumed"],
            "generation_log": logs["fit"],
            "held_out_generation_log": logs.get("check"),
        }
        from diffusion_sim.calibrate.output import write_calibration

        written = write_calibration(
            out, posterior, cal, scenarios, prov, observed=observed, predictive=predictive, check=check, bass=bass
        )
        shutil.rmtree(work, ignore_errors=True)
    if not args.quiet:
        _print_summary(posterior, scenarios, check, elapsed, logs["resumed"], out, written)
    return 0


def _fit_and_check(cal, scenarios, community, observed, held_out, work, map_, quiet: bool):
    """The fit on every village, its predictive curves, and the held-out check (fit without them, predict them)."""
    from diffusion_sim.calibrate.bass import bass_by_village
    from diffusion_sim.calibrate.check import HeldOut, held_out_table
    from diffusion_sim.calibrate.figures import posterior_predictive
    from diffusion_sim.calibrate.fit import Simulator
    from diffusion_sim.calibrate.output import PREDICTIVE_DRAWS, fit_resumable

    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    sim = Simulator(scenarios, community, observed, cal.seed, rebuild=True)
    logs: dict[str, list] = {}
    say(f"  fit to all {len(observed.villages)} villages:")
    progress = _Progress(map_, cal.method.population, quiet)
    posterior, resumed = fit_resumable(cal, sim, observed, work / "fit.db", map_=progress)
    progress.finish()
    logs["fit"], logs["resumed"] = progress.lines, {"fit": resumed}
    predictive = posterior_predictive(posterior, sim, draws=PREDICTIVE_DRAWS, seed=cal.seed)
    bass = bass_by_village(observed)  # each village's own Bass curve: bass.csv, and the held-out baseline's p, q
    check = None
    if held_out:
        train = [v for v in observed.villages if v not in held_out]
        say(f"  held-out check: fit to {len(train)} villages, predict {len(held_out)} ({', '.join(held_out[:8])}"
            f"{', ...' if len(held_out) > 8 else ''}):")  # fmt: skip
        progress = _Progress(map_, cal.method.population, quiet)
        training = observed.subset(train)
        part, logs["resumed"]["check"] = fit_resumable(
            cal, sim.for_villages(training), training, work / "check.db", map_=progress
        )
        progress.finish()
        logs["check"] = progress.lines
        curves = posterior_predictive(part, sim.for_villages(observed.subset(held_out)), draws=PREDICTIVE_DRAWS,
                                      seed=cal.seed)  # fmt: skip
        check = HeldOut(held_out, train, part, curves, held_out_table(observed, held_out, curves, bass))
    return posterior, check, predictive, logs, bass


def _print_summary(posterior, scenarios, check, elapsed, resumed, out, written) -> None:
    from diffusion_sim.calibrate.output import summary_table

    for what, t in resumed.items():
        if t:
            name = "fit to every village" if what == "fit" else "held-out check's fit"
            print(f"  continued the {name}, interrupted after generation {t}")
    print(f"  done in {elapsed:.1f} s ({posterior.attrs.get('simulations')} simulations in the fit to every village)")
    for row in summary_table(posterior, scenarios).itertuples():
        print(
            f"  {row.parameter}: median {row.median:.4g}, 90% interval [{row.q05:.4g}, {row.q95:.4g}] "
            f"(prior [{row.prior_q05:.4g}, {row.prior_q95:.4g}], width ratio {row.width_ratio:.2f}): {row.diagnosis}"
        )
    if check is not None:
        total = check.table.iloc[-1]
        better = int(check.table.iloc[:-1]["model_better"].sum())
        print(
            f"  held-out villages: model RMS error {100 * total['model_rms']:.1f} points, Bass "
            f"{100 * total['bass_rms']:.1f} (model closer in {better} of {len(check.test)}); "
            f"{100 * total['inside_90']:.0f}% of observed points inside the 90% predictive band"
        )
    print(f"  wrote {len(written)} files to {Path(out)}/ (open calibration.html)")


if __name__ == "__main__":  # pragma: no cover
    from diffusion_sim.cli import main

    sys.exit(main(["calibrate", *sys.argv[1:]]))
