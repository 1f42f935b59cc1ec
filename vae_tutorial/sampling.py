r"""Sampling from the approximate posterior: the reparameterization trick.

Introduced in the chapter "The reparameterization trick".

References:
    [KW14] D. P. Kingma and M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014, section 2.4.
"""

from __future__ import annotations

import torch

from vae_tutorial._checks import (
    check_positive_int,
    check_same_shape,
    check_tensor,
    is_validation_enabled,
    shape_str,
)

__all__ = ["reparameterize"]


def reparameterize(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    eps: torch.Tensor | None = None,
    n_samples: int | None = None,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Draw :math:`z \sim \mathcal{N}(\mu, \operatorname{diag}\sigma^2)` as a differentiable function of ``mu`` and ``logvar``.

    .. math::
        z = \mu + \sigma \odot \varepsilon, \qquad \sigma = \exp(\tfrac12 \log\sigma^2),
        \qquad \varepsilon \sim \mathcal{N}(0, I)

    Gradients flow to ``mu`` and ``logvar`` through the deterministic map; the randomness sits in
    :math:`\varepsilon`, which does not depend on them.

    Args:
        mu: Means.
        logvar: Log-variances, the shape of ``mu``.
        eps: Standard normal noise to use instead of drawing it (for tests and chapters).
        n_samples: If given, draw ``K = n_samples`` samples per example along a new dim 0.
        generator: Optional ``torch.Generator`` for the noise.

    Shape:
        - mu, logvar: :math:`(*, L)`, e.g. ``(B, L)``.
        - eps: the output shape.
        - Output: :math:`(*, L)`, or :math:`(K, *, L)` with ``n_samples=K``.

    Returns:
        Samples :math:`z` in latent units.

    Raises:
        TypeError: If an input is not a floating-point tensor or ``n_samples`` not an int.
        ValueError: If shapes do not match, values are not finite, or ``n_samples < 1``.

    References:
        Kingma & Welling (2014), section 2.4 and eq. 10 (:math:`z = \mu + \sigma \odot \epsilon`).

    Introduced in the chapter "The reparameterization trick".
    """
    if is_validation_enabled():
        check_tensor("mu", mu, min_dim=1)
        check_tensor("logvar", logvar, min_dim=1)
        check_same_shape("logvar", logvar, "mu", mu)
        if n_samples is not None:
            check_positive_int("n_samples", n_samples)
    shape = mu.shape if n_samples is None else (n_samples, *mu.shape)
    if eps is None:
        eps = torch.randn(shape, dtype=mu.dtype, device=mu.device, generator=generator)
    elif is_validation_enabled():
        check_tensor("eps", eps, min_dim=1)
        if eps.shape != torch.Size(shape):
            raise ValueError(f"eps must have shape {shape_str(shape)}; got {shape_str(eps.shape)}")
    # z = \mu + \sigma \odot \epsilon, with \sigma = \exp(\log\sigma^2 / 2)
    return mu + torch.exp(0.5 * logvar) * eps
