"""The calibration's offline HTML page (``calibration.html``), built from the report's page, style and table blocks.

Like the comparison report it has no scripts and no external URLs, embeds its figures as PNG data,
carries no timestamp and escapes every string that came from a file (names, villages, paths).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from diffusion_sim.calibrate.output import IDENTIFIED_RATIO
from diffusion_sim.report.format import DASH
from diffusion_sim.report.markup import cell, esc, figure_html, html_page, html_table, table_row

__all__ = ["render_page"]


def _number(x: Any, form: Callable[[float], str]) -> str:
    """``form(x)`` for a number, a dash for a missing one (None, NaN, text)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return DASH
    return DASH if math.isnan(v) else form(v)


def _g(x: Any, digits: int = 4) -> str:
    return _number(x, lambda v: f"{v:.{digits}g}")


def _pct(x: Any) -> str:
    return _number(x, lambda v: f"{100 * v:.1f}%")


def _points(x: Any) -> str:
    """A difference of shares in percentage points."""
    return _number(x, lambda v: f"{100 * v:.1f} points")


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _intro(cal, prov: dict[str, Any], observed) -> str:
    data = f"the file {esc(cal.data.file)}" if cal.data.file else "the survey's per-person adoption times"
    eps = prov.get("epsilon") or []
    m = cal.method
    return (
        f"<p>Fitted <strong>{len(cal.fit)}</strong> parameter{'s' if len(cal.fit) != 1 else ''} of the scenario "
        f"<code>{esc(cal.scenario)}</code> to the cumulative adoption observed in {data}: "
        f"{len(observed.villages):,} villages ({int(observed.sizes.sum()):,} households) at "
        f"{len(observed.steps):,} steps ({esc(int(observed.steps[0]))} to {esc(int(observed.steps[-1]))}). "
        f"Method: ABC-SMC (pyabc {esc(prov.get('pyabc'))}), {m.population:,} particles per generation, "
        f"{len(eps)} generations (final tolerance {_g(eps[-1]) if eps else DASH}), "
        f"{int(prov.get('simulations') or 0):,} simulations in {_g(prov.get('seconds'), 3)} s on "
        f"{esc(prov.get('backend'))}, seed {esc(cal.seed)}. The distance is the root mean squared difference "
        "between simulated and observed coverage per village and step, plus that of the pooled curve.</p>"
    )


def _parameters(summary: pd.DataFrame) -> str:
    rows = []
    for r in summary.itertuples():
        flag = "identified" if r.diagnosis == "identified" else r.diagnosis
        rows.append(
            table_row(
                [
                    cell(r.parameter, ""),
                    cell(_g(r.median)),
                    cell(f"{_g(r.q05)} to {_g(r.q95)}"),
                    cell(f"{_g(r.prior_q05)} to {_g(r.prior_q95)}"),
                    cell(_g(r.width_ratio, 2)),
                    cell(flag, "verdict"),
                ]
            )
        )
    note = (
        "Median and central 90% credible interval of the posterior (weighted particles of the last generation). "
        "Width ratio: the posterior interval's width over the prior's central 90% interval. A parameter is called "
        f"<em>identified</em> when the ratio is below {IDENTIFIED_RATIO}; the diagnosis also says when the "
        "posterior is piled against a bound of the prior, and when two parameters trade off (a strong "
        "correlation: the data fix a combination of the two, not each)."
    )
    headers = ["parameter", "median", "90% interval", "prior 90%", "width ratio", "diagnosis"]
    return html_table("parameters", headers, rows) + f'<p class="note">{note}</p>'


def _correlations(corr: pd.DataFrame) -> str:
    if len(corr) < 2:
        return ""
    names = list(corr["parameter"])
    rows = [table_row([cell(n, ""), *(cell(_g(corr.iloc[i][m], 2)) for m in names)]) for i, n in enumerate(names)]
    return "<h2>Correlations between parameters</h2>" + html_table("correlations", ["", *(esc(n) for n in names)], rows)


def _held_out(check, held_fig: Figure | None) -> str:
    if check is None:
        return (
            "<h2>Predictive check on held-out villages</h2><p>No held-out check was made (<code>hold_out: 0</code>, "
            "or fewer than 3 villages).</p>"
        )
    t = check.table
    total = t.iloc[-1]
    better = int(t.iloc[:-1]["model_better"].sum())
    lead = (
        f"<p>The parameters were fitted again to the other {_plural(len(check.train), 'village')} only, and that fit "
        f"predicted the held-out {_plural(len(check.test), 'village')} ({', '.join(esc(v) for v in check.test)}). "
        f"Root mean squared error of coverage, weighted by households: <strong>model {_points(total['model_rms'])}"
        f"</strong>, Bass baseline {_points(total['bass_rms'])} (Bass p = {_g(t.attrs['p'], 3)}, q = "
        f"{_g(t.attrs['q'], 3)}: the medians of the training villages' fits; market = the village's households). "
        f"The model was closer in {better} of {_plural(len(check.test), 'village')}. {_pct(total['inside_90'])} of the "
        "observed points lie inside the model's 90% predictive band (about 90% when the model and its "
        "uncertainty are right).</p>"
    )
    rows = [
        table_row(
            [
                cell(r.village, ""),
                cell(f"{int(r.households):,}"),
                cell(_points(r.model_rms)),
                cell(_points(r.bass_rms)),
                cell("model" if r.model_better else "Bass", ""),
                cell(_pct(r.inside_90)),
            ],
            baseline=r.village == "all",
        )
        for r in t.itertuples()
    ]
    headers = ["village", "households", "model RMS error", "Bass RMS error", "closer", "inside 90% band"]
    fig = (
        figure_html(
            held_fig,
            "held-out villages",
            "Held-out villages: observed (points), the model's 90% band and "
            "median, and the Bass curve with the training villages' p and q.",
        )  # fmt: skip
        if held_fig is not None
        else ""
    )
    return "<h2>Predictive check on held-out villages</h2>" + lead + html_table("heldout", headers, rows) + fig


def _bass(bass: pd.DataFrame) -> str:
    rows = [
        table_row(
            [
                cell(r.village, ""),
                cell(f"{int(r.households):,}"),
                cell(_g(r.p, 3)),
                cell(_g(r.q, 3)),
                cell(_g(r.m, 4)),
                cell(_pct(r.rms_coverage)),
                cell(r.note, ""),
            ]  # fmt: skip
        )
        for r in bass.itertuples()
    ]
    headers = ["village", "households", "p", "q", "m (market)", "RMS error", "note"]
    return (
        "<h2>Bass curves fitted per village</h2><p>The usual alternative: a Bass curve (p, q and market size m) "
        "fitted to each village's own observations by least squares (in-sample, so it describes rather than "
        "predicts; the held-out check above is the fair comparison).</p>"
        f"<details><summary>Show the {len(bass):,} villages</summary>{html_table('bass', headers, rows)}</details>"
    )


def _generations(prov: dict[str, Any]) -> str:
    log = prov.get("generation_log") or []
    if not log:
        return ""
    rows = [
        table_row(
            [
                cell(str(g["t"] + 1)),
                cell(_g(g.get("epsilon"))),
                cell(_pct(g.get("acceptance"))),
                cell(f"{int(g.get('simulations', 0)):,}"),
            ]
        )  # fmt: skip
        for g in log
    ]
    return "<h2>Generations of the fit to every village</h2>" + html_table(
        "generations", ["generation", "tolerance", "acceptance", "simulations"], rows
    )


def render_page(cal, prov, summary, corr, observed, fit_fig, bass, check, held_fig) -> str:
    """The whole page (a string of HTML)."""
    out = esc(prov["out"]) if prov.get("out") else "DIR"
    body = (
        f"<h1>Calibration: {esc(cal.name)}</h1>"
        + (f"<p>{esc(cal.description)}</p>" if cal.description else "")
        + _intro(cal, prov, observed)
        + "<h2>Fitted parameters</h2>"
        + _parameters(summary)
        + _correlations(corr)
        + "<h2>Fit</h2>"
        + figure_html(
            fit_fig,
            "observed adoption against the posterior predictive band",
            "Observed cumulative "
            "adoption (points) against the posterior predictive median and 90% band (particles resampled "
            "by weight), pooled over villages and per village.",
        )  # fmt: skip
        + _held_out(check, held_fig)
        + _bass(bass)
        + _generations(prov)
        + "<h2>Next</h2><p><code>diffusion-sim run fitted_scenario.yaml</code> runs the scenario at the "
        "posterior medians. <code>diffusion-sim compare BASELINE.yaml PACKAGE.yaml --posterior "
        f"{out}</code> runs each replicate with its own posterior draw, so the comparison's intervals include "
        "the uncertainty about these parameters.</p>"
    )
    return html_page(f"Calibration: {cal.name}", body)
