r"""Chapter 3's explorer: a Gaussian q against the exact posterior of a 1-D-latent model.

The model is a :class:`~vae_tutorial.models.LinearGaussian` with one latent dimension,
:math:`z \sim \mathcal{N}(0, 1)`, :math:`x \mid z \sim \mathcal{N}(wz + b, \sigma_x^2 I_D)`; its
:math:`w`, :math:`b` and :math:`\sigma_x^2` are written into the specification as constants, and
every quantity the page shows is a closed form evaluated as a Vega expression:

* the posterior :math:`p(z \mid x) = \mathcal{N}(m, S)`, :math:`S = 1/(1 + \lVert w\rVert^2 /
  \sigma_x^2)`, :math:`m = S\, w^\top (x - b)/\sigma_x^2`
  (:meth:`~vae_tutorial.models.LinearGaussian.posterior`);
* the evidence :math:`\log p(x) = \log \mathcal{N}(x; b, ww^\top + \sigma_x^2 I)`
  (:meth:`~vae_tutorial.models.LinearGaussian.log_evidence`);
* the ELBO of :math:`q = \mathcal{N}(\mu, \sigma^2)` (the slider and signal ``s``)
  (:meth:`vae_tutorial.models.LinearGaussian.elbo`) and the gap
  :math:`\mathrm{KL}(q \,\|\, p(z \mid x))`
  (:meth:`vae_tutorial.models.LinearGaussian.kl_to_posterior`).

Introduced in the chapter "Jensen's inequality and the ELBO".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from vae_tutorial._checks import check_real
from vae_tutorial.explorers.spec import (
    CONFIG,
    P_COLOR,
    Q_COLOR,
    SCHEMA,
    WIDTH,
    Explorer,
    log_normal_expr,
    rename_series,
    slider,
)
from vae_tutorial.models import LinearGaussian
from vae_tutorial.plotting import OKABE_ITO

__all__ = ["elbo_explorer"]

#: The range of the mean slider and the least z range drawn (units of z).
MU_RANGE = (-4.0, 4.0)
#: The range of the standard-deviation slider (units of z).
SIGMA_RANGE = (0.05, 3.0)
#: Most coordinates of x (one slider each).
MAX_DATA_DIM = 4
#: Points of the grid on which both densities are drawn.
N_GRID = 801
#: The colour of the gap (green, apart from q's vermillion and the posterior's blue).
GAP_COLOR = OKABE_ITO[2]


def elbo_explorer(
    model: LinearGaussian | None = None,
    x: Sequence[float] | None = None,
    mu_q: float | None = None,
    sigma_q: float = 1.0,
) -> Explorer:
    r"""A Gaussian q against the exact posterior: log p(x), the ELBO and the gap, computed live.

    Sliders set the mean :math:`\mu` and the standard deviation :math:`s` of
    :math:`q(z) = \mathcal{N}(\mu, s^2)` (units of z; the package's log-variance is
    :math:`2 \log s`) and each coordinate :math:`x_j` of the observation (units of x). The page
    prints and draws

    * the exact :math:`\log p(x)`, which moves with :math:`x` only;
    * the ELBO :math:`\mathcal{L}(q) = \mathbb{E}_q[\log p(x \mid z)] - \mathrm{KL}(q \,\|\,
      p(z))` in closed form;
    * the gap :math:`\mathrm{KL}(q \,\|\, p(z \mid x)) = \frac12\big[(s^2 + (\mu - m)^2)/S - 1
      + \log S - \log s^2\big]`, computed without the evidence, and the sum
      :math:`\mathrm{ELBO} + \mathrm{KL}`, which equals :math:`\log p(x)`;
    * the posterior mean :math:`m` and standard deviation :math:`\sqrt S`;

    a top panel draws the posterior and :math:`q` on a grid of 801 points (at least
    :math:`[-4, 4]`, widened to 4 standard deviations around either mean), and a bottom panel
    the number line in nats on which :math:`\log p(x)` sits the gap above the ELBO. The mean
    moves in [-4, 4] in steps of 0.05, the standard deviation in [0.05, 3] in steps of 0.01,
    each :math:`x_j` in steps of 0.1 over :math:`b_j \pm 3` marginal standard deviations.

    Args:
        model: A :class:`~vae_tutorial.models.LinearGaussian` with one latent dimension and at
            most four data dimensions (default: the chapter's
            ``LinearGaussian.random(data_dim=2, latent_dim=1, noise_std=0.7, seed=0)``).
        x: The initial observation, ``D`` real numbers (default: a point drawn from the model
            with seed 3, rounded to the slider's step: ``(-0.8, 0.4)`` for the default model).
        mu_q: The initial mean of q, in [-4, 4] (default: the posterior mean plus 1, rounded
            to the slider's step).
        sigma_q: The initial standard deviation of q, in [0.05, 3].

    Returns:
        An :class:`~vae_tutorial.explorers.spec.Explorer`; display it as the last expression of
        a cell.

    Raises:
        TypeError: ``model`` is not a LinearGaussian, or a value is not a real number.
        ValueError: ``model`` has a latent dimension other than 1 or more than four data
            dimensions; ``x`` has the wrong length or a value is not finite; ``mu_q`` or
            ``sigma_q`` is outside its slider's range.

    Example:
        >>> from vae_tutorial import explorers
        >>> ex = explorers.elbo_explorer()
        >>> [p["bind"]["name"].strip() for p in ex.spec["params"] if "bind" in p][:2]
        ['mean of q, μ (units of z)', 'standard deviation of q, σ (units of z)']

    Introduced in the chapter "Jensen's inequality and the ELBO".
    """
    if model is None:
        model = LinearGaussian.random(data_dim=2, latent_dim=1, noise_std=0.7, seed=0)
    if not isinstance(model, LinearGaussian):
        raise TypeError(f"model must be a models.LinearGaussian; got {type(model).__name__}")
    if model.latent_dim != 1:
        raise ValueError(f"model must have latent_dim 1; got {model.latent_dim}")
    d = model.data_dim
    if d > MAX_DATA_DIM:
        raise ValueError(f"model must have data_dim <= {MAX_DATA_DIM} (one slider per "
                         f"coordinate of x); got {d}")
    with torch.no_grad():
        w = [float(v) for v in model.weight[:, 0].double()]
        b = [float(v) for v in model.bias.double()]
        var = float(model.noise_var.double())
        marginal_sd = [math.sqrt(v) for v in
                       model.evidence_distribution().covariance_matrix.diagonal().double()]
        if x is None:
            drawn, _ = model.sample(1, generator=torch.Generator().manual_seed(3))
            x = [round(float(v), 1) for v in drawn[0]]
    if isinstance(x, torch.Tensor):
        x = x.reshape(-1).tolist()
    if isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
        raise TypeError(f"x must be a sequence of {d} real numbers; got {type(x).__name__}")
    if len(x) != d:
        raise ValueError(f"x must have {d} values (the model's data_dim); got {len(x)}")
    for j, value in enumerate(x):
        check_real(f"x[{j}]", value)
    x = [float(v) for v in x]
    if mu_q is None:
        mu_q = round(_posterior(w, b, var, x)[0] + 1.0, 1)
        mu_q = min(max(mu_q, MU_RANGE[0]), MU_RANGE[1])
    check_real("mu_q", mu_q)
    check_real("sigma_q", sigma_q)
    for name, value, (lo, hi) in (("mu_q", mu_q, MU_RANGE), ("sigma_q", sigma_q, SIGMA_RANGE)):
        if not lo <= value <= hi:
            raise ValueError(f"{name} must be in [{lo:g}, {hi:g}] (the slider's range); "
                             f"got {value}")

    # the x sliders: b_j +- 3 marginal sd, outward to half units, widened to hold x_j
    x_sliders = []
    for j in range(d):
        lo = min(math.floor(2 * (b[j] - 3 * marginal_sd[j])) / 2, math.floor(x[j]))
        hi = max(math.ceil(2 * (b[j] + 3 * marginal_sd[j])) / 2, math.ceil(x[j]))
        sub = "₁₂₃₄"[j] if d > 1 else ""
        x_sliders.append(slider(f"x{j + 1}", x[j], lo, hi, 0.1,
                                f"observation x{sub} (units of x)"))
    ww = sum(v * v for v in w)
    # r = x - b, one signal per coordinate
    residuals = [{"name": f"r{j + 1}", "expr": f"x{j + 1} - ({b[j]!r})"} for j in range(d)]
    half_d_log = f"{d} / 2 * (log(2 * PI) + log({var!r}))"
    params: list[dict[str, Any]] = [
        slider("mu", float(mu_q), *MU_RANGE, 0.05, "mean of q, μ (units of z)"),
        slider("s", float(sigma_q), *SIGMA_RANGE, 0.01, "standard deviation of q, σ (units of z)"),
        *x_sliders,
        *residuals,
        # w^T (x - b)
        {"name": "wr", "expr": " + ".join(f"({w[j]!r}) * r{j + 1}" for j in range(d))},
        # ||x - b||^2
        {"name": "rr", "expr": " + ".join(f"r{j + 1} * r{j + 1}" for j in range(d))},
        # 1/S = 1 + ||w||^2 / sigma_x^2, the posterior precision
        {"name": "prec", "expr": f"1 + {ww!r} / {var!r}"},
        {"name": "post_var", "expr": "1 / prec"},
        {"name": "post_sd", "expr": "sqrt(post_var)"},
        # m = S w^T (x - b) / sigma_x^2
        {"name": "post_mean", "expr": f"post_var * wr / {var!r}"},
        # log p(x) = -D/2 log(2 pi sigma_x^2) + 1/2 log S
        #            - (||x - b||^2 - (w^T (x - b))^2 / (sigma_x^2 + ||w||^2)) / (2 sigma_x^2)
        {"name": "log_ev",
         "expr": f"-{half_d_log} + 0.5 * log(post_var) "
                 f"- 0.5 * (rr - wr * wr / ({var!r} + {ww!r})) / {var!r}"},
        # ||x - w mu - b||^2
        {"name": "resid2", "expr": " + ".join(
            f"(r{j + 1} - ({w[j]!r}) * mu) * (r{j + 1} - ({w[j]!r}) * mu)" for j in range(d))},
        # E_q[log p(x | z)] = -D/2 log(2 pi sigma_x^2)
        #                     - (||x - w mu - b||^2 + s^2 ||w||^2) / (2 sigma_x^2)
        {"name": "recon",
         "expr": f"-{half_d_log} - 0.5 * (resid2 + s * s * {ww!r}) / {var!r}"},
        # KL(q || p(z)) = (mu^2 + s^2 - 1 - log s^2) / 2
        {"name": "kl_prior", "expr": "0.5 * (mu * mu + s * s - 1 - 2 * log(s))"},
        # ELBO = E_q[log p(x | z)] - KL(q || p(z))
        {"name": "elbo", "expr": "recon - kl_prior"},
        # KL(q || p(z | x)) = ((s^2 + (m - mu)^2) / S - 1 + log S - log s^2) / 2
        {"name": "kl", "expr": "0.5 * (prec * (s * s + (post_mean - mu) * (post_mean - mu)) "
                               "- 1 - log(prec) - 2 * log(s))"},
        # the identity's right-hand side, printed beside log p(x)
        {"name": "total", "expr": "elbo + kl"},
        # the grid follows both densities: at least [-4, 4], mean +- 4 sd of each
        {"name": "lo", "expr": f"min({MU_RANGE[0]!r}, post_mean - 4 * post_sd, mu - 4 * s)"},
        {"name": "hi", "expr": f"max({MU_RANGE[1]!r}, post_mean + 4 * post_sd, mu + 4 * s)"},
    ]
    f4 = "format({}, '.4f')".format
    # five short lines, so that the numbers stay legible when the chart is scaled to a phone
    readout = (
        f"['log p(x) = ' + {f4('log_ev')} + ' nats (exact)', "
        f"'ELBO = ' + {f4('elbo')} + ' nats', "
        f"'gap KL(q ‖ p(z | x)) = ' + {f4('kl')} + ' nats', "
        f"'ELBO + KL = ' + {f4('total')} + ' nats = log p(x)', "
        f"'posterior: mean ' + {f4('post_mean')} + ', sd ' + {f4('post_sd')}]"
    )
    names = ["posterior p(z | x)", "q(z)"]
    densities = {
        "width": WIDTH, "height": 200, "title": "q against the exact posterior",
        "transform": [
            {"fold": ["post", "q"], "as": ["series", "value"]},
            rename_series(["post", "q"], names),
        ],
        "mark": {"type": "line", "strokeWidth": 2, "clip": True},
        "encoding": {
            "x": {"field": "z", "type": "quantitative", "title": "z (units of z)",
                  "scale": {"zero": False, "nice": False}},
            "y": {"field": "value", "type": "quantitative", "title": "density (1 / z units)"},
            "color": {"field": "series", "type": "nominal", "title": None,
                      "scale": {"domain": names, "range": [P_COLOR, Q_COLOR]}},
            # the posterior dashed, q solid: the two stay apart without colour
            "strokeDash": {"field": "series", "type": "nominal", "title": None,
                           "scale": {"domain": names, "range": [[6, 3], [1, 0]]}}},
    }
    nats = {"type": "quantitative", "title": "nats", "axis": {"tickCount": 6},
            "scale": {"zero": False, "nice": False,
                      "domain": {"expr": "[elbo - 0.15 * kl - 0.3, log_ev + 0.15 * kl + 0.3]"}}}
    number_line = {
        "width": WIDTH, "height": 60,
        "title": ["log p(x) = ELBO + gap:", "the gap is KL(q ‖ p(z | x))"],
        "data": {"values": [{}]},
        "layer": [
            {"mark": {"type": "bar", "height": 18, "color": GAP_COLOR},
             "encoding": {"x": {"datum": {"expr": "elbo"}, **nats},
                          "x2": {"datum": {"expr": "log_ev"}}}},
            {"mark": {"type": "rule", "strokeWidth": 3, "color": "black"},
             "encoding": {"x": {"datum": {"expr": "log_ev"}, **nats}}},
            {"mark": {"type": "rule", "strokeWidth": 3, "color": Q_COLOR},
             "encoding": {"x": {"datum": {"expr": "elbo"}, **nats}}},
            {"mark": {"type": "text", "text": "log p(x)", "align": "left", "dx": 4, "dy": -20,
                      "fontSize": 13},
             "encoding": {"x": {"datum": {"expr": "log_ev"}, **nats}}},
            {"mark": {"type": "text", "text": "ELBO", "align": "right", "dx": -4, "dy": -20,
                      "fontSize": 13, "color": Q_COLOR},
             "encoding": {"x": {"datum": {"expr": "elbo"}, **nats}}},
        ],
    }
    spec = {
        "$schema": SCHEMA,
        "description": "A Gaussian q against the exact posterior of a one-dimensional-latent "
                       "linear-Gaussian model: the exact log p(x), the ELBO, the gap "
                       "KL(q || p(z|x)) and their sum, in nats, computed as the sliders move.",
        "params": params,
        # the grid of the densities (the other panels bring their own one-row data)
        "data": {"sequence": {"start": 0, "stop": N_GRID, "step": 1, "as": "i"}},
        "transform": [
            {"calculate": f"lo + (hi - lo) * datum.i / {N_GRID - 1}", "as": "z"},
            {"calculate": log_normal_expr("datum.z", "post_mean", "post_sd"), "as": "log_post"},
            {"calculate": log_normal_expr("datum.z", "mu", "s"), "as": "log_q"},
            {"calculate": "exp(datum.log_post)", "as": "post"},
            {"calculate": "exp(datum.log_q)", "as": "q"},
        ],
        "vconcat": [
            {"width": WIDTH, "height": 110, "data": {"values": [{}]},
             "mark": {"type": "text", "fontSize": 17, "fontWeight": "bold", "align": "left",
                      "baseline": "top", "x": 0, "y": 0, "lineHeight": 22, "name": "readout"},
             "encoding": {"text": {"value": {"expr": readout}}}},
            densities,
            number_line,
        ],
        # the legend above the densities, not above the whole chart
        "resolve": {"scale": {"x": "independent", "color": "independent",
                              "strokeDash": "independent"},
                    "legend": {"color": "independent", "strokeDash": "independent"}},
        "config": CONFIG,
    }
    log_ev, elbo, kl = _package_numbers(model, x, mu_q, sigma_q)
    coords = ", ".join(f"{v:g}" for v in x)
    summary = (f"ELBO explorer: x = ({coords}), q = N({mu_q:g}, {sigma_q:g}^2): "
               f"log p(x) = {log_ev:.4f} nats = ELBO {elbo:.4f} + KL(q || p(z|x)) {kl:.4f} "
               "(interactive in the HTML book and in JupyterLab)")
    return Explorer("elbo", spec, summary)


def _posterior(w: list[float], b: list[float], var: float, x: list[float]) -> tuple[float, float]:
    """Posterior mean and variance of the 1-D latent, for the default mean of q."""
    post_var = 1.0 / (1.0 + sum(v * v for v in w) / var)
    return post_var * sum(wj * (xj - bj) for wj, xj, bj in zip(w, x, b, strict=True)) / var, \
        post_var


def _package_numbers(model: LinearGaussian, x: list[float], mu: float,
                     sigma: float) -> tuple[float, float, float]:
    """log p(x), the ELBO and KL(q || p(z|x)) from :class:`~vae_tutorial.models.LinearGaussian`."""
    dtype = model.weight.dtype
    xt = torch.tensor([x], dtype=dtype)
    mu_t = torch.tensor([[mu]], dtype=dtype)
    lv_t = torch.tensor([[2 * math.log(sigma)]], dtype=dtype)
    with torch.no_grad():
        return (float(model.log_evidence(xt)),
                float(model.elbo(xt, mu_t, lv_t)),
                float(model.kl_to_posterior(xt, mu_t, lv_t)))
