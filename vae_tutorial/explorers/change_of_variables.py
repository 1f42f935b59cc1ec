r"""Chapter 6's explorer: the map :math:`\varepsilon \mapsto z = \mu + \sigma\varepsilon` and
the density under it.

Introduced in the chapter "The joint-likelihood view".
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
    log_normal_expr,
    slider,
)

__all__ = ["change_of_variables_explorer"]

#: Both density panels and the map draw ε and z on this common range (units of ε and of z).
LIM = 6.0
#: Grid points of the curves on [-LIM, LIM], and of the shaded interval.
N_GRID, N_BAND = 481, 101
#: The sliders' ranges: (low, high, step).
RANGES = {"mu": (-2.0, 2.0, 0.1), "sigma": (0.25, 2.5, 0.05), "a": (-3.0, 3.0, 0.1),
          "width": (0.1, 3.0, 0.1)}
#: The sliders' visible and accessible names.
LABELS = {"mu": "mean μ (units of z)", "sigma": "standard deviation σ (units of z)",
          "a": "interval start a (units of ε)", "width": "interval width (units of ε)"}
_DOT = "#000000"


def change_of_variables_explorer(
    mu: float = 1.0, sigma: float = 0.5, a: float = 0.5, width: float = 0.5
) -> Explorer:
    r"""The map :math:`z = \mu + \sigma\varepsilon` and the density under it, computed live.

    Four sliders set :math:`\mu`, :math:`\sigma`, and an interval :math:`[a, a + w]` of the
    noise :math:`\varepsilon \sim \mathcal{N}(0, 1)`. Three panels, on one common axis range:
    the density of :math:`\varepsilon` with the interval shaded; the map itself, a line of slope
    :math:`\sigma`, carrying the interval onto its image
    :math:`[\mu + \sigma a, \mu + \sigma (a + w)]`; and the density of :math:`z` with the image
    shaded, by the change of variables (chapter 6, eq. 6.1)

    .. math::
        q(z) = \mathcal{N}(z; \mu, \sigma^2) = \frac{\mathcal{N}(\varepsilon; 0, 1)}{\sigma},
        \qquad \varepsilon = \frac{z - \mu}{\sigma}.

    The page prints the probability of the interval on both sides,
    :math:`\Phi(a + w) - \Phi(a)` and :math:`\Phi_{\mu,\sigma}(\mu + \sigma(a + w))
    - \Phi_{\mu,\sigma}(\mu + \sigma a)` (Vega's ``cumulativeNormal``, as
    ``torch.distributions.Normal(...).cdf``), the log-determinant of the Jacobian
    :math:`\log\sigma` (:func:`vae_tutorial.joint.log_det_jacobian`) and, at the interval's left
    end (the dot), :math:`\log q(z)` computed directly
    (:func:`vae_tutorial.losses.log_normal_diag`) and as
    :math:`\log \mathcal{N}(\varepsilon; 0, 1) - \log\sigma`
    (:func:`vae_tutorial.losses.log_standard_normal` minus the log-determinant).
    :math:`\mu` moves in [-2, 2] in steps of 0.1, :math:`\sigma` in [0.25, 2.5] in steps of
    0.05, :math:`a` in [-3, 3] in steps of 0.1 and the width in [0.1, 3] in steps of 0.1.

    Args:
        mu: Initial mean :math:`\mu` (units of z).
        sigma: Initial standard deviation :math:`\sigma` > 0 (units of z per unit of ε).
        a: Initial start of the interval of :math:`\varepsilon`.
        width: Initial width of the interval (> 0).

    Returns:
        An :class:`~vae_tutorial.explorers.spec.Explorer`; display it as the last expression of
        a cell.

    Raises:
        TypeError: A value is not a real number.
        ValueError: A value is not finite or lies outside its slider's range.

    Example:
        >>> from vae_tutorial.explorers import change_of_variables_explorer
        >>> ex = change_of_variables_explorer(mu=1.0, sigma=0.5, a=0.5, width=0.5)
        >>> print(ex.summary.split(";")[1].strip())
        P(0.5 <= eps <= 1) = 0.149882 = P(1.25 <= z <= 1.5) = 0.149882

    Introduced in the chapter "The joint-likelihood view".
    """
    values = {"mu": mu, "sigma": sigma, "a": a, "width": width}
    for name, value in values.items():
        check_real(name, value)
        lo, hi, _ = RANGES[name]
        if not lo <= value <= hi:
            raise ValueError(f"{name} must be in [{lo:g}, {hi:g}] (its slider's range); "
                             f"got {value}")

    # the grid of both density curves and of the map: t_i = -LIM + 2 LIM i / (N - 1)
    grid_step = 2 * LIM / (N_GRID - 1)
    # the printed numbers, in two columns: the interval and its probability on both sides; the
    # log-determinant and log q(z) at the dot, directly and through the Jacobian
    readout_left = (
        "['ε ∈ [' + format(a, '.2f') + ', ' + format(b, '.2f') + ']',"
        " '↦ z ∈ [' + format(z_a, '.3f') + ', ' + format(z_b, '.3f') + ']',"
        " 'P(ε in interval) = ' + format(p_eps, '.6f'),"
        " 'P(z in image) = ' + format(p_z, '.6f')]"
    )
    readout_right = (
        "['log |det J| = log σ = ' + format(log_det, '.6f'),"
        " 'at the dot, log q(z) = ' + format(log_q_z, '.6f'),"
        " 'log N(ε; 0, 1) = ' + format(log_n_eps, '.6f'),"
        " 'log N(ε) − log σ = ' + format(log_q_jac, '.6f')]"
    )
    # the right column beside the left one where the panels are wide, under it where they are
    # narrow (the book's loader sets panel_width to the width it draws the panels at)
    wide = f"panel_width >= {WIDTH}"
    text = {"type": "text", "fontSize": 16, "align": "left", "baseline": "top", "y": 0,
            "lineHeight": 21}
    right = dict(text, x={"expr": f"{wide} ? {WIDTH // 2 + 10} : 0"},
                 y={"expr": f"{wide} ? 0 : 4 * 21"})
    x_eps = {"title": "ε (units of ε)", "type": "quantitative",
             "scale": {"domain": [-LIM, LIM], "nice": False}}
    x_z = {"title": "z (units of z)", "type": "quantitative",
           "scale": {"domain": [-LIM, LIM], "nice": False}}
    # one y scale for both densities, so heights compare across the panels
    y_density = {"type": "quantitative",
                 "scale": {"domain": {"expr": "[0, y_max]"}, "nice": False}}

    def curve(x: str, y: str, color: str, title: str, x_enc: dict) -> dict:
        return {"mark": {"type": "line", "strokeWidth": 2, "color": color, "clip": True},
                "encoding": {"x": dict(x_enc, field=x), "y": dict(y_density, field=y,
                                                                  title=title)}}

    def band(x: str, y: str, color: str, x_enc: dict) -> dict:
        return {"data": band_data, "transform": band_transform,
                "mark": {"type": "area", "color": color, "opacity": 0.45, "clip": True},
                "encoding": {"x": dict(x_enc, field=x), "y": dict(y_density, field=y)}}

    def dot(x: str, y: str, x_enc: dict, y_enc: dict) -> dict:
        return {"data": {"values": [{}]},
                "transform": [{"calculate": x, "as": "x"}, {"calculate": y, "as": "y"}],
                "mark": {"type": "point", "filled": True, "size": 70, "color": _DOT,
                         "clip": True},
                "encoding": {"x": dict(x_enc, field="x"), "y": dict(y_enc, field="y")}}

    band_data = {"sequence": {"start": 0, "stop": N_BAND, "step": 1, "as": "j"}}
    band_transform = [
        # eps_j = a + w j / (N_BAND - 1), its image z_j = mu + sigma eps_j
        {"calculate": f"a + w * datum.j / {N_BAND - 1}", "as": "eps"},
        {"calculate": "mu + sigma * datum.eps", "as": "z"},
        # log N(eps; 0, 1)
        {"calculate": log_normal_expr("datum.eps", "0", "1"), "as": "log_q_eps"},
        {"calculate": "exp(datum.log_q_eps)", "as": "q_eps"},
        # q(z) = N(eps; 0, 1) / sigma (the change of variables)
        {"calculate": "exp(datum.log_q_eps - log_det)", "as": "q_z"},
    ]
    y_map = {"type": "quantitative", "title": "z = μ + σε (units of z)",
             "scale": {"domain": [-LIM, LIM], "nice": False}}
    spec = {
        "$schema": SCHEMA,
        "description": "The map z = mu + sigma * eps: the standard-normal density of eps with "
                       "an interval shaded, the map, and the density of z with the interval's "
                       "image shaded; the probability of the interval, log |det J| = log sigma "
                       "and log q(z) = log N(eps; 0, 1) - log sigma, computed as the sliders "
                       "move.",
        "params": [
            # the panels' width (the loader of the book's pages sets it on a narrow screen)
            {"name": "panel_width", "value": WIDTH},
            slider("mu", float(mu), *RANGES["mu"], LABELS["mu"]),
            slider("sigma", float(sigma), *RANGES["sigma"], LABELS["sigma"]),
            slider("a", float(a), *RANGES["a"], LABELS["a"]),
            slider("w", float(width), *RANGES["width"], LABELS["width"]),
            {"name": "b", "expr": "a + w"},
            # the image of the interval: z = mu + sigma eps at both ends
            {"name": "z_a", "expr": "mu + sigma * a"},
            {"name": "z_b", "expr": "mu + sigma * b"},
            # P(a <= eps <= b) = Phi(b) - Phi(a)
            {"name": "p_eps", "expr": "cumulativeNormal(b, 0, 1) - cumulativeNormal(a, 0, 1)"},
            # P(z_a <= z <= z_b) under N(mu, sigma^2)
            {"name": "p_z",
             "expr": "cumulativeNormal(z_b, mu, sigma) - cumulativeNormal(z_a, mu, sigma)"},
            # log |det dz/deps| = log sigma
            {"name": "log_det", "expr": "log(sigma)"},
            # log N(a; 0, 1) and log q(z_a) = log N(z_a; mu, sigma^2)
            {"name": "log_n_eps", "expr": log_normal_expr("a", "0", "1")},
            {"name": "log_q_z", "expr": log_normal_expr("z_a", "mu", "sigma")},
            # log q(z) = log N(eps; 0, 1) - log sigma (eq. 6.1)
            {"name": "log_q_jac", "expr": "log_n_eps - log_det"},
            # the top of both density axes: the higher peak, 1/sqrt(2 pi) or that over sigma
            {"name": "y_max", "expr": "1.12 * max(1, 1 / sigma) / sqrt(2 * PI)"},
        ],
        "data": {"sequence": {"start": 0, "stop": N_GRID, "step": 1, "as": "i"}},
        "transform": [
            {"calculate": f"-{LIM!r} + {grid_step!r} * datum.i", "as": "t"},
            # log N(t; 0, 1): the density of eps on the grid
            {"calculate": log_normal_expr("datum.t", "0", "1"), "as": "log_q_eps"},
            # log N(t; mu, sigma^2): the density of z on the grid
            {"calculate": log_normal_expr("datum.t", "mu", "sigma"), "as": "log_q_z"},
            {"calculate": "exp(datum.log_q_eps)", "as": "q_eps"},
            {"calculate": "exp(datum.log_q_z)", "as": "q_z"},
            # the map on the grid of eps: z = mu + sigma t
            {"calculate": "mu + sigma * datum.t", "as": "z_map"},
        ],
        "vconcat": [
            {"width": WIDTH, "height": 84, "data": {"values": [{}]}, "transform": [],
             "layer": [{"mark": dict(text, x=0, text={"expr": readout_left})},
                       {"mark": dict(right, text={"expr": readout_right})}]},
            {"width": WIDTH, "height": 150,
             "title": ["Noise: q(ε) = N(ε; 0, 1),", "the interval [a, a + w] shaded"],
             "layer": [curve("t", "q_eps", P_COLOR, "density of ε", x_eps),
                       band("eps", "q_eps", P_COLOR, x_eps),
                       dot("a", "exp(log_n_eps)", x_eps, y_density)]},
            {"width": WIDTH, "height": 150,
             "title": ["The map z = μ + σε", "carries the interval to its image"],
             "layer": [
                 {"data": {"values": [{}]},
                  "transform": [{"calculate": "a", "as": "x0"}, {"calculate": "b", "as": "x1"}],
                  "mark": {"type": "rect", "color": P_COLOR, "opacity": 0.25, "clip": True},
                  "encoding": {"x": dict(x_eps, field="x0"), "x2": {"field": "x1"}}},
                 {"data": {"values": [{}]},
                  "transform": [{"calculate": "z_a", "as": "y0"},
                                {"calculate": "z_b", "as": "y1"}],
                  "mark": {"type": "rect", "color": Q_COLOR, "opacity": 0.25, "clip": True},
                  "encoding": {"y": dict(y_map, field="y0"), "y2": {"field": "y1"}}},
                 {"mark": {"type": "line", "strokeWidth": 2, "color": "#555555", "clip": True},
                  "encoding": {"x": dict(x_eps, field="t"), "y": dict(y_map, field="z_map")}},
                 {"data": band_data, "transform": band_transform,
                  "mark": {"type": "line", "strokeWidth": 4, "color": Q_COLOR, "clip": True},
                  "encoding": {"x": dict(x_eps, field="eps"), "y": dict(y_map, field="z")}},
                 dot("a", "z_a", x_eps, y_map),
             ]},
            {"width": WIDTH, "height": 150,
             "title": ["Its image: q(z) = N(z; μ, σ²) = N(ε; 0, 1) / σ,",
                       "the same shaded area"],
             "layer": [curve("t", "q_z", Q_COLOR, "density of z", x_z),
                       band("z", "q_z", Q_COLOR, x_z),
                       dot("z_a", "exp(log_q_z)", x_z, y_density)]},
        ],
        "config": CONFIG,
    }
    summary = _summary(float(mu), float(sigma), float(a), float(width))
    return Explorer("change-of-variables", spec, summary)


def _summary(mu: float, sigma: float, a: float, width: float) -> str:
    """The explorer's plain-text line, with the package's numbers at the initial values."""
    import torch  # imported when a summary is written, not with the module

    from vae_tutorial import joint, losses

    t = lambda v: torch.tensor([v], dtype=torch.float64)  # noqa: E731
    b = a + width
    z_a, z_b = mu + sigma * a, mu + sigma * b
    std = torch.distributions.Normal(t(0.0), t(1.0))
    q = torch.distributions.Normal(t(mu), t(sigma))
    p_eps = float(std.cdf(t(b)) - std.cdf(t(a)))
    p_z = float(q.cdf(t(z_b)) - q.cdf(t(z_a)))
    logvar = t(2 * math.log(sigma))
    log_det = float(joint.log_det_jacobian(logvar))
    log_q_z = float(losses.log_normal_diag(t(z_a), t(mu), logvar))
    log_n_eps = float(losses.log_standard_normal(t(a)))
    return (f"Change-of-variables explorer: z = mu + sigma * eps, mu = {mu:g}, "
            f"sigma = {sigma:g}; P({a:g} <= eps <= {b:g}) = {p_eps:.6f} = "
            f"P({z_a:g} <= z <= {z_b:g}) = {p_z:.6f}; log|det J| = log sigma = "
            f"{log_det:.6f}; at eps = {a:g}: log q(z) = {log_q_z:.6f} = "
            f"log N(eps; 0, 1) - log sigma = {log_n_eps:.6f} - ({log_det:.6f}) "
            "(interactive in the HTML book and in JupyterLab)")
