"""The names of the backends runs can go to (``--backend``), apart: building the command line imports nothing heavy.

:func:`diffusion_sim.experiment.cluster.backend` starts them; ``experiment run`` and ``calibrate`` offer them.
"""

from __future__ import annotations

__all__ = ["BACKENDS"]

BACKENDS: tuple[str, ...] = ("serial", "loky", "dask")
"""Backends :func:`diffusion_sim.experiment.cluster.backend` knows."""
