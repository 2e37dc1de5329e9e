"""The predictive check on held-out villages: fit on some villages, predict the others (issue #13, items 2 and 4).

**Which villages.** The calibration file's ``hold_out`` names them, or says how many to draw; by
default a fifth of the villages (rounded, at least one) when there are three or more, else none
(:func:`held_out_villages`). Drawn villages come from a numpy Generator seeded with
``stream_key(seed, 0, "calibrate.hold_out")``, so the same file and seed hold out the same villages.

**The check.** ``calibrate`` fits the parameters a second time, to the training villages only, and
simulates that posterior's predictive curves for the held-out villages
(:func:`diffusion_sim.calibrate.figures.posterior_predictive`). For each held-out village,
:func:`held_out_table` reports the RMS difference between the observed coverage and the predictive
median, the same for the Bass baseline (:func:`diffusion_sim.calibrate.bass.held_out_errors`: median
p and q of the training villages' Bass fits, market = the village's households), and the share of
observed points inside the 90% predictive band (about 0.9 when the model and its uncertainty are
right; much less: the model is overconfident or wrong for that village).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from diffusion_sim.calibrate.bass import BassParams, bass_curve, held_out_errors
from diffusion_sim.calibrate.data import Observed
from diffusion_sim.errors import UserError
from diffusion_sim.rng import stream_key

__all__ = ["HeldOut", "default_hold_out", "held_out_figure", "held_out_table", "held_out_villages"]


@dataclass(frozen=True, eq=False)
class HeldOut:
    """A finished held-out check: the villages, the training fit, the predictive curves and their errors."""

    test: list[str]
    train: list[str]
    posterior: pd.DataFrame
    curves: np.ndarray
    table: pd.DataFrame

    def figure(self, observed: Observed) -> Figure:
        """The held-out villages' panels (:func:`held_out_figure`)."""
        return held_out_figure(observed, self.test, self.curves, self.table.attrs["p"], self.table.attrs["q"])

    def provenance(self) -> dict[str, Any]:
        """What provenance.json records of the check."""
        total = self.table.iloc[-1]
        return {
            "villages": self.test,
            "training_villages": len(self.train),
            "training_fit": {
                "generations": self.posterior.attrs.get("generations"),
                "epsilon": self.posterior.attrs.get("epsilon"),
                "simulations": self.posterior.attrs.get("simulations"),
            },
            "predictive_draws": int(self.curves.shape[0]),
            "bass_p": self.table.attrs["p"],
            "bass_q": self.table.attrs["q"],
            "model_rms": float(total["model_rms"]),
            "bass_rms": float(total["bass_rms"]),
            "inside_90": float(total["inside_90"]),
        }


def default_hold_out(n_villages: int) -> int:
    """Villages held out by default: a fifth (rounded, at least one) with 3 or more villages, else none."""
    return max(1, round(n_villages / 5)) if n_villages >= 3 else 0


def held_out_villages(observed: Observed, hold_out: int | list[str] | None, seed: int, source: str) -> list[str]:
    """The held-out villages, in the data's order (empty: no check).

    Raises:
        UserError: a named village not in the data, or nothing left to fit on.

    """
    names = list(observed.villages)
    if isinstance(hold_out, list):
        unknown = [v for v in hold_out if v not in names]
        if unknown:
            raise UserError(
                f"village(s) {', '.join(unknown[:5])} are not in the observed data (its villages: "
                f"{', '.join(names[:10])}{', ...' if len(names) > 10 else ''})",
                source=source,
                field="hold_out",
            )
        chosen = set(hold_out)
    else:
        k = default_hold_out(len(names)) if hold_out is None else int(hold_out)
        if k == 0:
            return []
        if k >= len(names):
            raise UserError(
                f"holding out {k} of {len(names)} villages leaves none to fit on; expected at most {len(names) - 1}",
                source=source,
                field="hold_out",
            )
        rng = np.random.default_rng(stream_key(seed, 0, "calibrate.hold_out"))
        chosen = {names[i] for i in rng.choice(len(names), size=k, replace=False)}
    if len(chosen) >= len(names):
        raise UserError("every village is held out: none is left to fit on", source=source, field="hold_out")
    return [v for v in names if v in chosen]


def held_out_table(
    observed: Observed, test: list[str], curves: np.ndarray, bass: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per held-out village: households, model and Bass RMS error, which is better, and the band's coverage.

    Args:
        observed: every village's observations.
        test: the held-out villages.
        curves: (draws, steps, len(test)) predictive curves of the held-out villages, simulated at
            particles of the posterior fitted to the other villages.
        bass: every village's Bass fits (:func:`~diffusion_sim.calibrate.bass.bass_by_village`), if made.

    Returns:
        One row per held-out village (``village``, ``households``, ``model_rms``, ``bass_rms``,
        ``model_better``, ``inside_90``: share of observed steps inside the 5-95% predictive band),
        then a row ``all`` (households summed, errors and shares averaged over villages weighted by
        households). ``attrs``: the Bass ``p`` and ``q`` used.

    """
    train = [v for v in observed.villages if v not in test]
    median = np.median(curves, axis=0)
    low, high = np.quantile(curves, [0.05, 0.95], axis=0)
    errors = held_out_errors(observed, train, test, median, fits=bass)
    obs = observed.subset(test).curves
    inside = ((obs >= low - 1e-12) & (obs <= high + 1e-12)).mean(axis=0)
    table = errors[["village", "households", "model_rms", "bass_rms", "model_better"]].copy()
    table["inside_90"] = inside
    w = table["households"].to_numpy(float)
    w = w / w.sum() if w.sum() > 0 else np.full(len(w), 1 / len(w))
    total = {
        "village": "all",
        "households": int(table["households"].sum()),
        "model_rms": float(w @ table["model_rms"]),
        "bass_rms": float(w @ table["bass_rms"]),
        "inside_90": float(w @ table["inside_90"]),
    }
    total["model_better"] = total["model_rms"] < total["bass_rms"]
    out = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    out.attrs.update(p=errors.attrs["p"], q=errors.attrs["q"])
    return out


def held_out_figure(observed: Observed, test: list[str], curves: np.ndarray, p: float, q: float) -> Figure:
    """One panel per held-out village: observed points, the model's 90% band and median, the Bass prediction."""
    cols = min(4, len(test))
    rows = -(-len(test) // cols)
    fig = Figure(figsize=(max(6.5, 2.6 * cols + 1), 2.3 * rows + 0.8), dpi=100, layout="constrained")
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
    sub = observed.subset(test)
    low, med, high = np.quantile(curves, [0.05, 0.5, 0.95], axis=0)
    for j, (ax, v) in enumerate(zip(axes, test, strict=False)):
        size = float(sub.sizes[j])
        bass = BassParams(p=p, q=q, m=size, n0=float(sub.curves[0, j]) * size, t0=float(sub.steps[0]))
        ax.fill_between(sub.steps, low[:, j], high[:, j], color="tab:blue", alpha=0.25, lw=0, label="model 5-95%")
        ax.plot(sub.steps, med[:, j], color="tab:blue", lw=1.5, label="model median")
        ax.plot(sub.steps, bass_curve(bass, sub.steps) / max(size, 1.0), color="tab:orange", ls="--", lw=1.5,
                label="Bass (training p, q)")  # fmt: skip
        ax.plot(sub.steps, sub.curves[:, j], "o", color="black", ms=3, label="observed")
        ax.set_title(f"village {v}", fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[len(test) :]:
        ax.set_visible(False)
    axes[0].set_ylim(0, min(1.02, max(0.05, float(max(high.max(), sub.curves.max())) * 1.08)))
    axes[0].legend(fontsize=7, loc="upper left")
    fig.supxlabel("step", fontsize=9)
    fig.supylabel("share of households adopted", fontsize=9)
    fig.suptitle("Held-out villages: predicted from the fit to the other villages", fontsize=10)
    return fig
