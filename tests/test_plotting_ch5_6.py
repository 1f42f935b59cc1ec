"""The figures of chapters 5 and 6 fit the book's text column and stay readable on a phone.

Each figure is at most ``plotting.MAX_WIDTH_IN`` wide, no text in it is smaller than 11 pt
(shown at a phone's width, labels stay legible), and where curves are told apart by colour
they are told apart by marker as well.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from vae_tutorial import plotting  # noqa: E402


def _font_sizes(fig) -> list[float]:  # noqa: ANN001
    fig.canvas.draw()  # creates the tick labels
    return [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


@pytest.fixture
def gradient_variance_figure():
    fig = plotting.plot_gradient_variance(
        [1, 4, 16], {"score function": [30.0, 500.0, 2e4], "pathwise": [4.0, 16.0, 64.0]},
        xlabel="L, latent dimension (K = 1)",
    )
    yield fig
    plt.close(fig)


@pytest.fixture
def change_of_variables_figure():
    fig = plotting.plot_change_of_variables(1.0, 0.5, interval=(0.5, 1.0))
    yield fig
    plt.close(fig)


def test_gradient_variance_fits_and_is_readable(gradient_variance_figure) -> None:  # noqa: ANN001
    fig = gradient_variance_figure
    assert fig.get_figwidth() <= plotting.MAX_WIDTH_IN, fig.get_figwidth()
    sizes = _font_sizes(fig)
    assert min(sizes) >= 11, sorted(sizes)[:5]


def test_gradient_variance_curves_differ_by_marker(gradient_variance_figure) -> None:  # noqa: ANN001
    lines = gradient_variance_figure.axes[0].get_lines()
    assert len(lines) == 2
    assert lines[0].get_marker() != lines[1].get_marker()


def test_change_of_variables_is_stacked_and_readable(change_of_variables_figure) -> None:  # noqa: ANN001
    fig = change_of_variables_figure
    assert fig.get_figwidth() <= plotting.MAX_WIDTH_IN, fig.get_figwidth()
    top, bottom = fig.axes[:2]
    assert top.get_position().y0 > bottom.get_position().y1  # one above the other
    sizes = _font_sizes(fig)
    assert min(sizes) >= 11, sorted(sizes)[:5]


def test_change_of_variables_shows_equal_masses(change_of_variables_figure) -> None:  # noqa: ANN001
    labels = [ax.get_legend().get_texts()[0].get_text() for ax in change_of_variables_figure.axes]
    assert labels == ["mass 0.150", "mass 0.150"], labels
