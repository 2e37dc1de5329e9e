"""What ``diffusion-sim calibrate`` writes, and its working area (pyabc's database, for resuming).

Everything goes through the one writer (:func:`diffusion_sim.atomic.atomic_folder`): all of it, or
nothing. A parameter is flagged ``identified`` when its 90% credible interval is less than half as
wide as its prior's central 90% interval (:data:`IDENTIFIED_RATIO`).

**Working area.** While it fits, the command keeps pyabc's database in a hidden folder beside the
output folder, ``.<out>.calibrate-work/`` (:func:`work_folder`), with a key of everything the fit
depends on (the calibration with its seed, the scenario, the observed data). pyabc stores each
generation when it is complete; a fit interrupted (Ctrl-C, a killed process) and started again
with the same key continues after the last complete generation (:func:`fit_resumable`), and a
different key starts afresh. Particles are seeded by generation and number
(:mod:`diffusion_sim.calibrate.abc`), so a continued fit gives the posterior an uninterrupted one
gives (tested). The working area is removed once the output is written.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from diffusion_sim.calibrate.fit import intervals
from diffusion_sim.calibrate.spec import Calibration
from diffusion_sim.experiment.design import Scenarios, scenario_for, value_of

__all__ = [
    "CALIBRATE_FILES",
    "IDENTIFIED_RATIO",
    "PREDICTIVE_DRAWS",
    "correlations",
    "fit_resumable",
    "fitted_scenario",
    "open_work",
    "run_key",
    "summary_table",
    "work_folder",
    "write_calibration",
]

CALIBRATE_FILES = (
    "posterior.csv",
    "summary.csv",
    "correlations.csv",
    "fitted_scenario.yaml",
    "provenance.json",
    "predictive.csv",
    "fit.png",
    "bass.csv",
    "heldout.csv",
    "heldout.png",
    "calibration.html",
)
"""The files ``calibrate`` may write into its output folder (``heldout.*`` only with a held-out check)."""

CORRELATED = 0.7
"""Two parameters whose posterior correlation is at least this (in size) are said to trade off."""

AT_BOUND = 0.05
"""A posterior median within this share of the prior's range from one of its bounds is said to be piled there."""

PREDICTIVE_DRAWS = 40
"""Posterior particles simulated for the fit plot's predictive band."""

IDENTIFIED_RATIO = 0.5
"""A parameter is ``identified`` when (posterior 90% width) / (prior 90% width) is below this."""


def _labels(posterior: pd.DataFrame) -> list[str]:
    return [c for c in posterior.columns if c != "weight" and not c.startswith("u.")]


def summary_table(posterior: pd.DataFrame, scenarios: Scenarios) -> pd.DataFrame:
    """Per parameter: weighted median, 5% and 95%, the prior's 5% and 95%, the width ratio and ``identified``."""
    table = intervals(posterior, 0.9).rename(columns={"low": "q05", "high": "q95"})
    priors = {p.label: p for p in scenarios.exp.parameters}
    table["prior_q05"] = [float(value_of(priors[n], 0.05)) for n in table["parameter"]]
    table["prior_q95"] = [float(value_of(priors[n], 0.95)) for n in table["parameter"]]
    prior_width = table["prior_q95"] - table["prior_q05"]
    table["width_ratio"] = (table["q95"] - table["q05"]) / prior_width.where(prior_width > 0)
    table["identified"] = table["width_ratio"] < IDENTIFIED_RATIO
    corr = correlations(posterior).set_index("parameter")
    table["diagnosis"] = [_diagnosis(row, priors[row.parameter], corr) for row in table.itertuples()]
    return table


def _diagnosis(row, prior, corr: pd.DataFrame) -> str:
    """What the data say about one parameter, in words: the identification diagnostics.

    Three signs, each stated when it holds: the 90% interval is not much narrower than the prior's
    (width ratio >= :data:`IDENTIFIED_RATIO`: the data say little about it); the median is piled
    against a bound of the prior (within :data:`AT_BOUND` of its range: the fit wants values the
    prior forbids); it trades off with another parameter (|correlation| >= :data:`CORRELATED`: the data
    fix a combination of the two, not each).
    """
    notes = []
    if not row.width_ratio < IDENTIFIED_RATIO:
        notes.append(
            f"not identified: its 90% interval is {row.width_ratio:.0%} of the prior's, so the data say little about it"
            if np.isfinite(row.width_ratio)
            else "not identified: the prior has no width to compare with"
        )
    low, high = prior.low, prior.high
    if low is not None and high is not None and high > low:
        span = float(high) - float(low)
        if row.median - float(low) < AT_BOUND * span:
            notes.append(f"piled against the prior's lower bound {float(low):g}: the data may want lower values")
        elif float(high) - row.median < AT_BOUND * span:
            notes.append(f"piled against the prior's upper bound {float(high):g}: the data may want higher values")
    others = corr.loc[row.parameter].drop(row.parameter) if row.parameter in corr.index else pd.Series(dtype=float)
    for name, r in others.items():
        if np.isfinite(r) and abs(r) >= CORRELATED:
            notes.append(f"trades off with {name} (correlation {r:+.2f}): the data fix a combination of the two")
    return "; ".join(notes) if notes else "identified"


def correlations(posterior: pd.DataFrame) -> pd.DataFrame:
    """Weighted Pearson correlations between the fitted parameters (a square table; NaN for a constant one)."""
    labels = _labels(posterior)
    x = posterior[labels].to_numpy(float)
    w = posterior["weight"].to_numpy(float)
    w = w / w.sum()
    centred = x - w @ x
    cov = (centred * w[:, None]).T @ centred
    sd = np.sqrt(np.diag(cov))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(sd, sd)
    corr[~np.isfinite(corr)] = np.nan
    out = pd.DataFrame(corr, columns=labels)
    out.insert(0, "parameter", labels)
    return out


def fitted_scenario(scenarios: Scenarios, cal: Calibration, medians: dict[str, float]):
    """The calibration's scenario with every fitted parameter at its posterior median.

    A generated community without its own seed gets the calibration's seed, so that running the
    fitted scenario builds the community the fit ran on.
    """
    from diffusion_sim.community import pinned_seed

    return pinned_seed(scenario_for(scenarios, medians, source="calibration"), cal.seed)


def write_calibration(
    out: str | Path,
    posterior: pd.DataFrame,
    cal: Calibration,
    scenarios: Scenarios,
    provenance: dict[str, Any],
    *,
    observed=None,
    predictive: np.ndarray | None = None,
    check=None,
    bass: pd.DataFrame | None = None,
) -> list[str]:
    """Write every output file atomically into ``out``; returns the names written.

    With ``observed`` and ``predictive`` (curves from
    :func:`diffusion_sim.calibrate.figures.posterior_predictive`), also ``predictive.csv``, the fit
    plot ``fit.png``, the Bass fits ``bass.csv`` and the page ``calibration.html``; with ``check``
    (a :class:`~diffusion_sim.calibrate.check.HeldOut`), the held-out check ``heldout.csv`` and
    ``heldout.png``; ``bass``: :func:`~diffusion_sim.calibrate.bass.bass_by_village` of
    ``observed`` when already made.
    """
    from diffusion_sim import __version__
    from diffusion_sim.atomic import atomic_folder
    from diffusion_sim.provenance import git_commit
    from diffusion_sim.scenario.yaml_source import to_yaml

    summary = summary_table(posterior, scenarios)
    medians = dict(zip(summary["parameter"], summary["median"], strict=True))
    scenario = fitted_scenario(scenarios, cal, medians)
    try:
        import pyabc

        pyabc_version = pyabc.__version__
    except ImportError:  # pragma: no cover - fit() needed it
        pyabc_version = None
    prov = {
        **provenance,
        "calibration": cal.model_dump(mode="json"),
        "generations": posterior.attrs.get("generations"),
        "epsilon": posterior.attrs.get("epsilon"),
        "simulations": posterior.attrs.get("simulations"),
        "particles": len(posterior),
        "predictive_draws": None if predictive is None else len(predictive),
        "identified_rule": f"identified = (q95 - q05) / (prior_q95 - prior_q05) < {IDENTIFIED_RATIO}",
        "held_out": None if check is None else check.provenance(),
        "diffusion_sim": __version__,
        "pyabc": pyabc_version,
        "python": platform.python_version(),
        "git_commit": git_commit(),
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    header = f"# fitted by diffusion-sim calibrate: {cal.name} (seed {cal.seed}); fitted values are posterior medians\n"
    written = list(CALIBRATE_FILES[:5])
    with atomic_folder(out, command="calibrate", managed=CALIBRATE_FILES) as tmp:
        posterior.to_csv(tmp / "posterior.csv", index=False)
        summary.to_csv(tmp / "summary.csv", index=False)
        corr = correlations(posterior)
        corr.to_csv(tmp / "correlations.csv", index=False)
        (tmp / "fitted_scenario.yaml").write_text(header + to_yaml(scenario), encoding="utf-8")
        (tmp / "provenance.json").write_text(json.dumps(prov, indent=1, default=str) + "\n", encoding="utf-8")
        if observed is None or predictive is None:
            return written
        from diffusion_sim.calibrate.bass import bass_by_village
        from diffusion_sim.calibrate.figures import fit_figure, predictive_table
        from diffusion_sim.calibrate.page import render_page

        table = predictive_table(observed, predictive)
        table.to_csv(tmp / "predictive.csv", index=False)
        fig = fit_figure(observed, table)
        fig.savefig(tmp / "fit.png", metadata={"Software": None})
        bass = bass if bass is not None else bass_by_village(observed)
        bass.to_csv(tmp / "bass.csv", index=False)
        written += ["predictive.csv", "fit.png", "bass.csv"]
        held_fig = None
        if check is not None:
            check.table.to_csv(tmp / "heldout.csv", index=False)
            held_fig = check.figure(observed)
            held_fig.savefig(tmp / "heldout.png", metadata={"Software": None})
            written += ["heldout.csv", "heldout.png"]
        page = render_page(cal, prov, summary, corr, observed, fig, bass, check, held_fig)
        (tmp / "calibration.html").write_text(page, encoding="utf-8")
        written.append("calibration.html")
    return written


# ------------------------------------------------------------------------------------ working area


def work_folder(out: str | Path) -> Path:
    """The working area of output folder ``out``: ``.<name>.calibrate-work`` beside it."""
    from diffusion_sim.atomic import output_path

    path = output_path(out)
    return path.parent / f".{path.name}.calibrate-work"


def run_key(cal: Calibration, scenarios: Scenarios, observed, held_out: list[str] = ()) -> str:
    """A hash of what a calibration depends on: the file (with its seed), scenario, data and held-out villages."""
    data = {
        "calibration": cal.model_dump(mode="json"),
        "scenario": scenarios.by_file[scenarios.default].model_dump(mode="json"),
        "steps": np.asarray(observed.steps).tolist(),
        "villages": [str(v) for v in observed.villages],
        "curves": np.asarray(observed.curves, float).tolist(),
        "sizes": np.asarray(observed.sizes).tolist(),
        "held_out": [str(v) for v in held_out],
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def open_work(work: Path, key: str) -> bool:
    """Prepare the working area for a calibration with ``key``; True if it holds fits of the same calibration.

    A different key (another file, seed or data) empties it first.
    """
    try:
        same = json.loads((work / "key.json").read_text(encoding="utf-8")).get("key") == key
    except (OSError, ValueError, AttributeError):
        same = False
    if same:
        return any(work.glob("*.db"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "key.json").write_text(json.dumps({"key": key}) + "\n", encoding="utf-8")
    return False


def fit_resumable(
    cal: Calibration,
    sim,
    observed,
    db: Path,
    *,
    map_: Callable[[Callable, Iterable[Any]], Iterable[Any]] = map,
) -> tuple[pd.DataFrame, int]:
    """:func:`~diffusion_sim.calibrate.fit.abc_posterior` with pyabc's database at ``db``, continuing a fit kept there.

    Call :func:`open_work` first: it keeps ``db`` only when it belongs to the same calibration.

    Returns:
        The posterior (as :func:`~diffusion_sim.calibrate.fit.fit` returns it) and the number of
        generations found complete in ``db`` (0: a new fit).

    """
    from diffusion_sim.calibrate.fit import abc_posterior

    return abc_posterior(
        cal, sim, observed, db, map_=map_, resume=db.is_file(), on_fresh=lambda: db.unlink(missing_ok=True)
    )
