"""Front-end files from npm for the book's extension that serves scripts from the site instead
of a CDN (``vega_explorers``: vega, vega-lite and vega-embed): :func:`npm_pack` fetches one
package (alone, no dependencies, no install), the caller unpacks what its pages load from the
tarball into a cache folder, and :func:`stage` copies exactly those files into the folder that
goes to ``html_static_path``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def npm_pack(spec: str, dest: Path) -> Path:
    """Download ``spec`` (e.g. ``"vega@5.33.1"``) as a tarball into ``dest``; return its path.

    Raises:
        RuntimeError: If npm is not on PATH.
        subprocess.CalledProcessError: If npm fails (unknown package, registry unreachable).
    """
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not on PATH")
    out = subprocess.run(
        [npm, "pack", "--silent", "--pack-destination", str(dest), spec],
        check=True, capture_output=True, text=True, timeout=600,
    )
    return Path(dest) / out.stdout.strip().splitlines()[-1]


def stage(source: Path, names: list[str], staging: Path) -> None:
    """Make ``staging`` hold exactly the files ``names`` of ``source``.

    A file is copied only where its size or modification time differ from the staged copy (so
    an unchanged file keeps its time and Sphinx need not copy it again); anything else in
    ``staging`` (left by an earlier build) is removed.
    """
    staging.mkdir(parents=True, exist_ok=True)
    for old in staging.iterdir():
        if old.name not in names:
            old.unlink() if old.is_file() or old.is_symlink() else shutil.rmtree(old)
    for name in names:
        src, dst = source / name, staging / name
        stat = src.stat()
        if not (dst.is_file() and dst.stat().st_size == stat.st_size
                and dst.stat().st_mtime == stat.st_mtime):
            shutil.copy2(src, dst)
