"""Every page of the built book is light: under 4 MB with all it loads, its icons drawn.

Each page of ``_build/html`` (``BOOK_HTML`` for another build) is opened in headless Chromium
with the network off, from a local server, in a fresh context (empty cache), and measured by
``benchmarks/page_load.py`` (:func:`page_load.measure`): the bytes of every response it loads,
its scripts, styles, fonts, images and the explorers' Vega included, until MathJax has typeset,
the explorers have drawn and the network is idle.

* ``test_page_weighs_under_budget``: at most 4 MB (4,000,000 bytes); the message gives the
  weight by type and the largest files.
* ``test_icons_are_drawn`` (1366 px and 390 px): every Font Awesome icon is drawn without
  Font Awesome's 1.49 MB script: each is an inline ``<svg>`` (``book/_ext/page_weight.py``)
  with a path, and each one on the screen has a size; none is left an ``<i>`` or ``<span>``
  that only that script would draw; neither ``fontawesome.js`` nor the 156 kB webfont loads.
* ``test_text_paints_before_mathjax``: on a page with math the first contentful paint comes
  before MathJax has finished typesetting (the text is readable while MathJax loads).

A table of every page (weight by type, first paint, DOMContentLoaded, MathJax done) is printed
at the end of the run. Skipped, with the reason, where there is no built book, no Playwright
or no Chromium (as ``tests/test_browser.py``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import page_load  # noqa: E402

HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()
BUDGET_BYTES = 4_000_000

# Runs in the page: every icon, as inline SVG or as an <i> left for Font Awesome to draw.
ICONS_JS = """() => {
  const onScreen = el => el.checkVisibility({visibilityProperty: true});
  const name = el => [...el.classList].filter(c => c.startsWith("fa-")).join(" ");
  const svgs = [...document.querySelectorAll("svg.svg-inline--fa")].map(el => {
    const r = el.getBoundingClientRect();
    return {name: name(el), shown: onScreen(el), width: r.width, height: r.height,
            paths: el.querySelectorAll("path").length,
            where: (el.closest("[id], button, a") || el).outerHTML.slice(0, 80)};
  });
  const left = [...document.querySelectorAll("i[class*='fa-'], span[class*='fa-']")]
      .map(el => name(el));
  return {svgs, left};
}"""

_RESULTS: dict[str, dict] = {}


def _pages() -> list:
    if not (HTML / "searchindex.js").is_file():
        return [pytest.param(None, marks=pytest.mark.skip(
            reason=f"{HTML} holds no built book: run `make book` first"), id="no-build")]
    return [pytest.param(p, id=p) for p in page_load.built_pages(HTML)]


class _Summary:
    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not _RESULTS:
            return
        terminalreporter.section("page weight (test_page_weight): every page, offline")
        for line in page_load.table({p: [r] for p, r in sorted(_RESULTS.items())}).splitlines():
            terminalreporter.write_line(line)
        heaviest = max(_RESULTS, key=lambda p: _RESULTS[p]["total"])
        terminalreporter.write_line(
            f"heaviest: {heaviest}, {_RESULTS[heaviest]['total'] / 1e6:.2f} MB "
            f"(budget {BUDGET_BYTES / 1e6:.0f} MB)")


@pytest.fixture(scope="module")
def browser(request):
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright's Python package is not installed")
    executable = page_load.chromium()
    if executable is None:
        pytest.skip("no Chromium found: `apt-get install chromium` or set CHROMIUM=/path")
    _RESULTS.clear()
    if not request.config.pluginmanager.has_plugin("test_page_weight_summary"):
        request.config.pluginmanager.register(_Summary(), "test_page_weight_summary")
    with sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=executable,
                                      args=page_load.CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def base_url():
    with page_load.serve(HTML) as url:
        yield url


@pytest.fixture(scope="module")
def measured(browser, base_url):
    cache: dict = {}

    def get(page_path: str) -> dict:
        if page_path not in cache:
            cache[page_path] = page_load.measure(browser, base_url, page_path)
            _RESULTS[page_path] = cache[page_path]
        return cache[page_path]

    return get


@pytest.mark.parametrize("page_path", _pages())
def test_page_weighs_under_budget(page_path, measured):
    result = measured(page_path)
    assert not result["external"], f"{page_path} asked for other hosts: {result['external']}"
    by_type = ", ".join(f"{t} {b / 1e6:.2f}" for t, b in result["bytes"].items() if b)
    largest = ", ".join(f"{path} {b / 1e6:.2f}" for b, path in result["largest"])
    assert result["total"] <= BUDGET_BYTES, (
        f"{page_path} loads {result['total'] / 1e6:.2f} MB in {result['n_requests']} requests "
        f"(budget {BUDGET_BYTES / 1e6:.0f} MB); by type (MB): {by_type}; largest: {largest}")


@pytest.mark.parametrize("viewport", list(page_load.VIEWPORTS))
@pytest.mark.parametrize("page_path", _pages())
def test_icons_are_drawn(page_path, viewport, browser, base_url):
    context = browser.new_context(viewport=page_load.VIEWPORTS[viewport])
    host = base_url.split("//", 1)[1]
    context.route("**/*", lambda route: route.continue_() if host in route.request.url
                  else route.abort("internetdisconnected"))
    requested: list[str] = []
    page = context.new_page()
    page.on("request", lambda req: requested.append(req.url))
    try:
        page.goto(f"{base_url}/{page_path}", wait_until="load", timeout=page_load.TIMEOUT_MS)
        page.wait_for_load_state("networkidle", timeout=page_load.TIMEOUT_MS)
        icons = page.evaluate(ICONS_JS)
    finally:
        context.close()
    problems = []
    if not icons["svgs"]:
        problems.append("no inline SVG icon at all (the navbar has some on every page)")
    empty = [i for i in icons["svgs"] if not i["paths"]]
    unsized = [i for i in icons["svgs"] if i["shown"] and (i["width"] < 4 or i["height"] < 4)]
    if empty:
        problems.append(f"icons without a path: {[i['name'] for i in empty]}")
    if unsized:
        problems.append("icons on the screen without a size: "
                        + "; ".join(f"{i['name']} {i['width']:.0f}x{i['height']:.0f} px in "
                                    f"{i['where']}" for i in unsized))
    if icons["left"]:
        problems.append(f"icons left as <i> for Font Awesome's script: {icons['left']}")
    for url in requested:
        if "scripts/fontawesome.js" in url or "vendor/fontawesome/webfonts/" in url:
            problems.append(f"Font Awesome's script or full webfont still loaded: {url}")
    assert not problems, f"{page_path} at {viewport}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("page_path", _pages())
def test_text_paints_before_mathjax(page_path, measured):
    result = measured(page_path)
    if not result["nMath"]:
        pytest.skip(f"{page_path} has no math")
    assert result["fcp"] is not None and result["mathDone"] is not None, result
    assert result["fcp"] < result["mathDone"], (
        f"{page_path}: first contentful paint at {result['fcp']:.0f} ms, after MathJax "
        f"finished at {result['mathDone']:.0f} ms: the reader waits for MathJax to see text")
