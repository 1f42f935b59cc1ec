"""tools/repository.py (the one repository setting) and book/_ext/repository.py (the buttons).

Every test that writes works on temporary copies of _config.yml and of made-up chapters; the
real files are only read.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml

from tools import repository as repo

ROOT = Path(__file__).resolve().parent.parent
URL = "https://github.com/example-owner/example-book"

# The chapters' install cell as the team specified it (the address line is what the tool edits).
COLAB_CELL = "\n".join([
    ("# Colab only: install the book's package when it is missing. The address is set in one "
     "place,"),
    "# `repository.url` in _config.yml, and copied here by `python -m tools.repository`.",
    'REPOSITORY = ""',
    "import importlib.util, subprocess, sys  # noqa: E401, E402",
    ('if REPOSITORY and "google.colab" in sys.modules and '
     'importlib.util.find_spec("vae_tutorial") is None:'),
    '    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",',
    '                    f"vae_tutorial[book] @ git+{REPOSITORY}"], check=True)',
])


def _chapter(path: Path, *, colab: bool = True, tags=("remove-cell",), first=True) -> Path:
    cells = [nbformat.v4.new_markdown_cell("# A chapter")]
    body = [nbformat.v4.new_code_cell("import math\nx = math.pi"),
            nbformat.v4.new_markdown_cell("Some prose with REPOSITORY = \"not this\".")]
    if colab:
        cell = nbformat.v4.new_code_cell(COLAB_CELL)
        cell.metadata["tags"] = list(tags)
        body.insert(0 if first else 1, cell)
    nb = nbformat.v4.new_notebook(cells=cells + body)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                 "name": "python3"}
    nbformat.write(nb, path)
    return path


@pytest.fixture
def book(tmp_path):
    """A copy of the real _config.yml and three made-up chapters, in nbformat's layout."""
    config = tmp_path / "_config.yml"
    shutil.copy(ROOT / "_config.yml", config)
    folder = tmp_path / "book"
    folder.mkdir()
    for name in ("01_a.ipynb", "02_b.ipynb", "03_c.ipynb"):
        _chapter(folder / name)
    return config, folder


def _colab_source(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    (i,) = repo.colab_cells(nb)
    return "".join(nb["cells"][i]["source"])


# --- the address ----------------------------------------------------------------------------

@pytest.mark.parametrize("given, expected", [
    ("", ""),
    ("  ", ""),
    (URL, URL),
    (URL + "/", URL),
    (URL + ".git", URL),
    ("https://gitlab.com/owner/name", "https://gitlab.com/owner/name"),
])
def test_normalize_accepts(given, expected):
    assert repo.normalize(given) == expected


@pytest.mark.parametrize("given", [
    "http://github.com/owner/name",                 # not https
    "https://example.org/owner/name",                # a host the theme cannot link to
    "https://github.com/owner",                      # no repository name
    "https://github.com/owner/name/tree/main",       # a page, not the repository
    'https://github.com/owner/na"me',                # would break the cell's string
    "git@github.com:owner/name.git",
])
def test_normalize_rejects(given):
    with pytest.raises(repo.RepositoryError):
        repo.normalize(given)


def test_the_committed_address_is_empty_or_valid():
    # Read-only: the real _config.yml holds "" (no public repository yet) or a real address,
    # never the placeholder that does not exist.
    url = repo.read_config_url(ROOT / "_config.yml")
    assert repo.normalize(url) == url
    assert "vae-derived/vae-derived" not in (ROOT / "_config.yml").read_text(encoding="utf-8")


def test_the_chapters_agree_with_the_committed_address():
    # Read-only: each chapter's first code cell is the Colab cell, hidden from the book, and
    # holds the address _config.yml has (`python -m tools.repository --check`).
    assert repo.check(ROOT / "_config.yml", ROOT / "book") == []


# --- _config.yml ----------------------------------------------------------------------------

def test_set_rewrites_only_the_url_line(book):
    config, folder = book
    before = config.read_text(encoding="utf-8").splitlines()
    old = yaml.safe_load("\n".join(before))
    repo.set_url(URL, config, folder)
    after = config.read_text(encoding="utf-8").splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(before) == len(after) and len(changed) == 1
    assert changed[0][1].strip() == f'url: "{URL}"'
    new = yaml.safe_load("\n".join(after))
    assert new["repository"]["url"] == URL
    old["repository"]["url"] = URL
    assert new == old  # nothing else in the configuration moved
    assert repo.read_config_url(config) == URL


def test_config_without_repository_block_is_an_error(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text("title: x\nhtml:\n  url: not-this-one\n", encoding="utf-8")
    with pytest.raises(repo.RepositoryError):
        repo.write_config_url(URL, config)
    assert repo.read_config_url(config) == ""


# --- the chapters ---------------------------------------------------------------------------

def test_set_writes_every_colab_cell_and_nothing_else(book):
    config, folder = book
    before = {p: p.read_text(encoding="utf-8") for p in repo.chapters(folder)}
    changed = repo.set_url(URL, config, folder)
    assert set(changed) == {config, *before}
    for path, text in before.items():
        now = path.read_text(encoding="utf-8")
        diff = [(a, b) for a, b in zip(text.splitlines(), now.splitlines(), strict=True) if a != b]
        assert len(diff) == 1, diff  # one line of the notebook's JSON
        assert f'REPOSITORY = \\"{URL}\\"' in diff[0][1]
        assert _colab_source(path) == COLAB_CELL.replace('REPOSITORY = ""',
                                                         f'REPOSITORY = "{URL}"')
        # The prose that mentions REPOSITORY is left alone.
        assert 'REPOSITORY = \\"not this\\"' in now
    assert repo.check(config, folder) == []


def test_set_twice_changes_nothing_and_unset_restores(book):
    config, folder = book
    original = {p: p.read_bytes() for p in [config, *repo.chapters(folder)]}
    repo.set_url(URL, config, folder)
    assert repo.set_url(URL, config, folder) == []
    repo.set_url("", config, folder)
    assert repo.check(config, folder) == []
    for path, data in original.items():
        if path != config:  # the config line is now written quoted: url: ""
            assert path.read_bytes() == data
    assert repo.read_config_url(config) == ""


def test_the_notebook_layout_is_nbformats(book):
    # A notebook the tool rewrites is byte-identical to nbformat.write of the same content.
    config, folder = book
    repo.set_url(URL, config, folder)
    path = repo.chapters(folder)[0]
    again = folder / "again.ipynb.txt"
    nbformat.write(nbformat.read(path, as_version=4), again)
    assert path.read_bytes() == again.read_bytes()


def test_set_refuses_when_a_chapter_has_no_colab_cell(book):
    config, folder = book
    _chapter(folder / "04_missing.ipynb", colab=False)
    original = {p: p.read_bytes() for p in [config, *repo.chapters(folder)]}
    with pytest.raises(repo.RepositoryError, match="04_missing"):
        repo.set_url(URL, config, folder)
    assert {p: p.read_bytes() for p in original} == original  # nothing was written


def test_check_reports_each_disagreement(book):
    config, folder = book
    assert repo.check(config, folder) == []
    repo.write_config_url(URL, config)
    problems = repo.check(config, folder)
    assert len(problems) == 3 and all(f'_config.yml has "{URL}"' in p for p in problems)
    repo.set_url(URL, config, folder)
    _chapter(folder / "04_missing.ipynb", colab=False)
    _chapter(folder / "05_late.ipynb", first=False)
    _chapter(folder / "06_shown.ipynb", tags=())
    problems = "\n".join(repo.check(config, folder))
    assert "04_missing.ipynb: 0 Colab cells" in problems
    assert "05_late.ipynb: the Colab cell is not the first code cell" in problems
    assert "06_shown.ipynb: the Colab cell is not tagged remove-cell" in problems
    for name in ("05_late", "06_shown"):  # and their empty address disagrees too
        assert f'{name}.ipynb: REPOSITORY = ""' in problems


def test_cli(book, capsys):
    config, folder = book
    args = ["--config", str(config), "--book", str(folder)]
    assert repo.main(args) == 0
    assert capsys.readouterr().out == ""  # not set: nothing on stdout, a note on stderr
    assert repo.main([URL, *args]) == 0
    assert capsys.readouterr().out.count("wrote ") == 4
    assert repo.main(args) == 0
    assert capsys.readouterr().out.strip() == URL
    assert repo.main(["--check", *args]) == 0
    assert "3 chapters agree" in capsys.readouterr().out
    assert repo.main(["https://example.org/a/b", *args]) == 1
    assert "is not https://" in capsys.readouterr().err
    assert repo.main(["--unset", *args]) == 0
    assert repo.read_config_url(config) == ""
    _chapter(folder / "04_missing.ipynb", colab=False)
    assert repo.main(["--check", *args]) == 1


# --- book/_ext/repository.py: the buttons follow the setting -------------------------------

def _extension():
    spec = importlib.util.spec_from_file_location("book_ext_repository",
                                                  ROOT / "book" / "_ext" / "repository.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Config:
    def __init__(self, url):
        # What Jupyter Book 1 makes of _config.yml (`jupyter-book config sphinx .`).
        self.html_theme_options = {
            "repository_url": url, "repository_branch": "main", "path_to_docs": "",
            "use_edit_page_button": False,
            "launch_buttons": {"notebook_interface": "jupyterlab",
                               "binderhub_url": "https://mybinder.org", "jupyterhub_url": "",
                               "thebe": False, "colab_url": "https://colab.research.google.com",
                               "deepnote_url": ""},
        }


def test_buttons_off_without_an_address():
    config = _Config("")
    _extension()._follow_repository_url(None, config)
    options = config.html_theme_options
    assert not any(options.get(k) for k in ("use_repository_button", "use_issues_button",
                                            "use_edit_page_button", "use_source_button"))
    launch = options["launch_buttons"]
    assert not any(launch[k] for k in ("binderhub_url", "colab_url", "jupyterhub_url",
                                       "deepnote_url", "thebe"))
    assert "use_download_button" not in options  # the theme's default: shown


def test_buttons_follow_an_address():
    config = _Config(URL)
    before = dict(config.html_theme_options)
    _extension()._follow_repository_url(None, config)
    options = config.html_theme_options
    assert options["use_repository_button"] and options["use_issues_button"]
    assert {k: v for k, v in options.items() if not k.startswith("use_")} == {
        k: v for k, v in before.items() if not k.startswith("use_")}  # links, launch: as given
    assert not options["use_edit_page_button"]


def test_a_malformed_address_shows_no_buttons(monkeypatch):
    ext = _extension()
    warned = []
    monkeypatch.setattr(ext.logger, "warning", lambda *a, **k: warned.append(a))
    config = _Config("https://example.org/owner")
    ext._follow_repository_url(None, config)
    assert warned and not config.html_theme_options.get("use_repository_button")
    assert not config.html_theme_options["launch_buttons"]["binderhub_url"]


def test_tool_and_extension_accept_the_same_addresses():
    assert _extension().URL_PATTERN.pattern == repo.URL_PATTERN.pattern


# --- Binder installs the package ------------------------------------------------------------

def test_binder_installs_the_package_with_what_the_chapters_import():
    post = (ROOT / "binder" / "postBuild").read_text(encoding="utf-8")
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111  # executable
    # the core is torch alone (issue 13); the `book` extra brings the chapters' imports
    assert 'pip install --no-cache-dir -e ".[book]"' in post
    reqs = (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert "torch>=2.4" in reqs
