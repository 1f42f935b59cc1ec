r"""Latent variable models, one module each.

* :class:`VAE` (``vae_tutorial.models.vae``): MLP encoder :math:`q_\phi(z \mid x)` and
  Bernoulli MLP decoder :math:`p_\theta(x \mid z)` with a standard normal prior.
* :class:`LinearGaussian` (``vae_tutorial.models.linear_gaussian``):
  :math:`z \sim \mathcal{N}(0, I_L)`, :math:`x \mid z \sim \mathcal{N}(Wz + b, \sigma^2 I_D)`,
  whose evidence, posterior, ELBO and KL to the posterior are exact: the ground truth every bound
  in the book is measured against.
* :class:`GaussianMixture` (``vae_tutorial.models.mixture``): a discrete latent picks one of
  M Gaussians; exact evidence and posterior.

``from vae_tutorial.models import VAE, LinearGaussian, GaussianMixture`` imports all three.
"""

from vae_tutorial.models.linear_gaussian import LinearGaussian
from vae_tutorial.models.mixture import GaussianMixture
from vae_tutorial.models.vae import VAE

__all__ = ["GaussianMixture", "LinearGaussian", "VAE"]
