r"""Chapter 2's explorer: two 1-D Gaussians, both densities, both integrands and both KLs.

Introduced in the chapter "KL divergence".
"""

from __future__ import annotations

import math

from vae_tutorial._checks import check_real
from vae_tutorial.explorers.spec import (
    CONFIG,
    P_COLOR,
    Q_COLOR,
    SCHEMA,
    WIDTH,
    Explorer,
    kl_normal_expr,
    log_normal_expr,
    rename_series,
    slider,
)

__all__ = ["kl_explorer"]


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
        An :class:`~vae_tutorial.explorers.spec.Explorer`; display it as the last expression of
        a cell.

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
    kl_qp = kl_normal_expr("mu_q", "sigma_q", "mu_p", "sigma_p")
    kl_pq = kl_normal_expr("mu_p", "sigma_p", "mu_q", "sigma_q")
    # two lines, each within a phone's column
    readout = ("['KL(q ‖ p) = ' + format(kl_qp, '.4f') + ' nats', "
               "'KL(p ‖ q) = ' + format(kl_pq, '.4f') + ' nats']")
    x = {"field": "z", "type": "quantitative", "title": "z (units of z)",
         "scale": {"zero": False, "nice": False}}

    def panel(fields: list[str], names: list[str], y_title: str,
              title: str | list[str]) -> dict:
        return {
            "width": WIDTH, "height": 170, "title": title,
            "transform": [{"fold": fields, "as": ["series", "value"]},
                          rename_series(fields, names)],
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
        "$schema": SCHEMA,
        "description": "Two Gaussians q and p, their densities, the integrands of KL(q || p) "
                       "and KL(p || q), and both KL divergences in nats, computed as the "
                       "sliders move.",
        "params": [
            slider("mu_q", float(mu_q), -3.0, 3.0, 0.1, "mean of q, μ_q (units of z)"),
            slider("sigma_q", float(sigma_q), 0.2, 3.0, 0.05,
                   "standard deviation of q, σ_q (units of z)"),
            slider("mu_p", float(mu_p), -3.0, 3.0, 0.1, "mean of p, μ_p (units of z)"),
            slider("sigma_p", float(sigma_p), 0.2, 3.0, 0.05,
                   "standard deviation of p, σ_p (units of z)"),
            {"name": "kl_qp", "expr": kl_qp},
            {"name": "kl_pq", "expr": kl_pq},
            # the grid follows the two densities: mean +- 4 sd of each
            {"name": "lo", "expr": "min(mu_q - 4 * sigma_q, mu_p - 4 * sigma_p)"},
            {"name": "hi", "expr": "max(mu_q + 4 * sigma_q, mu_p + 4 * sigma_p)"},
        ],
        "data": {"sequence": {"start": 0, "stop": 601, "step": 1, "as": "i"}},
        "transform": [
            {"calculate": "lo + (hi - lo) * datum.i / 600", "as": "z"},
            {"calculate": log_normal_expr("datum.z", "mu_q", "sigma_q"), "as": "log_q"},
            {"calculate": log_normal_expr("datum.z", "mu_p", "sigma_p"), "as": "log_p"},
            {"calculate": "exp(datum.log_q)", "as": "q"},
            {"calculate": "exp(datum.log_p)", "as": "p"},
            {"calculate": "datum.q * (datum.log_q - datum.log_p)", "as": "int_qp"},
            {"calculate": "datum.p * (datum.log_p - datum.log_q)", "as": "int_pq"},
        ],
        "vconcat": [
            {"width": WIDTH, "height": 42, "data": {"values": [{}]}, "transform": [],
             "mark": {"type": "text", "text": {"expr": readout}, "fontSize": 16,
                      "fontWeight": "bold", "align": "left", "baseline": "top", "x": 0,
                      "y": 0, "lineHeight": 21,
                      "name": "readout"}},
            panel(["q", "p"], ["q(z)", "p(z)"], "density (1 / z units)", "The two densities"),
            panel(["int_qp", "int_pq"], ["q log(q/p): area = KL(q ‖ p)",
                                         "p log(p/q): area = KL(p ‖ q)"],
                  "integrand (nats per z unit)",
                  ["The integrands can be negative,", "their areas cannot"]),
        ],
        # each panel its own legend (q solid, p dashed), above it
        "resolve": {"scale": {"color": "independent", "strokeDash": "independent"},
                    "legend": {"color": "independent", "strokeDash": "independent"}},
        "config": CONFIG,
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


