"""The example assignment book/homework_assignment.ipynb (issue 13, item 3) runs as a student
would run it: with the solution it holds, its check cell passes; with a wrong ``my_iwae_bound``
(through exp and log) or a wrong ``my_elbo`` (the KL's sign flipped), the check cell fails with
``SubmissionError`` naming the case."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOK = Path(__file__).resolve().parents[1] / "book" / "homework_assignment.ipynb"


def _run(replace: dict[str, str] | None = None) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        for old, new in (replace or {}).items():
            if cell.cell_type == "code" and old in cell.source:
                cell.source = cell.source.replace(old, new)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    return nb


def _solution_lines():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    return [c.source for c in nb.cells
            if c.cell_type == "code" and "# --- your code ---" in c.source]


def test_the_assignment_has_two_student_cells():
    sources = _solution_lines()
    assert len(sources) == 2
    assert "def my_elbo(x, logits, mu, logvar):" in sources[0]
    assert "def my_iwae_bound(log_weights):" in sources[1]


def test_the_solution_passes_its_check():
    nb = _run()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))
    assert "my_elbo: all 12 cases pass" in text and "my_iwae_bound: all 24 cases pass" in text


@pytest.mark.parametrize(("old", "new", "match"), [
    ("return torch.logsumexp(log_weights, dim=0) - math.log(log_weights.shape[0])",
     "return log_weights.exp().mean(0).log()", r"underflowing weights \(log w = -1000"),
    ("return log_px_z - kl", "return log_px_z + kl", r"my_elbo: \d+ of 12 cases fail"),
])
def test_a_wrong_solution_fails_its_check(old, new, match):
    with pytest.raises(CellExecutionError, match=match):
        _run({old: new})
