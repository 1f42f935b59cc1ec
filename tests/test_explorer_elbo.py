r"""Chapter 3's explorer (:func:`vae_tutorial.explorers.elbo_explorer`): in Python and in the page.

* ``test_elbo_explorer_spec`` (no browser): the output's MIME bundle is the Vega-Lite 5 bundle
  that JupyterLab draws natively, its four sliders carry names with units, its summary prints
  the package's log p(x), ELBO and KL, a one-dimensional model gets one x slider, and bad
  arguments raise.
* ``test_elbo_explorer_in_the_page`` (Chromium, every other host blocked, laptop and phone):
  each slider (q's mean and standard deviation, both coordinates of x) is moved to at least
  three values with the keyboard (ArrowRight, End, Home) and the mouse (a click on the track);
  after each move the page's log p(x), ELBO, KL(q || p(z|x)), ELBO + KL and posterior mean and
  standard deviation equal the package's (``LinearGaussian.log_evidence`` and ``posterior``,
  ``LinearGaussian.elbo``, ``LinearGaussian.kl_to_posterior``) to 1e-9 relative, the
  printed text shows them to four decimals, both densities on the page's grid equal
  ``losses.log_normal_diag`` (1e-9), and the drawn curves change. Each control answers within
  1 s (the median of three moves); on the phone each slider track is at least 150 px wide; no
  page is wider than the screen or heavier than 6.6 MB (``tests/explorer_harness.py``).
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
from vae_tutorial.explorers.spec import WIDTH
from vae_tutorial.models import LinearGaussian

ELBO_PAGE = "book/03_elbo.html"
ELBO_CONTROLS = {
    "mu": "mean of q, μ (units of z)",
    "s": "standard deviation of q, σ (units of z)",
    "x1": "observation x₁ (units of x)",
    "x2": "observation x₂ (units of x)",
}
N_GRID = 801


def _model() -> LinearGaussian:
    """The chapter's model, the explorer's default."""
    return LinearGaussian.random(data_dim=2, latent_dim=1, noise_std=0.7,
                                 seed=0).requires_grad_(False)


def _package(model: LinearGaussian, x: list[float], mu: float, s: float) -> dict[str, float]:
    """Every number the explorer prints, from the package, in float64."""
    xt = torch.tensor([x], dtype=torch.float64)
    mu_t = torch.tensor([[mu]], dtype=torch.float64)
    lv_t = torch.tensor([[2 * math.log(s)]], dtype=torch.float64)
    with torch.no_grad():
        mean, cov = model.posterior(xt)
        elbo = float(model.elbo(xt, mu_t, lv_t))
        kl = float(model.kl_to_posterior(xt, mu_t, lv_t))
        return {"log_ev": float(model.log_evidence(xt)), "elbo": elbo, "kl": kl,
                "total": elbo + kl, "post_mean": float(mean), "post_sd": float(cov.sqrt()),
                "post_logvar": float(cov.log())}


def test_elbo_explorer_spec():
    model = _model()
    ex = explorers.elbo_explorer(model, x=[0.5, -1.0], mu_q=-0.5, sigma_q=0.4)
    bundle = ex._repr_mimebundle_()
    assert set(bundle) == {explorers.MIME_TYPE, "text/plain"}
    spec = bundle[explorers.MIME_TYPE]
    assert spec["$schema"].endswith("/vega-lite/v5.json")
    assert spec["usermeta"] == {"explorer": "elbo", "panel_width": WIDTH}
    bound = {p["name"]: p for p in spec["params"] if "bind" in p}
    assert {n: p["bind"]["name"].strip() for n, p in bound.items()} == ELBO_CONTROLS
    assert [bound[n]["value"] for n in ELBO_CONTROLS] == [-0.5, 0.4, 0.5, -1.0]
    assert all(p["bind"]["input"] == "range" for p in bound.values())
    want = _package(model, [0.5, -1.0], -0.5, 0.4)
    assert want["log_ev"] == pytest.approx(want["total"], abs=1e-10)
    for key in ("log_ev", "elbo", "kl"):
        assert f"{want[key]:.4f}" in bundle["text/plain"], (key, bundle["text/plain"])
    # the default: the chapter's model, x = (-0.8, 0.4), q = N(posterior mean + 1, 1)
    default = explorers.elbo_explorer()
    bound = {p["name"]: p["value"] for p in default.spec["params"] if "bind" in p}
    m = _package(model, [-0.8, 0.4], 0.0, 1.0)["post_mean"]
    assert bound == {"mu": round(m + 1, 1), "s": 1.0, "x1": -0.8, "x2": 0.4}
    assert f"{_package(model, [-0.8, 0.4], bound['mu'], 1.0)['elbo']:.4f}" in default.summary
    # a model with D = 1: one slider for x, named without a subscript
    one = LinearGaussian(torch.tensor([[1.5]], dtype=torch.float64),
                         torch.tensor([0.2], dtype=torch.float64), 0.5)
    labels = [p["bind"]["name"].strip() for p in explorers.elbo_explorer(
        one, x=[1.0]).spec["params"] if "bind" in p]
    assert labels[2:] == ["observation x (units of x)"]
    # bad arguments name themselves
    with pytest.raises(TypeError, match="model must be a models.LinearGaussian"):
        explorers.elbo_explorer(object())
    with pytest.raises(ValueError, match="model must have latent_dim 1; got 2"):
        explorers.elbo_explorer(LinearGaussian.random(data_dim=3, latent_dim=2))
    with pytest.raises(ValueError, match="data_dim <= 4"):
        explorers.elbo_explorer(LinearGaussian.random(data_dim=5, latent_dim=1))
    with pytest.raises(ValueError, match="x must have 2 values"):
        explorers.elbo_explorer(model, x=[1.0])
    with pytest.raises(TypeError, match="x must be a sequence"):
        explorers.elbo_explorer(model, x="12")
    with pytest.raises(ValueError, match=r"x\[1\] must be finite"):
        explorers.elbo_explorer(model, x=[1.0, float("nan")])
    with pytest.raises(ValueError, match=r"sigma_q must be in \[0.05, 3\]"):
        explorers.elbo_explorer(sigma_q=0.0)
    with pytest.raises(ValueError, match=r"mu_q must be in \[-4, 4\]"):
        explorers.elbo_explorer(mu_q=5.0)
    with pytest.raises(TypeError, match="mu_q must be a real number"):
        explorers.elbo_explorer(mu_q="0")


# The state of the explorer: its sliders, its printed text, the values behind the printed
# numbers (Vega signals), the rows of its grid (the first dataset with a log_post column: the
# rows behind one of the two drawn curves, each of which carries both densities) and the drawn
# marks (the SVG paths).
STATE_JS = explorer_state_js("""
  const rows = rowsOf(datasets(), has('log_post'),
                      (r) => [r.z, r.log_post, r.log_q, r.post, r.q]) || [];
  const signals = signalsOf(['log_ev', 'elbo', 'kl', 'total', 'post_mean', 'post_sd']);
  return {sliders, texts, lines, signals, rows, paths: drawn()};
""")


def _check_state(state: dict) -> float:
    """Compare one state of the ELBO explorer with the package; the largest relative gap."""
    v = {n: float(state["sliders"][label]) for n, label in ELBO_CONTROLS.items()}
    want = _package(_model(), [v["x1"], v["x2"]], v["mu"], v["s"])
    gaps = []

    def rel(page: float, pkg: float, what: str) -> None:
        gaps.append(abs(page - pkg) / max(1.0, abs(pkg)))
        assert gaps[-1] <= REL, (what, v, page, pkg)

    for key, page in state["signals"].items():
        rel(page, want[key], key)
    # the identity: the printed sum is the exact evidence
    rel(state["signals"]["total"], want["log_ev"], "ELBO + KL = log p(x)")
    f = {k: f"{val:.4f}" for k, val in want.items()}
    printed = [f"log p(x) = {f['log_ev']} nats (exact)", f"ELBO = {f['elbo']} nats",
               f"gap KL(q ‖ p(z | x)) = {f['kl']} nats",
               f"ELBO + KL = {f['total']} nats = log p(x)",
               f"posterior: mean {f['post_mean']}, sd {f['post_sd']}"]
    texts = [" ".join(t.replace("\u2212", "-").split()) for t in state["lines"]]
    for line in printed:
        assert line.replace("-0.0000", "0.0000") in [t.replace("-0.0000", "0.0000")
                                                     for t in texts], (line, texts[:6])
    # both densities on the page's grid, against losses.log_normal_diag
    rows = torch.tensor(state["rows"], dtype=torch.float64)  # (N, 5): z, log p, log q, p, q
    assert rows.shape[0] == N_GRID, rows.shape
    z = rows[:, :1]
    t = lambda a: torch.tensor([a], dtype=torch.float64)  # noqa: E731
    log_post = losses.log_normal_diag(z, t(want["post_mean"]), t(want["post_logvar"]),
                                      reduction="none")
    log_q = losses.log_normal_diag(z, t(v["mu"]), t(2 * math.log(v["s"])), reduction="none")
    pkg = torch.stack([log_post, log_q, log_post.exp(), log_q.exp()], dim=1)
    gaps.append(((rows[:, 1:] - pkg).abs() / pkg.abs().clamp(min=1.0)).max().item())
    assert gaps[-1] <= REL, ("densities on the grid", v, gaps[-1])
    # the grid: at least [-4, 4], widened to mean +- 4 sd of both densities
    lo = min(-4.0, want["post_mean"] - 4 * want["post_sd"], v["mu"] - 4 * v["s"])
    hi = max(4.0, want["post_mean"] + 4 * want["post_sd"], v["mu"] + 4 * v["s"])
    assert abs(z[0, 0] - lo) < 1e-9 and abs(z[-1, 0] - hi) < 1e-9, (z[0, 0], z[-1, 0], lo, hi)
    return max(gaps)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_elbo_explorer_in_the_page(browser, base_url, viewport):  # noqa: F811
    with open_explorer(browser, base_url, ELBO_PAGE, "elbo", viewport) as (page, handle, log):
        largest, values = move_each_control(
            page, handle, viewport, ELBO_CONTROLS, STATE_JS, _check_state,
            keys=("ArrowRight", "End", "Home"), click_at=0.3,
        )
        times = response_times(page, handle, ELBO_CONTROLS.values(), ("1.5", "0.5", "1.0"))
    check_response_times(times)
    print(f"\n{viewport}: ELBO explorer, largest relative difference page vs package "
          f"{largest:.2e}; slowest answer {max(times):.1f} ms (median "
          f"{sorted(times)[len(times) // 2]:.1f}); page weight {log['total_bytes'] / 1e6:.2f} MB;"
          f" values per control { {n: len(v) for n, v in values.items()} }")
