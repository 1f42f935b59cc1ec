"""The repository passes ruff with the settings of pyproject.toml's ``[tool.ruff]``: the package,
the tests, the tools, the benchmarks and the chapters (ruff reads the notebooks' code cells).

``requirements.txt`` installs ruff, so the test fails, rather than skips, where it is missing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _ruff() -> str:
    found = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert found, "ruff is not installed: `pip install -r requirements.txt` installs it"
    return found


def test_ruff_check_passes() -> None:
    run = subprocess.run([_ruff(), "check", "--no-cache", "--output-format", "concise", "."],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    assert run.returncode == 0, f"ruff check . found:\n{run.stdout}{run.stderr}"


def test_ruff_sees_a_finding(tmp_path: Path) -> None:
    """The check can fail: an unused import in a file beside the project's settings is found."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "bad.py").write_text("import os\n")
    run = subprocess.run([_ruff(), "check", "--no-cache", "."], cwd=tmp_path,
                         capture_output=True, text=True, check=False)
    assert run.returncode == 1 and "F401" in run.stdout, run.stdout + run.stderr
