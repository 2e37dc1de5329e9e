"""Figures and reports."""

from diffusion_sim.report.figures import adoption_by_role_figure

__all__ = ["adoption_by_role_figure"]
