r"""Figures of the chapters "KL divergence" and "Jensen's inequality and the ELBO": KL fits,
Monte Carlo convergence, Jensen's gap and learning curves.

Every function returns a ``matplotlib.figure.Figure`` and never calls ``plt.show()``.

Introduced in the chapters "KL divergence" and "Jensen's inequality and the ELBO".
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from vae_tutorial.plotting.style import MAX_WIDTH_IN, OKABE_ITO, as_numpy, styled

__all__ = [
    "plot_curves",
    "plot_jensen",
    "plot_kl_fits",
    "plot_mc_convergence",
]


@styled
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
    g = as_numpy(grid)
    ax.fill_between(g, as_numpy(p), color=OKABE_ITO[7], alpha=0.15, label="target p (two modes)")
    ax.plot(
        g, as_numpy(q_forward), color=OKABE_ITO[4], lw=2,
        label="argmin KL(p || q): covers both modes",
    )
    ax.plot(
        g, as_numpy(q_reverse), color=OKABE_ITO[5], lw=2, ls="--",
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


@styled
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


@styled
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


@styled
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
    yscale: str = "linear",
) -> Figure:
    """Several curves against a shared x, with optional labelled horizontal reference lines.
    Curves differ in line style as well as colour; ``yscale="log"`` for a gap that closes."""
    fig, ax = plt.subplots(figsize=(MAX_WIDTH_IN, 4.0))
    styles = ["-", "--", "-.", ":"]
    for i, (label, y) in enumerate(curves.items()):
        ax.plot(x, y, styles[i % 4], color=OKABE_ITO[(4, 5, 2, 0, 6)[i % 5]], lw=2, label=label)
    for i, (label, v) in enumerate((hlines or {}).items()):
        ax.axhline(v, color=OKABE_ITO[7], ls=styles[(i + 1) % 4], lw=1, label=label)
    ax.set_xscale(xscale)
    ax.set_yscale(yscale)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if ylim:
        ax.set_ylim(*ylim)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
