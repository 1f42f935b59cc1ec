r"""Surrogate objectives whose autograd gradient is a lower-variance estimate of a bound's gradient.

The ELBO and the IWAE bound depend on the variational parameters :math:`\phi = (\mu, \log\sigma^2)`
twice: through the samples :math:`z = \mu + \sigma \odot \varepsilon` (the *path*) and through
:math:`\log q_\phi(z)` evaluated at them (the *score*). The score part has expectation zero, or
can be rewritten by a second reparameterization; the functions here return the bound's value
with a gradient in which that rewriting is done.

* :func:`stl_elbo`: the Monte Carlo ELBO whose gradient with respect to ``mu`` and ``logvar`` is
  the *sticking-the-landing* estimator (path term only), exactly zero when :math:`q` is the
  posterior.
* :func:`dreg_iwae_bound`: the Monte Carlo IWAE bound whose gradient with respect to ``mu`` and
  ``logvar`` is the *doubly reparameterized* estimator (squared normalized weights), and whose
  gradient with respect to the model is the ordinary IWAE one.
* :func:`elbo_gradient` and :func:`iwae_gradient`: those gradients (and the standard ones) as
  ``(grad_mu, grad_logvar)``, with the signature of
  :func:`~vae_tutorial.sampling.pathwise_gradient`, so that
  :func:`~vae_tutorial.sampling.gradient_variance` measures their mean, variance and
  signal-to-noise ratio.

``log_joint`` is a function of ``z`` alone, :math:`z \mapsto \log p_\theta(x, z)` with the data
bound in, e.g. ``lambda z: model.log_joint(x, z)``: samples ``(K, *, L)`` to values ``(K, *)``.

Introduced in the chapter "The reparameterization trick"; the IWAE gradient's signal-to-noise
ratio is measured in "Importance sampling and the IWAE bound".

References:
    - [RWD17] G. Roeder, Y. Wu and D. Duvenaud, "Sticking the Landing: Simple, Lower-Variance
      Gradient Estimators for Variational Inference", NeurIPS 2017.
    - [RKL18] T. Rainforth, A. R. Kosiorek, T. A. Le, C. J. Maddison, M. Igl, F. Wood and
      Y. W. Teh, "Tighter Variational Bounds are Not Necessarily Better", ICML 2018.
    - [TLGM19] G. Tucker, D. Lawson, S. Gu and C. J. Maddison, "Doubly Reparameterized Gradient
      Estimators for Monte Carlo Objectives", ICLR 2019.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from vae_tutorial import losses
from vae_tutorial._checks import apply_per_sample, check_diagonal_gaussian, is_validation_enabled
from vae_tutorial.sampling import reparameterize

__all__ = ["dreg_iwae_bound", "elbo_gradient", "iwae_gradient", "stl_elbo"]

LogJoint = Callable[[torch.Tensor], torch.Tensor]


def _check(log_joint: object, mu: torch.Tensor, logvar: torch.Tensor, n_samples: int) -> None:
    if not callable(log_joint):
        raise TypeError(
            f"log_joint must be a function z -> log p(x, z); got {type(log_joint).__name__}"
        )
    if is_validation_enabled():
        check_diagonal_gaussian(mu, logvar, n_samples)


def _log_joint(log_joint: LogJoint, z: torch.Tensor) -> torch.Tensor:
    return apply_per_sample("log_joint", log_joint, z)


def _stopped_log_weights(
    log_joint: LogJoint, z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> torch.Tensor:
    # \log w_k = \log p(x, z_k) - \log q_{\bar\phi}(z_k): \bar\phi = stop-gradient(\phi), so
    # \phi reaches \log w_k through the path z_k = \mu + \sigma \odot \varepsilon_k only
    return _log_joint(log_joint, z) - losses.log_normal_diag(z, mu.detach(), logvar.detach())


def stl_elbo(
    log_joint: LogJoint,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    n_samples: int = 1,
    *,
    eps: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""The Monte Carlo ELBO whose gradient in ``mu`` and ``logvar`` is *sticking the landing*.

    .. math::
        \begin{aligned}
        \hat{\mathcal{L}} &= \frac1K \sum_{k=1}^K \big[\log p_\theta(x, z_k)
        - \log q_{\bar\phi}(z_k)\big], \\
        z_k &= \mu + \sigma \odot \varepsilon_k, \qquad
        \bar\phi = \operatorname{stop\_gradient}(\phi)
        \end{aligned}

    The value is the ordinary all-sampled ELBO estimate. Its gradient in
    :math:`\phi = (\mu, \log\sigma^2)` keeps only the path term of the total derivative,

    .. math::
        \hat g_{\text{STL}} = \frac1K \sum_{k=1}^K
        \nabla_z\big[\log p_\theta(x, z) - \log q_\phi(z)\big]_{z = z_k}
        \frac{\partial z_k}{\partial \phi},

    dropping the score term :math:`-\nabla_\phi \log q_\phi(z)|_{z = z_k}`, whose expectation is
    zero; so the estimator stays unbiased. At :math:`q_\phi = p_\theta(z \mid x)` the bracket is
    the constant :math:`\log p_\theta(x)`, its gradient in :math:`z` vanishes and every estimate is
    exactly 0. The gradient with respect to the model's parameters is the ordinary one.

    Args:
        log_joint: :math:`z \mapsto \log p_\theta(x, z)`, samples ``(K, *, L)`` to ``(K, *)``.
        mu: Means of :math:`q`.
        logvar: Log-variances of :math:`q`, the shape of ``mu``.
        n_samples: K, samples averaged in one estimate.
        eps: Standard normal noise ``(K, *, L)`` to use instead of drawing it.
        generator: Optional ``torch.Generator`` for the noise.

    Shape:
        - mu, logvar: :math:`(*, L)`.
        - Output: :math:`(*)`.

    Returns:
        The ELBO estimate in nats per example, differentiable as described.

    Raises:
        TypeError: If ``log_joint`` is not callable or ``mu``/``logvar`` not floating tensors.
        ValueError: If shapes do not match, ``n_samples < 1`` or ``log_joint`` returns the
            wrong shape.

    References:
        Roeder et al. (2017), section 2 (the path-derivative estimator).

    Examples:
        >>> import torch
        >>> from vae_tutorial import surrogates
        >>> from vae_tutorial.models import LinearGaussian
        >>> w = torch.tensor([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
        >>> model = LinearGaussian(w, torch.zeros(3, dtype=torch.float64), 0.5)
        >>> x = torch.tensor([[1.0, -0.5, 0.3]], dtype=torch.float64)
        >>> m, cov = model.posterior(x)        # orthogonal columns: a diagonal posterior
        >>> mu = m.detach().requires_grad_()
        >>> logvar = cov.diagonal().log().unsqueeze(0).detach().requires_grad_()
        >>> value = surrogates.stl_elbo(lambda z: model.log_joint(x, z), mu, logvar, 8)
        >>> # at q = p(z | x) every sample of the ELBO is log p(x), and the gradient is 0
        >>> round(value.item() - model.log_evidence(x).item(), 10)
        0.0
        >>> value.sum().backward()
        >>> bool(mu.grad.abs().max() < 1e-12), bool(logvar.grad.abs().max() < 1e-12)
        (True, True)

    Introduced in the chapter "The reparameterization trick".
    """
    _check(log_joint, mu, logvar, n_samples)
    z = reparameterize(mu, logvar, eps, n_samples, generator=generator)  # (K, *, L)
    # (1/K) \sum_k [\log p(x, z_k) - \log q_{\bar\phi}(z_k)]
    return _stopped_log_weights(log_joint, z, mu, logvar).mean(0)


def dreg_iwae_bound(
    log_joint: LogJoint,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    n_samples: int,
    *,
    eps: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""The Monte Carlo IWAE bound whose gradient in ``mu`` and ``logvar`` is DReG.

    .. math::
        \hat{\mathcal{L}}_K = \log \frac1K \sum_{k=1}^K w_k, \qquad
        w_k = \frac{p_\theta(x, z_k)}{q_\phi(z_k)}, \qquad z_k = \mu + \sigma \odot \varepsilon_k

    The value is the ordinary IWAE estimate. Its gradient in :math:`\phi` is the DReG estimator

    .. math::
        \hat g_{\text{DReG}} = \sum_{k=1}^K \tilde w_k^2\,
        \nabla_z \log \frac{p_\theta(x, z)}{q_{\bar\phi}(z)}\Big|_{z = z_k}
        \frac{\partial z_k}{\partial \phi},
        \qquad \tilde w_k = \frac{w_k}{\sum_j w_j},

    which is unbiased for :math:`\nabla_\phi \mathcal{L}_K`: the standard estimator's score term
    :math:`-\sum_k \tilde w_k \nabla_\phi \log q_\phi(z_k)` is replaced by its reparameterized
    equivalent in expectation, :math:`-\sum_k (\tilde w_k - \tilde w_k^2)\, \nabla_z \log w_k \,
    \partial z_k / \partial \phi`. Its gradient with respect to the model's parameters is the
    ordinary IWAE gradient :math:`\sum_k \tilde w_k \nabla_\theta \log w_k`. At :math:`K = 1` it
    is :func:`stl_elbo`.

    It is computed with one extra forward pass of ``log_joint`` (without a graph) for the
    weights: the path of each sample is scaled by its :math:`\tilde w_k`, so that the IWAE
    gradient's :math:`\tilde w_k` becomes :math:`\tilde w_k^2` for :math:`\phi` alone.

    Args:
        log_joint: :math:`z \mapsto \log p_\theta(x, z)`, samples ``(K, *, L)`` to ``(K, *)``.
        mu: Means of :math:`q`.
        logvar: Log-variances of :math:`q`, the shape of ``mu``.
        n_samples: K, samples in the bound.
        eps: Standard normal noise ``(K, *, L)`` to use instead of drawing it.
        generator: Optional ``torch.Generator`` for the noise.

    Shape:
        - mu, logvar: :math:`(*, L)`.
        - Output: :math:`(*)`.

    Returns:
        The IWAE bound estimate in nats per example, differentiable as described.

    Raises:
        TypeError: If ``log_joint`` is not callable or ``mu``/``logvar`` not floating tensors.
        ValueError: If shapes do not match, ``n_samples < 1`` or ``log_joint`` returns the
            wrong shape.

    References:
        Tucker et al. (2019), section 3 (the DReG estimator for IWAE); Burda et al. (2016),
        eq. 8 (the bound).

    Examples:
        >>> import torch
        >>> from vae_tutorial import losses, surrogates
        >>> from vae_tutorial.models import LinearGaussian
        >>> model = LinearGaussian.random(data_dim=3, latent_dim=2, seed=0)
        >>> x = torch.zeros(1, 3, dtype=torch.float64)
        >>> mu = torch.zeros(1, 2, dtype=torch.float64, requires_grad=True)
        >>> logvar = torch.zeros(1, 2, dtype=torch.float64, requires_grad=True)
        >>> eps = torch.randn(16, 1, 2, dtype=torch.float64,
        ...                   generator=torch.Generator().manual_seed(0))
        >>> value = surrogates.dreg_iwae_bound(lambda z: model.log_joint(x, z), mu, logvar, 16,
        ...                                    eps=eps)
        >>> z = mu + (0.5 * logvar).exp() * eps            # the same value as iwae_bound
        >>> lw = model.log_joint(x, z) - losses.log_normal_diag(z, mu, logvar)
        >>> torch.testing.assert_close(value, losses.iwae_bound(lw, reduction="none"))

    Introduced in the chapter "The reparameterization trick".
    """
    _check(log_joint, mu, logvar, n_samples)
    z = reparameterize(mu, logvar, eps, n_samples, generator=generator)  # (K, *, L)
    with torch.no_grad():
        # \tilde w_k = w_k / \sum_j w_j, a constant for autograd
        w_tilde = torch.softmax(_stopped_log_weights(log_joint, z, mu, logvar), dim=0)
    # z'_k = z_k in value, with d z'_k / d\phi = \tilde w_k\, d z_k / d\phi
    z_scaled = z.detach() + w_tilde.unsqueeze(-1) * (z - z.detach())
    log_w = _stopped_log_weights(log_joint, z_scaled, mu, logvar)  # (K, *)
    # \log \frac1K \sum_k w_k: d/d\log w_k = \tilde w_k, so \phi gets \tilde w_k^2
    return torch.logsumexp(log_w, dim=0) - math.log(n_samples)


def _grad(value: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor):  # noqa: ANN202
    grads = torch.autograd.grad(value.sum(), (mu, logvar), allow_unused=True)
    return tuple(
        torch.zeros_like(p) if g is None else g for p, g in zip((mu, logvar), grads, strict=True)
    )


def _leaves(mu: torch.Tensor, logvar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return mu.detach().clone().requires_grad_(True), logvar.detach().clone().requires_grad_(True)


def elbo_gradient(
    log_joint: LogJoint,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    n_samples: int = 1,
    *,
    estimator: str = "pathwise",
    eps: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""An estimate of the ELBO's gradient :math:`\nabla_\phi \mathcal{L}` in ``mu`` and ``logvar``.

    ``estimator="pathwise"`` differentiates the all-sampled ELBO estimate
    :math:`\frac1K\sum_k [\log p_\theta(x, z_k) - \log q_\phi(z_k)]` through both of its
    dependences on :math:`\phi` (path and score terms, the standard reparameterized gradient);
    ``estimator="stl"`` differentiates :func:`stl_elbo` (the path term only). Both are unbiased.

    Args:
        log_joint: :math:`z \mapsto \log p_\theta(x, z)`, samples ``(K, *, L)`` to ``(K, *)``.
        mu: Means of :math:`q`.
        logvar: Log-variances of :math:`q`, the shape of ``mu``.
        n_samples: K, samples averaged in one estimate.
        estimator: ``"pathwise"`` (default) or ``"stl"``.
        eps: Standard normal noise ``(K, *, L)`` to use instead of drawing it.
        generator: Optional ``torch.Generator`` for the noise.

    Shape:
        - mu, logvar: :math:`(*, L)`.
        - Output: two tensors of shape :math:`(*, L)`.

    Returns:
        ``(grad_mu, grad_logvar)`` in nats per unit of the parameter. No graph is kept.

    Raises:
        TypeError: If ``log_joint`` is not callable or ``mu``/``logvar`` not floating tensors.
        ValueError: If ``estimator`` is unknown, shapes do not match or ``n_samples < 1``.

    References:
        Roeder et al. (2017), section 2; Kingma & Welling (2014), eq. 6 (the pathwise ELBO).

    Examples:
        >>> import functools
        >>> import torch
        >>> from vae_tutorial import sampling, surrogates
        >>> from vae_tutorial.models import LinearGaussian
        >>> model = LinearGaussian.random(data_dim=3, latent_dim=2, seed=0)
        >>> x = torch.zeros(1, 3, dtype=torch.float64)
        >>> mu = logvar = torch.zeros(1, 2, dtype=torch.float64)
        >>> stl = functools.partial(surrogates.elbo_gradient, estimator="stl")
        >>> stats = sampling.gradient_variance(stl, lambda z: model.log_joint(x, z), mu, logvar,
        ...                                    n_samples=1, n_repeats=100)
        >>> stats.mean_mu.shape                      # (*, L), as mu
        torch.Size([1, 2])

    Introduced in the chapter "The reparameterization trick".
    """
    if estimator not in ("pathwise", "stl"):
        raise ValueError(f"estimator must be 'pathwise' or 'stl'; got {estimator!r}")
    _check(log_joint, mu, logvar, n_samples)
    mu_, logvar_ = _leaves(mu, logvar)
    with torch.enable_grad():
        if estimator == "stl":
            value = stl_elbo(log_joint, mu_, logvar_, n_samples, eps=eps, generator=generator)
        else:
            z = reparameterize(mu_, logvar_, eps, n_samples, generator=generator)
            # (1/K) \sum_k [\log p(x, z_k) - \log q_\phi(z_k)], \phi in both places
            value = (_log_joint(log_joint, z) - losses.log_normal_diag(z, mu_, logvar_)).mean(0)
        return _grad(value, mu_, logvar_)


def iwae_gradient(
    log_joint: LogJoint,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    n_samples: int = 1,
    *,
    estimator: str = "iwae",
    eps: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""An estimate of :math:`\nabla_\phi \mathcal{L}_K` for the IWAE bound of a diagonal Gaussian.

    ``estimator="iwae"`` is the standard reparameterized gradient of
    :math:`\log \frac1K \sum_k w_k`,
    :math:`\sum_k \tilde w_k \nabla_\phi \log w_k(z_k(\varepsilon_k, \phi), \phi)` (path and
    score terms); ``estimator="dreg"`` differentiates :func:`dreg_iwae_bound`. Both are
    unbiased; Rainforth et al. (2018) show that the first one's signal-to-noise ratio
    :math:`|\mathbb{E}\hat g| / \operatorname{sd}(\hat g)` falls like :math:`1/\sqrt K`.

    Args:
        log_joint: :math:`z \mapsto \log p_\theta(x, z)`, samples ``(K, *, L)`` to ``(K, *)``.
        mu: Means of :math:`q`.
        logvar: Log-variances of :math:`q`, the shape of ``mu``.
        n_samples: K, samples in the bound.
        estimator: ``"iwae"`` (default) or ``"dreg"``.
        eps: Standard normal noise ``(K, *, L)`` to use instead of drawing it.
        generator: Optional ``torch.Generator`` for the noise.

    Shape:
        - mu, logvar: :math:`(*, L)`.
        - Output: two tensors of shape :math:`(*, L)`.

    Returns:
        ``(grad_mu, grad_logvar)`` in nats per unit of the parameter. No graph is kept.

    Raises:
        TypeError: If ``log_joint`` is not callable or ``mu``/``logvar`` not floating tensors.
        ValueError: If ``estimator`` is unknown, shapes do not match or ``n_samples < 1``.

    References:
        Burda et al. (2016), eq. 14 (the IWAE gradient); Rainforth et al. (2018), section 3
        (its signal-to-noise ratio); Tucker et al. (2019), section 3 (DReG).

    Examples:
        >>> import torch
        >>> from vae_tutorial import surrogates
        >>> from vae_tutorial.models import LinearGaussian
        >>> model = LinearGaussian.random(data_dim=3, latent_dim=2, seed=0)
        >>> x = torch.zeros(1, 3, dtype=torch.float64)
        >>> mu = logvar = torch.zeros(1, 2, dtype=torch.float64)
        >>> eps = torch.randn(1, 1, 2, dtype=torch.float64,
        ...                   generator=torch.Generator().manual_seed(0))
        >>> f = lambda z: model.log_joint(x, z)
        >>> # at K = 1 DReG is sticking the landing
        >>> dreg = surrogates.iwae_gradient(f, mu, logvar, 1, estimator="dreg", eps=eps)
        >>> stl = surrogates.elbo_gradient(f, mu, logvar, 1, estimator="stl", eps=eps)
        >>> torch.testing.assert_close(dreg, stl)

    Introduced in the chapter "The reparameterization trick".
    """
    if estimator not in ("iwae", "dreg"):
        raise ValueError(f"estimator must be 'iwae' or 'dreg'; got {estimator!r}")
    _check(log_joint, mu, logvar, n_samples)
    mu_, logvar_ = _leaves(mu, logvar)
    with torch.enable_grad():
        if estimator == "dreg":
            value = dreg_iwae_bound(
                log_joint, mu_, logvar_, n_samples, eps=eps, generator=generator
            )
        else:
            z = reparameterize(mu_, logvar_, eps, n_samples, generator=generator)
            # \log w_k = \log p(x, z_k) - \log q_\phi(z_k), \phi in both places
            log_w = _log_joint(log_joint, z) - losses.log_normal_diag(z, mu_, logvar_)
            # \log \frac1K \sum_k w_k
            value = torch.logsumexp(log_w, dim=0) - math.log(n_samples)
        return _grad(value, mu_, logvar_)
