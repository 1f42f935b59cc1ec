"""Figures of chapters 1 and 2 (``plotting.plot_shallow_vs_deep``, ``plot_bayes_1d``,
``plot_evidence_cost``, ``plot_mc_convergence``, ``plot_kl_fits``): at most ``MAX_WIDTH_IN``
wide, no text under 11 pt, and the mixture's components told apart by marker as well as colour."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from vae_tutorial import plotting  # noqa: E402

NAMES = ["plot_shallow_vs_deep", "plot_bayes_1d", "plot_evidence_cost", "plot_mc_convergence",
         "plot_kl_fits"]


def _figure(name: str):
    g = torch.Generator().manual_seed(0)
    if name == "plot_shallow_vs_deep":
        x_mix = torch.randn(30, 2, generator=g)
        z_mix = torch.arange(30) % 3
        means, covs = torch.randn(3, 2, generator=g), torch.eye(2).expand(3, 2, 2)
        x_deep, z_deep = torch.randn(30, 2, generator=g), torch.randn(30, generator=g)
        return plotting.plot_shallow_vs_deep(x_mix, z_mix, means, covs, x_deep, z_deep,
                                             means, 0.1 * covs)
    z = torch.linspace(-4.0, 4.0, 101)
    bell = torch.exp(-0.5 * z**2)
    if name == "plot_bayes_1d":
        return plotting.plot_bayes_1d(z, bell, bell, bell, bell)
    if name == "plot_evidence_cost":
        rows = [{"latent_dim": d, "grid_error": 10.0 ** (d - 8), "mc_error": 0.1 * d,
                 "grid_evaluations": 1000} for d in (1, 2, 3)]
        return plotting.plot_evidence_cost(rows, per_dim=50, evals_per_second=1e6)
    if name == "plot_mc_convergence":
        return plotting.plot_mc_convergence([10, 100, 1000], [1.2, 1.05, 1.01],
                                            [0.3, 0.1, 0.03], 1.0)
    return plotting.plot_kl_fits(z, bell, bell, bell, kls={"forward fit: KL(p || q)": 0.5})


@pytest.mark.parametrize("name", NAMES)
def test_width_and_text_size(name):
    fig = _figure(name)
    try:
        width = fig.get_size_inches()[0]
        assert width <= plotting.MAX_WIDTH_IN + 1e-9, f"{name}: {width} in wide"
        sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text().strip()]
        assert sizes and min(sizes) >= 11, f"{name}: text sizes {sorted(set(sizes))}"
    finally:
        plt.close(fig)


def test_mixture_components_differ_in_marker():
    fig = _figure("plot_shallow_vs_deep")
    try:
        scatters = fig.axes[0].collections
        paths = [tuple(map(tuple, s.get_paths()[0].vertices.round(3))) for s in scatters]
        assert len(scatters) == 3 and len(set(paths)) == 3, "components share a marker"
    finally:
        plt.close(fig)
