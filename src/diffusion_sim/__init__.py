"""diffusion-sim: agent-based simulation of how behaviours spread through community networks.

The names below are imported on first use, so that ``diffusion-sim`` (whose module lives in this
package) starts handling Ctrl-C and bad arguments before numpy, numba and Mesa are loaded.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("diffusion-sim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

_EXPORTS = {
    "Community": "diffusion_sim.community",
    "DiffusionModel": "diffusion_sim.model",
    "RunResult": "diffusion_sim.results",
    "Scenario": "diffusion_sim.scenario",
    "apply_overrides": "diffusion_sim.scenario",
    "build_community": "diffusion_sim.community",
    "load_scenario": "diffusion_sim.scenario",
}

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


def __getattr__(name: str):
    """Import an exported name on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'diffusion_sim' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
