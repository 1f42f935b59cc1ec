"""Lighter pages: each page loads the scripts and icons it uses, and shows its text before MathJax.

A chapter page once loaded 6.1 MB offline, 2.7 MB of it two scripts that every page loaded
whatever it showed. ``benchmarks/page_load.py`` measures every page and
``tests/test_page_weight.py`` holds each under 4 MB. This extension:

1. **Icons as inline SVG, no Font Awesome script.** pydata-sphinx-theme loads Font Awesome's
   JavaScript (``_static/scripts/fontawesome.js``, 1.49 MB, all 2,000 icons), which replaces
   each ``<i class="fa-solid fa-bars">`` (or ``<span>``) with an ``<svg>`` once the page has
   loaded. Here every rendered page has those icons replaced at build time with the same
   ``<svg>`` (classes, ``data-*`` and ``title`` kept, the family class dropped,
   ``svg-inline--fa`` added, as the script does; ``vae-book.css`` sizes them), from the SVG
   files of the npm package ``@fortawesome/fontawesome-free`` at the theme's version (fetched
   once with ``npm pack``, as ``vega_explorers`` fetches vega, into ``_build/.fontawesome/``;
   ``VAE_FONTAWESOME_DIR`` names a folder that already holds its ``svgs/``), and the script's
   ``<script>`` tag is dropped. An icon with no SVG file is left as it was (the theme's
   webfont CSS draws it) and the build warns; where the package cannot be fetched, the pages
   keep the script (and the build warns).
2. **The theme's CSS icons from a 2 kB font.** The theme's stylesheets draw a few icons with
   the webfont (admonition titles, external links, breadcrumbs), which pulled the whole
   156 kB ``fa-solid-900.woff2``. The build subsets the package's ``fa-solid-900.ttf`` to the
   characters those stylesheets use (fontTools, which matplotlib brings; WOFF) and the pages
   load its ``@font-face`` after the theme's, so the browser fetches the subset.
3. **No search index on every page.** The theme loads ``searchtools.js``, ``language_data.js``
   and ``searchindex.js`` (0.12 MB, in ``<head>``, blocking the first paint) on every page for
   its search-as-you-type, which is off (``search_as_you_type = False``; its script returns at
   once then). They are dropped except on ``search.html``, which loads them itself. Likewise
   sphinx-design's stylesheet and script (62 kB) on a page with no sphinx-design element.
4. **MathJax without its menu.** sphinx-mathjax-offline serves ``tex-chtml.js`` (1.16 MB:
   MathJax's core, TeX input, CommonHTML output, the TeX fonts' metrics, the assistive MathML
   and the 0.43 MB context menu). The pages load ``startup.js`` instead, which loads the same
   components but the menu (``loader.load``: ``input/tex``, ``output/chtml``,
   ``a11y/assistive-mml``; 0.76 MB with the core); TeX packages beyond ``input/tex``'s
   (``boldsymbol``, ...) are loaded by its autoload when a page needs them. ``startup.js`` is
   small and deferred and loads the rest asynchronously, so neither ``DOMContentLoaded`` nor
   the first paint waits for MathJax. (The reader loses MathJax's right-click menu.)

Checked in a browser by ``tests/test_page_weight.py`` (weight, icons drawn, no Font Awesome
script) and ``tests/test_browser.py`` (math typeset, no raw TeX, no console error).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from npm_pack import npm_pack
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: The theme's Font Awesome (pydata-sphinx-theme 0.17 vendors 6.5.2).
FONTAWESOME = "@fortawesome/fontawesome-free@6.5.2"
FAMILIES = {"fa-solid": "solid", "fas": "solid", "fa-regular": "regular", "far": "regular",
            "fa-brands": "brands", "fab": "brands"}
NOT_ICONS = {"fa-lg", "fa-xs", "fa-sm", "fa-xl", "fa-2xl", "fa-fw", "fa-spin", "fa-pulse",
             "fa-border", "fa-inverse", "fa-1x", "fa-2x", "fa-3x", "fa-4x", "fa-5x"}
ICON = re.compile(r'<(i|span)\s+([^<>]*?\bclass="[^"]*\bfa-[^"]*"[^<>]*)>\s*</\1>')
ATTRIBUTE = re.compile(r'([a-zA-Z][\w:-]*)="([^"]*)"')
SVG = re.compile(r'<svg[^>]*\bviewBox="([^"]+)"[^>]*>(.*)</svg>', flags=re.S)
FONTAWESOME_SCRIPT = re.compile(
    r'[ \t]*<script\b[^>]*\bsrc="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*></script>\n?')
SEARCH_SCRIPTS = re.compile(
    r'[ \t]*<script src="[^"]*(?:_static/searchtools\.js|_static/language_data\.js|'
    r'searchindex\.js)"></script>\n?')
NOTICE = ("<!-- Icons: Font Awesome Free 6.5.2 by @fontawesome, CC BY 4.0, "
          "https://fontawesome.com/license/free -->")
SOLID_TTF = "webfonts/fa-solid-900.ttf"
SUBSET_DIR = "fontawesome"
SUBSET_FONT = "fa-solid-900-icons.woff"
SUBSET_CSS = "vae-icon-font.css"
#: A quoted CSS string holding a private-use character, literal or escaped (\f107).
PUA = re.compile(r'"((?:[\ue000-\uf8ff]|\\[eEfF][0-9a-fA-F]{3})+)"')
SPHINX_DESIGN = re.compile(
    r'[ \t]*<(?:link rel="stylesheet" type="text/css" href="[^"]*_static/sphinx-design\.min\.css'
    r'[^"]*" />|script [^>]*src="[^"]*_static/design-tabs\.js[^"]*"></script>)\n?')
#: MathJax components the pages load (the context menu, ``ui/menu``, left out).
MATHJAX_PATH = "mathjax/startup.js"
MATHJAX_LOAD = ["input/tex", "output/chtml", "a11y/assistive-mml"]


def _fetch(dest: Path) -> None:
    """``npm pack`` Font Awesome Free and keep its ``svgs/`` and licence in ``dest``."""
    with tempfile.TemporaryDirectory() as tmp:
        tgz = npm_pack(FONTAWESOME, Path(tmp))
        staging = Path(tmp) / "out"
        with tarfile.open(tgz) as tar:
            for member in tar.getmembers():
                name = member.name.removeprefix("package/")
                if member.isfile() and (name.startswith("svgs/") and name.endswith(".svg")
                                        or name in ("LICENSE.txt", SOLID_TTF)):
                    target = staging / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(tar.extractfile(member).read())
        if not (staging / "svgs" / "solid").is_dir():
            raise RuntimeError(f"{FONTAWESOME} has no svgs/solid/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(staging, dest)


class _Icons:
    """The SVG of each icon (``(family, name)`` -> ``(viewBox, inner markup)``), read once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.cache: dict[tuple[str, str], tuple[str, str] | None] = {}
        self.missing: set[str] = set()

    def get(self, family: str, name: str) -> tuple[str, str] | None:
        key = (family, name)
        if key not in self.cache:
            path = self.folder / "svgs" / family / f"{name}.svg"
            found = SVG.search(path.read_text()) if path.is_file() else None
            if found is None:
                self.cache[key] = None
            else:
                inner = re.sub(r"<!--.*?-->", "", found.group(2), flags=re.S)
                inner = inner.replace("<path ", '<path fill="currentColor" ')
                self.cache[key] = (found.group(1), inner)
        return self.cache[key]

    def replace(self, match: re.Match) -> str:
        attributes = dict(ATTRIBUTE.findall(match.group(2)))
        classes = attributes.pop("class").split()
        family = next((FAMILIES[c] for c in classes if c in FAMILIES), "solid")
        names = [c[3:] for c in classes if c.startswith("fa-") and c not in FAMILIES
                 and c not in NOT_ICONS]
        icon = self.get(family, names[0]) if len(names) == 1 else None
        if icon is None:
            self.missing.add(" ".join(classes))
            return match.group(0)
        view_box, inner = icon
        kept = [c for c in classes if c not in FAMILIES]
        title = attributes.pop("title", None)
        extra = "".join(f' {k}="{v}"' for k, v in attributes.items()
                        if k.startswith(("data-", "aria-")) or k in ("id", "style"))
        title_tag = f"<title>{title}</title>" if title else ""
        return (f'<svg class="svg-inline--fa {" ".join(kept)}"{extra} aria-hidden="true" '
                f'focusable="false" role="img" xmlns="http://www.w3.org/2000/svg" '
                f'viewBox="{html.escape(view_box)}">{title_tag}{inner}</svg>')


def css_icon_codepoints(css: str) -> set[int]:
    """The private-use characters (Font Awesome icons) a stylesheet draws with ``content``:
    its custom properties (``--pst-icon-note: "\\f05a"``) and pseudo-elements, leaving out
    Font Awesome's own ``.fa-NAME:before`` rules (drawn only for an ``<i>``, which the pages no
    longer have)."""
    points: set[int] = set()
    for rule in css.split("}"):
        selector, _, body = rule.rpartition("{")
        selectors = [x.strip() for x in selector.split(",") if x.strip()]
        if selectors and all(x.startswith(".fa") for x in selectors):
            continue
        for text in PUA.findall(body):
            for piece in re.findall(r"\\[eEfF][0-9a-fA-F]{3}|.", text):
                points.add(int(piece[1:], 16) if piece.startswith("\\") else ord(piece))
    return points


def subset_icon_font(theme_css: list[Path], ttf: Path, dest: Path) -> list[int]:
    """Write ``dest/SUBSET_FONT`` (the solid icons the theme's CSS draws, as WOFF) and
    ``dest/SUBSET_CSS`` (its ``@font-face``, which the pages load after the theme's, so that
    the browser fetches it instead of the 156 kB ``fa-solid-900.woff2``); return the codepoints.
    """
    from fontTools import subset

    points = sorted(set().union(*(css_icon_codepoints(p.read_text()) for p in theme_css)))
    options = subset.Options()
    options.flavor = "woff"  # zlib; WOFF2 would need brotli
    options.layout_features = []
    font = subset.load_font(str(ttf), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=points)
    subsetter.subset(font)
    dest.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(dest / SUBSET_FONT), options)
    (dest / SUBSET_CSS).write_text(
        "/* The solid icons the theme's stylesheets draw (admonitions, links, breadcrumbs), a\n"
        " * subset of Font Awesome Free 6.5.2 (SIL OFL 1.1) made by book/_ext/page_weight.py.\n"
        " * Defined after the theme's @font-face, so the browser fetches this one. */\n"
        '@font-face{font-display:block;font-family:"Font Awesome 6 Free";font-style:normal;'
        f'font-weight:900;src:url({SUBSET_FONT}) format("woff")}}\n')
    return points


def rewrite(page: str, icons: _Icons | None, drop_search: bool) -> str:
    """The page with its icons inlined (where ``icons``) and the scripts it does not use gone."""
    if icons is not None:
        page, n = ICON.subn(icons.replace, page)
        if n:
            page = FONTAWESOME_SCRIPT.sub("", page)
            page = page.replace("<body", NOTICE + "\n<body", 1)
    if drop_search:
        page = SEARCH_SCRIPTS.sub("", page)
    if not re.search(r'class="[^"]*\bsd-', page):  # no sphinx-design element on the page
        page = SPHINX_DESIGN.sub("", page)
    return page


def _icon_folder(app: Sphinx) -> Path | None:
    given = os.environ.get("VAE_FONTAWESOME_DIR")
    folder = Path(given).resolve() if given else Path(app.outdir).parent / ".fontawesome"
    if (folder / "svgs" / "solid").is_dir():
        return folder
    if given:
        logger.warning("VAE_FONTAWESOME_DIR has no svgs/solid/; the pages keep Font Awesome's "
                       "script", type="page_weight", subtype="fetch")
        return None
    logger.info("page_weight: fetching %s with npm pack", FONTAWESOME)
    try:
        _fetch(folder)
    except (OSError, RuntimeError, KeyError, subprocess.SubprocessError) as err:
        detail = getattr(err, "stderr", None) or err
        logger.warning("could not fetch %s (%s); the pages keep Font Awesome's script",
                       FONTAWESOME, str(detail).strip(), type="page_weight", subtype="fetch")
        return None
    return folder


def _setup_builder(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    # MathJax: startup.js and the components without the menu (after myst-parser's own
    # change to mathjax3_config, also made at builder-inited).
    app.config.mathjax_path = MATHJAX_PATH
    config = dict(app.config.mathjax3_config or {})
    config["loader"] = {**config.get("loader", {}), "load": MATHJAX_LOAD}
    app.config.mathjax3_config = config

    folder = _icon_folder(app)
    icons = _Icons(folder) if folder else None
    if folder is not None and (folder / SOLID_TTF).is_file():
        theme_css = [p for d in app.builder.theme.get_theme_dirs()
                     for p in Path(d).glob("static/styles/*.css")]
        try:
            subset_icon_font(theme_css, folder / SOLID_TTF, app._vae_font_staging / SUBSET_DIR)
        except ImportError:
            logger.info("page_weight: fontTools is not installed; the theme's CSS icons keep "
                        "the full webfont")
        else:
            app.add_css_file(f"{SUBSET_DIR}/{SUBSET_CSS}")
    app._vae_icons = icons
    templates = app.builder.templates
    render = templates.render

    def render_lighter(template: str, context: dict) -> str:
        page = render(template, context)
        # the theme's option, as the page's context has it (a string from theme.conf)
        as_you_type = str(context.get("theme_search_as_you_type", "")).lower() in ("true", "1")
        drop_search = not as_you_type and context.get("pagename") != "search"
        return rewrite(page, icons, drop_search)

    templates.render = render_lighter


def _report_missing(app: Sphinx, exception) -> None:  # noqa: ANN001
    icons = getattr(app, "_vae_icons", None)
    if exception is None and icons is not None and icons.missing:
        logger.warning("no SVG for the icons %s in %s: they are drawn by the webfont",
                       ", ".join(sorted(icons.missing)), FONTAWESOME,
                       type="page_weight", subtype="icon")


def _configure(app: Sphinx, config) -> None:  # noqa: ANN001
    staging = Path(app.outdir).parent / ".fontawesome-static"
    (staging / SUBSET_DIR).mkdir(parents=True, exist_ok=True)
    config.html_static_path = [*config.html_static_path, str(staging)]
    app._vae_font_staging = staging


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _configure)
    # After myst-parser's builder-inited handler (priority 500), which sets mathjax3_config.
    app.connect("builder-inited", _setup_builder, priority=900)
    app.connect("build-finished", _report_missing)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
