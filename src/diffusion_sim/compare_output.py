"""What a comparison writes: its per-step counts streamed to Parquet, tables, scenario files, provenance, report.

Every file goes through the one atomic writer (:mod:`diffusion_sim.atomic`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from diffusion_sim.atomic import COMMAND_FILES

if TYPE_CHECKING:
    from diffusion_sim.compare import Comparison
    from diffusion_sim.results import RunResult

__all__ = ["COMPARE_FILES", "StepsWriter", "read_texts", "write_comparison", "write_comparison_files"]


def read_texts(paths: list[str | Path]) -> list[str]:
    """The text of each scenario file (for the report's appendix)."""
    return [Path(p).read_text(encoding="utf-8") for p in paths]


COMPARE_FILES = COMMAND_FILES["compare"]
"""What ``diffusion-sim compare`` writes into its output folder (defined once, with the writer's rules)."""


class StepsWriter:
    """Appends per-step frames of several runs to one Parquet file as they are made (memory stays flat).

    Rows get a leading ``scenario`` column; string columns are dictionary-encoded with 32-bit
    indices in every row group, so runs with different groups share one schema.
    """

    REPLICATES_PER_GROUP = 4
    """Replicates converted and written at a time (a Parquet row group each): bounds the memory used."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._writer = None

    def add(self, scenario: str, result: RunResult) -> None:
        """Append one result's per-step counts (villages included), a few replicates at a time."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        counts = result.counts
        R = len(counts.replicates)
        text = pa.dictionary(pa.int32(), pa.string())
        for start in range(0, R, self.REPLICATES_PER_GROUP):
            frame = counts.replicate_block(start, min(R, start + self.REPLICATES_PER_GROUP)).to_frame()
            frame.insert(0, "scenario", pd.Categorical([scenario] * len(frame)))
            table = pa.Table.from_pandas(frame, preserve_index=False)
            del frame
            table = pa.table(
                [c.cast(text) if pa.types.is_dictionary(c.type) else c for c in table.columns],
                names=table.column_names,
            )
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.path, table.schema)
            self._writer.write_table(table)

    def close(self) -> None:
        """Finish the file (an empty comparison writes none)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def write_comparison(comp: Comparison, out_dir: str | Path) -> Path:
    """Write a comparison's report, tables (CSV and Parquet) and scenario files into ``out_dir``: all or nothing.

    ``steps.parquet`` holds the per-step counts the comparison kept (without villages); the command
    line streams every run's full counts instead (:class:`StepsWriter`).
    """
    from diffusion_sim.atomic import atomic_folder
    from diffusion_sim.runner import write_frame

    with atomic_folder(out_dir, command="compare", managed=COMPARE_FILES) as tmp:
        write_frame(comp.steps(), tmp / "steps.parquet", None)
        write_comparison_files(comp, tmp)
    return Path(out_dir)


def write_comparison_files(comp: Comparison, folder: Path) -> None:
    """Write the tables, scenario files, provenance and report of a comparison into an existing folder."""
    import json

    from diffusion_sim.runner import write_frame
    from diffusion_sim.scenario.yaml_source import to_yaml

    write_frame(comp.outcomes, folder / "outcomes.parquet", folder / "outcomes.csv")
    write_frame(comp.differences, folder / "differences.parquet", folder / "differences.csv")
    write_frame(comp.cost_effectiveness, folder / "cost_effectiveness.parquet", folder / "cost_effectiveness.csv")
    scen = folder / "scenarios"
    scen.mkdir()
    for k, (sc, text) in enumerate(zip(comp.scenarios, comp.texts, strict=True)):
        body = text or to_yaml(sc)
        (scen / f"{k:02d}-{_slug(sc.name)}.yaml").write_text(body, encoding="utf-8")
    p = comp.precision
    prov = {
        "command": "compare",
        "seed": comp.seed,
        "replicates": comp.replicates,
        "baseline": comp.baseline,
        "read_step": comp.clock.step,
        "read_step_reason": comp.clock.reason or None,
        "precision": None
        if p is None
        else {k: getattr(p, k) for k in ("outcome", "half_width", "cap", "met")}
        | {"achieved": None if not math.isfinite(p.achieved) else p.achieved},
        "warnings": comp.warnings,
        "posterior": comp.posterior,
        "scenarios": [
            {"name": s.name, "source": src, "digest": s.digest()}
            for s, src in zip(comp.scenarios, comp.sources, strict=True)
        ],
        "runs": {name: res.provenance for name, res in comp.results.items()},
    }
    (folder / "provenance.json").write_text(json.dumps(prov, indent=2, sort_keys=True, default=str) + "\n")
    from diffusion_sim.report.html import write_report

    write_report(comp, folder)


def _slug(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.lower())
    return keep.strip("-") or "scenario"
