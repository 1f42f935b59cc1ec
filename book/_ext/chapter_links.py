"""Link each docstring's "Introduced in the chapter ..." sentence to that chapter.

The package's docstrings name the chapter that introduces a function by its title in double
quotes, so they read well in ``help()`` and in an editor::

    Introduced in the chapter "Importance sampling"; :func:`log_likelihood` is used again in
    "A VAE on real digits".

On the API pages (autodoc), every quoted title in the paragraph that starts with
``Introduced in the chapter`` becomes a link to the chapter with that title. Titles are matched
to the pages' first headings after all pages are read, ignoring case, punctuation and a chapter
number; a title may be the start of a longer one ("Importance sampling" finds "Importance
sampling and the IWAE bound") if only one page's title starts so. A quoted title that
matches no page (or more than one) stays plain quoted text, marked
with the class ``chapter-link-missing``; it is not a build warning, so a chapter that is still
being written does not break everyone's ``-W`` build, but ``tests/test_book_html.py`` fails on
it once the book is built, so a renamed chapter cannot leave a dead pointer behind.

The role is usable by hand too: ``:chapter:`KL divergence```.
"""

from __future__ import annotations

import re
import unicodedata

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxRole

logger = logging.getLogger(__name__)

MARKER = "Introduced in the chapter"
_QUOTED = re.compile(r'"([^"`]+)"')


def _key(title: str) -> str:
    """Normalise a title for matching: case, punctuation, quotes and a leading number go."""
    text = unicodedata.normalize("NFKD", title).casefold()
    text = re.sub(r"^\s*(chapter\s+)?\d+(\.\d+)*[.:]?\s+", "", text)
    text = re.sub(r"[^\w\s]", "", text)
    return " ".join(text.split())


class ChapterRole(SphinxRole):
    """``:chapter:`Title``` -> a link to the page whose first heading is Title."""

    def run(self):
        node = addnodes.pending_xref(
            self.rawtext, nodes.inline(self.text, self.text),
            refdomain="", reftype="chapter", reftarget=self.text, refexplicit=True,
            refdoc=self.env.docname, refwarn=False,
        )
        self.set_source_info(node)
        return [node], []


def _link_titles(app, what, name, obj, options, lines: list[str]) -> None:
    """autodoc-process-docstring: quoted titles in the "Introduced in" paragraph -> :chapter:."""
    inside = False
    for i, line in enumerate(lines):
        if MARKER in line:
            inside = True
        elif not line.strip():
            inside = False
        if inside:
            lines[i] = _QUOTED.sub(lambda m: f":chapter:`{m.group(1)}`", line)


def _resolve(app: Sphinx, env, node, contnode):
    """missing-reference: find the page for a :chapter: title."""
    if node.get("reftype") != "chapter":
        return None
    wanted = _key(node["reftarget"])
    keys = {doc: _key(title.astext()) for doc, title in env.titles.items()}
    found = [doc for doc, key in keys.items() if key == wanted]
    if not found:  # a short form of a longer title: "Importance sampling" -> "... IWAE bound"
        found = [doc for doc, key in keys.items() if key.startswith(wanted + " ")]
    if len(found) != 1:
        logger.verbose("chapter_links: no single page titled %r (found %s)",
                       node["reftarget"], found)
        return nodes.inline("", f'"{node["reftarget"]}"', classes=["chapter-link-missing"])
    ref = nodes.reference("", "", internal=True, classes=["chapter-link"])
    ref["refuri"] = app.builder.get_relative_uri(node["refdoc"], found[0])
    ref["reftitle"] = env.titles[found[0]].astext()
    ref += contnode
    return ref


def setup(app: Sphinx) -> dict:
    app.add_role("chapter", ChapterRole())
    app.connect("autodoc-process-docstring", _link_titles)
    app.connect("missing-reference", _resolve)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
