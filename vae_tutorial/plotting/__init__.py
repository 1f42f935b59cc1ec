r"""Figures for the chapters, one module per topic; every name is importable from here.

Every function returns a ``matplotlib.figure.Figure`` and never calls ``plt.show()``; axes carry
labels with units and a title that says what to see.

* ``vae_tutorial.plotting.style``: the palette
  (:data:`~vae_tutorial.plotting.style.OKABE_ITO`, colour-blind safe), the digit colours and
  markers, the figure style and the :func:`~vae_tutorial.plotting.style.styled` decorator.
* ``vae_tutorial.plotting.latent_models``: shallow against deep, Bayes on a grid, the cost of
  the evidence (chapter "Latent variable models and Bayes' rule").
* ``vae_tutorial.plotting.divergences``: KL fits, Monte Carlo convergence, Jensen, curves
  (chapters "KL divergence" and "Jensen's inequality and the ELBO").
* ``vae_tutorial.plotting.bounds``: the bound against K, weight degeneracy (chapter
  "Importance sampling").
* ``vae_tutorial.plotting.reparameterization``: gradient variance, the change of variables
  (chapters "Reparameterization" and "The joint-likelihood view").
* ``vae_tutorial.plotting.digits``: images, reconstructions, history, latent space, manifold,
  rate and distortion (chapter "A VAE on real digits").
* ``vae_tutorial.plotting.practice``: the KL per latent unit, the aggregate posterior against
  the prior (chapter "VAEs in practice").

Introduced across the chapters; the image figures in "A VAE on real digits".
"""

from vae_tutorial.plotting.bounds import plot_bound_vs_k, plot_weight_degeneracy
from vae_tutorial.plotting.digits import (
    image_grid,
    plot_history,
    plot_latent_scatter,
    plot_manifold,
    plot_rate_distortion,
    reconstruction_grid,
)
from vae_tutorial.plotting.divergences import (
    plot_curves,
    plot_jensen,
    plot_kl_fits,
    plot_mc_convergence,
)
from vae_tutorial.plotting.latent_models import (
    plot_bayes_1d,
    plot_evidence_cost,
    plot_shallow_vs_deep,
)
from vae_tutorial.plotting.practice import plot_aggregate_posterior, plot_unit_kl
from vae_tutorial.plotting.reparameterization import (
    plot_change_of_variables,
    plot_gradient_variance,
)
from vae_tutorial.plotting.style import (
    DIGIT_COLOURS,
    DIGIT_MARKERS,
    MAX_WIDTH_IN,
    OKABE_ITO,
    STYLE,
    styled,  # noqa: F401  (the decorator of every figure; not a figure, so not in __all__)
)

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
    "plot_unit_kl",
    "plot_manifold",
    "plot_mc_convergence",
    "plot_rate_distortion",
    "plot_shallow_vs_deep",
    "plot_weight_degeneracy",
    "reconstruction_grid",
]
