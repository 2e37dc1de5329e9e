"""Run a scenario and write its results (atomically: all files or none)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from diffusion_sim.errors import UserError
from diffusion_sim.model import DiffusionModel
from diffusion_sim.results import RunResult
from diffusion_sim.scenario.schema import Scenario

__all__ = ["OUTPUT_FILES", "run", "write_frame", "write_result"]

OUTPUT_FILES = (
    "steps.parquet",
    "steps.csv",
    "agents.parquet",
    "agents.csv",
    "adoption_by_role.png",
    "provenance.json",
)


def run(
    scenario: Scenario,
    seed: int = 0,
    *,
    replicates: Sequence[int] = (0,),
    steps: int | None = None,
    agents: bool = True,
    on_step: Callable[[], None] | None = None,
) -> RunResult:
    """Run a scenario's replicates for its scheduled steps (or ``steps``): the one run path.

    Every command runs scenarios through this function (``run``, ``compare`` and, later,
    experiments and calibration), so a result never depends on which command made it. It is a pure
    function of its arguments: the same scenario, seed and replicates give the same numbers.

    Args:
        scenario: a validated scenario.
        seed: master seed.
        replicates: replicate indices, run side by side as one block.
        steps: number of steps (default ``scenario.schedule.steps``).
        agents: keep the per-agent frame (``RunResult.agents``); without it a result holds only the
            per-step counts, whose size does not grow with the community.
        on_step: called after each step (progress bars).

    """
    model = DiffusionModel(scenario, seed, replicates=replicates, create_agents=False)
    n = scenario.schedule.steps if steps is None else steps
    for _ in range(n):
        model.step()
        if on_step is not None:
            on_step()
    return model.result(agents=agents)


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
    """Write a result's files into ``out_dir``: all of them, or (on any failure) none."""

    def fill(tmp: Path) -> None:
        for name, frame in (("steps", result.steps), ("agents", result.agents)):
            write_frame(frame, tmp / f"{name}.parquet", tmp / f"{name}.csv")
        (tmp / "provenance.json").write_text(result.to_json() + "\n", encoding="utf-8")
        if figure:
            from diffusion_sim.report.figures import adoption_by_role_figure

            adoption_by_role_figure(result).savefig(tmp / "adoption_by_role.png")

    out = write_folder(out_dir, fill, OUTPUT_FILES)
    return [out / f for f in OUTPUT_FILES if (out / f).exists()]


def write_folder(out_dir: str | Path, fill, managed: tuple[str, ...]) -> Path:
    """Fill an output folder atomically: ``fill(tmp)`` writes into a temporary folder beside it.

    A new ``out_dir`` is that folder renamed (atomic). Into an existing one each entry is moved
    by an atomic rename, and the ``managed`` entries an earlier run wrote but this one did not are
    removed. On any error nothing is left behind.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError("exists and is not a folder", source=str(out), field="--out")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"cannot create folder ({err.strerror})", source=str(parent), field="--out") from None
    tmp: Path | None = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    try:
        fill(tmp)
        if not out.exists():
            umask = os.umask(0)
            os.umask(umask)
            tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; give it a normal folder's mode
            os.replace(tmp, out)
            tmp = None
        else:
            written = sorted(p.name for p in tmp.iterdir())
            for f in written:
                target = out / f
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                os.replace(tmp / f, target)
            for f in set(managed) - set(written):  # stale output of an earlier run
                stale = out / f
                if stale.is_dir():
                    shutil.rmtree(stale)
                else:
                    stale.unlink(missing_ok=True)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return out
