"""Where a result came from: seed, replicates, scenario and its hash, versions and the git commit."""

from __future__ import annotations

import functools
import platform
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from diffusion_sim.model import DiffusionModel

__all__ = ["git_commit", "provenance"]


@functools.cache
def git_commit() -> str | None:
    """The source tree's git commit (``-dirty`` if modified), looked up once per process."""
    try:
        here = Path(__file__).resolve().parent
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=here, capture_output=True, text=True, timeout=5
        )
        if top.returncode != 0 or Path(top.stdout.strip()) / "src" / "diffusion_sim" != here:
            return None  # installed outside this project's own checkout: no commit to report
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if out.returncode == 0:
            dirty = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=here,
                capture_output=True,
                text=True,
                timeout=5,
            )
            return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def provenance(model: DiffusionModel) -> dict[str, Any]:
    """Where a result came from: seed, replicates, scenario and its hash, versions, git commit."""
    import mesa
    import scipy

    from diffusion_sim import __version__

    return {
        "scenario_name": model.params.name,
        "scenario_digest": model.params.digest(),
        "seed": model.seed,
        "replicates": list(model.streams.replicates),
        "steps": int(model.steps),
        "agents": int(model.n),
        "package_version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "mesa": mesa.__version__,
        "scenario": model.params.model_dump(mode="json"),
    }
