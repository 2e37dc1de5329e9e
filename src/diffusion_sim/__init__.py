"""diffusion-sim: agent-based simulation of how behaviours spread through community networks."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("diffusion-sim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from diffusion_sim.community import Community, build_community
from diffusion_sim.model import DiffusionModel
from diffusion_sim.results import RunResult
from diffusion_sim.scenario import Scenario, apply_overrides, load_scenario

__all__ = [
    "Community",
    "DiffusionModel",
    "RunResult",
    "Scenario",
    "__version__",
    "apply_overrides",
    "build_community",
    "load_scenario",
]
