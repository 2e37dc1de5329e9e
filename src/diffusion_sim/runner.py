"""Run a scenario and write its results (atomically: all files or none)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from diffusion_sim.atomic import COMMAND_FILES, atomic_folder
from diffusion_sim.community import Community, build_community
from diffusion_sim.model import DiffusionModel
from diffusion_sim.results import RunResult
from diffusion_sim.scenario.schema import Scenario

__all__ = ["OUTPUT_FILES", "run", "write_frame", "write_result"]

OUTPUT_FILES = COMMAND_FILES["run"]
"""What ``diffusion-sim run`` writes into its output folder (defined once, with the writer's rules)."""


def run(
    scenario: Scenario,
    seed: int = 0,
    *,
    replicates: Sequence[int] = (0,),
    steps: int | None = None,
    agents: bool = True,
    on_step: Callable[[DiffusionModel], None] | None = None,
    on_start: Callable[[DiffusionModel], None] | None = None,
    community: Community | None = None,
) -> RunResult:
    """Run a scenario's replicates for its scheduled steps (or ``steps``): the one run path.

    Every command runs scenarios through this function (``run``, ``compare`` and, later,
    experiments and calibration), so a result never depends on which command made it. It is a pure
    function of its arguments: the same scenario, seed and replicates give the same numbers.

    Args:
        scenario: a validated scenario.
        seed: master seed.
        replicates: replicate indices, run side by side as one block.
        steps: number of steps (default ``scenario.schedule.steps``); fewer when ``schedule.until`` is
            ``quiescent`` and nothing can change any more.
        agents: keep the per-agent frame (``RunResult.agents``); without it a result holds only the
            per-step counts, whose size does not grow with the community.
        on_step: called with the model after each step (progress bars, animation frames); it may read the
            model's state (``model.steps``, ``model.adopted``, ...) but must not change it.
        on_start: called with the model once it is built, before the first step (its initial state).
        community: the scenario's community, already built (experiments reuse one across design points
            that share it); default: built from the scenario and seed.

    """
    if scenario.network.per_replicate:  # a network of its own for each replicate: one block per replicate
        from diffusion_sim.community import replicate_community

        base = community if community is not None else build_community(scenario, seed)
        parts = [
            run(
                scenario.model_copy(update={"network": scenario.network.model_copy(update={"per_replicate": False})}),
                seed, replicates=[r], steps=steps, agents=agents, on_step=on_step, on_start=on_start,
                community=replicate_community(scenario, base, seed, r),
            )
            for r in replicates
        ]  # fmt: skip
        return RunResult.concat(parts, scenario)
    model = DiffusionModel(scenario, seed, replicates=replicates, create_agents=False, community=community)
    n = scenario.schedule.steps if steps is None else steps
    if on_start is not None:
        on_start(model)
    for _ in range(n):
        if not model.running and scenario.schedule.until == "quiescent":
            break  # nothing can change any more
        model.step()
        if on_step is not None:
            on_step(model)
    result = model.result(agents=agents)
    model.release()  # its memory is free now, not at the next garbage collection (see DiffusionModel.release)
    return result


def write_frame(frame: pd.DataFrame, parquet_path: Path | None, csv_path: Path | None) -> None:
    """Write a frame as Parquet and/or CSV through Arrow.

    Arrow is fast at millions of rows; categoricals stay dictionary-encoded in Parquet and become
    plain text in CSV.
    """
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if parquet_path is not None:
        pq.write_table(table, parquet_path)
    if csv_path is not None:
        columns = [pc.cast(c, pa.string()) if pa.types.is_dictionary(c.type) else c for c in table.columns]
        pacsv.write_csv(pa.table(columns, names=table.column_names), csv_path)


def write_result(result: RunResult, out_dir: str | Path, *, figure: bool = True) -> list[Path]:
    """Write a result's files into ``out_dir``: all of them, or (on any failure) none.

    ``out_dir`` may be new, empty, or an earlier ``run``'s output (see :func:`diffusion_sim.atomic.atomic_folder`).
    """

    def fill(tmp: Path) -> None:
        for name, frame in (("steps", result.steps), ("agents", result.agents)):
            write_frame(frame, tmp / f"{name}.parquet", tmp / f"{name}.csv")
        (tmp / "provenance.json").write_text(result.to_json() + "\n", encoding="utf-8")
        if figure:
            from diffusion_sim.report.figures import adoption_by_role_figure

            adoption_by_role_figure(result).savefig(tmp / "adoption_by_role.png")

    with atomic_folder(out_dir, command="run", managed=OUTPUT_FILES) as tmp:
        fill(tmp)
    out = Path(out_dir)
    return [out / f for f in OUTPUT_FILES if (out / f).exists()]
