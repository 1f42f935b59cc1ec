"""Book build time: cold build (empty cache), warm rebuild (nothing changed), time per chapter.

The build runs in a copy of the tree under ``/tmp`` (never in the working tree, whose cache and
``_build`` belong to whoever is writing), made of the files git would see: tracked files plus
untracked ones that are not ignored (``git ls-files -co --exclude-standard``), so no
``.jupyter_cache``, ``_build`` or checkpoints come along. Each cold run starts from a fresh copy
and runs ``jupyter-book build . -W -n --keep-going``; the warm runs repeat the same command in the
last copy. The execution time of each chapter is read from the cold build's jupyter-cache records
(``execution_seconds``, what myst-nb measured around nbclient's execution of the notebook).

Run on its own: ``.venv/bin/python benchmarks/build_time.py [--cold 1] [--warm 3]``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, Row, print_rows  # noqa: E402

DEST = Path("/tmp/build-bench")
JUPYTER_BOOK = ROOT / ".venv" / "bin" / "jupyter-book"


def copy_tree(dest: Path = DEST) -> None:
    """A fresh copy of the files git would see (tracked, and untracked but not ignored)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in files.decode().split("\0"):
        src = ROOT / name
        if name and src.is_file():  # deleted-but-tracked files are listed too
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def build(dest: Path = DEST, log: str = "build.log") -> tuple[float, int, list[str]]:
    """Seconds, return code and warning lines of one ``jupyter-book build``; log kept in dest."""
    start = time.perf_counter()
    proc = subprocess.run(
        [str(JUPYTER_BOOK), "build", ".", "-W", "-n", "--keep-going"],
        cwd=dest,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)  # drop colour codes
    warnings = [line for line in text.splitlines() if "WARNING:" in line or "ERROR:" in line]
    (dest / log).write_text(text)
    return seconds, proc.returncode, warnings


def chapter_times(dest: Path = DEST) -> dict[str, float]:
    """Execution seconds of each notebook, from the jupyter-cache records of the build."""
    from jupyter_cache import get_cache

    cache = get_cache(dest / ".jupyter_cache")
    out = {}
    for record in cache.list_cache_records():
        seconds = (record.data or {}).get("execution_seconds")
        if seconds is not None:
            out[Path(record.uri).name] = float(seconds)
    return out


def run(cold: int = 1, warm: int = 3) -> list[Row]:
    b = "book build"
    cold_s, warm_s, notes = [], [], []
    per_chapter: dict[str, list[float]] = {}
    for i in range(cold):
        copy_tree()
        seconds, rc, warnings = build(log=f"build-cold-{i + 1}.log")
        cold_s.append(seconds)
        where = sorted({Path(w.split(":", 1)[0]).name for w in warnings if ":" in w})
        notes.append(
            f"exit {rc}, {len(warnings)} warnings/errors"
            + (f" in {', '.join(where[:4])}" if where else "")
        )
        for name, s in chapter_times().items():
            per_chapter.setdefault(name, []).append(s)
    for j in range(warm):
        seconds, rc, warnings = build(log=f"build-warm-{j + 1}.log")
        warm_s.append(seconds)
    rows = [
        Row(
            b,
            "cold build, empty cache and _build (-W -n --keep-going)",
            cold_s,
            "s",
            target="< 300 s",
            met=median(cold_s) < 300,
            note="; ".join(dict.fromkeys(notes)),
        ),
        Row(
            b,
            "warm rebuild, nothing changed",
            warm_s,
            "s",
            target="< 20 s",
            met=median(warm_s) < 20,
        ),
    ]
    for name in sorted(per_chapter):
        values = per_chapter[name]
        rows.append(
            Row(
                b,
                f"execution of {name} (cold build)",
                values,
                "s",
                target="< 90 s",
                met=median(values) < 90,
            )
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cold", type=int, default=1, help="cold builds (each re-executes every chapter)"
    )
    parser.add_argument(
        "--warm", type=int, default=3, help="warm rebuilds after the last cold build"
    )
    args = parser.parse_args(argv)
    print_rows(run(args.cold, args.warm), "Book build")


if __name__ == "__main__":
    main()
