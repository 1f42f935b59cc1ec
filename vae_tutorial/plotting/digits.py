r"""Figures of the chapter "A VAE on real digits": image grids, reconstructions, the training
history, the latent space and the manifold, rate and distortion.

Every function returns a ``matplotlib.figure.Figure`` and never calls ``plt.show()``.

Introduced in the chapter "A VAE on real digits".
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from vae_tutorial.plotting.style import (
    DIGIT_COLOURS,
    DIGIT_MARKERS,
    MAX_WIDTH_IN,
    OKABE_ITO,
    as_images,
    styled,
)

__all__ = [
    "image_grid",
    "plot_history",
    "plot_latent_scatter",
    "plot_manifold",
    "plot_rate_distortion",
    "reconstruction_grid",
]


@styled
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
        cell_inches: Size of one image in inches, reduced where needed so that the figure is
            at most :data:`~vae_tutorial.plotting.style.MAX_WIDTH_IN` wide (with room for the
            row labels).

    Returns:
        The figure.
    """
    imgs = as_images(images, image_shape)
    n = imgs.shape[0]
    nrows = int(np.ceil(n / ncols))
    label_inches = 0.9 if row_labels is not None else 0.0
    cell = min(cell_inches, (MAX_WIDTH_IN - label_inches) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols,
        figsize=(ncols * cell + label_inches, nrows * cell + (0.4 if title else 0)),
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
            axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=11)
    if title:
        fig.suptitle(title)
    fig.tight_layout(pad=0.2)
    return fig


@styled
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


@styled
def plot_history(history, *, title: str = "The ELBO rises during training") -> Figure:  # noqa: ANN001
    """Train and validation ELBO (nats per example) against epoch, from a
    :class:`vae_tutorial.training.History`."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(
        history.epoch, history.train_elbo, color=OKABE_ITO[4], label="train (dynamic binarization)"
    )
    if not all(np.isnan(history.val_elbo)):
        ax.plot(history.epoch, history.val_elbo, color=OKABE_ITO[5], ls="--", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("ELBO (nats per example)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


@styled
def plot_latent_scatter(
    z: torch.Tensor,
    labels: torch.Tensor,
    *,
    title: str = "Posterior means of test digits in a 2-D latent space, coloured by digit",
) -> Figure:
    """Scatter of 2-D latent codes ``(N, 2)`` by integer label ``(N,)`` (0-9): each digit has
    its own colour and marker shape (:data:`~vae_tutorial.plotting.style.DIGIT_COLOURS`,
    :data:`~vae_tutorial.plotting.style.DIGIT_MARKERS`), and its label is written at the class's
    median code, so classes can be told apart without colour."""
    import matplotlib.patheffects as pe

    z = z.detach().cpu().numpy()
    labels = labels.detach().cpu().numpy()
    fig, ax = plt.subplots(figsize=(MAX_WIDTH_IN, 5.4))
    for d in range(10):
        m = labels == d
        ax.scatter(z[m, 0], z[m, 1], s=16, color=DIGIT_COLOURS[d], marker=DIGIT_MARKERS[d],
                   label=str(d), alpha=0.75, linewidths=0)
    # Direct labels: each digit at its class's median code, pushed apart (in axes fractions)
    # where two would overlap, with a line back to the median when moved.
    present = [d for d in range(10) if (labels == d).any()]
    centres = np.array([np.median(z[labels == d], axis=0) for d in present]).reshape(-1, 2)
    lo, hi = np.array(ax.get_xlim()), np.array(ax.get_ylim())
    span = np.array([lo[1] - lo[0], hi[1] - hi[0]])
    origin = np.array([lo[0], hi[0]])
    frac = (centres - origin) / span
    pos = frac.copy()
    for _ in range(300):
        moved = False
        for i in range(len(pos)):
            for j in range(i + 1, len(pos)):
                gap = pos[i] - pos[j]
                dist = float(np.hypot(*gap))
                if dist < 0.075:
                    away = gap / dist if dist > 1e-9 else np.array([1.0, 0.0])
                    step = away * (0.075 - dist) / 2
                    pos[i] += step
                    pos[j] -= step
                    moved = True
        if not moved:
            break
    pos = np.clip(pos, 0.04, 0.96)
    halo = [pe.withStroke(linewidth=3, foreground="white")]
    for d, (fx, fy), (tx, ty) in zip(present, frac, pos, strict=True):
        if np.hypot(tx - fx, ty - fy) > 0.01:
            ax.annotate("", xy=(fx, fy), xytext=(tx, ty), xycoords="axes fraction",
                        arrowprops={"arrowstyle": "-", "color": "black", "lw": 1,
                                    "path_effects": halo})
        ax.text(tx, ty, str(d), transform=ax.transAxes, fontsize=14, fontweight="bold",
                ha="center", va="center", color="black",
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": DIGIT_COLOURS[d],
                      "lw": 2, "alpha": 0.9})
    ax.set_xlabel("$z_1$ (latent units)")
    ax.set_ylabel("$z_2$ (latent units)")
    ax.set_title(title)
    ax.legend(title="digit", markerscale=1.6, loc="center left", bbox_to_anchor=(1, 0.5),
              handletextpad=0.2, borderaxespad=0.3)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


@styled
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
    # nearest: each pixel of the 28x28 images a flat block, as in image_grid; the default
    # antialiased resampling blends them, and chapter 7's manifold PNG was 0.56 MB against
    # 0.25 MB with nearest (its page went over the 4 MB budget of tests/test_page_weight.py)
    ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest",
              extent=(lo - step / 2, hi + step / 2, lo - step / 2, hi + step / 2))
    ax.set_xlabel("$z_1$ (latent units)")
    ax.set_ylabel("$z_2$ (latent units)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


@styled
def plot_rate_distortion(
    rates: Sequence[float],
    distortions: Sequence[float],
    betas: Sequence[float],
    *,
    title: str = "Small beta buys reconstruction (low distortion) with rate",
) -> Figure:
    """Distortion :math:`-\\mathbb{E}_q[\\log p(x|z)]` against rate :math:`\\mathrm{KL}(q\\|p)`
    (both nats per example), one point per beta, annotated."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.plot(rates, distortions, marker="o", color=OKABE_ITO[4])
    r_lo, r_hi = min(rates), max(rates)
    for r, d, b in zip(rates, distortions, betas, strict=False):
        right = r_hi > r_lo and r > r_lo + 0.7 * (r_hi - r_lo)  # label left of it, inside
        ax.annotate(f"beta = {b:g}", (r, d), textcoords="offset points",
                    xytext=(-8, -16) if right else (6, 6), ha="right" if right else "left")
    ax.margins(x=0.15, y=0.15)
    ax.set_xlabel(r"rate $\mathcal{R}$ = KL(q(z|x) || p(z)) (nats per example)")
    ax.set_ylabel(r"distortion $\mathcal{D}$ (nats per example)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
