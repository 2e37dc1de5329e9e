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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from diffusion_sim.atomic import MARKER, atomic_file, atomic_folder, check_output_folder
from diffusion_sim.errors import UserError
from diffusion_sim.experiment.spec import DESIGN_METHODS

__all__ = ["METHODS", "STORE_FILES", "Store", "StoreData", "load_store"]

METHODS = DESIGN_METHODS
"""Design methods a store may hold (the ``method`` of its manifest): those of experiment files."""

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
        """Every result row, sorted by point and replicate (read and checked by :func:`load_store`)."""
        data = load_store(self.folder)
        if not data.present.any():
            raise UserError("the experiment has no results yet", source=str(self.folder))
        return data.frame()

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


@dataclass(frozen=True)
class StoreData:
    """A result store as read: its manifest, design and runs as one array per outcome.

    ``runs[outcome]`` has shape ``(n_points, replicates)``, row ``point`` and column ``replicate``;
    a run not in the store (yet) is NaN there, and ``present`` says which runs are.
    """

    path: Path
    manifest: dict
    design: pd.DataFrame
    runs: dict[str, np.ndarray]
    present: np.ndarray

    @property
    def method(self) -> str:
        """The design method (one of :data:`METHODS`)."""
        return self.manifest["method"]

    @property
    def parameters(self) -> list[str]:
        """Parameter names in design order."""
        return [p["name"] for p in self.manifest["parameters"]]

    @property
    def outcomes(self) -> list[str]:
        """Outcome names in the manifest's order."""
        return list(self.manifest["outcomes"])

    @property
    def replicates(self) -> int:
        """Replicates per design point, R."""
        return int(self.manifest["replicates"])

    @property
    def n_points(self) -> int:
        """Number of design points."""
        return int(self.manifest["n_points"])

    @property
    def options(self) -> dict:
        """The design options (``n``, ``levels``, ``second_order``, ``M``, ...)."""
        return dict(self.manifest.get("design") or {})

    def unit_sample(self) -> np.ndarray:
        """The unit-space sample SALib produced: the ``u.`` columns in parameter order, one row per point."""
        return self.design[[f"u.{name}" for name in self.parameters]].to_numpy(dtype=np.float64)

    def problem(self) -> dict:
        """A fresh copy of the SALib problem in unit space (SALib may add keys to the one it is given)."""
        problem = self.manifest.get("problem") or {}
        return {
            "num_vars": len(self.parameters),
            "names": list(self.parameters),
            "bounds": [list(b) for b in problem.get("bounds", [[0.0, 1.0]] * len(self.parameters))],
        }

    def point_means(self, outcome: str) -> np.ndarray:
        """Mean over replicates per point; NaN where a replicate is NaN or missing."""
        return self.runs[outcome].mean(axis=1)

    def frame(self, outcomes: Sequence[str] | None = None) -> pd.DataFrame:
        """The runs in the store as rows ``point``, ``replicate``, outcomes, sorted (missing runs left out)."""
        point, replicate = np.nonzero(self.present)
        cols: dict[str, np.ndarray] = {"point": point.astype(np.int64), "replicate": replicate.astype(np.int64)}
        for o in outcomes if outcomes is not None else self.outcomes:
            cols[o] = self.runs[o][point, replicate]
        return pd.DataFrame(cols)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError("no manifest.json: not an experiment result store", source=str(path.parent)) from None
    except (OSError, ValueError) as err:
        raise UserError(f"cannot read the manifest ({err})", source=str(path)) from None
    if not isinstance(data, dict):
        raise UserError("expected a JSON object", source=str(path))
    return data


def _check_manifest(manifest: dict, where: str) -> None:
    for key in ("method", "parameters", "outcomes", "n_points", "replicates"):
        if key not in manifest:
            raise UserError(f"missing key {key!r}", source=where)
    if manifest["method"] not in METHODS:
        raise UserError(f"unknown method {manifest['method']!r}; expected one of {', '.join(METHODS)}", source=where)
    if int(manifest["replicates"]) < 1 or int(manifest["n_points"]) < 1:
        raise UserError("expected n_points >= 1 and replicates >= 1", source=where)
    names = [p.get("name") for p in manifest["parameters"]]
    problem = manifest.get("problem")
    if problem is not None and list(problem.get("names", names)) != names:
        raise UserError("problem.names differ from the parameters' names (or their order)", source=where)


def load_store(store_dir: str | Path) -> StoreData:
    """Read a result store; :class:`UserError` naming the file if it is not one or is inconsistent."""
    path = Path(store_dir)
    if not path.is_dir():
        raise UserError("no such folder; expected an experiment's result store", source=str(path))
    manifest = _read_json(path / "manifest.json")
    _check_manifest(manifest, str(path / "manifest.json"))
    names = [p["name"] for p in manifest["parameters"]]
    n_points, reps = int(manifest["n_points"]), int(manifest["replicates"])

    design_file = path / "design.parquet"
    try:
        design = pd.read_parquet(design_file)
    except (OSError, ValueError) as err:
        raise UserError(f"cannot read the design ({err})", source=str(design_file)) from None
    wanted = ["point", *names, *(f"u.{n}" for n in names)]
    missing = [c for c in wanted if c not in design.columns]
    if missing:
        raise UserError(f"missing columns {', '.join(missing)}", source=str(design_file))
    design = design.sort_values("point", kind="stable").reset_index(drop=True)
    if len(design) != n_points or not np.array_equal(design["point"].to_numpy(), np.arange(n_points)):
        raise UserError(f"expected points 0..{n_points - 1}, one row each", source=str(design_file))

    shards = sorted((path / "results").glob("chunk-*.parquet"))
    columns = ["point", "replicate", *manifest["outcomes"]]
    frames = []
    for shard in shards:
        try:
            frame = pd.read_parquet(shard)
        except (OSError, ValueError) as err:
            raise UserError(f"cannot read this shard ({err})", source=str(shard)) from None
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            raise UserError(f"missing columns {', '.join(absent)}", source=str(shard))
        frames.append(frame[columns])
    results = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    where = str(path / "results")
    point = results["point"].to_numpy(dtype=np.int64)
    replicate = results["replicate"].to_numpy(dtype=np.int64)
    if len(results) and (point.min() < 0 or point.max() >= n_points or replicate.min() < 0 or replicate.max() >= reps):
        raise UserError(f"a run outside points 0..{n_points - 1} or replicates 0..{reps - 1}", source=where)
    flat = point * reps + replicate
    if len(np.unique(flat)) != len(flat):
        raise UserError("more than one row for a (point, replicate)", source=where)
    present = np.zeros(n_points * reps, dtype=bool)
    present[flat] = True
    runs = {}
    for outcome in manifest["outcomes"]:
        values = np.full(n_points * reps, np.nan)
        values[flat] = results[outcome].to_numpy(dtype=np.float64)
        runs[outcome] = values.reshape(n_points, reps)
    return StoreData(path, manifest, design, runs, present.reshape(n_points, reps))
