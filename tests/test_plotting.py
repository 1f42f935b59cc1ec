"""The figures of ``vae_tutorial.plotting`` fit the book's text column and stay readable on a
phone, and tell apart what they compare without relying on colour alone.

Every figure function is drawn once on small made-up inputs: each figure is at most
``plotting.MAX_WIDTH_IN`` wide and no text in it is under 11 pt (chapters show 2x PNGs, so at a
phone's width labels stay at least 8 CSS px high). Then, per chapter: the mixture's components
differ in marker (ch. 1), curves in line style or marker (ch. 3-5), the change-of-variables panels
are stacked with equal masses (ch. 6), the digit scatter shows ten classes by marker shape and
direct label with no colour that vanishes on white (ch. 7). Last, :func:`plotting.styled` leaves
``interactive`` alone: restoring every rc setting after the first figure switched Jupyter's
inline backend off for all later figures of a notebook.
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


def _scatter_data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(10).repeat_interleave(30)                      # (300,)
    centres = torch.randn(10, 2, generator=g) * 2                        # (10, 2)
    z = centres[labels] + 0.5 * torch.randn(300, 2, generator=g)         # (300, 2)
    return z, labels


def _figure(name: str):  # noqa: C901
    g = torch.Generator().manual_seed(0)
    z = torch.linspace(-4.0, 4.0, 101)
    bell = torch.exp(-0.5 * z**2)
    if name == "plot_shallow_vs_deep":
        x_mix = torch.randn(30, 2, generator=g)
        z_mix = torch.arange(30) % 3
        means, covs = torch.randn(3, 2, generator=g), torch.eye(2).expand(3, 2, 2)
        x_deep, z_deep = torch.randn(30, 2, generator=g), torch.randn(30, generator=g)
        return plotting.plot_shallow_vs_deep(x_mix, z_mix, means, covs, x_deep, z_deep,
                                             means, 0.1 * covs)
    if name == "plot_bayes_1d":
        return plotting.plot_bayes_1d(z, bell, bell, bell, bell)
    if name == "plot_evidence_cost":
        rows = [{"latent_dim": d, "grid_error": 10.0 ** (d - 8), "mc_error": 0.1 * d,
                 "grid_evaluations": 1000} for d in (1, 2, 3)]
        return plotting.plot_evidence_cost(rows, per_dim=50, evals_per_second=1e6)
    if name == "plot_mc_convergence":
        return plotting.plot_mc_convergence([10, 100, 1000], [1.2, 1.05, 1.01],
                                            [0.3, 0.1, 0.03], 1.0)
    if name == "plot_kl_fits":
        return plotting.plot_kl_fits(z, bell, bell, bell, kls={"forward fit: KL(p || q)": 0.5})
    if name == "plot_jensen":
        return plotting.plot_jensen([0.5, 5.0], [0.4, 0.6])
    if name == "plot_curves":
        return plotting.plot_curves(
            [0, 1, 2], {"a": [0.0, 1.0, 2.0], "b": [1.0, 1.5, 2.5]}, hlines={"c": 1.0},
            xlabel="x", ylabel="y", title="t",
        )
    if name == "plot_curves_log":  # a gap that closes, on a log axis (chapter 3)
        return plotting.plot_curves(
            [0, 1, 2], {"gap": [0.2, 1e-2, 1e-4]}, hlines={"c": 0.1},
            xlabel="x", ylabel="y", title="t", yscale="log",
        )
    if name == "plot_weight_degeneracy":
        return plotting.plot_weight_degeneracy(
            {"p": torch.randn(100, generator=g) * 3, "q": torch.randn(100, generator=g)}
        )
    if name == "plot_bound_vs_k":
        return plotting.plot_bound_vs_k([1, 10, 100], [-5.0, -4.5, -4.2], exact=-4.1)
    if name == "plot_gradient_variance":
        return plotting.plot_gradient_variance(
            [1, 4, 16], {"score function": [30.0, 500.0, 2e4], "pathwise": [4.0, 16.0, 64.0]},
            xlabel="L, latent dimension (K = 1)",
        )
    if name == "plot_change_of_variables":
        return plotting.plot_change_of_variables(1.0, 0.5, interval=(0.5, 1.0))
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
                    val_elbo=[-190.0, -140.0, -125.0])
        return plotting.plot_history(h)
    if name == "plot_latent_scatter":
        return plotting.plot_latent_scatter(*_scatter_data())
    if name == "plot_manifold":
        grid = torch.linspace(-1.5, 1.5, 5)
        return plotting.plot_manifold(torch.rand(25, 784, generator=g), grid.tolist())
    if name == "plot_rate_distortion":
        return plotting.plot_rate_distortion([42.2, 19.6, 6.0], [97.7, 111.3, 148.7],
                                             [0.25, 1, 4])
    if name == "plot_unit_kl":
        kl = {run: torch.rand(16, generator=g).tolist()
              for run in ("ELBO (beta = 1)", "beta = 3", "beta = 3, KL warm-up", "free bits")}
        return plotting.plot_unit_kl(kl, free_bits=0.1)
    if name == "plot_aggregate_posterior":
        grid = torch.linspace(-3.5, 3.5, 41)
        zz = torch.stack(torch.meshgrid(grid, grid, indexing="ij"), -1)
        return plotting.plot_aggregate_posterior(grid, -0.3 * zz.pow(2).sum(-1),
                                                 torch.randn(200, 2, generator=g))
    raise KeyError(name)


FIGURES = sorted(n for n in plotting.__all__ if callable(getattr(plotting, n)))
FIGURES.append("image_grid_rows")  # image_grid with row labels
FIGURES.append("plot_curves_log")  # plot_curves with a log y-axis


def test_every_figure_function_is_drawn_here():
    for name in FIGURES:
        plt.close(_figure(name))  # KeyError: a new figure function has no case in _figure


def _font_sizes(fig) -> list[float]:  # noqa: ANN001
    fig.canvas.draw()  # creates the tick labels
    return [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


@pytest.mark.parametrize("name", FIGURES)
def test_width_and_text_size(name):
    fig = _figure(name)
    try:
        width = fig.get_size_inches()[0]
        assert width <= plotting.MAX_WIDTH_IN + 1e-9, f"{name}: {width} in wide"
        sizes = _font_sizes(fig)
        assert sizes and min(sizes) >= 11, f"{name}: text sizes {sorted(set(sizes))}"
    finally:
        plt.close(fig)


# Chapter 1
def test_mixture_components_differ_in_marker():
    fig = _figure("plot_shallow_vs_deep")
    try:
        scatters = fig.axes[0].collections
        paths = [tuple(map(tuple, s.get_paths()[0].vertices.round(3))) for s in scatters]
        assert len(scatters) == 3 and len(set(paths)) == 3, "components share a marker"
    finally:
        plt.close(fig)


# Chapters 3-4
@pytest.mark.parametrize("name", ["plot_curves", "plot_weight_degeneracy"])
def test_curves_differ_in_line_style(name):
    fig = _figure(name)
    try:
        curves = [ln for ln in fig.axes[0].get_lines() if len(ln.get_xdata()) > 2]
        styles = [ln.get_linestyle() for ln in curves]
        assert len(curves) >= 2 and len(set(styles)) == len(styles), styles
    finally:
        plt.close(fig)


def test_curves_log_axis_shows_a_closing_gap():
    fig = _figure("plot_curves_log")
    try:
        ax = fig.axes[0]
        lo, hi = ax.get_ylim()
        assert ax.get_yscale() == "log" and lo <= 1e-4 and hi >= 0.2, (ax.get_yscale(), lo, hi)
    finally:
        plt.close(fig)


# Chapters 5-6
def test_gradient_variance_curves_differ_by_marker():
    fig = _figure("plot_gradient_variance")
    lines = fig.axes[0].get_lines()
    plt.close(fig)
    assert len(lines) == 2
    assert lines[0].get_marker() != lines[1].get_marker()


def test_change_of_variables_is_stacked():
    fig = _figure("plot_change_of_variables")
    top, bottom = fig.axes[:2]
    plt.close(fig)
    assert top.get_position().y0 > bottom.get_position().y1  # one above the other


def test_change_of_variables_shows_equal_masses():
    fig = _figure("plot_change_of_variables")
    labels = [ax.get_legend().get_texts()[0].get_text() for ax in fig.axes]
    plt.close(fig)
    assert labels == ["mass 0.150", "mass 0.150"], labels


# Chapter 7
def test_unit_kl_labels_the_chapter_symbol():
    # chapter 8 and book/notation.md write the KL per unit as \mathcal{R}_u
    fig = _figure("plot_unit_kl")
    fig.canvas.draw()  # the mathtext parses
    assert r"$\mathcal{R}_u$" in fig.axes[0].get_ylabel()
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

    @plotting.styled
    def loads_a_backend() -> None:          # as Jupyter's inline backend does on first use
        assert plt.rcParams["font.size"] == plotting.STYLE["font.size"]
        matplotlib.interactive(not before)

    try:
        loads_a_backend()
        assert matplotlib.is_interactive() is (not before), "interactive was reset"
        assert plt.rcParams["font.size"] == size, "STYLE was not restored"
    finally:
        matplotlib.interactive(before)
