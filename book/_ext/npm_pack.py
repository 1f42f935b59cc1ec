"""``npm pack`` one package from the npm registry into a folder, for the book's extensions that
serve front-end scripts from the site instead of a CDN (``offline_widgets``: the ipywidgets
html-manager; ``vega_explorers``: vega, vega-lite and vega-embed). The package alone, no
dependencies and no install; the caller unpacks what its pages load from the tarball.
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
