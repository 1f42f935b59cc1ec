r"""Chapter 5's explorer: the variance of the score-function and pathwise gradient estimators.

Introduced in the chapter "The reparameterization trick".
"""

from __future__ import annotations

import math

from vae_tutorial._checks import check_positive_int, check_real
from vae_tutorial.explorers.spec import (
    CONFIG,
    SCHEMA,
    WIDTH,
    Explorer,
    rename_series,
    slider,
)
from vae_tutorial.plotting import OKABE_ITO

__all__ = ["gradient_variance_explorer"]

#: The sliders' ranges: (lo, hi, step) of μ, σ, K, L and the baseline fraction.
RANGES = {"mu": (-3.0, 3.0, 0.1), "sigma": (0.1, 3.0, 0.05), "n_samples": (1, 100, 1),
          "latent_dim": (1, 256, 1), "baseline_fraction": (0.0, 1.0, 0.05)}
#: The printed numbers' format (d3: six significant digits, trailing zeros dropped, grouped).
NUMBER_FORMAT = ",.6~r"
SCORE_COLOR, PATH_COLOR = OKABE_ITO[5], OKABE_ITO[4]
SERIES = ["score function", "pathwise"]
#: Log-axis labels: 0.1, 1, 10, 100, 1000, then 1e+4, 1e+5, ...
DECADE_LABEL = ("datum.value >= 1e4 || datum.value < 0.01 ? format(datum.value, '.0e') "
                ": format(datum.value, '~g')")


def _variance_exprs(dim: str, k: str) -> tuple[str, str]:
    r"""Vega expressions of the total variance (summed over the L coordinates) of the
    score-function and the pathwise estimates of :math:`\nabla_\mu \mathbb{E}_q[\sum_i z_i^2]`
    for :math:`\mu_i = \mu`, :math:`\sigma_i = \sigma` in every coordinate, ``dim`` = L
    coordinates, ``k`` = K samples and the baseline ``b = beta E_q[f]``, as
    :func:`vae_tutorial.sampling.sum_of_squares_gradient_variance` summed over the last dim.
    The signals ``mu``, ``sigma`` and ``beta`` are the sliders'."""
    # m = E_q[f] = L (mu^2 + s^2);  v = Var_q[f] = L (4 mu^2 s^2 + 2 s^4);  b = beta m
    m = f"(({dim}) * (mu * mu + sigma * sigma))"
    v = (f"(({dim}) * (4 * mu * mu * sigma * sigma "
         "+ 2 * sigma * sigma * sigma * sigma))")
    # shifted = m - b + 2 s^2
    shifted = f"((1 - beta) * {m} + 2 * sigma * sigma)"
    # per coordinate: ((m - b + 2 s^2)^2 + v + 4 mu^2 s^2 + 4 s^4) / (K s^2); times L
    score = (f"({dim}) * ({shifted} * {shifted} + {v} + 4 * mu * mu * sigma * sigma "
             f"+ 4 * sigma * sigma * sigma * sigma) / (({k}) * sigma * sigma)")
    # per coordinate: Var[2 z_j] / K = 4 s^2 / K; times L
    pathwise = f"({dim}) * 4 * sigma * sigma / ({k})"
    return score, pathwise


def _panel(x_field: str, x_title: str, lo: int, hi: int, current: str,
           title: str | list[str]) -> dict:
    """Both variances against ``x_field`` (a log-log panel), a point at the slider's value."""
    score, pathwise = _variance_exprs(*(("datum.n", "k") if x_field == "L" else ("dim",
                                                                                "datum.n")))
    colour = {"field": "series", "type": "nominal", "title": None,
              "scale": {"domain": SERIES, "range": [SCORE_COLOR, PATH_COLOR]},
              "legend": {"symbolType": "stroke", "symbolSize": 500}}
    return {
        "width": WIDTH, "height": 190, "title": title,
        "data": {"sequence": {"start": lo, "stop": hi + 1, "step": 1, "as": "n"}},
        "transform": [
            {"calculate": "datum.n", "as": x_field},
            {"calculate": score, "as": "score"},
            {"calculate": pathwise, "as": "pathwise"},
            {"fold": ["score", "pathwise"], "as": ["series", "variance"]},
            rename_series(["score", "pathwise"], SERIES),
        ],
        "encoding": {
            "x": {"field": x_field, "type": "quantitative", "title": x_title,
                  "scale": {"type": "log", "domain": [lo, hi], "nice": False},
                  "axis": {"values": [v for v in (1, 2, 4, 8, 16, 32, 64, 128, 256)
                                      if v <= hi] if hi > 100 else [1, 2, 5, 10, 20, 50, 100],
                           "grid": False}},
            "y": {"field": "variance", "type": "quantitative",
                  "title": "variance, sum over L (z²)",
                  "scale": {"type": "log"},
                  # one label per power of ten, 1e+6 rather than 1000000
                  "axis": {"tickCount": 6, "labelExpr": DECADE_LABEL}},
            "color": colour,
            "strokeDash": {"field": "series", "type": "nominal", "title": None,
                           "scale": {"domain": SERIES, "range": [[1, 0], [6, 3]]}},
        },
        "layer": [
            {"mark": {"type": "line", "strokeWidth": 2, "clip": True}},
            # the sliders' value: a point on each curve (no legend of its own)
            {"transform": [{"filter": f"datum.n == {current}"}],
             "mark": {"type": "point", "filled": True, "size": 90, "opacity": 1},
             "encoding": {"strokeDash": {"value": [1, 0]}}},
        ],
    }


def gradient_variance_explorer(
    mu: float = 1.0, sigma: float = 1.0, n_samples: int = 1, latent_dim: int = 16,
    baseline_fraction: float = 0.0,
) -> Explorer:
    r"""The variance of both gradient estimators against K and L, computed live in the page.

    For :math:`f(z) = \sum_{i=1}^L z_i^2` and
    :math:`q = \mathcal{N}(\mu \mathbf{1}, \sigma^2 I_L)` (the same :math:`\mu` and
    :math:`\sigma` in every coordinate) the page evaluates the exact variance of one estimate of
    :math:`\nabla_\mu \mathbb{E}_q[f]` from :math:`K` samples, summed over the :math:`L`
    coordinates, for the score-function estimator (with a constant baseline
    :math:`b = \beta\, \mathbb{E}_q[f]`) and the pathwise one: the closed form of
    :func:`vae_tutorial.sampling.sum_of_squares_gradient_variance`, written again as a Vega
    expression,

    .. math::
        \operatorname{Var}_{\text{path}} = \frac{4 L \sigma^2}{K}, \qquad
        \operatorname{Var}_{\text{score}} = \frac{L\,\big[(m - b + 2\sigma^2)^2 + v
        + 4\mu^2\sigma^2 + 4\sigma^4\big]}{K \sigma^2},

    with :math:`m = L(\mu^2 + \sigma^2)` and :math:`v = L(4\mu^2\sigma^2 + 2\sigma^4)`. Five
    sliders set :math:`\mu` in [-3, 3], :math:`\sigma` in [0.1, 3], K in [1, 100], L in
    [1, 256] and :math:`\beta` in [0, 1]. Printed: both variances and their ratio, the exact
    gradient :math:`2\mu` per coordinate, :math:`\mathbb{E}_q[f]` and :math:`b`. Drawn: both
    variances against K (at the slider's L) and against L (at the slider's K), on log-log
    axes, with a point at the sliders' values.

    Args:
        mu, sigma: Initial mean and standard deviation of :math:`q` in every coordinate
            (units of z).
        n_samples: Initial K, samples per estimate.
        latent_dim: Initial L, the dimension of z.
        baseline_fraction: Initial :math:`\beta`, the score function's baseline as a fraction
            of :math:`\mathbb{E}_q[f]` (0: no baseline).

    Returns:
        An :class:`~vae_tutorial.explorers.spec.Explorer`; display it as the last expression of
        a cell.

    Raises:
        TypeError: A value is not a real number (``n_samples``, ``latent_dim``: not an int).
        ValueError: A value is outside its slider's range.

    Example:
        >>> from vae_tutorial import explorers
        >>> ex = explorers.gradient_variance_explorer(mu=1.0, sigma=1.0, latent_dim=1)
        >>> print(ex.summary)  # doctest: +ELLIPSIS
        Gradient-variance explorer: ... score function 30, pathwise 4, ratio 7.5 ...

    Introduced in the chapter "The reparameterization trick".
    """
    values = {"mu": mu, "sigma": sigma, "n_samples": n_samples, "latent_dim": latent_dim,
              "baseline_fraction": baseline_fraction}
    for name, value in values.items():
        if name in ("n_samples", "latent_dim"):
            check_positive_int(name, value)
        else:
            check_real(name, value)
        lo, hi, _ = RANGES[name]
        if not lo <= value <= hi:
            raise ValueError(f"{name} must be in [{lo:g}, {hi:g}]; got {value}")
    score, pathwise = _variance_exprs("dim", "k")

    def fmt(signal: str) -> str:
        return f"format({signal}, '{NUMBER_FORMAT}')"

    # six short lines, each within a phone's column (about 330 px) at 16 px
    readout = ("['score function: ' + " + fmt("var_score") + " + ' (z² units)', "
               "'pathwise: ' + " + fmt("var_pathwise") + " + ' (z² units)', "
               "'ratio score / pathwise: ' + " + fmt("ratio") + ", "
               "'exact ∂/∂μᵢ = 2μ = ' + " + fmt("grad") + ", "
               "'E_q[f] = ' + " + fmt("mean_f") + ", 'baseline b = ' + " + fmt("baseline") + "]")
    params = [
        slider("mu", float(mu), *RANGES["mu"], "mean μ of q, every coordinate (units of z)"),
        slider("sigma", float(sigma), *RANGES["sigma"],
               "standard deviation σ of q, every coordinate (units of z)"),
        slider("k", int(n_samples), *RANGES["n_samples"], "samples per estimate, K"),
        slider("dim", int(latent_dim), *RANGES["latent_dim"],
               "latent dimension L (coordinates of z)"),
        slider("beta", float(baseline_fraction), *RANGES["baseline_fraction"],
               "score-function baseline b, as a fraction of E_q[f]"),
        {"name": "var_score", "expr": score},
        {"name": "var_pathwise", "expr": pathwise},
        {"name": "ratio", "expr": "var_score / var_pathwise"},
        # the exact gradient d/dmu_i E_q[f] = 2 mu; E_q[f] = L (mu^2 + s^2); b = beta E_q[f]
        {"name": "grad", "expr": "2 * mu"},
        {"name": "mean_f", "expr": "dim * (mu * mu + sigma * sigma)"},
        {"name": "baseline", "expr": "beta * mean_f"},
    ]
    spec = {
        "$schema": SCHEMA,
        "description": "Exact variance of the score-function and pathwise estimates of the "
                       "gradient of E_q[sum_i z_i^2] with respect to the mean of q, against "
                       "the number of samples K and the dimension L, and their ratio.",
        "params": params,
        "vconcat": [
            {"width": WIDTH, "height": 126, "data": {"values": [{}]},
             "title": {"text": ["Variance of one estimate of ∇_μ E_q[Σᵢ zᵢ²],",
                                "summed over L"], "anchor": "start"},
             "mark": {"type": "text", "text": {"expr": readout}, "fontSize": 16,
                      "fontWeight": "bold", "align": "left", "baseline": "top", "x": 0,
                      "y": 2, "lineHeight": 21, "name": "readout"}},
            _panel("K", "K, samples per estimate", *RANGES["n_samples"][:2], "k",
                   "Against K: both fall as 1/K, the gap stays"),
            _panel("L", "L, latent dimension", *RANGES["latent_dim"][:2], "dim",
                   ["Against L: pathwise grows like L,", "score function like L³ if b = 0"]),
        ],
        "resolve": {"scale": {"color": "independent", "strokeDash": "independent"},
                    "legend": {"color": "independent", "strokeDash": "independent"}},
        "config": CONFIG,
    }
    var_score, var_path = _totals(mu, sigma, n_samples, latent_dim, baseline_fraction)
    summary = (f"Gradient-variance explorer: f(z) = sum_i z_i^2, mu = {mu:g}, sigma = {sigma:g}, "
               f"K = {n_samples}, L = {latent_dim}, baseline = {baseline_fraction:g} E_q[f]; "
               f"variance of the estimate of grad_mu (sum over L): score function "
               f"{var_score:.6g}, pathwise {var_path:.6g}, ratio {var_score / var_path:.6g} "
               "(interactive in the HTML book and in JupyterLab)")
    return Explorer("gradients", spec, summary)


def _totals(mu: float, sigma: float, k: int, dim: int, beta: float) -> tuple[float, float]:
    import torch  # imported when a summary is written, not with the module

    from vae_tutorial import sampling

    m = torch.full((dim,), float(mu), dtype=torch.float64)
    logvar = torch.full((dim,), 2.0 * math.log(sigma), dtype=torch.float64)
    baseline = beta * float((m**2 + logvar.exp()).sum())
    var_score, var_path = sampling.sum_of_squares_gradient_variance(m, logvar, k,
                                                                    baseline=baseline)
    return float(var_score.sum()), float(var_path.sum())
