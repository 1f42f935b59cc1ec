r"""The explorers of :mod:`vae_tutorial.explorers`: in Python, and in the built book, offline.

The explorers compute in the page (Vega expressions), so every formula they write again is
checked here against the package:

* ``test_kl_explorer_spec`` (no browser): the output's MIME bundle is the Vega-Lite 5 bundle that
  JupyterLab draws natively, its sliders carry names with units, its summary prints the
  package's KLs, and bad arguments raise.
* ``test_kl_explorer_in_the_page`` (Chromium, every other host blocked, laptop and phone): on
  chapter 2 each of the four sliders is moved to at least three values with the keyboard
  (ArrowRight, End, Home) and the mouse (a click on the track); after each move, the two
  printed KLs equal ``losses.kl_normal_normal`` at the sliders' values (the page's full
  precision numbers to 1e-9 relative, the printed text to its four decimals), the two log
  densities on the page's grid equal ``losses.log_normal_diag`` (1e-9), the integrands follow
  from them, and the drawn curves change. Each control answers (recomputed and redrawn) within
  100 ms (the median of three moves); on the phone each slider track is at least 150 px wide
  and the explorer is no wider than the screen; the page's weight (every response) stays
  under 6.6 MB.

Skipped where the book is not built (``make book``), Playwright is missing or no Chromium is
found (as ``tests/test_browser.py``). Screenshots go to ``_build/screenshots/``.
"""

from __future__ import annotations

import functools
import http.server
import math
import threading
from urllib.parse import urlsplit

import pytest
import torch

# The built book, the Chromium lookup and flags, the viewports and the quiet file server of
# the page checks (test_browser.py), shared so that both modules open pages the same way.
from test_browser import (
    CHROMIUM_ARGS,
    HTML,
    SCREENSHOTS,
    VIEWPORTS,
    _chromium,
    _QuietHandler,
)

from vae_tutorial import explorers, losses

TIMEOUT_MS = 60_000
KL_PAGE = "book/02_kl_divergence.html"
KL_CONTROLS = {
    "mu_q": "mean of q, μ_q (units of z)",
    "sigma_q": "standard deviation of q, σ_q (units of z)",
    "mu_p": "mean of p, μ_p (units of z)",
    "sigma_p": "standard deviation of p, σ_p (units of z)",
}
REL = 1e-9
MAX_RESPONSE_MS = 100.0
MAX_PAGE_BYTES = 6.6e6


def _t(v: float) -> torch.Tensor:
    return torch.tensor([v], dtype=torch.float64)


def _kl(m1: float, s1: float, m2: float, s2: float) -> float:
    """KL(N(m1, s1^2) || N(m2, s2^2)) from the package, in float64."""
    return float(losses.kl_normal_normal(_t(m1), _t(2 * math.log(s1)), _t(m2),
                                         _t(2 * math.log(s2))))


def _close(page_value: float, package_value: float) -> bool:
    return abs(page_value - package_value) <= REL * max(1.0, abs(package_value))


# --- without a browser ---


def test_kl_explorer_spec():
    ex = explorers.kl_explorer(mu_q=0.5, sigma_q=1.5, mu_p=-1.0, sigma_p=0.75)
    bundle = ex._repr_mimebundle_()
    assert set(bundle) == {explorers.MIME_TYPE, "text/plain"}
    spec = bundle[explorers.MIME_TYPE]
    assert spec["$schema"].endswith("/vega-lite/v5.json")
    bound = {p["name"]: p for p in spec["params"] if "bind" in p}
    assert {n: p["bind"]["name"].strip() for n, p in bound.items()} == KL_CONTROLS
    assert [bound[n]["value"] for n in KL_CONTROLS] == [0.5, 1.5, -1.0, 0.75]
    assert f"{_kl(0.5, 1.5, -1.0, 0.75):.4f}" in bundle["text/plain"]
    assert f"{_kl(-1.0, 0.75, 0.5, 1.5):.4f}" in bundle["text/plain"]
    with pytest.raises(ValueError, match="sigma_p must be > 0; got 0.0"):
        explorers.kl_explorer(sigma_p=0.0)
    with pytest.raises(TypeError, match="mu_q must be a real number"):
        explorers.kl_explorer(mu_q="0")


# --- in the built book ---


@pytest.fixture(scope="module")
def base_url():
    if not (HTML / KL_PAGE).is_file():
        pytest.skip(f"{HTML} has no {KL_PAGE}: run `make book` first")
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


# The state of one explorer: its sliders, its printed text, the values behind the printed
# numbers (Vega signals), the rows of its grid (every dataset with a log_q column) and the
# drawn curves (the SVG paths).
STATE_JS = """(el) => {
  const view = el.vegaView;
  const sliders = {};
  el.querySelectorAll('.vega-bind input[type=range]').forEach((i) => {
    sliders[i.getAttribute('aria-label')] = i.value; });
  const texts = [...el.querySelectorAll('svg text')].map((t) => t.textContent);
  const state = view.getState({signals: vega.falsy, data: vega.truthy, recurse: true});
  const rows = [];
  (function walk(s) {
    if (!s) return;
    Object.values(s.data || {}).forEach((d) => {
      if (Array.isArray(d) && d.length && 'log_q' in d[0] && !rows.length) {
        d.forEach((r) => rows.push([r.z, r.log_q, r.log_p, r.int_qp, r.int_pq])); } });
    Object.values(s.subcontext || {}).forEach(walk);
  })(state);
  const paths = [...el.querySelectorAll('svg path.mark-line, svg .mark-line path')]
    .map((p) => p.getAttribute('d')).join('|');
  return {sliders, texts, kl_qp: view.signal('kl_qp'), kl_pq: view.signal('kl_pq'),
          rows, paths};
}"""

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


def _check_state(state: dict) -> float:
    """Compare one state of the KL explorer with the package; the largest relative gap."""
    v = {n: float(state["sliders"][label]) for n, label in KL_CONTROLS.items()}
    kl_qp = _kl(v["mu_q"], v["sigma_q"], v["mu_p"], v["sigma_p"])
    kl_pq = _kl(v["mu_p"], v["sigma_p"], v["mu_q"], v["sigma_q"])
    assert _close(state["kl_qp"], kl_qp), (v, state["kl_qp"], kl_qp)
    assert _close(state["kl_pq"], kl_pq), (v, state["kl_pq"], kl_pq)
    printed = f"KL(q ‖ p) = {kl_qp:.4f} nats · KL(p ‖ q) = {kl_pq:.4f} nats"
    assert printed in [" ".join(t.split()) for t in state["texts"]], (printed, state["texts"])
    rows = torch.tensor(state["rows"], dtype=torch.float64)  # (N, 5): z, log q, log p, integrands
    assert rows.shape[0] == 601, rows.shape
    z = rows[:, :1]
    log_q = losses.log_normal_diag(z, _t(v["mu_q"]), _t(2 * math.log(v["sigma_q"])),
                                   reduction="none")
    log_p = losses.log_normal_diag(z, _t(v["mu_p"]), _t(2 * math.log(v["sigma_p"])),
                                   reduction="none")
    want = torch.stack([log_q, log_p, log_q.exp() * (log_q - log_p),
                        log_p.exp() * (log_p - log_q)], dim=1)
    gap = ((rows[:, 1:] - want).abs() / want.abs().clamp(min=1.0)).max().item()
    assert gap <= REL, f"grid values differ from the package by {gap:.3g} (relative)"
    # the grid spans mean +- 4 sd of both densities, as plotting.plot_two_gaussians
    lo = min(v["mu_q"] - 4 * v["sigma_q"], v["mu_p"] - 4 * v["sigma_p"])
    hi = max(v["mu_q"] + 4 * v["sigma_q"], v["mu_p"] + 4 * v["sigma_p"])
    assert abs(z[0, 0] - lo) < 1e-12 and abs(z[-1, 0] - hi) < 1e-9
    return max(gap, abs(state["kl_qp"] - kl_qp) / max(1.0, abs(kl_qp)),
               abs(state["kl_pq"] - kl_pq) / max(1.0, abs(kl_pq)))


def _move_each_control(page, handle, viewport, controls, state_js, check, *, keys, click_at,
                       texts_change=None):  # noqa: ANN001
    """Move each slider of an explorer with ``keys`` and a mouse click at ``click_at`` of its
    track; after every move compare the page with the package (``check``, which returns the
    largest relative difference) and, where the value moved, require a redrawn figure (and new
    printed numbers where ``texts_change(name)``). Returns the largest difference and the values
    each control took."""
    states = [page.evaluate(state_js, handle)]
    largest = check(states[0])
    values: dict[str, set] = {n: {states[0]["sliders"][lab]} for n, lab in controls.items()}
    for name, label in controls.items():
        slider = page.get_by_role("slider", name=label, exact=True)
        assert slider.count() == 1, label
        box = slider.bounding_box()
        if viewport == "phone":
            assert box["width"] >= 150, (label, box)
        slider.focus()
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
                if texts_change is not None and texts_change(name):
                    assert state["texts"] != states[-1]["texts"], (label, key, "numbers unchanged")
            values[name].add(state["sliders"][label])
            states.append(state)
    return largest, values


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_kl_explorer_in_the_page(browser, base_url, viewport):
    local = urlsplit(base_url).netloc
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    context.route("**/*", lambda route: route.continue_() if urlsplit(route.request.url).netloc
                  == local else route.abort("internetdisconnected"))
    errors, external, weight = [], [], {}
    page = context.new_page()
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("request", lambda req: None if urlsplit(req.url).netloc == local
            or req.url.startswith(("data:", "blob:")) else external.append(req.url))
    page.on("response", lambda resp: weight.__setitem__(resp.url, len(resp.body() or b"")))
    try:
        page.goto(f"{base_url}/{KL_PAGE}", wait_until="load", timeout=TIMEOUT_MS)
        page.wait_for_function("() => document.querySelector('.vae-explorer')?.dataset.drawn"
                               " === 'yes'", timeout=TIMEOUT_MS)
        el = page.locator('.vae-explorer[data-explorer="kl"]')
        assert el.count() == 1
        handle = el.element_handle()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        el.screenshot(path=str(SCREENSHOTS / f"book__02_kl_divergence.html__kl-explorer__"
                                             f"{viewport}__saved.png"))
        largest, values = _move_each_control(
            page, handle, viewport, KL_CONTROLS, STATE_JS, _check_state,
            keys=("ArrowRight", "End", "Home"), click_at=0.3,
            # a mean moved to the mirror image about the other mean leaves |mu_q - mu_p|, and
            # so both KLs, unchanged: only the figure must change for the means
            texts_change=lambda name: not name.startswith("mu"),
        )
        times = [page.evaluate(RESPONSE_JS, [handle, label, value])
                 for label in KL_CONTROLS.values() for value in ("1.5", "0.5", "2.5")]
        width = page.evaluate("(el) => [el.getBoundingClientRect().right, el.scrollWidth,"
                              " el.clientWidth, document.documentElement.clientWidth]", handle)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        el.screenshot(path=str(SCREENSHOTS / f"book__02_kl_divergence.html__kl-explorer__"
                                             f"{viewport}.png"))
    finally:
        page.close()
        context.close()
    assert not errors and not external, (errors, external)
    assert all(len(v) >= 3 for v in values.values()), values
    # three moves per control; the median of each within 100 ms (one slow frame on a busy
    # 2-core machine is reported, not failed)
    medians = [sorted(times[i:i + 3])[1] for i in range(0, len(times), 3)]
    assert max(medians) < MAX_RESPONSE_MS, f"answers in ms, per control: {times}"
    assert width[0] <= width[3] + 1 and width[1] <= width[2] + 1, width
    total = sum(weight.values())
    assert total < MAX_PAGE_BYTES, f"page weight {total / 1e6:.2f} MB"
    print(f"\n{viewport}: largest relative difference page vs package {largest:.2e}; "
          f"slowest answer {max(times):.1f} ms (median {sorted(times)[len(times) // 2]:.1f}); "
          f"page weight {total / 1e6:.2f} MB; values per control "
          f"{ {n: len(v) for n, v in values.items()} }")


# --- chapter 1: Bayes' rule on a grid ---

BAYES_PAGE = "book/01_latent_variable_models.html"
BAYES_CONTROLS = {
    "x": "observation x (units of x)",
    "s": "noise standard deviation σ (units of x)",
    "w": "weight w (units of x per unit of z)",
}
BAYES_STATE_JS = """(el) => {
  const view = el.vegaView;
  const sliders = {};
  el.querySelectorAll('.vega-bind input[type=range]').forEach((i) => {
    sliders[i.getAttribute('aria-label')] = i.value; });
  const texts = [...el.querySelectorAll('svg text')].map((t) => t.textContent);
  const state = view.getState({signals: vega.falsy, data: vega.truthy, recurse: true});
  let grid = [], summary = null;
  (function walk(s) {
    if (!s) return;
    Object.values(s.data || {}).forEach((d) => {
      if (!Array.isArray(d) || !d.length) return;
      if ('posterior' in d[0] && 'joint' in d[0] && !grid.length && d.length > 1)
        grid = d.map((r) => [r.z, r.prior, r.likelihood, r.posterior, r.log_ev_grid]);
      if ('post_mean' in d[0]) summary = d[0];
    });
    Object.values(s.subcontext || {}).forEach(walk);
  })(state);
  (function scene(node) {  // the printed row: the datum of the text mark
    if (!node || summary) return;
    if (node.datum && 'post_mean' in node.datum) { summary = node.datum; return; }
    (node.items || []).forEach(scene);
  })(view.scenegraph().root);
  summary = summary && {log_ev_grid: summary.log_ev_grid, post_mean: summary.post_mean,
                        post_sd: summary.post_sd};
  const paths = [...el.querySelectorAll('svg path')].map((p) => p.getAttribute('d')).join('|');
  return {sliders, texts, grid, summary, paths, log_ev_exact: view.signal('log_ev_exact'),
          post_mean_exact: view.signal('post_mean_exact'),
          post_sd_exact: view.signal('post_sd_exact')};
}"""


def _check_bayes(state: dict) -> float:
    """The Bayes explorer against the package: the grid evidence (inference.grid_log_evidence,
    the same midpoint grid), the grid posterior (inference.grid_posterior), the exact evidence
    and posterior (LinearGaussian); returns the largest relative gap."""
    from vae_tutorial import inference
    from vae_tutorial.models import LinearGaussian

    v = {n: float(state["sliders"][label]) for n, label in BAYES_CONTROLS.items()}
    model = LinearGaussian(torch.tensor([[v["w"]]], dtype=torch.float64),
                           torch.zeros(1, dtype=torch.float64), v["s"])
    model.requires_grad_(False)
    x = torch.tensor([[v["x"]]], dtype=torch.float64)
    grid = torch.tensor(state["grid"], dtype=torch.float64)  # (N, 5)
    n = grid.shape[0]
    assert n == 241, n
    points, volume = inference.make_grid(1, n, lim=6.0)
    assert torch.allclose(grid[:, :1], points, rtol=0, atol=1e-12)
    density, log_ev = inference.grid_posterior(model, x, points, volume)
    gaps = []

    def rel(page: float, pkg: float) -> float:
        gaps.append(abs(page - pkg) / max(1.0, abs(pkg)))
        assert gaps[-1] <= REL, (v, page, pkg)
        return pkg

    ev_grid = rel(state["summary"]["log_ev_grid"], float(inference.grid_log_evidence(
        model, x, n_per_dim=n, lim=6.0)))
    rel(float(log_ev), ev_grid)
    post = (grid[:, 3] - density[0]).abs() / density[0].abs().clamp(min=1.0)
    gaps.append(post.max().item())
    assert gaps[-1] <= REL, ("posterior on the grid", v, gaps[-1])
    ev_exact = rel(state["log_ev_exact"], float(model.log_evidence(x)))
    mean, cov = model.posterior(x)
    m_exact = rel(state["post_mean_exact"], float(mean))
    sd_exact = rel(state["post_sd_exact"], float(cov.sqrt()))
    prob = density[0] * volume
    m_grid = rel(state["summary"]["post_mean"], float(prob @ points[:, 0]))
    sd_grid = rel(state["summary"]["post_sd"], float(
        (prob @ (points[:, 0] - m_grid) ** 2).sqrt()))
    texts = [" ".join(t.replace("\u2212", "-").split()) for t in state["texts"]]
    want = [f"log p(x): grid {ev_grid:.6f}, exact {ev_exact:.6f} nats",
            (f"posterior mean: grid {m_grid:.4f}, exact {m_exact:.4f}; "
             f"sd: grid {sd_grid:.4f}, exact {sd_exact:.4f}")]
    joined = " ".join(texts)
    assert all(w.replace("-0.0000", "0.0000") in joined.replace("-0.0000", "0.0000")
               for w in want), (want, texts[:3])
    return max(gaps)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_bayes_explorer_in_the_page(browser, base_url, viewport):
    if not (HTML / BAYES_PAGE).is_file():
        pytest.skip(f"{HTML} has no {BAYES_PAGE}")
    local = urlsplit(base_url).netloc
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    context.route("**/*", lambda route: route.continue_() if urlsplit(route.request.url).netloc
                  == local else route.abort("internetdisconnected"))
    errors, external = [], []
    page = context.new_page()
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("request", lambda req: None if urlsplit(req.url).netloc == local
            or req.url.startswith(("data:", "blob:")) else external.append(req.url))
    try:
        page.goto(f"{base_url}/{BAYES_PAGE}", wait_until="load", timeout=TIMEOUT_MS)
        page.wait_for_function("() => document.querySelector('.vae-explorer[data-explorer="
                               "\"bayes\"]')?.dataset.drawn === 'yes'", timeout=TIMEOUT_MS)
        el = page.locator('.vae-explorer[data-explorer="bayes"]')
        handle = el.element_handle()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        el.screenshot(path=str(SCREENSHOTS / f"book__01.html__bayes-explorer__{viewport}.png"))
        largest, values = _move_each_control(
            page, handle, viewport, BAYES_CONTROLS, BAYES_STATE_JS, _check_bayes,
            keys=("ArrowLeft", "End", "Home"), click_at=0.7,
        )
        times = [page.evaluate(RESPONSE_JS, [handle, label, value])
                 for label in BAYES_CONTROLS.values() for value in ("1.5", "0.5", "1.0")]
    finally:
        page.close()
        context.close()
    assert not errors and not external, (errors, external)
    assert all(len(v) >= 3 for v in values.values()), values
    medians = [sorted(times[i:i + 3])[1] for i in range(0, len(times), 3)]
    assert max(medians) < MAX_RESPONSE_MS, times
    print(f"\n{viewport}: Bayes explorer, largest relative difference page vs package "
          f"{largest:.2e}; slowest answer {max(times):.1f} ms")
