"""How the pages look on a laptop and a phone, and the PDF of the book.

HTML:

* ``_static/vae-book.css`` (beside this file): display equations scroll inside their own box
  with the equation number after the formula, so a wide formula never runs under its number;
  nothing makes a page wider than a phone's viewport (long headings wrap, API signatures and
  wide tables scroll in their own box, field lists stack, images shrink); an exercise's
  solution toggle is a visible "Show solution" button.
* ``_static/vae-math-scroll.js``: marks each display equation (and wide table) whose content
  is wider than its box with the class ``vae-scrolls`` once MathJax has typeset, and again on
  resize, so the CSS can draw a visible cue (a shadow at the edge with hidden content and a
  small "scroll" hint); lets the link in a solution's title go to its exercise without also
  toggling the solution, and names the toggle button for screen readers.

PDF (``make pdf``, XeLaTeX into ``_build/latex/vae-derived.pdf``):

* sphinx-proof writes each theorem's LaTeX label as ``<document>:<label>``, finding the document
  by matching the chapter's title against its section's names; a title with an apostrophe
  ("Bayes' rule", "Jensen's inequality") has a curly one in the title and a straight one in
  the names, so the label became ``None:<label>`` and every reference to those theorems printed
  "??" in the PDF. Before the LaTeX is written, each chapter's top section also gets the title
  as sphinx-proof spells it.
* sphinx-exercise labels an exercise ``exercise:<label>`` in the LaTeX and writes its number
  into its box's title ("Exercise 1.6.3"); a reference from the exercise's own chapter links
  there, but one from another chapter (``{numref}`` through Sphinx's standard domain) asks for
  ``\ref{<document>:<label>}``, a label no one writes, and printed "Exercise ??". Once the LaTeX
  is written, each such reference is pointed at ``exercise:<label>`` with the number of its box.
* the directive ``book-pdf`` (used in the intro) renders a sentence linking to the PDF only
  where the HTML build ships it: where ``_build/latex/vae-derived.pdf`` exists, the HTML build
  copies it into the site (``_build/html/vae-derived.pdf``) and the link is rendered; where it
  does not, nothing is rendered (never a dead link). The pages using the directive are read
  again whenever the PDF appears, changes or goes away.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

CSS = "vae-book.css"
JS = "vae-math-scroll.js"
#: The PDF's file name, in ``_build/latex`` (``latex_documents`` targetname) and in the site.
PDF_NAME = "vae-derived.pdf"


# ------------------------------------------------------------------------------------------
# HTML: the stylesheet and the script
# ------------------------------------------------------------------------------------------

def _add_static(app: Sphinx, config) -> None:
    static = str(Path(__file__).parent / "_static")
    if static not in [str(p) for p in config.html_static_path]:
        config.html_static_path = [*config.html_static_path, static]


# ------------------------------------------------------------------------------------------
# PDF: sphinx-proof labels for chapters whose title has an apostrophe
# ------------------------------------------------------------------------------------------

def _proof_section_names(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    # The LaTeX builder resolves the whole book as one tree whose sections carry "docname";
    # sphinx-proof's find_parent looks for the section whose names hold the chapter title as
    # env.titles spells it (after smart quotes): give the top section that spelling too.
    if app.builder.format != "latex":
        return
    env = app.env
    for section in doctree.findall(nodes.section):
        doc = section.get("docname")
        if not doc or doc not in env.titles:
            continue
        wanted = env.titles[doc].astext().lower()
        title = section.next_node(nodes.title)
        if title is None or wanted in section["names"]:
            continue
        if title.astext().lower() == wanted:
            section["names"].append(wanted)


# ------------------------------------------------------------------------------------------
# PDF: references to another chapter's exercises
# ------------------------------------------------------------------------------------------

# \phantomsection \label{exercise:ex-ch1-uniform} ... \begin{sphinxadmonition}{note}{Exercise 1.6.3
_EXERCISE_BOX = re.compile(
    r"\\label\{exercise:(?P<label>[^}]+)\}\s*\\begin\{sphinxadmonition\}\{note\}"
    r"\{Exercise (?P<number>[0-9.]+)")
# \hyperref[\detokenize{book/03_elbo:ex-a}]{Exercise \ref{\detokenize{book/03_elbo:ex-a}}}
_CROSS_REF = re.compile(
    r"\\hyperref\[\\detokenize\{[^}:]+:(?P<label>[^}]+)\}\]"
    r"\{(?P<word>[^{}]*?)\\ref\{\\detokenize\{[^}:]+:(?P=label)\}\}\}")


def exercise_numbers(tex: str) -> dict[str, str]:
    """Each exercise's number in the LaTeX, by label: ``{"ex-ch1-uniform": "1.6.3", ...}``."""
    return {m["label"]: m["number"] for m in _EXERCISE_BOX.finditer(tex)}


def link_exercise_references(tex: str) -> str:
    """The LaTeX with each cross-chapter reference to an exercise linked to its box, by number."""
    numbers = exercise_numbers(tex)

    def link(m: re.Match) -> str:
        label = m["label"]
        if label not in numbers:
            return m[0]
        return rf"\hyperref[exercise:{label}]{{{m['word']}{numbers[label]}}}"

    return _CROSS_REF.sub(link, tex)


def _link_exercises_in_pdf(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "latex":
        return
    for tex in Path(app.outdir).glob("*.tex"):
        text = tex.read_text(encoding="utf-8")
        linked = link_exercise_references(text)
        if linked != text:
            tex.write_text(linked, encoding="utf-8")


# ------------------------------------------------------------------------------------------
# PDF: the link from the intro, only where the site ships the PDF
# ------------------------------------------------------------------------------------------

def _built_pdf(app: Sphinx) -> Path:
    return Path(app.outdir).parent / "latex" / PDF_NAME


def _pdf_state(app: Sphinx) -> str:
    """What the directive renders from: the builder format and the PDF's size and time."""
    if app.builder.format != "html":
        return app.builder.format
    pdf = _built_pdf(app)
    if not pdf.is_file():
        return "html:none"
    stat = pdf.stat()
    return f"html:{stat.st_size}:{int(stat.st_mtime)}"


class BookPdf(SphinxDirective):
    """``book-pdf``: a sentence linking to the book's PDF, rendered only where the site ships
    it (the HTML build with ``_build/latex/vae-derived.pdf`` present)."""

    has_content = False
    required_arguments = 0
    optional_arguments = 0

    def run(self) -> list[nodes.Node]:
        app = self.env.app
        users = getattr(self.env, "vae_pdf_users", None)
        if users is None:
            users = self.env.vae_pdf_users = {}
        users[self.env.docname] = _pdf_state(app)
        pdf = _built_pdf(app)
        if app.builder.format != "html" or not pdf.is_file():
            return []
        uri = "../" * self.env.docname.count("/") + PDF_NAME
        size_mb = pdf.stat().st_size / 1e6
        para = nodes.paragraph(classes=["vae-book-pdf"])
        para += nodes.Text("The whole book is also one PDF, for print and offline reading: ")
        link = nodes.reference("", "", refuri=uri, classes=["vae-book-pdf-link"])
        link += nodes.Text(PDF_NAME)
        para += link
        para += nodes.Text(f" ({size_mb:.1f} MB).")
        return [para]


def _outdated_pdf_users(app: Sphinx, env, added, changed, removed) -> list[str]:
    users = getattr(env, "vae_pdf_users", {})
    state = _pdf_state(app)
    return [doc for doc, seen in users.items() if seen != state and doc not in removed]


def _purge(app: Sphinx, env, docname: str) -> None:
    getattr(env, "vae_pdf_users", {}).pop(docname, None)


def _merge(app: Sphinx, env, docnames, other) -> None:
    users = getattr(env, "vae_pdf_users", None)
    if users is None:
        users = env.vae_pdf_users = {}
    users.update({d: s for d, s in getattr(other, "vae_pdf_users", {}).items() if d in docnames})


def _ship_pdf(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    pdf, shipped = _built_pdf(app), Path(app.outdir) / PDF_NAME
    if pdf.is_file():
        shutil.copy2(pdf, shipped)
    elif shipped.exists():
        shipped.unlink()  # no stale PDF: the intro has no link to it now


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _add_static)
    app.add_css_file(CSS)
    app.add_js_file(JS, loading_method="defer")
    app.connect("doctree-resolved", _proof_section_names, priority=100)
    app.add_directive("book-pdf", BookPdf)
    app.connect("env-get-outdated", _outdated_pdf_users)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("build-finished", _ship_pdf)
    app.connect("build-finished", _link_exercises_in_pdf)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
