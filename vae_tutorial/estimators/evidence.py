r"""Evidence estimators: :math:`p(x)` and :math:`\log p(x)` by Monte Carlo, from three proposals.

All three run on the chunked core :func:`~vae_tutorial.estimators.stream_log_weights`:

* :func:`naive_monte_carlo`: the prior, :math:`\hat p(x) = \frac1K \sum_k p(x \mid z_k)`,
  :math:`z_k \sim p(z)`.
* :func:`importance_sampling`: any diagonal Gaussian,
  :math:`\hat p(x) = \frac1K \sum_k p(x, z_k)/q(z_k)`,
  :math:`z_k \sim q = \mathcal{N}(\mu, \operatorname{diag}\sigma^2)`.
* :func:`log_likelihood`: a VAE's encoder, the importance-sampled :math:`\log p_\theta(x)`
  (Burda et al. 2016, eq. 8), in bounded memory for any number of samples.

Every model with a method ``log_joint(x, z)`` (e.g. :class:`~vae_tutorial.models.LinearGaussian`)
works with the first two; a :class:`~vae_tutorial.models.VAE` (``encode``/``decode``) works with
all of them (:func:`log_joint`). Values are in nats per example. Shape letters: K samples (dim 0),
B batch, D data, L latent. Importable from :mod:`vae_tutorial.estimators`.

References:
    - [BGS16] Y. Burda, R. Grosse and R. Salakhutdinov, "Importance Weighted Autoencoders",
      ICLR 2016.
    - [MRSV20] S. Mohamed, M. Rosca, M. Figurnov and A. Mnih, "Monte Carlo Gradient Estimation in
      Machine Learning", JMLR 2020.

Introduced in the chapter "Importance sampling"; :func:`log_likelihood` is used again in
"A VAE on real digits", :func:`naive_monte_carlo` in "Latent variable models and Bayes' rule".
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from vae_tutorial import losses
from vae_tutorial._checks import (
    check_positive_int,
    check_same_shape,
    check_seed,
    check_tensor,
    is_validation_enabled,
    shape_str,
    validation,
)
from vae_tutorial.estimators.weights import (
    MonteCarloEstimate,
    evidence_estimate,
    stream_log_weights,
)
from vae_tutorial.sampling import reparameterize

__all__ = ["importance_sampling", "log_joint", "log_likelihood", "naive_monte_carlo"]


def log_joint(model: torch.nn.Module, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    r""":math:`\log p(x, z)` of any model here: its ``log_joint``, or for a Bernoulli VAE
    (``decode``) :math:`\log p(x \mid z) + \log p(z)`.

    Args:
        model: A model with ``log_joint(x, z)`` or ``decode(z)``.
        x: Data points, :math:`(*, D)`.
        z: Latent points broadcasting with ``x``'s batch shape, :math:`(K, *, L)` or :math:`(*, L)`.

    Returns:
        :math:`\log p(x, z)` in nats, the broadcast batch shape.

    Raises:
        TypeError: If the model has neither method.

    Introduced in the chapter "Importance sampling".
    """
    if hasattr(model, "log_joint"):
        return model.log_joint(x, z)
    if hasattr(model, "decode"):
        # \log p(x, z) = \log p(x|z) + \log p(z)
        return losses.log_bernoulli(x, model.decode(z)) + losses.log_standard_normal(z)
    raise TypeError(
        f"model must have a method log_joint(x, z) or decode(z); got {type(model).__name__}"
    )


def _log_likelihood_term(model: torch.nn.Module, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    r""":math:`\log p(x \mid z)`: ``log_likelihood`` if the model has it, else
    ``log_joint - log p(z)``."""
    if hasattr(model, "log_likelihood") and hasattr(model, "log_joint"):
        return model.log_likelihood(x, z)
    return log_joint(model, x, z) - losses.log_standard_normal(z)


def _latent_dim(model: torch.nn.Module) -> int:
    if not hasattr(model, "latent_dim"):
        raise TypeError(f"model must have a latent_dim attribute; got {type(model).__name__}")
    return int(model.latent_dim)


def _model_tensor(model: torch.nn.Module) -> torch.Tensor:
    try:
        return next(model.parameters())
    except StopIteration as err:
        raise TypeError(f"model must have parameters; got {type(model).__name__}") from err


def naive_monte_carlo(
    model: torch.nn.Module,
    x: torch.Tensor,
    n_samples: int,
    *,
    eps: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    chunk_size: int | None = None,
    shared_noise: bool = False,
) -> MonteCarloEstimate:
    r"""Naive Monte Carlo estimate of :math:`p(x)` with samples from the prior.

    .. math::
        p(x) = \mathbb{E}_{p(z)}\big[p(x \mid z)\big] \approx \frac1K \sum_{k=1}^K p(x \mid z_k),
        \qquad z_k \sim p(z) = \mathcal{N}(0, I)

    Unbiased for :math:`p(x)`, but almost every prior sample explains ``x`` badly, so a handful of
    weights carry all the mass and the variance is huge unless ``K`` is astronomically large.

    Args:
        model: A model with ``log_joint(x, z)`` (or ``decode(z)``) and ``latent_dim``.
        x: Data points.
        n_samples: K, prior samples per data point.
        eps: Standard normal samples to use as :math:`z` (for tests and chapters).
        generator: Optional ``torch.Generator`` for the samples (drawn at once, before any chunk).
        chunk_size: Samples evaluated at a time (``None``: all); the answer is the same for any.
        shared_noise: Use the same K prior samples for every data point (``eps`` of shape
            :math:`(K, L)`), as the cost study of chapter 1 does; else K samples per point.

    Shape:
        - x: :math:`(B, D)`.
        - eps: :math:`(K, B, L)`, or :math:`(K, L)` with ``shared_noise=True``.
        - Output fields: ``log_weights`` :math:`(K, B)`, the others :math:`(B)`.

    Returns:
        A :class:`~vae_tutorial.estimators.MonteCarloEstimate`; ``log_weights`` are
        :math:`\log p(x \mid z_k)` in nats, ``estimate`` (``log_evidence``) is
        :math:`\log \hat p(x)`, biased low by Jensen.

    Raises:
        TypeError: If ``x`` or ``eps`` is not a floating-point tensor or the model lacks the
            methods.
        ValueError: If shapes do not match or ``n_samples`` or ``chunk_size`` is not positive.

    References:
        The lecture notes "Variational Autoencoder" (2020), "First attempt: Naive Monte
        Carlo"; Mohamed et al. (2020). The lecture notes "Variational Autoencoder" (2020) make their
        "first attempt" with uniform samples of :math:`z` instead; sampling from the prior fails
        the same way.

    Examples:
        >>> import torch
        >>> from vae_tutorial import estimators
        >>> from vae_tutorial.models import LinearGaussian
        >>> # exact log p(x)
        >>> model = LinearGaussian.random(data_dim=2, latent_dim=1, seed=0)
        >>> # (B, D) = (3, 2)
        >>> x, _ = model.sample(3, generator=torch.Generator().manual_seed(0))
        >>> est = estimators.naive_monte_carlo(
        ...     model, x, 1000, generator=torch.Generator().manual_seed(0))
        >>> est.log_weights.shape                          # (K, B)
        torch.Size([1000, 3])
        >>> gap = (est.log_evidence - model.log_evidence(x)).abs()
        >>> bool((gap < 0.1).all())                        # close here: L = 1 is easy
        True
        >>> bool((est.ess < 1000).all())  # but most prior samples are wasted
        True

    Introduced in the chapter "Importance sampling".
    """
    check_positive_int("n_samples", n_samples)
    check_tensor("x", x, min_dim=1)
    latent = _latent_dim(model)
    batch = () if shared_noise else tuple(x.shape[:-1])
    shape = (n_samples, *batch, latent)
    if eps is None:
        eps = torch.randn(shape, dtype=x.dtype, device=x.device, generator=generator)
    else:
        check_tensor("eps", eps, min_dim=1)
        if tuple(eps.shape) != shape:
            raise ValueError(f"eps must have shape {shape_str(shape)}; got {shape_str(eps.shape)}")
    # shared noise (c, L) broadcasts over the batch as (c, 1, ..., 1, L)
    view = (*([1] * (x.dim() - 1)), latent) if shared_noise else shape[1:]

    def draw(start: int, c: int) -> torch.Tensor:
        return eps[start : start + c].reshape(c, *view)

    # \log w_k = \log p(x | z_k), z_k ~ p(z)
    _, log_w = stream_log_weights(
        draw, lambda z: _log_likelihood_term(model, x, z), n_samples, chunk_size
    )  # (K, B)
    return evidence_estimate(log_w)


def importance_sampling(
    model: torch.nn.Module,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    n_samples: int,
    *,
    eps: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    chunk_size: int | None = None,
) -> MonteCarloEstimate:
    r"""Importance-sampled estimate of :math:`p(x)` with a diagonal Gaussian proposal.

    .. math::
        p(x) = \mathbb{E}_{q(z)}\Big[\frac{p(x, z)}{q(z)}\Big]
        \approx \frac1K \sum_{k=1}^K w_k, \qquad
        w_k = \frac{p(x, z_k)}{q(z_k)}, \quad
        z_k \sim q = \mathcal{N}(\mu, \operatorname{diag}\sigma^2)

    Unbiased for :math:`p(x)` whenever :math:`q > 0` where :math:`p(x, z) > 0` (a Gaussian always
    is); the closer :math:`q` is to :math:`p(z \mid x)`, the smaller the variance, which is zero
    when :math:`q = p(z \mid x)`.

    Args:
        model: A model with ``log_joint(x, z)`` (or ``decode(z)``).
        x: Data points.
        mu: Proposal means, one row per data point.
        logvar: Proposal log-variances, the shape of ``mu``.
        n_samples: K, proposal samples per data point.
        eps: Standard normal noise, :math:`z_k = \mu + \sigma \odot \varepsilon_k`.
        generator: Optional ``torch.Generator`` for the noise (drawn at once, before any chunk).
        chunk_size: Samples evaluated at a time (``None``: all); the answer is the same for any.

    Shape:
        - x: :math:`(B, D)`; mu, logvar: :math:`(B, L)`; eps: :math:`(K, B, L)`.
        - Output fields: ``log_weights`` :math:`(K, B)`, the others :math:`(B)`.

    Returns:
        A :class:`~vae_tutorial.estimators.MonteCarloEstimate`; ``log_weights`` are
        :math:`\log p(x, z_k) - \log q(z_k)` in nats and ``log_evidence`` is the IWAE bound's
        estimate :math:`\log \frac1K \sum_k w_k`.

    Raises:
        TypeError: If an input is not a floating-point tensor or the model lacks the methods.
        ValueError: If shapes do not match (``mu`` must be ``(B, L)``: the batch shape of ``x``
            and the model's ``latent_dim``, where it has one) or ``n_samples < 1``.

    References:
        Burda, Grosse & Salakhutdinov (2016), eq. 8; the lecture notes "Variational
        Autoencoder" (2020), "Second attempt: Importance Sampling".

    Examples:
        >>> import torch
        >>> from vae_tutorial import estimators
        >>> from vae_tutorial.models import LinearGaussian
        >>> model = LinearGaussian.random(data_dim=2, latent_dim=1, seed=0)
        >>> # (B, D) = (3, 2)
        >>> x, _ = model.sample(3, generator=torch.Generator().manual_seed(0))
        >>> mean, cov = model.posterior(x)  # the exact posterior as proposal
        >>> logvar = cov.diagonal().log().expand_as(mean)   # (B, L)
        >>> est = estimators.importance_sampling(model, x, mean, logvar, 100)
        >>> # zero variance: exact
        >>> torch.allclose(est.log_evidence, model.log_evidence(x))
        True
        >>> est.ess.round().tolist()                        # every sample counts
        [100.0, 100.0, 100.0]

    Introduced in the chapter "Importance sampling".
    """
    check_positive_int("n_samples", n_samples)
    check_tensor("x", x, min_dim=1)
    check_tensor("mu", mu, min_dim=1)
    check_tensor("logvar", logvar, min_dim=1)
    check_same_shape("logvar", logvar, "mu", mu)
    if mu.shape[:-1] != x.shape[:-1]:
        raise ValueError(
            f"mu must have the batch shape of x {shape_str(x.shape[:-1])} plus a latent dim; "
            f"got {shape_str(mu.shape)}"
        )
    if hasattr(model, "latent_dim") and mu.shape[-1] != int(model.latent_dim):
        raise ValueError(
            f"mu must have last dim model.latent_dim={int(model.latent_dim)}; "
            f"got shape {shape_str(mu.shape)}"
        )
    z = reparameterize(mu, logvar, eps=eps, n_samples=n_samples, generator=generator)  # (K, B, L)

    def log_weight(zc: torch.Tensor) -> torch.Tensor:
        # \log w_k = \log p(x, z_k) - \log q(z_k)
        return log_joint(model, x, zc) - losses.log_normal_diag(zc, mu, logvar)  # (c, B)

    _, log_w = stream_log_weights(
        lambda start, c: z[start : start + c], log_weight, n_samples, chunk_size
    )
    return evidence_estimate(log_w)


def _draw_eps(
    k: int, shape: tuple[int, ...], generator: torch.Generator, like: torch.Tensor
) -> torch.Tensor:
    # one (B, L) draw per sample, in order: the stream does not depend on how samples are chunked
    # (each row filled in place, the numbers of torch.randn(shape) without its allocation)
    eps = torch.empty((k, *shape), dtype=like.dtype, device=like.device)
    for row in eps:
        row.normal_(generator=generator)
    return eps


# (image, sample) rows per decoder call when the caller does not say: the matrix products are
# large enough to run near the machine's matmul rate, the (rows, D) logits (6 MB at D = 784)
# stay in the cache (benchmarks/loglik.py)
_MAX_ROWS = 2048


@torch.no_grad()
def log_likelihood(
    model: torch.nn.Module,
    x: torch.Tensor,
    k: int = 1000,
    chunk_size: int | None = None,
    *,
    seed: int = 0,
    max_rows: int = _MAX_ROWS,
) -> torch.Tensor:
    r"""Importance-sampled :math:`\log p_\theta(x)` of a VAE, with its encoder as proposal.

    .. math::
        \log p_\theta(x) \approx \log \frac1k \sum_{j=1}^{k}
        \frac{p_\theta(x \mid z_j)\, p(z_j)}{q_\phi(z_j \mid x)}, \qquad
        z_j \sim q_\phi(z \mid x)

    This is the IWAE bound :math:`\mathcal{L}_k` of Burda et al. (2016), eq. 8, used as an
    estimate of the log-likelihood: it is below :math:`\log p_\theta(x)` in expectation and
    converges to it as :math:`k \to \infty`. The noise is drawn from one generator seeded with
    ``seed``, one ``(B, L)`` draw per sample in a fixed order, so the answer does not depend on
    ``chunk_size`` or ``max_rows``.

    Memory is bounded whatever ``k`` and ``B`` are. The samples are drawn ``chunk_size`` at a
    time (their latents, ``chunk_size * B * L`` numbers, are in memory together) and combined
    with a running ``logsumexp``; the decoder sees at most ``max_rows`` (image, sample) rows per
    call: several samples of all ``B`` images at once when ``B <= max_rows``, else the images of
    one sample in groups of ``max_rows``. So at most ``max_rows * D`` decoder outputs are in
    memory at a time, and one image (``B = 1``) is decoded in the same large matrix products as a
    batch.

    Args:
        model: A :class:`~vae_tutorial.models.VAE` (``encode``, ``decode``, ``latent_dim``).
        x: Images in [0, 1] (binary for a Bernoulli decoder), on any device and of any
            floating dtype; they are converted to the model's device and dtype.
        k: Importance samples per image (1000 or more for evaluation; 5000 in Burda et al.).
        chunk_size: Samples drawn at a time (``None``: as many as fill ``max_rows`` rows,
            ``max(1, max_rows // B)``).
        seed: Seed of the noise, an int in [0, 2**32 - 1].
        max_rows: Most (image, sample) rows per decoder call (bounds memory: ``max_rows * D``
            decoder outputs).

    Shape:
        - x: :math:`(B, D)`.
        - Output: :math:`(B)`.

    Returns:
        :math:`\log p_\theta(x)` per example in nats (a log-likelihood: higher is better, never
        its negative), on the model's device.

    Raises:
        TypeError: If ``model`` has no ``encode``/``decode``, ``x`` is not a float tensor or
            ``seed``, ``chunk_size`` or ``max_rows`` not an int.
        ValueError: If ``k``, ``chunk_size`` or ``max_rows`` is not a positive int, ``seed`` is
            outside [0, 2**32 - 1], or ``x`` has the wrong shape, non-finite values or (with
            validation on, the default) values outside [0, 1]. The checks run once, up front;
            the per-chunk checks are then switched off.

    References:
        Burda, Grosse & Salakhutdinov (2016), eq. 8 and section 5 (k = 5000 for evaluation);
        Kingma & Welling (2014), appendix D.

    Examples:
        >>> import torch
        >>> from vae_tutorial import estimators
        >>> from vae_tutorial.models import VAE
        >>> _ = torch.manual_seed(0)
        >>> model = VAE(data_dim=6, hidden_dim=8, latent_dim=2)   # untrained, tiny
        >>> # (B, D)
        >>> x = torch.rand(4, 6, generator=torch.Generator().manual_seed(0)).round()
        >>> log_px = estimators.log_likelihood(model, x, k=100, chunk_size=50)
        >>> log_px.shape  # one log p(x) per image, in nats
        torch.Size([4])
        >>> # the same noise whatever the chunks: 7 samples at a time, at most 3 rows per call
        >>> again = estimators.log_likelihood(model, x, k=100, chunk_size=7, max_rows=3)
        >>> torch.allclose(log_px, again)
        True

    Introduced in the chapter "A VAE on real digits" (defined in "Importance sampling").
    """
    if not (hasattr(model, "encode") and hasattr(model, "decode")):
        raise TypeError(
            f"model must have encode(x) and decode(z) methods; got {type(model).__name__}"
        )
    if getattr(model, "likelihood", "bernoulli") != "bernoulli":
        raise ValueError(
            "model must have a Bernoulli decoder (log_likelihood weighs with log_bernoulli); got "
            f"likelihood={model.likelihood!r}: use losses.iwae_bound(model.log_weights(x, k))"
        )
    check_positive_int("k", k)
    if chunk_size is not None:
        check_positive_int("chunk_size", chunk_size)
    check_positive_int("max_rows", max_rows)
    check_seed("seed", seed)
    check_tensor("x", x, min_dim=2)
    if x.dim() != 2 or x.shape[1] != model.data_dim:
        raise ValueError(f"x must have shape (B, {model.data_dim}); got {shape_str(x.shape)}")
    if is_validation_enabled() and x.numel():
        lo, hi = torch.aminmax(x)  # the per-chunk log_bernoulli checks are switched off below
        if lo < 0 or hi > 1:
            raise ValueError(
                "x must lie in [0, 1] (Bernoulli targets); got values in "
                f"[{float(lo):.4g}, {float(hi):.4g}]"
            )
    p = _model_tensor(model)
    x = x.to(device=p.device, dtype=p.dtype)
    n_images = x.shape[0]
    if chunk_size is None:
        chunk_size = max(1, max_rows // max(n_images, 1))
    was_training = model.training
    model.eval()
    generator = torch.Generator(device=p.device).manual_seed(seed)
    mu, logvar = model.encode(x)  # (B, L), (B, L): the proposal, computed once

    def draw(start: int, c: int) -> torch.Tensor:
        eps = _draw_eps(c, tuple(mu.shape), generator, mu)  # (c, B, L)
        return reparameterize(mu, logvar, eps=eps)  # (c, B, L)

    def log_weight(z: torch.Tensor) -> torch.Tensor:
        # \log w = \log p(x|z) + \log p(z) - \log q(z|x), as in VAE.log_weights
        return (
            _log_bernoulli_rows(model, x, z, max_rows)
            + losses.log_standard_normal(z)
            - losses.log_normal_diag(z, mu, logvar)
        )  # (c, B)

    with validation(False):  # inputs checked above; skip per-chunk checks
        # \log \sum_j w_j, a running logsumexp over the chunks
        log_sum, _ = stream_log_weights(draw, log_weight, k, chunk_size, keep=False)
    model.train(was_training)
    # \log p(x) \approx \log \sum_j w_j - \log k
    return log_sum - math.log(k)


def _log_bernoulli_rows(
    model: torch.nn.Module, x: torch.Tensor, z: torch.Tensor, max_rows: int
) -> torch.Tensor:
    r""":math:`\log p(x \mid z)` of a Bernoulli decoder for latents ``z`` of shape ``(c, B, L)``
    against images ``x`` of shape ``(B, D)``, decoding at most ``max_rows`` (sample, image) rows
    per call; returns ``(c, B)``."""
    c, n = z.shape[0], z.shape[1]
    out = torch.empty(c, n, dtype=x.dtype, device=x.device)
    if n <= max_rows:  # several samples of every image per call
        step = max(1, max_rows // n)
        blocks = [(slice(s, s + step), slice(None)) for s in range(0, c, step)]
    else:  # one sample per call, the images in groups of max_rows
        blocks = [
            (slice(s, s + 1), slice(b, b + max_rows))
            for s in range(c)
            for b in range(0, n, max_rows)
        ]
    for samples, images in blocks:
        logits = model.decode(z[samples, images])  # (s, b, D)
        xb = x[images]  # (b, D), broadcast over the samples
        # \log p(x|z) = \sum_j [x_j l_j - \log(1 + e^{l_j})]   (l = logits; = -BCE(l, x))
        out[samples, images] = (logits * xb).sum(-1) - F.softplus(logits, threshold=40.0).sum(-1)
    return out
