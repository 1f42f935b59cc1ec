r"""Chapter 8's explorer: each latent unit's KL and activity, free bits and the active-unit count.

Introduced in the chapter "VAEs in practice".
"""

from __future__ import annotations

import torch

from vae_tutorial._checks import check_real, check_same_shape, check_tensor, shape_str
from vae_tutorial.explorers.spec import CONFIG, P_COLOR, Q_COLOR, SCHEMA, WIDTH, Explorer, slider

__all__ = ["unit_kl_explorer"]

#: Decimals of the shipped encoder outputs (the page computes from these, the test too).
DECIMALS = 5


def unit_kl_explorer(
    mu: torch.Tensor, logvar: torch.Tensor, *, free_bits: float = 0.1,
    log10_threshold: float = -2.0,
) -> Explorer:
    r"""The KL and the activity of every latent unit, computed in the page from encoder outputs.

    The encoder's means and log-variances of N images travel with the page (rounded to five
    decimals); the page computes, per unit :math:`u`, the KL :math:`\mathcal{R}_u =
    \frac1N \sum_n \frac12[\mu_{nu}^2 + \sigma_{nu}^2 - 1 - \log\sigma_{nu}^2]`
    (:func:`vae_tutorial.diagnostics.kl_per_unit`) and the activity :math:`A_u`, the sample
    variance of :math:`\mu_{nu}` over n (:func:`~vae_tutorial.diagnostics.unit_activity`). One
    slider sets the free-bits floor :math:`\lambda` (nats per unit): the page prints the rate
    :math:`\sum_u \mathcal{R}_u`, the free-bits KL term :math:`\sum_u \max(\lambda, \mathcal{R}_u)`
    (:func:`vae_tutorial.losses.kl_free_bits`) and how many units lie below the floor (their KL
    has no gradient). The other sets the activity threshold (its base-10 logarithm; Burda et
    al.'s 0.01 is -2) and the page prints the number of active units.

    Args:
        mu: Encoder means of N images.
        logvar: Their log-variances, the shape of ``mu``.
        free_bits: Initial :math:`\lambda` in [0, 1].
        log10_threshold: Initial :math:`\log_{10}` of the threshold, in [-4, 0].

    Shape:
        - mu, logvar: :math:`(N, L)`.

    Returns:
        An :class:`~vae_tutorial.explorers.spec.Explorer`.

    Raises:
        TypeError: If ``mu`` or ``logvar`` is not a floating-point tensor, or a slider value not
            a real number.
        ValueError: If the shapes differ or are not ``(N, L)`` with N >= 2, or a slider value is
            out of its range.

    Introduced in the chapter "VAEs in practice".
    """
    check_tensor("mu", mu, min_dim=2)
    check_tensor("logvar", logvar, min_dim=2)
    check_same_shape("logvar", logvar, "mu", mu)
    if mu.dim() != 2 or mu.shape[0] < 2:
        raise ValueError(f"mu must have shape (N, L) with N >= 2; got {shape_str(mu.shape)}")
    check_real("free_bits", free_bits)
    check_real("log10_threshold", log10_threshold)
    if not 0.0 <= free_bits <= 1.0:
        raise ValueError(f"free_bits must be in [0, 1]; got {free_bits}")
    if not -4.0 <= log10_threshold <= 0.0:
        raise ValueError(f"log10_threshold must be in [-4, 0]; got {log10_threshold}")
    n_units = mu.shape[1]
    mu_r = mu.detach().double().cpu().round(decimals=DECIMALS)
    lv_r = logvar.detach().double().cpu().round(decimals=DECIMALS)
    rows = [{"unit": u + 1, "mu": float(mu_r[n, u]), "logvar": float(lv_r[n, u])}
            for n in range(mu.shape[0]) for u in range(n_units)]
    per_unit = [
        # KL_{nu} = 1/2 [\mu^2 + \sigma^2 - 1 - \log\sigma^2]
        {"calculate": "0.5 * (datum.mu * datum.mu + exp(datum.logvar) - 1 - datum.logvar)",
         "as": "kl"},
        # \mathcal{R}_u = mean_n KL_{nu};  A_u = sample variance of \mu_{nu} over n
        {"aggregate": [{"op": "mean", "field": "kl", "as": "R"},
                       {"op": "variance", "field": "mu", "as": "A"}], "groupby": ["unit"]},
        {"calculate": "datum.R < lam ? 'below the floor' : 'above the floor'", "as": "side"},
    ]
    totals = per_unit + [
        {"calculate": "max(lam, datum.R)", "as": "floored"},
        {"calculate": "datum.R < lam ? 1 : 0", "as": "below"},
        {"calculate": "datum.A > pow(10, log_t) ? 1 : 0", "as": "active"},
        {"aggregate": [{"op": "sum", "field": "R", "as": "rate_total"},
                       {"op": "sum", "field": "floored", "as": "fb_total"},
                       {"op": "sum", "field": "below", "as": "n_below"},
                       {"op": "sum", "field": "active", "as": "n_active"}]},
    ]
    readout = ("['rate Σ ℛ_u = ' + format(datum.rate_total, '.3f') + ' nats', "
               "'free-bits term Σ max(λ, ℛ_u) = ' + format(datum.fb_total, '.3f') + ' nats', "
               f"'units below λ: ' + datum.n_below + ' of {n_units}; active units: ' "
               f"+ datum.n_active + ' of {n_units}']")
    x = {"field": "unit", "type": "ordinal", "title": "latent unit, by its KL",
         "sort": {"field": "R", "order": "descending"}, "axis": {"labelAngle": 0}}
    colors = {"field": "side", "type": "nominal", "title": None,
              "scale": {"domain": ["above the floor", "below the floor"],
                        "range": [Q_COLOR, P_COLOR]}}
    spec = {
        "$schema": SCHEMA,
        "description": "The KL and the activity of each latent unit of a trained VAE, computed "
                       "from its encoder outputs; the free-bits term and the active-unit count "
                       "as the sliders move.",
        "params": [
            slider("lam", float(free_bits), 0.0, 1.0, 0.01,
                   "free-bits floor λ (nats per unit)"),
            slider("log_t", float(log10_threshold), -4.0, 0.0, 0.1,
                   "activity threshold, log10 (z units squared)"),
        ],
        "data": {"values": rows},
        "vconcat": [
            {"width": WIDTH, "height": 64, "transform": totals,
             "mark": {"type": "text", "text": {"expr": readout}, "fontSize": 15,
                      "fontWeight": "bold", "align": "left", "baseline": "top", "x": 0, "y": 0,
                      "lineHeight": 20, "name": "readout"}},
            {"width": WIDTH, "height": 170, "title": "KL per unit ℛ_u; dashed: the floor λ",
             "layer": [
                 {"transform": per_unit, "mark": "bar",
                  "encoding": {"x": x, "y": {"field": "R", "type": "quantitative",
                                             "title": "ℛ_u (nats per example)"},
                               "color": colors}},
                 {"data": {"values": [{}]}, "transform": [{"calculate": "lam", "as": "y"}],
                  "mark": {"type": "rule", "strokeDash": [6, 3], "strokeWidth": 2},
                  "encoding": {"y": {"field": "y", "type": "quantitative"}}},
             ]},
            {"width": WIDTH, "height": 170,
             "title": "Activity A_u (log scale); dashed: the threshold",
             "layer": [
                 {"transform": per_unit, "mark": {"type": "point", "filled": True, "size": 80},
                  "encoding": {"x": x, "y": {"field": "A", "type": "quantitative",
                                             "scale": {"type": "log"},
                                             "title": "A_u (z units squared)"},
                               "color": {"value": Q_COLOR}}},
                 {"data": {"values": [{}]},
                  "transform": [{"calculate": "pow(10, log_t)", "as": "y"}],
                  "mark": {"type": "rule", "strokeDash": [6, 3], "strokeWidth": 2},
                  "encoding": {"y": {"field": "y", "type": "quantitative"}}},
             ]},
        ],
        "config": CONFIG,
    }
    summary = (f"Unit KL explorer: {n_units} latent units of {mu.shape[0]} encoded images; "
               f"free-bits floor {free_bits:g} nats, activity threshold 10^{log10_threshold:g} "
               "(interactive in the HTML book and in JupyterLab)")
    return Explorer("unit-kl", spec, summary)
