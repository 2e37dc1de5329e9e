"""The ``diffusion-sim`` command."""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from pathlib import Path

from diffusion_sim.errors import UserError

__all__ = ["main"]

RUN_EPILOG = """\
examples:
  diffusion-sim run                                  # built-in default community, results in ./results/default
  diffusion-sim run --seed 7 --steps 104 --out out/
  diffusion-sim run --set community.households=100000 --set behaviour.external=0.01
  diffusion-sim run scenarios/my-district.yaml --replicates 10 --out out/district

outputs (in --out): steps.parquet/.csv (per-step adopters, coverage, new adopters and abandonments
by role, leader kind, village and marginalised flag; new adopters by channel), agents.parquet/.csv
(per-agent outcome), adoption_by_role.png, provenance.json (seed, scenario, versions).
"""

VALIDATE_EPILOG = """\
examples:
  diffusion-sim validate scenarios/default.yaml
  diffusion-sim validate scenarios/*.yaml
  diffusion-sim validate scenarios/my-district.yaml --set community.households=100000

Prints 'ok  FILE  (name: ..., N households, N villages, N steps)' for each valid file and an error
naming the file, line and field for each invalid one. Exit status 0 if every file is valid, 2 if not.
Experiment files and calibration files (a top-level 'fit' and 'scenario') are checked completely too.
A file may inherit a base scenario with a top-level 'extends: base.yaml' (relative to its folder).

A community read from files (community.imported, community.survey, community.people) is read, and
described under the ok line: agents and communities, ties per layer (directed or not) and, for a
survey, the cleaning report (nominations dropped or merged, per rule and relation). A community
without ties gets a 'warning:' line on stderr.
"""

SCHEMA_EPILOG = """\
examples:
  diffusion-sim schema                               # print the JSON Schema
  diffusion-sim schema --out scenario.schema.json

Editors use it for completion and checking as you type; e.g. with the YAML language server
(VS Code's YAML extension), put this first line in a scenario file:
  # yaml-language-server: $schema=scenario.schema.json
"""


def _non_negative_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {v}")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (v > 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return v


def _positive_int(text: str) -> int:
    v = _non_negative_int(text)
    if v == 0:
        raise argparse.ArgumentTypeError("expected a positive integer, got 0")
    return v


SEED_LIMIT = 2**63
"""Seeds are 0 <= seed < 2**63: outputs store the seed as a 64-bit signed integer, and the random streams
mix it as a 64-bit word (larger seeds would repeat smaller ones)."""


def _seed(text: str) -> int:
    v = _non_negative_int(text)
    if v >= SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to 2**63 - 1 = {SEED_LIMIT - 1}, got {v}")
    return v


def _folder_name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a folder name, got {text!r}")
    return text


def _file_name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a file name, got {text!r}")
    return text


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one ``error:`` line naming the option, like every other error."""

    def error(self, message: str):
        """Print ``error: OPTION: PROBLEM (see '... --help')`` and exit with status 2."""
        option = re.match(r"argument (\S+?): (.*)", message, re.S)
        text = f"{option[1]}: {option[2]}" if option else message
        self.exit(2, f"error: {text} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    from diffusion_sim import __version__

    parser = _Parser(
        prog="diffusion-sim",
        description="Simulate how a behaviour spreads through a community network, and what interventions do to it.",
        epilog="Run 'diffusion-sim COMMAND --help' for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"diffusion-sim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = _command(
        sub,
        "run",
        "run one scenario and write its results",
        (
            "Run one scenario (default: the built-in community) and write per-step and per-agent results, "
            "a figure and provenance."
        ),
        RUN_EPILOG,
    )
    p.add_argument("scenario", nargs="?", help="scenario YAML file (default: the built-in default community)")
    p.add_argument("--seed", type=_seed, default=0, help="master seed, 0 <= SEED < 2**63 (default 0)")
    p.add_argument(
        "--steps", type=_non_negative_int, default=None, help="number of steps (default: the scenario's schedule.steps)"
    )
    p.add_argument(
        "--replicates", type=_positive_int, default=1, help="replicates run side by side on streams 0..R-1 (default 1)"
    )
    p.add_argument(
        "--out",
        type=_folder_name,
        default="results/default",
        help="output folder: new, empty, or an earlier run's (default results/default)",
    )
    _add_set_option(p, "override a parameter by dotted path, e.g. --set community.households=100000 (repeatable)")
    p.add_argument("--no-figure", action="store_true", help="skip the PNG figure")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    _add_validate(sub)
    _add_schema(sub)
    from diffusion_sim.cli_calibrate import add_calibrate
    from diffusion_sim.cli_compare import add_compare
    from diffusion_sim.cli_inspect import add_inspect
    from diffusion_sim.cli_workshop import add_workshop
    from diffusion_sim.experiment.commands import add_experiment
    from diffusion_sim.workshop.animate import add_animate

    add_workshop(sub)
    add_compare(sub)
    add_experiment(sub, _command)
    add_animate(sub)
    add_inspect(sub)
    add_calibrate(sub)
    return parser


def _command(sub: argparse._SubParsersAction, name: str, help_text: str, description: str, epilog: str):
    """A sub-command whose ``--help`` ends with its examples (kept as written)."""
    return sub.add_parser(
        name,
        help=help_text,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _add_set_option(p: argparse.ArgumentParser, help_text: str) -> None:
    """The repeatable ``--set PATH=VALUE`` option."""
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE", help=help_text)


def _add_validate(sub: argparse._SubParsersAction) -> None:
    """The ``validate`` sub-command's arguments."""
    p = _command(
        sub,
        "validate",
        "check scenario files without running them",
        "Check scenario files (with the files they extend) against the scenario schema.",
        VALIDATE_EPILOG,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="scenario YAML file(s)")
    _add_set_option(p, "override a parameter by dotted path in every file before checking it (repeatable)")


def _add_schema(sub: argparse._SubParsersAction) -> None:
    """The ``schema`` sub-command's arguments."""
    p = _command(
        sub,
        "schema",
        "print the JSON Schema of scenario files (for editors)",
        "Print the JSON Schema of scenario files, or write it to a file.",
        SCHEMA_EPILOG,
    )
    p.add_argument(
        "--out", type=_file_name, default=None, metavar="FILE", help="write the schema to FILE instead of printing it"
    )


def _fmt_pct(v: float) -> str:
    return "n/a" if v is None or math.isnan(v) else f"{100 * v:5.1f}%"


def _fmt_days(days: float) -> str:
    """A duration in days, with weeks (or years) when that reads better."""
    if days >= 365 * 2:
        return f"day {days:,.0f}, {days / 365.25:.1f} years"
    if days >= 14:
        return f"day {days:,.0f}, week {days / 7:.3g}"
    return f"day {days:.3g}"


def _fmt_reached(times, days: float) -> str:
    reached = times.dropna()
    if len(reached) == 0:
        return "not reached"
    mean = reached.mean()
    text = f"step {mean:.4g} ({_fmt_days(mean * days)})"
    if len(times) > 1:
        text = f"mean {text} in the {len(reached)} of {len(times)} replicates that reached it"
    return text


def cmd_run(args: argparse.Namespace) -> int:
    """``diffusion-sim run``."""
    from diffusion_sim.atomic import check_output_folder
    from diffusion_sim.interrupts import deferred_interrupts
    from diffusion_sim.metrics import summary, time_to_coverage
    from diffusion_sim.resources import check_scenario_memory
    from diffusion_sim.runner import OUTPUT_FILES, run, write_result
    from diffusion_sim.scenario import Scenario, apply_overrides, load_scenario

    scenario = load_scenario(args.scenario) if args.scenario else Scenario()
    if args.overrides:
        scenario = apply_overrides(scenario, args.overrides)
    if args.steps is not None:
        scenario = apply_overrides(scenario, {"schedule.steps": args.steps}, source="--steps")
    # everything that can be checked before running is checked before running
    check_output_folder(args.out, command="run", managed=OUTPUT_FILES)
    check_scenario_memory(scenario, args.replicates, source=args.scenario or "built-in scenario")
    community = None
    if scenario.community.from_files:  # read once, here, so its cleaning report can be printed
        from diffusion_sim.community import build_community

        community = build_community(scenario, args.seed)
    t0 = time.perf_counter()
    with deferred_interrupts():  # Ctrl-C stops between steps, never inside compiled code
        result = run(scenario, args.seed, replicates=range(args.replicates), community=community)
        elapsed = time.perf_counter() - t0
        files = write_result(result, args.out, figure=not args.no_figure)
    if args.quiet:
        return 0
    s = summary(result)
    days = scenario.schedule.days_per_step
    prov = result.provenance
    runs = f"seed {args.seed}, {args.replicates} replicate(s), {prov['steps']} steps of {days:g} days"
    print(f"diffusion-sim run: {scenario.name} ({runs})")
    print(f"  agents: {prov['agents']:,}   behaviour: {scenario.behaviour.name}   ran in {elapsed:.2f} s")
    if community is not None and community.cleaning is not None:
        print("\n".join(community.cleaning.lines()))
    end = f"step {prov['steps']}, {_fmt_days(prov['steps'] * days)}"
    print(f"  final coverage ({end}):")
    others = _fmt_pct(s["coverage_not_marginalised"])
    print(f"    households           {_fmt_pct(s['coverage'])}   (marginalised {_fmt_pct(s['coverage_marginalised'])}, "
          f"others {others})")  # fmt: skip
    print(f"    people               {_fmt_pct(s['coverage_people'])}   (household members, weighted by size)")
    print(f"    leaders              {_fmt_pct(s['coverage_leaders'])}   (a group of their own)")
    print(f"    health workers       {_fmt_pct(s['coverage_health_workers'])}   (a group of their own)")
    print(f"  50% of households:     {_fmt_reached(time_to_coverage(result, 0.5), days)}")
    print(f"  80% of households:     {_fmt_reached(time_to_coverage(result, 0.8), days)}")
    ch = ", ".join(f"{k} {v:,.0f}" for k, v in s["adoptions_by_channel"].items() if v) or "none"
    print(f"  adoptions by channel:  {ch}")
    if scenario.interventions:
        names = ", ".join(iv.label for iv in scenario.interventions)
        print(f"  interventions:         {names}; programme cost {s['cost']:,.0f} {scenario.costs.currency}")
    print(f"  wrote {len(files)} files to {Path(args.out)}/: {', '.join(f.name for f in files)}")
    return 0


def _check_file(path: str, overrides: list[str]) -> tuple[list[str], list[str]]:
    """Load one scenario (or experiment) file, apply overrides, read its community's files if any.

    Returns:
        The lines to print (the ``ok`` line first, then the community read from files) and warnings.

    Raises:
        UserError: for the first problem in the file or in the files it names.

    """
    from diffusion_sim.experiment.commands import is_experiment_file, validate_line
    from diffusion_sim.scenario import apply_overrides, load_scenario

    if is_experiment_file(path):
        if overrides:
            raise UserError("--set changes scenarios; an experiment file sets its base with 'set:'", source=path)
        return [validate_line(path)], []
    from diffusion_sim.cli_calibrate import is_calibration_file, validate_calibration_line

    if is_calibration_file(path):
        if overrides:
            raise UserError("--set changes scenarios; a calibration file sets its scenario with 'set:'", source=path)
        return [validate_calibration_line(path)], []

    scenario = load_scenario(path)
    if overrides:
        try:
            scenario = apply_overrides(scenario, overrides)
        except UserError as err:
            raise UserError(str(err), source=path) from None
    c = scenario.community
    if c.survey is not None:
        size = "survey community"
    elif c.imported is not None:
        size = "imported community"
    else:
        size = f"{c.households} households, {c.villages} villages"
    lines, warnings = [f"ok  {path}  (name: {scenario.name}, {size}, {scenario.schedule.steps} steps)"], []
    if c.from_files or c.people is not None:
        from diffusion_sim.community import build_community
        from diffusion_sim.network.describe import describe_community

        try:
            community = build_community(scenario, 0)
        except UserError as err:
            raise UserError(str(err), source=path) from None  # names the scenario, then the data file
        more, warnings = describe_community(community, scenario)
        lines += more
    return lines, [f"warning: {path}: {w}" for w in warnings]


def cmd_validate(args: argparse.Namespace) -> int:
    """``diffusion-sim validate``: 0 if every file is valid, 2 if any is not."""
    bad = 0
    for path in args.files:
        try:
            lines, warnings = _check_file(path, args.overrides)
            print("\n".join(lines), flush=True)
            for w in warnings:
                print(w, file=sys.stderr, flush=True)
        except UserError as err:
            bad += 1
            print(f"error: {err}", file=sys.stderr, flush=True)
    if bad and len(args.files) > 1:
        print(f"{bad} of {len(args.files)} files invalid", file=sys.stderr)
    return 2 if bad else 0


def cmd_schema(args: argparse.Namespace) -> int:
    """``diffusion-sim schema``: the scenario JSON Schema on stdout or in ``--out``."""
    import json

    from diffusion_sim.scenario import scenario_json_schema

    text = json.dumps(scenario_json_schema(), indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return 0
    from diffusion_sim.atomic import atomic_file

    with atomic_file(args.out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    print(f"wrote the scenario JSON Schema to {args.out}")
    return 0


COMMANDS = {
    "run": cmd_run,
    "validate": cmd_validate,
    "schema": cmd_schema,
    "compare": "diffusion_sim.cli_compare:cmd_compare",
    "experiment": "diffusion_sim.experiment.commands:cmd_experiment",
    "workshop": "diffusion_sim.cli_workshop:cmd_workshop",
    "animate": "diffusion_sim.workshop.animate:cmd_animate",
    "inspect": "diffusion_sim.cli_inspect:cmd_inspect",
    "calibrate": "diffusion_sim.cli_calibrate:cmd_calibrate",
}
"""Each command's function, or ``"module:function"`` for one in its own module, imported only when it runs
(so ``diffusion-sim run`` never imports Solara, SALib or pyabc)."""


def _command_function(name: str):
    """The function of command ``name`` (importing its module on first use)."""
    import importlib

    target = COMMANDS[name]
    if isinstance(target, str):
        module, function = target.split(":")
        target = getattr(importlib.import_module(module), function)
    return target


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``diffusion-sim`` console script.

    Exit status: 0 on success, 2 for a user error (one ``error:`` line, nothing written) and for a run
    that does not fit in memory, 130 when interrupted (Ctrl-C; ``interrupted``, nothing written).
    """
    from diffusion_sim import interrupts

    try:
        with interrupts.remember_interrupts():  # a Ctrl-C that Python drops (e.g. in an import) is not lost
            parser = build_parser()
            args = parser.parse_args(argv)
            if args.command is None:
                parser.print_help()
                return 2
            if args.command not in COMMANDS:
                parser.error(f"unknown command {args.command!r}")
            status = _dispatch(args)
            interrupts.check()  # one dropped after the last safe point
            return status
    except KeyboardInterrupt:
        return _interrupted()
    except Exception as err:  # e.g. SystemError: an interrupt that surfaced inside compiled code
        if not _is_interrupt(err):
            raise
        return _interrupted()


def _dispatch(args: argparse.Namespace) -> int:
    """Run a command, turning errors meant for people into one ``error:`` line."""
    try:
        from diffusion_sim.process import prefer_small_pages

        prefer_small_pages()  # this process is ours: see the function for why
        return _command_function(args.command)(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"error: {_out_of_memory()}", file=sys.stderr)
        return 2


def _out_of_memory() -> str:
    """The message of a MemoryError: what this process may use, and what to do."""
    from diffusion_sim.resources import memory_limits

    limits = memory_limits()
    where = ""
    if limits:
        what, left = min(limits, key=lambda x: x[1])
        where = f"; {left / 1e9:,.1f} GB left now ({what})"
    return (
        f"out of memory: the command needed more memory than this process may use{where}; run fewer replicates "
        "at once (--replicates) or a smaller community"
    )


def _is_interrupt(err: BaseException) -> bool:
    from diffusion_sim.interrupts import is_interrupt

    return is_interrupt(err)


def _interrupted() -> int:
    import signal

    # the command is ending because of Ctrl-C: a signal still pending (or a second Ctrl-C) must not turn the
    # exit into a traceback or a death by SIGINT while the interpreter shuts down
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    print("interrupted", file=sys.stderr)
    return 130


if __name__ == "__main__":
    sys.exit(main())
