"""Figures and reports."""

from diffusion_sim.report.figures import (
    adoption_by_role_figure,
    adoption_curves_figure,
    channel_figure,
    cost_figure,
    equity_figure,
)
from diffusion_sim.report.html import render_report, write_report

__all__ = [
    "adoption_by_role_figure",
    "adoption_curves_figure",
    "channel_figure",
    "cost_figure",
    "equity_figure",
    "render_report",
    "write_report",
]
