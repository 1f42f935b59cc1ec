"""Figures of chapters 3 and 4 (``plotting.plot_jensen``, ``plot_curves``,
``plot_weight_degeneracy``): at most ``MAX_WIDTH_IN`` wide, no text under 11 pt, curves told
apart by line style as well as colour."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from vae_tutorial import plotting  # noqa: E402


def _figure(name: str):
    g = torch.Generator().manual_seed(0)
    if name == "plot_jensen":
        return plotting.plot_jensen([0.5, 5.0], [0.4, 0.6])
    if name == "plot_curves":
        return plotting.plot_curves(
            [0, 1, 2], {"a": [0.0, 1.0, 2.0], "b": [1.0, 1.5, 2.5]}, hlines={"c": 1.0},
            xlabel="x", ylabel="y", title="t",
        )
    return plotting.plot_weight_degeneracy(
        {"p": torch.randn(100, generator=g) * 3, "q": torch.randn(100, generator=g)}
    )


@pytest.mark.parametrize("name", ["plot_jensen", "plot_curves", "plot_weight_degeneracy"])
def test_width_and_text_size(name):
    fig = _figure(name)
    try:
        width = fig.get_size_inches()[0]
        assert width <= plotting.MAX_WIDTH_IN + 1e-9, f"{name}: {width} in wide"
        sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text().strip()]
        assert sizes and min(sizes) >= 11, f"{name}: text sizes {sorted(set(sizes))}"
    finally:
        plt.close(fig)


@pytest.mark.parametrize("name", ["plot_curves", "plot_weight_degeneracy"])
def test_curves_differ_in_line_style(name):
    fig = _figure(name)
    try:
        curves = [ln for ln in fig.axes[0].get_lines() if len(ln.get_xdata()) > 2]
        styles = [ln.get_linestyle() for ln in curves]
        assert len(curves) >= 2 and len(set(styles)) == len(styles), styles
    finally:
        plt.close(fig)
