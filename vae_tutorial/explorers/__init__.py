r"""Explorers that compute in the reader's browser: in the static book and in a live kernel.

Each function returns an :class:`~vae_tutorial.explorers.spec.Explorer`, a Vega-Lite (version
5) chart whose controls are Vega-Lite parameters bound to HTML range inputs and whose curves and
numbers are Vega expressions, so moving a control recomputes them in the page with no Python
behind it:

* in JupyterLab (and Jupyter Notebook 7) the output's MIME type
  ``application/vnd.vegalite.v5+json`` is drawn by the Vega renderer that ships with JupyterLab,
  with no internet;
* in the rendered book the extension ``book/_ext/vega_explorers.py`` draws the same
  specification with vega, vega-lite and vega-embed served from the site (taken from npm at
  build time).

What cannot be written as a Vega expression (a trained decoder, Monte Carlo draws) is computed
by the package when the explorer is built and shipped inside the specification as data (fixed
standard-normal draws, decoded images), so the page's numbers are still the package's.

A formula written again as a Vega expression (a Gaussian log density, the closed-form KL) is
checked against the package in a browser test (``tests/test_explorer_*.py``): each control is
set to several values and every printed number is compared with the package.

One module per explorer, named by what it shows; :mod:`~vae_tutorial.explorers.spec` holds
the pieces they share. This package imports neither ipywidgets nor IPython: an explorer is
displayed through its ``_repr_mimebundle_``.
"""

from vae_tutorial.explorers.bayes import bayes_grid_explorer
from vae_tutorial.explorers.change_of_variables import change_of_variables_explorer
from vae_tutorial.explorers.collapse import unit_kl_explorer
from vae_tutorial.explorers.decoder import interpolation_explorer, latent_traversal_explorer
from vae_tutorial.explorers.elbo import elbo_explorer
from vae_tutorial.explorers.gradients import gradient_variance_explorer
from vae_tutorial.explorers.importance import importance_sampling_explorer
from vae_tutorial.explorers.kl import kl_explorer
from vae_tutorial.explorers.spec import MIME_TYPE, Explorer

__all__ = [
    "MIME_TYPE",
    "Explorer",
    "bayes_grid_explorer",
    "change_of_variables_explorer",
    "elbo_explorer",
    "gradient_variance_explorer",
    "importance_sampling_explorer",
    "interpolation_explorer",
    "kl_explorer",
    "latent_traversal_explorer",
    "unit_kl_explorer",
]
