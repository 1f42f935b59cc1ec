"""The book's repository address: one setting, copied into every chapter's Colab cell.

The address lives in ``_config.yml`` as ``repository.url`` (empty while the project has no
public repository). The book shows the repository, issues and launch (Binder, Colab) buttons
only where it is set (``book/_ext/repository.py``). Each chapter's first code cell, hidden from
the book (tag ``remove-cell``), installs ``vae_tutorial`` in Colab when it is missing; it starts
with the line ``# Colab only`` and holds the address as ``REPOSITORY = "..."``.

Usage (from the repository root)::

    python -m tools.repository            # print the address ("" where none is set)
    python -m tools.repository URL        # set it in _config.yml and in every Colab cell
    python -m tools.repository --unset    # clear it everywhere
    python -m tools.repository --check    # exit 1 unless every chapter's Colab cell agrees

``URL`` is ``https://<github.com|gitlab.com|bitbucket.org>/<owner>/<name>`` (the theme derives
the Binder and Colab links from its last two parts; ``pip install git+URL`` installs from it).
Only the ``url:`` line of ``_config.yml`` and the ``REPOSITORY`` line of each Colab cell are
rewritten; a notebook is written back (in nbformat's layout) only where that line changes. A
changed cell makes the next book build execute the chapter again (``execute_notebooks: cache``).
``--config`` and ``--book`` point the tool at other copies (the tests use temporary ones).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "_config.yml"
BOOK = ROOT / "book"

#: How the Colab install cell's first line starts.
MARKER = "# Colab only"
#: The line of that cell that holds the address.
LINE = re.compile(r'^REPOSITORY = (?P<value>.*?)[ \t]*$', re.MULTILINE)
#: What an address must look like (same rule as book/_ext/repository.py).
URL_PATTERN = re.compile(
    r"https://(github\.com|gitlab\.com|bitbucket\.org)/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+"
)


class RepositoryError(ValueError):
    """A file the tool reads is not as it expects."""


def normalize(url: str) -> str:
    """``url`` without surrounding space, trailing ``/`` or ``.git``; ``""`` stays ``""``.

    Raises:
        RepositoryError: where it is not ``https://<github.com|gitlab.com|bitbucket.org>/
            <owner>/<name>``.
    """
    url = url.strip().rstrip("/")
    if url.endswith(".git"):
        url = url[: -len(".git")]
    if url and not URL_PATTERN.fullmatch(url):
        raise RepositoryError(
            f"{url!r} is not https://<github.com|gitlab.com|bitbucket.org>/<owner>/<name>")
    return url


# --- _config.yml -------------------------------------------------------------------------------

def _url_line(lines: list[str]) -> int:
    """Index of the ``url:`` line inside the top-level ``repository:`` block."""
    inside = False
    for i, line in enumerate(lines):
        if re.match(r"^repository:\s*(#.*)?$", line):
            inside = True
            continue
        if inside:
            if line.strip() == "" or line.lstrip().startswith("#"):
                continue
            if not line[:1].isspace():  # the next top-level key: the block has no url
                break
            if re.match(r"^\s+url:", line):
                return i
    raise RepositoryError("_config.yml has no `url:` line under a top-level `repository:`")


def read_config_url(config: Path = CONFIG) -> str:
    """``repository.url`` of ``config`` (``""`` where empty or absent)."""
    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    repo = data.get("repository") or {}
    return str(repo.get("url") or "").strip()


def write_config_url(url: str, config: Path = CONFIG) -> bool:
    """Set ``repository.url`` in ``config``, rewriting only that line. True if it changed."""
    text = config.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    i = _url_line(lines)
    indent = re.match(r"^(\s*)", lines[i]).group(1)
    end = "\n" if lines[i].endswith("\n") else ""
    new = f'{indent}url: "{url}"{end}'
    if lines[i] == new:
        return False
    lines[i] = new
    config.write_text("".join(lines), encoding="utf-8")
    if read_config_url(config) != url:  # never leave a file that says something else
        config.write_text(text, encoding="utf-8")
        raise RepositoryError(f"could not write repository.url = {url!r} into {config}")
    return True


# --- the chapters' Colab cells -----------------------------------------------------------------

def chapters(book: Path = BOOK) -> list[Path]:
    """The chapter notebooks: ``book/*.ipynb`` (checkpoints aside), sorted."""
    return sorted(p for p in book.glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def colab_cells(nb: dict) -> list[int]:
    """Indices of the code cells whose first line starts with ``# Colab only``."""
    return [i for i, cell in enumerate(nb.get("cells", []))
            if cell.get("cell_type") == "code" and _source(cell).startswith(MARKER)]


def cell_url(cell: dict) -> str:
    """The address in a Colab cell's ``REPOSITORY = "..."`` line."""
    found = LINE.findall(_source(cell))
    if len(found) != 1:
        raise RepositoryError(f"{len(found)} `REPOSITORY = ` lines in the Colab cell (need 1)")
    value = found[0]
    if not re.fullmatch(r'"[^"\\]*"', value):
        raise RepositoryError(f"REPOSITORY = {value} is not a plain double-quoted string")
    return value[1:-1]


def _with_url(cell: dict, url: str) -> dict:
    src = LINE.sub(lambda m: f'REPOSITORY = "{url}"', _source(cell), count=1)
    if isinstance(cell.get("source"), list):
        cell["source"] = src.splitlines(keepends=True)
    else:
        cell["source"] = src
    return cell


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise RepositoryError(f"{path}: not a notebook ({err})") from err


def _write(path: Path, nb: dict) -> None:
    # nbformat.write's layout, so an untouched notebook diffs only on the changed line.
    path.write_text(json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n",
                    encoding="utf-8")


def write_notebook_url(path: Path, url: str) -> bool:
    """Write ``url`` into the notebook's Colab cell. True if the file changed.

    Raises:
        RepositoryError: where the notebook has no Colab cell, or more than one.
    """
    nb = _read(path)
    found = colab_cells(nb)
    if len(found) != 1:
        raise RepositoryError(f"{path}: {len(found)} Colab cells (need exactly 1)")
    cell = nb["cells"][found[0]]
    if cell_url(cell) == url:
        return False
    _with_url(cell, url)
    _write(path, nb)
    return True


def check(config: Path = CONFIG, book: Path = BOOK) -> list[str]:
    """Every disagreement: a chapter without exactly one Colab cell, not the first code cell,
    not tagged ``remove-cell``, or holding another address than ``repository.url``."""
    problems = []
    try:
        url = normalize(read_config_url(config))
    except RepositoryError as err:
        return [f"{config}: repository.url: {err}"]
    notebooks = chapters(book)
    if not notebooks:
        problems.append(f"{book}: no chapter notebooks")
    for path in notebooks:
        try:
            nb = _read(path)
        except RepositoryError as err:
            problems.append(str(err))
            continue
        found = colab_cells(nb)
        if len(found) != 1:
            problems.append(f"{path.name}: {len(found)} Colab cells (need exactly 1)")
            continue
        cells = nb["cells"]
        first_code = next(i for i, c in enumerate(cells) if c.get("cell_type") == "code")
        if found[0] != first_code:
            problems.append(f"{path.name}: the Colab cell is not the first code cell")
        tags = (cells[found[0]].get("metadata") or {}).get("tags") or []
        if "remove-cell" not in tags:
            problems.append(f"{path.name}: the Colab cell is not tagged remove-cell")
        try:
            got = cell_url(cells[found[0]])
        except RepositoryError as err:
            problems.append(f"{path.name}: {err}")
            continue
        if got != url:
            problems.append(f'{path.name}: REPOSITORY = "{got}", _config.yml has "{url}"')
    return problems


def set_url(url: str, config: Path = CONFIG, book: Path = BOOK) -> list[Path]:
    """Set the address in ``config`` and every chapter; the files that changed.

    Every chapter is checked for exactly one Colab cell before any file is written.
    """
    url = normalize(url)
    notebooks = chapters(book)
    for path in notebooks:
        found = colab_cells(_read(path))
        if len(found) != 1:
            raise RepositoryError(f"{path}: {len(found)} Colab cells (need exactly 1); "
                                  "nothing was written")
        cell_url(_read(path)["cells"][found[0]])
    changed = [config] if write_config_url(url, config) else []
    changed += [p for p in notebooks if write_notebook_url(p, url)]
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.repository",
        description="Print, set or check the book's repository address (repository.url).")
    parser.add_argument("url", nargs="?", help="the address to set, https://github.com/OWNER/NAME")
    parser.add_argument("--unset", action="store_true", help="clear the address everywhere")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 unless every chapter's Colab cell agrees with _config.yml")
    parser.add_argument("--config", type=Path, default=CONFIG, help="default: %(default)s")
    parser.add_argument("--book", type=Path, default=BOOK,
                        help="folder of the chapter notebooks (default: %(default)s)")
    args = parser.parse_args(argv)
    if sum([args.url is not None, args.unset, args.check]) > 1:
        parser.error("give one of URL, --unset, --check")
    try:
        if args.check:
            problems = check(args.config, args.book)
            for line in problems:
                print(line, file=sys.stderr)
            if problems:
                return 1
            url = read_config_url(args.config)
            print(f"{len(chapters(args.book))} chapters agree with _config.yml: "
                  f"repository.url = \"{url}\"")
            return 0
        if args.url is None and not args.unset:
            url = read_config_url(args.config)
            if url:
                print(url)
            else:
                print("repository.url is not set: no repository or launch buttons are shown",
                      file=sys.stderr)
            return 0
        url = "" if args.unset else args.url
        changed = set_url(url, args.config, args.book)
    except RepositoryError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for path in changed:
        print(f"wrote {path}")
    if not changed:
        print("nothing to change")
    return 0


if __name__ == "__main__":
    sys.exit(main())
