"""Matplotlib figures, drawn on Figure objects (no pyplot global state, no display needed)."""

from __future__ import annotations

from matplotlib.figure import Figure

from diffusion_sim.results import RunResult

__all__ = ["adoption_by_role_figure"]

_ROLE_GROUPS = [
    ("all", "everyone", "black"),
    ("role=household", "households", "tab:blue"),
    ("marginalised=yes", "marginalised households", "tab:purple"),
    ("role=leader", "leaders", "tab:orange"),
    ("role=health_worker", "health workers", "tab:green"),
]


def adoption_by_role_figure(result: RunResult, title: str | None = None) -> Figure:
    """Coverage over time by role (mean over replicates, with min-max band when R > 1)."""
    df = result.steps
    cov = df[df["metric"] == "coverage"]
    days = float(result.provenance.get("scenario", {}).get("schedule", {}).get("days_per_step", 7.0))
    fig = Figure(figsize=(8, 4.5), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    for group, label, colour in _ROLE_GROUPS:
        g = cov[cov["group"] == group]
        if g.empty or g["value"].isna().all():
            continue
        by_step = g.groupby("step")["value"]
        mean = by_step.mean()
        ax.plot(mean.index, mean.to_numpy() * 100, label=label, color=colour, lw=2 if group == "all" else 1.4)
        if g["replicate"].nunique() > 1:
            ax.fill_between(mean.index, by_step.min() * 100, by_step.max() * 100, color=colour, alpha=0.15, lw=0)
    ax.set_xlabel(f"step ({days:g} days each)")
    ax.set_ylabel("coverage (% who practise the behaviour)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", frameon=False)
    name = result.provenance.get("scenario_name", "")
    ax.set_title(title or f"Adoption by role: {name} (seed {result.provenance.get('seed')})")
    fig.tight_layout()
    return fig
