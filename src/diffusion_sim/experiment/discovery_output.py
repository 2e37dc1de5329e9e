"""The files of scenario discovery: the folder's name, the CSV tables and the atomic write of them all.

:func:`write_files` writes a :class:`~diffusion_sim.experiment.discovery_results.Discovery` into a folder
(:data:`DISCOVERY_FILES`); :func:`diffusion_sim.experiment.discover.write_discovery` runs the discovery
and calls it.
"""

from __future__ import annotations

import os

import pandas as pd

from diffusion_sim.atomic import atomic_folder
from diffusion_sim.experiment.discovery_figures import box_figure, trajectory_figure
from diffusion_sim.experiment.discovery_results import Discovery

__all__ = ["DISCOVERY_FILES", "discovery_folder_name", "write_files"]

DISCOVERY_FILES = ("summary.txt", "trajectory.csv", "box.csv", "cases.csv", "trajectory.png", "box.png")
"""Files :func:`~diffusion_sim.experiment.discover.write_discovery` writes into its folder."""

_CATEGORY_SEPARATOR = "; "


def discovery_folder_name(
    outcome: str, *, below: float | None = None, above: float | None = None, by: str = "mean"
) -> str:
    """The folder name of a question: ``final_coverage-below-0.8`` (``-any_replicate`` added for that view)."""
    direction, threshold = ("below", below) if below is not None else ("above", above)
    name = f"{outcome}-{direction}-{float(threshold):g}"  # type: ignore[arg-type]
    return name if by == "mean" else f"{name}-{by}"


def _box_table(d: Discovery) -> pd.DataFrame:
    """``box.csv``: one row per restricted parameter of each chosen box."""
    frames = []
    for box in d.boxes:
        t = box.limits.copy()
        for col in ("categories", "full_categories"):
            t[col] = [_CATEGORY_SEPARATOR.join(c) if isinstance(c, list) else "" for c in t[col]]
        t.insert(0, "box", box.number)
        t.insert(1, "step", box.step)
        frames.append(t)
    return pd.concat(frames, ignore_index=True)


def _trajectory_table(d: Discovery) -> pd.DataFrame:
    """``trajectory.csv``: every step of every box, the chosen ones marked."""
    frames = []
    for box in d.boxes:
        t = box.trajectory.copy()
        t.insert(0, "box", box.number)
        t["chosen"] = t["step"] == box.step
        frames.append(t)
    return pd.concat(frames, ignore_index=True)


def write_files(d: Discovery, out_dir: str | os.PathLike[str]) -> None:
    """Write a discovery's files (:data:`DISCOVERY_FILES`) into ``out_dir``, atomically: all of them or none.

    ``summary.txt`` is :meth:`Discovery.summary`; ``trajectory.csv`` every step of each box's peeling
    trajectory, the chosen ones marked; ``box.csv`` the chosen boxes' restricted parameters (min/max, or
    the kept categories separated by ``"; "``) with quasi-p-values; ``cases.csv`` every design point
    analysed (:attr:`Discovery.cases`); ``trajectory.png`` and ``box.png`` the figures.
    """
    summary = d.summary()
    with atomic_folder(out_dir, command="discover", managed=DISCOVERY_FILES) as tmp:
        (tmp / "summary.txt").write_text(summary + "\n", encoding="utf-8")
        _trajectory_table(d).to_csv(tmp / "trajectory.csv", index=False)
        _box_table(d).to_csv(tmp / "box.csv", index=False)
        d.cases.to_csv(tmp / "cases.csv", index=False)
        for name, fig in (("trajectory.png", trajectory_figure(d)), ("box.png", box_figure(d))):
            fig.savefig(tmp / name, dpi=100, metadata={"Software": None})
