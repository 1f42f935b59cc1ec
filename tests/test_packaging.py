"""The install (issue 13, item 1): a core of torch alone, extras that together give the book's
install, a LICENSE and ``py.typed`` in the wheel, build outputs ignored by git."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _extra(name: str) -> set[str]:
    """The requirements of an extra, with the package's own extras expanded."""
    out = set()
    for req in PROJECT["optional-dependencies"][name]:
        own = re.fullmatch(r"vae_tutorial\[([\w,]+)\]", req)
        if own:
            for sub in own.group(1).split(","):
                out |= _extra(sub)
        else:
            out.add(req)
    return out


def test_the_core_is_torch_alone():
    assert PROJECT["dependencies"] == ["torch>=2.4"]


def test_requirements_txt_holds_every_requirement_of_the_book_extra():
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    reqs = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    missing = _extra("book") - reqs
    assert not missing, f"requirements.txt (what the Makefile installs) lacks {sorted(missing)}"
    assert {_name(r) for r in _extra("book")} >= {"matplotlib", "mlxtend", "scikit-learn",
                                                  "tqdm", "ipywidgets", "numpy"}


def test_license_is_mit_and_shipped():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "Copyright (c) 2026 The VAE, Derived authors" in text
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]


def test_py_typed_is_package_data():
    assert (ROOT / "vae_tutorial" / "py.typed").is_file()
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    assert "py.typed" in setuptools["setuptools"]["package-data"]["vae_tutorial"]


def test_build_outputs_are_ignored():
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "build/" in ignored and "dist/" in ignored


def test_importing_losses_loads_no_training_plotting_or_widget_library():
    # what importing losses and testing adds to what `import torch` loads by itself (torch
    # imports tqdm and numpy when they are installed, as here; the light install has neither)
    heavy = "('tqdm', 'matplotlib', 'sklearn', 'mlxtend', 'IPython', 'ipywidgets', 'numpy')"
    code = ("import sys, torch; before = set(sys.modules); import vae_tutorial.losses, "
            "vae_tutorial.testing; print(sorted(m for m in set(sys.modules) - before "
            f"if m.split('.')[0] in {heavy}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_the_wheel_holds_every_module_of_the_package(tmp_path):
    """Every .py file under vae_tutorial/ is in the built wheel (a fresh-clone CI run found
    vae_tutorial.models missing: the subpackages were not listed)."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("vae_tutorial-*.whl")
    with zipfile.ZipFile(wheel) as z:
        shipped = {n for n in z.namelist() if n.startswith("vae_tutorial/")}
    wanted = {p.relative_to(ROOT).as_posix() for p in (ROOT / "vae_tutorial").rglob("*.py")}
    assert not wanted - shipped, sorted(wanted - shipped)
    assert "vae_tutorial/py.typed" in shipped
