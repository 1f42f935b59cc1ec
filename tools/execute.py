"""Execute chapter notebooks in place so their saved outputs (compared by nbval) are current.

Usage: python -m tools.execute book/07_vae_on_digits.ipynb [more.ipynb ...]
Runs from the notebook's own folder, as the book build does, and stores widget state: the state
of the widgets this run created (a progress bar), none left over from an earlier run.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat

# The book build's notebook client (sliced waits, timeouts that name the cell, IPC kernels).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
from notebook_execution import WatchedNotebookClient  # noqa: E402


def main(paths: list[str]) -> None:
    for p in map(Path, paths):
        nb = nbformat.read(p, as_version=4)
        # nbclient writes the widget state only when the run made widgets: drop the old one first
        nb.metadata.pop("widgets", None)
        start = time.perf_counter()
        WatchedNotebookClient(
            nb,
            timeout=300,
            notebook_name=str(p),
            kernel_name="python3",
            resources={"metadata": {"path": str(p.parent)}},
            store_widget_state=True,
        ).execute()
        nbformat.write(nb, p)
        print(f"{p}: executed in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
