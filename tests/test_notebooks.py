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
    assert {"sensitivity_analysis.ipynb", "quickstart.ipynb", "planner_comparison.ipynb"} <= {p.name for p in NOTEBOOKS}


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
