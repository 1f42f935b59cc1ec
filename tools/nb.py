"""Helpers to write chapter notebooks from Python.

An authoring aid; the .ipynb is the source of truth.

Usage in an authoring script:
    from tools.nb import md, code, hidden, write
    write("book/07_vae_on_digits.ipynb", [md("# Title"), code("x = 1"), ...])
then execute in place with `make execute NB=book/07_vae_on_digits.ipynb`.
"""

from __future__ import annotations

import nbformat


def md(text: str) -> nbformat.NotebookNode:
    """A markdown cell."""
    return nbformat.v4.new_markdown_cell(text.strip("\n"))


def code(src: str, *, tags: list[str] | None = None) -> nbformat.NotebookNode:
    """A code cell, optionally tagged (e.g. ``["hide-input"]``)."""
    cell = nbformat.v4.new_code_cell(src.strip("\n"))
    if tags:
        cell.metadata["tags"] = tags
    return cell


def hidden(src: str) -> nbformat.NotebookNode:
    """A code cell removed from the rendered book (``remove-cell``), e.g. an assertion."""
    return code(src, tags=["remove-cell"])


def write(path: str, cells: list[nbformat.NotebookNode]) -> None:
    """Write cells as a notebook with the python3 kernel."""
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, path)
