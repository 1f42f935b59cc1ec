r"""Figures of the chapter "Importance sampling": the bound against K and weight degeneracy.

Every function returns a ``matplotlib.figure.Figure`` and never calls ``plt.show()``.

Introduced in the chapter "Importance sampling".
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from vae_tutorial.plotting.style import MAX_WIDTH_IN, OKABE_ITO, styled

__all__ = [
    "plot_bound_vs_k",
    "plot_weight_degeneracy",
]


@styled
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


@styled
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
