"""The baseline a calibrated model has to beat: a Bass diffusion curve per village (issue #13, item 4).

**The curve.** Bass (1969), "A new product growth for model consumer durables", *Management
Science* 15(5): 215-227: the share ``F`` of a market of size ``m`` that has adopted grows as
``dF/dt = (p + q F)(1 - F)``, with ``p`` the coefficient of innovation (external influence) and
``q`` of imitation (internal influence), both per step here. Its solution started at ``F(0) = f0``
is the continuous Bass cumulative curve, shifted in time::

    F(t) = (1 - A exp(-(p+q) t)) / (1 + (q/p) A exp(-(p+q) t)),   A = (1 - f0) / (1 + f0 q / p)

which for ``f0 = 0`` (``A = 1``) is Bass's ``F(t) = (1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t})``.
The cumulative adopters are ``N(t) = m F(t - t0)``, where ``t0`` is the first observed step and
``f0 = n0 / m`` with ``n0`` the adopters observed at it: a simulated village starts with its seeded
adopters, which the classic curve (``N(t0) = 0``) cannot reproduce. So three numbers are fitted,
``p``, ``q`` and ``m``; ``n0`` and ``t0`` are read from the data.

**The fit** (:func:`fit_bass`) is bounded least squares (``scipy.optimize.least_squares``, trust
region reflective) on the cumulative share of the village's population, with ``p`` in
:data:`P_BOUNDS`, ``q`` in :data:`Q_BOUNDS` and ``m`` between ``n0`` and the population, from a
fixed grid of starting points (:data:`STARTS`); the best one wins (the first on a tie). Nothing is
random, so the fit is the same on every run.

**Held-out villages** (:func:`held_out_errors`) have no data of their own to fit. Their Bass
prediction uses the **median p and the median q of the training villages' fits** (villages whose
p and q are not identified, see below, are left out of the medians), **m = the held-out village's
population** (its household count) and its own adopters at the first observed step as ``n0`` (an
input of a simulation as well: the seeded adopters). Both the Bass prediction and the given model
prediction are scored by the RMS difference from the observed coverage over every observed step.

**Degenerate villages**: when the cumulative count never rises after the first observed step (no
adopters at all, or everyone adopted at the start), p and q are not identified: :func:`fit_bass`
raises ``ValueError`` saying so, and :func:`bass_by_village` records the village with ``p`` and
``q`` as NaN, ``m`` = its final count and a note.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from diffusion_sim.calibrate.data import Observed

__all__ = ["BassFit", "BassParams", "bass_by_village", "bass_curve", "fit_bass", "held_out_errors"]

P_BOUNDS = (1e-6, 1.0)
"""Bounds of the coefficient of innovation p (per step)."""
Q_BOUNDS = (0.0, 5.0)
"""Bounds of the coefficient of imitation q (per step)."""
STARTS = tuple(itertools.product((0.001, 0.01, 0.05), (0.05, 0.2, 0.6), ("last", "all")))
"""Starting points (p, q, m): m starts at the last observed count or at the whole population."""


@dataclass(frozen=True)
class BassParams:
    """A Bass curve: ``p``, ``q``, market size ``m``, and ``n0`` adopters at step ``t0``."""

    p: float
    q: float
    m: float
    n0: float = 0.0
    t0: float = 0.0


@dataclass(frozen=True, eq=False)
class BassFit:
    """One village's fit: the parameters, the fitted curve at ``steps`` and the RMS residual (adopters)."""

    params: BassParams
    steps: np.ndarray
    fitted: np.ndarray
    rms: float

    @property
    def p(self) -> float:
        """The coefficient of innovation."""
        return self.params.p

    @property
    def q(self) -> float:
        """The coefficient of imitation."""
        return self.params.q

    @property
    def m(self) -> float:
        """The market size (adopters)."""
        return self.params.m


def _share(p: float, q: float, f0: float, t: np.ndarray) -> np.ndarray:
    """Bass cumulative share F(t) with F(0) = f0 (written with p multiplied through, for tiny p)."""
    a = p * (1.0 - f0) / (p + f0 * q)
    e = a * np.exp(-(p + q) * t)
    return p * (1.0 - e) / (p + q * e)


def bass_curve(params: BassParams | BassFit, steps: Sequence[float] | np.ndarray) -> np.ndarray:
    """Cumulative adopters ``m F(step - t0)`` of a Bass curve at ``steps`` (see the module docstring)."""
    b = params.params if isinstance(params, BassFit) else params
    t = np.asarray(steps, dtype=float) - b.t0
    if b.m <= 0:
        return np.zeros_like(t)
    return b.m * _share(b.p, b.q, min(b.n0 / b.m, 1.0), t)


def fit_bass(
    steps: Sequence[float] | np.ndarray, cumulative: Sequence[float] | np.ndarray, population: float
) -> BassFit:
    """Fit p, q and m of a Bass curve to one village's cumulative adopters (see the module docstring).

    Args:
        steps: the observed steps, increasing (at least three).
        cumulative: adopters by the end of each step (counts, not shares), between 0 and ``population``.
        population: the village's size: the upper bound of ``m``.

    Raises:
        ValueError: malformed input, or a curve that never rises after its first step (p and q are
            then not identified).

    """
    t = np.asarray(steps, dtype=float)
    y = np.asarray(cumulative, dtype=float)
    pop = float(population)
    if t.ndim != 1 or y.shape != t.shape:
        raise ValueError(f"steps and cumulative must be 1-D of one length; got shapes {t.shape} and {y.shape}")
    if len(t) < 3:
        raise ValueError(f"a Bass fit needs at least 3 observed steps; got {len(t)}")
    if not (np.all(np.isfinite(t)) and np.all(np.diff(t) > 0)):
        raise ValueError("steps must be finite and strictly increasing")
    if not (np.isfinite(pop) and pop > 0):
        raise ValueError(f"population must be positive; got {population}")
    if not np.all(np.isfinite(y)) or y.min() < 0 or y.max() > pop * (1 + 1e-9):
        raise ValueError(f"cumulative adopters must lie between 0 and the population ({pop:g})")
    n0, t0 = float(y[0]), float(t[0])
    if y.max() <= n0:
        what = "no one adopted" if y.max() == 0 else f"{n0:g} of {pop:g} had adopted at the first step and no one after"
        raise ValueError(f"the curve never rises ({what}): p and q are not identified")
    share = y / pop
    lo_s = max(n0 / pop, 1e-9)
    lower = np.array([P_BOUNDS[0], Q_BOUNDS[0], lo_s])
    upper = np.array([P_BOUNDS[1], Q_BOUNDS[1], 1.0])

    def residuals(x: np.ndarray) -> np.ndarray:
        p, q, s = x
        return s * _share(p, q, min(n0 / (s * pop), 1.0), t - t0) - share

    best = None
    for p0, q0, m0 in STARTS:
        s0 = float(np.clip(share.max() if m0 == "last" else 1.0, lo_s, 1.0))
        x0 = np.clip([p0, q0, s0], lower, upper)
        res = least_squares(residuals, x0, bounds=(lower, upper), method="trf", x_scale="jac",
                            ftol=1e-14, xtol=1e-14, gtol=1e-14, max_nfev=2000)  # fmt: skip
        if best is None or res.cost < best.cost:
            best = res
    p, q, s = (float(v) for v in best.x)
    params = BassParams(p=p, q=q, m=s * pop, n0=n0, t0=t0)
    fitted = bass_curve(params, t)
    return BassFit(params=params, steps=t, fitted=fitted, rms=float(np.sqrt(np.mean((fitted - y) ** 2))))


def bass_by_village(observed: Observed) -> pd.DataFrame:
    """Fit a Bass curve to every village of ``observed`` (adopters = coverage x households).

    Returns one row per village: ``village``, ``households``, ``p``, ``q``, ``m`` (households),
    ``n0``, ``rms`` (households), ``rms_coverage`` (as a share of the village) and ``note`` (empty,
    or why p and q are NaN).
    """
    rows = []
    for v, name in enumerate(observed.villages):
        size = float(observed.sizes[v])
        y = observed.curves[:, v] * size
        row = {"village": name, "households": int(observed.sizes[v])}
        try:
            f = fit_bass(observed.steps, y, size)
        except ValueError as err:
            row |= {"p": np.nan, "q": np.nan, "m": float(y[-1]) if size > 0 else 0.0, "n0": float(y[0]),
                    "rms": np.nan, "rms_coverage": np.nan, "note": str(err)}  # fmt: skip
        else:
            row |= {"p": f.p, "q": f.q, "m": f.m, "n0": f.params.n0, "rms": f.rms, "rms_coverage": f.rms / size,
                    "note": ""}  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


def held_out_errors(
    observed: Observed,
    train_villages: Sequence[str],
    test_villages: Sequence[str],
    predict_model: Mapping[str, Sequence[float] | np.ndarray] | np.ndarray,
    fits: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """RMS error on each held-out village of the Bass baseline and of a model's prediction, side by side.

    Args:
        observed: every village's observed coverage (training and held-out).
        train_villages: villages the Bass curves are fitted to (their median p and q are used).
        test_villages: the held-out villages.
        predict_model: the model's predicted coverage (share of households) at ``observed.steps``
            for each held-out village: a mapping village -> array, or a (steps, held-out villages)
            array in ``test_villages`` order (e.g. the posterior predictive median).
        fits: :func:`bass_by_village` of ``observed`` when already made (each village's fit depends
            on its own data only, so the training villages' rows are theirs); default: fitted here.

    Returns:
        One row per held-out village: ``village``, ``households``, ``bass_rms`` and ``model_rms``
        (RMS difference in coverage over the observed steps) and ``model_better``; ``attrs`` holds
        the ``p``, ``q`` used for the baseline and the ``train_fits`` table.

    Raises:
        ValueError: unknown or overlapping villages, a prediction of the wrong shape, or no
            training village with identified p and q.

    """
    names = list(observed.villages)
    train, test = [str(v) for v in train_villages], [str(v) for v in test_villages]
    unknown = sorted(set(train + test) - set(names))
    if unknown:
        raise ValueError(f"village(s) not in the observed data: {', '.join(unknown)}")
    if set(train) & set(test):
        raise ValueError(f"village(s) both trained on and held out: {', '.join(sorted(set(train) & set(test)))}")
    if not train or not test:
        raise ValueError("need at least one training and one held-out village")
    T = len(observed.steps)
    if isinstance(predict_model, Mapping):
        missing = [v for v in test if v not in predict_model]
        if missing:
            raise ValueError(f"no model prediction for held-out village(s) {', '.join(missing)}")
        pred = {v: np.asarray(predict_model[v], dtype=float) for v in test}
    else:
        arr = np.asarray(predict_model, dtype=float)
        if arr.shape != (T, len(test)):
            raise ValueError(f"model prediction must have shape {(T, len(test))}; got {arr.shape}")
        pred = {v: arr[:, j] for j, v in enumerate(test)}
    for v, x in pred.items():
        if x.shape != (T,):
            raise ValueError(f"model prediction for village {v} must have {T} values (one per step); got {x.shape}")
    if fits is None:
        fits = bass_by_village(observed.subset(train))
    else:  # every village's fits, made once (bass_by_village): the training villages' rows, in their order
        fits = fits.set_index("village").loc[train].reset_index()
    ok = fits["note"] == ""
    if not ok.any():
        raise ValueError("no training village has identified Bass p and q (every curve is flat)")
    p, q = float(np.median(fits.loc[ok, "p"])), float(np.median(fits.loc[ok, "q"]))
    rows = []
    for v in test:
        k = names.index(v)
        size = float(observed.sizes[k])
        obs = observed.curves[:, k]
        params = BassParams(p=p, q=q, m=size, n0=float(obs[0]) * size, t0=float(observed.steps[0]))
        bass = bass_curve(params, observed.steps) / size if size > 0 else np.zeros(T)
        b_rms = float(np.sqrt(np.mean((bass - obs) ** 2)))
        m_rms = float(np.sqrt(np.mean((pred[v] - obs) ** 2)))
        rows.append({"village": v, "households": int(size), "bass_rms": b_rms, "model_rms": m_rms,
                     "model_better": m_rms < b_rms})  # fmt: skip
    out = pd.DataFrame(rows)
    out.attrs.update(p=p, q=q, train_fits=fits)
    return out
