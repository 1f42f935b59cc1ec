r"""Chapter 4's explorer (:func:`vae_tutorial.explorers.importance_sampling_explorer`).

* ``test_importance_explorer_spec`` (no browser): the MIME bundle is the Vega-Lite 5 bundle that
  JupyterLab draws natively; the sliders carry names with units; the shipped draws are
  ``torch.randn`` under the seed; the summary prints the package's estimate, ESS and exact
  evidence (the chapter's numbers); a model with one latent unit builds; bad arguments raise.
* ``test_importance_explorer_in_the_page`` (Chromium, every other host blocked, laptop and
  phone): the page carries the specification the package builds for the chapter's model; each
  of the three sliders (shift, width, K) is moved to at least three values with the keyboard and
  the mouse; after each move the page's estimate ``log p_hat(x)``, its ESS, the log weights (of
  the points drawn) and the normalized weights of the drawn points (0 beyond K) equal
  ``estimators.importance_sampling(model, x, mu, logvar, K, eps=eps[:K])`` on the same draws,
  the curve equals ``losses.iwae_bound(log_w[:K'])`` for every K' (all to 1e-6 relative), the
  exact evidence and the closed-form ELBO equal ``LinearGaussian.log_evidence`` and
  ``LinearGaussian.elbo`` (1e-9), and the printed text shows them. Each control
  answers within 1 s (median of three moves); no page is wider than the screen or heavier
  than 6.6 MB (``tests/explorer_harness.py``).
"""

from __future__ import annotations

import json
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

from vae_tutorial import estimators, explorers, losses
from vae_tutorial.explorers.importance import MAX_DOTS
from vae_tutorial.explorers.spec import WIDTH
from vae_tutorial.models import LinearGaussian

IS_PAGE = "book/04_importance_sampling.html"
IS_CONTROLS = {
    "shift": "shift of q's mean from the posterior mean (posterior sds)",
    "ratio": "width of q: its sd over the posterior sd (ratio)",
    "K": "number of samples K (draws)",
}
#: Monte Carlo on the same draws: the page against the package, relative.
REL_MC = 1e-6
SEED, K_MAX = 3, 1000  # the chapter's call: the draws of its three-proposal cell


def _chapter_model() -> tuple[LinearGaussian, torch.Tensor]:
    """The model and data point of chapter 4 (its first code cell)."""
    model = LinearGaussian.random(data_dim=5, latent_dim=2, noise_std=0.3, seed=0)
    model.requires_grad_(False)
    x, _ = model.sample(1, generator=torch.Generator().manual_seed(1))
    return model, x  # (1, D)


def _draws(k_max: int = K_MAX, latent: int = 2) -> torch.Tensor:
    return torch.randn(k_max, 1, latent, dtype=torch.float64,
                       generator=torch.Generator().manual_seed(SEED))  # (K_max, 1, L)


def test_importance_explorer_spec():
    model, x = _chapter_model()
    ex = explorers.importance_sampling_explorer(model, x[0], seed=SEED, k_max=K_MAX)
    bundle = ex._repr_mimebundle_()
    assert set(bundle) == {explorers.MIME_TYPE, "text/plain"}
    spec = bundle[explorers.MIME_TYPE]
    assert spec["$schema"].endswith("/vega-lite/v5.json")
    assert spec["usermeta"] == {"explorer": "importance", "panel_width": WIDTH}
    bound = {p["name"]: p for p in spec["params"] if "bind" in p}
    assert {n: p["bind"]["name"].strip() for n, p in bound.items()} == IS_CONTROLS
    assert [bound[n]["value"] for n in IS_CONTROLS] == [0.0, 1.0, K_MAX]
    assert bound["K"]["bind"]["max"] == K_MAX
    # the shipped draws are torch's, exactly
    eps = _draws()[:, 0]
    (row,) = spec["data"]["values"]
    assert torch.equal(torch.tensor([row["e0"], row["e1"]], dtype=torch.float64).T, eps)
    # the summary: the chapter's "posterior diagonal" row (the same draws) and log p(x)
    assert ex.summary == (
        "Importance-sampling explorer: q = N(posterior mean + 0 sd, (1 x posterior sd)^2), "
        "K = 1000 of 1000 fixed draws (seed 3): log p_hat(x) = -4.1294 nats, ESS = 993.4, "
        "exact log p(x) = -4.1261 nats (interactive in the HTML book and in JupyterLab)")
    shifted = explorers.importance_sampling_explorer(model, x, seed=SEED, k_max=K_MAX,
                                                     shift=1.5, width=2.0, k=100)
    mean, cov = model.posterior(x)
    sd = cov.diagonal().sqrt()
    est = estimators.importance_sampling(model, x, mean + 1.5 * sd,
                                         (2 * torch.log(2.0 * sd)).expand_as(mean), 100,
                                         eps=_draws()[:100])
    assert f"log p_hat(x) = {float(est.log_evidence):.4f} nats" in shifted.summary
    assert f"ESS = {float(est.ess):.1f}," in shifted.summary
    assert "K = 100 of 1000" in shifted.summary
    assert len(ex.to_json()) < 80_000  # page weight: the draws are about 40 kB
    # one latent unit: the draws panel plots weights against z
    one = LinearGaussian.random(data_dim=3, latent_dim=1, seed=0)
    small = explorers.importance_sampling_explorer(one, torch.zeros(3, dtype=torch.float64),
                                                   k_max=16)
    assert small.spec["vconcat"][2]["encoding"]["y"]["field"] == "w_norm"
    # bad arguments
    bad = [
        (TypeError, "model must be a LinearGaussian", dict(model=object())),
        (TypeError, "x must be a floating-point tensor", dict(x=[0.0] * 5)),
        (ValueError, r"x must have shape \(5,\) or \(1, 5\); got \(2, 5\)",
         dict(x=torch.zeros(2, 5, dtype=torch.float64))),
        (TypeError, "seed must be an int", dict(seed=1.0)),
        (ValueError, "k_max must be >= 1; got 0", dict(k_max=0)),
        (ValueError, r"k_max must be <= 4096 \(page weight\); got 5000", dict(k_max=5000)),
        (ValueError, "k must be <= k_max = 1024; got 2000", dict(k=2000)),
        (TypeError, "k must be an int", dict(k=2.0)),
        (ValueError, "width must be > 0; got 0.0", dict(width=0.0)),
        (TypeError, "shift must be a real number", dict(shift="1")),
        (ValueError, "shift must be finite", dict(shift=math.inf)),
    ]
    for error, match, kwargs in bad:
        args = {"model": model, "x": x[0], **kwargs}
        with pytest.raises(error, match=match):
            explorers.importance_sampling_explorer(args.pop("model"), args.pop("x"), **args)


# The state of the explorer: sliders, printed text, the full-precision values behind them (the
# readout's datum, the Vega signals), the rows of the main dataset (every draw with its log
# weight and the curve), the drawn points' normalized weights and the drawn marks.
IS_STATE_JS = explorer_state_js("""
  const rows = rowsOf(datasets(), has('est_curve', 'log_w', 'series'),
                      (r) => [r.k, r.e0, r.e1, r.log_w, r.est_curve]);
  let dots = null, summary = null;
  walkScene((node) => {  // the printed row and the drawn points: the data of their marks
    if (!summary && node.datum && 'ess' in node.datum) summary = node.datum;
    const items = node.items || [];
    if (!dots && node.marktype === 'symbol' && items.length === """ + str(MAX_DOTS) + """
        && 'w_norm' in items[0].datum)
      dots = items.map((i) => [i.datum.k, i.datum.e0, i.datum.e1, i.datum.log_w,
                               i.datum.w_norm]);
  });
  summary = summary && {est: summary.est, ess: summary.ess, K: summary.K};
  const signals = signalsOf(['log_ev_exact', 'elbo', 'mu_0', 'mu_1', 'sd_0', 'sd_1']);
  return {sliders, texts, lines, rows, dots, summary, signals, paths: drawn()};
""")


def _check_importance(state: dict, model: LinearGaussian, x: torch.Tensor,
                      eps: torch.Tensor) -> float:
    """The page against the package at the sliders' values; returns the largest relative gap."""
    v = {n: float(state["sliders"][label]) for n, label in IS_CONTROLS.items()}
    k = int(v["K"])
    mean, cov = model.posterior(x)                                # (1, L), (L, L)
    sd = cov.diagonal().sqrt()                                    # (L,)
    mu = mean + v["shift"] * sd                                   # (1, L)
    logvar = (2.0 * torch.log(v["ratio"] * sd)).expand_as(mu)     # (1, L)
    gaps = []

    def rel(page: float, pkg: float, tol: float, what: str) -> float:
        gaps.append(abs(page - pkg) / max(1.0, abs(pkg)))
        assert gaps[-1] <= tol, (what, v, page, pkg)
        return pkg

    for j in range(2):
        rel(state["signals"][f"mu_{j}"], float(mu[0, j]), REL, f"mu_{j}")
        rel(state["signals"][f"sd_{j}"], float(sd[j]) * v["ratio"], REL, f"sd_{j}")
    est = estimators.importance_sampling(model, x, mu, logvar, k, eps=eps[:k])
    lw = est.log_weights[:, 0]                                    # (K,)
    log_p_hat = rel(state["summary"]["est"], float(est.log_evidence), REL_MC, "estimate")
    rel(log_p_hat, float(losses.iwae_bound(est.log_weights, reduction="none")), 1e-12, "iwae")
    ess = float(est.ess)
    gaps.append(abs(state["summary"]["ess"] - ess) / ess)
    assert gaps[-1] <= REL_MC, ("ESS", v, state["summary"]["ess"], ess)
    assert state["summary"]["K"] == k
    full = estimators.importance_sampling(model, x, mu, logvar, K_MAX, eps=eps).log_weights
    # the curve's points (every K' <= 100, then every 4th): the draws, their log weights and
    # the estimate from the first K' draws
    rows = torch.tensor(state["rows"], dtype=torch.float64)      # (N, 5): k, e0, e1, log_w, est
    ks = torch.tensor([kk for kk in range(1, K_MAX + 1) if kk <= 100 or kk % 4 == 0])
    assert torch.equal(rows[:, 0].long(), ks), "the curve's points"
    idx = ks - 1
    assert torch.equal(rows[:, 1:3], eps[idx, 0]), "the page's draws are not the package's"
    gaps.append(((rows[:, 3] - full[idx, 0]).abs() / full[idx, 0].abs().clamp(min=1.0)).max()
                .item())
    assert gaps[-1] <= REL_MC, ("log weights", v, gaps[-1])
    curve = torch.stack([losses.iwae_bound(full[:kk], reduction="none")[0]
                         for kk in ks.tolist()])                  # (N,)
    gaps.append(((rows[:, 4] - curve).abs() / curve.abs().clamp(min=1.0)).max().item())
    assert gaps[-1] <= REL_MC, ("curve", v, gaps[-1])
    # the drawn points: the first MAX_DOTS draws, those beyond K with weight 0 (transparent)
    n = MAX_DOTS
    dots = torch.tensor(state["dots"], dtype=torch.float64)     # (MAX_DOTS, 5)
    assert dots.shape == (n, 5) and torch.equal(dots[:, 0].long(), torch.arange(1, n + 1))
    assert torch.equal(dots[:, 1:3], eps[:n, 0]), "the drawn points' draws"
    gaps.append(((dots[:, 3] - full[:n, 0]).abs() / full[:n, 0].abs().clamp(min=1.0)).max()
                .item())
    assert gaps[-1] <= REL_MC, ("log weights of the points", v, gaps[-1])
    w_norm = torch.cat([torch.softmax(lw, dim=0), torch.zeros(K_MAX - k, dtype=lw.dtype)])[:n]
    gaps.append((dots[:, 4] - w_norm).abs().max().item())
    assert gaps[-1] <= REL_MC, ("normalized weights", v, gaps[-1])
    exact = rel(state["signals"]["log_ev_exact"], float(model.log_evidence(x)), REL, "exact")
    elbo = rel(state["signals"]["elbo"], float(model.elbo(
        x, mu, logvar)), REL, "elbo")
    texts = [" ".join(t.replace("\u2212", "-").split()) for t in state["lines"]]
    want = [f"log p̂(x) = {log_p_hat:.4f} nats with K = {k}",
            f"exact log p(x) = {exact:.4f} nats", f"ELBO of q = {elbo:.4f} nats",
            f"effective sample size {ess:.1f} of {k}"]
    assert all(w in texts for w in want), (want, texts[:5])
    return max(gaps)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_importance_explorer_in_the_page(browser, base_url, viewport):  # noqa: F811
    model, x = _chapter_model()
    eps = _draws()
    want = explorers.importance_sampling_explorer(model, x[0], seed=SEED, k_max=K_MAX)
    with open_explorer(browser, base_url, IS_PAGE, "importance", viewport) as (page, handle,
                                                                                log):
        shipped = page.evaluate("(el) => el.querySelector('script.vae-explorer-spec')"
                                ".textContent", handle)
        assert json.loads(shipped) == json.loads(json.dumps(
            want._repr_mimebundle_()[explorers.MIME_TYPE])), "the page's spec is not the package's"
        largest, values = move_each_control(
            page, handle, viewport, IS_CONTROLS, IS_STATE_JS,
            lambda state: _check_importance(state, model, x, eps),
            keys=("ArrowLeft", "End", "Home"), click_at=0.3,
        )
        labels = list(IS_CONTROLS.values())
        times = (response_times(page, handle, labels[:2], ("1.5", "0.5", "1"))
                 + response_times(page, handle, labels[2:], ("10", "500", "1000")))
    check_response_times(times)
    print(f"\n{viewport}: importance-sampling explorer, largest relative difference page vs "
          f"package {largest:.2e}; values {values}; slowest answer {max(times):.1f} ms; "
          f"page weight {log['total_bytes'] / 1e6:.2f} MB")
