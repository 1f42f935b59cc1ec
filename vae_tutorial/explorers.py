r"""Explorers that compute in the reader's browser: in the static book and in a live kernel.

Each function returns an :class:`Explorer`, a Vega-Lite (version 5) chart whose controls are
Vega-Lite parameters bound to HTML range inputs and whose curves and numbers are Vega
expressions, so moving a control recomputes them in the page with no Python behind it:

* in JupyterLab (and Jupyter Notebook 7) the output's MIME type
  ``application/vnd.vegalite.v5+json`` is drawn by the Vega renderer that ships with JupyterLab,
  with no internet;
* in the rendered book the extension ``book/_ext/vega_explorers.py`` draws the same
  specification with vega, vega-lite and vega-embed served from the site (taken from npm at
  build time).

A formula written again here as a Vega expression (a Gaussian log density, the closed-form KL)
is checked against the package in a browser test (``tests/test_explorers.py``): each control is
set to several values and every printed number is compared with :mod:`vae_tutorial.losses`.

This module imports neither ipywidgets nor IPython: an :class:`Explorer` is displayed through
its ``_repr_mimebundle_``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from vae_tutorial._checks import check_real
from vae_tutorial.plotting import OKABE_ITO

__all__ = ["MIME_TYPE", "Explorer", "bayes_grid_explorer", "kl_explorer"]

#: The MIME type of an explorer's output (Vega-Lite 5, drawn natively by JupyterLab 4).
MIME_TYPE = "application/vnd.vegalite.v5+json"
#: Colours and dashes of q and p, as in :func:`vae_tutorial.plotting.plot_two_gaussians`.
Q_COLOR, P_COLOR = OKABE_ITO[5], OKABE_ITO[4]
#: Width of each panel in pixels (the page scales the drawing down on a narrow screen).
WIDTH = 520


class Explorer:
    """A Vega-Lite specification with the MIME bundle that Jupyter and the book draw.

    Attributes:
        name: A short identifier (``"kl"``), written into the page as ``data-explorer``.
        spec: The Vega-Lite specification (a JSON-serializable dict).
        summary: One line of plain text, shown where the chart cannot be drawn (the PDF).
    """

    def __init__(self, name: str, spec: dict[str, Any], summary: str) -> None:
        self.name, self.spec, self.summary = name, spec, summary

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:  # noqa: ANN001
        spec = dict(self.spec, usermeta={"explorer": self.name})
        return {MIME_TYPE: spec, "text/plain": self.summary}

    def to_json(self) -> str:
        """The specification as JSON text."""
        return json.dumps(self.spec, sort_keys=True)

    def __repr__(self) -> str:
        return self.summary


def _range(name: str, value: float, lo: float, hi: float, step: float, label: str) -> dict:
    return {"name": name, "value": value,
            "bind": {"input": "range", "min": lo, "max": hi, "step": step, "name": label}}


def _log_normal(z: str, mu: str, sigma: str) -> str:
    # log N(z; mu, sigma^2) = -log sigma - log(2 pi) / 2 - ((z - mu) / sigma)^2 / 2
    return (f"-log({sigma}) - 0.5 * log(2 * PI) "
            f"- 0.5 * (({z} - {mu}) / {sigma}) * (({z} - {mu}) / {sigma})")


def _kl_normal(m1: str, s1: str, m2: str, s2: str) -> str:
    # KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2 / s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2,
    # as vae_tutorial.losses.kl_normal_normal
    return (f"log({s2} / {s1}) + ({s1} * {s1} + ({m1} - {m2}) * ({m1} - {m2})) "
            f"/ (2 * {s2} * {s2}) - 0.5")


def kl_explorer(
    mu_q: float = 0.0, sigma_q: float = 1.0, mu_p: float = 1.0, sigma_p: float = 0.5
) -> Explorer:
    r"""Two 1-D Gaussians q and p: both densities, both integrands and both KLs, computed live.

    Four sliders set the means and standard deviations of
    :math:`q = \mathcal{N}(\mu_q, \sigma_q^2)` and :math:`p = \mathcal{N}(\mu_p, \sigma_p^2)`.
    The top panel draws both densities; the bottom one the integrands
    :math:`q \log(q/p)` and :math:`p \log(p/q)`, whose areas are the two KLs, printed above:

    .. math::
        \mathrm{KL}(q \,\|\, p) = \log\frac{\sigma_p}{\sigma_q}
        + \frac{\sigma_q^2 + (\mu_q - \mu_p)^2}{2 \sigma_p^2} - \frac{1}{2},

    the closed form of :func:`vae_tutorial.losses.kl_normal_normal`, evaluated in the page.
    Means move in [-3, 3] in steps of 0.1, standard deviations in [0.2, 3] in steps of 0.05.

    Args:
        mu_q, sigma_q, mu_p, sigma_p: Initial slider values (``sigma_*`` > 0).

    Returns:
        An :class:`Explorer`; display it as the last expression of a cell.

    Raises:
        TypeError: A value is not a real number.
        ValueError: A value is not finite, or a standard deviation is not positive.

    Introduced in the chapter "KL divergence".
    """
    for name, value in (("mu_q", mu_q), ("sigma_q", sigma_q), ("mu_p", mu_p),
                        ("sigma_p", sigma_p)):
        check_real(name, value)
        if name.startswith("sigma") and not value > 0:
            raise ValueError(f"{name} must be > 0; got {value}")
    kl_qp = _kl_normal("mu_q", "sigma_q", "mu_p", "sigma_p")
    kl_pq = _kl_normal("mu_p", "sigma_p", "mu_q", "sigma_q")
    readout = ("'KL(q ‖ p) = ' + format(kl_qp, '.4f') + ' nats  ·  KL(p ‖ q) = ' "
               "+ format(kl_pq, '.4f') + ' nats'")
    x = {"field": "z", "type": "quantitative", "title": "z (units of z)",
         "scale": {"zero": False, "nice": False}}

    def panel(fields: list[str], names: list[str], y_title: str, title: str) -> dict:
        return {
            "width": WIDTH, "height": 170, "title": title,
            "transform": [{"fold": fields, "as": ["series", "value"]},
                          {"calculate": " + ".join(
                              f"(datum.series === '{f}' ? '{n}' : '')"
                              for f, n in zip(fields, names, strict=True)), "as": "series"}],
            "mark": {"type": "line", "strokeWidth": 2, "clip": True},
            "encoding": {"x": x, "y": {"field": "value", "type": "quantitative",
                                       "title": y_title},
                         "color": {"field": "series", "type": "nominal", "title": None,
                                   "scale": {"domain": names, "range": [Q_COLOR, P_COLOR]}},
                         # q solid, p dashed: the two stay apart without colour
                         "strokeDash": {"field": "series", "type": "nominal", "title": None,
                                        "scale": {"domain": names,
                                                  "range": [[1, 0], [6, 3]]}}},
        }

    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": "Two Gaussians q and p, their densities, the integrands of KL(q || p) "
                       "and KL(p || q), and both KL divergences in nats, computed as the "
                       "sliders move.",
        "params": [
            _range("mu_q", float(mu_q), -3.0, 3.0, 0.1, "mean of q, μ_q (units of z) "),
            _range("sigma_q", float(sigma_q), 0.2, 3.0, 0.05,
                   "standard deviation of q, σ_q (units of z) "),
            _range("mu_p", float(mu_p), -3.0, 3.0, 0.1, "mean of p, μ_p (units of z) "),
            _range("sigma_p", float(sigma_p), 0.2, 3.0, 0.05,
                   "standard deviation of p, σ_p (units of z) "),
            {"name": "kl_qp", "expr": kl_qp},
            {"name": "kl_pq", "expr": kl_pq},
            # the grid follows the two densities, as plot_two_gaussians: mean +- 4 sd of each
            {"name": "lo", "expr": "min(mu_q - 4 * sigma_q, mu_p - 4 * sigma_p)"},
            {"name": "hi", "expr": "max(mu_q + 4 * sigma_q, mu_p + 4 * sigma_p)"},
        ],
        "data": {"sequence": {"start": 0, "stop": 601, "step": 1, "as": "i"}},
        "transform": [
            {"calculate": "lo + (hi - lo) * datum.i / 600", "as": "z"},
            {"calculate": _log_normal("datum.z", "mu_q", "sigma_q"), "as": "log_q"},
            {"calculate": _log_normal("datum.z", "mu_p", "sigma_p"), "as": "log_p"},
            {"calculate": "exp(datum.log_q)", "as": "q"},
            {"calculate": "exp(datum.log_p)", "as": "p"},
            {"calculate": "datum.q * (datum.log_q - datum.log_p)", "as": "int_qp"},
            {"calculate": "datum.p * (datum.log_p - datum.log_q)", "as": "int_pq"},
        ],
        "vconcat": [
            {"width": WIDTH, "height": 20, "data": {"values": [{}]}, "transform": [],
             "mark": {"type": "text", "text": {"expr": readout}, "fontSize": 16,
                      "fontWeight": "bold", "align": "left", "x": 0, "y": 10,
                      "name": "readout"}},
            panel(["q", "p"], ["q(z)", "p(z)"], "density (1 / z units)", "The two densities"),
            panel(["int_qp", "int_pq"], ["q log(q/p): area = KL(q ‖ p)",
                                         "p log(p/q): area = KL(p ‖ q)"],
                  "integrand (nats per z unit)",
                  "The integrands can be negative, their areas cannot"),
        ],
        # each panel its own legend (q solid, p dashed), above it
        "resolve": {"scale": {"color": "independent", "strokeDash": "independent"},
                    "legend": {"color": "independent", "strokeDash": "independent"}},
        "config": {"legend": {"orient": "top", "labelLimit": 400, "labelFontSize": 13,
                              "symbolStrokeWidth": 2, "symbolSize": 300},
                   "axis": {"labelFontSize": 12, "titleFontSize": 13},
                   "title": {"fontSize": 14}, "view": {"stroke": None}},
    }
    summary = (f"KL explorer: q = N({mu_q:g}, {sigma_q:g}^2), p = N({mu_p:g}, {sigma_p:g}^2), "
               f"KL(q || p) = {_kl(mu_q, sigma_q, mu_p, sigma_p):.4f} nats, "
               f"KL(p || q) = {_kl(mu_p, sigma_p, mu_q, sigma_q):.4f} nats "
               "(interactive in the HTML book and in JupyterLab)")
    return Explorer("kl", spec, summary)


def _kl(m1: float, s1: float, m2: float, s2: float) -> float:
    import torch  # imported when a summary is written, not with the module

    from vae_tutorial import losses

    t = lambda v: torch.tensor([v], dtype=torch.float64)  # noqa: E731
    return float(losses.kl_normal_normal(t(m1), t(2 * math.log(s1)), t(m2), t(2 * math.log(s2))))


def bayes_grid_explorer(
    x: float = 1.5, noise_std: float = 0.7, weight: float = 1.0, *, n_grid: int = 241,
    lim: float = 6.0,
) -> Explorer:
    r"""Bayes' rule on a grid for the 1-D linear-Gaussian model, computed live in the page.

    The model is :math:`z \sim \mathcal{N}(0, 1)`, :math:`x \mid z \sim \mathcal{N}(wz, \sigma^2)`
    (:class:`vae_tutorial.models.LinearGaussian` with :math:`D = L = 1` and bias 0). Sliders set
    the observation :math:`x`, the noise :math:`\sigma` and the weight :math:`w`. On the
    midpoint grid of :func:`vae_tutorial.inference.make_grid` (``n_grid`` points on
    :math:`[-\text{lim}, \text{lim}]`) the page computes the prior, the likelihood
    :math:`p(x \mid z)`, the evidence by the midpoint rule
    :math:`p(x) \approx \Delta \sum_n p(x \mid z_n) p(z_n)` and the posterior
    :math:`p(z_n \mid x) = p(x \mid z_n) p(z_n) / p(x)`, as
    :func:`vae_tutorial.inference.grid_posterior`; it prints the grid's :math:`\log p(x)`, the
    exact one :math:`\log \mathcal{N}(x; 0, w^2 + \sigma^2)` and the posterior mean and standard
    deviation from the grid and in closed form
    (:meth:`vae_tutorial.models.LinearGaussian.posterior`).

    Args:
        x, noise_std, weight: Initial slider values (``noise_std`` > 0).
        n_grid: Grid points. lim: Half-width of the grid.

    Returns:
        An :class:`Explorer`.

    Introduced in the chapter "Latent variable models and Bayes' rule".
    """
    for name, value in (("x", x), ("noise_std", noise_std), ("weight", weight), ("lim", lim)):
        check_real(name, value)
    if not noise_std > 0:
        raise ValueError(f"noise_std must be > 0; got {noise_std}")
    step = 2.0 * lim / n_grid
    log_prior = _log_normal("datum.z", "0", "1")
    log_lik = _log_normal("x", "w * datum.z", "s")
    readout = ("['log p(x): grid ' + format(datum.log_ev_grid, '.6f') + ',  exact ' "
               "+ format(log_ev_exact, '.6f') + ' nats', 'posterior mean: grid ' "
               "+ format(datum.post_mean, '.4f') + ',  exact ' + format(post_mean_exact, '.4f') "
               "+ ';  sd: grid ' + format(datum.post_sd, '.4f') + ',  exact ' "
               "+ format(post_sd_exact, '.4f')]")
    names = ["prior p(z)", "likelihood p(x | z)", "posterior p(z | x)"]
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": "Bayes' rule on a grid: prior, likelihood and posterior of z for the "
                       "observation x, and the evidence log p(x) from the grid and exact.",
        "params": [
            _range("x", float(x), -4.0, 4.0, 0.1, "observation x (units of x) "),
            _range("s", float(noise_std), 0.2, 2.0, 0.05, "noise standard deviation σ "
                   "(units of x) "),
            _range("w", float(weight), -2.0, 2.0, 0.1, "weight w (units of x per unit of z) "),
            # exact: p(x) = N(x; 0, w^2 + s^2); p(z | x) = N(S w x / s^2, S), S = 1/(1 + w^2/s^2)
            {"name": "log_ev_exact", "expr": _log_normal("x", "0", "sqrt(w * w + s * s)")},
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
            {"width": WIDTH, "height": 40,
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
                           {"calculate": " + ".join(
                               f"(datum.series === '{f}' ? '{n}' : '')" for f, n in
                               zip(["prior", "likelihood", "posterior"], names, strict=True)),
                            "as": "series"}],
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
        "config": {"legend": {"orient": "top", "labelLimit": 400, "labelFontSize": 13,
                              "symbolStrokeWidth": 2, "symbolSize": 300},
                   "axis": {"labelFontSize": 12, "titleFontSize": 13},
                   "title": {"fontSize": 14}, "view": {"stroke": None}},
    }
    summary = (f"Bayes-rule explorer: x = {x:g}, noise sd = {noise_std:g}, weight = {weight:g} "
               "(interactive in the HTML book and in JupyterLab)")
    return Explorer("bayes", spec, summary)
