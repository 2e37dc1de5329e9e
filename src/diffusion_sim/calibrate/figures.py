"""The fit plot: observed adoption against the posterior predictive band, overall and per village.

:func:`posterior_predictive` resamples ``draws`` particles of the posterior by weight (a numpy
Generator seeded with ``seed``) and simulates each with the seed ``stream_key(seed, draw,
"calibrate.predictive")``, so the same posterior and seed give the same band. :func:`predictive_table`
summarises the curves (median and 5-95% band per step, pooled over villages weighted by households
and per village), and :func:`fit_figure` draws it (matplotlib's object API, no pyplot state).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from diffusion_sim.calibrate.data import Observed
from diffusion_sim.rng import stream_key

__all__ = ["MAX_PANELS", "fit_figure", "posterior_predictive", "predictive_table"]

MAX_PANELS = 25
"""Village panels drawn at most (the first villages in the data's order)."""


def posterior_predictive(posterior: pd.DataFrame, sim, draws: int = 40, seed: int = 0) -> np.ndarray:
    """(draws, steps, villages) curves simulated at ``draws`` particles resampled by weight."""
    labels = [c[2:] for c in posterior.columns if c.startswith("u.")]
    units = posterior[[f"u.{x}" for x in labels]].to_numpy(float)
    w = posterior["weight"].to_numpy(float)
    rng = np.random.default_rng(stream_key(seed, 0, "calibrate.predictive.resample"))
    picks = rng.choice(len(posterior), size=draws, replace=True, p=w / w.sum())
    return np.stack([sim(units[i], stream_key(seed, d, "calibrate.predictive")) for d, i in enumerate(picks)])


def predictive_table(observed: Observed, curves: np.ndarray) -> pd.DataFrame:
    """Per step, for ``all`` (household-weighted) and each village: median, low (5%), high (95%), observed."""
    sizes = np.asarray(observed.sizes, float)
    pooled = curves @ sizes / sizes.sum()
    obs_pooled = np.asarray(observed.curves, float) @ sizes / sizes.sum()
    series = [("all", pooled, obs_pooled)] + [
        (str(v), curves[:, :, j], observed.curves[:, j]) for j, v in enumerate(observed.villages)
    ]
    frames = []
    for name, sims, obs in series:
        low, med, high = np.quantile(sims, [0.05, 0.5, 0.95], axis=0)
        frames.append(
            pd.DataFrame(
                {"step": observed.steps, "village": name, "median": med, "low": low, "high": high, "observed": obs}
            )
        )
    return pd.concat(frames, ignore_index=True)


def _panel(ax, part: pd.DataFrame, title: str, small: bool) -> None:
    ax.fill_between(part["step"], part["low"], part["high"], color="tab:blue", alpha=0.25, lw=0, label="5-95%")
    ax.plot(part["step"], part["median"], color="tab:blue", lw=1.2 if small else 2, label="predictive median")
    ax.plot(part["step"], part["observed"], "o", color="black", ms=2.5 if small else 4, label="observed")
    ax.set_title(title, fontsize=8 if small else 11)
    ax.set_ylim(0, min(1.02, max(0.05, float(part[["high", "observed"]].to_numpy().max()) * 1.08)))
    if small:
        ax.tick_params(labelsize=6)


def fit_figure(observed: Observed, table: pd.DataFrame) -> Figure:
    """Overall (household-weighted) fit on top, then one small panel per village (up to :data:`MAX_PANELS`)."""
    villages = [str(v) for v in observed.villages][:MAX_PANELS]
    cols = min(5, max(1, len(villages)))
    rows = math.ceil(len(villages) / cols)
    fig = Figure(figsize=(10, 4 + 1.8 * rows), dpi=100, layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[4, 1.8 * rows])
    ax = top.subplots()
    _panel(ax, table[table["village"] == "all"], "All villages (weighted by households)", small=False)
    ax.set_xlabel("step")
    ax.set_ylabel("cumulative share of households adopted")
    ax.legend(loc="upper left", fontsize=9)
    axes = bottom.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
    for a, v in zip(axes, villages, strict=False):
        _panel(a, table[table["village"] == v], f"village {v}", small=True)
    top_y = max(a.get_ylim()[1] for a in axes[: len(villages)])
    axes[0].set_ylim(0, top_y)  # shared: every village on one scale
    bottom.supxlabel("step", fontsize=9)
    for a in axes[len(villages) :]:
        a.set_visible(False)
    more = len(observed.villages) - len(villages)
    if more > 0:
        bottom.suptitle(f"first {len(villages)} of {len(observed.villages)} villages", fontsize=9)
    return fig
