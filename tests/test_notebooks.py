"""Every notebook in notebooks/ runs from top to bottom in a real kernel and draws its figures."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

FOLDER = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))


@functools.cache
def executed(path: Path):
    """The notebook run from a clean state, whatever outputs the file keeps (once per test session)."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    where = {"metadata": {"path": str(path.parent)}}
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources=where)
    client.execute()  # raises CellExecutionError naming the cell on any error
    return nb


def outputs(path: Path) -> list:
    return [o for c in executed(path).cells if c.cell_type == "code" for o in c.get("outputs", [])]


def printed(path: Path) -> str:
    """Everything the notebook printed (stdout and stderr), in order."""
    return "".join(o["text"] for o in outputs(path) if o.get("output_type") == "stream")


def test_there_are_notebooks():
    expected = {"sensitivity_analysis.ipynb", "quickstart.ipynb", "planner_comparison.ipynb", "calibration.ipynb"}
    assert expected <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_and_draws_its_figures(path):
    out = outputs(path)
    assert not [o for o in out if o.get("output_type") == "error"]
    images = [o for o in out if "image/png" in o.get("data", {})]
    assert len(images) >= 3, f"{path.name} drew {len(images)} figures"


def test_quickstart_prints_shares_and_both_run_paths_agree():
    text = printed(FOLDER / "quickstart.ipynb")
    start, end = re.search(r"household coverage at step 0: ([\d.]+)%; at step 52: ([\d.]+)%", text).groups()
    assert 0 < float(start) < float(end) <= 100
    assert "the file equals the built-in scenario: True" in text
    assert "the same as runner.run's result: True" in text  # the Mesa DataCollector and runner.run agree
    assert "refused: --set: unknown parameter 'behaviour.extrenal'" in text


def test_planner_comparison_reads_on_one_clock_and_its_frontier_icers_increase():
    text = printed(FOLDER / "planner_comparison.ipynb")
    assert "warnings: none" in text
    read, last = map(int, re.search(r"read_step\): (\d+), day \d+; last step: (\d+)", text).groups())
    assert read <= last
    assert re.search(r"efficiency frontier: baseline -> \w+", text)
    icers = [float(x) for x in re.findall(r"adopters for [\d,]+ USD more, ([\d.]+) USD each", text)]
    assert icers and icers == sorted(icers)  # what is left after removing extended dominance


def test_calibration_checks_a_held_out_city_and_compares_with_parameter_uncertainty():
    text = printed(FOLDER / "calibration.ipynb")
    # the identification rule as printed: identified exactly when the 90% interval is under half the prior's
    lines = re.findall(r"^([\w.]+): median .*?, (\d+)% of the prior's width: (identified|not identified)", text, re.M)
    assert {name for name, _, _ in lines} == {
        "behaviour.external",
        "behaviour.imitation",
        "roles.household.threshold.mean",
    }
    for _, width, verdict in lines:
        if int(width) != 50:  # (a ratio printed as 50% may be either side of 0.5)
            assert (int(width) < 50) == (verdict == "identified")
    # heldout.csv names the city the command said it held out, with both errors
    (command_city,) = re.search(r"held-out check: fit to 3 villages, predict 1 \((\w+)\)", text).groups()
    assert re.search(r"^held-out city: (\w+)$", text, re.M).group(1) == command_city
    model, bass = map(
        float, re.search(rf"city {command_city} \(.*model RMS error ([\d.]+) points, Bass ([\d.]+)", text).groups()
    )
    assert 0 < model < 100 and 0 < bass < 100
    assert "the scenario's four are the top four: True" in text
    # the key difference with and without the posterior: both intervals hold their mean, the posterior's is wider
    key, number = {}, r"([-+\d.]+)"
    pattern = rf"key difference, four visits, months to 50%, ([\w ]+): {number} \[{number}, {number}\]"
    for run, diff, low, high in re.findall(pattern, text):
        diff, low, high = float(diff), float(low), float(high)
        assert low <= diff <= high < 0  # four visits bring the month of 50% forward
        key[run] = high - low
    assert key["with posterior"] >= key["fixed parameters"] > 0
    assert "The results therefore include uncertainty about the fitted parameters" in text
    assert "The intervals in brackets are 95% intervals of the average difference over the draws" in text
    # the reported interval is one of a mean over the posterior: it narrows with more replicates
    widths = [float(w) for w in re.findall(r"interval of the mean on \d+ replicates .*, width ([\d.]+) points", text)]
    assert len(widths) == 2 and widths[1] < widths[0]
