"""Page weight and load time: every page of the built book, as it loads in headless Chromium.

Each page of ``_build/html`` is served from a local HTTP server on 127.0.0.1 (no compression,
as Python's ``http.server`` sends files) and opened in a fresh browser context (empty cache) with
the network off: every request to another host is aborted. A page counts as loaded when its
``load`` event has fired, MathJax has typeset (``MathJax.startup.promise``), the explorers have
drawn and the network has been idle for 0.5 s. Measured per page:

* its weight: the bytes of every response (the page itself, scripts, styles, fonts, images,
  data), summed by type, from the browser's resource timing (``encodedBodySize``, which for an
  uncompressed response is the file's size);
* when the reader sees it: first contentful paint (``first-contentful-paint``), the
  ``DOMContentLoaded`` event, the ``load`` event, and the moment MathJax finished its first
  typeset (milliseconds after navigation start).

Run from the repository root: ``.venv/bin/python benchmarks/page_load.py [--repeats 3]``
(``--html DIR`` for another built book; ``--viewport phone`` for 390 x 844). It prints one table
per page (median over the repeats for the times; the weight is the same every time) and the
largest page. ``tests/test_page_weight.py`` uses :func:`measure` to hold every page under its
budget.
"""

from __future__ import annotations

import argparse
import collections
import functools
import http.server
import json
import os
import re
import shutil
import statistics
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
MB = 1e6  # a page's weight is given in decimal megabytes (10^6 bytes)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
TIMEOUT_MS = 60_000
TYPES = ("html", "script", "style", "font", "image", "other")

# Before any of the page's scripts: note when MathJax's first typeset is done.
INIT_JS = """(() => {
  const poll = () => {
    const p = window.MathJax && MathJax.startup && MathJax.startup.promise;
    if (p && typeof p.then === "function") {
      p.then(() => { window.__vaeMathDone = performance.now(); });
    } else if (!window.__vaeMathDone) {
      setTimeout(poll, 10);
    }
  };
  poll();
})();"""

# After load: wait for MathJax and the explorers.
SETTLE_JS = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const t0 = performance.now();
  while (document.querySelector(".vae-explorer .vae-explorer-view:empty")
         && performance.now() - t0 < 20000) {
    await new Promise(r => setTimeout(r, 50));
  }
}"""

MEASURE_JS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const paint = Object.fromEntries(performance.getEntriesByType("paint")
                                   .map(p => [p.name, p.startTime]));
  const resources = performance.getEntriesByType("resource").map(r => ({
    url: r.name, initiator: r.initiatorType, bytes: r.encodedBodySize || r.transferSize || 0,
  }));
  resources.unshift({url: location.href, initiator: "navigation",
                     bytes: nav.encodedBodySize || nav.transferSize || 0});
  return {resources, fcp: paint["first-contentful-paint"] ?? null,
          firstPaint: paint["first-paint"] ?? null,
          dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
          mathDone: window.__vaeMathDone ?? null,
          nMath: document.querySelectorAll(".math").length};
}"""


def kind(url: str, initiator: str) -> str:
    """The type a request is counted under: html, script, style, font, image or other."""
    path = urlsplit(url).path.lower()
    if initiator == "navigation" or path.endswith((".html", "/")):
        return "html"
    if path.endswith((".js", ".mjs")):
        return "script"
    if path.endswith(".css"):
        return "style"
    if path.endswith((".woff", ".woff2", ".ttf", ".otf", ".eot")):
        return "font"
    if path.endswith((".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp", ".ico")):
        return "image"
    return "other"


def chromium() -> str | None:
    """Debian's Chromium (or ``$CHROMIUM``); Playwright's own browser download is never used."""
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


def built_pages(html: Path = HTML) -> list[str]:
    """The pages the last build wrote (as ``tests/test_browser.py`` lists them), without the
    redirect at the root and the highlighted sources (``_modules``), which are not chapters."""
    index = json.loads(
        re.fullmatch(
            r"Search\.setIndex\((.*)\)\s*", (html / "searchindex.js").read_text(), flags=re.S
        ).group(1)
    )
    pages = {f"{doc}.html" for doc in index["docnames"]}
    pages |= {p.name for p in html.glob("*.html") if p.name != "index.html"}
    return sorted(pages)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextmanager
def serve(html: Path = HTML):
    """A local HTTP server for ``html``; yields its base URL."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def measure(browser, base_url: str, page_path: str, viewport: str = "desktop") -> dict:
    """Load one page offline in a fresh context; its weight by type, timings and problems.

    Returns:
        ``{"bytes": {type: bytes}, "total": bytes, "largest": [(bytes, path)], "fcp", "dcl",
        "load", "mathDone": ms or None, "problems": [str], "external": [url]}``.
    """
    host = urlsplit(base_url).netloc
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    external: list[str] = []
    problems: list[str] = []

    def offline(route) -> None:
        if urlsplit(route.request.url).netloc == host or route.request.url.startswith("data:"):
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", offline)
    context.add_init_script(INIT_JS)
    page = context.new_page()
    page.on("pageerror", lambda err: problems.append(f"JavaScript exception: {err}"))
    page.on(
        "console",
        lambda msg: problems.append(f"console.error: {msg.text}") if msg.type == "error" else None,
    )
    page.on(
        "response",
        lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
    )
    try:
        page.goto(f"{base_url}/{page_path}", wait_until="load", timeout=TIMEOUT_MS)
        page.evaluate(SETTLE_JS)
        try:
            page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
        except Exception:  # playwright's TimeoutError: count what did arrive
            problems.append("the network was not idle within 60 s")
        raw = page.evaluate(MEASURE_JS)
    finally:
        context.close()
    by_type = collections.Counter({t: 0 for t in TYPES})
    for r in raw["resources"]:
        by_type[kind(r["url"], r["initiator"])] += r["bytes"]
    prefix = base_url + "/"
    largest = sorted(
        ((r["bytes"], r["url"].removeprefix(prefix).split("?")[0]) for r in raw["resources"]),
        reverse=True,
    )[:4]
    return {
        "bytes": dict(by_type),
        "total": sum(by_type.values()),
        "largest": largest,
        "n_requests": len(raw["resources"]),
        "fcp": raw["fcp"],
        "dcl": raw["dcl"],
        "load": raw["load"],
        "mathDone": raw["mathDone"],
        "nMath": raw["nMath"],
        "problems": problems,
        "external": external,
    }


def table(results: dict[str, dict], repeats: int = 1) -> str:
    """A markdown table: per page its weight by type (MB) and its timings (ms, median)."""

    def ms(values) -> str:
        values = [v for v in values if v is not None]
        return f"{statistics.median(values):.0f}" if values else "-"

    head = (
        "| page | total MB | " + " | ".join(TYPES) + " | requests | first paint ms "
        "| DOMContentLoaded ms | load ms | MathJax done ms |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for page, runs in results.items():
        first = runs[0]
        lines.append(
            f"| {page} | {first['total'] / MB:.2f} | "
            + " | ".join(f"{first['bytes'][t] / MB:.2f}" for t in TYPES)
            + f" | {first['n_requests']} | {ms(r['fcp'] for r in runs)} "
            f"| {ms(r['dcl'] for r in runs)} | {ms(r['load'] for r in runs)} "
            f"| {ms(r['mathDone'] for r in runs)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=HTML)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--viewport", choices=VIEWPORTS, default="desktop")
    parser.add_argument("--pages", nargs="*", help="only these pages (paths in the site)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    executable = chromium()
    if executable is None:
        sys.exit("no Chromium found: apt-get install chromium, or set CHROMIUM")
    pages = args.pages or built_pages(args.html)
    results: dict[str, list[dict]] = {p: [] for p in pages}
    with serve(args.html) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        for _ in range(args.repeats):  # pages alternate, so a busy minute spreads over all
            for p in pages:
                results[p].append(measure(browser, base, p, args.viewport))
        browser.close()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"**Page weight and load time** ({args.viewport} "
        f"{VIEWPORTS[args.viewport]['width']} px, offline, local server, {args.repeats} "
        f"loads per page, {os.cpu_count()} cores, load average {load})\n"
    )
    print(table(results, args.repeats))
    heaviest = max(results, key=lambda p: results[p][0]["total"])
    print(
        f"\nheaviest page: {heaviest}, {results[heaviest][0]['total'] / MB:.2f} MB; its "
        "largest files: "
        + ", ".join(f"{path} {b / MB:.2f} MB" for b, path in results[heaviest][0]["largest"])
    )
    for p, runs in results.items():
        for problem in sorted({x for r in runs for x in r["problems"] + r["external"]}):
            print(f"problem on {p}: {problem}")


if __name__ == "__main__":
    main()
