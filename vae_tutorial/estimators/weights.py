r"""The Monte Carlo core of the estimators: one result type, one chunked sampler, and the
statistics of log weights.

* :class:`MonteCarloEstimate`: what every Monte Carlo estimate of the package returns.
* :func:`stream_log_weights`: noise drawn in a fixed order, log weights evaluated ``chunk_size``
  samples at a time and combined with a running ``logsumexp`` (bounded memory; the answer does
  not depend on ``chunk_size``).
* :func:`log_mean_exp`, :func:`effective_sample_size`, :func:`log_standard_error`: the weights
  are handled in log space, since :math:`p(x \mid z)` of a 784-pixel image is of the order
  :math:`e^{-100}` and underflows in float32.

All of them are importable from :mod:`vae_tutorial.estimators`.

Introduced in the chapter "Importance sampling".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from vae_tutorial._checks import (
    check_dim,
    check_positive_int,
    check_samples,
    check_tensor,
    is_validation_enabled,
)

__all__ = [
    "MonteCarloEstimate",
    "effective_sample_size",
    "evidence_estimate",
    "log_mean_exp",
    "log_standard_error",
    "stream_log_weights",
]


@dataclass(frozen=True)
class MonteCarloEstimate:
    r"""A Monte Carlo estimate from ``K`` samples per example, and its standard error.

    The package's one result type for Monte Carlo: a sample mean :math:`\frac1K \sum_k f_k`
    (:func:`kl_monte_carlo`), or an estimate of the evidence held in log space,
    :math:`\log \hat p(x) = \log \frac1K \sum_k w_k` (:func:`naive_monte_carlo`,
    :func:`importance_sampling`), which also keeps its log weights.

    Attributes:
        estimate: The estimate, shape ``(*)``: the sample mean, or :math:`\log \hat p(x)` in nats.
            The exponential of the latter is unbiased for :math:`p(x)`; the log itself is biased
            low (Jensen), and with the encoder as proposal it is the IWAE bound.
        standard_error: Its estimated standard error, shape ``(*)``, in the units of
            ``estimate``: the sample standard deviation over :math:`\sqrt K`; for
            :math:`\log \hat p(x)` the relative standard error
            :math:`\widehat{\mathrm{se}}(\hat p)/\hat p` of :math:`\hat p(x)`, to first order the
            standard error of its log (``nan`` at K = 1).
        n_samples: K.
        log_weights: :math:`\log w_k` in nats, shape ``(K, *)``, for an evidence estimate;
            ``None`` for a sample mean.

    Evidence estimates also have ``log_evidence`` (= ``estimate``), ``evidence``,
    ``log_standard_error``, ``relative_standard_error`` (= ``standard_error``) and ``ess``.
    """

    estimate: torch.Tensor
    standard_error: torch.Tensor
    n_samples: int
    log_weights: torch.Tensor | None = None

    def _weights(self, what: str) -> torch.Tensor:
        if self.log_weights is None:
            raise AttributeError(
                f"{what} is defined for an evidence estimate (one with log_weights); "
                "this MonteCarloEstimate is a sample mean"
            )
        return self.log_weights

    @property
    def log_evidence(self) -> torch.Tensor:
        r""":math:`\log \hat p(x) = \log \frac1K \sum_k w_k`, shape ``(*)`` (the ``estimate``)."""
        self._weights("log_evidence")
        return self.estimate

    @property
    def evidence(self) -> torch.Tensor:
        r""":math:`\hat p(x)` itself (may underflow to 0 for high-dimensional x)."""
        return self.log_evidence.exp()

    @property
    def log_standard_error(self) -> torch.Tensor:
        r"""Log of the standard error of :math:`\hat p(x)`, :math:`\log(\hat s_w / \sqrt K)`
        (:func:`log_standard_error`; ``nan`` at K = 1)."""
        return _log_se_or_nan(self._weights("log_standard_error"))

    @property
    def relative_standard_error(self) -> torch.Tensor:
        r"""Standard error of :math:`\hat p(x)` divided by :math:`\hat p(x)` (unitless)."""
        self._weights("relative_standard_error")
        return self.standard_error

    @property
    def ess(self) -> torch.Tensor:
        r"""Effective sample size :math:`(\sum_k w_k)^2 / \sum_k w_k^2` in [1, K], shape ``(*)``
        (:func:`effective_sample_size`)."""
        return effective_sample_size(self._weights("ess"))


def _check_sample_dim(log_weights: torch.Tensor, dim: int, minimum: int = 1) -> None:
    """The checks of the log-weight reducers: a float tensor (under validation), a valid ``dim``
    and at least ``minimum`` samples along it (always: free, and the math fails otherwise)."""
    if is_validation_enabled():
        check_tensor("log_weights", log_weights, min_dim=1, finite=False)
    check_dim(dim, "log_weights", log_weights)
    check_samples("log_weights", log_weights, dim, minimum)


def log_mean_exp(log_weights: torch.Tensor, dim: int = 0) -> torch.Tensor:
    r"""The log of the mean of :math:`w = \exp(\log w)`, computed without exponentiating.

    .. math::
        \log \frac1K \sum_{k=1}^K w_k = \operatorname{logsumexp}_k(\log w_k) - \log K

    Args:
        log_weights: :math:`\log w_k` along ``dim``.
        dim: The sample dim (default 0).

    Shape:
        - log_weights: :math:`(K, *)` with ``dim=0``.
        - Output: :math:`(*)`.

    Returns:
        :math:`\log \bar w` in the units of ``log_weights`` (nats).

    Raises:
        TypeError: If ``log_weights`` is not a floating-point tensor or ``dim`` not an int.
        ValueError: If it has no dims, ``dim`` is out of range, or there are no samples
            along ``dim`` (``K = 0``: no mean, no :math:`\log K`).

    Examples:
        >>> import torch
        >>> from vae_tutorial import estimators
        >>> log_w = torch.log(torch.tensor([[1.0], [3.0]]))  # (K, B) = (2, 1)
        >>> estimators.log_mean_exp(log_w).exp()  # the mean weight, (1 + 3) / 2
        tensor([2.])
        >>> # no underflow
        >>> estimators.log_mean_exp(torch.tensor([[-1000.0], [-1000.0]]))
        tensor([-1000.])
    """
    _check_sample_dim(log_weights, dim)
    # \log \bar w = logsumexp_k \log w_k - \log K
    return torch.logsumexp(log_weights, dim=dim) - math.log(log_weights.shape[dim])


def effective_sample_size(log_weights: torch.Tensor, dim: int = 0) -> torch.Tensor:
    r"""Kish's effective sample size of importance weights given in log space.

    .. math::
        \mathrm{ESS} = \frac{\big(\sum_k w_k\big)^2}{\sum_k w_k^2}
        = \exp\big(2 \operatorname{logsumexp}_k \log w_k - \operatorname{logsumexp}_k 2\log w_k\big)

    It is ``K`` when all weights are equal and 1 when one weight carries all the mass (weight
    degeneracy).

    Args:
        log_weights: :math:`\log w_k` along ``dim``.
        dim: The sample dim (default 0).

    Shape:
        - log_weights: :math:`(K, *)` with ``dim=0``.
        - Output: :math:`(*)`, values in :math:`[1, K]`.

    Returns:
        The effective number of samples (unitless).

    Raises:
        TypeError: If ``log_weights`` is not a floating-point tensor or ``dim`` not an int.
        ValueError: If it has no dims, ``dim`` is out of range, or there are no samples
            along ``dim`` (``K = 0``).

    References:
        Kish (1965); Owen, *Monte Carlo theory, methods and examples* (2013), eq. 9.13.

    Examples:
        >>> import torch
        >>> from vae_tutorial import estimators
        >>> estimators.effective_sample_size(torch.zeros(4, 1))  # K = 4 equal weights
        tensor([4.])
        >>> # one weight dominates
        >>> log_w = torch.tensor([[0.0], [-50.0], [-50.0], [-50.0]])
        >>> estimators.effective_sample_size(log_w)
        tensor([1.])

    Introduced in the chapter "Importance sampling".
    """
    _check_sample_dim(log_weights, dim)
    # ESS = (\sum w)^2 / \sum w^2, in log space
    return torch.exp(
        2.0 * torch.logsumexp(log_weights, dim=dim) - torch.logsumexp(2.0 * log_weights, dim=dim)
    )


def log_standard_error(log_weights: torch.Tensor, dim: int = 0) -> torch.Tensor:
    r"""Log of the standard error of the sample mean :math:`\bar w`, from log weights.

    .. math::
        \widehat{\mathrm{se}}(\bar w) = \sqrt{\frac{1}{K(K-1)} \sum_k (w_k - \bar w)^2}

    computed after dividing every weight by the largest one, so nothing underflows.

    Args:
        log_weights: :math:`\log w_k` along ``dim``; needs ``K >= 2``.
        dim: The sample dim (default 0).

    Shape:
        - log_weights: :math:`(K, *)` with ``dim=0``.
        - Output: :math:`(*)`.

    Returns:
        :math:`\log \widehat{\mathrm{se}}(\bar w)` (``-inf`` if all weights are equal).

    Raises:
        TypeError: If ``log_weights`` is not a floating-point tensor or ``dim`` not an int.
        ValueError: If ``dim`` is out of range or there are fewer than two samples.

    Examples:
        >>> import torch
        >>> from vae_tutorial import estimators
        >>> # weights 1 and 3: std sqrt(2), K = 2
        >>> log_w = torch.log(torch.tensor([[1.0], [3.0]]))
        >>> estimators.log_standard_error(log_w).exp()
        tensor([1.])
    """
    _check_sample_dim(log_weights, dim, minimum=2)
    k = log_weights.shape[dim]
    m = log_weights.amax(dim=dim, keepdim=True)
    w = torch.exp(log_weights - m)  # w_k / max_k w_k, in (0, 1]
    # se(\bar w) = std(w) / \sqrt K, std with K - 1 in the denominator
    se = w.std(dim=dim, unbiased=True) / math.sqrt(k)
    return torch.log(se) + m.squeeze(dim)


def _log_se_or_nan(log_weights: torch.Tensor) -> torch.Tensor:
    if log_weights.shape[0] > 1:
        return log_standard_error(log_weights)
    return torch.full_like(log_weights[0], math.nan)


def evidence_estimate(log_weights: torch.Tensor) -> MonteCarloEstimate:
    r"""The :class:`MonteCarloEstimate` of :math:`\log \hat p(x) = \log \frac1K \sum_k w_k` from log
    weights :math:`(K, *)` (``standard_error``: the relative standard error, ``nan`` at K = 1)."""
    log_evidence = log_mean_exp(log_weights)
    return MonteCarloEstimate(
        estimate=log_evidence,
        # se(\hat p) / \hat p = \exp(\log se - \log \hat p)
        standard_error=(_log_se_or_nan(log_weights) - log_evidence).exp(),
        n_samples=log_weights.shape[0],
        log_weights=log_weights,
    )


def stream_log_weights(
    draw: Callable[[int, int], torch.Tensor],
    log_weight: Callable[[torch.Tensor], torch.Tensor],
    n_samples: int,
    chunk_size: int | None = None,
    *,
    keep: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    r"""The chunked Monte Carlo core of every evidence estimator here.

    .. math::
        \log \sum_{k=1}^K w_k = \operatorname{logsumexp}_{c}\,
        \operatorname{logsumexp}_{k \in \text{chunk } c} \log w_k

    For ``start = 0, chunk_size, 2 chunk_size, ...`` it draws the noise of samples
    ``start, ..., start + c - 1`` with ``draw(start, c)``, evaluates their log weights with
    ``log_weight(noise)`` and adds them to a running ``logsumexp``; only one chunk's model
    evaluations are in memory at a time. The answer does not depend on ``chunk_size`` as long as
    ``draw`` gives sample k the same noise whatever the chunks (all callers here do).

    Args:
        draw: ``draw(start, c)`` returns the noise of ``c`` samples, shape ``(c, ...)``.
        log_weight: Maps that noise to log weights :math:`\log w_k` in nats, shape ``(c, *)``.
        n_samples: K.
        chunk_size: Samples per chunk (``None``: all at once).
        keep: Also return every log weight (``(K, *)``); ``False`` keeps only the running sum.

    Returns:
        ``(log_sum, log_weights)``: :math:`\log \sum_k w_k` of shape ``(*)`` and the log weights
        (``None`` if ``keep=False``).

    Raises:
        ValueError: If ``n_samples`` or ``chunk_size`` is not a positive int.

    Examples:
        >>> import torch
        >>> from vae_tutorial import estimators
        >>> noise = torch.randn(10, 3, generator=torch.Generator().manual_seed(0))   # (K, B)
        >>> def draw(start, c):
        ...     return noise[start : start + c]
        >>> def log_weight(eps):
        ...     return -0.5 * eps**2
        >>> a, _ = estimators.stream_log_weights(draw, log_weight, 10, 3, keep=False)
        >>> b, log_w = estimators.stream_log_weights(draw, log_weight, 10)
        >>> torch.allclose(a, b), log_w.shape                 # same for any chunk size
        (True, torch.Size([10, 3]))

    Introduced in the chapter "Importance sampling".
    """
    check_positive_int("n_samples", n_samples)
    if chunk_size is None:
        chunk_size = n_samples
    check_positive_int("chunk_size", chunk_size)
    running: torch.Tensor | None = None
    kept = []
    for start in range(0, n_samples, chunk_size):
        log_w = log_weight(draw(start, min(chunk_size, n_samples - start)))  # (c, *)
        if keep:
            kept.append(log_w)
        # running logsumexp over chunks: \log \sum_k w_k
        chunk = torch.logsumexp(log_w, dim=0)
        running = chunk if running is None else torch.logaddexp(running, chunk)
    return running, (torch.cat(kept, dim=0) if keep else None)
