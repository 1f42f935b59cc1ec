r"""Chapter 8's explorer (:func:`vae_tutorial.explorers.unit_kl_explorer`): in Python and in
the page.

* ``test_unit_kl_explorer_spec`` (no browser): the MIME bundle, the sliders' names with units,
  the shipped encoder outputs (five decimals), bad arguments.
* ``test_unit_kl_explorer_in_the_page`` (Chromium, network off, laptop and phone): each slider
  moved with the keyboard and a click; after each move the page's per-unit KL and activity
  equal ``diagnostics.kl_per_unit`` / ``unit_activity`` of the shipped values (1e-9 relative),
  the free-bits term equals ``losses.kl_free_bits``, the counts of units below the floor and of
  active units equal the package's, and the printed lines carry those numbers.
"""

from __future__ import annotations

import json

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

from vae_tutorial import diagnostics, explorers, losses

PAGE = "book/08_vaes_in_practice.html"
CONTROLS = {"lam": "free-bits floor λ (nats per unit)",
            "log_t": "activity threshold, log10 (z units squared)"}


def test_unit_kl_explorer_spec():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(30, 4, generator=g), torch.randn(30, 4, generator=g)
    ex = explorers.unit_kl_explorer(mu, logvar, free_bits=0.2, log10_threshold=-1.5)
    bundle = ex._repr_mimebundle_()
    assert set(bundle) == {explorers.MIME_TYPE, "text/plain"}
    spec = bundle[explorers.MIME_TYPE]
    bound = {p["name"]: p for p in spec["params"] if "bind" in p}
    assert {n: p["bind"]["name"].strip() for n, p in bound.items()} == CONTROLS
    assert [bound[n]["value"] for n in CONTROLS] == [0.2, -1.5]
    rows = spec["data"]["values"]
    assert len(rows) == 120
    shipped = torch.tensor([r["mu"] for r in rows]).reshape(30, 4)
    torch.testing.assert_close(shipped, mu, atol=1e-5, rtol=0)
    # the chapter's symbols (book/notation.md): the KL per unit is \mathcal{R}_u, the floor λ
    labels = json.dumps(spec, ensure_ascii=False)
    for symbol in ("rate Σ ℛ_u = ", "Σ max(λ, ℛ_u)", "KL per unit ℛ_u", "ℛ_u (nats per example)"):
        assert symbol in labels, symbol
    assert "R_u" not in labels
    with pytest.raises(ValueError, match="free_bits must be in"):
        explorers.unit_kl_explorer(mu, logvar, free_bits=2.0)
    with pytest.raises(ValueError, match="logvar must have the shape of mu"):
        explorers.unit_kl_explorer(mu, logvar[:, :2])


STATE_JS = explorer_state_js("""
  // the view's state, then every named dataset of the view (the aggregated ones included)
  const state = datasets(), named = namedDatasets();
  const unit = (r) => [r.unit, r.R, r.A];
  const rows = rowsOf([...state, ...named], has('logvar'), (r) => [r.unit, r.mu, r.logvar]);
  const units = rowsOf(state, has('A', 'R'), unit)
    || rowsOf(named, (d) => has('A', 'R')(d) && !('fb_total' in d[0]), unit);
  const totals = [...state, ...named].filter(has('fb_total')).map((d) => d[0]).pop() || null;
  // the drawn marks: bars and points (paths) and the dashed rules (lines, with their position)
  const paths = drawn('svg path, svg line', ['d', 'transform', 'y2', 'fill']);
  return {sliders, texts, lines, rows, units, totals, paths};
""")


def _check(state: dict) -> float:
    lam = float(state["sliders"][CONTROLS["lam"]])
    log_t = float(state["sliders"][CONTROLS["log_t"]])
    rows = torch.tensor(state["rows"], dtype=torch.float64)
    n_units = int(rows[:, 0].max())
    mu = rows[:, 1].reshape(-1, n_units)
    logvar = rows[:, 2].reshape(-1, n_units)
    units = sorted(state["units"])
    page_r = torch.tensor([u[1] for u in units], dtype=torch.float64)
    page_a = torch.tensor([u[2] for u in units], dtype=torch.float64)
    want_r = diagnostics.kl_per_unit(mu, logvar)
    want_a = diagnostics.unit_activity(mu)
    gap = max(((page_r - want_r).abs() / want_r.abs().clamp(min=1)).max().item(),
              ((page_a - want_a).abs() / want_a.abs().clamp(min=1)).max().item())
    fb = float(losses.kl_free_bits(mu, logvar, free_bits=lam))
    t = state["totals"]
    gap = max(gap, abs(t["fb_total"] - fb) / max(1.0, fb),
              abs(t["rate_total"] - want_r.sum().item()) / max(1.0, want_r.sum().item()))
    assert gap <= REL, gap
    below = int((want_r < lam).sum())
    active = diagnostics.active_units(mu, threshold=10 ** log_t)
    assert t["n_below"] == below and t["n_active"] == active, (t, below, active)
    lines = [" ".join(x.split()) for x in state["lines"]]
    for want in (f"rate Σ ℛ_u = {want_r.sum().item():.3f} nats",
                 f"free-bits term Σ max(λ, ℛ_u) = {fb:.3f} nats",
                 f"units below λ: {below} of {n_units}; active units: {active} of {n_units}"):
        assert want in lines, (want, lines[:4])
    return gap


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_unit_kl_explorer_in_the_page(browser, base_url, viewport):  # noqa: F811
    with open_explorer(browser, base_url, PAGE, "unit-kl", viewport) as (page, handle, log):
        largest, values = move_each_control(page, handle, viewport, CONTROLS, STATE_JS, _check,
                                            keys=("ArrowRight", "End", "Home"), click_at=0.3,
                                            texts_change=lambda name: False)
        times = response_times(page, handle, CONTROLS.values(), ("0.5", "0.2", "-1"))
    check_response_times(times)
    print(f"\n{viewport}: largest relative difference {largest:.2e}; slowest {max(times):.1f} ms")
