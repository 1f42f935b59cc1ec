r"""Chapter 2's explorer (:func:`vae_tutorial.explorers.kl_explorer`): in Python and in the page.

* ``test_kl_explorer_spec`` (no browser): the output's MIME bundle is the Vega-Lite 5 bundle that
  JupyterLab draws natively, its sliders carry names with units, its summary prints the
  package's KLs, and bad arguments raise.
* ``test_kl_explorer_in_the_page`` (Chromium, every other host blocked, laptop and phone): each
  of the four sliders is moved to at least three values with the keyboard (ArrowRight, End,
  Home) and the mouse (a click on the track); after each move, the two printed KLs equal
  ``losses.kl_normal_normal`` at the sliders' values (the page's full-precision numbers to 1e-9
  relative, the printed text to its four decimals), the two log densities on the page's grid
  equal ``losses.log_normal_diag`` (1e-9), the integrands follow from them, and the drawn
  curves change. Each control answers within 1 s (the median of three moves); on the phone
  each slider track is at least 150 px wide; no page is wider than the screen or heavier than
  6.6 MB (``tests/explorer_harness.py``).
"""

from __future__ import annotations

import math

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

from vae_tutorial import explorers, losses

KL_PAGE = "book/02_kl_divergence.html"
KL_CONTROLS = {
    "mu_q": "mean of q, μ_q (units of z)",
    "sigma_q": "standard deviation of q, σ_q (units of z)",
    "mu_p": "mean of p, μ_p (units of z)",
    "sigma_p": "standard deviation of p, σ_p (units of z)",
}


def _t(v: float) -> torch.Tensor:
    return torch.tensor([v], dtype=torch.float64)


def _kl(m1: float, s1: float, m2: float, s2: float) -> float:
    """KL(N(m1, s1^2) || N(m2, s2^2)) from the package, in float64."""
    return float(losses.kl_normal_normal(_t(m1), _t(2 * math.log(s1)), _t(m2),
                                         _t(2 * math.log(s2))))


def _close(page_value: float, package_value: float) -> bool:
    return abs(page_value - package_value) <= REL * max(1.0, abs(package_value))



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


# The state of one explorer: its sliders, its printed text, the values behind the printed
# numbers (Vega signals), the rows of its grid (every dataset with a log_q column) and the
# drawn curves (the SVG paths).
STATE_JS = explorer_state_js("""
  const rows = rowsOf(datasets(), has('log_q'),
                      (r) => [r.z, r.log_q, r.log_p, r.int_qp, r.int_pq]) || [];
  return {sliders, texts, lines, kl_qp: view.signal('kl_qp'), kl_pq: view.signal('kl_pq'),
          rows, paths: drawn('svg path.mark-line, svg .mark-line path')};
""")

def _check_state(state: dict) -> float:
    """Compare one state of the KL explorer with the package; the largest relative gap."""
    v = {n: float(state["sliders"][label]) for n, label in KL_CONTROLS.items()}
    kl_qp = _kl(v["mu_q"], v["sigma_q"], v["mu_p"], v["sigma_p"])
    kl_pq = _kl(v["mu_p"], v["sigma_p"], v["mu_q"], v["sigma_q"])
    assert _close(state["kl_qp"], kl_qp), (v, state["kl_qp"], kl_qp)
    assert _close(state["kl_pq"], kl_pq), (v, state["kl_pq"], kl_pq)
    printed = [f"KL(q ‖ p) = {kl_qp:.4f} nats", f"KL(p ‖ q) = {kl_pq:.4f} nats"]
    lines = [" ".join(t.split()) for t in state["lines"]]
    assert all(p in lines for p in printed), (printed, lines[:4])
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
    # the grid spans mean +- 4 sd of both densities
    lo = min(v["mu_q"] - 4 * v["sigma_q"], v["mu_p"] - 4 * v["sigma_p"])
    hi = max(v["mu_q"] + 4 * v["sigma_q"], v["mu_p"] + 4 * v["sigma_p"])
    assert abs(z[0, 0] - lo) < 1e-12 and abs(z[-1, 0] - hi) < 1e-9
    return max(gap, abs(state["kl_qp"] - kl_qp) / max(1.0, abs(kl_qp)),
               abs(state["kl_pq"] - kl_pq) / max(1.0, abs(kl_pq)))



@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_kl_explorer_in_the_page(browser, base_url, viewport):  # noqa: F811
    with open_explorer(browser, base_url, KL_PAGE, "kl", viewport) as (page, handle, log):
        largest, values = move_each_control(
            page, handle, viewport, KL_CONTROLS, STATE_JS, _check_state,
            keys=("ArrowRight", "End", "Home"), click_at=0.3,
            # a mean moved to the mirror image about the other mean leaves |mu_q - mu_p|, and
            # so both KLs, unchanged: only the figure must change for the means
            texts_change=lambda name: not name.startswith("mu"),
        )
        times = response_times(page, handle, KL_CONTROLS.values(), ("1.5", "0.5", "2.5"))
    check_response_times(times)
    print(f"\n{viewport}: largest relative difference page vs package {largest:.2e}; "
          f"slowest answer {max(times):.1f} ms (median {sorted(times)[len(times) // 2]:.1f}); "
          f"page weight {log['total_bytes'] / 1e6:.2f} MB; values per control "
          f"{ {n: len(v) for n, v in values.items()} }")
