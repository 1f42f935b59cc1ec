r"""Sampling from the approximate posterior and the two gradient estimators it allows.

* :func:`reparameterize`: :math:`z = \mu + \sigma \odot \varepsilon`.
* :func:`score_function_gradient` (REINFORCE) and :func:`pathwise_gradient` (reparameterized):
  Monte Carlo estimates of :math:`\nabla_\phi \mathbb{E}_{q_\phi}[f(z)]` for a diagonal Gaussian
  :math:`q_\phi = \mathcal{N}(\mu, \operatorname{diag}\sigma^2)`,
  :math:`\phi = (\mu, \log\sigma^2)`.
* :func:`gradient_variance`: the mean, variance and signal-to-noise ratio of either estimator
  (or of those of :mod:`vae_tutorial.surrogates`) over repeated draws.
* :func:`sum_of_squares_gradient_variance`: both variances in closed form for
  :math:`f(z) = \sum_i z_i^2`.

Introduced in the chapter "The reparameterization trick".

References:
    - [KW14] D. P. Kingma and M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014, section 2.4.
    - [W92] R. J. Williams, "Simple statistical gradient-following algorithms for connectionist
      reinforcement learning", Machine Learning 8, 1992.
    - [MRFM20] S. Mohamed, M. Rosca, M. Figurnov and A. Mnih, "Monte Carlo Gradient Estimation in
      Machine Learning", JMLR 21, 2020, sections 4 and 5.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from vae_tutorial._checks import (
    apply_per_sample,
    check_diagonal_gaussian,
    check_positive_int,
    check_same_shape,
    check_tensor,
    is_validation_enabled,
    shape_str,
)

__all__ = [
    "GradientStats",
    "gradient_variance",
    "pathwise_gradient",
    "reparameterize",
    "score_function_gradient",
    "sum_of_squares_gradient_variance",
]


def reparameterize(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    eps: torch.Tensor | None = None,
    n_samples: int | None = None,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Draw :math:`z \sim \mathcal{N}(\mu, \operatorname{diag}\sigma^2)` as a differentiable
    function of ``mu`` and ``logvar``.

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

    Examples:
        >>> import math
        >>> import torch
        >>> from vae_tutorial import sampling
        >>> mu = torch.tensor([[0.0, 1.0]])                    # (B, L) = (1, 2)
        >>> logvar = torch.tensor([[0.0, math.log(9.0)]])      # sigma = (1, 3)
        >>> # mu + sigma * eps
        >>> sampling.reparameterize(mu, logvar, eps=torch.ones(1, 2))
        tensor([[1., 4.]])
        >>> sampling.reparameterize(mu, logvar, n_samples=5).shape     # (K, B, L)
        torch.Size([5, 1, 2])

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
        eps = torch.randn(
            shape, dtype=mu.dtype, device=mu.device, generator=generator
        )
    elif is_validation_enabled():
        check_tensor("eps", eps, min_dim=1)
        if eps.shape != torch.Size(shape):
            raise ValueError(
                f"eps must have shape {shape_str(shape)}; got {shape_str(eps.shape)}"
            )
    # z = \mu + \sigma \odot \epsilon, with \sigma = \exp(\log\sigma^2 / 2); where
    # \epsilon = 0 the term is 0 whatever \sigma, so \sigma is not formed there: a variance
    # that overflows the dtype (logvar 200 in float32) then gives z = mu, not 0 * inf = nan,
    # and d z / d logvar = 0 there rather than nan
    sigma = torch.exp(0.5 * torch.where(eps == 0, torch.zeros_like(logvar), logvar))
    return mu + sigma * eps


def score_function_gradient(
    f: Callable[[torch.Tensor], torch.Tensor],
    mu: torch.Tensor,
    logvar: torch.Tensor,
    n_samples: int = 1,
    *,
    eps: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    baseline: float | torch.Tensor = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Score-function (REINFORCE) estimate of :math:`\nabla_\phi \mathbb{E}_{q_\phi}[f(z)]`.

    .. math::
        \nabla_\phi \mathbb{E}_{q_\phi}[f(z)] = \mathbb{E}_{q_\phi}\big[(f(z) - b)\,
        \nabla_\phi \log q_\phi(z)\big]
        \approx \frac1K \sum_{k=1}^K (f(z_k) - b)\, \nabla_\phi \log q_\phi(z_k)

    For :math:`q_\phi = \mathcal{N}(\mu, \operatorname{diag}\sigma^2)` with
    :math:`z = \mu + \sigma \odot \varepsilon` the score is, coordinate by coordinate,

    .. math::
        \frac{\partial \log q}{\partial \mu_i} = \frac{z_i - \mu_i}{\sigma_i^2}
        = \frac{\varepsilon_i}{\sigma_i}, \qquad
        \frac{\partial \log q}{\partial \log\sigma_i^2} = \tfrac12\big(\varepsilon_i^2 - 1\big).

    Only values of ``f`` are used, never its gradient: ``f`` may be discrete or a black box. A
    constant baseline :math:`b` leaves the estimator unbiased (the score has mean zero) and can
    reduce its variance.

    Args:
        f: Maps samples ``(K, *, L)`` to one value per sample ``(K, *)``, acting on each
            leading index separately.
        mu: Means of :math:`q`.
        logvar: Log-variances of :math:`q`, the shape of ``mu``.
        n_samples: K, samples averaged in one estimate.
        eps: Standard normal noise ``(K, *, L)`` to use instead of drawing it.
        generator: Optional ``torch.Generator`` for the noise.
        baseline: Constant :math:`b` subtracted from ``f`` (a control variate); default 0.

    Shape:
        - mu, logvar: :math:`(*, L)`.
        - Output: two tensors of shape :math:`(*, L)`.

    Returns:
        ``(grad_mu, grad_logvar)``: unbiased estimates of the gradient with respect to ``mu``
        and ``logvar`` (units of f per unit of the parameter). No graph is kept.

    Raises:
        TypeError: If an input (``eps`` included) is not a floating-point tensor.
        ValueError: If shapes do not match, ``n_samples < 1`` or ``f`` returns the wrong shape.

    References:
        Williams (1992); Mohamed et al. (2020), section 4, eq. 13.

    Examples:
        >>> import torch
        >>> from vae_tutorial import sampling
        >>> f = lambda z: (z ** 2).sum(-1)  # E_q[z^2] = mu^2 + sigma^2
        >>> # so the gradients are 2 mu = 2 and d(sigma^2)/d(logvar) = sigma^2 = 1
        >>> mu, logvar = torch.tensor([1.0]), torch.tensor([0.0])
        >>> g_mu, g_logvar = sampling.score_function_gradient(
        ...     f, mu, logvar, 10_000, generator=torch.Generator().manual_seed(0))
        >>> # exact: 2 and 1, but noisy
        >>> g_mu.round(decimals=1), g_logvar.round(decimals=1)
        (tensor([2.]), tensor([1.1000]))

    Introduced in the chapter "The reparameterization trick".
    """
    if is_validation_enabled():
        check_diagonal_gaussian(mu, logvar, n_samples)
    mu, logvar = mu.detach(), logvar.detach()
    shape = (n_samples, *mu.shape)
    if eps is None:
        eps = torch.randn(shape, dtype=mu.dtype, device=mu.device, generator=generator)
    elif is_validation_enabled():
        # an integer eps would make the score (eps^2 - 1) / 2 integer-valued: refuse it
        check_tensor("eps", eps, min_dim=1)
        if eps.shape != torch.Size(shape):
            raise ValueError(
                f"eps must have shape {shape_str(shape)}; got {shape_str(eps.shape)}"
            )
    sigma = torch.exp(0.5 * logvar)
    with torch.no_grad():
        z = mu + sigma * eps  # (K, *, L)
        fz = (apply_per_sample("f", f, z) - baseline).unsqueeze(-1)  # (K, *, 1)
        # \partial \log q / \partial \mu = \varepsilon / \sigma
        grad_mu = (fz * eps / sigma).mean(0)
        # \partial \log q / \partial \log\sigma^2 = (\varepsilon^2 - 1) / 2
        grad_logvar = (fz * 0.5 * (eps**2 - 1.0)).mean(0)
    return grad_mu, grad_logvar


def pathwise_gradient(
    f: Callable[[torch.Tensor], torch.Tensor],
    mu: torch.Tensor,
    logvar: torch.Tensor,
    n_samples: int = 1,
    *,
    eps: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Pathwise (reparameterized) estimate of :math:`\nabla_\phi \mathbb{E}_{q_\phi}[f(z)]`.

    .. math::
        \nabla_\phi \mathbb{E}_{q_\phi}[f(z)]
        = \mathbb{E}_{\varepsilon \sim \mathcal{N}(0, I)}
        \big[\nabla_\phi f(\mu + \sigma \odot \varepsilon)\big]
        \approx \frac1K \sum_{k=1}^K \nabla_z f(z_k) \odot \frac{\partial z_k}{\partial \phi}

    with :math:`\partial z / \partial \mu = 1` and
    :math:`\partial z / \partial \log\sigma^2 = \tfrac12 \sigma \odot \varepsilon`, computed by
    autograd through :func:`reparameterize`. ``f`` must be differentiable.

    Args:
        f: Differentiable map from samples ``(K, *, L)`` to one value per sample ``(K, *)``,
            acting on each leading index separately.
        mu: Means of :math:`q`.
        logvar: Log-variances of :math:`q`, the shape of ``mu``.
        n_samples: K, samples averaged in one estimate.
        eps: Standard normal noise ``(K, *, L)`` to use instead of drawing it.
        generator: Optional ``torch.Generator`` for the noise.

    Shape:
        - mu, logvar: :math:`(*, L)`.
        - Output: two tensors of shape :math:`(*, L)`.

    Returns:
        ``(grad_mu, grad_logvar)``: unbiased estimates of the gradient with respect to ``mu``
        and ``logvar``. No graph is kept. Where ``f`` does not depend on ``z`` (a constant,
        or an output that autograd cannot trace back to ``z``) the gradient is 0, the right
        answer, and zeros are returned rather than an autograd error.

    Raises:
        TypeError: If an input is not a floating-point tensor.
        ValueError: If shapes do not match, ``n_samples < 1`` or ``f`` returns the wrong shape.

    References:
        Kingma & Welling (2014), section 2.4; Rezende et al. (2014); Mohamed et al. (2020),
        section 5.

    Examples:
        >>> import torch
        >>> from vae_tutorial import sampling
        >>> f = lambda z: (z ** 2).sum(-1)  # E_q[z^2] = mu^2 + sigma^2
        >>> # so the gradients are 2 mu = 2 and d(sigma^2)/d(logvar) = sigma^2 = 1
        >>> mu, logvar = torch.tensor([1.0]), torch.tensor([0.0])
        >>> g_mu, g_logvar = sampling.pathwise_gradient(
        ...     f, mu, logvar, 10_000, generator=torch.Generator().manual_seed(0))
        >>> g_mu.round(decimals=1), g_logvar.round(decimals=1)  # exact: 2 and 1
        (tensor([2.]), tensor([1.]))

    Introduced in the chapter "The reparameterization trick".
    """
    if is_validation_enabled():
        check_diagonal_gaussian(mu, logvar, n_samples)
    mu_ = mu.detach().clone().requires_grad_(True)
    logvar_ = logvar.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        z = reparameterize(mu_, logvar_, eps=eps, n_samples=n_samples, generator=generator)
        # (1/K) \sum_k f(z_k); each leading index of mu only reaches its own term
        values = apply_per_sample("f", f, z).mean(0)  # (*)
        if not values.requires_grad:  # f does not depend on z: \nabla_\phi E_q[c] = 0
            return torch.zeros_like(mu_), torch.zeros_like(logvar_)
        # a parameter f does not reach gets no gradient (None): its gradient is 0
        grads = torch.autograd.grad(values.sum(), (mu_, logvar_), allow_unused=True)
    grad_mu = torch.zeros_like(mu_) if grads[0] is None else grads[0]
    grad_logvar = torch.zeros_like(logvar_) if grads[1] is None else grads[1]
    return grad_mu, grad_logvar


@dataclass(frozen=True)
class GradientStats:
    """Mean and variance of a gradient estimator over repeated independent draws.

    Attributes:
        mean_mu, mean_logvar: Mean estimate, shape of ``mu``.
        var_mu, var_logvar: Variance of one estimate (with ``n_samples`` samples), per
            coordinate, shape of ``mu``.
        n_repeats: Number of independent estimates the statistics are taken over.

    The signal-to-noise ratios :attr:`snr_mu` and :attr:`snr_logvar` are chapter 4's measure
    of the IWAE encoder gradient.
    """

    mean_mu: torch.Tensor
    mean_logvar: torch.Tensor
    var_mu: torch.Tensor
    var_logvar: torch.Tensor
    n_repeats: int

    @property
    def total_variance(self) -> torch.Tensor:
        """Sum of the per-coordinate variances over ``mu`` and ``logvar`` (trace of the
        covariance)."""
        return self.var_mu.sum() + self.var_logvar.sum()

    @property
    def snr_mu(self) -> torch.Tensor:
        r"""Signal-to-noise ratio of each coordinate of the ``mu`` gradient,
        :math:`|\mathbb{E}\hat g| / \sqrt{\operatorname{Var}\hat g}`, from the measured mean and
        variance (Rainforth et al. 2018, section 3)."""
        return self.mean_mu.abs() / self.var_mu.sqrt()

    @property
    def snr_logvar(self) -> torch.Tensor:
        """Signal-to-noise ratio of each coordinate of the ``logvar`` gradient, as
        :attr:`snr_mu`."""
        return self.mean_logvar.abs() / self.var_logvar.sqrt()


_ESTIMATORS = {"score": score_function_gradient, "pathwise": pathwise_gradient}


def gradient_variance(
    estimator: str | Callable[..., tuple[torch.Tensor, torch.Tensor]],
    f: Callable[[torch.Tensor], torch.Tensor],
    mu: torch.Tensor,
    logvar: torch.Tensor,
    n_samples: int = 1,
    n_repeats: int = 1000,
    *,
    generator: torch.Generator | None = None,
) -> GradientStats:
    r"""Mean and variance of a gradient estimator of :math:`\nabla_\phi \mathbb{E}_q[f(z)]`.

    Draws ``n_repeats`` independent estimates, each from ``n_samples`` samples, in one vectorized
    call (the repeats become a leading batch dim of ``mu``), and returns their mean and their
    per-coordinate variance :math:`\frac{1}{R-1}\sum_r (\hat g_r - \bar g)^2`. The variance of one
    estimate falls as :math:`1/K` for both estimators; what differs is the constant.

    Args:
        estimator: ``"score"``, ``"pathwise"``, or a function with the signature of
            :func:`score_function_gradient`.
        f: As for the estimators: ``(K, *, L) -> (K, *)``, per leading index.
        mu: Means of :math:`q`.
        logvar: Log-variances, the shape of ``mu``.
        n_samples: K, samples per estimate.
        n_repeats: R >= 2, independent estimates.
        generator: Optional ``torch.Generator``.

    Shape:
        - mu, logvar: :math:`(*, L)`; every field of the result has this shape.

    Returns:
        A :class:`GradientStats`.

    Raises:
        TypeError: If ``mu`` or ``logvar`` is not a floating-point tensor or ``n_repeats`` not
            an int.
        ValueError: If ``estimator`` is an unknown name, shapes do not match or
            ``n_repeats < 2``.

    References:
        Mohamed et al. (2020), sections 4-5 and figure 4 (variance of both estimators).

    Examples:
        >>> import torch
        >>> from vae_tutorial import sampling
        >>> f = lambda z: (z ** 2).sum(-1)
        >>> mu, logvar = torch.tensor([1.0]), torch.tensor([0.0])
        >>> stats = {
        ...     name: sampling.gradient_variance(
        ...         name, f, mu, logvar, n_samples=1, n_repeats=2000,
        ...         generator=torch.Generator().manual_seed(0))
        ...     for name in ("score", "pathwise")}
        >>> # REINFORCE is far noisier
        >>> bool(stats["score"].var_mu > 5 * stats["pathwise"].var_mu)
        True

    Introduced in the chapter "The reparameterization trick".
    """
    if isinstance(estimator, str):
        if estimator not in _ESTIMATORS:
            raise ValueError(
                f"estimator must be 'score', 'pathwise' or a function; got {estimator!r}"
            )
        estimator = _ESTIMATORS[estimator]
    if is_validation_enabled():
        check_diagonal_gaussian(mu, logvar, n_samples)
    check_positive_int("n_repeats", n_repeats)
    if n_repeats < 2:
        raise ValueError(f"n_repeats must be >= 2 to measure a variance; got {n_repeats}")
    # (R, *, L): each repeat is an independent batch element
    mu_r = mu.detach().expand(n_repeats, *mu.shape)
    logvar_r = logvar.detach().expand(n_repeats, *logvar.shape)
    g_mu, g_logvar = estimator(f, mu_r, logvar_r, n_samples, generator=generator)
    return GradientStats(
        mean_mu=g_mu.mean(0),
        mean_logvar=g_logvar.mean(0),
        var_mu=g_mu.var(0, unbiased=True),
        var_logvar=g_logvar.var(0, unbiased=True),
        n_repeats=n_repeats,
    )


def sum_of_squares_gradient_variance(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    n_samples: int = 1,
    *,
    baseline: float | torch.Tensor = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Exact variances of the score-function and pathwise estimates of
    :math:`\nabla_\mu \mathbb{E}_q[f(z)]` for :math:`f(z) = \sum_i z_i^2`.

    For :math:`q = \mathcal{N}(\mu, \operatorname{diag}\sigma^2)`, :math:`K` samples per
    estimate and a constant baseline :math:`b` (as in :func:`score_function_gradient`), write
    :math:`m = \mathbb{E}_q[f] = \sum_i (\mu_i^2 + \sigma_i^2)` and
    :math:`v = \operatorname{Var}_q[f] = \sum_i (4\mu_i^2\sigma_i^2 + 2\sigma_i^4)`. The
    pathwise estimate of :math:`\partial/\partial\mu_j` averages :math:`2 z_j`; the score-function
    one averages :math:`(f(z) - b)\,\varepsilon_j / \sigma_j`. Their variances are

    .. math::
        \operatorname{Var}\big[\hat g^{\text{path}}_j\big] = \frac{4\sigma_j^2}{K},
        \qquad
        \operatorname{Var}\big[\hat g^{\text{score}}_j\big]
        = \frac{(m - b + 2\sigma_j^2)^2 + v + 4\mu_j^2\sigma_j^2 + 4\sigma_j^4}{K\,\sigma_j^2}.

    The second follows from the Gaussian moments :math:`\mathbb{E}\varepsilon^2 = 1`,
    :math:`\mathbb{E}\varepsilon^4 = 3`, :math:`\mathbb{E}\varepsilon^6 = 15` (odd ones 0):
    split :math:`f - b = A + B` with :math:`A = z_j^2` and :math:`B` the rest (independent of
    :math:`\varepsilon_j`), then :math:`\mathbb{E}[A^2\varepsilon_j^2] = \mu_j^4 +
    18\mu_j^2\sigma_j^2 + 15\sigma_j^4`, :math:`\mathbb{E}[A\varepsilon_j^2] = \mu_j^2 +
    3\sigma_j^2`, and subtracting the squared mean :math:`(2\mu_j)^2` leaves a sum of squares
    and positive terms (no cancellation). With :math:`L = 1`, :math:`b = 0`,
    :math:`\mu = \sigma = 1` and :math:`K = 1` the two are 30 and 4.

    Args:
        mu: Means of :math:`q`.
        logvar: Log-variances of :math:`q`, the shape of ``mu``.
        n_samples: K, samples averaged in one estimate.
        baseline: Constant :math:`b` subtracted from :math:`f` by the score-function
            estimator (a float, or a tensor broadcasting against ``mu``'s batch dims).

    Shape:
        - mu, logvar: :math:`(*, L)`; the last dim holds the coordinates of :math:`z`.
        - baseline: a float or :math:`(*)`.
        - Output: two tensors of shape :math:`(*, L)`.

    Returns:
        ``(var_score, var_pathwise)``: the variance of one estimate of each coordinate of
        :math:`\nabla_\mu \mathbb{E}_q[f]` (units of :math:`f^2` per unit of :math:`\mu^2`);
        sum over the last dim for the total variance, as
        ``gradient_variance(...).var_mu.sum()`` estimates it.

    Raises:
        TypeError: If an input is not a floating-point tensor, ``n_samples`` not an int or
            ``baseline`` not a real number or tensor.
        ValueError: If shapes do not match, values are not finite or ``n_samples < 1``.

    References:
        Mohamed et al. (2020), section 3 and figure 4 (the same comparison, measured).

    Examples:
        >>> import torch
        >>> from vae_tutorial import sampling
        >>> mu, logvar = torch.ones(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
        >>> var_score, var_path = sampling.sum_of_squares_gradient_variance(mu, logvar)
        >>> var_score.item(), var_path.item()         # chapter 5, exercise: 30 and 4
        (30.0, 4.0)
        >>> # L = 16, b = E_q[f]: about 1.5 L + 3 = 27 times the pathwise total
        >>> mu, logvar = torch.ones(16, dtype=torch.float64), torch.zeros(16, dtype=torch.float64)
        >>> s, p = sampling.sum_of_squares_gradient_variance(mu, logvar, baseline=32.0)
        >>> round((s.sum() / p.sum()).item(), 6)
        27.0

    Introduced in the chapter "The reparameterization trick".
    """
    if is_validation_enabled():
        check_diagonal_gaussian(mu, logvar, n_samples)
        if isinstance(baseline, torch.Tensor):
            check_tensor("baseline", baseline)
        elif isinstance(baseline, bool) or not isinstance(baseline, (int, float)):
            raise TypeError(
                f"baseline must be a real number or a tensor; got {type(baseline).__name__}"
            )
        elif not math.isfinite(baseline):
            raise ValueError(f"baseline must be finite; got {baseline}")
    b = baseline.unsqueeze(-1) if isinstance(baseline, torch.Tensor) else baseline
    # \sigma^2 = \exp(\log\sigma^2)
    var = torch.exp(logvar)
    mu2 = mu * mu
    # m = E_q[f] = \sum_i (\mu_i^2 + \sigma_i^2)
    mean_f = (mu2 + var).sum(-1, keepdim=True)
    # v = Var_q[f] = \sum_i (4 \mu_i^2 \sigma_i^2 + 2 \sigma_i^4)
    var_f = (4.0 * mu2 * var + 2.0 * var * var).sum(-1, keepdim=True)
    # Var[score_j] = ((m - b + 2 s_j^2)^2 + v + 4 mu_j^2 s_j^2 + 4 s_j^4) / (K s_j^2)
    shifted = mean_f - b + 2.0 * var
    var_score = (shifted * shifted + var_f + 4.0 * mu2 * var + 4.0 * var * var) / (
        n_samples * var
    )
    # Var[pathwise_j] = Var[2 z_j] / K = 4 s_j^2 / K
    var_pathwise = 4.0 * var / n_samples
    return var_score, var_pathwise
