"""What ``diffusion-sim inspect`` reads, prints and writes (its options are in :mod:`diffusion_sim.cli_inspect`)."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

from diffusion_sim.atomic import COMMAND_FILES
from diffusion_sim.community import Community
from diffusion_sim.diagnostics.inspection import AS_GIVEN, SYMMETRISED, Inspection
from diffusion_sim.diagnostics.tables import ALL_LAYERS
from diffusion_sim.errors import UserError

__all__ = ["INSPECT_FILES", "read_input", "summary_lines", "write_inspection"]

INSPECT_FILES = COMMAND_FILES["inspect"]
"""What ``diffusion-sim inspect`` writes into its output folder (defined once, with the writer's rules)."""

_SCENARIO = (".yaml", ".yml")
_GRAPHML = (".graphml", ".xml")


def read_input(files: list[str], seed: int, overrides=(), simulate: bool = False) -> tuple[Community, str, dict]:
    """The community named on the command line, what to call it, and its provenance (files and their SHA-256).

    With ``simulate`` (a scenario only), the scenario is run once (replicate 0 of ``seed``, the one run
    path) and its simulated adoption times take the place of observed ones.

    Raises:
        UserError: the wrong number or kind of files, a file missing or unreadable, or an invalid scenario.

    """
    kinds = [Path(f).suffix.lower() for f in files]
    expected = "expected a scenario (.yaml), a GraphML file (.graphml) or a nodes CSV and an edges CSV"
    if len(files) > 2:
        raise UserError(f"{len(files)} files given; {expected}", source="inspect")
    if len(files) == 2 and kinds != [".csv", ".csv"]:
        raise UserError(f"two files given, {', '.join(files)}; {expected} (in that order)", source="inspect")
    if len(files) == 1 and kinds[0] == ".csv":
        raise UserError("a nodes CSV needs its edges CSV: give NODES.csv EDGES.csv", source=files[0])
    if len(files) == 1 and kinds[0] not in _SCENARIO + _GRAPHML:
        raise UserError(f"unknown kind of file {kinds[0] or '(no suffix)'!r}; {expected}", source=files[0])
    if overrides and kinds[0] not in _SCENARIO:
        raise UserError("--set changes a scenario; a community file has no parameters to set", source="--set")
    if simulate and kinds[0] not in _SCENARIO:
        raise UserError("--simulate runs a scenario; give a scenario file (.yaml)", source="--simulate")
    prov: dict = {"inputs": []}
    if kinds[0] in _SCENARIO:
        from diffusion_sim.community import build_community
        from diffusion_sim.scenario import apply_overrides, load_scenario

        scenario = load_scenario(files[0])
        if overrides:
            scenario = apply_overrides(scenario, overrides)
        prov |= {"seed": seed, "scenario_name": scenario.name, "scenario_digest": scenario.digest()}
        prov["overrides"] = list(overrides)
        community = build_community(scenario, seed)
        source = f"{files[0]} (scenario {scenario.name!r}, seed {seed})"
        if simulate:
            from diffusion_sim.diagnostics.exposure import simulated_adoption_times
            from diffusion_sim.runner import run

            result = run(scenario, seed, replicates=[0], community=community)
            community.population.adoption_time = simulated_adoption_times(result.agents, 0)
            source += f", simulated run of {int(result.counts.steps[-1])} steps (adoption times in steps)"
            prov["simulated"] = {"replicate": 0, "steps": int(result.counts.steps[-1])}
    elif kinds[0] in _GRAPHML:
        from diffusion_sim.network.io import read_graphml_community

        community = read_graphml_community(files[0])
        source = files[0]
    else:
        from diffusion_sim.network.io import read_csv_community

        community = read_csv_community(files[0], files[1])
        source = f"{files[0]} + {files[1]}"
    for f in files:
        prov["inputs"].append({"path": f, "sha256": _sha256(Path(f))})
    return community, source, prov


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def write_inspection(ins: Inspection, out: str | Path, provenance: dict | None = None) -> list[str]:
    """Write the inspection's tables, figures, page and provenance into ``out``: all of them, or none.

    ``out`` may be new, empty, or an earlier inspection's folder (:func:`diffusion_sim.atomic.atomic_folder`).
    Returns the names written.
    """
    from diffusion_sim import __version__
    from diffusion_sim.atomic import atomic_folder
    from diffusion_sim.diagnostics.figures import adoption_curve_figure, degree_figure, exposure_figure
    from diffusion_sim.diagnostics.page import render_page
    from diffusion_sim.provenance import git_commit

    tables = {"nodes": ins.nodes, "layers": ins.layers, "degrees": ins.degrees}
    figures = {"degree_distributions": degree_figure(ins)}
    if ins.has_adoption:
        tables |= {
            "adoption_curve": ins.curve,
            "exposure_at_adoption": ins.exposure_table(),
            "exposure_summary": ins.exposure_summary,
        }
        figures |= {"adoption_curve": adoption_curve_figure(ins), "exposure_at_adoption": exposure_figure(ins)}
    names = [f"{k}.csv" for k in tables] + [f"{k}.png" for k in figures] + ["provenance.json"]
    prov = (provenance or {}) | {
        "command": "inspect",
        "source": ins.source,
        "agents": ins.community.n,
        "package_version": __version__,
        "git_commit": git_commit(),
    }
    with atomic_folder(out, command="inspect", managed=INSPECT_FILES) as tmp:
        for name, frame in tables.items():
            frame.to_csv(tmp / f"{name}.csv", index=False)
        for name, fig in figures.items():
            fig.savefig(tmp / f"{name}.png", format="png", dpi=100, metadata={"Software": None})
        (tmp / "provenance.json").write_text(json.dumps(prov, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        page = render_page(ins, figures, names)
        (tmp / "report.html").write_bytes(page.encode("utf-8"))
    return ["report.html", *names]


def _fmt(x: float, decimals: int = 3) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x:.{decimals}f}"


def summary_lines(ins: Inspection) -> list[str]:
    """The short summary the command prints."""
    pop = ins.community.population
    counts = {k: v for k, v in pop.counts().items() if v}
    lines = [
        f"diffusion-sim inspect: {ins.source}",
        f"  agents: {pop.n:,} in {pop.n_villages:,} village(s)",
        "    " + (", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in counts.items()) or "none"),
    ]
    rows = ins.layers[ins.layers["scope"] == "all"].set_index("layer")
    for layer, r in rows.iterrows():
        what = "arcs" if r["kind"] == "directed" else ("pairs" if layer == ALL_LAYERS else "ties")
        recip = f", reciprocity {_fmt(r['reciprocity'])}" if r["kind"] != "undirected" else ""
        lines.append(
            f"  {str(layer)[:16]:<16} {r['kind']:<10} {r['ties']:>9,} {what:<5} mean degree {r['mean_degree']:.2f}"
            f"{recip}"
        )
    r = rows.loc[ALL_LAYERS]
    lines.append(
        f"  all layers: {r['components']:,} component(s), largest {r['largest_component']:,} agents; "
        f"{r['isolated']:,} isolated; clustering {_fmt(r['clustering'])}"
    )
    if ins.has_adoption:
        e = ins.exposure[AS_GIVEN]
        lines.append(f"  adoption times: {int(e.adopters.sum()):,} of {pop.n:,} agents adopted")
        for variant, x in ins.exposure.items():
            name = "exposure at adoption" if variant == AS_GIVEN else f"  {SYMMETRISED}"
            lines.append(
                f"  {name:<21} mean {_fmt(x.mean)} over {int(x.included.sum()):,} adopters "
                f"({x.without_nominations:,} without nominations excluded)"
            )
    else:
        lines.append("  adoption times: none in the data (no adoption curve, no exposure at adoption)")
    return lines
