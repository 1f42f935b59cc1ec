r"""Chapter 1's explorer (:func:`vae_tutorial.explorers.bayes_grid_explorer`) in the page.

Chromium, every other host blocked, laptop and phone: each of the three sliders (x, the noise,
the weight) is moved to at least three values with the keyboard and the mouse; after each move
the page's grid evidence, grid posterior, exact evidence and exact posterior mean and standard
deviation equal the package's (``quadrature.grid_posterior``, ``quadrature.grid_log_evidence``,
``LinearGaussian``) to 1e-9 relative and the printed text shows them; each control answers
within 1 s (``tests/explorer_harness.py``).
"""

from __future__ import annotations

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

BAYES_PAGE = "book/01_latent_variable_models.html"
BAYES_CONTROLS = {
    "x": "observation x (units of x)",
    "s": "noise standard deviation σₓ (units of x)",
    "w": "weight w (units of x per unit of z)",
}
BAYES_STATE_JS = explorer_state_js("""
  const sets = datasets();
  const grid = rowsOf(sets, (d) => has('posterior', 'joint')(d) && d.length > 1,
                      (r) => [r.z, r.prior, r.likelihood, r.posterior, r.log_ev_grid]) || [];
  let summary = sets.filter(has('post_mean')).map((d) => d[0]).pop() || null;
  walkScene((node) => {  // else the printed row: the datum of the text mark
    if (summary) return false;
    if (node.datum && 'post_mean' in node.datum) { summary = node.datum; return false; }
  });
  summary = summary && {log_ev_grid: summary.log_ev_grid, post_mean: summary.post_mean,
                        post_sd: summary.post_sd};
  return {sliders, texts, lines, grid, summary, paths: drawn(),
          ...signalsOf(['log_ev_exact', 'post_mean_exact', 'post_sd_exact'])};
""")


def _check_bayes(state: dict) -> float:
    """The Bayes explorer against the package: the grid evidence (quadrature.grid_log_evidence,
    the same midpoint grid), the grid posterior (quadrature.grid_posterior), the exact evidence
    and posterior (LinearGaussian); returns the largest relative gap."""
    from vae_tutorial import quadrature
    from vae_tutorial.models import LinearGaussian

    v = {n: float(state["sliders"][label]) for n, label in BAYES_CONTROLS.items()}
    model = LinearGaussian(torch.tensor([[v["w"]]], dtype=torch.float64),
                           torch.zeros(1, dtype=torch.float64), v["s"])
    model.requires_grad_(False)
    x = torch.tensor([[v["x"]]], dtype=torch.float64)
    grid = torch.tensor(state["grid"], dtype=torch.float64)  # (N, 5)
    n = grid.shape[0]
    assert n == 241, n
    points, volume = quadrature.make_grid(1, n, lim=6.0)
    assert torch.allclose(grid[:, :1], points, rtol=0, atol=1e-12)
    density, log_ev = quadrature.grid_posterior(model, x, points, volume)
    gaps = []

    def rel(page: float, pkg: float) -> float:
        gaps.append(abs(page - pkg) / max(1.0, abs(pkg)))
        assert gaps[-1] <= REL, (v, page, pkg)
        return pkg

    ev_grid = rel(state["summary"]["log_ev_grid"], float(quadrature.grid_log_evidence(
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
    texts = [" ".join(t.replace("\u2212", "-").split()).replace("-0.0000", "0.0000")
             for t in state["lines"]]
    want = [f"log p(x), grid: {ev_grid:.6f} nats", f"log p(x), exact: {ev_exact:.6f} nats",
            f"posterior mean: grid {m_grid:.4f}, exact {m_exact:.4f}",
            f"posterior sd: grid {sd_grid:.4f}, exact {sd_exact:.4f}"]
    assert all(w.replace("-0.0000", "0.0000") in texts for w in want), (want, texts[:5])
    return max(gaps)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_bayes_explorer_in_the_page(browser, base_url, viewport):  # noqa: F811
    with open_explorer(browser, base_url, BAYES_PAGE, "bayes", viewport) as (page, handle, log):
        largest, values = move_each_control(
            page, handle, viewport, BAYES_CONTROLS, BAYES_STATE_JS, _check_bayes,
            keys=("ArrowLeft", "End", "Home"), click_at=0.7,
        )
        times = response_times(page, handle, BAYES_CONTROLS.values())
    check_response_times(times)
    print(f"\n{viewport}: Bayes explorer, largest relative difference page vs package "
          f"{largest:.2e}; slowest answer {max(times):.1f} ms; "
          f"page weight {log['total_bytes'] / 1e6:.2f} MB")
