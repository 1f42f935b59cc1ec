r"""Figures for the chapters. Every function returns a ``matplotlib.figure.Figure`` and never
calls ``plt.show()``; axes carry labels with units and a title that says what to see.

Colours come from the colour-blind-safe Okabe-Ito palette (:data:`OKABE_ITO`).

Introduced across the chapters; the image figures in "A VAE on real digits".
"""

from __future__ import annotations

from collections.abc import Sequence


import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

__all__ = [
    "DIGIT_COLOURS",
    "OKABE_ITO",
    "image_grid",
    "plot_bound_vs_k",
    "plot_change_of_variables",
    "plot_gradient_variance",
    "plot_history",
    "plot_latent_scatter",
    "plot_manifold",
    "plot_rate_distortion",
    "plot_weight_degeneracy",
    "reconstruction_grid",
]

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#000000",  # black
)


def _as_images(x: torch.Tensor | np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    return arr.reshape(-1, *image_shape)


def image_grid(
    images: torch.Tensor | np.ndarray,
    image_shape: tuple[int, int] = (28, 28),
    *,
    ncols: int = 10,
    title: str | None = None,
    row_labels: Sequence[str] | None = None,
    cell_inches: float = 0.7,
) -> Figure:
    """Show flattened images in a grid, black digits on white.

    Args:
        images: ``(N, D)`` or ``(N, H, W)`` values in [0, 1].
        image_shape: ``(H, W)`` of one image.
        ncols: Images per row.
        title: Figure title.
        row_labels: Optional label for each row, shown at its left.
        cell_inches: Size of one image in inches.

    Returns:
        The figure.
    """
    imgs = _as_images(images, image_shape)
    n = imgs.shape[0]
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(ncols * cell_inches, nrows * cell_inches + (0.4 if title else 0)),
        squeeze=False,
    )
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        if i < n:
            ax.imshow(imgs[i], cmap="gray_r", vmin=0.0, vmax=1.0, interpolation="nearest")
    if row_labels is not None:
        for r, label in enumerate(row_labels):
            axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout(pad=0.2)
    return fig


def reconstruction_grid(
    x: torch.Tensor,
    x_hat: torch.Tensor,
    image_shape: tuple[int, int] = (28, 28),
    *,
    title: str = "Test digits (top) and their reconstructions (bottom)",
) -> Figure:
    """Inputs in the first row, reconstructions (pixel probabilities) in the second.

    Shape:
        - x, x_hat: :math:`(N, D)`.
    """
    n = x.shape[0]
    both = torch.cat([x.detach().cpu(), x_hat.detach().cpu()], dim=0)
    return image_grid(both, image_shape, ncols=n, title=title, row_labels=["input", "recon."])


def plot_history(history, *, title: str = "The ELBO rises during training") -> Figure:  # noqa: ANN001
    """Train and test ELBO (nats per example) against epoch, from a
    :class:`vae_tutorial.training.History`."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(history.epoch, history.train_elbo, color=OKABE_ITO[4], label="train (dynamic binarization)")
    if not all(np.isnan(history.test_elbo)):
        ax.plot(history.epoch, history.test_elbo, color=OKABE_ITO[5], ls="--", label="test")
    ax.set_xlabel("epoch")
    ax.set_ylabel("ELBO (nats per example)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


# --- chapters 4-7: importance sampling, gradient variance, change of variables, latent space ---

#: Ten colours for the ten digit classes: Okabe-Ito plus grey and wine.
DIGIT_COLOURS = OKABE_ITO + ("#999999", "#882255")


def plot_bound_vs_k(
    ks: Sequence[int],
    bounds: Sequence[float],
    *,
    stderr: Sequence[float] | None = None,
    exact: float | None = None,
    label: str = "IWAE bound $\\mathcal{L}_K$",
    title: str = "The importance-weighted bound rises with K towards log p(x)",
    ax=None,  # noqa: ANN001
) -> Figure:
    """Bound (nats per example) against the number of samples K on a log axis, with error bars
    and, if given, the exact log p(x) as a dashed line. Pass ``ax`` to add a curve to a figure."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
    else:
        fig = ax.figure
    n = len(ax.lines)
    ax.errorbar(ks, bounds, yerr=stderr, marker="o", capsize=3, color=OKABE_ITO[(4 + n) % 8], label=label)
    if exact is not None:
        ax.axhline(exact, color=OKABE_ITO[7], ls="--", label="exact log p(x)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("K, importance samples per example")
    ax.set_ylabel("bound (nats per example)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_weight_degeneracy(
    log_weights: dict[str, torch.Tensor],
    *,
    title: str = "Normalized importance weights, largest first: a poor proposal puts all mass on a few",
) -> Figure:
    """Normalized weights :math:`w_k / \\sum_j w_j`, sorted in decreasing order, one curve per
    proposal (dict label -> 1-D ``log_weights``), on log-log axes; the legend gives each ESS."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for i, (label, lw) in enumerate(log_weights.items()):
        lw = lw.detach().double().cpu().flatten()
        w = torch.softmax(lw, 0).sort(descending=True).values
        ess = float(1.0 / (w**2).sum())
        ax.plot(np.arange(1, len(w) + 1), w.numpy(), color=OKABE_ITO[(4, 5, 2, 6, 0)[i % 5]],
                label=f"{label} (ESS {ess:.1f} of {len(w)})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("rank of the weight")
    ax.set_ylabel("normalized weight")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


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
        ax.plot(xs, v, marker="o", color=OKABE_ITO[(5, 4, 2, 6)[i % 4]], label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("total variance of the estimate")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_change_of_variables(
    mu: float,
    sigma: float,
    *,
    interval: tuple[float, float] = (0.5, 1.0),
    title: str = "z = mu + sigma * eps moves mass without changing it: q(z) = q(eps) / sigma",
) -> Figure:
    """Two panels: the density of :math:`\\varepsilon \\sim \\mathcal{N}(0, 1)` with an interval
    shaded, and the density of :math:`z = \\mu + \\sigma\\varepsilon` with the image of that
    interval; both shaded areas (probabilities) are equal."""
    from math import erf, sqrt

    def pdf(t: np.ndarray) -> np.ndarray:
        return np.exp(-0.5 * t**2) / np.sqrt(2 * np.pi)

    a, b = interval
    mass = 0.5 * (erf(b / sqrt(2)) - erf(a / sqrt(2)))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    e = np.linspace(-4, 4, 400)
    axes[0].plot(e, pdf(e), color=OKABE_ITO[4])
    ee = np.linspace(a, b, 100)
    axes[0].fill_between(ee, pdf(ee), color=OKABE_ITO[4], alpha=0.4, label=f"mass {mass:.3f}")
    axes[0].set_xlabel("eps (noise units)")
    axes[0].set_ylabel("density q(eps)")
    axes[0].set_title("q(eps) = N(0, 1)")
    z = mu + sigma * e
    axes[1].plot(z, pdf(e) / sigma, color=OKABE_ITO[5])
    axes[1].fill_between(mu + sigma * ee, pdf(ee) / sigma, color=OKABE_ITO[5], alpha=0.4,
                         label=f"mass {mass:.3f}")
    axes[1].set_xlabel("z (latent units)")
    axes[1].set_ylabel("density q(z)")
    axes[1].set_title(f"q(z) = N({mu:g}, {sigma:g}^2): width x{sigma:g}, height /{sigma:g}")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_latent_scatter(
    z: torch.Tensor,
    labels: torch.Tensor,
    *,
    title: str = "Posterior means of test digits in a 2-D latent space, coloured by digit",
) -> Figure:
    """Scatter of 2-D latent codes ``(N, 2)`` coloured by integer label ``(N,)`` (0-9)."""
    z = z.detach().cpu().numpy()
    labels = labels.detach().cpu().numpy()
    fig, ax = plt.subplots(figsize=(6, 5))
    for d in range(10):
        m = labels == d
        ax.scatter(z[m, 0], z[m, 1], s=8, color=DIGIT_COLOURS[d], label=str(d), alpha=0.8)
    ax.set_xlabel("$z_1$ (latent units)")
    ax.set_ylabel("$z_2$ (latent units)")
    ax.set_title(title, fontsize=10)
    ax.legend(title="digit", markerscale=2, fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_manifold(
    images: torch.Tensor,
    grid: Sequence[float],
    image_shape: tuple[int, int] = (28, 28),
    *,
    title: str = "Decoded digits on a grid of z: the learned 2-D manifold",
) -> Figure:
    """One mosaic of decoded images ``(n*n, D)`` laid out on an ``n x n`` grid of latent values
    ``grid`` (the same for both axes; row-major, :math:`z_2` decreasing downwards)."""
    n = len(grid)
    h, w = image_shape
    imgs = images.detach().cpu().numpy().reshape(n, n, h, w)
    mosaic = imgs.transpose(0, 2, 1, 3).reshape(n * h, n * w)
    fig, ax = plt.subplots(figsize=(6, 6))
    lo, hi = float(grid[0]), float(grid[-1])
    step = (hi - lo) / max(n - 1, 1)
    ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=1,
              extent=(lo - step / 2, hi + step / 2, lo - step / 2, hi + step / 2))
    ax.set_xlabel("$z_1$ (latent units)")
    ax.set_ylabel("$z_2$ (latent units)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_rate_distortion(
    rates: Sequence[float],
    distortions: Sequence[float],
    betas: Sequence[float],
    *,
    title: str = "Rate and distortion as beta varies: small beta buys reconstruction with rate",
) -> Figure:
    """Distortion :math:`-\\mathbb{E}_q[\\log p(x|z)]` against rate :math:`\\mathrm{KL}(q\\|p)`
    (both nats per example), one point per beta, annotated."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.plot(rates, distortions, marker="o", color=OKABE_ITO[4])
    for r, d, b in zip(rates, distortions, betas):
        ax.annotate(f"beta={b:g}", (r, d), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ax.set_xlabel("rate: KL(q(z|x) || p(z)) (nats per example)")
    ax.set_ylabel("distortion: -E_q log p(x|z) (nats per example)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
