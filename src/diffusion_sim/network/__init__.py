"""Layered community networks: generated builders and importers."""

from diffusion_sim.network.build import build_network
from diffusion_sim.network.graph import EdgeList, LayeredNetwork, influence_matrix

__all__ = ["EdgeList", "LayeredNetwork", "build_network", "influence_matrix"]
