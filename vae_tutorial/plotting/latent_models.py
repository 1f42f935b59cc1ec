r"""Figures of the chapter "Latent variable models and Bayes' rule": a shallow against a deep
latent variable model, Bayes' rule on a grid, and the cost of the evidence.

Every function returns a ``matplotlib.figure.Figure`` and never calls ``plt.show()``.

Introduced in the chapter "Latent variable models and Bayes' rule".
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from vae_tutorial.plotting.style import MAX_WIDTH_IN, OKABE_ITO, as_numpy, styled

__all__ = [
    "plot_bayes_1d",
    "plot_evidence_cost",
    "plot_shallow_vs_deep",
]


def _ellipse(ax, mean, cov, color, n_std: float = 2.0, **kw) -> None:  # noqa: ANN001
    """Draw the n_std contour of a 2-D Gaussian."""
    vals, vecs = np.linalg.eigh(as_numpy(cov))
    t = np.linspace(0, 2 * np.pi, 100)
    circle = np.stack([np.cos(t), np.sin(t)])  # (2, 100)
    pts = as_numpy(mean)[:, None] + vecs @ (n_std * np.sqrt(vals)[:, None] * circle)
    ax.plot(pts[0], pts[1], color=color, **kw)


@styled
def plot_shallow_vs_deep(
    x_mix: torch.Tensor,
    z_mix: torch.Tensor,
    means_mix: torch.Tensor,
    covs_mix: torch.Tensor,
    x_deep: torch.Tensor,
    z_deep: torch.Tensor,
    means_deep: torch.Tensor,
    covs_deep: torch.Tensor,
) -> Figure:
    r"""Samples of a mixture of M Gaussians beside samples of a deep latent variable model.

    Left: each point coloured by its discrete component, with the 2-standard-deviation ellipse of
    every component. Right: each point coloured by its continuous :math:`z`, with the ellipses of
    :math:`\mathcal{N}(\mu_\theta(z), \Sigma_\theta(z))` for a few values of :math:`z`: an
    infinite mixture.

    Shape:
        - x_mix: :math:`(N, 2)`; z_mix: :math:`(N,)` ints; means_mix: :math:`(M, 2)`;
          covs_mix: :math:`(M, 2, 2)`.
        - x_deep: :math:`(N, 2)`; z_deep: :math:`(N,)`; means_deep: :math:`(J, 2)`;
          covs_deep: :math:`(J, 2, 2)` for J chosen values of z.
    """
    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(MAX_WIDTH_IN, 9.0))
    xm, zm = as_numpy(x_mix), as_numpy(z_mix)
    markers = ("o", "s", "^", "D", "v", "P", "X", "*")  # components told apart without colour
    for k in range(means_mix.shape[0]):
        c = OKABE_ITO[k % len(OKABE_ITO)]
        ax0.scatter(xm[zm == k, 0], xm[zm == k, 1], s=10, alpha=0.5, color=c,
                    marker=markers[k % len(markers)], label=f"z = {k + 1}")
        _ellipse(ax0, means_mix[k], covs_mix[k], c, lw=2)
    ax0.set_title(f"Shallow: M = {means_mix.shape[0]} Gaussians, z discrete")
    ax0.legend(loc="best", markerscale=2)
    xd = as_numpy(x_deep)
    sc = ax1.scatter(xd[:, 0], xd[:, 1], s=6, alpha=0.6, c=as_numpy(z_deep), cmap="viridis")
    fig.colorbar(sc, ax=ax1, label="latent z (prior units)")
    for j in range(means_deep.shape[0]):
        _ellipse(ax1, means_deep[j], covs_deep[j], OKABE_ITO[7], lw=1)
    ax1.set_title("Deep: one Gaussian per z, infinitely many")
    for ax in (ax0, ax1):
        ax.set_xlabel("$x_1$ (data units)")
        ax.set_ylabel("$x_2$ (data units)")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


@styled
def plot_bayes_1d(
    z: torch.Tensor,
    prior: torch.Tensor,
    likelihood: torch.Tensor,
    posterior_grid: torch.Tensor,
    posterior_exact: torch.Tensor,
) -> Figure:
    r"""Bayes' rule on a 1-D grid: prior, likelihood, and the grid posterior on the exact one.

    Shape:
        - all: :math:`(N,)`, values at the grid points ``z``; ``likelihood`` is
          :math:`p(x \mid z)` as a function of z (not a density in z, rescaled to peak 1).
    """
    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(MAX_WIDTH_IN, 6.4), sharex=True)
    zz = as_numpy(z)
    ax0.plot(zz, as_numpy(prior), color=OKABE_ITO[4], label="prior p(z)")
    lik = as_numpy(likelihood)
    ax0.plot(zz, lik / lik.max(), color=OKABE_ITO[0], ls="--", label="likelihood p(x | z) / max")
    ax0.set_title("What we assume: prior and likelihood")
    ax1.plot(
        zz, as_numpy(posterior_exact), color=OKABE_ITO[7], lw=4, alpha=0.35, label="exact posterior"
    )
    ax1.plot(
        zz, as_numpy(posterior_grid), color=OKABE_ITO[5], lw=1.5, label="grid: p(x|z)p(z) / sum"
    )
    ax1.set_title("What Bayes gives: the grid posterior is the exact one")
    ax1.set_xlabel("latent z (prior units)")
    for ax in (ax0, ax1):
        ax.set_ylabel("density (1 / z units)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


@styled
def plot_evidence_cost(
    rows: Sequence[dict], *, per_dim: int = 50, evals_per_second: float | None = None
) -> Figure:
    r"""Why the evidence integral is infeasible: error at a fixed budget, and the cost of a grid.

    Args:
        rows: Output of :func:`vae_tutorial.quadrature.evidence_cost_study`.
        per_dim: Resolution of the grid whose cost the right panel extrapolates.
        evals_per_second: If given, a second axis on the right panel in years of compute.
    """
    dims = np.array([r["latent_dim"] for r in rows])
    budget = max(r["grid_evaluations"] for r in rows)
    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(MAX_WIDTH_IN, 7.4))
    floor = 1e-16
    ax0.semilogy(dims, [max(r["grid_error"], floor) for r in rows], "o-", color=OKABE_ITO[4],
                 label="grid quadrature")
    ax0.semilogy(dims, [max(r["mc_error"], floor) for r in rows], "s--", color=OKABE_ITO[5],
                 label="naive Monte Carlo (prior samples)")
    ax0.set_xlabel("latent dimension L")
    ax0.set_ylabel("|error in log p(x)| (nats)")
    ax0.set_title(f"Same budget ({budget:,} evaluations): error explodes with L")
    ax0.legend()
    ax0.grid(alpha=0.3, which="both")
    ls = np.arange(1, 31)
    ax1.semilogy(ls, float(per_dim) ** ls, color=OKABE_ITO[4])
    ax1.axvline(20, color=OKABE_ITO[7], ls=":", lw=1)
    ax1.text(19.5, 1e3, "L = 20 (Kingma & Welling)", ha="right")
    ax1.set_xlabel("latent dimension L")
    ax1.set_ylabel(f"grid evaluations ({per_dim} per axis)")
    ax1.set_title(f"A grid costs {per_dim}$^L$ evaluations of p(x, z)")
    ax1.grid(alpha=0.3, which="both")
    if evals_per_second:
        year = 3600 * 24 * 365.25
        ax1.axhline(evals_per_second * year, color=OKABE_ITO[5], ls="--", lw=1)
        ax1.text(30, evals_per_second * year * 3, "one year of this CPU", ha="right",
                 fontsize=11, color=OKABE_ITO[5])
    fig.tight_layout()
    return fig
