"""``diffusion-sim inspect``: its options and what it does (the work is in :mod:`diffusion_sim.diagnostics`).

Kept apart from the diagnostics package so that building the command line imports nothing heavy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from diffusion_sim.cli import _add_set_option, _command, _folder_name, _seed

__all__ = ["INSPECT_EPILOG", "add_inspect", "cmd_inspect"]

INSPECT_EPILOG = """\
examples:
  diffusion-sim inspect scenarios/baseline.yaml             # the generated community's summary
  diffusion-sim inspect scenarios/baseline.yaml --seed 3 --out results/inspect-baseline
  diffusion-sim inspect scenarios/baseline.yaml --simulate   # and a simulated run's exposure at adoption
  diffusion-sim inspect community.graphml --out results/inspect
  diffusion-sim inspect nodes.csv edges.csv --out results/inspect

The input is a scenario file (its community is built as 'run' builds it, from --seed), a GraphML
community or a nodes CSV followed by an edges CSV (the formats 'run' imports). The command always
prints a short summary and writes files only with --out: report.html (opens offline), nodes.csv,
layers.csv, degrees.csv, degree_distributions.png and provenance.json; with adoption times in the
data, also adoption_curve.csv/.png, exposure_at_adoption.csv/.png and exposure_summary.csv.
"""


def add_inspect(sub: argparse._SubParsersAction) -> None:
    """The ``inspect`` sub-command's arguments."""
    p = _command(
        sub,
        "inspect",
        "describe a community's network (and its diffusion, with adoption times)",
        "Describe a community: agents, ties per layer, reciprocity, degrees, components and clustering, overall "
        "and per village; with adoption times, the adoption curve and exposure at the time of adoption.",
        INSPECT_EPILOG,
    )
    p.add_argument(
        "files",
        nargs="+",
        metavar="SCENARIO_OR_COMMUNITY",
        help="a scenario YAML file, a GraphML file, or a nodes CSV and an edges CSV",
    )
    p.add_argument("--seed", type=_seed, default=0, help="master seed that builds a scenario's community (default 0)")
    p.add_argument(
        "--out",
        type=_folder_name,
        default=None,
        help="output folder: new, empty, or an earlier inspection's (default: print the summary, write nothing)",
    )
    _add_set_option(p, "override a scenario parameter by dotted path, e.g. --set community.villages=4 (repeatable)")
    p.add_argument(
        "--simulate",
        action="store_true",
        help="run the scenario once (replicate 0) and report its adoption curve and exposure at adoption",
    )


def cmd_inspect(args: argparse.Namespace) -> int:
    """``diffusion-sim inspect``: a summary always; tables, figures and a page with ``--out``."""
    from diffusion_sim.atomic import check_output_folder
    from diffusion_sim.diagnostics.inspection import inspect_community
    from diffusion_sim.diagnostics.output import INSPECT_FILES, read_input, summary_lines, write_inspection

    if args.out is not None:  # before any work, as every command does
        check_output_folder(args.out, command="inspect", managed=INSPECT_FILES)
    community, source, prov = read_input(args.files, args.seed, args.overrides, simulate=args.simulate)
    ins = inspect_community(community, source=source)
    for line in summary_lines(ins):
        print(line)
    if args.out is not None:
        written = write_inspection(ins, args.out, prov)
        print(f"  wrote {len(written)} files to {Path(args.out)}/: {', '.join(written)}")
    return 0
