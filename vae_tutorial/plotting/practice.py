r"""Figures of the chapter "VAEs in practice": the KL per latent unit and the aggregate posterior.

Every function returns a ``matplotlib.figure.Figure`` and never calls ``plt.show()``.

Introduced in the chapter "VAEs in practice".
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from vae_tutorial.plotting.style import MAX_WIDTH_IN, OKABE_ITO, as_numpy, styled

__all__ = ["plot_aggregate_posterior", "plot_unit_kl"]


@styled
def plot_unit_kl(
    kl_per_unit: dict[str, Sequence[float]],
    *,
    free_bits: float | None = None,
    title: str = "KL per latent unit, units sorted by their KL",
) -> Figure:
    r"""The KL each latent unit spends, :math:`\mathcal{R}_u` (nats per example), sorted, one
    panel per run; an optional dashed line at the free-bits floor :math:`\lambda`. Log scale, so a
    collapsed unit shows."""
    names = list(kl_per_unit)
    fig, axes = plt.subplots(1, len(names), figsize=(MAX_WIDTH_IN, 3.2), sharey=True)
    axes = np.atleast_1d(axes)
    for i, (ax, name) in enumerate(zip(axes, names, strict=True)):
        values = np.sort(np.asarray(kl_per_unit[name], dtype=float))[::-1]
        ax.bar(np.arange(1, len(values) + 1), np.maximum(values, 1e-5),
               color=OKABE_ITO[(4, 5, 2, 0)[i % 4]], hatch=("", "//", "..", "xx")[i % 4])
        if free_bits is not None:
            ax.axhline(free_bits, color=OKABE_ITO[7], ls="--", lw=1)
        ax.set_yscale("log")
        ax.set_title(name, fontsize=11)
        ax.set_xlabel("unit (rank)")
        ax.grid(alpha=0.3, axis="y")
    axes[0].set_ylabel(r"KL of the unit, $\mathcal{R}_u$ (nats per example)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@styled
def plot_aggregate_posterior(
    grid: Sequence[float],
    log_ratio: torch.Tensor | np.ndarray,
    mu: torch.Tensor | np.ndarray,
    *,
    hole: float = -2.302585092994046,  # log(1/10)
    title: str = "The aggregate posterior against the prior",
) -> Figure:
    r""":math:`\log q(z) - \log p(z)` on a square grid of a 2-D latent space (``log_ratio[i, j]``
    at ``z = (grid[j], grid[i])``), the posterior means on top, and the contour where
    :math:`q(z) = p(z) e^{\text{hole}}`, inside which the prior puts mass the data do not use."""
    g = np.asarray(grid, dtype=float)
    r = np.asarray(log_ratio.detach().cpu() if isinstance(log_ratio, torch.Tensor) else log_ratio)
    m = as_numpy(mu)
    fig, ax = plt.subplots(figsize=(5.6, 4.8))
    im = ax.pcolormesh(g, g, np.clip(r, -6, 3), cmap="cividis", shading="auto")
    ax.contour(g, g, r, levels=[hole], colors=OKABE_ITO[5], linewidths=2)
    ax.scatter(m[:, 0], m[:, 1], s=4, color="white", alpha=0.6, lw=0)
    circle = plt.Circle((0, 0), 2.0, fill=False, ls="--", color=OKABE_ITO[0], lw=1.5)
    ax.add_patch(circle)
    ax.set_aspect("equal")
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    fig.colorbar(im, ax=ax, label="log q(z) - log p(z) (nats)")
    ax.set_title(title)
    fig.tight_layout()
    return fig
