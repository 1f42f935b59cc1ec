r"""What the browser tests of the explorers share (``tests/test_explorer_*.py``).

* the fixtures ``base_url`` (the built book served on 127.0.0.1) and ``browser`` (Chromium
  through Playwright), skipped where the book is not built or no browser is found, as in
  ``tests/test_browser.py``; a test module imports them by name;
* :func:`open_explorer`: one explorer of one chapter in a fresh page, every request to another
  host aborted (the network off), with the page errors, the outside requests and the bytes of
  every response collected, screenshots before and after;
* :func:`move_each_control`: move every slider with the keyboard and a mouse click, compare the
  page with the package after each move and require a redrawn figure;
* :func:`response_times`: the time from a slider's input event to the chart recomputed and
  redrawn, three moves per control, and :func:`check_response_times`.

A chapter's test supplies the explorer's controls (``{parameter name: accessible name}``), a
JavaScript function that reads the explorer's state (sliders, printed text, the Vega signals
and datasets behind the numbers, the drawn paths), built by :func:`explorer_state_js` from the
shared readers of :data:`STATE_HELPERS_JS`, and a Python function that compares one state with
:mod:`vae_tutorial` and returns the largest relative difference.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from test_browser import (
    CHROMIUM_ARGS,
    HTML,
    SCREENSHOTS,
    VIEWPORTS,
    _chromium,
    _QuietHandler,
)

__all__ = ["HTML", "MAX_PAGE_BYTES", "MAX_RESPONSE_MS", "MIN_READOUT_PX", "MIN_TEXT_PX", "REL",
           "SLIDERS_JS", "STATE_HELPERS_JS", "VIEWPORTS", "base_url", "browser",
           "check_response_times", "check_text_sizes", "move_each_control", "open_explorer",
           "explorer_state_js", "response_times"]

TIMEOUT_MS = 60_000
#: Closed forms: the page's full-precision numbers against the package, relative.
REL = 1e-9
#: A control whose median answer takes longer than this is frozen, not slow: the bound is a check
#: that the explorer answers, not a speed target (those belong in benchmarks/, never in a timed
#: test). It was 100 ms, and a busy 2-core CI machine once took a median of 101 ms (moves of
#: 101, 114 and 53 ms) on a page that answered every move.
MAX_RESPONSE_MS = 1000.0
#: The heaviest chapter page before the explorers (issue 10): no page may weigh more.
MAX_PAGE_BYTES = 6.6e6
#: On the phone, the smallest rendered size (CSS px) of any chart text, and of a printed
#: number (a text mark of the chart: the readouts and the labels drawn in the figure).
MIN_TEXT_PX, MIN_READOUT_PX = 11.0, 13.0

# Every visible text of the explorer's drawing with its rendered size in CSS px: the computed
# font size times the SVG's scale (its drawn width over its width attribute), and its role
# (a text mark of the chart, or an axis, legend or title). A text hidden by Vega's label
# overlap removal (opacity 0) is not visible.
TEXT_SIZES_JS = """(el) => [...el.querySelectorAll('svg')].flatMap((svg) => {
  const scale = svg.getBoundingClientRect().width / parseFloat(svg.getAttribute('width'));
  return [...svg.querySelectorAll('text')].filter((t) => {
    if (!t.textContent.trim() || !t.getBoundingClientRect().width) return false;
    for (let n = t; n && n !== svg; n = n.parentElement) {
      if (n.getAttribute('opacity') === '0' || getComputedStyle(n).opacity === '0'
          || getComputedStyle(n).visibility === 'hidden') return false; }
    return true;
  }).map((t) => {
    const role = t.closest('.role-axis, .role-legend, .role-title, .role-axis-title, '
                           + '.role-legend-title');
    return {text: t.textContent.slice(0, 40), mark: !role,
            px: parseFloat(getComputedStyle(t).fontSize) * scale}; });
})"""

#: A JavaScript snippet (a function body's first lines) that reads the sliders by their
#: accessible names into ``sliders`` and the explorer's SVG text into ``texts``.
SLIDERS_JS = """
  const view = el.vegaView;
  const sliders = {};
  el.querySelectorAll('.vega-bind input[type=range], .vega-bind select').forEach((i) => {
    sliders[i.getAttribute('aria-label')] = i.value; });
  const texts = [...el.querySelectorAll('svg text')].map((t) => t.textContent);
"""

#: What the explorers' state readers share, after :data:`SLIDERS_JS` (see
#: :func:`explorer_state_js`): ``lines``, the helpers ``datasets``, ``namedDatasets``, ``has``,
#: ``rowsOf``, ``walkScene``, ``drawn`` and ``signalsOf``.
STATE_HELPERS_JS = """
  // the printed lines: each tspan of a multi-line text mark, or the text itself
  const lines = [...el.querySelectorAll('svg text')].flatMap((t) => {
    const spans = [...t.querySelectorAll('tspan')];
    return spans.length ? spans.map((sp) => sp.textContent) : [t.textContent]; });
  // every dataset (an array of rows, not empty) of the view's state: a context's own data,
  // then its subcontexts', depth first
  const datasets = () => {
    const out = [];
    (function walk(s) {
      if (!s) return;
      Object.values(s.data || {}).forEach((d) => {
        if (Array.isArray(d) && d.length) out.push(d); });
      Object.values(s.subcontext || {}).forEach(walk);
    })(view.getState({signals: vega.falsy, data: vega.truthy, recurse: true}));
    return out; };
  // every named dataset of the view's runtime (not empty), the aggregated ones included
  const namedDatasets = () => Object.keys(view._runtime.data).flatMap((name) => {
    let d; try { d = view.data(name); } catch (e) { return []; }
    return Array.isArray(d) && d.length ? [d] : []; });
  // a test of a dataset: its first row has every one of these fields
  const has = (...keys) => (d) => keys.every((k) => k in d[0]);
  // the rows of the first dataset that passes `test`, each mapped by `row`; null if none does
  const rowsOf = (sets, test, row) => { const d = sets.find(test); return d ? d.map(row) : null; };
  // visit every node of the scenegraph, depth first; a visit that returns false stops descent
  const walkScene = (visit) => {
    (function walk(node) {
      if (!node || visit(node) === false) return;
      (node.items || []).forEach(walk);
    })(view.scenegraph().root); };
  // the drawn marks as one string, to see the figure change: the attributes of each element
  const drawn = (selector = 'svg path', attrs = ['d'], sep = ' ') =>
    [...el.querySelectorAll(selector)].map((p) => attrs.map((a) => p.getAttribute(a)).join(sep))
      .join('|');
  // the named signals' values
  const signalsOf = (names) => Object.fromEntries(names.map((n) => [n, view.signal(n)]));
"""


def explorer_state_js(body: str) -> str:
    """A JavaScript function of the explorer's element that reads its state: ``body`` runs
    after :data:`SLIDERS_JS` and :data:`STATE_HELPERS_JS` (``view``, ``sliders``, ``texts``,
    ``lines`` and the helpers) and returns the state, for :func:`move_each_control`."""
    return "(el) => {" + SLIDERS_JS + STATE_HELPERS_JS + body + "}"

# Time from a slider's input event to the chart recomputed and redrawn, in ms.
RESPONSE_JS = """async ([el, label, value]) => {
  const input = el.querySelector(`input[aria-label="${label}"]`);
  const t0 = performance.now();
  input.value = value;
  input.dispatchEvent(new Event('input', {bubbles: true}));
  await el.vegaView.runAsync();
  await new Promise((r) => requestAnimationFrame(() => r()));
  return performance.now() - t0;
}"""


@pytest.fixture(scope="module")
def base_url():
    if not (HTML / "book" / "intro.html").is_file():
        pytest.skip(f"{HTML} has no book/intro.html: run `make book` first")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright's Python package is not installed")
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium found: `apt-get install chromium` or set CHROMIUM=/path")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextlib.contextmanager
def open_explorer(browser, base_url: str, page_path: str, name: str,  # noqa: ANN001
                  viewport: str) -> Iterator[tuple]:
    """Open ``page_path`` at ``viewport`` with the network off and wait for explorer ``name``.

    Yields ``(page, handle, log)``: the Playwright page, the explorer's element handle and a
    dict with the page's ``errors``, the ``external`` requests and the ``weight`` of each
    response (bytes). On leaving, a screenshot of the explorer goes to ``_build/screenshots``
    and the test fails if the page logged an error, asked another host for anything, was wider
    than the screen or weighs more than :data:`MAX_PAGE_BYTES`, or, on the phone, if a chart
    text is drawn smaller than :data:`MIN_TEXT_PX` (a printed number :data:`MIN_READOUT_PX`),
    when opened and after the test's moves (:func:`check_text_sizes`). The smallest size on
    the phone is ``log["min_text_px"]``.
    """
    if not (HTML / page_path).is_file():
        pytest.skip(f"{HTML} has no {page_path}")
    local = urlsplit(base_url).netloc
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    context.route("**/*", lambda route: route.continue_() if urlsplit(route.request.url).netloc
                  == local else route.abort("internetdisconnected"))
    log: dict = {"errors": [], "external": [], "weight": {}}
    page = context.new_page()
    page.on("pageerror", lambda err: log["errors"].append(str(err)))
    page.on("console", lambda msg: log["errors"].append(msg.text)
            if msg.type == "error" else None)
    page.on("request", lambda req: None if urlsplit(req.url).netloc == local
            or req.url.startswith(("data:", "blob:")) else log["external"].append(req.url))
    page.on("response", lambda resp: log["weight"].__setitem__(resp.url,
                                                               len(resp.body() or b"")))
    selector = f'.vae-explorer[data-explorer="{name}"]'
    shot = SCREENSHOTS / f"{page_path.replace('/', '__')}__{name}-explorer__{viewport}"
    try:
        page.goto(f"{base_url}/{page_path}", wait_until="load", timeout=TIMEOUT_MS)
        page.wait_for_function(f"() => document.querySelector('{selector}')?.dataset.drawn"
                               " === 'yes'", timeout=TIMEOUT_MS)
        el = page.locator(selector)
        assert el.count() == 1, f"{page_path} has {el.count()} explorers named {name!r}"
        handle = el.element_handle()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        el.screenshot(path=f"{shot}__saved.png")
        if viewport == "phone":
            log["min_text_px"] = check_text_sizes(page, handle)
        yield page, handle, log
        el.screenshot(path=f"{shot}.png")
        if viewport == "phone":
            log["min_text_px"] = min(log["min_text_px"], check_text_sizes(page, handle))
        width = page.evaluate("(el) => [el.getBoundingClientRect().right, el.scrollWidth,"
                              " el.clientWidth, document.documentElement.clientWidth]", handle)
    finally:
        page.close()
        context.close()
    assert not log["errors"] and not log["external"], (log["errors"], log["external"])
    assert width[0] <= width[3] + 1 and width[1] <= width[2] + 1, ("wider than the screen",
                                                                   width)
    total = sum(log["weight"].values())
    assert total < MAX_PAGE_BYTES, f"page weight {total / 1e6:.2f} MB"
    log["total_bytes"] = total


def check_text_sizes(page, handle) -> float:  # noqa: ANN001
    """Require every visible text of the explorer's drawing to be rendered at least
    :data:`MIN_TEXT_PX` CSS px high (a text mark of the chart, such as a readout, at least
    :data:`MIN_READOUT_PX`): its font size times the scale at which the SVG is drawn.

    Returns:
        The smallest rendered size, in CSS px.
    """
    texts = page.evaluate(TEXT_SIZES_JS, handle)
    assert texts, "the explorer draws no text"
    small = [t for t in texts if t["px"] < (MIN_READOUT_PX if t["mark"] else MIN_TEXT_PX) - 0.01]
    assert not small, ("text drawn too small on the phone (CSS px)",
                       sorted(small, key=lambda t: t["px"])[:8])
    return min(t["px"] for t in texts)


def move_each_control(page, handle, viewport: str, controls: dict[str, str], state_js: str,  # noqa: ANN001
                      check: Callable[[dict], float], *, keys: tuple[str, ...] = (
                          "ArrowRight", "End", "Home"), click_at: float = 0.3,
                      texts_change: Callable[[str], bool] | None = None) -> tuple[float, dict]:
    """Move each slider of an explorer with ``keys`` and a mouse click at ``click_at`` of its
    track; after every move compare the page with the package (``check``, which returns the
    largest relative difference) and, where the value moved, require a redrawn figure (and new
    printed numbers where ``texts_change(name)``, by default always).

    ``state_js`` is a JavaScript function of the explorer's element returning at least
    ``sliders`` (accessible name -> value), ``texts`` and ``paths`` (the drawn marks); build it
    with :func:`explorer_state_js`. On the phone each slider's track must be at least 150 px
    wide.

    Returns:
        The largest difference ``check`` returned and, per control, the set of values it took.
    """
    states = [page.evaluate(state_js, handle)]
    largest = check(states[0])
    values: dict[str, set] = {n: {states[0]["sliders"][lab]} for n, lab in controls.items()}
    for name, label in controls.items():
        slider = page.get_by_role("slider", name=label, exact=True)
        assert slider.count() == 1, label
        # focus first: it scrolls the slider into view, and the click below needs the box there
        slider.focus()
        slider.scroll_into_view_if_needed()
        box = slider.bounding_box()
        if viewport == "phone":
            assert box["width"] >= 150, (label, box)
        for key in (*keys, None):
            if key is None:  # the mouse: a click on the track
                page.mouse.click(box["x"] + click_at * box["width"], box["y"] + box["height"] / 2)
            else:
                page.keyboard.press(key)
            page.evaluate("async (el) => { await el.vegaView.runAsync(); }", handle)
            state = page.evaluate(state_js, handle)
            largest = max(largest, check(state))
            if state["sliders"][label] != states[-1]["sliders"][label]:
                assert state["paths"] != states[-1]["paths"], (label, key, "figure unchanged")
                if texts_change is None or texts_change(name):
                    assert state["texts"] != states[-1]["texts"], (label, key, "numbers unchanged")
            values[name].add(state["sliders"][label])
            states.append(state)
    assert all(len(v) >= 3 for v in values.values()), ("a control took < 3 values", values)
    return largest, values


def response_times(page, handle, labels, values=("1.5", "0.5", "1.0")) -> list[float]:  # noqa: ANN001
    """Milliseconds from each slider's input event to the chart redrawn: each label, each value."""
    return [page.evaluate(RESPONSE_JS, [handle, label, value])
            for label in labels for value in values]


def check_response_times(times: list[float], per_control: int = 3) -> None:
    """The median of each control's moves within :data:`MAX_RESPONSE_MS`: every control answers
    (one slow frame on a busy 2-core machine is reported, not failed)."""
    medians = [sorted(times[i:i + per_control])[per_control // 2]
               for i in range(0, len(times), per_control)]
    assert max(medians) < MAX_RESPONSE_MS, f"answers in ms, per control: {times}"
