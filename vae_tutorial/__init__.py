"""vae_tutorial: the tested PyTorch package behind the book *VAE, Derived*.

Modules, one concept each: :mod:`~vae_tutorial.losses` (the homework API),
:mod:`~vae_tutorial.sampling`, :mod:`~vae_tutorial.estimators`, :mod:`~vae_tutorial.joint`,
:mod:`~vae_tutorial.models`, :mod:`~vae_tutorial.inference`, :mod:`~vae_tutorial.data`,
:mod:`~vae_tutorial.training`, :mod:`~vae_tutorial.plotting`; :mod:`~vae_tutorial.explorers`
(explorers that compute in the page, drawn by Jupyter or the book) is not imported here.
"""

from vae_tutorial import data, estimators, joint, losses, models, quadrature, sampling, training

__all__ = ["data", "estimators", "joint", "losses", "models", "quadrature", "sampling", "training"]
__version__ = "0.1.0"
