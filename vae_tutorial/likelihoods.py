r"""Log-likelihoods of decoders other than the Bernoulli, with the conventions of
:mod:`vae_tutorial.losses`: nats per example, event dims (the last) summed, ``reduction`` over
the batch dims.

* :func:`log_gaussian`: :math:`\log \mathcal{N}(x; \mu_\theta(z), \sigma_x^2 I)` with one
  variance shared by all pixels (fixed, or learned as in the :math:`\sigma`-VAE, Rybkin et al.
  2021).
* :func:`continuous_bernoulli_log_normalizer`: :math:`\log C(\ell)`, what the Bernoulli
  likelihood of grey values lacks to be a density (Loaiza-Ganem & Cunningham 2019).

Introduced in the chapter "VAEs in practice".
"""

from __future__ import annotations

import math

import torch

from vae_tutorial._checks import (
    check_reduction,
    check_tensor,
    is_validation_enabled,
    reduce,
    shape_str,
)
from vae_tutorial.losses import log_normal_diag

__all__ = ["continuous_bernoulli_log_normalizer", "log_gaussian"]

_LOG_2 = math.log(2.0)


def log_gaussian(
    x: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor, *, reduction: str = "none"
) -> torch.Tensor:
    r"""Log-likelihood of a Gaussian decoder,
    :math:`\log \mathcal{N}(x; \mu_\theta(z), \sigma_x^2 I)`, summed over the event dim; ``logvar``
    may be one shared value.

    .. math::
        \log \mathcal{N}(x; \mu_\theta(z), \sigma_x^2 I_D)
        = -\frac{D}{2}\log(2\pi\sigma_x^2) - \frac{\lVert x - \mu_\theta(z) \rVert^2}{2\sigma_x^2}

    :func:`~vae_tutorial.losses.log_normal_diag` with ``logvar`` broadcast to the shape of
    ``mean``: a scalar ``logvar`` is the shared variance of the :math:`\sigma`-VAE, a ``(D,)``
    one a variance per pixel.

    Args:
        x: Data, e.g. grey values in [0, 1].
        mean: Decoder means :math:`\mu_\theta(z)`, broadcastable with ``x``.
        logvar: :math:`\log\sigma_x^2`, broadcastable to ``mean`` (a 0-dim tensor for a shared
            variance).
        reduction: ``"none"`` (default), ``"mean"`` or ``"sum"`` over the batch dims.

    Shape:
        - x: :math:`(*, D)`.
        - mean: broadcastable with ``x``, e.g. ``(K, B, D)`` against ``x`` of shape ``(B, D)``.
        - logvar: :math:`()`, :math:`(D,)` or any shape that broadcasts to ``mean``.
        - Output: the broadcast batch shape if ``reduction="none"``, else scalar.

    Returns:
        :math:`\log p_\theta(x \mid z)` in nats per example (a density: it can be positive).

    Raises:
        TypeError: If an input is not a floating-point tensor.
        ValueError: If ``logvar`` does not broadcast to ``mean``, shapes do not match, values are
            not finite, or ``reduction`` is unknown.

    References:
        Kingma & Welling (2014), appendix C.2; Rybkin, Daniilidis & Levine (2021), eq. 3 (the
        shared variance).

    Examples:
        >>> import torch
        >>> from vae_tutorial import likelihoods
        >>> x, mean = torch.zeros(2, 3), torch.zeros(2, 3)       # (B, D), at the mean
        >>> likelihoods.log_gaussian(x, mean, torch.tensor(0.0))      # -3/2 log(2 pi) each
        tensor([-2.7568, -2.7568])

    Introduced in the chapter "VAEs in practice".
    """
    check_reduction(reduction)
    if is_validation_enabled():
        check_tensor("logvar", logvar)
        check_tensor("mean", mean, min_dim=1)
        try:
            torch.broadcast_shapes(logvar.shape, mean.shape)
        except RuntimeError:
            raise ValueError(
                f"logvar must broadcast to mean {shape_str(mean.shape)}; "
                f"got {shape_str(logvar.shape)}"
            ) from None
    # \log N(x; \mu, \sigma_x^2 I) = \sum_j \log N(x_j; \mu_j, \sigma_x^2): log_normal_diag
    return log_normal_diag(x, mean, logvar.expand_as(mean), reduction=reduction)


def continuous_bernoulli_log_normalizer(
    logits: torch.Tensor, *, reduction: str = "none"
) -> torch.Tensor:
    r"""Log normalizer of the continuous Bernoulli, :math:`\sum_j \log C(\ell_j)`, summed over
    the event dim.

    The Bernoulli "likelihood"
    :math:`\operatorname{sigmoid}(\ell)^x \operatorname{sigmoid}(-\ell)^{1 - x}` of a grey value
    :math:`x \in [0, 1]` integrates over :math:`[0, 1]` to :math:`1 / C(\ell)`, not to 1;
    the continuous Bernoulli multiplies it by

    .. math::
        C(\ell) = \frac{2 \operatorname{artanh}(1 - 2\lambda)}{1 - 2\lambda}
        = \frac{\ell}{\tanh(\ell / 2)} \ \ge 2,
        \qquad \lambda = \operatorname{sigmoid}(\ell),

    with :math:`C(0) = 2` (Loaiza-Ganem & Cunningham write :math:`\lambda` for
    :math:`\operatorname{sigmoid}(\ell)`). So :func:`~vae_tutorial.losses.log_bernoulli` plus this
    is the log density :math:`\log \mathcal{CB}(x; \ell)`. Computed from the logits:
    :math:`\log C = \log|\ell| - \log(1 - e^{-|\ell|}) + \log(1 + e^{-|\ell|})`, and by its
    Taylor series :math:`\log 2 + \ell^2/12 - 7\ell^4/1440` for :math:`|\ell| < 10^{-2}`.

    Args:
        logits: Decoder logits :math:`\ell`.
        reduction: ``"none"`` (default), ``"mean"`` or ``"sum"`` over the batch dims.

    Shape:
        - logits: :math:`(*, D)`.
        - Output: :math:`(*)` if ``reduction="none"``, else scalar.

    Returns:
        :math:`\sum_j \log C(\ell_j)` in nats per example (:math:`\ge D \log 2`).

    Raises:
        TypeError: If ``logits`` is not a floating-point tensor.
        ValueError: If it has no event dim, non-finite values, or ``reduction`` is unknown.

    References:
        Loaiza-Ganem & Cunningham (2019), eq. 7 (the normalizing constant) and section 3.

    Examples:
        >>> import torch
        >>> from vae_tutorial import likelihoods
        >>> logits = torch.zeros(1, 3)            # l = 0: C = 2 per pixel
        >>> likelihoods.continuous_bernoulli_log_normalizer(logits)   # 3 log 2
        tensor([2.0794])

    Introduced in the chapter "VAEs in practice".
    """
    check_reduction(reduction)
    if is_validation_enabled():
        check_tensor("logits", logits, min_dim=1)
    a = logits.abs()
    small = a < 1e-2
    safe = torch.where(small, torch.ones_like(a), a)  # keeps log(0) out of the unused branch
    # \log C = \log|l| - \log(1 - e^{-|l|}) + \log(1 + e^{-|l|})   (C = l / \tanh(l / 2))
    exact = torch.log(safe) - torch.log(-torch.expm1(-safe)) + torch.log1p(torch.exp(-safe))
    # \log C = \log 2 + l^2 / 12 - 7 l^4 / 1440 + O(l^6)
    taylor = _LOG_2 + a.pow(2) / 12.0 - 7.0 * a.pow(4) / 1440.0
    log_c = torch.where(small, taylor, exact).sum(-1)
    return reduce(log_c, reduction, "logits")
