"""Figures of chapter 7 (``plotting.image_grid``, ``reconstruction_grid``, ``plot_history``,
``plot_latent_scatter``, ``plot_manifold``, ``plot_rate_distortion``): at most ``MAX_WIDTH_IN``
wide, no text under 11 pt; the digit scatter tells the ten classes apart without colour
(a marker shape per digit and a label at each class) and uses no colour that vanishes on white.

Also checks that :func:`plotting._styled` leaves ``interactive`` alone: restoring every rc
setting after the first figure switched Jupyter's inline backend off for all later figures.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from vae_tutorial import plotting  # noqa: E402
from vae_tutorial.training import History  # noqa: E402

NAMES = ["image_grid", "image_grid_rows", "reconstruction_grid", "plot_history",
         "plot_latent_scatter", "plot_manifold", "plot_rate_distortion"]


def _scatter_data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(10).repeat_interleave(30)                      # (300,)
    centres = torch.randn(10, 2, generator=g) * 2                        # (10, 2)
    z = centres[labels] + 0.5 * torch.randn(300, 2, generator=g)         # (300, 2)
    return z, labels


def _figure(name: str):
    g = torch.Generator().manual_seed(0)
    if name == "image_grid":
        return plotting.image_grid(torch.rand(20, 784, generator=g), ncols=10, title="t")
    if name == "image_grid_rows":
        return plotting.image_grid(torch.rand(30, 784, generator=g), ncols=10, title="t",
                                   row_labels=["beta=0.25", "beta=1", "beta=4"])
    if name == "reconstruction_grid":
        x = torch.rand(12, 784, generator=g)
        return plotting.reconstruction_grid(x, x)
    if name == "plot_history":
        h = History(epoch=[1, 2, 3], train_elbo=[-200.0, -150.0, -120.0],
                    test_elbo=[-190.0, -140.0, -125.0])
        return plotting.plot_history(h)
    if name == "plot_latent_scatter":
        return plotting.plot_latent_scatter(*_scatter_data())
    if name == "plot_manifold":
        grid = torch.linspace(-1.5, 1.5, 5)
        return plotting.plot_manifold(torch.rand(25, 784, generator=g), grid.tolist())
    return plotting.plot_rate_distortion([42.2, 19.6, 6.0], [97.7, 111.3, 148.7], [0.25, 1, 4])


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


def test_rate_distortion_labels_inside_the_axes():
    fig = _figure("plot_rate_distortion")
    try:
        fig.canvas.draw()
        ax = fig.axes[0]
        box = ax.get_window_extent()
        for t in ax.texts:
            e = t.get_window_extent()
            assert box.x0 <= e.x0 and e.x1 <= box.x1 and box.y0 <= e.y0 and e.y1 <= box.y1, (
                f"label {t.get_text()!r} at {e} leaves the axes {box}")
    finally:
        plt.close(fig)


def _luminance(colour) -> float:
    rgb = np.array(to_rgb(colour))
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(lin @ [0.2126, 0.7152, 0.0722])


def test_latent_scatter_classes_differ_without_colour():
    fig = _figure("plot_latent_scatter")
    try:
        ax = fig.axes[0]
        markers = [c.get_paths()[0].vertices.round(3).tobytes() for c in ax.collections]
        assert len(ax.collections) == 10 and len(set(markers)) == 10, "one marker per digit"
        labels = sorted(t.get_text() for t in ax.texts if t.get_text().strip())
        assert labels == [str(d) for d in range(10)], f"direct labels: {labels}"
        for c in ax.collections:
            colour = c.get_facecolor()[0][:3]
            # white has contrast ratio 1; (1.05) / (L + 0.05) >= 1.5 keeps each colour visible
            contrast = 1.05 / (_luminance(colour) + 0.05)
            assert contrast >= 1.5, f"colour {colour} has contrast {contrast:.2f} on white"
    finally:
        plt.close(fig)


@pytest.mark.parametrize("pair", [(0, 5), (1, 4), (7, 9), (4, 9)])
def test_latent_scatter_pairs_differ_in_lightness_or_shape(pair):
    a, b = (plotting.DIGIT_COLOURS[d] for d in pair)
    assert plotting.DIGIT_MARKERS[pair[0]] != plotting.DIGIT_MARKERS[pair[1]]
    assert abs(_luminance(a) - _luminance(b)) > 0.05, f"{pair}: {a} and {b} look alike in grey"


def test_styled_keeps_what_the_figure_changed_and_restores_its_style():
    before, size = matplotlib.is_interactive(), plt.rcParams["font.size"]

    @plotting._styled
    def loads_a_backend() -> None:          # as Jupyter's inline backend does on first use
        assert plt.rcParams["font.size"] == plotting.STYLE["font.size"]
        matplotlib.interactive(not before)

    try:
        loads_a_backend()
        assert matplotlib.is_interactive() is (not before), "interactive was reset"
        assert plt.rcParams["font.size"] == size, "STYLE was not restored"
    finally:
        matplotlib.interactive(before)
