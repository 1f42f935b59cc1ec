r"""Diagnostics of a trained encoder: posterior collapse and the aggregate posterior.

* :func:`kl_per_unit`: :math:`\mathbb{E}_x \mathrm{KL}(q(z_u \mid x) \,\|\, \mathcal{N}(0, 1))`,
  the rate each latent unit spends; a collapsed unit spends none.
* :func:`unit_activity` and :func:`active_units`: Burda et al.'s activity statistic
  :math:`A_u = \operatorname{Cov}_x(\mathbb{E}_{q(z \mid x)}[z_u])` and the count of units with
  :math:`A_u > 0.01`.
* :func:`log_aggregate_posterior`: :math:`\log q(z)` of the aggregate posterior
  :math:`q(z) = \frac1N \sum_n q(z \mid x_n)`.
* :func:`kl_decomposition`: the average KL split into the index-code mutual information and
  the marginal KL, :math:`\mathbb{E}_x \mathrm{KL}(q(z \mid x) \| p(z)) = I_q(x; z) +
  \mathrm{KL}(q(z) \| p(z))` (Hoffman & Johnson 2016), estimated by Monte Carlo with standard
  errors; :func:`linear_gaussian_kl_decomposition`: the same three terms in closed form for an
  encoder linear in Gaussian data, the check of the estimator.

Values are in nats (per example, or per example and unit). Shape letters: N examples, L latent
units, K Monte Carlo samples.

References:
    - [BGS16] Y. Burda, R. Grosse and R. Salakhutdinov, "Importance Weighted Autoencoders",
      ICLR 2016, section 5.2 (active units).
    - [HJ16] M. D. Hoffman and M. J. Johnson, "ELBO surgery: yet another way to carve up the
      variational evidence lower bound", NIPS 2016 Workshop on Advances in Approximate
      Bayesian Inference, eqs. 2-4.

Introduced in the chapter "VAEs in practice".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from vae_tutorial import losses
from vae_tutorial._checks import (
    check_positive_int,
    check_real,
    check_same_shape,
    check_seed,
    check_tensor,
    shape_str,
)

__all__ = [
    "KLDecomposition",
    "active_units",
    "kl_decomposition",
    "kl_per_unit",
    "linear_gaussian_kl_decomposition",
    "log_aggregate_posterior",
    "unit_activity",
]


def _check_codes(mu: torch.Tensor, logvar: torch.Tensor | None = None) -> None:
    check_tensor("mu", mu, min_dim=2)
    if mu.dim() != 2:
        raise ValueError(f"mu must have shape (N, L); got {shape_str(mu.shape)}")
    if mu.shape[0] < 2:
        raise ValueError(f"mu must hold at least 2 examples (N >= 2); got {shape_str(mu.shape)}")
    if logvar is not None:
        check_tensor("logvar", logvar, min_dim=2)
        check_same_shape("logvar", logvar, "mu", mu)


def kl_per_unit(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""The KL each latent unit spends, averaged over the examples.

    .. math::
        R_u = \frac1N \sum_{n=1}^N \mathrm{KL}\big(q(z_u \mid x_n) \,\|\, \mathcal{N}(0, 1)\big)
        = \frac1N \sum_n \tfrac12\big[\mu_{nu}^2 + \sigma_{nu}^2 - 1 - \log\sigma_{nu}^2\big]

    With a diagonal Gaussian encoder and the standard normal prior the KL is a sum over units,
    so :math:`\sum_u R_u` is the average KL (the rate). A collapsed unit has
    :math:`q(z_u \mid x) = p(z_u)` for every :math:`x` and :math:`R_u = 0`.

    Args:
        mu: Encoder means of N examples.
        logvar: Encoder log-variances, the shape of ``mu``.

    Shape:
        - mu, logvar: :math:`(N, L)`.
        - Output: :math:`(L,)`.

    Returns:
        :math:`R_u` in nats per example, one per unit (:math:`\ge 0`).

    Raises:
        TypeError: If an input is not a floating-point tensor.
        ValueError: If ``mu`` is not ``(N, L)`` with ``N >= 2``, shapes differ or values are
            not finite.

    References:
        Kingma & Welling (2014), appendix B (the KL of one unit).

    Examples:
        >>> import torch
        >>> from vae_tutorial import diagnostics
        >>> mu = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])     # unit 2 collapsed
        >>> diagnostics.kl_per_unit(mu, torch.zeros(2, 2))   # mu^2 / 2 per unit
        tensor([0.5000, 0.0000])

    Introduced in the chapter "VAEs in practice".
    """
    _check_codes(mu, logvar)
    # R_u = mean_n 1/2 [\mu_{nu}^2 + \sigma_{nu}^2 - 1 - \log\sigma_{nu}^2]
    return (0.5 * (mu.pow(2) + torch.exp(logvar) - 1.0 - logvar)).mean(0)


def unit_activity(mu: torch.Tensor) -> torch.Tensor:
    r"""Burda et al.'s activity statistic: the variance over examples of each posterior mean.

    .. math::
        A_u = \operatorname{Cov}_x\big(\mathbb{E}_{q(z \mid x)}[z_u]\big)
        = \frac{1}{N - 1} \sum_{n=1}^N (\mu_{nu} - \bar\mu_u)^2

    A unit whose posterior mean does not depend on the image carries no information about it.

    Args:
        mu: Encoder means :math:`\mathbb{E}_{q(z \mid x_n)}[z]` of N examples.

    Shape:
        - mu: :math:`(N, L)`.
        - Output: :math:`(L,)`.

    Returns:
        :math:`A_u` in squared units of :math:`z` (the prior's variance is 1).

    Raises:
        TypeError: If ``mu`` is not a floating-point tensor.
        ValueError: If ``mu`` is not ``(N, L)`` with ``N >= 2`` or has non-finite values.

    References:
        Burda, Grosse & Salakhutdinov (2016), section 5.2 (eq. 11).

    Examples:
        >>> import torch
        >>> from vae_tutorial import diagnostics
        >>> mu = torch.tensor([[1.0, 0.3], [-1.0, 0.3]])
        >>> diagnostics.unit_activity(mu)                     # unit 2 does not vary
        tensor([2., 0.])

    Introduced in the chapter "VAEs in practice".
    """
    _check_codes(mu)
    # A_u = 1/(N - 1) \sum_n (\mu_{nu} - \bar\mu_u)^2
    return mu.var(0)


def active_units(mu: torch.Tensor, *, threshold: float = 0.01) -> int:
    r"""How many latent units are active: :math:`\#\{u : A_u > \text{threshold}\}`.

    Args:
        mu: Encoder means of N examples (test images, say).
        threshold: The activity above which a unit counts as active; 0.01 as in Burda et al.

    Shape:
        - mu: :math:`(N, L)`.

    Returns:
        The number of active units, an int in ``[0, L]``.

    Raises:
        TypeError: If ``mu`` is not a floating-point tensor or ``threshold`` not a real number.
        ValueError: As :func:`unit_activity`, or if ``threshold < 0``.

    References:
        Burda, Grosse & Salakhutdinov (2016), section 5.2: "we found the threshold 0.01 to
        separate active from inactive units well".

    Examples:
        >>> import torch
        >>> from vae_tutorial import diagnostics
        >>> mu = torch.tensor([[1.0, 0.3, 0.0], [-1.0, 0.3, 0.2]])
        >>> diagnostics.active_units(mu)                  # activities 2, 0, 0.02
        2

    Introduced in the chapter "VAEs in practice".
    """
    check_real("threshold", threshold, minimum=0.0)
    return int((unit_activity(mu) > threshold).sum())


def log_aggregate_posterior(
    z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, *, chunk_size: int = 256
) -> torch.Tensor:
    r"""Log density of the aggregate posterior, the encoder's mixture over a data set.

    .. math::
        \log q(z) = \log \frac1N \sum_{n=1}^N \mathcal{N}\big(z; \mu_n, \operatorname{diag}
        \sigma_n^2\big) = \operatorname{logsumexp}_n \log q(z \mid x_n) - \log N

    Exact for the empirical data distribution (no sampling): every one of the N components is
    evaluated, ``chunk_size`` points of ``z`` at a time.

    Args:
        z: Points in latent space.
        mu: Encoder means of the N examples that define :math:`q(z)`.
        logvar: Their log-variances, the shape of ``mu``.
        chunk_size: Points of ``z`` per pass (memory holds ``chunk_size * N * L`` numbers).

    Shape:
        - z: :math:`(K, L)`; mu, logvar: :math:`(N, L)`.
        - Output: :math:`(K,)`.

    Returns:
        :math:`\log q(z)` in nats, one per point.

    Raises:
        TypeError: If an input is not a floating-point tensor or ``chunk_size`` not an int.
        ValueError: If the shapes are not ``(K, L)`` and ``(N, L)`` or values are not finite.

    References:
        Hoffman & Johnson (2016), eq. 2 (the aggregate posterior :math:`q(z)`); Makhzani et
        al. (2016), section 1.

    Examples:
        >>> import torch
        >>> from vae_tutorial import diagnostics
        >>> mu, logvar = torch.zeros(3, 2), torch.zeros(3, 2)    # every q(z|x) = N(0, I)
        >>> diagnostics.log_aggregate_posterior(torch.zeros(1, 2), mu, logvar)  # log N(0; 0, I)
        tensor([-1.8379])

    Introduced in the chapter "VAEs in practice".
    """
    _check_codes(mu, logvar)
    check_tensor("z", z, min_dim=2)
    if z.dim() != 2 or z.shape[1] != mu.shape[1]:
        raise ValueError(
            f"z must have shape (K, {mu.shape[1]}) to match mu {shape_str(mu.shape)}; "
            f"got {shape_str(z.shape)}"
        )
    check_positive_int("chunk_size", chunk_size)
    out = []
    for start in range(0, z.shape[0], chunk_size):
        zc = z[start : start + chunk_size].unsqueeze(1)  # (k, 1, L) against (N, L)
        # \log q(z | x_n) for every pair: (k, N)
        log_q = losses.log_normal_diag(zc, mu, logvar)
        # \log q(z) = logsumexp_n \log q(z | x_n) - \log N
        out.append(torch.logsumexp(log_q, dim=1) - math.log(mu.shape[0]))
    return torch.cat(out) if out else z.new_zeros(0)


@dataclass(frozen=True)
class KLDecomposition:
    r"""The average KL and its two parts, in nats per example (Hoffman & Johnson 2016).

    :math:`\text{average\_kl} = \text{mutual\_information} + \text{marginal\_kl}`.

    Attributes:
        average_kl: :math:`\mathbb{E}_x \mathrm{KL}(q(z \mid x) \| p(z))`, exact (analytic).
        mutual_information: :math:`I_q(x; z) = \mathbb{E}_x \mathrm{KL}(q(z \mid x) \| q(z))`,
            the index-code mutual information.
        marginal_kl: :math:`\mathrm{KL}(q(z) \| p(z))`.
        mutual_information_se, marginal_kl_se: Monte Carlo standard errors (0 for closed forms).
        n_samples: Monte Carlo samples K (0 for closed forms).
        log_n: :math:`\log N`, the largest value the mutual information can take on N examples
            (``inf`` for a continuous data distribution).
    """

    average_kl: float
    mutual_information: float
    marginal_kl: float
    mutual_information_se: float = 0.0
    marginal_kl_se: float = 0.0
    n_samples: int = 0
    log_n: float = math.inf


def kl_decomposition(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    *,
    n_samples: int = 10_000,
    seed: int = 0,
    chunk_size: int = 256,
) -> KLDecomposition:
    r"""Split the average KL into the index-code mutual information and the marginal KL.

    With :math:`q(n, z) = \frac1N q(z \mid x_n)` and the aggregate posterior
    :math:`q(z) = \frac1N \sum_n q(z \mid x_n)`,

    .. math::
        \underbrace{\frac1N \sum_n \mathrm{KL}\big(q(z \mid x_n) \,\|\, p(z)\big)}_{
        \text{average KL}}
        = \underbrace{\mathbb{E}_{q(n, z)}\Big[\log \frac{q(z \mid x_n)}{q(z)}\Big]}_{I_q(n;\,z)}
        + \underbrace{\mathbb{E}_{q(z)}\Big[\log \frac{q(z)}{p(z)}\Big]}_{\mathrm{KL}(q(z)\|p(z))}

    The average KL is analytic. The two parts are estimated from K draws
    :math:`n_m \sim \mathrm{Uniform}\{1..N\}`, :math:`z_m \sim q(z \mid x_{n_m})`, with
    :math:`\log q(z_m)` exact (:func:`log_aggregate_posterior`, all N components), so both
    estimates are unbiased; each standard error is the standard deviation of its K terms over
    :math:`\sqrt K`. Their sum estimates the average KL. :math:`0 \le I_q \le \log N`.

    Args:
        mu: Encoder means of the N examples (the data set that defines :math:`q(z)`).
        logvar: Their log-variances, the shape of ``mu``.
        n_samples: K, Monte Carlo samples.
        seed: Seed of the draws, an int in [0, 2**32 - 1].
        chunk_size: Points per pass of :func:`log_aggregate_posterior`.

    Shape:
        - mu, logvar: :math:`(N, L)`.

    Returns:
        A :class:`KLDecomposition` in nats per example, with standard errors.

    Raises:
        TypeError: If an input is not a floating-point tensor, ``n_samples`` or ``chunk_size``
            not an int, or ``seed`` not an int.
        ValueError: If ``mu`` is not ``(N, L)`` with ``N >= 2``, shapes differ, values are not
            finite, or ``n_samples < 2``.

    References:
        Hoffman & Johnson (2016), eqs. 3-4 ("ELBO surgery"); Makhzani et al. (2016).

    Examples:
        >>> import torch
        >>> from vae_tutorial import diagnostics
        >>> mu = torch.tensor([[-2.0], [2.0]])           # two images, far apart
        >>> logvar = torch.full((2, 1), -4.0)             # narrow posteriors
        >>> d = diagnostics.kl_decomposition(mu, logvar, n_samples=2000)
        >>> round(d.mutual_information, 3), round(d.log_n, 3)   # the code tells them apart
        (0.693, 0.693)

    Introduced in the chapter "VAEs in practice".
    """
    _check_codes(mu, logvar)
    check_positive_int("n_samples", n_samples)
    if n_samples < 2:
        raise ValueError(f"n_samples must be >= 2 (for a standard error); got {n_samples}")
    check_seed("seed", seed)
    n = mu.shape[0]
    g = torch.Generator(device=mu.device).manual_seed(seed)
    idx = torch.randint(n, (n_samples,), generator=g, device=mu.device)  # (K,)
    eps = torch.randn(n_samples, mu.shape[1], generator=g, device=mu.device, dtype=mu.dtype)
    # z_m = \mu_{n_m} + \sigma_{n_m} \varepsilon_m ~ q(z | x_{n_m})
    z = mu[idx] + torch.exp(0.5 * logvar[idx]) * eps  # (K, L)
    log_q_zx = losses.log_normal_diag(z, mu[idx], logvar[idx])  # (K,)
    log_q_z = log_aggregate_posterior(z, mu, logvar, chunk_size=chunk_size)  # (K,)
    log_p_z = losses.log_standard_normal(z)  # (K,)
    # I_q = E[\log q(z|x_n) - \log q(z)];  KL(q(z) || p(z)) = E[\log q(z) - \log p(z)]
    mi_terms, kl_terms = log_q_zx - log_q_z, log_q_z - log_p_z
    root_m = math.sqrt(n_samples)
    return KLDecomposition(
        average_kl=float(losses.kl_normal_std_normal(mu, logvar)),
        mutual_information=float(mi_terms.mean()),
        marginal_kl=float(kl_terms.mean()),
        mutual_information_se=float(mi_terms.std()) / root_m,
        marginal_kl_se=float(kl_terms.std()) / root_m,
        n_samples=n_samples,
        log_n=math.log(n),
    )


def linear_gaussian_kl_decomposition(
    weight: torch.Tensor,
    bias: torch.Tensor,
    cov: torch.Tensor,
    data_mean: torch.Tensor,
    data_cov: torch.Tensor,
) -> KLDecomposition:
    r"""The three terms of :func:`kl_decomposition` in closed form, for Gaussian data and an
    encoder linear in the data.

    With :math:`x \sim \mathcal{N}(b, \Sigma_x)` and
    :math:`q(z \mid x) = \mathcal{N}(Ax + c, \Sigma_q)`, the aggregate posterior is Gaussian,
    :math:`q(z) = \mathcal{N}(\bar\mu, \bar\Sigma)` with
    :math:`\bar\mu = Ab + c` and :math:`\bar\Sigma = A\Sigma_xA^\top + \Sigma_q`, and

    .. math::
        \begin{aligned}
        \mathbb{E}_x \mathrm{KL}(q(z \mid x) \| p(z))
          &= \tfrac12\big[\operatorname{tr} \Sigma_q + \operatorname{tr}(A\Sigma_xA^\top)
             + \lVert\bar\mu\rVert^2 - L - \log\det \Sigma_q\big], \\
        \mathrm{KL}(q(z) \| p(z))
          &= \tfrac12\big[\operatorname{tr}\bar\Sigma + \lVert\bar\mu\rVert^2 - L
             - \log\det\bar\Sigma\big], \\
        I_q(x; z) &= \tfrac12\big[\log\det\bar\Sigma - \log\det \Sigma_q\big].
        \end{aligned}

    For the linear-Gaussian model's exact posterior as encoder, :math:`q(z) = p(z)`: the
    marginal KL is 0 and the mutual information is :math:`\frac12 \log\det(I + W^\top W /
    \sigma_x^2)`.

    Args:
        weight: :math:`A`, the encoder's mean map.
        bias: :math:`c`.
        cov: :math:`\Sigma_q`, the encoder's covariance (the same for every x), symmetric positive
            definite.
        data_mean: :math:`b`, the data mean.
        data_cov: :math:`\Sigma_x`, symmetric positive semi-definite.

    Shape:
        - weight: :math:`(L, D)`; bias: :math:`(L,)`; cov: :math:`(L, L)`;
          data_mean: :math:`(D,)`; data_cov: :math:`(D, D)`.

    Returns:
        A :class:`KLDecomposition` (standard errors 0) in nats per example.

    Raises:
        TypeError: If an input is not a floating-point tensor.
        ValueError: If the shapes disagree, or ``cov`` is not positive definite.

    References:
        Hoffman & Johnson (2016), eqs. 3-4; Bishop (2006), eqs. 2.113-2.117 (the linear-Gaussian
        marginal); Cover & Thomas (2006), eq. 9.34 (the Gaussian channel).

    Examples:
        >>> import torch
        >>> from vae_tutorial import diagnostics
        >>> one = torch.eye(1, dtype=torch.float64)
        >>> # x = z + N(0, 1) ~ N(0, 2); the exact posterior q(z|x) = N(x / 2, 1/2)
        >>> d = diagnostics.linear_gaussian_kl_decomposition(
        ...     0.5 * one, torch.zeros(1, dtype=torch.float64), 0.5 * one,
        ...     torch.zeros(1, dtype=torch.float64), 2.0 * one)
        >>> round(d.marginal_kl, 6), round(d.mutual_information, 4)  # q(z) = p(z); log(2) / 2
        (0.0, 0.3466)

    Introduced in the chapter "VAEs in practice".
    """
    for name, value, dims in (("weight", weight, 2), ("bias", bias, 1), ("cov", cov, 2),
                              ("data_mean", data_mean, 1), ("data_cov", data_cov, 2)):
        check_tensor(name, value, min_dim=dims)
    n_latent, n_data = weight.shape[-2:] if weight.dim() == 2 else (0, 0)
    if (weight.dim() != 2 or bias.shape != (n_latent,) or cov.shape != (n_latent, n_latent)
            or data_mean.shape != (n_data,) or data_cov.shape != (n_data, n_data)):
        raise ValueError(
            "weight must be (L, D), bias (L,), cov (L, L), data_mean (D,) and data_cov (D, D); "
            f"got weight {shape_str(weight.shape)}, bias {shape_str(bias.shape)}, cov "
            f"{shape_str(cov.shape)}, data_mean {shape_str(data_mean.shape)} and data_cov "
            f"{shape_str(data_cov.shape)}"
        )
    try:
        chol_s = torch.linalg.cholesky(cov)
    except RuntimeError as err:
        raise ValueError("cov must be symmetric positive definite; the Cholesky factorization "
                         "failed") from err
    # \bar\mu = A b + c,  \bar\Sigma = A \Sigma_x A^T + \Sigma_q
    mean_agg = weight @ data_mean + bias
    cov_agg = weight @ data_cov @ weight.T + cov
    logdet_s = 2.0 * torch.log(torch.diagonal(chol_s)).sum()
    logdet_agg = torch.logdet(cov_agg)
    sq = mean_agg @ mean_agg
    # E_x KL = 1/2 [tr S + tr(A C A^T) + |\bar\mu|^2 - L - \log\det S]
    average = 0.5 * (torch.trace(cov_agg) + sq - n_latent - logdet_s)
    # KL(q(z) || p(z)) = 1/2 [tr \bar\Sigma + |\bar\mu|^2 - L - \log\det\bar\Sigma]
    marginal = 0.5 * (torch.trace(cov_agg) + sq - n_latent - logdet_agg)
    # I_q(x; z) = 1/2 [\log\det\bar\Sigma - \log\det S]
    information = 0.5 * (logdet_agg - logdet_s)
    return KLDecomposition(average_kl=float(average), mutual_information=float(information),
                           marginal_kl=float(marginal))
