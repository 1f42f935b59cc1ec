"""The built book's HTML, read without a browser: offline assets, numbered and resolvable
cross-references, chapter links in the API reference, exercise solutions in dropdowns.

These checks need only ``_build/html`` (``make book``), so they run where Chromium does not;
``tests/test_browser.py`` opens the same pages in a real browser. Skipped when the book has not
been built. ``BOOK_HTML`` points them at another built book.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

bs4 = pytest.importorskip("bs4", reason="beautifulsoup4 (needed by the book's theme) is missing")

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()

pytestmark = pytest.mark.skipif(
    not (HTML / "searchindex.js").is_file(),
    reason=f"{HTML} holds no built book: run `make book` first",
)


@cache
def _docs() -> tuple[str, ...]:
    """The documents of the last build (searchindex.js), as page paths."""
    text = (HTML / "searchindex.js").read_text()
    index = json.loads(re.fullmatch(r"Search\.setIndex\((.*)\)\s*", text, flags=re.S).group(1))
    return tuple(f"{doc}.html" for doc in index["docnames"])


@cache
def _soup(page: str):
    return bs4.BeautifulSoup((HTML / page).read_text(encoding="utf-8"), "html.parser")


@cache
def _ids(page: str) -> frozenset[str]:
    return frozenset(el["id"] for el in _soup(page).find_all(id=True))


def _main(page: str):
    """The page's article, without the theme's navigation."""
    soup = _soup(page)
    return soup.find("article") or soup.find("main") or soup.body


def test_scripts_and_styles_are_served_by_the_book():
    """No page loads a script or a stylesheet from another host (MathJax, widgets, fonts)."""
    remote = {}
    for page in _docs():
        soup = _soup(page)
        urls = [s.get("src") for s in soup.find_all("script")]
        urls += [link.get("href") for link in soup.find_all("link", rel="stylesheet")]
        bad = [u for u in urls if u and urlsplit(u).scheme in ("http", "https", "")
               and urlsplit(u).netloc]
        if bad:
            remote[page] = bad
    assert not remote, f"assets loaded from other hosts: {remote}"


def test_math_pages_load_the_local_mathjax():
    math_pages = [p for p in _docs() if _main(p).select(".math")]
    assert math_pages, "no page of the book has math"
    # book/_ext/page_weight.py: MathJax's startup.js, which loads these components (not the
    # 1.16 MB tex-chtml.js with its context menu)
    for component in ("startup", "core", "input/tex", "output/chtml", "output/chtml/fonts/tex",
                      "a11y/assistive-mml"):
        assert (HTML / "_static" / "mathjax" / f"{component}.js").is_file(), component
    for page in math_pages:
        srcs = [s.get("src", "") for s in _soup(page).find_all("script")]
        assert any("_static/mathjax/startup.js" in s for s in srcs), page
        assert not any("tex-chtml" in s for s in srcs), page


def test_no_page_carries_widget_state():
    """The explorers are Vega-Lite charts; no page carries ipywidgets state (which the book has
    no script to draw: it would show an empty box, and weigh the page down)."""
    widget = re.compile(r"application/vnd\.jupyter\.widget")
    widget_pages = [p.relative_to(HTML).as_posix() for p in _docs()
                    if _soup(p).find("script", type=widget)]
    assert not widget_pages, f"pages with saved widget state: {widget_pages}"


def _eqno(div) -> str | None:
    """The number shown beside a displayed equation, "(2.1)", without its "#" permalink."""
    eqno = div.select_one(".eqno") if div is not None else None
    if eqno is None:
        return None
    return "".join(t for t in eqno.find_all(string=True)
                   if not t.find_parent("a", class_="headerlink")).strip()


def test_labelled_equations_are_numbered():
    unnumbered = []
    for page in _docs():
        for div in _main(page).select('div.math[id^="equation-"]'):
            if not re.fullmatch(r"\(\d+(\.\d+)*\)", _eqno(div) or ""):
                unnumbered.append(f"{page}#{div['id']}")
    assert not unnumbered, f"labelled equations without a number: {unnumbered}"


def test_equation_references_show_the_number_of_their_target():
    wrong = []
    for page in _docs():
        for a in _main(page).select('a[href*="#equation-"]:not(.headerlink)'):
            target = urljoin(page, a["href"])
            path, frag = target.split("#", 1)
            number = _eqno(_soup(path).find(id=frag)) if (HTML / path).is_file() else None
            if number is None or a.get_text(strip=True) != number:
                wrong.append(f"{page}: {a.get_text(strip=True)!r} -> {a['href']} ({number})")
    assert not wrong, "equation references that do not show their target's number:\n" + \
        "\n".join(wrong)


def test_internal_links_resolve():
    """Every link from one page of the book to another (and to an anchor in it) lands."""
    broken = []
    for page in _docs():
        for a in _main(page).find_all("a", href=True):
            href = a["href"]
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
                continue
            target = urljoin(page, unquote(parts.path)) if parts.path else page
            if target.endswith("/"):
                target += "index.html"
            if not (HTML / target).is_file():
                broken.append(f"{page}: {href} (no file)")
            elif parts.fragment and target.endswith(".html") \
                    and parts.fragment not in _ids(target):
                broken.append(f"{page}: {href} (no anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(broken)


def test_no_myst_directive_is_left_as_text():
    """A ```{solution} that holds a ```python block is closed by the inner fence, and what
    follows (often the next ```{exercise}) turns into a code block: use ````{solution}."""
    pattern = re.compile(r"^\s*(`{3,}|:{3,})\s*\{[a-z-]+(:[a-z-]+)?\}", flags=re.M)
    leftovers = {}
    for page in _docs():
        text = _main(page).get_text("\n")
        found = [m.group(0).strip() for m in pattern.finditer(text)]
        if found:
            leftovers[page] = found
    assert not leftovers, f"MyST directives rendered as text: {leftovers}"


def test_every_solution_is_a_dropdown_and_follows_an_exercise():
    problems = []
    for page in _docs():
        main = _main(page)
        for sol in main.select("div.solution"):
            if "dropdown" not in sol.get("class", []):
                problems.append(f"{page}: solution {sol.get('id')} is not a dropdown")
        exercises = {ex.get("id") for ex in main.select("div.exercise")}
        for sol in main.select("div.solution"):
            link = sol.select_one(".admonition-title a[href]")
            target = link["href"].split("#", 1)[-1] if link else None
            if target not in exercises:
                problems.append(f"{page}: solution {sol.get('id')} links to {target!r}, "
                                f"not to an exercise on the page")
    assert not problems, "\n".join(problems)


def test_bibliography_lists_the_cited_works():
    if "book/bibliography.html" not in _docs():
        pytest.skip("no bibliography page")
    entries = _main("book/bibliography.html").select("div.citation")
    assert len(entries) >= 10, f"only {len(entries)} bibliography entries"


def test_api_docstrings_link_the_chapter_that_introduces_them():
    """Each "Introduced in the chapter ..." names chapters that exist (book/_ext/chapter_links)."""
    pages = [p for p in _docs() if p == "book/api.html" or p.startswith("book/api/")]
    if not pages:
        pytest.skip("no API page")
    missing, unlinked, links = [], [], 0
    for page in pages:  # the index and one page per module
        main = _main(page)
        missing += [el.get_text(strip=True) for el in main.select(".chapter-link-missing")]
        for p in main.find_all("p"):
            if "Introduced in the chapter" in p.get_text() and not p.select("a.chapter-link"):
                unlinked.append(f"{page}: {p.get_text(' ', strip=True)[:100]}")
        links += len(main.select("a.chapter-link"))
    assert not missing, f"docstrings name chapters the book does not have: {sorted(set(missing))}"
    assert not unlinked, f"'Introduced in the chapter' without a link: {unlinked}"
    assert links, "the API pages link no chapter"


def _flat_text(page: str) -> str:
    return re.sub(r"\s+", " ", _main(page).get_text(" "))


def test_no_test_marker_is_shown():
    """nbval reads its markers from cell tags (``nbval-ignore-output``); a ``# NBVAL_...``
    comment in a code cell is shown to every reader."""
    shown = {}
    for page in _docs():
        text = _flat_text(page)
        found = [text[max(0, m.start() - 40):m.end() + 20] for m in
                 re.finditer(r"NBVAL_[A-Z_]+", text)]
        if found:
            shown[page] = found
    total = sum(len(v) for v in shown.values())
    assert not shown, (f"{total} NBVAL_ test markers shown on {len(shown)} pages (use the cell "
                       f"tag nbval-ignore-output):\n" + "\n".join(
                           f"  {page}: {len(found)}, e.g. {found[0]!r}"
                           for page, found in shown.items()))


def test_exercises_are_titled_and_named_once():
    """Every exercise has a title ("Exercise 1.1 (Implement the grid evidence)"), and no
    reference reads "exercise Exercise 1.3" (a {ref} to an exercise label prints its own
    "Exercise": use {numref} or explicit text)."""
    untitled, doubled, n_exercises = [], [], 0
    for page in _docs():
        for ex in _main(page).select("div.exercise"):
            n_exercises += 1
            title = ex.select_one(".admonition-title")
            if title is None:
                untitled.append(f"{page}#{ex.get('id')}: no title line")
                continue
            number = title.select_one(".caption-number")
            rest = title.get_text(" ", strip=True)
            if number is not None:
                rest = rest.replace(number.get_text(" ", strip=True), "", 1)
            rest = re.sub(r"[\s()#]+", "", rest)
            if not rest:
                untitled.append(f"{page}#{ex.get('id')}: {title.get_text(' ', strip=True)!r}")
        text = _flat_text(page)
        doubled += [f"{page}: ...{text[max(0, m.start() - 50):m.end() + 10]}..."
                    for m in re.finditer(r"(?i)\bexercises?\s+exercise\b", text)]
    problems = []
    if untitled:
        problems.append(f"{len(untitled)} of {n_exercises} exercises have no title:\n  "
                        + "\n  ".join(untitled))
    if doubled:
        problems.append(f"{len(doubled)} doubled 'exercise Exercise' in the text:\n  "
                        + "\n  ".join(doubled))
    assert not problems, "\n".join(problems)


PLACEHOLDER_REPOSITORY = "github.com/vae-derived/vae-derived"


def test_no_page_links_to_the_placeholder_repository():
    """The repository address is a setting; where it is not set, no page points readers to the
    placeholder (which does not exist): no repository, issues, Binder or Colab links to it."""
    linking = {}
    for path in sorted(HTML.rglob("*.html")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if (n := text.count(PLACEHOLDER_REPOSITORY)):
            i = text.find(PLACEHOLDER_REPOSITORY)
            linking[path.relative_to(HTML).as_posix()] = (
                n, re.sub(r"\s+", " ", text[max(0, i - 60):i + 60]))
    n_pages = len(list(HTML.rglob("*.html")))
    assert not linking, (
        f"{len(linking)} of {n_pages} built pages link to the placeholder repository "
        f"{PLACEHOLDER_REPOSITORY} ({sum(n for n, _ in linking.values())} times):\n"
        + "\n".join(f"  {page}: {n}, e.g. {context!r}"
                    for page, (n, context) in list(linking.items())[:10]))


def test_the_explorers_scripts_ship_and_no_widget_bundle_does():
    """The explorers' scripts (``_static/vega``: vega, vega-lite, vega-embed) are each loaded by
    a page, and no ipywidgets bundle ships (``_static/jupyter-widgets``: 1.9 MB for ``embed.js``,
    7.2 MB more for the AMD builds), since no page has a widget. MathJax is left out: its loader
    fetches components at run time, which a static look cannot follow."""
    assert not (HTML / "_static" / "jupyter-widgets").exists(), "a widget bundle ships"
    scripts = sorted((HTML / "_static" / "vega").glob("*.js"))
    assert [p.name for p in scripts] == ["vega-embed.min.js", "vega-lite.min.js", "vega.min.js"]
    loaded = {s.get("src", "").split("?")[0].rsplit("/", 1)[-1]
              for page in _docs() for s in _soup(page).find_all("script")}
    unused = [p.name for p in scripts if p.name not in loaded]
    assert not unused, f"explorer scripts shipped that no page loads: {unused}"
