r"""The book's figure style: the palette, the sizes, and the decorator that applies them.

Colours come from the colour-blind-safe Okabe-Ito palette (:data:`OKABE_ITO`); digit classes
have their own colours and markers (:data:`DIGIT_COLOURS`, :data:`DIGIT_MARKERS`).

Introduced across the chapters.
"""

from __future__ import annotations

import functools

import matplotlib.pyplot as plt
import numpy as np
import torch

__all__ = [
    "DIGIT_COLOURS",
    "DIGIT_MARKERS",
    "MAX_WIDTH_IN",
    "OKABE_ITO",
    "STYLE",
    "as_images",
    "as_numpy",
    "styled",
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
#: ``styled``). Figures are at most :data:`MAX_WIDTH_IN` inches wide and their text at least
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


def styled(func):  # noqa: ANN001, ANN202
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


def as_numpy(t) -> np.ndarray:  # noqa: ANN001
    """A tensor (detached, on the CPU) or an array-like as a NumPy array."""
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def as_images(x: torch.Tensor | np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
    """Images of any batch shape as a NumPy array ``(N, H, W)``."""
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    return arr.reshape(-1, *image_shape)
