r"""Monte Carlo KL divergences, with their standard errors: the check on the closed forms.

* :func:`kl_monte_carlo`: :math:`\mathrm{KL}(q \,\|\, p) \approx \frac1K \sum_k
  [\log q(z_k) - \log p(z_k)]` from log densities at samples of :math:`q`.
* :func:`kl_normal_mc`: the same between diagonal Gaussians, to compare with
  :func:`vae_tutorial.losses.kl_normal_normal`.

Both return a :class:`~vae_tutorial.estimators.MonteCarloEstimate` and are importable from
:mod:`vae_tutorial.estimators`.

Introduced in the chapter "KL divergence".
"""

from __future__ import annotations

import math

import torch

from vae_tutorial import losses
from vae_tutorial._checks import check_positive_int, check_same_shape, check_tensor, shape_str
from vae_tutorial.estimators.weights import MonteCarloEstimate
from vae_tutorial.sampling import reparameterize

__all__ = ["kl_monte_carlo", "kl_normal_mc"]


def kl_monte_carlo(log_q: torch.Tensor, log_p: torch.Tensor) -> MonteCarloEstimate:
    r"""Monte Carlo KL divergence from log densities at samples of :math:`q`.

    .. math::
        \mathrm{KL}(q \,\|\, p) = \mathbb{E}_{q}\Big[\log \frac{q(z)}{p(z)}\Big]
        \approx \frac1K \sum_{k=1}^K \big[\log q(z_k) - \log p(z_k)\big], \qquad z_k \sim q

    Args:
        log_q: :math:`\log q(z_k)` at K samples from :math:`q`.
        log_p: :math:`\log p(z_k)` at the same samples.

    Shape:
        - log_q, log_p: :math:`(K, *)`, samples at dim 0.
        - Output fields: :math:`(*)`.

    Returns:
        A :class:`MonteCarloEstimate` in nats: unbiased, and with a standard error that tells how
        far from the exact value it may be.

    Raises:
        TypeError: If an input is not a floating-point tensor.
        ValueError: If the shapes differ or K < 2 (no standard error from one sample).

    Introduced in the chapter "KL divergence".
    """
    check_tensor("log_q", log_q, min_dim=1)
    check_tensor("log_p", log_p, min_dim=1)
    check_same_shape("log_p", log_p, "log_q", log_q)
    k = log_q.shape[0]
    if k < 2:
        raise ValueError(
            f"log_q must hold K >= 2 samples at dim 0; got shape {shape_str(log_q.shape)}"
        )
    # \log q(z_k) - \log p(z_k)
    log_ratio = log_q - log_p
    return MonteCarloEstimate(
        estimate=log_ratio.mean(0),
        standard_error=log_ratio.std(0) / math.sqrt(k),
        n_samples=k,
    )


def kl_normal_mc(
    mu_q: torch.Tensor,
    logvar_q: torch.Tensor,
    mu_p: torch.Tensor,
    logvar_p: torch.Tensor,
    n_samples: int,
    *,
    eps: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> MonteCarloEstimate:
    r"""Monte Carlo KL between diagonal Gaussians, the check on the closed form.

    Draws :math:`z_k = \mu_q + \sigma_q \odot \varepsilon_k` and averages
    :math:`\log q(z_k) - \log p(z_k)` (:func:`kl_monte_carlo`).

    Args:
        mu_q, logvar_q: Parameters of :math:`q`.
        mu_p, logvar_p: Parameters of :math:`p`, broadcastable with those of :math:`q`.
        n_samples: K >= 2.
        eps: Standard normal noise of shape ``(K, *mu_q.shape)``.
        generator: Optional ``torch.Generator``.

    Shape:
        - mu_q, logvar_q: :math:`(*, L)`; mu_p, logvar_p: broadcastable.
        - Output fields: :math:`(*)`.

    Returns:
        A :class:`MonteCarloEstimate` in nats, to compare with
        :func:`vae_tutorial.losses.kl_normal_normal`.

    Raises:
        TypeError: If an input is not a floating-point tensor.
        ValueError: If shapes do not match or ``n_samples < 2``.

    Introduced in the chapter "KL divergence".
    """
    check_positive_int("n_samples", n_samples)
    z = reparameterize(mu_q, logvar_q, eps, n_samples, generator=generator)  # (K, *, L)
    log_q = losses.log_normal_diag(z, mu_q, logvar_q)
    log_p = losses.log_normal_diag(z, mu_p, logvar_p)
    return kl_monte_carlo(log_q, log_p)
