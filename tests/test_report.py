"""The HTML comparison report: offline, escaped, reproducible, and its numbers match the comparison."""

from __future__ import annotations

import base64
import html
import math
import re
from html.parser import HTMLParser

import pytest
from matplotlib.figure import Figure

from diffusion_sim.compare import compare
from diffusion_sim.report import (
    adoption_by_role_figure,
    adoption_curves_figure,
    channel_figure,
    cost_figure,
    equity_figure,
    write_report,
)
from diffusion_sim.report.format import (
    DASH,
    format_change,
    format_change_parts,
    format_count,
    format_money,
    format_percent,
    format_pp,
    format_time_to,
    format_time_to_parts,
    money_decimals,
)
from diffusion_sim.report.summaries import first_to_reach
from diffusion_sim.scenario import Scenario, apply_overrides

INJECTED = "<b>x</b>"
LEADER_TEXT = (
    'name: "<b>x</b>"\n'
    "description: leaders & <script>alert('hi')</script>\n"
    "interventions:\n"
    "  - type: leader_training\n"
    "    cost_per_leader: 150\n"
)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def comp():
    small = apply_overrides(Scenario(), {"community.households": 400, "schedule.steps": 20})
    visits = apply_overrides(
        small,
        {"name": "home visits", "interventions": [{"type": "home_visits", "end": 10, "cost_per_visit": 2}]},
    )
    leaders = apply_overrides(
        small,
        {
            "name": INJECTED,
            "description": "leaders & <script>alert('hi')</script>",
            "interventions": [{"type": "leader_training", "cost_per_leader": 150}],
        },
    )
    return compare(
        [small, visits, leaders],
        sources=["built-in", "built-in", "scenarios/<leaders>.yaml"],
        texts=["", "", LEADER_TEXT],
        seed=0,
        replicates=6,
    )


@pytest.fixture(scope="module")
def page_path(comp, tmp_path_factory):
    return write_report(comp, tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def page(page_path):
    return page_path.read_text(encoding="utf-8")


class _Tables(HTMLParser):
    """Collect the text of every cell of every table with an id: {id: [[cell, ...], ...]}."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._table = dict(attrs).get("id")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables(page: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(page)
    return parser.tables


def headline(page: str) -> dict[str, dict[str, str]]:
    """The headline table as {scenario name: {column header: cell text}}."""
    header, *rows = tables(page)["headline-table"]
    out = {}
    for row in rows:
        name = row[0].removesuffix("(baseline)").strip()
        out[name] = dict(zip(header, row, strict=True))
    return out


# ------------------------------------------------------------------------------------ the page


def test_write_report_writes_report_html_and_nothing_else(page_path, page):
    assert page_path.name == "report.html"
    assert [p.name for p in page_path.parent.iterdir()] == ["report.html"]  # no temporary file left
    assert page.startswith("<!DOCTYPE html>")


def test_page_is_self_contained(page):
    for forbidden in ("http://", "https://", 'src="//', "<script", "<link", "url(", "@import"):
        assert forbidden not in page, forbidden
    assert "<style>" in page


def test_images_are_embedded_pngs(page):
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) >= 4
    for data in images:
        assert base64.b64decode(data, validate=True).startswith(PNG_MAGIC)
    assert page.count("<img ") == len(images)  # no other kind of image


def test_every_name_appears_and_user_strings_are_escaped(comp, page):
    for name in comp.names:
        assert html.escape(name) in page
    assert INJECTED not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page
    assert "<script>" not in page
    assert html.escape("leaders & <script>alert('hi')</script>") in page  # the description
    assert html.escape("scenarios/<leaders>.yaml") in page  # the source


def test_sections_come_in_order(page):
    ids = ["how-to-read", "headline", "economics", "curves", "equity", "channels", "costs", "outcomes", "appendix"]
    positions = [page.index(f'<section id="{i}">') for i in ids]
    assert positions == sorted(positions)
    toc = page[page.index('<nav class="toc">') : page.index("</nav>")]
    links = re.findall(r'href="#([a-z-]+)"', toc)
    assert links == ids[1:]
    assert '<a href="#economics">Incremental cost-effectiveness</a>' in toc


def test_header_states_seed_replicates_baseline_behaviour_and_currency(comp, page):
    head = page[: page.index('<section id="headline">')]
    assert "Seed</dt><dd>0</dd>" in head
    assert "6 per scenario" in head
    assert "Baseline</dt><dd>default</dd>" in head
    assert html.escape(comp.scenarios[0].behaviour.name) in head
    assert "Currency</dt><dd>USD</dd>" in head
    assert "common random numbers" in head and "95% t-intervals" in head


def test_writing_twice_gives_identical_bytes(comp, page_path, tmp_path):
    again = write_report(comp, tmp_path)
    assert again.read_bytes() == page_path.read_bytes()
    assert write_report(comp, tmp_path).read_bytes() == page_path.read_bytes()  # overwriting in place


def test_scenario_file_text_appears_escaped_in_the_appendix(page):
    appendix = page[page.index('<section id="appendix">') :]
    assert html.escape(LEADER_TEXT) in appendix
    assert "built-in default scenario" in appendix  # the baseline has no file


# ------------------------------------------------------------------------- the headline numbers


def two_lines(main: str, detail: str) -> str:
    """A two-line cell's text as the parser reads it (the second line after a line break)."""
    return f"{main}\n{detail}" if detail else main


def test_headline_has_exactly_the_columns_a_decision_needs(page):
    header, *_ = tables(page)["headline-table"]
    assert header == [
        "Scenario",
        "Final coverage",
        "Δ final coverage vs baseline (95% CI)",
        "Time to 80%",
        "Total cost",
        "Extra adopters (95% CI)",
        "Cost per extra adopter (95% CI)",
    ]
    header, *_ = tables(page)["glance-table"]
    assert header == ["Scenario", "Time to 50%", "Sustained coverage", "Equity gap"]


def test_headline_numbers_match_the_comparison(comp, page):
    table = headline(page)
    assert list(table) == comp.names
    o = comp.outcomes
    d = comp.differences.set_index(["scenario", "outcome"])
    ce = comp.cost_effectiveness.set_index("scenario")
    cur = comp.scenarios[0].costs.currency
    for k, sc in enumerate(comp.scenarios):
        row, t = table[sc.name], o[o["scenario"] == sc.name]
        assert row["Final coverage"] == format_percent(t["final_coverage"].mean())
        assert row["Total cost"] == format_money(t["cost"].mean(), cur)
        reached = t["time_to_0.8"].dropna()
        expected = format_time_to_parts(
            reached.mean() if len(reached) else math.nan, len(reached), len(t), sc.schedule.days_per_step
        )
        assert row["Time to 80%"].removesuffix("★ first to 80%") == two_lines(*expected)
        if k == 0:
            assert row["Extra adopters (95% CI)"] == "baseline"
            continue
        r = d.loc[(sc.name, "final_coverage")]
        assert row["Δ final coverage vs baseline (95% CI)"] == two_lines(
            *format_change_parts(r["diff"], r["diff_low"], r["diff_high"], "share")
        )
        r = d.loc[(sc.name, "extra_adopters")]
        assert row["Extra adopters (95% CI)"] == two_lines(
            *format_change_parts(r["diff"], r["diff_low"], r["diff_high"], "count")
        )
        c = ce.loc[sc.name]
        cell = row["Cost per extra adopter (95% CI)"]
        if math.isnan(c["cost_per_extra_adopter"]):
            assert cell.startswith(DASH)
        else:
            assert cell.startswith(format_money(c["cost_per_extra_adopter"], cur) + "\n")
            if not math.isnan(c["ce_low"]):
                dec = money_decimals(c["cost_per_extra_adopter"])
                assert cell.endswith(
                    f"[{format_money(c['ce_low'], None, dec)}, {format_money(c['ce_high'], None, dec)}]"
                )


def test_other_outcomes_at_a_glance_match_the_comparison(comp, page):
    header, *rows = tables(page)["glance-table"]
    o = comp.outcomes
    for sc, row in zip(comp.scenarios, rows, strict=True):
        cells, t = dict(zip(header, row, strict=True)), o[o["scenario"] == sc.name]
        assert cells["Scenario"].removesuffix("(baseline)").strip() == sc.name
        assert cells["Equity gap"] == format_pp(t["equity_gap"].mean())
        sustained = t["sustained_coverage"].mean()
        if math.isnan(sustained):
            assert cells["Sustained coverage"].startswith(f"{DASH} (")
        else:
            assert cells["Sustained coverage"] == format_percent(sustained)
        reached = t["time_to_0.5"].dropna()
        expected = format_time_to_parts(
            reached.mean() if len(reached) else math.nan, len(reached), len(t), sc.schedule.days_per_step
        )
        assert cells["Time to 50%"] == two_lines(*expected)


def test_the_first_to_reach_80_percent_is_marked(comp, page):
    table = headline(page)
    winners = first_to_reach(comp, "time_to_0.8")
    assert winners  # the leader-training scenario gets there within 20 steps
    marked = [name for name, row in table.items() if row["Time to 80%"].endswith("★ first to 80%")]
    assert marked == winners
    # the winner has the lowest median time to 80% (never reached = infinitely late)
    o = comp.outcomes
    med = {n: o.loc[o["scenario"] == n, "time_to_0.8"].fillna(math.inf).median() for n in comp.names}
    assert med[winners[0]] == min(med.values())


def test_full_outcome_table_has_one_row_per_outcome_and_a_column_per_scenario(comp, page):
    header, *rows = tables(page)["outcome-table"]
    assert len(header) == 1 + len(comp.names)
    assert len(rows) == comp.differences["outcome"].nunique()
    d = comp.differences.set_index(["scenario", "outcome"])
    by_raw = {row[0].split()[-1]: row for row in rows}  # the raw outcome name ends the row header
    r = d.loc[(comp.names[1], "final_coverage")]
    expected = f"{format_percent(r['mean'])} (Δ {format_change(r['diff'], r['diff_low'], r['diff_high'], 'share')})"
    assert by_raw["final_coverage"][2] == expected
    r = d.loc[(comp.names[2], "adopters")]
    assert by_raw["adopters"][3].startswith(format_count(r["mean"]) + " (Δ ")


# ---------------------------------------------------------------------------------- formatters


def test_formatters():
    assert format_percent(0.63089) == "63.1%"
    assert format_percent(float("nan")) == DASH
    assert format_pp(0.331262) == "+33.1 pp"
    assert format_pp(-0.0001) == "+0.0 pp"  # no negative zero
    assert format_count(2558.9) == "2,559"
    assert format_count(1343.6, signed=True) == "+1,344"
    assert format_money(4091.8, "USD") == "USD 4,092"
    assert format_money(3.0454, "USD") == "USD 3.05"
    assert format_money(0.0, "USD") == "USD 0"
    assert format_money(float("nan"), "USD") == DASH
    assert format_change(0.331262, 0.258796, 0.403729, "share") == "+33.1 pp [+25.9, +40.4]"
    assert format_change(4091.8, 3909.35, 4274.25, "money", "KES") == "KES +4,092 [+3,909, +4,274]"
    assert format_time_to(20.8, 8, 10, 7.0) == "20.8 steps (146 days), 8/10 reached"
    assert format_time_to(float("nan"), 0, 10, 7.0) == f"{DASH} not reached (0/10)"


# ------------------------------------------------------------------------------------- figures


def test_figure_functions_return_figures(comp):
    for make in (adoption_curves_figure, equity_figure, channel_figure, cost_figure):
        assert isinstance(make(comp), Figure)
    assert isinstance(adoption_by_role_figure(comp.results[comp.baseline]), Figure)


def test_figures_survive_dollar_signs_in_names(comp, tmp_path):
    renamed = apply_overrides(comp.scenarios[1], {"name": "$5 a visit $"})
    c2 = compare([comp.scenarios[0], renamed], replicates=2, seed=1)
    path = write_report(c2, tmp_path)
    assert html.escape("$5 a visit $") in path.read_text(encoding="utf-8")
