"""Models with exact evidence for the grader's kit: a tiny Bernoulli VAE whose log p(x) is computed
by quadrature, and the linear-Gaussian model's weights.

Part of :mod:`vae_tutorial.testing`; introduced on the page "Using the package in homework".
"""

from __future__ import annotations

import math

import torch

from vae_tutorial import losses
from vae_tutorial.models import VAE, LinearGaussian
from vae_tutorial.testing.report import F64

# --------------------------------------------------------------------------------------------
# Models with exact evidence
# --------------------------------------------------------------------------------------------


def tiny_bernoulli_vae(*, latent_dim: int = 2, seed: int = 0) -> VAE:
    r"""A small Bernoulli :class:`~vae_tutorial.models.VAE` (``D = 8``, 16 hidden units,
    ``L = 1`` or ``2``) in float64 whose :math:`\log p(x)` :func:`quadrature_log_evidence`
    computes exactly.

    The weights are drawn under ``seed`` (the global random state is left as it was); the
    decoder's output layer is scaled by 3, so that the posterior is narrower than the prior and
    the bounds have a gap to show.

    Args:
        latent_dim: L, 1 or 2 (quadrature costs :math:`n^L` decoder calls).
        seed: Seed of the weights.

    Returns:
        The model, in evaluation mode.

    Raises:
        ValueError: If ``latent_dim`` is not 1 or 2.

    Examples:
        >>> from vae_tutorial import testing
        >>> model = testing.tiny_bernoulli_vae()
        >>> model.data_dim, model.latent_dim
        (8, 2)
    """
    if latent_dim not in (1, 2):
        raise ValueError(f"latent_dim must be 1 or 2 (quadrature on a grid); got {latent_dim}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = VAE(data_dim=8, hidden_dim=16, latent_dim=latent_dim, activation="tanh")
    model = model.to(F64).eval()
    with torch.no_grad():
        model.decoder[-1].weight.mul_(3.0)
    return model


def vae_log_joint(model: VAE, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    r""":math:`\log p_\theta(x, z) = \log p_\theta(x \mid z) + \log \mathcal{N}(z; 0, I)` of a
    Bernoulli VAE, from its decoder.

    Shape:
        - x: :math:`(B, D)`; z: :math:`(*, B, L)` or broadcastable, e.g. ``(N, 1, L)``.
        - Output: the broadcast batch shape, e.g. ``(N, B)``.

    Returns:
        The log joint density in nats.
    """
    # \log p(x, z) = \log p(x|z) + \log p(z)
    return losses.log_bernoulli(x, model.decode(z)) + losses.log_standard_normal(z)


@torch.no_grad()
def quadrature_log_evidence(
    model: VAE, x: torch.Tensor, *, n_per_dim: int = 120, lim: float = 7.0
) -> torch.Tensor:
    r"""The exact :math:`\log p_\theta(x)` of a VAE with a 1-D or 2-D latent, by the midpoint
    rule on a grid over :math:`[-\text{lim}, \text{lim}]^L`.

    .. math::
        \log p(x) \approx \log \Delta^L
        + \operatorname{logsumexp}_n \big[\log p(x \mid z_n) + \log p(z_n)\big]

    The integrand is smooth and its Gaussian tails are below :math:`e^{-24}` at the edges, so the
    rule converges fast, far beyond any Monte Carlo estimate: for :func:`tiny_bernoulli_vae` the
    defaults (120 points per axis) agree with 800 points on :math:`[-8, 8]^2` to 1e-10 nats (the
    tests check it), and with Monte Carlo from the prior within its standard error.

    Args:
        model: A Bernoulli :class:`~vae_tutorial.models.VAE` with ``latent_dim`` 1 or 2.
        x: Data in [0, 1].
        n_per_dim: Grid points per latent axis.
        lim: Half-width of the grid, in prior standard deviations.

    Shape:
        - x: :math:`(B, D)`.
        - Output: :math:`(B)`.

    Returns:
        :math:`\log p_\theta(x)` in nats per example.

    Raises:
        ValueError: If the model's latent dim is not 1 or 2.

    Examples:
        >>> import torch
        >>> from vae_tutorial import estimators, testing
        >>> model = testing.tiny_bernoulli_vae()
        >>> x = torch.tensor([[1.0, 0, 1, 1, 0, 0, 1, 0]], dtype=torch.float64)
        >>> exact = testing.quadrature_log_evidence(model, x)
        >>> round(float(exact), 4)                          # nats
        -5.8503
        >>> iwae = estimators.log_likelihood(model, x, k=20000, chunk_size=5000)
        >>> bool(abs(iwae - exact) < 0.03)                  # Monte Carlo, 20,000 samples
        True
    """
    if model.latent_dim not in (1, 2):
        raise ValueError(f"model.latent_dim must be 1 or 2; got {model.latent_dim}")
    p = next(model.parameters())
    x = x.to(p.dtype)
    step = 2.0 * lim / n_per_dim
    axis = -lim + step * (torch.arange(n_per_dim, dtype=p.dtype) + 0.5)  # (n,)
    grid = torch.cartesian_prod(*([axis] * model.latent_dim)).reshape(-1, model.latent_dim)
    chunks = [vae_log_joint(model, x, z.unsqueeze(1)) for z in grid.split(20000)]  # (N, B)
    # \log p(x) \approx \log \Delta^L + logsumexp_n \log p(x, z_n)
    return model.latent_dim * math.log(step) + torch.logsumexp(torch.cat(chunks), dim=0)


def lg_weights(
    n: int, k: int, seed: int
) -> tuple[list[torch.Tensor], float]:
    """``n`` draws of ``k`` log weights (K, 1) for one x of a linear-Gaussian model, and the
    exact log p(x). The proposal q is diagonal, its mean half a posterior standard deviation off
    and its variances twice the posterior's: the IWAE gap falls from about 0.5 nats at K = 1 to
    about 0.01 at K = 64."""
    model = LinearGaussian.random(data_dim=3, latent_dim=2, noise_std=0.7, seed=3)
    x = torch.tensor([[1.5, -0.5, 0.8]], dtype=F64)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        post_mean, cov = model.posterior(x)  # (1, L), (L, L)
        mean = post_mean + 0.5 * torch.diagonal(cov).sqrt()
        logvar = torch.log(2.0 * torch.diagonal(cov)).expand_as(mean)
        exact = float(model.log_evidence(x))
        draws = []
        for _ in range(n):
            z = mean + torch.exp(0.5 * logvar) * torch.randn(k, 1, 2, generator=g, dtype=F64)
            # \log w = \log p(x, z) - \log q(z | x)
            draws.append(model.log_joint(x, z) - losses.log_normal_diag(z, mean, logvar))
    return draws, exact


