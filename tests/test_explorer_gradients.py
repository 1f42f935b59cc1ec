r"""Chapter 5's explorer (:func:`vae_tutorial.explorers.gradient_variance_explorer`).

* ``test_gradient_variance_explorer_spec`` (no browser): the MIME bundle is the Vega-Lite 5
  bundle that JupyterLab draws natively, the five sliders carry names with units and their
  ranges, the summary prints the package's closed form
  (``sampling.sum_of_squares_gradient_variance``) and is the same on every call, and bad
  arguments raise naming the argument.
* ``test_gradient_variance_explorer_in_the_page`` (Chromium, every other host blocked, laptop
  and phone): each of the five sliders (μ, σ, K, L, the baseline) is moved to at least three
  values with the keyboard (End, ArrowLeft, Home: not End then Home, which give the
  same figure for μ = ±3) and the mouse; after each move the page's two variances, their
  ratio, the exact gradient, E_q[f] and the baseline (Vega signals), and every point of the
  four drawn curves (both variances against K = 1..100 and against L = 1..256) equal the
  package's closed form to 1e-9 relative; the printed text shows the same numbers (d3's
  ``,.6~r`` format, rebuilt here from the package's value) and the drawn figure changes. Each
  control answers within 1 s (``tests/explorer_harness.py``).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import pytest
import torch
from explorer_harness import (  # noqa: F401 (fixtures)
    REL,
    VIEWPORTS,
    base_url,
    browser,
    check_response_times,
    explorer_state_js,
    move_each_control,
    open_explorer,
    response_times,
)

from vae_tutorial import explorers, sampling
from vae_tutorial.explorers.spec import WIDTH

PAGE = "book/05_reparameterization.html"
CONTROLS = {
    "mu": "mean μ of q, every coordinate (units of z)",
    "sigma": "standard deviation σ of q, every coordinate (units of z)",
    "k": "samples per estimate, K",
    "dim": "latent dimension L (coordinates of z)",
    "beta": "score-function baseline b, as a fraction of E_q[f]",
}
F64 = torch.float64


def _package(mu: float, sigma: float, k: int, dim: int, beta: float) -> dict[str, float]:
    """The package's numbers at the sliders' values: both total variances (summed over the L
    coordinates), their ratio, the exact gradient 2 mu, E_q[f] and the baseline b."""
    m = torch.full((dim,), mu, dtype=F64)
    logvar = torch.full((dim,), 2.0 * math.log(sigma), dtype=F64)
    mean_f = float((m**2 + logvar.exp()).sum())
    var_score, var_path = sampling.sum_of_squares_gradient_variance(
        m, logvar, k, baseline=beta * mean_f)
    s, p = float(var_score.sum()), float(var_path.sum())
    return {"var_score": s, "var_pathwise": p, "ratio": s / p, "grad": 2.0 * mu,
            "mean_f": mean_f, "baseline": beta * mean_f}


def _d3_r(x: float, digits: int = 6) -> str:
    """``x`` as d3-format's ``,.6~r`` writes it (Vega's ``format``): rounded to ``digits``
    significant digits (ties away from zero, as JavaScript's toExponential), written in
    decimal notation with grouped thousands, trailing zeros dropped, minus sign U+2212."""
    if x == 0:
        return "0"
    d = Decimal(abs(x))  # the exact binary value
    exponent = d.adjusted()
    rounded = d.quantize(Decimal(1).scaleb(exponent - digits + 1), rounding=ROUND_HALF_UP)
    if rounded.adjusted() > exponent:  # 9.999995 -> 10.0000
        rounded = rounded.quantize(Decimal(1).scaleb(exponent - digits + 2))
    text = f"{rounded:f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    return ("−" if x < 0 else "") + f"{int(whole):,}" + ("." + frac if frac else "")


def test_d3_format_rebuilt():
    # what the page printed for these values (d3-format 3, checked in Chromium)
    assert [_d3_r(v) for v in (20160, 64, 315, 0.0004, 1.359e11, 1234.5678, 0.000123456,
                               27.000000001, -2.0, 1.23456789e15, 0.0)] == [
        "20,160", "64", "315", "0.0004", "135,900,000,000", "1,234.57", "0.000123456", "27",
        "−2", "1,234,570,000,000,000", "0"]


def _sliders(state: dict) -> dict:
    v = {n: float(state["sliders"][label]) for n, label in CONTROLS.items()}
    v["k"], v["dim"] = int(v["k"]), int(v["dim"])
    return v


def test_gradient_variance_explorer_spec():
    ex = explorers.gradient_variance_explorer(mu=0.5, sigma=0.7, n_samples=4, latent_dim=3,
                                              baseline_fraction=0.25)
    bundle = ex._repr_mimebundle_()
    assert set(bundle) == {explorers.MIME_TYPE, "text/plain"}
    spec = bundle[explorers.MIME_TYPE]
    assert spec["$schema"].endswith("/vega-lite/v5.json")
    assert spec["usermeta"] == {"explorer": "gradients", "panel_width": WIDTH}
    bound = {p["name"]: p for p in spec["params"] if "bind" in p}
    assert {n: p["bind"]["name"].strip() for n, p in bound.items()} == CONTROLS
    assert [bound[n]["value"] for n in CONTROLS] == [0.5, 0.7, 4, 3, 0.25]
    assert [(bound[n]["bind"]["min"], bound[n]["bind"]["max"]) for n in CONTROLS] == [
        (-3.0, 3.0), (0.1, 3.0), (1, 100), (1, 256), (0.0, 1.0)]
    want = _package(0.5, 0.7, 4, 3, 0.25)
    assert (f"score function {want['var_score']:.6g}, pathwise {want['var_pathwise']:.6g}, "
            f"ratio {want['ratio']:.6g}") in bundle["text/plain"]
    # the summary is deterministic (nbval compares it) and the default is the chapter's
    assert ex.summary == explorers.gradient_variance_explorer(
        mu=0.5, sigma=0.7, n_samples=4, latent_dim=3, baseline_fraction=0.25).summary
    default = explorers.gradient_variance_explorer().summary
    assert "score function 20160, pathwise 64, ratio 315 " in default, default
    # labels readable on a phone: no text under 12 px in the spec
    assert spec["config"]["axis"]["labelFontSize"] >= 12
    readout = spec["vconcat"][0]["mark"]
    assert readout["fontSize"] >= 12
    for bad, exc, match in (
        ({"sigma": 0.0}, ValueError, r"sigma must be in \[0.1, 3\]; got 0.0"),
        ({"mu": "1"}, TypeError, "mu must be a real number"),
        ({"mu": float("nan")}, ValueError, "mu must be finite"),
        ({"n_samples": 1.0}, TypeError, "n_samples must be an int"),
        ({"n_samples": 0}, ValueError, "n_samples must be >= 1; got 0"),
        ({"latent_dim": 257}, ValueError, r"latent_dim must be in \[1, 256\]; got 257"),
        ({"baseline_fraction": 1.5}, ValueError, "baseline_fraction must be in"),
    ):
        with pytest.raises(exc, match=match):
            explorers.gradient_variance_explorer(**bad)


# The explorer's state: sliders, printed text, the signals behind the printed numbers, the
# rows of the two curve panels (every row of every dataset with a variance column: K or L,
# series, variance) and the drawn marks (line paths and point symbols).
STATE_JS = explorer_state_js("""
  const curves = {K: [], L: []};
  datasets().filter(has('variance')).forEach((d) => {
    for (const x of ['K', 'L']) {
      if (x in d[0]) d.forEach((r) => curves[x].push([r[x], r.series, r.variance]));
    }
  });
  const signals = signalsOf(['var_score', 'var_pathwise', 'ratio', 'grad', 'mean_f',
                             'baseline']);
  return {sliders, texts, lines, signals, curves,
          paths: drawn('svg path', ['d', 'transform'], '@')};
""")


def _check(state: dict) -> float:
    """One state of the explorer against the package; the largest relative difference."""
    v = _sliders(state)
    want = _package(v["mu"], v["sigma"], v["k"], v["dim"], v["beta"])
    gaps = []

    def rel(page: float, pkg: float, what: object) -> None:
        gaps.append(abs(page - pkg) / max(abs(pkg), 1e-300 if pkg else 1.0))
        assert gaps[-1] <= REL, (what, v, page, pkg)

    for name, value in want.items():
        rel(state["signals"][name], value, name)
    # the curves: both variances at every K (at the slider's L) and every L (at the slider's K)
    for x, grid in (("K", range(1, 101)), ("L", range(1, 257))):
        rows = state["curves"][x]  # every dataset's rows (a row may sit in several)
        page = {(int(r[0]), r[1]): r[2] for r in rows}
        assert set(page) == {(n, s) for n in grid for s in ("score function", "pathwise")}, x
        for n, series, value in rows:  # each copy of a row is the same number
            assert value == page[int(n), series], (x, n, series)
        for n in grid:
            pkg = (_package(v["mu"], v["sigma"], n, v["dim"], v["beta"]) if x == "K"
                   else _package(v["mu"], v["sigma"], v["k"], n, v["beta"]))
            rel(page[n, "score function"], pkg["var_score"], (x, n, "score"))
            rel(page[n, "pathwise"], pkg["var_pathwise"], (x, n, "pathwise"))
    # the printed numbers are the package's, as the page formats them
    f = {n: _d3_r(value) for n, value in want.items()}
    lines = (f"score function: {f['var_score']} (z² units)",
             f"pathwise: {f['var_pathwise']} (z² units)",
             f"ratio score / pathwise: {f['ratio']}",
             f"exact ∂/∂μᵢ = 2μ = {f['grad']}", f"E_q[f] = {f['mean_f']}",
             f"baseline b = {f['baseline']}")
    printed = [" ".join(line.split()) for line in state["lines"]]
    start = printed.index(lines[0]) if lines[0] in printed else 0
    assert tuple(printed[start:start + len(lines)]) == lines, (lines, printed[:8])
    return max(gaps)


# values each control's response time is measured at (within its range)
RESPONSE_VALUES = {"mu": ("2", "-1", "1"), "sigma": ("0.5", "2", "1"), "k": ("8", "50", "1"),
                   "dim": ("64", "200", "16"), "beta": ("0.5", "1", "0")}


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_gradient_variance_explorer_in_the_page(browser, base_url, viewport):  # noqa: F811
    with open_explorer(browser, base_url, PAGE, "gradients", viewport) as (page, handle, log):
        start = _sliders(page.evaluate(STATE_JS, handle))
        assert start == {"mu": 1.0, "sigma": 1.0, "k": 1, "dim": 16, "beta": 0.0}, start
        largest, values = move_each_control(page, handle, viewport, CONTROLS, STATE_JS, _check,
                                             keys=("End", "ArrowLeft", "Home"), click_at=0.3)
        times = [t for name, label in CONTROLS.items()
                 for t in response_times(page, handle, [label], RESPONSE_VALUES[name])]
    check_response_times(times)
    print(f"\n{viewport}: gradient-variance explorer, largest relative difference page vs "
          f"package {largest:.2e}; values {values}; slowest answer {max(times):.1f} ms; "
          f"page weight {log['total_bytes'] / 1e6:.2f} MB")
