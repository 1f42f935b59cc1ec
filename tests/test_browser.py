r"""The built book as a reader sees it: every page opened in headless Chromium, offline.

``make book`` builds ``_build/html``; this module serves it from a local HTTP server on
127.0.0.1 and opens every page in Debian's Chromium (driven by Playwright's Python package with
``executable_path``: Playwright's own browser download is never used) at two viewports, a laptop
(1366 x 900, ``desktop``) and a phone (390 x 844, ``phone``). Each page is loaded once per
viewport and every check below reads the measurements of that one load. Dropdowns (the
solutions) are opened before measuring, so what a reader sees after opening them counts too.

``test_page_renders_offline``, per page and viewport:

* **offline**: every request to another host is aborted, and none is attempted at all: the
  page needs nothing from the internet (MathJax, the explorers' scripts, fonts, images);
* **own assets**: no request to the local server fails or answers with status >= 400;
* **no JavaScript errors**: no uncaught exception and no ``console.error`` message;
* **math typeset**: every ``.math`` element holds a MathJax ``mjx-container``; no MathJax
  error node (an undefined macro or a TeX syntax error);
* **figures**: every ``<img>`` loaded (``naturalWidth > 0``);
* **MyST parsed**: no directive such as ```` ```{exercise} ```` shown as text (the mark of a
  code fence nested in a directive fence of the same length, which closes it early);
* **no widget state**: no page carries saved ipywidgets state or widget views (the explorers
  are Vega-Lite charts that need none, and the book ships no widget script to draw one: a
  training cell's progress bar, say, would show as an empty box).

What the reader sees, measured:

* ``test_display_equations_fit`` (both viewports): every display equation
  (``mjx-container[display="true"]``, in theorem, proof, exercise and solution boxes too). At
  1366 px none is wider than its box (the box's ``scrollWidth`` past its ``clientWidth``, or
  the formula's bounding box past the box or past an ancestor that clips it). At 390 px one
  that is wider must show that it scrolls: its ``div.math`` has ``overflow-x`` auto or scroll
  and the class ``vae-scrolls`` (set by the book's script on an equation that overflows; the
  CSS draws the cue), and the box itself stays on the screen. At both, no equation number
  (Sphinx's ``.eqno``, MathJax's ``mjx-labels``) overlaps its formula.
* ``test_no_raw_markup`` (desktop): no TeX (``$$``, ``$\``, ``\(``, ``\begin{``, ``\frac``,
  ``\mathrm``, ``\mathbb``, ``\log p``, ...) and no MyST role or directive text (``prf:ref``,
  ``{eq}``, ``{ref}``, ``{numref}``, ``{cite}``, ``{math}``, ``:label:``, ...) in the visible
  text outside code, API signatures and typeset math; each hit is shown in its context.
* ``test_code_figures_are_numbered_captioned_and_sharp`` (desktop): every image a code cell
  drew (``.cell_output img``) is in a ``figure`` whose ``figcaption`` holds
  "Fig. N.k" and a caption, has alt text that describes it (not empty, not a file name or a
  path), has at least twice its displayed CSS width in pixels (sharp on a high-density screen;
  SVG passes), and the page's prose links to the figure's id.
* ``test_page_fits_the_phone`` (phone): the document is no wider than the 390 px viewport (the
  page does not slide sideways; the elements that stick out are named), and no table or API
  signature is cut off by a box that hides its overflow: one wider than the screen scrolls in
  its own box.
* ``test_code_fits_its_box`` (desktop): no ``pre`` of a code cell (input or output) is wider
  than its box; the lines that do not fit are counted and the first is shown.

At the end of the run a table of the failures per check (pages and elements) is printed.

The explorers themselves are driven by ``tests/test_explorer_*.py``.

A full-page screenshot of each page at each viewport, as first shown (dropdowns closed), is
saved to ``_build/screenshots/`` (a path with ``/`` flattened to ``__``, then ``__desktop`` or
``__phone``), to be looked at.

Skipped, with the reason, where ``_build/html`` does not exist (run ``make book`` first), where
Playwright is not installed, or where no Chromium is found (``apt-get install chromium``; or set
``CHROMIUM`` to a browser executable). ``BOOK_HTML`` points the tests at another built book.
"""

from __future__ import annotations

import collections
import functools
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()
SCREENSHOTS = HTML.parent / "screenshots"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]
TIMEOUT_MS = 60_000  # per wait; a page normally settles in under 2 s (more on a busy machine)
WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
EXAMPLES = 6  # elements named per failure message

# Text that must never reach the reader outside code: TeX left untypeset, MyST left unparsed.
RAW_MARKUP = [
    "$$", "$\\", "\\(", "\\)", "\\[", "\\]", "\\begin{", "\\end{", "\\frac", "\\mathrm",
    "\\mathbb", "\\mathcal", "\\mathbf", "\\boldsymbol", "\\operatorname", "\\text{", "\\log p",
    "\\log", "\\exp", "\\sum", "\\int", "\\prod", "\\left", "\\right", "\\mid", "\\theta",
    "\\phi", "\\sigma", "\\mu", "\\epsilon", "\\varepsilon", "\\nabla", "\\partial", "\\cdot",
    "\\top", "\\qquad", "\\quad", "\\le", "\\ge", "\\approx", "\\sim", "\\infty", "\\tag",
    "\\label", "\\eqref", "^{", "_{",
    "prf:ref", "{prf:", "{eq}", "{ref}", "{numref}", "{cite}", "{cite:p}", "{cite:t}",
    "{math}", "{doc}", "{term}", "{download}", "{py:", "{func}", "{class}", "{mod}", "{figure}",
    "{code-cell}", "{exercise}", "{solution}", "{admonition}", "{note}", "{dropdown}",
    ":label:", ":class:", ":name:", ":nowrap:",
]
# Any other `{role}` left as text, and a `(label)=` target line.
RAW_MARKUP_RE = re.compile(r"\{[a-z][a-z-]+(?::[a-z-]+)?\}|^\([a-z][\w-]*\)=", flags=re.M)


def _chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


def _built_pages() -> list[str]:
    """The pages the last build wrote: its documents (from searchindex.js, so stale pages of
    earlier incremental builds are left out), the top-level index pages (general, search,
    Python modules, proofs) and the highlighted sources."""
    index = json.loads(
        re.fullmatch(r"Search\.setIndex\((.*)\)\s*", (HTML / "searchindex.js").read_text(),
                     flags=re.S).group(1)
    )
    pages = [f"{doc}.html" for doc in index["docnames"]]
    pages += [p.name for p in HTML.glob("*.html")]  # index, genindex, search, module/proof indices
    pages += [p.relative_to(HTML).as_posix() for p in (HTML / "_modules").rglob("*.html")]
    return sorted(set(pages))


def _pages(*viewports: str) -> list:
    """Test parameters: each built page (at each of ``viewports``, where given)."""
    if not (HTML / "searchindex.js").is_file():
        reason = f"{HTML} holds no built book: run `make book` first"
        return [pytest.param(*(["desktop"] if viewports else []), None,
                             marks=pytest.mark.skip(reason=reason), id="no-build")]
    if not viewports:
        return [pytest.param(p, id=p) for p in _built_pages()]
    return [pytest.param(v, p, id=f"{v}-{p}") for v in viewports for p in _built_pages()]


def _redirect_target(page_path: str) -> str | None:
    """The page a meta-refresh page (Jupyter Book's root index.html) sends the reader to."""
    head = (HTML / page_path).read_text(errors="replace")[:2000]
    found = re.search(r'http-equiv="refresh"[^>]*url=([^"\s>]+)', head, flags=re.I)
    return found.group(1) if found else None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


# Failures per check, for the table printed at the end of the run.
_TALLY: dict[str, dict] = collections.defaultdict(
    lambda: {"pages": 0, "failed_pages": 0, "elements": 0, "failed": 0})


def _tally(check: str, n_failed: int, n_elements: int | None = None) -> None:
    entry = _TALLY[check]
    entry["pages"] += 1
    entry["failed_pages"] += bool(n_failed)
    entry["failed"] += n_failed
    entry["elements"] += n_elements if n_elements is not None else 0


class _Summary:
    """A plugin printing, after the run, how many pages and elements failed each check."""

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not _TALLY:
            return
        terminalreporter.section("what the reader sees: failures per check (test_browser)")
        for check, e in sorted(_TALLY.items()):
            elements = (f"{e['failed']} of {e['elements']} elements" if e["elements"]
                        else f"{e['failed']} problems")
            terminalreporter.write_line(f"{check:<72} {e['failed_pages']:>3} of {e['pages']:>3} "
                                        f"pages; {elements}")


@pytest.fixture(scope="module", autouse=True)
def _summary(request):
    _TALLY.clear()
    if not request.config.pluginmanager.has_plugin("test_browser_summary"):
        request.config.pluginmanager.register(_Summary(), "test_browser_summary")


@pytest.fixture(scope="module")
def base_url():
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright's Python package is not installed"
    )
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium found: `apt-get install chromium` or set CHROMIUM=/path")
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # only this run's pages
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def contexts(browser, base_url):
    """One offline browser context per viewport."""
    local_host = urlsplit(base_url).netloc

    def offline(route) -> None:
        if urlsplit(route.request.url).netloc == local_host:
            route.continue_()
        else:
            route.abort("internetdisconnected")

    made = {}
    for name, viewport in VIEWPORTS.items():
        made[name] = browser.new_context(viewport=viewport)
        made[name].route("**/*", offline)
    yield made
    for context in made.values():
        context.close()


@pytest.fixture(scope="module")
def context(contexts):
    """The laptop-sized context."""
    return contexts["desktop"]


# Runs in the page: wait for MathJax's first typeset and for every image to decode.
SETTLE_JS = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const images = [...document.images];
  images.forEach(img => { img.loading = "eager"; });
  await Promise.all(images.map(img => img.decode().catch(() => null)));
}"""

# Runs in the page: what a reader sees, measured.
INSPECT_JS = """() => {
  const math = [...document.querySelectorAll(".math")];
  const untypeset = math.filter(el => !el.querySelector("mjx-container"))
                        .map(el => el.textContent.trim().slice(0, 80));
  const mathErrors = [...document.querySelectorAll("mjx-merror, [data-mjx-error]")]
      .map(el => (el.getAttribute("data-mjx-error") || el.textContent).slice(0, 80));
  const brokenImages = [...document.images]
      .filter(img => !(img.complete && img.naturalWidth > 0))
      .map(img => img.getAttribute("src"));
  // A MyST directive shown as text: usually a ```{solution} holding a ```python block, whose
  // inner closing fence ends the outer one (use ````{solution} or :::{solution} around it).
  const unparsed = (document.body.innerText || "").split("\\n")
      .filter(line => /^\\s*(```+|:::+)\\s*\\{[a-z-]+(:[a-z-]+)?\\}/.test(line))
      .map(line => line.trim().slice(0, 60));
  return {unparsed, nMath: math.length,
          nTypeset: document.querySelectorAll("mjx-container").length,
          untypeset, mathErrors, nImages: document.images.length, brokenImages,
          hasWidgetState: !!document.querySelector(
              'script[type="application/vnd.jupyter.widget-state+json"]'),
          nWidgetViews: document.querySelectorAll('WIDGET_VIEW').length};
}""".replace("WIDGET_VIEW", WIDGET_VIEW.replace('"', '\\"'))

# Runs in the page: open every dropdown (sphinx-togglebutton's hidden admonitions, <details>),
# as a reader who opens the solutions would, and let the page's scripts see the new layout.
EXPAND_JS = """async () => {
  document.querySelectorAll(".toggle-hidden").forEach(el => el.classList.remove("toggle-hidden"));
  document.querySelectorAll("[aria-expanded='false'].toggle-button")
      .forEach(el => el.setAttribute("aria-expanded", "true"));
  document.querySelectorAll("details").forEach(el => { el.open = true; });
  window.dispatchEvent(new Event("resize"));
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  await new Promise(r => setTimeout(r, 300));
}"""

# Runs in the page, after EXPAND_JS: the measurements of what the reader sees.
MEASURE_JS = r"""() => {
  const vw = window.innerWidth;
  const clean = (s, n = 70) => (s || "").replace(/\s+/g, " ").trim().slice(0, n);
  const shown = el => el.checkVisibility({visibilityProperty: true});
  const ox = el => getComputedStyle(el).overflowX;
  const overlap = (r, s) => Math.min(r.right, s.right) - Math.max(r.left, s.left) > 1
                         && Math.min(r.bottom, s.bottom) - Math.max(r.top, s.top) > 1;
  const boxName = el => {  // the theorem/proof/exercise/... box an element sits in
    const box = el.closest(".proof, .theorem, .lemma, .definition, .corollary, .proposition, "
                           + ".exercise, .solution, .admonition, .cell_output, dd, table");
    if (!box) return "";
    const title = box.querySelector(".admonition-title, .proof-title, dt");
    return ` in ${box.tagName.toLowerCase()}.${[...box.classList].slice(0, 2).join(".")}`
           + (title ? ` "${clean(title.textContent, 40)}"` : "");
  };
  const nearestId = el => { const h = el.closest("[id]"); return h ? "#" + h.id : ""; };

  // Display equations.
  const tex = new Map();
  try {
    for (const item of MathJax.startup.document.getMathItemsWithin(document.body)) {
      tex.set(item.typesetRoot, item.math);
    }
  } catch (e) { /* no MathJax on this page */ }
  const equations = [];
  let hiddenEquations = 0;
  for (const c of document.querySelectorAll('mjx-container[display="true"]')) {
    const box = c.closest("div.math") || c.parentElement;
    const math = c.querySelector("mjx-math") || c;
    const labels = c.querySelector("mjx-labels");
    const formula = labels ? (c.querySelector("mjx-mtable > mjx-table") || math) : math;
    const m = formula.getBoundingClientRect();
    if (!shown(c) || m.width === 0) { hiddenEquations += 1; continue; }
    const b = box.getBoundingClientRect();
    const over = Math.max(box.scrollWidth - box.clientWidth, c.scrollWidth - c.clientWidth,
                          m.right - b.right, b.left - m.left);
    // Cut by an ancestor that hides its overflow, or off the screen: the box itself, when it
    // scrolls, else the formula.
    const scrolls = ["auto", "scroll"].includes(ox(box));
    const outer = scrolls ? b : m;
    let cutBy = ["hidden", "clip"].includes(ox(box)) && over > 1 ? "its own box (overflow hidden)"
                : (outer.right > vw + 1 || outer.left < -1) ? "the screen" : "";
    for (let a = box.parentElement; a && a !== document.documentElement && !cutBy;
         a = a.parentElement) {
      if (ox(a) === "visible") continue;
      const r = a.getBoundingClientRect();
      if (outer.right > r.right + 1 || outer.left < r.left - 1) {
        cutBy = `${a.tagName.toLowerCase()}.${[...a.classList].slice(0, 2).join(".")}`;
      }
    }
    let number = "", numberRect = null;
    const eqno = box.querySelector(".eqno");
    if (eqno) {
      const text = [...eqno.childNodes].find(n => n.nodeType === 3 && n.textContent.trim());
      if (text) {
        const range = document.createRange();
        range.selectNodeContents(text);
        numberRect = range.getBoundingClientRect();
        number = text.textContent.trim();
      }
    }
    let numberOverlaps = !!numberRect && numberRect.width > 0 && overlap(numberRect, m);
    if (labels) {
      numberOverlaps = numberOverlaps || overlap(labels.getBoundingClientRect(), m);
      number = number || clean(labels.textContent, 12);
    }
    equations.push({
      name: (number || (box.id ? "#" + box.id : "unnumbered")) + boxName(box)
            + (number || box.id ? "" : ` near ${nearestId(box.parentElement)}`),
      tex: clean(tex.get(c) || c.getAttribute("aria-label") || "", 60),
      over: Math.round(over), boxWidth: Math.round(b.width), formulaWidth: Math.round(m.width),
      scrolls, cue: box.classList.contains("vae-scrolls"), overflowX: ox(box), cutBy,
      numberOverlaps,
    });
  }

  // The visible text outside code, API signatures (Python code) and typeset math.
  const body = document.body.cloneNode(true);
  body.querySelectorAll("pre, code, kbd, samp, script, style, template, mjx-container, "
                        + ".highlight, textarea, .headerlink, .sig").forEach(el => el.remove());
  const text = body.innerText || body.textContent;

  // Images drawn by code cells.
  const figures = [...document.querySelectorAll(".cell_output img, .output img")]
    .map(img => {
      const fig = img.closest("figure");
      const caption = fig && fig.querySelector("figcaption");
      const captionText = clean(caption ? caption.textContent : "", 200);
      const ids = fig ? [fig, ...fig.querySelectorAll("[id]")].map(e => e.id).filter(Boolean)
                      : [];
      const referred = ids.length > 0 && [...document.querySelectorAll("a[href]")].some(a => {
        if (fig.contains(a) || a.classList.contains("headerlink")) return false;
        const url = new URL(a.href, location.href);
        return url.pathname === location.pathname
               && ids.includes(decodeURIComponent(url.hash.slice(1)));
      });
      const src = img.getAttribute("src") || "";
      return {src: src.split("/").pop().slice(0, 24), id: ids[0] || "",
              number: (captionText.match(/Fig\.\s*\d+(\.\d+)*/) || [""])[0],
              caption: captionText, inFigure: !!fig,
              alt: (img.getAttribute("alt") || "").trim(),
              natural: img.naturalWidth, shown: Math.round(img.getBoundingClientRect().width),
              naturalHeight: img.naturalHeight,
              shownHeight: Math.round(img.getBoundingClientRect().height),
              svg: /\.svg(\?|$)/i.test(src) || src.startsWith("data:image/svg"),
              referred, near: nearestId(img)};
    });

  // Page width, and what sticks out of the screen, not inside a box that scrolls or clips on
  // the screen: the outermost boxes wider than the screen, then the elements whose own text
  // runs past it (a long word in a heading). Hidden elements count: they widen the page too.
  const docWidth = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
  const right = el => {
    const r = el.getBoundingClientRect();
    return r.width === 0 && r.height === 0 ? 0
           : ox(el) === "visible" ? Math.max(r.right, r.left + el.scrollWidth) : r.right;
  };
  const boxPokes = el => { const r = el.getBoundingClientRect();
                           return r.width > 0 && (r.right > vw + 1 || r.left < -1); };
  const contained = el => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (ox(a) !== "visible" && !boxPokes(a)) return true;
    }
    return false;
  };
  const describe = el => {
    const r = el.getBoundingClientRect();
    return `${el.tagName.toLowerCase()}.${[...el.classList].slice(0, 2).join(".")}`
           + `${nearestId(el)} (${Math.round(r.left)}..${Math.round(right(el))} px`
           + `${shown(el) ? "" : ", hidden"}) "${clean(el.textContent, 40)}"`;
  };
  const sticking = [];
  if (docWidth > vw) {
    const boxes = [], texts = [];
    for (const el of document.body.querySelectorAll("*")) {
      if (boxes.length >= 10 && texts.length >= 10) break;
      if (right(el) <= vw + 1 || contained(el)) continue;
      const parent = el.parentElement;
      if (boxPokes(el)) {
        if (parent === document.body || !boxPokes(parent)) boxes.push(describe(el));
      } else if (![...el.children].some(k => right(k) > vw + 1)) {
        texts.push(describe(el));
      }
    }
    sticking.push(...boxes.slice(0, 10), ...texts.slice(0, 10));
  }
  // Tables, API signatures and inline formulas cut off by a box that hides its overflow (an
  // inline formula does not wrap: in a narrow admonition or list it can run past the box).
  const cut = [];
  const cuttable = 'main table, main dt.sig, main .sig, main mjx-container:not([display="true"])';
  for (const el of document.querySelectorAll(cuttable)) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    let hider = ["hidden", "clip"].includes(ox(el)) && el.scrollWidth > el.clientWidth + 1
                ? el : null;
    for (let a = el.parentElement; a && !hider; a = a.parentElement) {
      const o = ox(a);
      if (o === "visible") continue;
      const ar = a.getBoundingClientRect();
      if (["hidden", "clip"].includes(o) && (r.right > ar.right + 1 || r.left < ar.left - 1)) {
        hider = a;
      }
      break;
    }
    if (hider) {
      const room = Math.round(hider.getBoundingClientRect().width);
      cut.push(`${el.tagName.toLowerCase()}${nearestId(el)} "${clean(el.textContent, 50)}"`
               + ` (${Math.round(Math.max(r.width, el.scrollWidth))} px in ${room} px)`);
    }
  }

  // Code cells: pre wider than its box, and the lines that do not fit.
  const canvas = document.createElement("canvas").getContext("2d");
  const code = [...document.querySelectorAll(".cell_input pre, .cell_output pre")]
    .filter(pre => shown(pre))
    .map(pre => {
      const cs = getComputedStyle(pre);
      canvas.font = cs.font;
      const room = pre.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
      const lines = pre.textContent.replace(/\n$/, "").split("\n");
      const wide = pre.scrollWidth > pre.clientWidth + 1
                   ? lines.filter(l => canvas.measureText(l).width > room + 1) : [];
      return {input: !!pre.closest(".cell_input"), over: pre.scrollWidth - pre.clientWidth,
              lines: lines.length, wide: wide.length, example: clean(wide[0] || "", 100),
              near: nearestId(pre)};
    });

  // Inline formulas (span.math outside display equations): the theme lets one that is wider
  // than the line scroll in its own box. Measured by the typeset formula (mjx-math): the span's
  // scrollWidth also counts MathJax's hidden MathML for screen readers.
  const inline = [...document.querySelectorAll("main span.math")]
    .filter(sp => !sp.closest("div.math") && shown(sp) && sp.clientWidth > 0)
    .map(sp => {
      const math = sp.querySelector("mjx-math");
      const over = math ? Math.round(math.getBoundingClientRect().width - sp.clientWidth) : 0;
      return {over, boxWidth: sp.clientWidth, cue: sp.classList.contains("vae-scrolls"),
              scrolls: ["auto", "scroll"].includes(ox(sp)), tex: clean(sp.textContent, 60),
              near: nearestId(sp)};
    });

  return {vw, docWidth, sticking, cut, equations, hiddenEquations, inline, text, figures, code};
}"""


def _load(contexts, base_url: str, viewport: str, page_path: str) -> dict:
    """Open one page at one viewport; everything the checks read, from this one load."""
    local = base_url + "/"
    problems: list[str] = []
    external: list[str] = []
    page = contexts[viewport].new_page()
    page.on("pageerror", lambda err: problems.append(f"JavaScript exception: {err}"))
    page.on("console", lambda msg: problems.append(f"console.error: {msg.text}")
            if msg.type == "error" and "net::ERR_INTERNET_DISCONNECTED" not in msg.text
            else None)
    page.on("request", lambda req: None if req.url.startswith((local, "data:", "blob:"))
            else external.append(req.url))
    page.on("requestfailed", lambda req: problems.append(
        f"request failed: {req.url} ({req.failure})") if req.url.startswith(local) else None)
    page.on("response", lambda resp: problems.append(f"HTTP {resp.status}: {resp.url}")
            if resp.url.startswith(local) and resp.status >= 400 else None)
    pending: set[str] = set()
    page.on("request", lambda req: pending.add(req.url))
    page.on("requestfinished", lambda req: pending.discard(req.url))
    page.on("requestfailed", lambda req: pending.discard(req.url))
    try:
        page.goto(f"{base_url}/{page_path}", wait_until="load", timeout=TIMEOUT_MS)
        if target := _redirect_target(page_path):
            page.wait_for_url(urljoin(f"{base_url}/{page_path}", target), timeout=TIMEOUT_MS)
            page.wait_for_load_state("load", timeout=TIMEOUT_MS)
        page.evaluate(SETTLE_JS)
        state = page.evaluate(INSPECT_JS)
        try:
            page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
        except Exception:  # playwright's TimeoutError: a request that hangs is a problem; on
            # a busy machine the idle event can also be missed with nothing pending
            if pending:
                problems.append(f"requests still pending after {TIMEOUT_MS} ms: "
                                f"{sorted(pending)[:5]}")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{page_path.replace('/', '__')}__{viewport}.png"),
                        full_page=True)
        page.evaluate(EXPAND_JS)
        state.update(page.evaluate(MEASURE_JS))
    finally:
        page.close()
    state["problems"] = problems
    state["external"] = external
    return state


@pytest.fixture(scope="module")
def measured(contexts, base_url):
    """``measured(viewport, page_path)``: the page's measurements, loaded once per viewport."""
    cache: dict = {}

    def get(viewport: str, page_path: str) -> dict:
        key = (viewport, page_path)
        if key not in cache:
            try:
                cache[key] = _load(contexts, base_url, viewport, page_path)
            except Exception as err:  # a page that does not load fails every check on it
                cache[key] = err
        if isinstance(cache[key], Exception):
            raise cache[key]
        return cache[key]

    return get


def _reader_page(measured, viewport: str, page_path: str) -> dict:
    """The measurements of a page a reader reads (a redirect is measured at its target)."""
    if target := _redirect_target(page_path):
        pytest.skip(f"{page_path} redirects to {target}, which is checked itself")
    return measured(viewport, page_path)


def _where(viewport: str, page_path: str) -> str:
    size = VIEWPORTS[viewport]
    return f"{page_path} at {size['width']}x{size['height']}"


@pytest.mark.parametrize(("viewport", "page_path"), _pages(*VIEWPORTS))
def test_page_renders_offline(viewport, page_path, measured):
    state = measured(viewport, page_path)
    problems = list(state["problems"])
    if state["external"]:
        problems.append(f"requests to other hosts (blocked offline): "
                        f"{sorted(set(state['external']))}")
    if state["unparsed"]:
        problems.append(f"MyST directives left as text (a nested code fence closed the outer "
                        f"directive?): {state['unparsed'][:5]}")
    if state["untypeset"]:
        problems.append(f"{len(state['untypeset'])} of {state['nMath']} math elements not "
                        f"typeset by MathJax, e.g. {state['untypeset'][:3]}")
    if state["mathErrors"]:
        problems.append(f"MathJax errors: {state['mathErrors'][:5]}")
    if state["brokenImages"]:
        problems.append(f"images that did not load: {state['brokenImages']}")
    if state["hasWidgetState"] or state["nWidgetViews"]:
        problems.append(f"ipywidgets state saved in the page ({state['nWidgetViews']} widget "
                        "views), which the book has no script to draw: show the output as text "
                        "or an explorer (a training cell: progress=False)")
    _tally(f"renders offline, no errors ({viewport})", len(problems))
    assert not problems, f"{_where(viewport, page_path)}:\n  " + "\n  ".join(problems)


def _equation(eq: dict) -> str:
    return f"{eq['name']}: {eq['tex']!r}"


@pytest.mark.parametrize(("viewport", "page_path"), _pages(*VIEWPORTS))
def test_display_equations_fit(viewport, page_path, measured):
    """At 1366 px no display equation is wider than its box; at 390 px one that is wider shows
    that it scrolls (overflow-x auto/scroll and the class vae-scrolls, on the screen); at both,
    no equation number over its formula."""
    equations = _reader_page(measured, viewport, page_path)["equations"]
    wide = [eq for eq in equations if eq["over"] > 1 or eq["cutBy"]]
    if viewport == "desktop":
        clipped = [f"{_equation(eq)}: formula {eq['formulaWidth']} px in a "
                   f"{eq['boxWidth']} px box ({eq['over']} px too wide"
                   f"{', cut by ' + eq['cutBy'] if eq['cutBy'] else ''})" for eq in wide]
        label = "wider than their box (clipped or scrolling)"
    else:
        clipped = [f"{_equation(eq)}: {eq['over']} px too wide for its {eq['boxWidth']} px box, "
                   f"overflow-x {eq['overflowX']}, class vae-scrolls "
                   f"{'present' if eq['cue'] else 'missing'}"
                   f"{', cut by ' + eq['cutBy'] if eq['cutBy'] else ''}"
                   for eq in wide if not (eq["scrolls"] and eq["cue"]) or eq["cutBy"]]
        label = ("wider than their box without a visible scroll cue (overflow-x auto/scroll "
                 "+ class vae-scrolls, box on the screen)")
    under = [f"{_equation(eq)}" for eq in equations if eq["numberOverlaps"]]
    _tally(f"display equations {label.split(' (')[0]} ({viewport})", len(clipped),
           len(equations))
    _tally(f"display equations whose number overlaps the formula ({viewport})", len(under),
           len(equations))
    if viewport == "phone":  # for the record: how many must scroll
        _tally("display equations wider than their box (phone, allowed with the cue)",
               len(wide), len(equations))
    problems = []
    if clipped:
        problems.append(f"{len(clipped)} of {len(equations)} display equations {label}:\n    "
                        + "\n    ".join(clipped[:EXAMPLES * 2]))
    if under:
        problems.append(f"{len(under)} of {len(equations)} display equations run under their "
                        f"equation number:\n    " + "\n    ".join(under[:EXAMPLES * 2]))
    assert not problems, f"{_where(viewport, page_path)}: " + "\n  ".join(problems)


#: Pixels of an inline formula that may be hidden without a scroll cue (rounding).
INLINE_OVERHANG_PX = 2


@pytest.mark.parametrize(("viewport", "page_path"), _pages(*VIEWPORTS))
def test_inline_formulas_fit_or_show_they_scroll(viewport, page_path, measured):
    """An inline formula wider than its line scrolls in its own box (the theme's overflow-x):
    at 390 px it must show it (the class vae-scrolls: a shadow on the side with hidden content,
    reachable by keyboard); at 1366 px none is cut by more than a glyph's overhang."""
    inline = _reader_page(measured, viewport, page_path)["inline"]
    wide = [f for f in inline if f["over"] > INLINE_OVERHANG_PX]
    bad = wide if viewport == "desktop" else [f for f in wide if not (f["scrolls"] and f["cue"])]
    _tally(f"inline formulas cut without a scroll cue ({viewport})", len(bad), len(inline))
    assert not bad, (
        f"{_where(viewport, page_path)}: {len(bad)} of {len(inline)} inline formulas are wider "
        f"than their box by more than {INLINE_OVERHANG_PX} px"
        + (" (at 1366 px none may be)" if viewport == "desktop" else
           " with no scroll cue (class vae-scrolls)")
        + ":\n    " + "\n    ".join(f"{f['tex']!r}{f['near']}: {f['over']} px hidden of a "
                                     f"{f['boxWidth']} px box" for f in bad[:EXAMPLES]))


def _raw_hits(text: str) -> list[str]:
    """Each piece of raw markup in ``text``, in its context."""
    flat = re.sub(r"\s+", " ", text)
    hits = []
    spans: list[tuple[int, int]] = []
    for needle in RAW_MARKUP:
        start = 0
        while (i := flat.find(needle, start)) >= 0:
            spans.append((i, i + len(needle)))
            start = i + len(needle)
    spans += [m.span() for m in RAW_MARKUP_RE.finditer(flat)]
    last_end = -1
    for i, j in sorted(spans):
        if i < last_end:  # one passage, several needles
            continue
        hits.append(f"{flat[i:j]!r} in ...{flat[max(0, i - 50):j + 50]}...")
        last_end = j + 50
    return hits


@pytest.mark.parametrize("page_path", _pages())
def test_no_raw_markup(page_path, measured):
    """No TeX, MyST role or directive text in the visible text outside code and math."""
    hits = _raw_hits(_reader_page(measured, "desktop", page_path)["text"])
    _tally("raw TeX / MyST markup in the visible text (hits)", len(hits))
    assert not hits, (f"{_where('desktop', page_path)}: {len(hits)} passages of raw TeX or MyST "
                      f"markup in the visible text:\n  " + "\n  ".join(hits[:EXAMPLES * 2]))


def _is_file_name(alt: str) -> bool:
    return "/" in alt or bool(re.search(r"\.(png|jpe?g|svg|gif|webp)\b", alt, flags=re.I)) \
        or bool(re.fullmatch(r"[0-9a-f]{16,}\S*", alt))


@pytest.mark.parametrize("page_path", _pages())
def test_code_figures_are_numbered_captioned_and_sharp(page_path, measured):
    """Every image a code cell drew: numbered figure with a caption, real alt text, 2x pixels,
    referred to from the page's prose."""
    figures = _reader_page(measured, "desktop", page_path)["figures"]
    checks = {
        "not in a numbered figure with a caption ('Fig. N.k' + text)":
            lambda f: not (f["inFigure"] and f["number"]
                           and len(f["caption"]) > len(f["number"]) + 3),
        "alt text empty or a file name/path": lambda f: not f["alt"] or _is_file_name(f["alt"]),
        "fewer than 2x its displayed width in pixels (blurry on a high-density screen)":
            lambda f: not f["svg"] and f["shown"] > 0 and f["natural"] < 2 * f["shown"] - 1,
        "not referred to from the page's prose (no link to the figure's id)":
            lambda f: not f["referred"],
    }
    problems = []
    for label, bad in checks.items():
        failing = [f for f in figures if bad(f)]
        _tally(f"code-cell figures {label.split(' (')[0]}", len(failing), len(figures))
        if failing:
            examples = [f"{f['number'] or f['id'] or f['src']} near {f['near']}: alt "
                        f"{f['alt'][:50]!r}, {f['natural']} px drawn at {f['shown']} px"
                        for f in failing[:EXAMPLES]]
            problems.append(f"{len(failing)} of {len(figures)} code-cell images {label}:\n    "
                            + "\n    ".join(examples))
    assert not problems, f"{_where('desktop', page_path)}: " + "\n  ".join(problems)


def _squashed(f: dict) -> bool:
    """Shown at another aspect ratio than drawn (by more than 2% or 2 px): squashed or stretched."""
    if not (f["natural"] and f["naturalHeight"] and f["shown"] and f["shownHeight"]):
        return False
    expected = f["shown"] * f["naturalHeight"] / f["natural"]
    return abs(f["shownHeight"] - expected) > max(2.0, 0.02 * expected)


@pytest.mark.parametrize(("viewport", "page_path"), _pages(*VIEWPORTS))
def test_code_figures_keep_their_aspect_ratio(viewport, page_path, measured):
    """A figure narrowed to fit the screen is shown at the shape it was drawn (myst-nb's inline
    width/height of 2x images once squashed every figure sideways on a phone)."""
    figures = _reader_page(measured, viewport, page_path)["figures"]
    failing = [f for f in figures if _squashed(f)]
    _tally(f"code-cell figures shown at another aspect ratio ({viewport})", len(failing),
           len(figures))
    assert not failing, f"{_where(viewport, page_path)}: {len(failing)} of {len(figures)} " + (
        "figures squashed or stretched: " + "; ".join(
            f"{f['number'] or f['src']}: drawn {f['natural']}x{f['naturalHeight']}, shown "
            f"{f['shown']}x{f['shownHeight']}" for f in failing[:EXAMPLES]))


@pytest.mark.parametrize("page_path", _pages())
def test_page_fits_the_phone(page_path, measured):
    """At 390 px the page does not slide sideways; no table or signature is cut off."""
    state = _reader_page(measured, "phone", page_path)
    problems = []
    too_wide = state["docWidth"] > state["vw"]
    _tally("pages wider than the 390 px viewport", int(too_wide))
    _tally("tables/signatures/inline formulas cut off at 390 px", len(state["cut"]))
    if too_wide:
        problems.append(f"the page is {state['docWidth']} px wide in a {state['vw']} px "
                        f"viewport (it slides sideways); sticking out:\n    "
                        + "\n    ".join(state["sticking"][:EXAMPLES]))
    if state["cut"]:
        problems.append(f"{len(state['cut'])} tables, signatures or inline formulas cut off by a "
                        f"box that hides its overflow (let them scroll in their own box, or set "
                        f"a long formula as a display equation):\n    "
                        + "\n    ".join(state["cut"][:EXAMPLES]))
    assert not problems, f"{_where('phone', page_path)}: " + "\n  ".join(problems)


@pytest.mark.parametrize("page_path", _pages())
def test_code_fits_its_box(page_path, measured):
    """At 1366 px no pre of a code cell (input or output) is wider than its box."""
    code = _reader_page(measured, "desktop", page_path)["code"]
    problems = []
    for kind, is_input in (("input", True), ("output", False)):
        pres = [c for c in code if c["input"] == is_input]
        wide = [c for c in pres if c["over"] > 1]
        n_lines = sum(c["lines"] for c in pres)
        n_wide = sum(c["wide"] for c in wide)
        _tally(f"code-cell {kind} blocks wider than their box (1366)", len(wide), len(pres))
        _tally(f"code-cell {kind} lines wider than their box (1366)", n_wide, n_lines)
        if wide:
            problems.append(
                f"{len(wide)} of {len(pres)} code-cell {kind} blocks wider than their box "
                f"({n_wide} of {n_lines} lines do not fit):\n    " + "\n    ".join(
                    f"{c['near']}: {c['over']} px too wide, {c['wide']} lines, e.g. "
                    f"{c['example']!r}" for c in wide[:EXAMPLES]))
    assert not problems, f"{_where('desktop', page_path)}: " + "\n  ".join(problems)


def test_search_works_offline(context, base_url):
    """The search page finds chapters from the book's own index (searchindex.js), offline."""
    if not (HTML / "search.html").is_file():
        pytest.skip(f"{HTML} has no search page: run `make book` first")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        page.goto(f"{base_url}/search.html?q=ELBO", wait_until="load", timeout=TIMEOUT_MS)
        page.wait_for_function(
            "() => document.querySelectorAll('#search-results li, ul.search li').length > 0",
            timeout=TIMEOUT_MS,
        )
        hits = page.eval_on_selector_all("#search-results li a, ul.search li a",
                                         "links => links.map(a => a.getAttribute('href'))")
    finally:
        page.close()
    assert not errors, errors
    assert any("book/" in h for h in hits), hits
