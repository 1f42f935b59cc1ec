r"""Log densities, KL divergences and the variational bounds: the homework API.

Conventions (the same in every function):

* Every value is in **nats per example**. The last dim of a tensor is its *event* dim and is
  summed; every other dim is a *batch* dim.
* ``reduction`` (keyword-only; ``"none" | "mean" | "sum"``) acts on the batch dims only. The bounds
  and KLs default to ``"mean"``; the log densities default to ``"none"`` and return the batch
  shape, since they are building blocks.
* A sample dim ``K``, where there is one, is dim 0: ``(K, B, D)``.
* Gaussians are parameterized by ``mu`` and ``logvar`` (:math:`\log\sigma^2`), Bernoullis by
  ``logits``.
* Conventions of other code that give a plausible wrong number here, and cannot be detected
  (every value they produce is a valid input): a standard deviation or a variance passed as
  ``logvar`` (convert: ``2 * torch.log(scale)``, ``torch.log(var)``); probabilities passed as
  ``logits`` (a decoder that ends in a sigmoid: drop the sigmoid, or ``torch.logit(probs)``);
  ``(B, K)`` log weights or ``(B, K, D)`` logits where samples go first, ``(K, B)`` and
  ``(K, B, D)`` (transpose; the two cannot be told apart when K == B). The book's page "Using the
  package in homework" has the table.
* Inputs are validated (``TypeError`` for non-tensors and non-float tensors, ``ValueError`` for
  bad shapes, non-finite values, unknown reductions and Bernoulli targets outside [0, 1]). Switch
  validation off with :func:`set_validation` or, for a block, ``with validation(False):``.
  NumPy arrays are not converted: they get the ``TypeError`` too (pass ``torch.as_tensor(a)``).
  Under ``torch.func.vmap`` (and ``jacrev``, ``jacfwd``, ``hessian``, built on it) the checks of
  values (finiteness, targets in [0, 1]) are skipped, since values cannot be read there; types
  and shapes are still checked.
* An empty batch: ``reduction="mean"`` raises ``ValueError`` (a mean of no examples is 0 / 0),
  ``"sum"`` gives 0 and ``"none"`` the empty tensor (both mathematically right). ``K = 0``
  samples in :func:`elbo_mc` and :func:`iwae_bound` raises ``ValueError`` (no mean, no
  :math:`\log K`). These two checks cost nothing and stay on with validation off.

References:
    - [KW14] D. P. Kingma and M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
    - [BGS16] Y. Burda, R. Grosse and R. Salakhutdinov, "Importance Weighted Autoencoders",
      ICLR 2016.

Introduced in the chapters "KL divergence" (KLs), "Jensen's inequality and the ELBO" (the ELBO)
and "Importance sampling" (the IWAE bound); free bits in "VAEs in practice" (the Gaussian
decoder's log-likelihood and the continuous Bernoulli's normalizer are in
:mod:`vae_tutorial.likelihoods`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from vae_tutorial._checks import (
    check_broadcast,
    check_elbo_shapes,
    check_log_weights,
    check_real,
    check_reduction,
    check_same_shape,
    check_samples,
    check_targets,
    check_tensor,
    is_validation_enabled,
    order_hint,
    reduce,
    set_validation,
    shape_str,
    validation,
)

__all__ = [
    "elbo",
    "elbo_mc",
    "is_validation_enabled",
    "iwae_bound",
    "kl_normal_normal",
    "kl_free_bits",
    "kl_normal_std_normal",
    "log_bernoulli",
    "log_normal_diag",
    "log_standard_normal",
    "negative_elbo",
    "set_validation",
    "validation",
]

_LOG_2 = math.log(2.0)
_SQRT_HALF = math.sqrt(0.5)
_LOG_2PI = math.log(2.0 * math.pi)


def log_normal_diag(
    x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, *, reduction: str = "none"
) -> torch.Tensor:
    r"""Log density of a diagonal Gaussian, summed over the event dim.

    ``logvar`` is :math:`\log\sigma^2`, not a scale :math:`\sigma` (torch.distributions, Pyro:
    ``logvar = 2 * torch.log(scale)``) nor a variance (``logvar = torch.log(var)``).

    .. math::
        \log \mathcal{N}(x; \mu, \operatorname{diag}\sigma^2)
        = -\tfrac12 \sum_{j} \Big[\log 2\pi + \log\sigma_j^2 + \frac{(x_j-\mu_j)^2}{\sigma_j^2}\Big]

    Args:
        x: Points at which to evaluate the density.
        mu: Means.
        logvar: Log-variances :math:`\log\sigma^2`, the shape of ``mu``.
        reduction: ``"none"`` (default), ``"mean"`` or ``"sum"`` over the batch dims.

    Shape:
        - x: :math:`(*, L)`, broadcastable with ``mu``; e.g. samples ``(K, B, L)`` against
          ``mu`` of shape ``(B, L)``.
        - mu, logvar: :math:`(*, L)`.
        - Output: the broadcast batch shape :math:`(*)` if ``reduction="none"``, else scalar.

    Returns:
        :math:`\log \mathcal{N}(x; \mu, \operatorname{diag}\sigma^2)` in nats per example.

    Raises:
        TypeError: If an input is not a floating-point tensor.
        ValueError: If shapes do not match, values are not finite, or ``reduction`` is unknown.

    References:
        Kingma & Welling (2014), appendix C.2 (Gaussian MLP as encoder or decoder).

    Examples:
        >>> import torch
        >>> from vae_tutorial import losses
        >>> x = torch.zeros(2, 3)                 # (B, L): two points at the mean
        >>> mu, logvar = torch.zeros(3), torch.zeros(3)
        >>> losses.log_normal_diag(x, mu, logvar)  # -3/2 log(2 pi) each
        tensor([-2.7568, -2.7568])

    Introduced in the chapter "KL divergence".
    """
    check_reduction(reduction)
    if is_validation_enabled():
        check_tensor("x", x, min_dim=1)
        check_tensor("mu", mu, min_dim=1)
        check_tensor("logvar", logvar, min_dim=1)
        check_same_shape("logvar", logvar, "mu", mu)
        check_broadcast("x", x, "mu", mu)
    # \log N(x; \mu, \sigma^2)
    #     = -1/2 \sum_j [\log 2\pi + \log\sigma_j^2 + ((x_j-\mu_j) / \sigma_j)^2];
    # the residual is standardized before squaring, (x - mu) * exp(-logvar / 2), so a tiny
    # variance with x = mu gives 0 rather than 0 * inf = nan (exp(-logvar) overflows first)
    # (the factor 1/2 goes inside the square, so a square just above the dtype's largest value
    # still gives the finite half)
    log_prob = -(0.5 * (_LOG_2PI + logvar)
                 + ((x - mu) * torch.exp(-0.5 * logvar) * _SQRT_HALF).pow(2)).sum(-1)
    return reduce(log_prob, reduction, "x")


def log_standard_normal(z: torch.Tensor, *, reduction: str = "none") -> torch.Tensor:
    r"""Log density of the standard normal prior :math:`\mathcal{N}(0, I)`, summed over the event
    dim.

    .. math::
        \log \mathcal{N}(z; 0, I) = -\tfrac12 \sum_j \big[\log 2\pi + z_j^2\big]

    Args:
        z: Points at which to evaluate the density.
        reduction: ``"none"`` (default), ``"mean"`` or ``"sum"`` over the batch dims.

    Shape:
        - z: :math:`(*, L)`.
        - Output: :math:`(*)` if ``reduction="none"``, else scalar.

    Returns:
        :math:`\log p(z)` in nats per example.

    Raises:
        TypeError: If ``z`` is not a floating-point tensor.
        ValueError: If ``z`` has no event dim or non-finite values, or ``reduction`` is unknown.

    References:
        Kingma & Welling (2014), section 3 (the prior :math:`p_\theta(z) = \mathcal{N}(z; 0, I)`).

    Examples:
        >>> import torch
        >>> from vae_tutorial import losses
        >>> z = torch.tensor([[0.0, 0.0], [1.0, -1.0]])  # (B, L)
        >>> losses.log_standard_normal(z)
        tensor([-1.8379, -2.8379])
        >>> losses.log_standard_normal(z, reduction="mean")
        tensor(-2.3379)

    Introduced in the chapter "Latent variable models and Bayes' rule".
    """
    check_reduction(reduction)
    if is_validation_enabled():
        check_tensor("z", z, min_dim=1)
    # \log N(z; 0, I) = -1/2 \sum_j [\log 2\pi + z_j^2]
    log_prob = -0.5 * (_LOG_2PI + z.pow(2)).sum(-1)
    return reduce(log_prob, reduction, "z")


def log_bernoulli(
    x: torch.Tensor, logits: torch.Tensor, *, reduction: str = "none"
) -> torch.Tensor:
    r"""Log likelihood of targets in [0, 1] under independent Bernoullis given by logits.

    ``logits`` are pre-sigmoid scores, not probabilities: for a decoder that ends in a sigmoid
    (pytorch/examples, pythae) pass its input, or ``torch.logit(probs)``.

    .. math::
        \log p(x \mid z) = \sum_j \big[x_j \log \pi_j + (1 - x_j)\log(1 - \pi_j)\big],
        \qquad \pi_j = \operatorname{sigmoid}(\text{logit}_j)

    Computed from the logits in a numerically stable way (never through ``sigmoid`` then ``log``).
    Targets may be grey values in [0, 1] (the "continuous Bernoulli" caveat applies: then this is
    a cross-entropy, not a normalized density).

    Args:
        x: Targets in [0, 1], e.g. binarized pixels.
        logits: Decoder outputs, broadcastable with ``x``.
        reduction: ``"none"`` (default), ``"mean"`` or ``"sum"`` over the batch dims.

    Shape:
        - x: :math:`(*, D)`.
        - logits: broadcastable with ``x``, e.g. ``(K, B, D)`` against ``x`` of shape ``(B, D)``.
        - Output: the broadcast batch shape, e.g. ``(K, B)``, if ``reduction="none"``.

    Returns:
        :math:`\log p(x \mid z)` in nats per example (always :math:`\le 0` for binary ``x``).

    Raises:
        TypeError: If an input is not a floating-point tensor.
        ValueError: If ``x`` lies outside [0, 1], shapes do not broadcast, values are not finite,
            or ``reduction`` is unknown.

    References:
        Kingma & Welling (2014), appendix C.1 (Bernoulli MLP as decoder).

    Examples:
        >>> import torch
        >>> from vae_tutorial import losses
        >>> x = torch.tensor([[1.0, 0.0, 1.0]])    # (B, D) = (1, 3) binary pixels
        >>> # every pixel p = 1/2: 3 log(1/2)
        >>> losses.log_bernoulli(x, torch.zeros(1, 3))
        tensor([-2.0794])
        >>> # K = 5 samples of logits
        >>> losses.log_bernoulli(x, torch.zeros(5, 1, 3)).shape
        torch.Size([5, 1])

    Introduced in the chapter "A VAE on real digits".
    """
    check_reduction(reduction)
    if is_validation_enabled():
        check_tensor("x", x, min_dim=1)
        check_tensor("logits", logits, min_dim=1)
        check_broadcast("logits", logits, "x", x)
        check_targets(x)
    return reduce(_log_bernoulli(x, logits), reduction, "x")


def _log_bernoulli(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """:func:`log_bernoulli` without checks or reduction (its callers checked the inputs)."""
    x_b, logits_b = torch.broadcast_tensors(x, logits)
    # \log p(x|z) = \sum_j [x_j \log sigmoid(l_j) + (1 - x_j) \log(1 - sigmoid(l_j))] = -BCE(l, x)
    return -F.binary_cross_entropy_with_logits(logits_b, x_b, reduction="none").sum(-1)


def kl_normal_std_normal(
    mu: torch.Tensor, logvar: torch.Tensor, *, reduction: str = "mean"
) -> torch.Tensor:
    r"""Analytic KL divergence from a diagonal Gaussian to the standard normal.

    ``logvar`` is :math:`\log\sigma^2`, not :math:`\sigma` nor :math:`\sigma^2`.

    .. math::
        \mathrm{KL}\big(\mathcal{N}(\mu, \operatorname{diag}\sigma^2)\,\|\,\mathcal{N}(0, I)\big)
        = \tfrac12 \sum_j \big[\mu_j^2 + \sigma_j^2 - 1 - \log\sigma_j^2\big]

    Args:
        mu: Means of :math:`q(z \mid x)`.
        logvar: Log-variances of :math:`q(z \mid x)`, the shape of ``mu``.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` over the batch dims.

    Shape:
        - mu, logvar: :math:`(*, L)`, e.g. ``(B, L)``.
        - Output: :math:`(*)` if ``reduction="none"``, else scalar.

    Returns:
        The KL divergence in nats per example (:math:`\ge 0`).

    Raises:
        TypeError: If an input is not a floating-point tensor.
        ValueError: If shapes differ, values are not finite, or ``reduction`` is unknown.

    References:
        Kingma & Welling (2014), appendix B (the solution of :math:`-D_{KL}`), used in eq. 10.

    Examples:
        >>> import torch
        >>> from vae_tutorial import losses
        >>> mu = torch.tensor([[0.0, 0.0], [1.0, 0.0]])  # (B, L)
        >>> logvar = torch.zeros(2, 2)                 # unit variances
        >>> # mu^2 / 2 summed
        >>> losses.kl_normal_std_normal(mu, logvar, reduction="none")
        tensor([0.0000, 0.5000])
        >>> losses.kl_normal_std_normal(mu, logvar)    # the mean over the batch
        tensor(0.2500)

    Introduced in the chapter "KL divergence".
    """
    check_reduction(reduction)
    if is_validation_enabled():
        check_tensor("mu", mu, min_dim=1)
        check_tensor("logvar", logvar, min_dim=1)
        check_same_shape("logvar", logvar, "mu", mu)
    # KL = 1/2 \sum_j [\mu_j^2 + \sigma_j^2 - 1 - \log\sigma_j^2]
    kl = 0.5 * (mu.pow(2) + torch.exp(logvar) - 1.0 - logvar).sum(-1)
    return reduce(kl, reduction, "mu")


def kl_free_bits(mu: torch.Tensor, logvar: torch.Tensor, *, free_bits: float) -> torch.Tensor:
    r"""The KL term with free bits: each latent unit's batch-mean KL, floored at ``free_bits``.

    .. math::
        \tilde R = \sum_{u=1}^{L} \max\Big(\lambda,\ \frac1B \sum_{b=1}^B
        \mathrm{KL}\big(q(z_u \mid x_b) \,\|\, \mathcal{N}(0, 1)\big)\Big)

    A unit whose KL is below :math:`\lambda` nats costs :math:`\lambda` whatever its posterior,
    so the objective has no gradient pushing it further towards the prior; with
    :math:`\lambda = 0` it is the mean of :func:`kl_normal_std_normal`. The maximum acts on the
    batch mean, so there is no ``reduction``: the value is one number per batch.

    Args:
        mu: Means of :math:`q(z \mid x)`.
        logvar: Log-variances, the shape of ``mu``.
        free_bits: :math:`\lambda`, nats per latent unit, a real number :math:`\ge 0`.

    Shape:
        - mu, logvar: :math:`(*, L)`, e.g. ``(B, L)``; all dims but the last are averaged.
        - Output: scalar.

    Returns:
        :math:`\tilde R` in nats per example (:math:`\ge` the mean KL, :math:`\ge L\lambda`).

    Raises:
        TypeError: If an input is not a floating-point tensor or ``free_bits`` not a real number.
        ValueError: If shapes differ, values are not finite, the batch is empty or
            ``free_bits < 0``.

    References:
        Kingma, Salimans, Jozefowicz, Chen, Sutskever & Welling (2016), appendix C, eq. 15.

    Examples:
        >>> import torch
        >>> from vae_tutorial import losses
        >>> mu = torch.tensor([[2.0, 0.0]])          # unit 1: KL 2 nats; unit 2: KL 0
        >>> logvar = torch.zeros(1, 2)
        >>> losses.kl_free_bits(mu, logvar, free_bits=0.5)   # max(0.5, 2) + max(0.5, 0)
        tensor(2.5000)

    Introduced in the chapter "VAEs in practice".
    """
    check_real("free_bits", free_bits, minimum=0.0)
    if is_validation_enabled():
        check_tensor("mu", mu, min_dim=1)
        check_tensor("logvar", logvar, min_dim=1)
        check_same_shape("logvar", logvar, "mu", mu)
    if mu.numel() == 0:
        raise ValueError(f"mu must hold at least one example; got shape {shape_str(mu.shape)}")
    # KL_u = 1/2 [\mu_u^2 + \sigma_u^2 - 1 - \log\sigma_u^2], averaged over the batch
    kl_unit = (0.5 * (mu.pow(2) + torch.exp(logvar) - 1.0 - logvar)).reshape(-1, mu.shape[-1])
    # \tilde R = \sum_u \max(\lambda, mean_b KL_{b,u})
    return torch.clamp(kl_unit.mean(0), min=free_bits).sum()


def kl_normal_normal(
    mu_q: torch.Tensor,
    logvar_q: torch.Tensor,
    mu_p: torch.Tensor,
    logvar_p: torch.Tensor,
    *,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Analytic KL divergence between two diagonal Gaussians, :math:`\mathrm{KL}(q \,\|\, p)`.

    ``logvar_q`` and ``logvar_p`` are :math:`\log\sigma^2`, not :math:`\sigma` nor
    :math:`\sigma^2` (course code that passes variances: ``torch.log(v)``). The prior ``p``
    broadcasts: ``(L,)``, ``(1,)`` or ``()`` for one prior shared by every example.

    .. math::
        \mathrm{KL}(q\,\|\,p) = \tfrac12 \sum_j \Big[\log\frac{\sigma_{p,j}^2}{\sigma_{q,j}^2}
        + \frac{\sigma_{q,j}^2 + (\mu_{q,j} - \mu_{p,j})^2}{\sigma_{p,j}^2} - 1\Big]

    Args:
        mu_q: Means of :math:`q`.
        logvar_q: Log-variances of :math:`q`, the shape of ``mu_q``.
        mu_p: Means of :math:`p`, broadcastable with ``mu_q`` (a 0-dim tensor or an event dim of
            size 1 is one value for every coordinate).
        logvar_p: Log-variances of :math:`p`, the shape of ``mu_p``.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` over the batch dims.

    Shape:
        - mu_q, logvar_q: :math:`(*, L)`.
        - mu_p, logvar_p: broadcastable with :math:`(*, L)`, e.g. ``(L,)``, ``(1,)`` or ``()``
          for one shared prior.
        - Output: the broadcast batch shape if ``reduction="none"``, else scalar.

    Returns:
        The KL divergence in nats per example (:math:`\ge 0`, zero iff :math:`q = p`).

    Raises:
        TypeError: If an input is not a floating-point tensor.
        ValueError: If shapes do not match, values are not finite, or ``reduction`` is unknown.

    References:
        Kingma & Welling (2014), appendix B (the case :math:`p = \mathcal{N}(0, I)`); the general
        diagonal case follows the same steps and is derived in the chapter "KL divergence".

    Examples:
        >>> import math
        >>> import torch
        >>> from vae_tutorial import losses
        >>> zero, log4 = torch.zeros(1), torch.tensor([math.log(4.0)])
        >>> # KL(N(0,1) || N(0,4))
        >>> round(float(losses.kl_normal_normal(zero, zero, zero, log4)), 4)
        0.3181
        >>> # KL(N(0,4) || N(0,1))
        >>> round(float(losses.kl_normal_normal(zero, log4, zero, zero)), 4)
        0.8069
        >>> # one prior N(0, 4) for a batch (B, L) = (3, 2): shape (), (1,) or (L,)
        >>> q = torch.zeros(3, 2)
        >>> losses.kl_normal_normal(q, q, torch.tensor(0.0), log4[0], reduction="none")
        tensor([0.6363, 0.6363, 0.6363])

    Introduced in the chapter "KL divergence".
    """
    check_reduction(reduction)
    if is_validation_enabled():
        check_tensor("mu_q", mu_q, min_dim=1)
        check_tensor("logvar_q", logvar_q, min_dim=1)
        check_tensor("mu_p", mu_p)
        check_tensor("logvar_p", logvar_p)
        check_same_shape("logvar_q", logvar_q, "mu_q", mu_q)
        check_same_shape("logvar_p", logvar_p, "mu_p", mu_p)
        check_broadcast("mu_p", mu_p, "mu_q", mu_q, event_size_one=True)
    # KL = 1/2 \sum_j [\log\sigma_p^2 - \log\sigma_q^2
    #                  + \sigma_q^2 / \sigma_p^2 + ((\mu_q - \mu_p) / \sigma_p)^2 - 1],
    # with \sigma_q^2 / \sigma_p^2 = exp(logvar_q - logvar_p) and the mean difference
    # standardized before squaring: finite for q = p at any variance the dtype holds, where
    # exp(logvar_q) * exp(-logvar_p) gives 0 * inf = nan
    # (the factor 1/2 goes into each term, exp(d - log 2) and (u / sqrt 2)^2, so a term just
    # above the dtype's largest value still gives its finite half)
    kl = (
        0.5 * (logvar_p - logvar_q - 1.0)
        + torch.exp(logvar_q - logvar_p - _LOG_2)
        + ((mu_q - mu_p) * torch.exp(-0.5 * logvar_p) * _SQRT_HALF).pow(2)
    ).sum(-1)
    return reduce(kl, reduction, "mu_q")


def elbo(
    x: torch.Tensor,
    logits: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    *,
    beta: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""The evidence lower bound of a Bernoulli-decoder VAE with a standard normal prior.

    The order is ``(x, logits, mu, logvar)``: data first (pytorch/examples'
    ``loss_function(recon_x, x, mu, logvar)`` puts the reconstruction first). ``logits`` are
    pre-sigmoid, not probabilities; ``logvar`` is :math:`\log\sigma^2`, not :math:`\sigma` nor
    :math:`\sigma^2`; samples go first, ``(K, B, D)`` (``(B, K, D)`` cannot be told apart when
    K == B). The value is nats per example, the mean over the batch, to be maximized (the
    pytorch/examples loss is its negative summed over the batch: ``reduction="sum"``).

    .. math::
        \mathcal{L}(x) = \frac1K \sum_{k=1}^K \log p_\theta(x \mid z^{(k)})
        - \beta\, \mathrm{KL}\big(q_\phi(z \mid x) \,\|\, \mathcal{N}(0, I)\big),
        \qquad z^{(k)} \sim q_\phi(z \mid x)

    With ``beta=1`` this is the SGVB estimator :math:`\tilde{\mathcal{L}}^B` of Kingma & Welling
    (2014), eq. 10: a Monte Carlo reconstruction term and an analytic KL. With ``beta != 1`` it is
    the :math:`\beta`-VAE objective (Higgins et al., 2017), a bound only for :math:`\beta \ge 1`.

    Args:
        x: Data in [0, 1].
        logits: Decoder logits for samples :math:`z \sim q_\phi(z \mid x)`: one sample per example
            ``(B, D)`` or ``K`` samples ``(K, B, D)``, averaged over ``K``.
        mu: Encoder means.
        logvar: Encoder log-variances, the shape of ``mu``.
        beta: Weight of the KL term (default 1, the ELBO).
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` over the batch dims.

    Shape:
        - x: :math:`(B, D)` (or any :math:`(*, D)`).
        - logits: :math:`(B, D)` or :math:`(K, B, D)`.
        - mu, logvar: :math:`(B, L)`.
        - Output: :math:`(B)` if ``reduction="none"``, else scalar.

    Returns:
        The ELBO in nats per example (to be maximized; :math:`\le \log p_\theta(x)` for
        ``beta >= 1``).

    Raises:
        TypeError: If an input is not a floating-point tensor or ``beta`` is not a real number.
        ValueError: If shapes do not match, values are not finite, ``x`` lies outside [0, 1],
            ``beta < 0``, or ``reduction`` is unknown.

    References:
        Kingma & Welling (2014), eq. 7 (the bound) and eq. 10 (its estimator), appendix B (the KL).

    Examples:
        >>> import torch
        >>> from vae_tutorial import losses
        >>> x = torch.tensor([[1.0, 0.0, 1.0]])       # (B, D) = (1, 3)
        >>> logits = torch.zeros(1, 3)  # decoder output for one z: p = 1/2 per pixel
        >>> mu, logvar = torch.zeros(1, 2), torch.zeros(1, 2)  # q = N(0, I): KL = 0
        >>> losses.elbo(x, logits, mu, logvar)        # 3 log(1/2) - 0
        tensor(-2.0794)
        >>> losses.elbo(x, logits, torch.ones(1, 2), logvar)  # KL = 1 nat now
        tensor(-3.0794)
        >>> losses.elbo(x, logits, torch.ones(1, 2), logvar, beta=0.5)
        tensor(-2.5794)

    Introduced in the chapter "Jensen's inequality and the ELBO"; used in "A VAE on real digits".
    """
    check_reduction(reduction)
    if is_validation_enabled():
        check_tensor("x", x, min_dim=1)
        check_tensor("logits", logits, min_dim=1)
        check_tensor("mu", mu, min_dim=1)
        check_tensor("logvar", logvar, min_dim=1)
        check_same_shape("logvar", logvar, "mu", mu)
        check_real("beta", beta, minimum=0.0)
        check_elbo_shapes(x, logits, mu)
        if mu.shape[:-1] != x.shape[:-1]:
            raise ValueError(
                f"mu must have the batch shape of x {shape_str(x.shape[:-1])} plus a latent dim; "
                f"got {shape_str(mu.shape)}"
            )
        check_targets(x, lambda: order_hint(logits))
    # (1/K) \sum_k \log p(x | z^{(k)}): one sample per example when logits has the shape of x
    log_px_z = _log_bernoulli(x, logits)
    if log_px_z.dim() > x.dim() - 1:
        log_px_z = log_px_z.mean(0)
    # L = E_q[\log p(x|z)] - \beta KL(q(z|x) || N(0, I))          (KW14, eq. 10)
    bound = log_px_z - beta * kl_normal_std_normal(mu, logvar, reduction="none")
    return reduce(bound, reduction, "x")


def negative_elbo(
    x: torch.Tensor,
    logits: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    *,
    beta: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""The loss to minimize: :math:`-\mathcal{L}(x)`, the negative of :func:`elbo`.

    Args, Shape, Raises: as :func:`elbo`.

    Returns:
        :math:`-\mathrm{ELBO}` in nats per example (an upper bound on :math:`-\log p(x)` for
        ``beta >= 1``).

    References:
        Kingma & Welling (2014), eq. 10.

    Examples:
        >>> import torch
        >>> from vae_tutorial import losses
        >>> x, logits = torch.tensor([[1.0, 0.0, 1.0]]), torch.zeros(1, 3)
        >>> mu, logvar = torch.zeros(1, 2), torch.zeros(1, 2)
        >>> losses.negative_elbo(x, logits, mu, logvar)  # the loss to minimize
        tensor(2.0794)

    Introduced in the chapter "A VAE on real digits".
    """
    return -elbo(x, logits, mu, logvar, beta=beta, reduction=reduction)


def elbo_mc(log_weights: torch.Tensor, *, reduction: str = "mean") -> torch.Tensor:
    r"""Monte Carlo ELBO from log importance weights: the mean of :math:`\log w` over samples.

    Samples go along dim 0, ``(K, B)``, as in :func:`iwae_bound`. A log weight of ``-inf`` is
    refused: the mean would be ``-inf``.

    .. math::
        \hat{\mathcal{L}} = \frac1K \sum_{k=1}^K \log w_k, \qquad
        \log w_k = \log p_\theta(x, z^{(k)}) - \log q_\phi(z^{(k)} \mid x),\quad
        z^{(k)} \sim q_\phi(z \mid x)

    Args:
        log_weights: :math:`\log w_k`, samples along dim 0.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` over the batch dims.

    Shape:
        - log_weights: :math:`(K, *)`, e.g. ``(K, B)``.
        - Output: :math:`(*)` if ``reduction="none"``, else scalar.

    Returns:
        An unbiased estimate of the ELBO in nats per example.

    Raises:
        TypeError: If ``log_weights`` is not a floating-point tensor.
        ValueError: If it has no sample dim, no samples (``K = 0``) or non-finite values,
            ``reduction`` is unknown, or ``reduction="mean"`` meets an empty batch.

    References:
        Kingma & Welling (2014), eq. 8 (the generic SGVB estimator :math:`\tilde{\mathcal{L}}^A`).

    Examples:
        >>> import torch
        >>> from vae_tutorial import losses
        >>> log_weights = torch.tensor([[-1.0], [-3.0]])  # (K, B) = (2, 1)
        >>> losses.elbo_mc(log_weights)                   # (-1 - 3) / 2
        tensor(-2.)

    Introduced in the chapter "Importance sampling".
    """
    check_reduction(reduction)
    if is_validation_enabled():
        check_log_weights(log_weights)
    # K = 0 has no mean (and no log K): refused even with validation off, the test is free
    check_samples("log_weights", log_weights)
    # \hat L = (1/K) \sum_k \log w_k
    return reduce(log_weights.mean(0), reduction, "log_weights")


def iwae_bound(log_weights: torch.Tensor, *, reduction: str = "mean") -> torch.Tensor:
    r"""The importance-weighted bound :math:`\mathcal{L}_K` from ``K`` log importance weights.

    Samples go along dim 0, ``(K, B)``: ``(B, K)`` weights (samples last) must be transposed,
    and cannot be detected when K == B. A log weight of ``-inf`` is a zero weight and is
    accepted.

    .. math::
        \mathcal{L}_K = \log \frac1K \sum_{k=1}^K w_k
        = \operatorname{logsumexp}_k(\log w_k) - \log K

    Computed with ``logsumexp``, so no weight is exponentiated. At ``K = 1`` it is the ELBO
    estimate; its expectation rises with ``K`` towards :math:`\log p(x)`.

    Args:
        log_weights: :math:`\log w_k = \log p(x, z^{(k)}) - \log q(z^{(k)} \mid x)`, samples
            along dim 0.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` over the batch dims.

    Shape:
        - log_weights: :math:`(K, *)`, e.g. ``(K, B)``.
        - Output: :math:`(*)` if ``reduction="none"``, else scalar.

    Returns:
        :math:`\mathcal{L}_K` in nats per example (a lower bound on :math:`\log p(x)` in
        expectation).

    Raises:
        TypeError: If ``log_weights`` is not a floating-point tensor.
        ValueError: If it has no sample dim, no samples (``K = 0``), ``nan`` or ``+inf``
            values, ``reduction`` is unknown, or ``reduction="mean"`` meets an empty batch.

    References:
        Burda, Grosse & Salakhutdinov (2016), eq. 8 (the bound) and theorem 1 (monotone in K).

    Examples:
        >>> import torch
        >>> from vae_tutorial import losses
        >>> log_weights = torch.tensor([[-1.0], [-3.0]])  # (K, B) = (2, 1)
        >>> # log((e^-1 + e^-3) / 2), above elbo_mc's -2
        >>> losses.iwae_bound(log_weights)
        tensor(-1.5662)
        >>> losses.iwae_bound(log_weights[:1])  # K = 1: the ELBO estimate itself
        tensor(-1.)
        >>> # a zero weight, log w = -inf: log((e^-1 + 0) / 2)
        >>> losses.iwae_bound(torch.tensor([[-1.0], [-float("inf")]]))
        tensor(-1.6931)

    Introduced in the chapter "Importance sampling".
    """
    check_reduction(reduction)
    if is_validation_enabled():
        # -inf is a zero weight, which logsumexp handles (estimators.log_mean_exp accepts it too)
        check_tensor("log_weights", log_weights, min_dim=1, allow_neg_inf=True)
    # K = 0 has no log K: refused even with validation off, the test is free
    check_samples("log_weights", log_weights)
    # L_K = \log (1/K) \sum_k w_k = logsumexp_k \log w_k - \log K
    bound = torch.logsumexp(log_weights, dim=0) - math.log(log_weights.shape[0])
    return reduce(bound, reduction, "log_weights")
