r"""Figures of the chapters "Reparameterization" and "The joint-likelihood view": gradient
variance against samples, and the map from noise to latent.

Every function returns a ``matplotlib.figure.Figure`` and never calls ``plt.show()``.

Introduced in the chapters "Reparameterization" and "The joint-likelihood view".
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from vae_tutorial.plotting.style import MAX_WIDTH_IN, OKABE_ITO, styled

__all__ = [
    "plot_change_of_variables",
    "plot_gradient_variance",
]


@styled
def plot_gradient_variance(
    xs: Sequence[float],
    variances: dict[str, Sequence[float]],
    *,
    xlabel: str = "K, samples per estimate",
    title: str = "Gradient variance: the pathwise estimator is far below the score function",
) -> Figure:
    """Total variance of gradient estimators (sum over coordinates, squared units of f per
    parameter) against ``xs``, log-log, one curve per estimator."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for i, (label, v) in enumerate(variances.items()):
        ax.plot(xs, v, marker="osD^"[i % 4], color=OKABE_ITO[(5, 4, 2, 6)[i % 4]], label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("total variance of the estimate")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    return fig


@styled
def plot_change_of_variables(
    mu: float,
    sigma: float,
    *,
    interval: tuple[float, float] = (0.5, 1.0),
    title: str = (r"$z = \mu + \sigma\varepsilon$ moves mass, keeps it: "
                  r"$q(z) = q(\varepsilon)/\sigma$"),
) -> Figure:
    """Two panels, stacked: the density of :math:`\\varepsilon \\sim \\mathcal{N}(0, 1)` with an
    interval shaded, and the density of :math:`z = \\mu + \\sigma\\varepsilon` with the image of
    that interval; both shaded areas (probabilities) are equal."""
    from math import erf, sqrt

    def pdf(t: np.ndarray) -> np.ndarray:
        return np.exp(-0.5 * t**2) / np.sqrt(2 * np.pi)

    a, b = interval
    mass = 0.5 * (erf(b / sqrt(2)) - erf(a / sqrt(2)))
    fig, axes = plt.subplots(2, 1, figsize=(MAX_WIDTH_IN, 5.6))
    e = np.linspace(-4, 4, 400)
    axes[0].plot(e, pdf(e), color=OKABE_ITO[4])
    ee = np.linspace(a, b, 100)
    axes[0].fill_between(ee, pdf(ee), color=OKABE_ITO[4], alpha=0.4, label=f"mass {mass:.3f}")
    axes[0].set_xlabel(r"$\varepsilon$ (noise units)")
    axes[0].set_ylabel(r"density $q(\varepsilon)$")
    axes[0].set_title(r"$q(\varepsilon) = \mathcal{N}(0, 1)$")
    z = mu + sigma * e
    axes[1].plot(z, pdf(e) / sigma, color=OKABE_ITO[5])
    axes[1].fill_between(mu + sigma * ee, pdf(ee) / sigma, color=OKABE_ITO[5], alpha=0.4,
                         label=f"mass {mass:.3f}")
    axes[1].set_xlabel("z (latent units)")
    axes[1].set_ylabel("density $q(z)$")
    axes[1].set_title(rf"$q(z) = \mathcal{{N}}({mu:g}, {sigma:g}^2)$: "
                      rf"width $\times {sigma:g}$, height $\div {sigma:g}$")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
