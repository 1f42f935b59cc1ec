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

__all__ = ["OKABE_ITO", "image_grid", "plot_history", "reconstruction_grid"]

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
