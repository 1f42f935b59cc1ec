r"""The joint-likelihood view: :math:`\log p_{\theta,\phi}(x, \varepsilon)` by a change of
variables.

For a fixed :math:`x`, the reparameterization
:math:`z = g(\varepsilon) = \mu_\phi(x) + \sigma_\phi(x) \odot \varepsilon` is a bijection of
:math:`\mathbb{R}^L` with a diagonal Jacobian
:math:`\operatorname{diag}\sigma`, so the model's joint density of :math:`(x, \varepsilon)` is

.. math::
    \begin{aligned}
    \log p_{\theta,\phi}(x, \varepsilon)
    &= \log p_\theta(x, z) + \sum_{i=1}^L \log\sigma_i \\
    &= \log p_\theta(x \mid z) + \log p(z) - \log q_\phi(z \mid x) + \log q(\varepsilon),
    \end{aligned}

and :math:`\mathbb{E}_{\varepsilon \sim \mathcal{N}(0, I)}[\log p_{\theta,\phi}(x, \varepsilon)]
= \mathcal{L}(x) - H(q(\varepsilon))`: maximizing the ELBO maximizes an expected joint
log-likelihood, since :math:`H(\mathcal{N}(0, I_L)) = \tfrac L2 (1 + \log 2\pi)` is a constant.

Works for a :class:`~vae_tutorial.models.VAE` (whose encoder gives :math:`\mu, \log\sigma^2`) and
for any model with ``log_joint(x, z)`` such as :class:`~vae_tutorial.models.LinearGaussian`, with
a Gaussian :math:`q` given as ``mu``/``logvar``.

References:
    - "Variational Auto-Encoders Optimize a Joint", a blog post of 21 November 2016 (its author
      is not named in the text).
    - Kingma & Welling (2014), section 2.4.

The entropy of a diagonal Gaussian, :func:`entropy_normal_diag`, is here too: under the same
change of variables it is :math:`H(q(z)) = H(q(\varepsilon)) + \sum_j \log\sigma_j`.

Introduced in the chapter "The joint-likelihood view" (:func:`entropy_normal_diag` in "KL
divergence").
"""

from __future__ import annotations

import math

import torch

from vae_tutorial._checks import (
    check_reduction,
    check_same_shape,
    check_tensor,
    is_validation_enabled,
    reduce,
)
from vae_tutorial.estimators import log_joint
from vae_tutorial.sampling import reparameterize

__all__ = ["entropy_normal_diag", "log_det_jacobian", "log_joint_eps", "standard_normal_entropy"]

_LOG_2PI = math.log(2.0 * math.pi)


def log_det_jacobian(logvar: torch.Tensor) -> torch.Tensor:
    r"""Log-determinant of the Jacobian of
    :math:`\varepsilon \mapsto z = \mu + \sigma \odot \varepsilon`.

    .. math::
        \log \Big|\det \frac{\partial z}{\partial \varepsilon^\top}\Big|
        = \log \prod_{i=1}^L \sigma_i = \tfrac12 \sum_{i=1}^L \log\sigma_i^2

    Args:
        logvar: :math:`\log\sigma^2`.

    Shape:
        - logvar: :math:`(*, L)`.
        - Output: :math:`(*)`.

    Returns:
        :math:`\sum_i \log\sigma_i` in nats (a log volume ratio).

    Raises:
        TypeError: If ``logvar`` is not a floating-point tensor.

    Examples:
        >>> import math
        >>> import torch
        >>> from vae_tutorial import joint
        >>> logvar = torch.tensor([[0.0, math.log(4.0)]])  # sigma = (1, 2)
        >>> joint.log_det_jacobian(logvar)                 # log(1 * 2)
        tensor([0.6931])

    Introduced in the chapter "The joint-likelihood view".
    """
    if is_validation_enabled():
        check_tensor("logvar", logvar, min_dim=1)
    # \log|\det J| = \sum_i \log\sigma_i = (1/2) \sum_i \log\sigma_i^2
    return 0.5 * logvar.sum(-1)


def standard_normal_entropy(dim: int) -> float:
    r"""Differential entropy of :math:`\mathcal{N}(0, I_L)`: :math:`\tfrac L2 (1 + \log 2\pi)` nats.

    Args:
        dim: L.

    Returns:
        :math:`H(q(\varepsilon))` in nats.

    Raises:
        ValueError: If ``dim < 1``.

    Examples:
        >>> from vae_tutorial import joint
        >>> round(joint.standard_normal_entropy(2), 4)     # (2/2)(1 + log 2 pi)
        2.8379
    """
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be an int >= 1; got {dim!r}")
    # H(N(0, I_L)) = (L/2)(1 + \log 2\pi)
    return 0.5 * dim * (1.0 + _LOG_2PI)


def entropy_normal_diag(logvar: torch.Tensor, *, reduction: str = "none") -> torch.Tensor:
    r"""Differential entropy of a diagonal Gaussian.

    .. math::
        H\big(\mathcal{N}(\mu, \operatorname{diag}\sigma^2)\big)
        = -\mathbb{E}[\log q(z)] = \tfrac12 \sum_{j=1}^L \big(1 + \log 2\pi + \log\sigma_j^2\big)

    It does not depend on the mean.

    Args:
        logvar: Log-variances :math:`\log\sigma^2`.
        reduction: ``"none"`` (default), ``"mean"`` or ``"sum"`` over the batch dims.

    Shape:
        - logvar: :math:`(*, L)`.
        - Output: :math:`(*)` if ``reduction="none"``, else scalar.

    Returns:
        The entropy in nats (may be negative for a narrow Gaussian).

    Raises:
        TypeError: If ``logvar`` is not a floating-point tensor.
        ValueError: If it is not finite or ``reduction`` is unknown.

    References:
        Cover & Thomas (2006), theorem 8.4.1.

    Examples:
        >>> import torch
        >>> from vae_tutorial import joint
        >>> logvar = torch.zeros(1, 2)                     # (B, L): sigma = 1
        >>> h = joint.entropy_normal_diag(logvar)
        >>> bool(torch.isclose(h, torch.tensor(joint.standard_normal_entropy(2))))
        True

    Introduced in the chapter "KL divergence"; the chapter "The joint-likelihood view" splits it
    as :math:`H(q(z)) = H(q(\varepsilon)) + \sum_j \log\sigma_j` (:func:`log_det_jacobian`).
    """
    check_reduction(reduction)
    check_tensor("logvar", logvar, min_dim=1)
    # H = 1/2 \sum_j (1 + \log 2\pi + \log\sigma_j^2)
    h = 0.5 * (1.0 + _LOG_2PI + logvar).sum(-1)
    return reduce(h, reduction)


def log_joint_eps(
    model: torch.nn.Module,
    x: torch.Tensor,
    eps: torch.Tensor,
    *,
    mu: torch.Tensor | None = None,
    logvar: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""The joint log-density :math:`\log p_{\theta,\phi}(x, \varepsilon)` of data and noise.

    .. math::
        \log p_{\theta,\phi}(x, \varepsilon) = \log p_\theta(x \mid z) + \log p(z)
        + \sum_{i=1}^L \log\sigma_{\phi,i}(x), \qquad
        z = \mu_\phi(x) + \sigma_\phi(x) \odot \varepsilon

    Args:
        model: A VAE (``encode``/``decode``) or a model with ``log_joint(x, z)``.
        x: Data points.
        eps: Standard normal noise, one or ``K`` draws per data point.
        mu: Means of :math:`q(z \mid x)`; default: ``model.encode(x)``.
        logvar: Log-variances of :math:`q(z \mid x)`, the shape of ``mu``; required with ``mu``.

    Shape:
        - x: :math:`(B, D)`; mu, logvar: :math:`(B, L)`.
        - eps: :math:`(B, L)` or :math:`(K, B, L)`.
        - Output: :math:`(B)` or :math:`(K, B)`.

    Returns:
        :math:`\log p_{\theta,\phi}(x, \varepsilon)` in nats per example (per sample of
        :math:`\varepsilon`).

    Raises:
        TypeError: If inputs are not floating-point tensors, or the model has no encoder and
            ``mu``/``logvar`` were not given.
        ValueError: If shapes do not match.

    References:
        "Variational Auto-Encoders Optimize a Joint" (2016), section "Optimizing a joint";
        Kingma & Welling (2014), section 2.4.

    Examples:
        >>> import torch
        >>> from vae_tutorial import joint, losses
        >>> from vae_tutorial.models import VAE
        >>> _ = torch.manual_seed(0)
        >>> model = VAE(data_dim=6, hidden_dim=8, latent_dim=2)
        >>> x = torch.rand(4, 6).round()                   # (B, D)
        >>> eps = torch.randn(500, 4, 2)                   # (K, B, L)
        >>> with torch.no_grad():
        ...     log_p = joint.log_joint_eps(model, x, eps)   # (K, B)
        ...     mu, logvar = model.encode(x)
        ...     bound = losses.elbo(x, model.decode(mu + (0.5 * logvar).exp() * eps),
        ...                         mu, logvar, reduction="none")
        >>> log_p.shape
        torch.Size([500, 4])
        >>> # E_eps[log p(x, eps)] = ELBO - H(N(0, I)), up to Monte Carlo error
        >>> gap = log_p.mean(0) - (bound - joint.standard_normal_entropy(2))
        >>> bool((gap.abs() < 0.2).all())
        True

    Introduced in the chapter "The joint-likelihood view".
    """
    if (mu is None) != (logvar is None):
        raise ValueError("mu and logvar must be given together (or both left out)")
    if mu is None:
        if not hasattr(model, "encode"):
            raise TypeError(
                f"model {type(model).__name__} has no encode(x); "
                "pass mu and logvar of q(z|x)"
            )
        mu, logvar = model.encode(x)
    if is_validation_enabled():
        check_tensor("eps", eps, min_dim=1)
        check_same_shape("logvar", logvar, "mu", mu)
        if eps.shape[-mu.dim():] != mu.shape:
            raise ValueError(
                f"eps must have shape {tuple(mu.shape)} or "
                f"(K, *{tuple(mu.shape)}); got {tuple(eps.shape)}"
            )
    # z = \mu + \sigma \odot \varepsilon
    z = reparameterize(mu.expand(eps.shape), logvar.expand(eps.shape), eps=eps)
    # \log p(x, \varepsilon) = \log p(x|z) + \log p(z) + \sum_i \log\sigma_i
    return log_joint(model, x, z) + log_det_jacobian(logvar)
