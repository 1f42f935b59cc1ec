"""The built book as a reader sees it: every page opened in headless Chromium, offline.

``make book`` builds ``_build/html``; this module serves it from a local HTTP server on
127.0.0.1, opens every page in Debian's Chromium (driven by Playwright's Python package with
``executable_path``: Playwright's own browser download is never used) and checks, page by page:

* **offline**: every request to another host is aborted, and none is attempted at all: the
  page needs nothing from the internet (MathJax, the widget script, fonts, images);
* **own assets**: no request to the local server fails or answers with status >= 400;
* **no JavaScript errors**: no uncaught exception and no ``console.error`` message;
* **math typeset**: no raw ``$$``, ``\\(``, ``\\[`` or ``\\begin{`` left in the visible text
  (code blocks excepted); every ``.math`` element holds a MathJax ``mjx-container``; no MathJax
  error node (an undefined macro or a TeX syntax error);
* **figures**: every ``<img>`` loaded (``naturalWidth > 0``);
* **MyST parsed**: no directive such as ```` ```{exercise} ```` shown as text (the mark of a
  code fence nested in a directive fence of the same length, which closes it early);
* **widgets**: on a page that carries saved widget state, every widget view was rendered by
  the html-manager into a non-empty ``.widget-subarea``.

One more test drives a widget: chapter 7's ``image_slider`` (``vae_tutorial.widgets``) ties its
slider to a stack of precomputed images with ``jslink`` only, so in the static page, with no
kernel and no network, moving its slider with the keyboard must show another of the saved
images; the "snapshot" note must be absent under it and present under the chapter's other
widget with controls.

A full-page screenshot of each page is saved to ``_build/screenshots/`` (a path with ``/``
flattened to ``__``), to be looked at.

Skipped, with the reason, where ``_build/html`` does not exist (run ``make book`` first), where
Playwright is not installed, or where no Chromium is found (``apt-get install chromium``; or set
``CHROMIUM`` to a browser executable). ``BOOK_HTML`` points the tests at another built book.
"""

from __future__ import annotations

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
TIMEOUT_MS = 30_000  # per wait; a page normally settles in under 2 s
WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'


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


def _pages() -> list:
    if not (HTML / "searchindex.js").is_file():
        reason = f"{HTML} holds no built book: run `make book` first"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="no-build")]
    return [pytest.param(p, id=p) for p in _built_pages()]


def _redirect_target(page_path: str) -> str | None:
    """The page a meta-refresh page (Jupyter Book's root index.html) sends the reader to."""
    head = (HTML / page_path).read_text(errors="replace")[:2000]
    found = re.search(r'http-equiv="refresh"[^>]*url=([^"\s>]+)', head, flags=re.I)
    return found.group(1) if found else None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


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
def context(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    local_host = urlsplit(base_url).netloc

    def offline(route) -> None:
        if urlsplit(route.request.url).netloc == local_host:
            route.continue_()
        else:
            route.abort("internetdisconnected")

    context.route("**/*", offline)
    yield context
    context.close()


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
  const body = document.body.cloneNode(true);
  body.querySelectorAll("pre, code, script, style, mjx-container, .highlight, textarea")
      .forEach(el => el.remove());
  const text = body.innerText || body.textContent;
  const raw = ["$$", "\\\\(", "\\\\[", "\\\\begin{"].filter(s => text.includes(s));
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
  return {raw, unparsed, nMath: math.length,
          nTypeset: document.querySelectorAll("mjx-container").length,
          untypeset, mathErrors, nImages: document.images.length, brokenImages,
          hasWidgetState: !!document.querySelector(
              'script[type="application/vnd.jupyter.widget-state+json"]'),
          nWidgetViews: document.querySelectorAll('WIDGET_VIEW').length};
}""".replace("WIDGET_VIEW", WIDGET_VIEW.replace('"', '\\"'))

# Runs in the page: true once every widget view script has a rendered, non-empty view before it.
WIDGETS_RENDERED_JS = """() => [...document.querySelectorAll('WIDGET_VIEW')].every(tag => {
  const view = tag.previousElementSibling;
  return view && view.classList.contains("widget-subarea") && view.childElementCount > 0
         && view.getBoundingClientRect().height > 0;
})""".replace("WIDGET_VIEW", WIDGET_VIEW.replace('"', '\\"'))


@pytest.mark.parametrize("page_path", _pages())
def test_page_renders_offline(page_path, context, base_url):
    local = base_url + "/"
    problems: list[str] = []
    external: list[str] = []
    page = context.new_page()
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
    try:
        page.goto(f"{base_url}/{page_path}", wait_until="load", timeout=TIMEOUT_MS)
        if target := _redirect_target(page_path):
            page.wait_for_url(urljoin(f"{base_url}/{page_path}", target), timeout=TIMEOUT_MS)
            page.wait_for_load_state("load", timeout=TIMEOUT_MS)
        page.evaluate(SETTLE_JS)
        state = page.evaluate(INSPECT_JS)
        if state["nWidgetViews"]:
            try:
                page.wait_for_function(WIDGETS_RENDERED_JS, timeout=TIMEOUT_MS)
            except Exception:  # playwright's TimeoutError; reported below with the counts
                problems.append(f"{state['nWidgetViews']} widget view(s) not all rendered "
                                f"within {TIMEOUT_MS} ms")
        page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / (page_path.replace("/", "__") + ".png")),
                        full_page=True)
    finally:
        page.close()

    if external:
        problems.append(f"requests to other hosts (blocked offline): {sorted(set(external))}")
    if state["raw"]:
        problems.append(f"raw TeX delimiters in the visible text: {state['raw']}")
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
    if state["hasWidgetState"] and not state["nWidgetViews"]:
        problems.append("widget state saved in the page but no widget view to show it")
    assert not problems, f"{page_path}:\n  " + "\n  ".join(problems)


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


# Runs in the page: what the offline widget (class vae-offline-widget) shows now. The image is
# read back from its blob URL as base64, to compare with the PNGs in the saved widget state.
OFFLINE_WIDGET_JS = """async () => {
  const box = document.querySelector(".vae-offline-widget");
  const shown = [...box.querySelectorAll("img")].filter(img => img.offsetParent !== null);
  const bytes = shown.length ? new Uint8Array(await (await fetch(shown[0].src)).arrayBuffer())
                             : new Uint8Array();
  let binary = "";
  bytes.forEach(b => { binary += String.fromCharCode(b); });
  const visibleText = sel => [...box.querySelectorAll(sel)]
      .filter(el => el.offsetParent !== null).map(el => el.textContent.trim());
  return {nShown: shown.length, png: btoa(binary), readout: visibleText(".widget-readout"),
          captions: visibleText(".widget-label").filter(t => t.startsWith("z ="))};
}"""

# Runs in the page: for each rendered widget view, whether it is an offline widget, whether it
# has controls and whether the static note follows it.
NOTES_JS = """() => [...document.querySelectorAll('WIDGET_VIEW')].map(tag => {
  const view = tag.previousElementSibling;
  const next = tag.nextElementSibling;
  return {offline: !!view.querySelector(".vae-offline-widget"),
          controls: !!view.querySelector(".widget-slider, .slider, input, button, select"),
          note: !!(next && next.classList.contains("widget-static-note"))};
})""".replace("WIDGET_VIEW", WIDGET_VIEW.replace('"', '\\"'))


def _saved_stack_pngs(page_path: str) -> list[str]:
    """Base64 PNGs of the offline widget's images, in slider order, from the page's saved state."""
    html = (HTML / page_path).read_text()
    found = re.search(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>',
                      html, flags=re.S)
    state = json.loads(found.group(1))["state"]
    for model in state.values():
        if model["model_name"] != "StackModel":
            continue
        kids = [state[ref.removeprefix("IPY_MODEL_")] for ref in model["state"]["children"]]
        if kids and all(k["model_name"] == "ImageModel" for k in kids):
            return [k["buffers"][0]["data"] for k in kids]
    return []


def test_offline_widget_moves_with_no_kernel(context, base_url):
    """Chapter 7's image_slider: the keyboard moves its slider and the shown image follows, in
    the static page (no kernel, other hosts blocked); no snapshot note under it."""
    page_path = "book/07_vae_on_digits.html"
    if not (HTML / page_path).is_file():
        pytest.skip(f"{HTML} has no {page_path}: run `make book` first")
    saved = _saved_stack_pngs(page_path)
    assert len(saved) == 21, f"expected the 21 saved images of the offline widget; {len(saved)}"
    local = base_url + "/"
    errors: list[str] = []
    external: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda err: errors.append(f"JavaScript exception: {err}"))
    page.on("request", lambda req: None if req.url.startswith((local, "data:", "blob:"))
            else external.append(req.url))
    try:
        page.goto(f"{base_url}/{page_path}", wait_until="load", timeout=TIMEOUT_MS)
        page.wait_for_function(WIDGETS_RENDERED_JS, timeout=TIMEOUT_MS)
        page.wait_for_function("() => document.querySelector('.widget-static-note')",
                               timeout=TIMEOUT_MS)
        notes = page.evaluate(NOTES_JS)
        states = [page.evaluate(OFFLINE_WIDGET_JS)]
        handle = page.locator(".vae-offline-widget .noUi-handle")
        assert handle.count() == 1
        handle.focus()
        for key in ("ArrowRight", "End", "Home"):
            page.keyboard.press(key)
            page.wait_for_timeout(200)
            states.append(page.evaluate(OFFLINE_WIDGET_JS))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.locator(".vae-offline-widget").screenshot(
            path=str(SCREENSHOTS / "book__07_vae_on_digits.html__offline-widget.png"))
    finally:
        page.close()

    assert not errors and not external, (errors, external)
    # Image k of the saved state is shown, with its readout t = k / 20 and its caption.
    for state, k in zip(states, (0, 1, 20, 0), strict=True):
        t = k / 20
        assert state["nShown"] == 1, state["nShown"]
        assert state["png"] == saved[k], f"slider at index {k}: not saved image {k}"
        assert state["readout"] == [f"{t:.2f}"], state["readout"]
        assert state["captions"] == [f"z = {1 - t:.2f} μ(3) + {t:.2f} μ(8)"], state["captions"]
    assert len({s["png"] for s in states}) == 3  # three different images shown
    assert [n["note"] for n in notes if n["offline"]] == [False], notes
    assert any(n["note"] for n in notes if n["controls"] and not n["offline"]), notes
