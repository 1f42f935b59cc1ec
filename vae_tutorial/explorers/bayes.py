r"""Chapter 1's explorer: Bayes' rule on a grid for the 1-D linear-Gaussian model.

Introduced in the chapter "Latent variable models and Bayes' rule".
"""

from __future__ import annotations

from vae_tutorial._checks import check_real
from vae_tutorial.explorers.spec import (
    CONFIG,
    SCHEMA,
    WIDTH,
    Explorer,
    log_normal_expr,
    rename_series,
    slider,
)
from vae_tutorial.plotting import OKABE_ITO

__all__ = ["bayes_grid_explorer"]


def bayes_grid_explorer(
    x: float = 1.5, noise_std: float = 0.7, weight: float = 1.0, *, n_grid: int = 241,
    lim: float = 6.0,
) -> Explorer:
    r"""Bayes' rule on a grid for the 1-D linear-Gaussian model, computed live in the page.

    The model is :math:`z \sim \mathcal{N}(0, 1)`, :math:`x \mid z \sim \mathcal{N}(wz, \sigma_x^2)`
    (:class:`vae_tutorial.models.LinearGaussian` with :math:`D = L = 1` and bias 0). Sliders set
    the observation :math:`x`, the noise :math:`\sigma_x` and the weight :math:`w`. On the
    midpoint grid of :func:`vae_tutorial.quadrature.make_grid` (``n_grid`` points on
    :math:`[-\text{lim}, \text{lim}]`) the page computes the prior, the likelihood
    :math:`p(x \mid z)`, the evidence by the midpoint rule
    :math:`p(x) \approx \Delta \sum_n p(x \mid z_n) p(z_n)` and the posterior
    :math:`p(z_n \mid x) = p(x \mid z_n) p(z_n) / p(x)`, as
    :func:`vae_tutorial.quadrature.grid_posterior`; it prints the grid's :math:`\log p(x)`, the
    exact one :math:`\log \mathcal{N}(x; 0, w^2 + \sigma_x^2)` and the posterior mean and standard
    deviation from the grid and in closed form
    (:meth:`vae_tutorial.models.LinearGaussian.posterior`).

    Args:
        x, noise_std, weight: Initial slider values (``noise_std`` > 0).
        n_grid: Grid points. lim: Half-width of the grid.

    Returns:
        An :class:`~vae_tutorial.explorers.spec.Explorer`.

    Introduced in the chapter "Latent variable models and Bayes' rule".
    """
    for name, value in (("x", x), ("noise_std", noise_std), ("weight", weight), ("lim", lim)):
        check_real(name, value)
    if not noise_std > 0:
        raise ValueError(f"noise_std must be > 0; got {noise_std}")
    step = 2.0 * lim / n_grid
    log_prior = log_normal_expr("datum.z", "0", "1")
    log_lik = log_normal_expr("x", "w * datum.z", "s")
    # four short lines, each within a phone's column (about 330 px) at 15 px
    readout = ("['log p(x), grid: ' + format(datum.log_ev_grid, '.6f') + ' nats', "
               "'log p(x), exact: ' + format(log_ev_exact, '.6f') + ' nats', "
               "'posterior mean: grid ' + format(datum.post_mean, '.4f') + ', exact ' "
               "+ format(post_mean_exact, '.4f'), "
               "'posterior sd: grid ' + format(datum.post_sd, '.4f') + ', exact ' "
               "+ format(post_sd_exact, '.4f')]")
    names = ["prior p(z)", "likelihood p(x | z)", "posterior p(z | x)"]
    spec = {
        "$schema": SCHEMA,
        "description": "Bayes' rule on a grid: prior, likelihood and posterior of z for the "
                       "observation x, and the evidence log p(x) from the grid and exact.",
        "params": [
            slider("x", float(x), -4.0, 4.0, 0.1, "observation x (units of x)"),
            slider("s", float(noise_std), 0.2, 2.0, 0.05,
                   "noise standard deviation σₓ (units of x)"),
            slider("w", float(weight), -2.0, 2.0, 0.1, "weight w (units of x per unit of z)"),
            # exact: p(x) = N(x; 0, w^2 + s^2); p(z | x) = N(S w x / s^2, S), S = 1/(1 + w^2/s^2)
            {"name": "log_ev_exact", "expr": log_normal_expr("x", "0", "sqrt(w * w + s * s)")},
            {"name": "post_var_exact", "expr": "1 / (1 + w * w / (s * s))"},
            {"name": "post_mean_exact", "expr": "post_var_exact * w * x / (s * s)"},
            {"name": "post_sd_exact", "expr": "sqrt(post_var_exact)"},
        ],
        "data": {"sequence": {"start": 0, "stop": n_grid, "step": 1, "as": "i"}},
        "transform": [
            {"calculate": f"-{lim!r} + {step!r} * (datum.i + 0.5)", "as": "z"},
            {"calculate": log_prior, "as": "log_prior"},
            {"calculate": log_lik, "as": "log_lik"},
            {"calculate": "exp(datum.log_prior + datum.log_lik)", "as": "joint"},
            {"joinaggregate": [{"op": "sum", "field": "joint", "as": "joint_sum"}]},
            {"calculate": f"log({step!r}) + log(datum.joint_sum)", "as": "log_ev_grid"},
            {"calculate": "datum.joint / exp(datum.log_ev_grid)", "as": "posterior"},
            {"calculate": "exp(datum.log_prior)", "as": "prior"},
            {"calculate": "exp(datum.log_lik)", "as": "likelihood"},
        ],
        "vconcat": [
            {"width": WIDTH, "height": 80,
             "transform": [
                 {"calculate": f"{step!r} * datum.posterior * datum.z", "as": "m1"},
                 {"calculate": f"{step!r} * datum.posterior * datum.z * datum.z", "as": "m2"},
                 {"aggregate": [{"op": "sum", "field": "m1", "as": "post_mean"},
                                {"op": "sum", "field": "m2", "as": "m2"},
                                {"op": "max", "field": "log_ev_grid", "as": "log_ev_grid"}]},
                 {"calculate": "sqrt(datum.m2 - datum.post_mean * datum.post_mean)",
                  "as": "post_sd"}],
             "mark": {"type": "text", "fontSize": 15, "fontWeight": "bold", "align": "left",
                      "baseline": "top", "x": 0, "y": 0, "lineHeight": 20},
             "encoding": {"text": {"value": {"expr": readout}}}},
            {"width": WIDTH, "height": 220,
             "title": "Posterior = prior × likelihood / evidence",
             "transform": [{"fold": ["prior", "likelihood", "posterior"],
                            "as": ["series", "value"]},
                           rename_series(["prior", "likelihood", "posterior"], names)],
             "mark": {"type": "line", "strokeWidth": 2, "clip": True},
             "encoding": {
                 "x": {"field": "z", "type": "quantitative", "title": "z (units of z)",
                       "scale": {"domain": [-lim, lim], "nice": False}},
                 "y": {"field": "value", "type": "quantitative",
                       "title": "density of z, or p(x | z) (1 / units of x)"},
                 "color": {"field": "series", "type": "nominal", "title": None,
                           "scale": {"domain": names,
                                     "range": [OKABE_ITO[7], OKABE_ITO[4], OKABE_ITO[5]]}},
                 "strokeDash": {"field": "series", "type": "nominal", "title": None,
                                "scale": {"domain": names,
                                          "range": [[2, 2], [6, 3], [1, 0]]}}}},
        ],
        "config": CONFIG,
    }
    summary = (f"Bayes-rule explorer: x = {x:g}, noise sd = {noise_std:g}, weight = {weight:g} "
               "(interactive in the HTML book and in JupyterLab)")
    return Explorer("bayes", spec, summary)
