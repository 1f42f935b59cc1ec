"""Serve the ipywidgets JavaScript from the built book itself, so widgets render offline.

myst-nb writes each notebook's saved widget state into the page and, by default, loads the
script that renders it (``@jupyter-widgets/html-manager``) and require.js from public CDNs, so
with no internet the widgets stay empty. This extension takes the script from the npm package
instead:

1. the first HTML build runs ``npm pack @jupyter-widgets/html-manager@<version>`` (the npm
   registry, the package alone, no dependencies) and unpacks its ``dist/`` folder into
   ``_build/.offline-widgets/jupyter-widgets/`` (kept between builds; ``make clean`` drops it);
2. only what the pages load is staged in ``_build/.offline-widgets/static/jupyter-widgets/``:
   ``embed.js``, its licence notice and the font files whose names ``embed.js`` holds (the
   Font Awesome icons of the controls). The package's ``embed-amd.js`` and
   ``libembed-amd.js`` (7.2 MB, for require.js pages) are loaded by no page and left out;
   files from an earlier build that are no longer staged are removed from the site;
3. that staging folder goes to ``html_static_path``, so it is copied to
   ``_static/jupyter-widgets/``;
4. ``nb_ipywidgets_js`` points myst-nb at ``_static/jupyter-widgets/embed.js``.

The html-manager typesets widget labels with MathJax 2's ``MathJax.Hub.Queue``; the book runs
MathJax 3, so ``_static/widgets-mathjax3-shim.js`` (beside this file) is loaded first and gives
MathJax 3 a ``Hub.Queue`` that calls ``typesetPromise``.

In the static page a widget's controls move but its output stays as saved (the Python that
recomputes it needs a kernel): ``_static/widgets-static-note.js`` adds a one-line note under
each widget that has controls, saying how to run the chapter (and pointing to the launch
buttons where the page has them). Widgets whose controls only
switch between precomputed outputs through front-end links (``vae_tutorial.widgets.image_slider``,
container class ``vae-offline-widget``) work with no kernel and get no note.

``embed.js`` bundles ``@jupyter-widgets/base``, ``controls`` and ``output`` (all the book's
explorers use) with their Font Awesome fonts, and needs no require.js. It cannot load
third-party widget libraries, which would come from a CDN.

Where npm is missing or the registry cannot be reached, the build warns (``-W`` makes that an
error). A folder whose ``jupyter-widgets/`` subfolder already holds ``embed.js`` can be given
with the environment variable ``VAE_WIDGETS_JS_DIR`` to skip npm.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from npm_pack import npm_pack, stage
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: The html-manager release that renders ipywidgets 8 state (controls model version 2.0.0).
HTML_MANAGER = "@jupyter-widgets/html-manager@1.0.15"
#: Subfolder of ``_static`` the script and its fonts are copied to.
STATIC_SUBDIR = "jupyter-widgets"
#: Loaded before embed.js: gives MathJax 3 the MathJax 2 ``Hub.Queue`` the html-manager calls.
SHIM = "widgets-mathjax3-shim.js"
#: Loaded after embed.js: a one-line note under each widget with controls (static snapshot).
NOTE = "widgets-static-note.js"
#: Staged besides embed.js and the files it names: the licence notices of what it bundles.
LICENSE = "embed.js.LICENSE.txt"


def _fetch(dest: Path) -> None:
    """Unpack the html-manager's ``dist/`` (without source maps) from npm into ``dest``."""
    with tempfile.TemporaryDirectory() as tmp:
        tgz = npm_pack(HTML_MANAGER, Path(tmp))
        staging = Path(tmp) / STATIC_SUBDIR
        staging.mkdir()
        with tarfile.open(tgz) as tar:
            for member in tar.getmembers():
                name = member.name
                if not (member.isfile() and name.startswith("package/dist/")):
                    continue
                rel = name[len("package/dist/"):]
                if "/" in rel or ".." in rel or rel.endswith(".map"):
                    continue
                (staging / rel).write_bytes(tar.extractfile(member).read())
        if not (staging / "embed.js").is_file():
            raise RuntimeError(f"{HTML_MANAGER} has no dist/embed.js")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(staging, dest)


def _widgets_root(app: Sphinx) -> Path:
    given = os.environ.get("VAE_WIDGETS_JS_DIR")
    return Path(given).resolve() if given else Path(app.outdir).parent / ".offline-widgets"


def _staging_root(app: Sphinx) -> Path:
    """The ``html_static_path`` entry: holds ``jupyter-widgets/`` with what the pages load."""
    return Path(app.outdir).parent / ".offline-widgets" / "static"


def loaded_files(folder: Path) -> list[str]:
    """``embed.js``, its licence notice and every file of ``folder`` that ``embed.js`` names.

    webpack refers to each font it bundles by its hashed file name (``n.p+"<hash>.woff2"``),
    so a file whose name is not in ``embed.js`` is never requested by a page.
    """
    script = (folder / "embed.js").read_text(encoding="utf-8", errors="replace")
    named = set(re.findall(r'"([0-9A-Za-z_.-]+\.(?:woff2?|ttf|eot|svg|otf))"', script))
    kept = ["embed.js", *sorted(p.name for p in folder.iterdir()
                                  if p.is_file() and p.name in named)]
    if (folder / LICENSE).is_file():
        kept.append(LICENSE)
    return kept


def _configure(app: Sphinx, config) -> None:
    # Set at config-inited, before the environment compares its configuration with the last
    # build's, so an incremental build does not re-read every page. A relative script path is
    # served from _static; myst-nb adds it only to pages that hold widget state.
    staging = _staging_root(app)
    staging.mkdir(parents=True, exist_ok=True)  # Sphinx drops html_static_path entries not there
    shim = Path(__file__).parent / "_static"
    config.html_static_path = [*config.html_static_path, str(staging), str(shim)]
    config.nb_ipywidgets_js = {SHIM: {}, f"{STATIC_SUBDIR}/embed.js": {}, NOTE: {}}


def _ensure_fetched(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    folder = _widgets_root(app) / STATIC_SUBDIR
    if not (folder / "embed.js").is_file():
        if os.environ.get("VAE_WIDGETS_JS_DIR"):
            logger.warning("VAE_WIDGETS_JS_DIR has no %s/embed.js; the book's widgets stay "
                           "empty", STATIC_SUBDIR, type="offline_widgets", subtype="fetch")
            return
        logger.info("offline_widgets: fetching %s with npm pack", HTML_MANAGER)
        try:
            _fetch(folder)
        except (OSError, RuntimeError, subprocess.SubprocessError) as err:
            detail = getattr(err, "stderr", None) or err
            logger.warning("could not fetch %s (%s); the book's widgets stay empty",
                           HTML_MANAGER, str(detail).strip(), type="offline_widgets",
                           subtype="fetch")
            return
    kept = loaded_files(folder)
    stage(folder, kept, _staging_root(app) / STATIC_SUBDIR)
    app._offline_widgets_files = kept


def _prune_site(app: Sphinx, exception) -> None:
    # Sphinx copies static files over the last build's and never deletes: drop from the site
    # what an earlier build shipped and this one no longer stages (the embed-amd bundles).
    kept = getattr(app, "_offline_widgets_files", None)
    if exception is not None or not kept or app.builder.format != "html":
        return
    site = Path(app.outdir) / "_static" / STATIC_SUBDIR
    if site.is_dir():
        for old in site.iterdir():
            if old.is_file() and old.name not in kept:
                old.unlink()


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _configure)
    app.connect("builder-inited", _ensure_fetched)
    app.connect("build-finished", _prune_site)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
