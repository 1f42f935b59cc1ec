"""Draw the book's explorers (Vega-Lite charts from ``vae_tutorial.explorers``) in the static page.

An explorer cell's output has the MIME type ``application/vnd.vegalite.v5+json``: JupyterLab
draws it with its own Vega renderer; myst-nb has no renderer for it. This extension

1. puts that MIME type first for HTML (``nb_mime_priority_overrides``; other builders, the
   PDF, keep the ``text/plain`` summary);
2. renders it as ``<div class="vae-explorer">`` holding the specification as JSON, which
   ``_static/vae-explorers.js`` hands to ``vegaEmbed`` (SVG renderer, no action menu) when the
   page loads;
3. serves vega, vega-lite and vega-embed from the site: the first HTML build runs
   ``npm pack`` for the pinned versions below (the npm registry, each package alone) and keeps
   their ``build/*.min.js`` and licence in ``_build/.vega-explorers/`` (``make clean`` drops it;
   the environment variable ``VAE_VEGA_JS_DIR`` names a folder that already holds them);
4. adds those scripts (deferred: they run in order once the page is parsed, after its first
   paint), the loader and ``vae-explorers.css`` only to pages with an explorer.

The versions are the majors that JupyterLab 4 draws (Vega 5, Vega-Lite 5), so one
specification renders the same in both places.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from docutils import nodes
from npm_pack import npm_pack, stage
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

MIME_TYPE = "application/vnd.vegalite.v5+json"
#: npm package -> the file of its ``build/`` folder that the pages load (in this order).
PACKAGES = {
    "vega@5.33.1": "vega.min.js",
    "vega-lite@5.23.0": "vega-lite.min.js",
    "vega-embed@6.29.0": "vega-embed.min.js",
}
STATIC_SUBDIR = "vega"
LOADER = "vae-explorers.js"
STYLE = "vae-explorers.css"
CLASS = "vae-explorer"


def _fetch(dest: Path) -> None:
    """``npm pack`` each package and copy its script and licence into ``dest``."""
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp) / "out"
        staging.mkdir()
        for spec, script in PACKAGES.items():
            tgz = npm_pack(spec, Path(tmp))
            with tarfile.open(tgz) as tar:
                names = set(tar.getnames())
                member = f"package/build/{script}"
                if member not in names:
                    raise RuntimeError(f"{spec} has no {member}")
                (staging / script).write_bytes(tar.extractfile(member).read())
                # the licence: its file where the package ships one (vega 5 does not; its
                # package.json names the licence)
                if "package/LICENSE" in names:
                    notice = tar.extractfile("package/LICENSE").read()
                else:
                    meta = json.loads(tar.extractfile("package/package.json").read())
                    notice = (f"{meta['name']} {meta['version']}: {meta.get('license')} licence, "
                              f"{meta.get('homepage', '')}\n").encode()
                (staging / f"{script}.LICENSE.txt").write_bytes(notice)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(staging, dest)


def _root(app: Sphinx) -> Path:
    given = os.environ.get("VAE_VEGA_JS_DIR")
    return Path(given).resolve() if given else Path(app.outdir).parent / ".vega-explorers"


def _configure(app: Sphinx, config) -> None:  # noqa: ANN001
    staging = Path(app.outdir).parent / ".vega-explorers-static"
    (staging / STATIC_SUBDIR).mkdir(parents=True, exist_ok=True)
    config.html_static_path = [*config.html_static_path, str(staging)]
    config.nb_mime_priority_overrides = [
        *config.nb_mime_priority_overrides, ("html", MIME_TYPE, 1), ("dirhtml", MIME_TYPE, 1),
    ]
    app._vega_staging = staging


def _ensure_fetched(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    folder = _root(app)
    if not all((folder / s).is_file() for s in PACKAGES.values()):
        if os.environ.get("VAE_VEGA_JS_DIR"):
            logger.warning("VAE_VEGA_JS_DIR lacks %s; the explorers stay empty",
                           ", ".join(PACKAGES.values()), type="vega_explorers", subtype="fetch")
            return
        logger.info("vega_explorers: fetching %s with npm pack", ", ".join(PACKAGES))
        try:
            _fetch(folder)
        except (OSError, RuntimeError, KeyError, subprocess.SubprocessError) as err:
            detail = getattr(err, "stderr", None) or err
            logger.warning("could not fetch vega (%s); the explorers stay empty",
                           str(detail).strip(), type="vega_explorers", subtype="fetch")
            return
    names = [n for script in PACKAGES.values() for n in (script, f"{script}.LICENSE.txt")]
    stage(folder, names, app._vega_staging / STATIC_SUBDIR)


def _html(spec: object) -> str:
    text = json.dumps(spec, sort_keys=True).replace("</", "<\\/")
    name = spec.get("usermeta", {}).get("explorer", "") if isinstance(spec, dict) else ""
    return (f'<div class="{CLASS}" data-explorer="{name}">'
            f'<div class="vae-explorer-view"></div>'
            f'<script type="application/json" class="vae-explorer-spec">{text}</script>'
            "<noscript>This explorer needs JavaScript.</noscript></div>")


def _patch_myst_nb() -> None:
    # myst-nb finds mime renderers only through package entry points; a book-local extension
    # has none, so it wraps the block-level dispatch for the one MIME type it draws.
    from myst_nb.core.render import NbElementRenderer

    if getattr(NbElementRenderer.render_mime_type, "_vae_explorers", False):
        return
    original = NbElementRenderer.render_mime_type

    def render_mime_type(self, data):  # noqa: ANN001, ANN202
        if data.mime_type == MIME_TYPE:
            content = data.content
            spec = json.loads(content) if isinstance(content, str) else content
            return [nodes.raw("", _html(spec), format="html", classes=["output", CLASS])]
        return original(self, data)

    render_mime_type._vae_explorers = True
    NbElementRenderer.render_mime_type = render_mime_type


def _page(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:  # noqa: ANN001
    if doctree is None or not any(CLASS in n.get("classes", ())
                                  for n in doctree.findall(nodes.raw)):
        return
    # deferred (run in this order once the page is parsed): 0.8 MB of script that would
    # otherwise hold up the first paint
    for script in PACKAGES.values():
        app.add_js_file(f"{STATIC_SUBDIR}/{script}", loading_method="defer")
    app.add_js_file(LOADER, loading_method="defer")
    app.add_css_file(STYLE)


def setup(app: Sphinx) -> dict:
    _patch_myst_nb()
    app.connect("config-inited", _configure)
    app.connect("builder-inited", _ensure_fetched)
    app.connect("html-page-context", _page)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
