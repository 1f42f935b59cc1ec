r"""Chapter 4's explorer: importance sampling of :math:`p(x)` and the IWAE estimate against K.

The page transforms a fixed set of standard-normal draws, made by torch when the explorer is
built and shipped inside the specification, so its numbers are the package's for those draws.

Introduced in the chapter "Importance sampling".
"""

from __future__ import annotations

import math
from typing import Any

from vae_tutorial._checks import check_positive_int, check_real
from vae_tutorial.explorers.spec import (
    CONFIG,
    P_COLOR,
    Q_COLOR,
    SCHEMA,
    WIDTH,
    Explorer,
    slider,
)
from vae_tutorial.plotting import OKABE_ITO

__all__ = ["importance_sampling_explorer"]

#: The most draws an explorer ships (page weight: about 40 bytes per draw and latent unit).
MAX_DRAWS = 4096
SHIFT_RANGE, WIDTH_RANGE = (-4.0, 4.0, 0.25), (0.1, 4.0, 0.05)
#: The draws drawn as points (the first ones; each point is an SVG element, and the page must
#: answer a slider within 100 ms), and the curve's points beyond K = 100 (every 4th K).
MAX_DOTS = 256


def importance_sampling_explorer(
    model: Any,  # noqa: ANN401 (a LinearGaussian; torch is imported when the explorer is built)
    x: Any,  # noqa: ANN401
    *,
    seed: int = 0,
    k_max: int = 1024,
    shift: float = 0.0,
    width: float = 1.0,
    k: int | None = None,
) -> Explorer:
    r"""Importance sampling of :math:`p(x)` with a Gaussian proposal, computed live in the page.

    The model is a :class:`~vae_tutorial.models.LinearGaussian`; its exact posterior
    :math:`p(z \mid x)` has mean :math:`m` and marginal standard deviations :math:`s`. Three
    sliders set a diagonal Gaussian proposal and the number of samples:
    :math:`q = \mathcal{N}(m + \text{shift} \cdot s, \operatorname{diag}(\text{width} \cdot
    s)^2)` and :math:`K \le K_{\max}`. The ``k_max`` standard-normal draws
    :math:`\varepsilon_k` (``torch.randn`` under ``seed``, shape ``(k_max, 1, L)``) are shipped
    with the page, which computes, as :func:`vae_tutorial.estimators.importance_sampling` does
    with ``eps=eps[:K]``,

    .. math::
        \begin{aligned}
        z_k &= \mu_q + \sigma_q \odot \varepsilon_k, \qquad
        \log w_k = \log p(x, z_k) - \log q(z_k), \\
        \log \hat p_K(x) &= \operatorname{logsumexp}_{k \le K} \log w_k - \log K,
        \end{aligned}

    the effective sample size :math:`(\sum_k w_k)^2 / \sum_k w_k^2`, and the estimate with the
    first :math:`K'` draws for every :math:`K' \le K_{\max}` (one realisation of the IWAE
    bound's estimator, :func:`vae_tutorial.losses.iwae_bound`), drawn against :math:`K'` on a
    log axis beside the exact :math:`\log p(x)` and the closed-form ELBO of :math:`q`
    (:meth:`vae_tutorial.models.LinearGaussian.elbo`, the mean of the estimate at
    :math:`K = 1`). A second panel draws the first two latent coordinates of the K draws (the
    first 256 when K is larger), each with an area proportional to its normalized weight,
    over the 2-sd ellipses of the posterior and of :math:`q` (with :math:`L = 1`: the draws
    against their weights).

    Shift moves in [-4, 4] posterior sds in steps of 0.25, width in [0.1, 4] in steps of 0.05.

    Args:
        model: A :class:`~vae_tutorial.models.LinearGaussian` (its parameters, the exact
            posterior and evidence are written into the page).
        x: One data point, a float tensor of shape ``(D,)`` or ``(1, D)``.
        seed: Seed of the ``torch.Generator`` that draws the noise.
        k_max: How many draws to ship (1 to 4096); the K slider's maximum.
        shift, width: Initial proposal: mean shift (posterior sds) and sd ratio (> 0).
        k: Initial K (1 to ``k_max``; default ``k_max``).

    Returns:
        An :class:`~vae_tutorial.explorers.spec.Explorer`; its text summary prints the
        package's estimate and ESS at the initial values.

    Raises:
        TypeError: ``model`` is not a LinearGaussian, ``x`` not a float tensor, or a number is
            of the wrong type.
        ValueError: ``x`` has the wrong shape, ``k_max`` or ``k`` is out of range, ``width`` is
            not positive, or a value is not finite.

    Example:
        >>> import torch
        >>> from vae_tutorial.explorers import importance_sampling_explorer
        >>> from vae_tutorial.models import LinearGaussian
        >>> model = LinearGaussian.random(data_dim=3, latent_dim=2, seed=0)
        >>> x = torch.zeros(3, dtype=torch.float64)
        >>> ex = importance_sampling_explorer(model, x, k_max=64)
        >>> [p["name"] for p in ex.spec["params"] if "bind" in p]
        ['shift', 'ratio', 'K']

    Introduced in the chapter "Importance sampling".
    """
    import torch  # the explorer's data comes from the package

    from vae_tutorial import estimators
    from vae_tutorial.models import LinearGaussian

    if not isinstance(model, LinearGaussian):
        raise TypeError(f"model must be a LinearGaussian; got {type(model).__name__}")
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor; got {type(x).__name__}")
    d, latent = model.data_dim, model.latent_dim
    if x.shape not in ((d,), (1, d)):
        raise ValueError(f"x must have shape ({d},) or (1, {d}); got {tuple(x.shape)}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int; got {type(seed).__name__}")
    check_positive_int("k_max", k_max)
    if k_max > MAX_DRAWS:
        raise ValueError(f"k_max must be <= {MAX_DRAWS} (page weight); got {k_max}")
    k = k_max if k is None else k
    check_positive_int("k", k)
    if k > k_max:
        raise ValueError(f"k must be <= k_max = {k_max}; got {k}")
    check_real("shift", shift)
    check_real("width", width)
    if not width > 0:
        raise ValueError(f"width must be > 0; got {width}")

    with torch.no_grad():
        xx = x.detach().reshape(1, d).to(model.weight.dtype)      # (1, D)
        post_mean, post_cov = model.posterior(xx)                 # (1, L), (L, L)
        post_sd = post_cov.diagonal().sqrt()                      # (L,)
        log_ev = float(model.log_evidence(xx))
        eps = torch.randn(k_max, 1, latent, dtype=xx.dtype,
                          generator=torch.Generator().manual_seed(seed))  # (K_max, 1, L)
        mu = post_mean + shift * post_sd                          # (1, L)
        logvar = (2.0 * torch.log(width * post_sd)).expand_as(mu)  # (1, L)
        est = estimators.importance_sampling(model, xx, mu, logvar, k, eps=eps[:k])
        w_, b_ = model.weight.tolist(), model.bias.tolist()
        sigma = float(model.noise_var.sqrt())
    m_, s_, x_ = post_mean[0].tolist(), post_sd.tolist(), xx[0].tolist()
    # the posterior's 2-sd ellipse in its first two coordinates (display only)
    ellipse = []
    if latent >= 2:
        chol = torch.linalg.cholesky(post_cov[:2, :2])
        for i in range(73):
            t = 2 * math.pi * i / 72
            p = post_mean[0, :2] + 2.0 * chol @ torch.tensor([math.cos(t), math.sin(t)],
                                                               dtype=chol.dtype)
            ellipse.append({"i": i, "z0": round(float(p[0]), 6), "z1": round(float(p[1]), 6),
                            "series": "posterior p(z | x), 2 sd"})

    spec = _spec(w_, b_, sigma, x_, m_, s_, log_ev, eps[:, 0].tolist(), ellipse,
                 float(shift), float(width), k)
    summary = (f"Importance-sampling explorer: q = N(posterior mean + {shift:g} sd, "
               f"({width:g} x posterior sd)^2), K = {k} of {k_max} fixed draws (seed {seed}): "
               f"log p_hat(x) = {float(est.log_evidence):.4f} nats, "
               f"ESS = {float(est.ess):.1f}, exact log p(x) = {log_ev:.4f} nats "
               "(interactive in the HTML book and in JupyterLab)")
    return Explorer("importance", spec, summary)


def _spec(w: list, b: list, sigma: float, x: list, m: list, s: list, log_ev: float,
          eps: list, ellipse: list, shift: float, width: float, k: int) -> dict:
    """The Vega-Lite specification (numbers baked in with full precision)."""
    d, latent, k_max = len(x), len(m), len(eps)
    r = repr
    js = range(latent)
    half_log_2pi = "0.5 * log(2 * PI)"
    # \log q(z) = \sum_j -\log \sigma_j - \log(2\pi)/2 - ((z_j - \mu_j) / \sigma_j)^2 / 2
    log_q = " + ".join(f"(-log(sd_{j}) - {half_log_2pi} - 0.5 * ((datum.z{j} - mu_{j}) / sd_{j})"
                       f" * ((datum.z{j} - mu_{j}) / sd_{j}))" for j in js)
    # \log p(z) = \sum_j -\log(2\pi)/2 - z_j^2 / 2
    log_pz = " + ".join(f"(-{half_log_2pi} - 0.5 * datum.z{j} * datum.z{j})" for j in js)
    # \log p(x | z) = \sum_i -\log\sigma - \log(2\pi)/2 - ((x_i - (Wz + b)_i) / \sigma)^2 / 2
    resid = [f"(({r(x[i])} - ({r(b[i])} + "
             + " + ".join(f"{r(w[i][j])} * datum.z{j}" for j in js) + f")) / {r(sigma)})"
             for i in range(d)]
    log_lik = " + ".join(f"(-log({r(sigma)}) - {half_log_2pi} - 0.5 * {e} * {e})" for e in resid)
    # closed-form ELBO of q: E_q log p(x|z) - KL(q || N(0, I)), with
    # E_q ||x - Wz - b||^2 = ||x - W mu - b||^2 + \sum_j sd_j^2 ||W_{:j}||^2
    resid_mu = [f"({r(x[i])} - ({r(b[i])} + "
                + " + ".join(f"{r(w[i][j])} * mu_{j}" for j in js) + "))" for i in range(d)]
    col_sq = [sum(w[i][j] ** 2 for i in range(d)) for j in js]
    sq_mu = " + ".join(f"{e} * {e}" for e in resid_mu)
    trace = " + ".join(f"sd_{j} * sd_{j} * {r(col_sq[j])}" for j in js)
    rec = (f"-{d} * (log({r(sigma)}) + {half_log_2pi}) "
           f"- ({sq_mu} + {trace}) / (2 * {r(sigma)} * {r(sigma)})")
    # KL(N(mu, sd^2) || N(0, 1)) = \sum_j (sd_j^2 + mu_j^2 - 1 - log sd_j^2) / 2
    kl = " + ".join(f"0.5 * (sd_{j} * sd_{j} + mu_{j} * mu_{j} - 1 - 2 * log(sd_{j}))"
                    for j in js)
    params: list[dict] = [
        slider("shift", shift, *SHIFT_RANGE, "shift of q's mean from the posterior mean "
               "(posterior sds)"),
        slider("ratio", width, *WIDTH_RANGE, "width of q: its sd over the posterior sd "
               "(ratio)"),
        slider("K", k, 1, k_max, 1, "number of samples K (draws)"),
        {"name": "log_ev_exact", "value": log_ev},
    ]
    for j in js:
        # q = N(m + shift s, (width s)^2), coordinate by coordinate
        params += [{"name": f"mu_{j}", "expr": f"{r(m[j])} + shift * {r(s[j])}"},
                   {"name": f"sd_{j}", "expr": f"ratio * {r(s[j])}"}]
    params.append({"name": "elbo", "expr": f"{rec} - ({kl})"})
    names = ["log p̂_K(x) from the first K draws", "exact log p(x)",
             "ELBO of q = mean of log p̂_1(x)"]
    colors = [Q_COLOR, OKABE_ITO[7], P_COLOR]
    color = {"field": "series", "type": "nominal", "title": None,
             "scale": {"domain": names, "range": colors}}
    dash = {"field": "series", "type": "nominal", "title": None,
            "scale": {"domain": names, "range": [[1, 0], [6, 3], [2, 2]]}}
    k_axis = {"field": "k", "type": "quantitative", "title": "number of samples K (log scale)",
              "scale": {"type": "log", "domain": [1, k_max], "nice": False}}

    def rule(signal: str, series: str) -> dict:
        return {"data": {"values": [{}]},
                "transform": [{"calculate": signal, "as": "value"},
                              {"calculate": f"'{series}'", "as": "series"}],
                "mark": {"type": "rule", "strokeWidth": 2},
                "encoding": {"y": {"field": "value", "type": "quantitative"},
                             "color": color, "strokeDash": dash}}

    curve = {
        "width": WIDTH, "height": 220,
        "title": ["The estimate against K:", "one run of the IWAE bound's estimator"],
        "layer": [
            {"transform": [{"filter": "datum.k <= 100 || datum.k % 4 === 0"},
                           {"calculate": f"'{names[0]}'", "as": "series"}],
             "mark": {"type": "line", "strokeWidth": 1.5, "opacity": 0.55},
             "encoding": {"x": k_axis,
                          "y": {"field": "est_curve", "type": "quantitative",
                                "title": "log p̂_K(x) (nats)", "scale": {"zero": False}},
                          "color": color, "strokeDash": dash}},
            # the part up to the slider's K, in bold
            {"transform": [{"filter": "(datum.k <= 100 || datum.k % 4 === 0 || datum.k === K) "
                                      "&& datum.k <= K"}],
             "mark": {"type": "line", "strokeWidth": 2.5, "color": Q_COLOR},
             "encoding": {"x": k_axis, "y": {"field": "est_curve", "type": "quantitative"}}},
            rule("log_ev_exact", names[1]),
            rule("elbo", names[2]),
            {"transform": [{"filter": "datum.k === K"}],
             "mark": {"type": "point", "filled": True, "size": 90, "color": Q_COLOR},
             "encoding": {"x": k_axis, "y": {"field": "est_curve", "type": "quantitative"}}},
        ],
    }
    # the first min(K, MAX_DOTS) draws, each an area proportional to its normalized weight;
    # the first MAX_DOTS are always drawn, those beyond K transparent, so that moving K
    # changes marks and adds none
    shown = {"condition": {"test": "datum.k <= K", "value": 0.45}, "value": 0}
    size = {"field": "w_norm", "type": "quantitative", "legend": None,
            "scale": {"zero": True, "range": [4, 160]}}
    ovals = ["proposal q(z), 2 sd", "posterior p(z | x), 2 sd"]
    oval_color = {"field": "series", "type": "nominal", "title": None,
                  "scale": {"domain": ovals, "range": [Q_COLOR, P_COLOR]}}
    oval_dash = {"field": "series", "type": "nominal", "title": None,
                 "scale": {"domain": ovals, "range": [[6, 3], [2, 2]]}}
    dots = {"type": "circle", "color": Q_COLOR}
    dots_title = ["Where the draws z_k ~ q fall, area ∝ weight",
                  f"(the first {MAX_DOTS} of the K when K > {MAX_DOTS})"][:1 + (k_max > MAX_DOTS)]
    if latent >= 2:
        z0 = {"field": "z0", "type": "quantitative", "title": "z₁ (units of z)",
              "scale": {"zero": False}}
        z1 = {"field": "z1", "type": "quantitative", "title": "z₂ (units of z)",
              "scale": {"zero": False}}
        oval = {"field": "i", "type": "quantitative"}
        draws = {
            "width": WIDTH, "height": 300,
            "title": dots_title,
            "layer": [
                {"transform": [{"filter": f"datum.k <= {MAX_DOTS}"}], "mark": dots,
                 "encoding": {"x": z0, "y": z1, "size": size, "opacity": shown}},
                {"data": {"values": ellipse}, "mark": {"type": "line", "strokeWidth": 2},
                 "encoding": {"x": z0, "y": z1, "order": oval, "color": oval_color,
                              "strokeDash": oval_dash}},
                {"data": {"sequence": {"start": 0, "stop": 73, "step": 1, "as": "i"}},
                 "transform": [
                     {"calculate": "2 * PI * datum.i / 72", "as": "t"},
                     {"calculate": "mu_0 + 2 * sd_0 * cos(datum.t)", "as": "z0"},
                     {"calculate": "mu_1 + 2 * sd_1 * sin(datum.t)", "as": "z1"},
                     {"calculate": f"'{ovals[0]}'", "as": "series"}],
                 "mark": {"type": "line", "strokeWidth": 2},
                 "encoding": {"x": z0, "y": z1, "order": oval, "color": oval_color,
                              "strokeDash": oval_dash}},
            ],
        }
    else:
        draws = {
            "width": WIDTH, "height": 220,
            "title": dots_title,
            "transform": [{"filter": f"datum.k <= {MAX_DOTS}"}], "mark": dots,
            "encoding": {"x": {"field": "z0", "type": "quantitative", "title": "z (units of z)",
                               "scale": {"zero": False}},
                         "y": {"field": "w_norm", "type": "quantitative",
                               "title": "normalized weight w_k / Σ w"},
                         "size": size, "opacity": shown},
        }
    # four short lines, each within a phone's column (about 330 px) at 15 px
    readout = ("['log p̂(x) = ' + format(datum.est, '.4f') + ' nats with K = ' + datum.K, "
               "'exact log p(x) = ' + format(log_ev_exact, '.4f') + ' nats', "
               "'ELBO of q = ' + format(elbo, '.4f') + ' nats', "
               "'effective sample size ' + format(datum.ess, '.1f') + ' of ' + datum.K]")
    return {
        "$schema": SCHEMA,
        "description": "Importance sampling of the evidence p(x) with a Gaussian proposal q: "
                       "the estimate log p_hat(x) from K fixed draws, the effective sample "
                       "size, the estimate against K beside the exact log p(x) and the ELBO, "
                       "and the draws sized by their weights, computed as the sliders move.",
        "params": params,
        "data": {"values": [{f"e{j}": [row[j] for row in eps] for j in js}]},
        "transform": [
            {"flatten": [f"e{j}" for j in js]},
            {"window": [{"op": "row_number", "as": "k"}]},
            # z_k = mu + sd * eps_k
            *({"calculate": f"mu_{j} + sd_{j} * datum.e{j}", "as": f"z{j}"} for j in js),
            {"calculate": log_q, "as": "log_q"},
            {"calculate": log_pz, "as": "log_pz"},
            {"calculate": log_lik, "as": "log_lik"},
            # log w_k = log p(x | z_k) + log p(z_k) - log q(z_k)
            {"calculate": "datum.log_lik + datum.log_pz - datum.log_q", "as": "log_w"},
            # the estimate with the first K' draws, for every K': a running logsumexp
            # around the largest log weight of all the draws
            {"joinaggregate": [{"op": "max", "field": "log_w", "as": "m_all"}]},
            {"calculate": "exp(datum.log_w - datum.m_all)", "as": "u"},
            {"window": [{"op": "sum", "field": "u", "as": "cum_u"}],
             "sort": [{"field": "k"}], "frame": [None, 0]},
            # log p_hat_K' = logsumexp_{k <= K'} log w_k - log K'
            {"calculate": "datum.m_all + log(datum.cum_u) - log(datum.k)", "as": "est_curve"},
            # the first K draws (the others at log w = -1e300, weight 0): the largest log
            # weight m, sum_k w_k / e^m and sum_k w_k^2 / e^2m
            {"calculate": "datum.k <= K ? datum.log_w : -1e300", "as": "log_w_K"},
            {"joinaggregate": [{"op": "max", "field": "log_w_K", "as": "m_K"}]},
            {"calculate": "exp(datum.log_w_K - datum.m_K)", "as": "a"},
            {"calculate": "datum.a * datum.a", "as": "a2"},
            {"joinaggregate": [{"op": "sum", "field": "a", "as": "s1"},
                               {"op": "sum", "field": "a2", "as": "s2"}]},
            # normalized weights w_k / sum_k w_k (0 beyond K)
            {"calculate": "datum.a / datum.s1", "as": "w_norm"},
        ],
        "vconcat": [
            {"width": WIDTH, "height": 80,
             "transform": [
                 {"filter": "datum.k === 1"},
                 {"calculate": "K", "as": "K"},
                 # log p_hat = m + log sum_{k <= K} exp(log w_k - m) - log K
                 {"calculate": "datum.m_K + log(datum.s1) - log(K)", "as": "est"},
                 # ESS = (sum w)^2 / sum w^2
                 {"calculate": "datum.s1 * datum.s1 / datum.s2", "as": "ess"}],
             "mark": {"type": "text", "fontSize": 15, "fontWeight": "bold", "align": "left",
                      "baseline": "top", "x": 0, "y": 0, "lineHeight": 20},
             "encoding": {"text": {"value": {"expr": readout}}}},
            curve,
            draws,
        ],
        "resolve": {"scale": {"color": "independent", "strokeDash": "independent",
                              "size": "independent"},
                    "legend": {"color": "independent", "strokeDash": "independent"}},
        "config": CONFIG,
    }
