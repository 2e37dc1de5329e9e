"""The result store of an experiment: a folder of Parquet shards and a manifest, each written atomically.

Layout (``docs/experiments.md`` describes every column)::

    DIR/manifest.json         what was run: experiment text and hash, design, seeds, versions, git commit
    DIR/design.parquet        one row per design point: values as run and SALib's unit samples (u.<name>)
    DIR/results/chunk-NNNNN.parquet   one row per (point, replicate): the outcomes kept
    DIR/series/chunk-NNNNN.parquet    per-step metrics (only when the experiment keeps series)

A chunk is the unit of work and of writing (about ``runs_per_shard`` runs). A shard exists only
once it is complete (it is written to a temporary name and renamed), so the chunks still to run
after an interruption are exactly those without a shard. Pandas and DuckDB read a folder of
shards directly: ``pd.read_parquet("DIR/results")``, ``read_parquet('DIR/results/*.parquet')``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from diffusion_sim.atomic import MARKER, atomic_file, atomic_folder, check_output_folder
from diffusion_sim.errors import UserError

__all__ = ["STORE_FILES", "Store"]

STORE_FILES = ("manifest.json", "design.parquet", "results", "series")
_CHUNK = re.compile(r"^chunk-(\d{5,})\.parquet$")


class Store:
    """An experiment's result folder."""

    def __init__(self, folder: str | Path, option: str = "--out"):
        self.folder = Path(folder)
        self.option = option

    # ------------------------------------------------------------------ creating and resuming
    def exists(self) -> bool:
        """Whether the folder holds an experiment's manifest."""
        return (self.folder / "manifest.json").is_file()

    def check_writable(self) -> None:
        """Refuse, before any work, a folder that holds another command's output or other files."""
        check_output_folder(self.folder, command="experiment", managed=STORE_FILES, option=self.option)

    def create(self, manifest: dict[str, Any], design: pd.DataFrame) -> None:
        """Write the manifest and design into a new folder, all at once (the shards come later)."""
        with atomic_folder(self.folder, command="experiment", managed=STORE_FILES, option=self.option) as tmp:
            design.to_parquet(tmp / "design.parquet", index=False)
            (tmp / "results").mkdir()
            if manifest.get("series"):
                (tmp / "series").mkdir()
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str) + "\n", encoding="utf-8")

    def manifest(self) -> dict[str, Any]:
        """The manifest (a UserError if the folder holds no readable one)."""
        try:
            return json.loads((self.folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise UserError(
                f"no readable experiment manifest ({err}); expected a folder made by 'diffusion-sim experiment run'",
                source=str(self.folder),
            ) from None

    def design(self) -> pd.DataFrame:
        """The design points."""
        return pd.read_parquet(self.folder / "design.parquet")

    def done_chunks(self) -> set[int]:
        """The chunks whose results shard is complete."""
        folder = self.folder / "results"
        if not folder.is_dir():
            return set()
        return {int(m.group(1)) for p in folder.iterdir() if (m := _CHUNK.match(p.name))}

    # ------------------------------------------------------------------ writing and reading
    def write_chunk(self, chunk: int, results: pd.DataFrame, series: pd.DataFrame | None = None) -> None:
        """Write one chunk's shards: the series first, then the results (whose presence marks the chunk done)."""
        name = f"chunk-{chunk:05d}.parquet"
        if series is not None:
            with atomic_file(self.folder / "series" / name, option=self.option) as tmp:
                series.to_parquet(tmp, index=False)
        with atomic_file(self.folder / "results" / name, option=self.option) as tmp:
            results.to_parquet(tmp, index=False)

    def results(self) -> pd.DataFrame:
        """Every result row, sorted by point and replicate."""
        files = sorted((self.folder / "results").glob("chunk-*.parquet"))
        if not files:
            raise UserError("the experiment has no results yet", source=str(self.folder))
        frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        return frame.sort_values(["point", "replicate"], ignore_index=True)

    def series(self) -> pd.DataFrame:
        """Every per-step row (empty if the experiment keeps no series)."""
        files = sorted((self.folder / "series").glob("chunk-*.parquet")) if (self.folder / "series").is_dir() else []
        if not files:
            return pd.DataFrame(columns=["point", "replicate", "step", "metric", "value"])
        frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        return frame.sort_values(["point", "replicate", "metric", "step"], ignore_index=True)

    def start_afresh(self) -> None:
        """Remove this experiment's files (only those the store wrote) so it can be run again from nothing."""
        import shutil

        for name in (*STORE_FILES, MARKER):
            target = self.folder / name
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
