"""Number formatting of the report: percentages, points, counts, money, times, changes with intervals.

Public so that tests can format the comparison's data frames the same way and check the page.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    pass

__all__ = [
    "DASH",
    "format_change",
    "format_change_parts",
    "format_change_row",
    "format_change_row_parts",
    "format_count",
    "format_money",
    "format_percent",
    "format_pp",
    "format_steps",
    "format_time_to",
    "format_time_to_parts",
    "format_value",
    "is_missing",
    "money_decimals",
    "outcome_kind",
]

DASH = "–"
"""Shown for a missing value (NaN), usually followed by a short reason."""


def is_missing(x: Any) -> bool:
    """Whether a value is missing (None or NaN)."""
    return x is None or bool(pd.isna(x))


def _number(x: float, decimals: int, signed: bool = False) -> str:
    """``x`` with thousands separators and ``decimals`` decimals; never ``-0``."""
    x = float(x)
    if round(x, decimals) == 0:
        x = 0.0
    return f"{x:{'+' if signed else ''},.{decimals}f}"


def format_percent(x: Any, signed: bool = False) -> str:
    """A share as a percentage with one decimal (0.6309 -> ``63.1%``); NaN -> ``–``."""
    return DASH if is_missing(x) else _number(100 * float(x), 1, signed) + "%"


def format_pp(x: Any, signed: bool = True, unit: bool = True) -> str:
    """A difference of shares in percentage points (0.331 -> ``+33.1 pp``); NaN -> ``–``."""
    return DASH if is_missing(x) else _number(100 * float(x), 1, signed) + (" pp" if unit else "")


def format_count(x: Any, signed: bool = False) -> str:
    """A count with thousands separators and no decimals (2558.9 -> ``2,559``); NaN -> ``–``."""
    return DASH if is_missing(x) else _number(float(x), 0, signed)


def money_decimals(x: Any) -> int:
    """Decimals used for an amount: none from 100 up (in absolute value) and for zero, two otherwise."""
    return 0 if is_missing(x) or abs(float(x)) >= 100 or float(x) == 0 else 2


def format_money(x: Any, currency: str | None = None, decimals: int | None = None, signed: bool = False) -> str:
    """An amount with its currency (``USD 4,092``, ``USD 3.05``); NaN -> ``–``.

    Args:
        x: the amount.
        currency: its label; None leaves it out (interval bounds).
        decimals: decimals to show; None: :func:`money_decimals` of ``x``.
        signed: always show the sign (differences).

    """
    if is_missing(x):
        return DASH
    text = _number(float(x), money_decimals(x) if decimals is None else decimals, signed)
    return f"{currency} {text}" if currency else text


def format_steps(x: Any, signed: bool = False) -> str:
    """A number of steps with one decimal; NaN -> ``–``."""
    return DASH if is_missing(x) else _number(float(x), 1, signed)


def format_time_to_parts(mean_step: Any, reached: int, total: int, days_per_step: float) -> tuple[str, str]:
    """Time to a coverage target as (main, detail): ``("20.8 steps", "146 days, 8/10 reached")``.

    The main part is the mean over the replicates that reached the target; the detail gives it in
    days and says how many did. ``("– not reached", "0/10 reached")`` when none did.
    """
    if reached == 0 or is_missing(mean_step):
        return f"{DASH} not reached", f"0/{total} reached"
    days = _number(float(mean_step) * days_per_step, 0)
    return f"{format_steps(mean_step)} steps", f"{days} days, {reached}/{total} reached"


def format_time_to(mean_step: Any, reached: int, total: int, days_per_step: float) -> str:
    """Time to a coverage target: mean over the replicates that reached it, and how many did.

    ``20.8 steps (146 days), 8/10 reached``; ``– not reached (0/10)`` when none did.
    """
    if reached == 0 or is_missing(mean_step):
        return f"{DASH} not reached (0/{total})"
    days = _number(float(mean_step) * days_per_step, 0)
    return f"{format_steps(mean_step)} steps ({days} days), {reached}/{total} reached"


_SHARE = {
    "final_coverage",
    "final_coverage_people",
    "sustained_coverage",
    "sustained_coverage_people",
    "abandoned_share",
    "lowest_village_coverage",
}
_COUNT = {"adopters", "adopters_people", "extra_adopters", "direct_conversions"}
_MONEY = {"cost", "community_cost", "extra_cost", "cost_per_extra_adopter"}


def outcome_kind(outcome: str) -> str:
    """How an outcome is shown: ``share``, ``gap``, ``time``, ``count``, ``money`` or ``number``."""
    if outcome in _SHARE or outcome.startswith("coverage_"):
        return "share"
    if outcome == "equity_gap":
        return "gap"
    if outcome.startswith("time_to_"):
        return "time"
    if outcome in _COUNT or outcome.startswith(("adoptions_", "first_adoptions_")):
        return "count"
    if outcome in _MONEY:
        return "money"
    return "number"


def format_value(x: Any, kind: str, currency: str | None = None) -> str:
    """A mean outcome formatted for its kind (see :func:`outcome_kind`); NaN -> ``–``."""
    if kind == "share":
        return format_percent(x)
    if kind == "gap":
        return format_pp(x)
    if kind == "time":
        return DASH if is_missing(x) else f"{format_steps(x)} steps"
    if kind == "count":
        return format_count(x)
    if kind == "money":
        return format_money(x, currency)
    return DASH if is_missing(x) else f"{float(x):.3g}"


def format_change_parts(
    diff: Any, low: Any, high: Any, kind: str, currency: str | None = None, interval: bool = True
) -> tuple[str, str]:
    """A paired difference and its interval, apart: ``("+33.1 pp", "[+25.9, +40.4]")``; NaN difference -> ``("–", "")``.

    The bounds carry no unit; money bounds use the decimals of the difference. With ``interval``
    False (a single pair of replicates) the interval is replaced by ``(one replicate: no interval)``.
    """
    if is_missing(diff):
        return DASH, ""
    if kind in ("share", "gap"):
        main, bound = format_pp(diff), (lambda v: format_pp(v, unit=False))
    elif kind == "time":
        main, bound = f"{format_steps(diff, signed=True)} steps", (lambda v: format_steps(v, signed=True))
    elif kind == "count":
        main, bound = format_count(diff, signed=True), (lambda v: format_count(v, signed=True))
    elif kind == "money":
        d = money_decimals(diff)
        main = format_money(diff, currency, signed=True)
        bound = partial(format_money, currency=None, decimals=d, signed=True)
    else:
        main, bound = f"{float(diff):+.3g}", (lambda v: DASH if is_missing(v) else f"{float(v):+.3g}")
    if not interval:
        return main, "(one replicate: no interval)"
    return main, f"[{bound(low)}, {bound(high)}]"


def format_change(diff: Any, low: Any, high: Any, kind: str, currency: str | None = None, interval: bool = True) -> str:
    """A paired difference and its interval on one line: ``+33.1 pp [+25.9, +40.4]`` (:func:`format_change_parts`)."""
    main, bracket = format_change_parts(diff, low, high, kind, currency, interval)
    return f"{main} {bracket}" if bracket else main


def format_change_row(r: pd.Series, kind: str, currency: str | None = None) -> str:
    """:func:`format_change` of a row of ``Comparison.differences`` (no interval from fewer than 2 pairs)."""
    return format_change(r["diff"], r["diff_low"], r["diff_high"], kind, currency, interval=int(r["n"]) > 1)


def format_change_row_parts(r: pd.Series, kind: str, currency: str | None = None) -> tuple[str, str]:
    """:func:`format_change_parts` of a row of ``Comparison.differences``."""
    return format_change_parts(r["diff"], r["diff_low"], r["diff_high"], kind, currency, interval=int(r["n"]) > 1)
