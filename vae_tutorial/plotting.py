r"""Figures for the chapters. Every function returns a ``matplotlib.figure.Figure`` and never
calls ``plt.show()``; axes carry labels with units and a title that says what to see.

Colours come from the colour-blind-safe Okabe-Ito palette (:data:`OKABE_ITO`).

Introduced across the chapters; the image figures in "A VAE on real digits".
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

__all__ = [
    "DIGIT_COLOURS",
    "DIGIT_MARKERS",
    "MAX_WIDTH_IN",
    "OKABE_ITO",
    "STYLE",
    "image_grid",
    "plot_bayes_1d",
    "plot_bound_vs_k",
    "plot_change_of_variables",
    "plot_curves",
    "plot_evidence_cost",
    "plot_gradient_variance",
    "plot_history",
    "plot_jensen",
    "plot_kl_fits",
    "plot_latent_scatter",
    "plot_aggregate_posterior",
    "plot_manifold",
    "plot_mc_convergence",
    "plot_rate_distortion",
    "plot_shallow_vs_deep",
    "plot_unit_kl",
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

#: The book's figure style, applied to every figure of this module (by the decorator
#: ``_styled``). Figures are at most :data:`MAX_WIDTH_IN` inches wide and their text at least
#: 11 pt, so that shown at a phone's width (about 350 CSS px; chapters render PNGs at 2x,
#: ``figure_format = "retina"``) labels stay at least 8 CSS px high.
STYLE = {
    "font.size": 12,
    "axes.titlesize": 12,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "legend.title_fontsize": 11,
    "figure.titlesize": 12,
    "lines.linewidth": 1.8,
    "axes.prop_cycle": plt.cycler(color=list(OKABE_ITO)),
}
#: The widest figure in inches; at 100 dpi that is 640 CSS px, the book's text column.
MAX_WIDTH_IN = 6.4


def _styled(func):  # noqa: ANN001, ANN202
    """Draw ``func``'s figure under :data:`STYLE` (rc settings apply when text is created).

    Only the keys of :data:`STYLE` are set and restored: ``plt.rc_context`` would restore every
    rc setting, including ``interactive``, which the Jupyter inline backend switches on when the
    first figure loads it, so that no later figure of a notebook would be shown.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        saved = {key: plt.rcParams[key] for key in STYLE}
        plt.rcParams.update(STYLE)
        try:
            return func(*args, **kwargs)
        finally:
            plt.rcParams.update(saved)

    return wrapper



def _as_images(x: torch.Tensor | np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    return arr.reshape(-1, *image_shape)


@_styled
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
            at most :data:`MAX_WIDTH_IN` wide (with room for the row labels).

    Returns:
        The figure.
    """
    imgs = _as_images(images, image_shape)
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


@_styled
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


@_styled
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


# --- chapters 4-7: importance sampling, gradient variance, change of variables, latent space ---

#: Ten colours for the ten digit classes, indexed by digit. Okabe-Ito without its yellow, which
#: vanishes on white, plus Tol's wine and indigo and a grey. Classes that a 2-D latent space
#: tends to mix (0/5, 1/4, 4/9, 7/9, 3/5/8) differ in shape (:data:`DIGIT_MARKERS`) and in
#: lightness, so they stay apart in greyscale and for colour-blind readers.
DIGIT_COLOURS = (
    "#882255", "#E69F00", "#009E73", "#CC79A7", "#000000",
    "#D55E00", "#0072B2", "#332288", "#999999", "#56B4E9",
)
#: Ten matplotlib marker shapes for the ten digit classes, indexed by digit.
DIGIT_MARKERS = ("o", "^", "s", "D", "P", "X", "<", "*", "h", "v")


@_styled
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
    ax.errorbar(
        ks, bounds, yerr=stderr, marker="o", capsize=3, color=OKABE_ITO[(4 + n) % 8], label=label
    )
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


@_styled
def plot_weight_degeneracy(
    log_weights: dict[str, torch.Tensor],
    *,
    title: str = "Sorted normalized weights: a poor proposal\nputs almost all mass on a few",
) -> Figure:
    """Normalized weights :math:`w_k / \\sum_j w_j`, sorted in decreasing order, one curve per
    proposal (dict label -> 1-D ``log_weights``), on log-log axes; the legend gives each ESS.
    Curves differ in line style as well as colour."""
    fig, ax = plt.subplots(figsize=(MAX_WIDTH_IN, 4.2))
    styles = ("-", "--", "-.", ":")
    for i, (label, lw) in enumerate(log_weights.items()):
        lw = lw.detach().double().cpu().flatten()
        w = torch.softmax(lw, 0).sort(descending=True).values
        ess = float(1.0 / (w**2).sum())
        ax.plot(np.arange(1, len(w) + 1), w.numpy(), styles[i % 4],
                color=OKABE_ITO[(4, 5, 2, 6, 0)[i % 5]], lw=2.2,
                label=f"{label} (ESS {ess:.1f} of {len(w)})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-8, 2.0)  # weights below 1e-8 of the total are invisible in any estimate
    ax.set_xlabel("rank of the weight")
    ax.set_ylabel("normalized weight")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    fig.tight_layout()
    return fig


@_styled
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


@_styled
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


@_styled
def plot_latent_scatter(
    z: torch.Tensor,
    labels: torch.Tensor,
    *,
    title: str = "Posterior means of test digits in a 2-D latent space, coloured by digit",
) -> Figure:
    """Scatter of 2-D latent codes ``(N, 2)`` by integer label ``(N,)`` (0-9): each digit has
    its own colour and marker shape (:data:`DIGIT_COLOURS`, :data:`DIGIT_MARKERS`), and its
    label is written at the class's median code, so classes can be told apart without colour."""
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


@_styled
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
    ax.set_title(title)
    fig.tight_layout()
    return fig


@_styled
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
    ax.set_xlabel("rate R = KL(q(z|x) || p(z)) (nats per example)")
    ax.set_ylabel("distortion D (nats per example)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# Chapters 1-3: latent variable models, KL divergence, Jensen and the ELBO
# --------------------------------------------------------------------------------------------


def _np(t) -> np.ndarray:  # noqa: ANN001
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def _ellipse(ax, mean, cov, color, n_std: float = 2.0, **kw) -> None:  # noqa: ANN001
    """Draw the n_std contour of a 2-D Gaussian."""
    vals, vecs = np.linalg.eigh(_np(cov))
    t = np.linspace(0, 2 * np.pi, 100)
    circle = np.stack([np.cos(t), np.sin(t)])  # (2, 100)
    pts = _np(mean)[:, None] + vecs @ (n_std * np.sqrt(vals)[:, None] * circle)
    ax.plot(pts[0], pts[1], color=color, **kw)


@_styled
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
    xm, zm = _np(x_mix), _np(z_mix)
    markers = ("o", "s", "^", "D", "v", "P", "X", "*")  # components told apart without colour
    for k in range(means_mix.shape[0]):
        c = OKABE_ITO[k % len(OKABE_ITO)]
        ax0.scatter(xm[zm == k, 0], xm[zm == k, 1], s=10, alpha=0.5, color=c,
                    marker=markers[k % len(markers)], label=f"z = {k + 1}")
        _ellipse(ax0, means_mix[k], covs_mix[k], c, lw=2)
    ax0.set_title(f"Shallow: M = {means_mix.shape[0]} Gaussians, z discrete")
    ax0.legend(loc="best", markerscale=2)
    xd = _np(x_deep)
    sc = ax1.scatter(xd[:, 0], xd[:, 1], s=6, alpha=0.6, c=_np(z_deep), cmap="viridis")
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


@_styled
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
    zz = _np(z)
    ax0.plot(zz, _np(prior), color=OKABE_ITO[4], label="prior p(z)")
    lik = _np(likelihood)
    ax0.plot(zz, lik / lik.max(), color=OKABE_ITO[0], ls="--", label="likelihood p(x | z) / max")
    ax0.set_title("What we assume: prior and likelihood")
    ax1.plot(
        zz, _np(posterior_exact), color=OKABE_ITO[7], lw=4, alpha=0.35, label="exact posterior"
    )
    ax1.plot(zz, _np(posterior_grid), color=OKABE_ITO[5], lw=1.5, label="grid: p(x|z)p(z) / sum")
    ax1.set_title("What Bayes gives: the grid posterior is the exact one")
    ax1.set_xlabel("latent z (prior units)")
    for ax in (ax0, ax1):
        ax.set_ylabel("density (1 / z units)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


@_styled
def plot_evidence_cost(
    rows: Sequence[dict], *, per_dim: int = 50, evals_per_second: float | None = None
) -> Figure:
    r"""Why the evidence integral is infeasible: error at a fixed budget, and the cost of a grid.

    Args:
        rows: Output of :func:`vae_tutorial.inference.evidence_cost_study`.
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


@_styled
def plot_kl_fits(
    grid: torch.Tensor,
    p: torch.Tensor,
    q_forward: torch.Tensor,
    q_reverse: torch.Tensor,
    *,
    kls: dict[str, float] | None = None,
) -> Figure:
    """A bimodal target and the Gaussians that minimize the forward and the reverse KL.

    Shape:
        - all: :math:`(N,)`, densities at ``grid``.
    """
    fig, ax = plt.subplots(figsize=(MAX_WIDTH_IN, 5.0))
    g = _np(grid)
    ax.fill_between(g, _np(p), color=OKABE_ITO[7], alpha=0.15, label="target p (two modes)")
    ax.plot(
        g, _np(q_forward), color=OKABE_ITO[4], lw=2, label="argmin KL(p || q): covers both modes"
    )
    ax.plot(
        g, _np(q_reverse), color=OKABE_ITO[5], lw=2, ls="--",
        label="argmin KL(q || p): seeks one mode",
    )
    if kls:
        txt = "\n".join(f"{k} = {v:.3f} nats" for k, v in kls.items())
        ax.text(0.02, 0.97, txt, transform=ax.transAxes, va="top")
    ax.set_xlabel("z (units of z)")
    ax.set_ylabel("density (1 / z units)")
    ax.set_title("The direction of the KL decides what a Gaussian fit gives up")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


@_styled
def plot_mc_convergence(
    n_samples: Sequence[int],
    estimates: Sequence[float],
    standard_errors: Sequence[float],
    exact: float,
    *,
    ylabel: str = "KL (nats)",
    title: str = "The Monte Carlo estimate closes in on the closed form",
) -> Figure:
    """Monte Carlo estimates with 2-standard-error bars against the number of samples, and the
    exact value."""
    fig, ax = plt.subplots(figsize=(MAX_WIDTH_IN, 3.8))
    k = np.asarray(n_samples)
    est, se = np.asarray(estimates), np.asarray(standard_errors)
    ax.errorbar(k, est, yerr=2 * se, fmt="o", color=OKABE_ITO[5], capsize=3,
                label="Monte Carlo ± 2 standard errors")
    ax.axhline(exact, color=OKABE_ITO[7], ls="--", label="closed form")
    ax.set_xscale("log")
    ax.set_xlabel("number of samples K")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


@_styled
def plot_jensen(points: Sequence[float], weights: Sequence[float] | None = None) -> Figure:
    r"""Jensen's inequality for the concave log: the chord lies below the curve.

    Marks :math:`\log \mathbb{E}[f]` (on the curve, above the mean) and
    :math:`\mathbb{E}[\log f]` (on the chord) for a discrete distribution over ``points``.
    """
    f = np.asarray(points, dtype=float)
    w = np.full(len(f), 1.0 / len(f)) if weights is None else np.asarray(weights, dtype=float)
    mean_f, mean_log = float(w @ f), float(w @ np.log(f))
    t = np.linspace(0.15, max(f) * 1.15, 400)
    fig, ax = plt.subplots(figsize=(MAX_WIDTH_IN, 4.2))
    ax.plot(t, np.log(t), color=OKABE_ITO[4], lw=2, label="log t (concave)")
    order = np.argsort(f)
    ax.plot(f[order], np.log(f[order]), "o-", color=OKABE_ITO[5], lw=1.5,
            label="chord between the values of f")
    ax.plot([mean_f], [np.log(mean_f)], "D", color=OKABE_ITO[4], ms=8,
            label=f"log E[f] = {np.log(mean_f):.3f}")
    ax.plot([mean_f], [mean_log], "D", color=OKABE_ITO[5], ms=8, label=f"E[log f] = {mean_log:.3f}")
    ax.vlines(mean_f, mean_log, np.log(mean_f), color=OKABE_ITO[7], ls=":")
    ax.annotate("Jensen gap", (mean_f, 0.5 * (mean_log + np.log(mean_f))), xytext=(8, 0),
                textcoords="offset points", va="center")
    ax.set_xlabel("t = value of f (e.g. p(x, z) / q(z))")
    ax.set_ylabel("log t (nats)")
    ax.set_title("log E[f] ≥ E[log f]: the chord lies below the curve")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


@_styled
def plot_curves(
    x: Sequence[float],
    curves: dict[str, Sequence[float]],
    *,
    hlines: dict[str, float] | None = None,
    xlabel: str,
    ylabel: str,
    title: str,
    ylim: tuple[float, float] | None = None,
    xscale: str = "linear",
) -> Figure:
    """Several curves against a shared x, with optional labelled horizontal reference lines.
    Curves differ in line style as well as colour."""
    fig, ax = plt.subplots(figsize=(MAX_WIDTH_IN, 4.0))
    styles = ["-", "--", "-.", ":"]
    for i, (label, y) in enumerate(curves.items()):
        ax.plot(x, y, styles[i % 4], color=OKABE_ITO[(4, 5, 2, 0, 6)[i % 5]], lw=2, label=label)
    for i, (label, v) in enumerate((hlines or {}).items()):
        ax.axhline(v, color=OKABE_ITO[7], ls=styles[(i + 1) % 4], lw=1, label=label)
    ax.set_xscale(xscale)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if ylim:
        ax.set_ylim(*ylim)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# Chapter 8: VAEs in practice
# --------------------------------------------------------------------------------------------


@_styled
def plot_unit_kl(
    kl_per_unit: dict[str, Sequence[float]],
    *,
    free_bits: float | None = None,
    title: str = "KL per latent unit, units sorted by their KL",
) -> Figure:
    """The KL each latent unit spends (nats per example), sorted, one panel per run; an
    optional dashed line at the free-bits floor. Log scale, so a collapsed unit shows."""
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
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("unit (rank)")
        ax.grid(alpha=0.3, axis="y")
    axes[0].set_ylabel("KL of the unit (nats per example)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@_styled
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
    m = _np(mu)
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
